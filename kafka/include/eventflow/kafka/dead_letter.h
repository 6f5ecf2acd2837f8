// Dead letters: the headers that every dead-letter record of the project
// carries, whoever wrote it (a stream task's "<application.id>-dlq", the
// PostgreSQL sink's dead-letter topic). A dead letter is the bad record's key
// and value unchanged, with these headers naming what went wrong and where
// the record came from, so that one reader serves both kinds of topic.
#pragma once

#include <string_view>

namespace eventflow::kafka {

//! The error message (why the record could not be processed).
inline constexpr std::string_view kDlqErrorHeader = "eventflow.error";
//! The stage that refused it (the runtime's "deserialization",
//! "timestamp", "processing", "production"; the sink's "sink-decode", "sink-postgres").
inline constexpr std::string_view kDlqStageHeader = "eventflow.error.stage";
//! The topic the bad record was read from.
inline constexpr std::string_view kDlqTopicHeader = "eventflow.source.topic";
//! Its partition (decimal).
inline constexpr std::string_view kDlqPartitionHeader = "eventflow.source.partition";
//! Its offset (decimal).
inline constexpr std::string_view kDlqOffsetHeader = "eventflow.source.offset";
//! The bad record's own Kafka timestamp (the dead letter carries the wall-clock
//! time it was dead-lettered, so the topic's retention counts from then).
inline constexpr std::string_view kDlqTimestampHeader = "eventflow.source.timestamp";

}  // namespace eventflow::kafka
