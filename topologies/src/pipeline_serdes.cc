#include "pipeline_serdes.h"

#include <charconv>
#include <cstring>
#include <memory>
#include <string_view>
#include <utility>

#include "eventflow/core/event_codec.h"
#include "eventflow/core/table_format.h"
#include "eventflow/topologies/pipeline.h"

namespace eventflow::topologies::internal {
namespace {

using streams::Serde;
using streams::SerdePtr;
using streams::Windowed;

void PutInt64(int64_t v, std::string* out) {
  uint64_t u = static_cast<uint64_t>(v);
  char buf[8];
  for (int i = 7; i >= 0; --i, u >>= 8) buf[i] = static_cast<char>(u & 0xff);
  out->append(buf, 8);
}

void PutString(const std::string& s, std::string* out) {
  uint32_t n = static_cast<uint32_t>(s.size());
  char buf[4];
  for (int i = 3; i >= 0; --i, n >>= 8) buf[i] = static_cast<char>(n & 0xff);
  out->append(buf, 4);
  out->append(s);
}

// Reads the binary layouts above, failing with the field's name.
class Reader {
 public:
  Reader(std::string_view data, std::string_view what) : data_(data), what_(what) {}
  Status Int64(std::string_view field, int64_t* out) {
    if (data_.size() < 8) return Truncated(field);
    uint64_t u = 0;
    for (int i = 0; i < 8; ++i) u = (u << 8) | static_cast<unsigned char>(data_[i]);
    *out = static_cast<int64_t>(u);
    data_.remove_prefix(8);
    return Status::OK();
  }
  Status String(std::string_view field, std::string* out) {
    if (data_.size() < 4) return Truncated(field);
    uint32_t n = 0;
    for (int i = 0; i < 4; ++i) n = (n << 8) | static_cast<unsigned char>(data_[i]);
    data_.remove_prefix(4);
    if (data_.size() < n) return Truncated(field);
    out->assign(data_.substr(0, n));
    data_.remove_prefix(n);
    return Status::OK();
  }
  Status End() {
    if (data_.empty()) return Status::OK();
    return Status::InvalidArgument(std::string(what_) + ": " + std::to_string(data_.size()) +
                                   " unexpected trailing bytes");
  }

