// What the server and the client share on the wire: reading a message head
// and body from a non-blocking socket before a deadline, writing before a
// deadline, and parsing header lines.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "eventflow/http/message.h"

namespace eventflow::http::internal {

using Clock = std::chrono::steady_clock;

enum class ReadOutcome {
  kOk,
  kTimedOut,      //!< the deadline passed first
  kClosed,        //!< the peer closed (or reset) before the message was complete
  kHeadTooLarge,  //!< no end of head within the limit
  kBodyTooLarge,  //!< Content-Length (or the bytes read) above the limit
  kMalformed,     //!< a header or Content-Length that does not parse
  kChunked,       //!< Transfer-Encoding chunked: the caller decides
};

//! Reads a head up to and including "\r\n\r\n" into `head` (without the blank
//! line); bytes read beyond it (the start of a body) are put in `rest`.
ReadOutcome ReadHead(int fd, Clock::time_point deadline, size_t max_head, std::string* head,
                     std::string* rest);

//! Reads until `body` holds `length` bytes (starting from what it holds).
ReadOutcome ReadExactly(int fd, Clock::time_point deadline, size_t length, std::string* body);

//! Reads until the peer closes, at most `max` bytes in `body` in all.
ReadOutcome ReadUntilClose(int fd, Clock::time_point deadline, size_t max, std::string* body);

//! Writes all of `data`; false when the deadline passes or the peer is gone.
//! `more`: more data follows at once (MSG_MORE: sent with it, not alone).
bool WriteAll(int fd, std::string_view data, Clock::time_point deadline, bool more = false);

//! Splits `head` into its first line and its header fields (names
//! lower-cased, values trimmed). False for a line without ':'.
bool ParseHead(std::string_view head, std::string* first_line, std::vector<Field>* headers);

//! Returns the milliseconds left until `deadline` (0 when past), for poll().
int MillisLeft(Clock::time_point deadline);

}  // namespace eventflow::http::internal
