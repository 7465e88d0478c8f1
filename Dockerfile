# auditfwd container image: a build stage, then a slim Debian 12 runtime stage that
# runs the daemon as the non-root user "auditfwd" (uid and gid 10001).
#   docker build -t auditfwd .
#   install -d -o 10001 -g 10001 /run/auditfwd      # the shared socket directory, on the host
#   docker run -v /run/auditfwd:/run/auditfwd -v auditfwd-data:/var/lib/auditfwd auditfwd
# scripts/verify-container builds and checks the image with buildah (no Docker engine needed).
FROM debian:12 AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      g++ cmake ninja-build pkg-config \
      libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev \
      libsqlite3-dev libsqlitecpp-dev libspdlog-dev libfmt-dev doctest-dev \
      libtomlplusplus-dev libcli11-dev libssl-dev zlib1g-dev libsystemd-dev libzstd-dev libutf8proc-dev librdkafka-dev libpq-dev python3 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF -DAUDITFWD_BUILD_BENCH=OFF \
 && cmake --build /build \
 && cmake --install /build --prefix /opt/auditfwd

FROM debian:12-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates libboost-json1.81.0 libboost-url1.81.0 libsqlite3-0 libspdlog1.10 libfmt9 \
      libtomlplusplus3 libssl3 zlib1g libsystemd0 libzstd1 libutf8proc2 librdkafka1 libpq5 \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 auditfwd \
 && useradd --system --uid 10001 --gid auditfwd --home-dir /var/lib/auditfwd --shell /usr/sbin/nologin auditfwd \
 && install -d -o auditfwd -g auditfwd -m 0750 /var/lib/auditfwd /var/log/auditfwd \
 && install -d -o auditfwd -g auditfwd -m 0755 /run/auditfwd
COPY --from=build /opt/auditfwd/bin/auditfwd /usr/bin/auditfwd
COPY config/container.toml /etc/auditfwd/auditfwd.toml
USER auditfwd
VOLUME ["/var/lib/auditfwd", "/run/auditfwd"]
ENTRYPOINT ["/usr/bin/auditfwd"]
CMD ["--config", "/etc/auditfwd/auditfwd.toml"]
