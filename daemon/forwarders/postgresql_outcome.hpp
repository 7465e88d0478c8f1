// How a failed PostgreSQL statement becomes a delivery outcome, by its SQLSTATE.
#pragma once

#include "forwarders/forwarder.hpp"

#include <string>
#include <string_view>

namespace auditfwd {

// `sqlstate` is the error's SQLSTATE ("" when there is none: the connection
// broke, or it could not be made). Data and constraint errors (classes 21, 22,
// 23), a check option (44) and an unsupported feature (0A) are permanent: a
// retry sends the same rows again. Everything else is retried, including a
// missing table, column or privilege (42): the statement is fixed, so these mean
// the database differs from the documented schema, which an operator fixes while
// the events wait in the store. Also retried: connection errors (08, or none), serialization
// failures and deadlocks (40), lack of resources such as a full disk or too many
// connections (53), a server shutting down or a statement timeout (57), system
// errors (58), a lock not available (55P03), internal errors (XX).
DeliveryOutcome postgresql_outcome(std::string_view sqlstate, std::string_view message);

// True when postgresql_outcome(sqlstate, …) is permanent because of one row's data: worth inserting
// the rows of the batch one by one, so that only the row at fault is refused.
bool postgresql_row_error(std::string_view sqlstate);

}  // namespace auditfwd