 private:
  Status Truncated(std::string_view field) {
    return Status::InvalidArgument(std::string(what_) + ": truncated at field " +
                                   std::string(field));
  }
  std::string_view data_;
  std::string_view what_;
};

// One decoder per thread: serdes are shared by all stream threads.
EventDecoder& ThreadDecoder() {
  thread_local EventDecoder decoder;
  return decoder;
}

class OrderJson final : public Serde<Order> {
 public:
  bool Serialize(const Order& v, std::string* out) const override {
    AppendJson(v, out);
    return true;
  }
  Status Deserialize(std::optional<std::string_view> data, Order* out) const override {
    if (!data) return Status::InvalidArgument("orders record without a value (Kafka null)");
    Result<Order> order = ThreadDecoder().DecodeOrder(*data);
    if (!order.ok()) {
      return Status::InvalidArgument("invalid ORDER event: " + order.status().message());
    }
    *out = std::move(order).value();
    return Status::OK();
  }
  std::string_view Name() const override { return "order-json"; }
};

class ProductViewJson final : public Serde<ProductView> {
 public:
  bool Serialize(const ProductView& v, std::string* out) const override {
    AppendJson(v, out);
    return true;
  }
  Status Deserialize(std::optional<std::string_view> data, ProductView* out) const override {
    if (!data) return Status::InvalidArgument("product-view record without a value (Kafka null)");
    Result<ProductView> view = ThreadDecoder().DecodeProductView(*data);
    if (!view.ok()) {
      return Status::InvalidArgument("invalid VIEW event: " + view.status().message());
    }
    *out = std::move(view).value();
    return Status::OK();
  }
  std::string_view Name() const override { return "product-view-json"; }
};

class RevenueAggregateBinary final : public Serde<RevenueAggregate> {
 public:
  bool Serialize(const RevenueAggregate& v, std::string* out) const override {
    PutInt64(v.total_cents, out);
    PutInt64(v.order_count, out);
    return true;
  }
  Status Deserialize(std::optional<std::string_view> data, RevenueAggregate* out) const override {
    if (!data) return streams::internal::NullError(Name());
    Reader r(*data, Name());
    EVENTFLOW_RETURN_IF_ERROR(r.Int64("total_cents", &out->total_cents));
    EVENTFLOW_RETURN_IF_ERROR(r.Int64("order_count", &out->order_count));
    return r.End();
  }
  std::string_view Name() const override { return "revenue-aggregate"; }
};

class FunnelCountsBinary final : public Serde<FunnelCounts> {
 public:
  bool Serialize(const FunnelCounts& v, std::string* out) const override {
    PutInt64(v.views, out);
    PutInt64(v.orders, out);
    return true;
  }
  Status Deserialize(std::optional<std::string_view> data, FunnelCounts* out) const override {
    if (!data) return streams::internal::NullError(Name());
    Reader r(*data, Name());
    EVENTFLOW_RETURN_IF_ERROR(r.Int64("views", &out->views));
    EVENTFLOW_RETURN_IF_ERROR(r.Int64("orders", &out->orders));
    return r.End();
  }
  std::string_view Name() const override { return "funnel-counts"; }
};

class AttributionRowBinary final : public Serde<AttributionRow> {
 public:
  bool Serialize(const AttributionRow& v, std::string* out) const override {
    PutString(v.order_id, out);
    PutString(v.user_id, out);
    PutString(v.product_id, out);
    PutInt64(v.order_time, out);
    PutInt64(v.views, out);
    PutInt64(v.last_view_time, out);
    return true;
  }
  Status Deserialize(std::optional<std::string_view> data, AttributionRow* out) const override {
    if (!data) return streams::internal::NullError(Name());
    Reader r(*data, Name());
    EVENTFLOW_RETURN_IF_ERROR(r.String("order_id", &out->order_id));
    EVENTFLOW_RETURN_IF_ERROR(r.String("user_id", &out->user_id));
    EVENTFLOW_RETURN_IF_ERROR(r.String("product_id", &out->product_id));
    EVENTFLOW_RETURN_IF_ERROR(r.Int64("order_time", &out->order_time));
    EVENTFLOW_RETURN_IF_ERROR(r.Int64("views", &out->views));
    EVENTFLOW_RETURN_IF_ERROR(r.Int64("last_view_time", &out->last_view_time));
    return r.End();
  }
  std::string_view Name() const override { return "attribution-row"; }
};

// Base of the write-only contract serdes.
template <typename T>
class ContractSerde : public Serde<T> {
 public:
  Status Deserialize(std::optional<std::string_view>, T*) const override {
    return Status::InvalidArgument(std::string(this->Name()) +
                                   " is write-only (decode output rows with the sink's "
                                   "RowDecoder)");
  }
};

// Appends ,"name": (the separator for every field but the first).
void Field(std::string_view name, std::string* out) {
  out->push_back(',');
  AppendJsonString(name, out);
  out->push_back(':');
}

void AppendInt(int64_t v, std::string* out) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, end);
}

class OrderIdKey final : public ContractSerde<std::string> {
 public:
  bool Serialize(const std::string& order_id, std::string* out) const override {
    out->append("{\"order_id\":");
    AppendJsonString(order_id, out);
    out->push_back('}');
    return true;
  }
  std::string_view Name() const override { return "contract-key<order_id>"; }
};

