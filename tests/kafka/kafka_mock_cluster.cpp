// A Kafka cluster for the kafka forwarder's tests: librdkafka's mock cluster (the real Kafka protocol on
// loopback), driven by commands on stdin, with a consumer that prints every message of the topic.
//
// Usage: auditfwd_kafka_mock_cluster TOPIC [PARTITIONS [BROKERS]]
// Prints "bootstrap <host:port,…>" once the cluster listens, then answers each command line:
//   down ID | up ID          a broker stops (its connections close, new ones are refused) or comes back
//   rtt ID MS                broker ID answers every request MS milliseconds late (0: at once)
//   produce-errors N CODE    the next N Produce requests fail with Kafka error CODE
//   consume                  every message of the topic, from the start, one JSON line each
//                            {"partition":P,"offset":O,"key":"…"|null,"headers":{"id":"…",…},"value":<event>},
//                            then "end N"
//   quit
// Each command but consume ends with "ok" (or "error <reason>").
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace {

std::string json_string(const char* data, std::size_t size) {
  std::string out = "\"";
  for (std::size_t i = 0; i < size; ++i) {
    const auto c = static_cast<unsigned char>(data[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
      out += escaped;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

rd_kafka_t* new_client(rd_kafka_type_t type, const std::vector<std::pair<std::string, std::string>>& properties) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char reason[512];
  for (const auto& [name, value] : properties)
    if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), reason, sizeof reason) != RD_KAFKA_CONF_OK) {
      std::cerr << "kafka_mock_cluster: " << name << ": " << reason << "\n";
      std::exit(2);
    }
  rd_kafka_t* client = rd_kafka_new(type, conf, reason, sizeof reason);
  if (!client) {
    std::cerr << "kafka_mock_cluster: " << reason << "\n";
    std::exit(2);
  }
  return client;
}

// Reads every partition of `topic` from its start to its end and prints each message.
void consume(const std::string& bootstrap, const std::string& topic, int partitions) {
  rd_kafka_t* consumer = new_client(RD_KAFKA_CONSUMER, {{"bootstrap.servers", bootstrap},
                                                        {"group.id", "auditfwd-test"},
                                                        {"enable.partition.eof", "true"},
                                                        {"enable.auto.commit", "false"},
                                                        {"log_level", "3"}});
  rd_kafka_poll_set_consumer(consumer);
  rd_kafka_topic_partition_list_t* assignment = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p)
    rd_kafka_topic_partition_list_add(assignment, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_assign(consumer, assignment);
  rd_kafka_topic_partition_list_destroy(assignment);

  int at_end = 0, count = 0, idle_polls = 0;
  while (at_end < partitions && idle_polls < 100) {  // 100 × 100 ms without a message: give up
    rd_kafka_message_t* message = rd_kafka_consumer_poll(consumer, 100);
    if (!message) {
      ++idle_polls;
      continue;
    }
    idle_polls = 0;
    if (message->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      ++at_end;
    } else if (message->err) {
      std::cerr << "kafka_mock_cluster: consume: " << rd_kafka_message_errstr(message) << "\n";
    } else {
      std::ostringstream line;
      line << "{\"partition\":" << message->partition << ",\"offset\":" << message->offset << ",\"key\":";
      if (message->key)
        line << json_string(static_cast<const char*>(message->key), message->key_len);
      else
        line << "null";
      line << ",\"headers\":{";
      rd_kafka_headers_t* headers = nullptr;
      if (rd_kafka_message_headers(message, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const char* name;
        const void* value;
        std::size_t size;
        for (std::size_t i = 0; rd_kafka_header_get_all(headers, i, &name, &value, &size) == 0; ++i)
          line << (i ? "," : "") << json_string(name, std::char_traits<char>::length(name)) << ":"
               << json_string(static_cast<const char*>(value), size);
      }
      line << "},\"value\":" << std::string(static_cast<const char*>(message->payload), message->len) << "}";
      std::cout << line.str() << "\n";
      ++count;
    }
    rd_kafka_message_destroy(message);
  }
  rd_kafka_consumer_close(consumer);
  rd_kafka_destroy(consumer);
  std::cout << "end " << count << (at_end < partitions ? " incomplete" : "") << std::endl;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: auditfwd_kafka_mock_cluster TOPIC [PARTITIONS [BROKERS]]\n";
    return 2;
  }
  const std::string topic = argv[1];
  const int partitions = argc > 2 ? std::stoi(argv[2]) : 3;
  const int brokers = argc > 3 ? std::stoi(argv[3]) : 3;

  // The mock cluster lives inside a client instance of its own.
  rd_kafka_t* host = new_client(RD_KAFKA_PRODUCER, {{"log_level", "3"}});
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(host, brokers);
  if (!cluster) {
    std::cerr << "kafka_mock_cluster: rd_kafka_mock_cluster_new failed\n";
    return 2;
  }
  if (rd_kafka_mock_topic_create(cluster, topic.c_str(), partitions, brokers) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    std::cerr << "kafka_mock_cluster: cannot create the topic\n";
    return 2;
  }
  const std::string bootstrap = rd_kafka_mock_cluster_bootstraps(cluster);
  std::cout << "bootstrap " << bootstrap << std::endl;

  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream words(line);
    std::string command;
    words >> command;
    if (command == "down" || command == "up") {
      int broker = 0;
      words >> broker;
      const auto error = command == "down" ? rd_kafka_mock_broker_set_down(cluster, broker)
                                           : rd_kafka_mock_broker_set_up(cluster, broker);
      std::cout << (error ? std::string("error ") + rd_kafka_err2str(error) : "ok") << std::endl;
    } else if (command == "rtt") {
      int broker = 0, milliseconds = 0;
      words >> broker >> milliseconds;
      const auto error = rd_kafka_mock_broker_set_rtt(cluster, broker, milliseconds);
      std::cout << (error ? std::string("error ") + rd_kafka_err2str(error) : "ok") << std::endl;
    } else if (command == "produce-errors") {
      std::size_t count = 0;
      int code = 0;
      words >> count >> code;
      std::vector<rd_kafka_resp_err_t> errors(count, static_cast<rd_kafka_resp_err_t>(code));
      rd_kafka_mock_push_request_errors_array(cluster, 0 /* Produce */, count, errors.data());
      std::cout << "ok" << std::endl;
    } else if (command == "consume") {
      consume(bootstrap, topic, partitions);
    } else if (command == "quit") {
      break;
    } else if (!command.empty()) {
      std::cout << "error unknown command " << command << std::endl;
    }
  }
  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(host);
  return 0;
}
