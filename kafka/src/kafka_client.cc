#include "eventflow/kafka/kafka_client.h"

#include <string>

#include "eventflow/core/log.h"

namespace eventflow::kafka {
namespace {

StatusCode CodeFor(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR_NO_ERROR:
      return StatusCode::kOk;
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE:
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
      return StatusCode::kTimedOut;
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__RESOLVE:
    case RD_KAFKA_RESP_ERR__WAIT_COORD:
    case RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
    case RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_NOT_COORDINATOR:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_CONCURRENT_TRANSACTIONS:
      return StatusCode::kUnavailable;
    case RD_KAFKA_RESP_ERR__FENCED:
    case RD_KAFKA_RESP_ERR_PRODUCER_FENCED:
    case RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH:
    case RD_KAFKA_RESP_ERR_FENCED_INSTANCE_ID:
      return StatusCode::kFenced;
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR__NOENT:
      return StatusCode::kNotFound;
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PROTOCOL:
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
    case RD_KAFKA_RESP_ERR__SSL:
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_CONFIG:
    case RD_KAFKA_RESP_ERR_INVALID_PARTITIONS:
    case RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
    case RD_KAFKA_RESP_ERR_UNSUPPORTED_SASL_MECHANISM:
    case RD_KAFKA_RESP_ERR_UNSUPPORTED_COMPRESSION_TYPE:
      return StatusCode::kInvalidArgument;
    case RD_KAFKA_RESP_ERR__FATAL:
      return StatusCode::kFatal;
    default:
      return StatusCode::kIOError;
  }
}

std::string Describe(rd_kafka_resp_err_t err, std::string_view context, const char* detail) {
  std::string msg(context);
  msg.append(": ").append(detail != nullptr ? detail : rd_kafka_err2str(err));
  msg.append(" (").append(rd_kafka_err2name(err)).append(")");
  return msg;
}

void LogCallback(const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
  // syslog levels: 0-3 error, 4 warning, 5-6 info, 7 debug.
  const LogLevel ours = level <= 3   ? LogLevel::kError
                        : level == 4 ? LogLevel::kWarn
                        : level <= 6 ? LogLevel::kInfo
                                     : LogLevel::kDebug;
  if (!LogEnabled(ours)) return;
  std::string component = "rdkafka ";
  component.append(rk != nullptr ? rd_kafka_name(rk) : "-").append(" ").append(fac);
  Log(ours, component, buf);
}

// What PollConnectionErrors() collects while it serves a client's main queue:
// the error callback runs inside rd_kafka_poll(), on the polling thread.
struct ErrorCapture {
  const rd_kafka_t* client = nullptr;
  Status first;
};
thread_local ErrorCapture* t_capture = nullptr;

std::string ConfValue(rd_kafka_t* rk, const char* name) {
  char buf[256];
  size_t size = sizeof(buf);
  if (rd_kafka_conf_get(rd_kafka_conf(rk), name, buf, &size) != RD_KAFKA_CONF_OK) return "";
  return buf;
}

// Installed on every producer (CreateKafkaClient). Without it librdkafka logs
// these errors as "ERROR" lines; so does this, and it also hands
// authentication and TLS failures to a PollConnectionErrors() in progress.
// (Not on consumers: there an error callback would take the errors that
// rd_kafka_consumer_poll() otherwise returns as messages.)
void ErrorCallback(rd_kafka_t* rk, int err, const char* reason, void* /*opaque*/) {
  const auto code = static_cast<rd_kafka_resp_err_t>(err);
  std::string component = "rdkafka ";
  component.append(rk != nullptr ? rd_kafka_name(rk) : "-").append(" ERROR");
  Log(LogLevel::kError, component,
      std::string(rd_kafka_err2str(code)) + ": " + (reason != nullptr ? reason : ""));
  if (t_capture == nullptr || t_capture->client != rk || !t_capture->first.ok() ||
      !IsAuthenticationOrTlsError(code)) {
    return;
  }
  std::string msg = code == RD_KAFKA_RESP_ERR__SSL
                        ? "Kafka TLS handshake failed (check ssl.ca.location and that the "
                          "broker's certificate names the host in bootstrap.servers)"
                        : "Kafka authentication failed (check sasl.username, sasl.password "
                          "and sasl.mechanisms)";
  msg.append(": ").append(reason != nullptr ? reason : rd_kafka_err2str(code));
  msg.append(" (").append(rd_kafka_err2name(code)).append(")");
  // The broker answers a repeated SCRAM nonce exactly as a wrong password, so
  // which of the two happened cannot be told here: name both.
  if (code == RD_KAFKA_RESP_ERR__AUTHENTICATION && rd_kafka_version() < 0x020601ff &&
      ConfValue(rk, "sasl.mechanisms").starts_with("SCRAM")) {
    msg.append(
        "; note: if the broker is Kafka 4.x, librdkafka before 2.6.1 (this build links " +
        std::string(rd_kafka_version_str()) +
        ") cannot log in with SCRAM whatever the password (librdkafka issue #4895): use "
        "sasl.mechanisms=PLAIN over SASL_SSL there; Kafka 3.x brokers accept this build's "
        "SCRAM, so there check the user name, the password and the SCRAM mechanism");
  }
  t_capture->first = Status::InvalidArgument(std::move(msg));
}

}  // namespace