class WindowedKey final : public ContractSerde<Windowed<std::string>> {
 public:
  explicit WindowedKey(std::string field)
      : field_(std::move(field)), name_("contract-key<window_start," + field_ + ">") {}
  bool Serialize(const Windowed<std::string>& key, std::string* out) const override {
    out->append("{\"window_start\":\"");
    AppendContractTimestamp(key.start, out);
    out->push_back('"');
    Field(field_, out);
    AppendJsonString(key.key, out);
    out->push_back('}');
    return true;
  }
  std::string_view Name() const override { return name_; }

 private:
  std::string field_;
  std::string name_;
};

void TimestampField(std::string_view name, int64_t ms, std::string* out) {
  Field(name, out);
  out->push_back('"');
  AppendContractTimestamp(ms, out);
  out->push_back('"');
}

void DecimalField(std::string_view name, int64_t cents, std::string* out) {
  Field(name, out);
  out->push_back('"');
  AppendContractDecimal(cents, out);
  out->push_back('"');
}

class OrdersRawValue final : public ContractSerde<Order> {
 public:
  bool Serialize(const Order& o, std::string* out) const override {
    out->append("{\"order_id\":");
    AppendJsonString(o.order_id, out);
    Field("user_id", out);
    AppendJsonString(o.user_id, out);
    Field("product_id", out);
    AppendJsonString(o.product_id, out);
    DecimalField("price", o.price_cents, out);
    Field("currency", out);
    AppendJsonString(eventflow::Name(o.currency), out);
    TimestampField("event_time", o.timestamp_ms, out);
    out->push_back('}');
    return true;
  }
  std::string_view Name() const override { return "contract-value<orders_raw>"; }
};

class RevenueValue final : public ContractSerde<std::optional<RevenueRow>> {
 public:
  bool Serialize(const std::optional<RevenueRow>& row, std::string* out) const override {
    if (!row) return false;
    out->append("{\"window_start\":\"");
    AppendContractTimestamp(row->window_start, out);
    out->push_back('"');
    Field("currency", out);
    AppendJsonString(row->currency, out);
    TimestampField("window_end", row->window_end, out);
    DecimalField("total_revenue", row->aggregate.total_cents, out);
    Field("order_count", out);
    AppendInt(row->aggregate.order_count, out);
    DecimalField("avg_order_value",
                 AverageCentsHalfUp(row->aggregate.total_cents, row->aggregate.order_count), out);
    out->push_back('}');
    return true;
  }
  std::string_view Name() const override { return "contract-value<revenue_by_currency_5min>"; }
};

class FunnelValue final : public ContractSerde<std::optional<FunnelRow>> {
 public:
  bool Serialize(const std::optional<FunnelRow>& row, std::string* out) const override {
    if (!row) return false;
    out->append("{\"window_start\":\"");
    AppendContractTimestamp(row->window_start, out);
    out->push_back('"');
    Field("user_id", out);
    AppendJsonString(row->user_id, out);
    TimestampField("window_end", row->window_end, out);
    Field("views", out);
    AppendInt(row->counts.views, out);
    Field("orders", out);
    AppendInt(row->counts.orders, out);
    Field("conversion_rate", out);
    if (row->counts.views == 0) {
      out->append("null");
    } else {
      // The shortest text that reads back as the same double: a JSON number
      // ("0.5", "1", "0.3333333333333333", "2e-05").
      const double rate =
          static_cast<double>(row->counts.orders) / static_cast<double>(row->counts.views);
      char buf[32];
      auto [end, ec] = std::to_chars(buf, buf + sizeof buf, rate);
      out->append(buf, end);
    }
    out->push_back('}');
    return true;
  }
  std::string_view Name() const override { return "contract-value<conversion_funnel_5min>"; }
};

class AttributionValue final : public ContractSerde<std::optional<AttributionRow>> {
 public:
  bool Serialize(const std::optional<AttributionRow>& row, std::string* out) const override {
    if (!row) return false;
    out->append("{\"order_id\":");
    AppendJsonString(row->order_id, out);
    Field("user_id", out);
    AppendJsonString(row->user_id, out);
    Field("product_id", out);
    AppendJsonString(row->product_id, out);
    TimestampField("order_time", row->order_time, out);
    Field("views_before_order", out);
    AppendInt(row->views, out);
    TimestampField("last_view_time", row->last_view_time, out);
    out->push_back('}');
    return true;
  }
  std::string_view Name() const override { return "contract-value<order_attribution>"; }
};

}  // namespace

int64_t AverageCentsHalfUp(int64_t total_cents, int64_t count) {
  return (2 * total_cents + count) / (2 * count);
}

SerdePtr<Order> OrderJsonSerde() { return std::make_shared<OrderJson>(); }
SerdePtr<ProductView> ProductViewJsonSerde() { return std::make_shared<ProductViewJson>(); }
SerdePtr<RevenueAggregate> RevenueAggregateSerde() {
  return std::make_shared<RevenueAggregateBinary>();
}
SerdePtr<FunnelCounts> FunnelCountsSerde() { return std::make_shared<FunnelCountsBinary>(); }
SerdePtr<AttributionRow> AttributionRowSerde() { return std::make_shared<AttributionRowBinary>(); }
SerdePtr<std::string> OrderIdKeySerde() { return std::make_shared<OrderIdKey>(); }
SerdePtr<Windowed<std::string>> WindowedKeySerde(std::string field) {
  return std::make_shared<WindowedKey>(std::move(field));
}
SerdePtr<Order> OrdersRawValueSerde() { return std::make_shared<OrdersRawValue>(); }
SerdePtr<std::optional<RevenueRow>> RevenueValueSerde() {
  return std::make_shared<RevenueValue>();
}
SerdePtr<std::optional<FunnelRow>> FunnelValueSerde() { return std::make_shared<FunnelValue>(); }
SerdePtr<std::optional<AttributionRow>> AttributionValueSerde() {
  return std::make_shared<AttributionValue>();
}

}  // namespace eventflow::topologies::internal

namespace eventflow::topologies {

std::map<std::string, streams::StoreCodec> PipelineStoreCodecs() {
  using streams::StoreCodec;
  using Key = StoreCodec::Key;
  using Value = StoreCodec::Value;
  std::map<std::string, StoreCodec> codecs;
  StoreCodec revenue = StoreCodec::Of(Key::kString, Value::kBytes);
  revenue.render_value = [](std::string_view bytes, std::string* json) {
    internal::RevenueAggregate agg;
    if (!internal::RevenueAggregateSerde()->Deserialize(bytes, &agg).ok() || agg.order_count <= 0) {
      StoreCodec::Of(Key::kString, Value::kBytes).render_value(bytes, json);
      return;
    }
    json->append("{\"total_revenue\":\"");
    AppendContractDecimal(agg.total_cents, json);
    json->append("\",\"order_count\":");
    internal::AppendInt(agg.order_count, json);
    json->append(",\"avg_order_value\":\"");
    AppendContractDecimal(internal::AverageCentsHalfUp(agg.total_cents, agg.order_count), json);
    json->append("\"}");
  };
  codecs["revenue-by-currency-store"] = std::move(revenue);
  codecs["funnel-views-store"] = StoreCodec::Of(Key::kString, Value::kInt64);
  codecs["funnel-orders-store"] = StoreCodec::Of(Key::kString, Value::kInt64);
  StoreCodec attribution = StoreCodec::Of(Key::kString, Value::kBytes);
  attribution.render_value = [](std::string_view bytes, std::string* json) {
    internal::AttributionRow row;
    if (!internal::AttributionRowSerde()->Deserialize(bytes, &row).ok() ||
        !internal::AttributionValueSerde()->Serialize(row, json)) {
      StoreCodec::Of(Key::kString, Value::kBytes).render_value(bytes, json);
    }
  };
  codecs["attribution-store"] = std::move(attribution);
  return codecs;
}

}  // namespace eventflow::topologies