void KafkaDeleter::operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
void KafkaDeleter::operator()(rd_kafka_conf_t* conf) const { rd_kafka_conf_destroy(conf); }
void KafkaDeleter::operator()(rd_kafka_topic_partition_list_t* l) const {
  rd_kafka_topic_partition_list_destroy(l);
}
void KafkaDeleter::operator()(rd_kafka_message_t* m) const { rd_kafka_message_destroy(m); }
void KafkaDeleter::operator()(rd_kafka_error_t* e) const { rd_kafka_error_destroy(e); }
void KafkaDeleter::operator()(rd_kafka_queue_t* q) const { rd_kafka_queue_destroy(q); }
void KafkaDeleter::operator()(rd_kafka_event_t* ev) const { rd_kafka_event_destroy(ev); }
void KafkaDeleter::operator()(rd_kafka_headers_t* h) const { rd_kafka_headers_destroy(h); }
void KafkaDeleter::operator()(rd_kafka_consumer_group_metadata_t* m) const {
  rd_kafka_consumer_group_metadata_destroy(m);
}
void KafkaDeleter::operator()(const rd_kafka_metadata_t* md) const {
  rd_kafka_metadata_destroy(md);
}

bool IsAuthenticationOrTlsError(rd_kafka_resp_err_t err) {
  return err == RD_KAFKA_RESP_ERR__AUTHENTICATION || err == RD_KAFKA_RESP_ERR__SSL ||
         err == RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED ||
         err == RD_KAFKA_RESP_ERR_UNSUPPORTED_SASL_MECHANISM ||
         err == RD_KAFKA_RESP_ERR_ILLEGAL_SASL_STATE;
}

Status PollConnectionErrors(rd_kafka_t* client) {
  ErrorCapture capture{client, Status::OK()};
  ErrorCapture* const outer = t_capture;
  t_capture = &capture;
  rd_kafka_poll(client, 0);
  t_capture = outer;
  return capture.first;
}

Status FromKafkaError(rd_kafka_resp_err_t err, std::string_view context) {
  const StatusCode code = CodeFor(err);
  if (code == StatusCode::kOk) return Status::OK();
  return Status(code, Describe(err, context, nullptr));
}

Status FromKafkaError(const rd_kafka_error_t* error, std::string_view context) {
  if (error == nullptr) return Status::OK();
  const rd_kafka_resp_err_t err = rd_kafka_error_code(error);
  StatusCode code = CodeFor(err);
  if (rd_kafka_error_is_fatal(error)) {
    code = (code == StatusCode::kFenced) ? StatusCode::kFenced : StatusCode::kFatal;
  } else if (rd_kafka_error_txn_requires_abort(error)) {
    code = StatusCode::kAborted;
  } else if (rd_kafka_error_is_retriable(error) && code == StatusCode::kIOError) {
    code = StatusCode::kTimedOut;
  }
  if (code == StatusCode::kOk) code = StatusCode::kInternal;
  return Status(code, Describe(err, context, rd_kafka_error_string(error)));
}

Result<KafkaConf> BuildKafkaConf(const KafkaProperties& props) {
  KafkaConf conf(rd_kafka_conf_new());
  char errstr[512];
  for (const auto& [key, value] : props.entries()) {
    if (rd_kafka_conf_set(conf.get(), key.c_str(), value.c_str(), errstr, sizeof(errstr)) !=
        RD_KAFKA_CONF_OK) {
      std::string msg = "kafka setting \"kafka." + key + "\"";
      if (!IsSecretProperty(key)) msg += " = \"" + value + "\"";
      msg += ": ";
      msg += errstr;
      return Status::InvalidArgument(std::move(msg));
    }
  }
  rd_kafka_conf_set_log_cb(conf.get(), &LogCallback);
  return conf;
}

Result<KafkaHandle> CreateKafkaClient(rd_kafka_type_t type, KafkaConf conf) {
  char errstr[512];
  if (type == RD_KAFKA_PRODUCER) rd_kafka_conf_set_error_cb(conf.get(), &ErrorCallback);
  rd_kafka_t* rk = rd_kafka_new(type, conf.get(), errstr, sizeof(errstr));
  if (rk == nullptr) {
    return Status::InvalidArgument(
        std::string("cannot create Kafka ") +
        (type == RD_KAFKA_PRODUCER ? "producer" : "consumer") + ": " + errstr);
  }
  conf.release();  // rd_kafka_new() took ownership.
  return KafkaHandle(rk);
}

Result<KafkaHandle> CreateKafkaClient(rd_kafka_type_t type, const KafkaProperties& props) {
  auto conf = BuildKafkaConf(props);
  if (!conf.ok()) return conf.status();
  return CreateKafkaClient(type, std::move(*conf));
}

}  // namespace eventflow::kafka
