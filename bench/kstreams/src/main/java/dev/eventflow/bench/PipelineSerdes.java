package dev.eventflow.bench;

import dev.eventflow.bench.Events.Order;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.LocalDate;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.streams.kstream.Windowed;

/**
 * Row types and serdes of PipelineApp.
 *
 * <p>Internal (repartition topics, stores): compact binary forms, as EventFlow's own
 * (topologies/src/pipeline_serdes.h). Output: the output-topic contract's JSON keys and values,
 * as EventFlow writes them (timestamps "2025-11-30T11:15:00.000Z", decimals as strings with two
 * decimals "59.99", conversion_rate a JSON number or null); write-only.
 */
final class PipelineSerdes {
  private PipelineSerdes() {}

  /** Running revenue of one (currency, window): exact cents and count. */
  record RevenueAggregate(long totalCents, long orderCount) {}

  /** Views and orders of one (user, window) after the outer join. */
  record FunnelCounts(long views, long orders) {}

  /** A revenue_by_currency_5min row. */
  record RevenueRow(long windowStart, long windowEnd, String currency, RevenueAggregate agg) {}

  /** A conversion_funnel_5min row. */
  record FunnelRow(long windowStart, long windowEnd, String userId, FunnelCounts counts) {}

  /**
   * An order on its way through the attribution join (views 0, lastViewTime -1), one joined
   * (order, view) pair (views 1), or the aggregate of an order's pairs.
   */
  record AttributionRow(
      String orderId,
      String userId,
      String productId,
      long orderTime,
      long views,
      long lastViewTime) {}

  // --- internal binary serdes ---------------------------------------------------------------

  static Serde<RevenueAggregate> revenueAggregate() {
    return Serdes.serdeFrom(
        (topic, a) -> a == null
            ? null
            : ByteBuffer.allocate(16).putLong(a.totalCents()).putLong(a.orderCount()).array(),
        (topic, b) -> {
          if (b == null) return null;
          ByteBuffer buf = ByteBuffer.wrap(b);
          return new RevenueAggregate(buf.getLong(), buf.getLong());
        });
  }

  static Serde<FunnelCounts> funnelCounts() {
    return Serdes.serdeFrom(
        (topic, c) -> c == null
            ? null
            : ByteBuffer.allocate(16).putLong(c.views()).putLong(c.orders()).array(),
        (topic, b) -> {
          if (b == null) return null;
          ByteBuffer buf = ByteBuffer.wrap(b);
          return new FunnelCounts(buf.getLong(), buf.getLong());
        });
  }

  /** [u32 length][bytes] for each string, then orderTime, views, lastViewTime as int64. */
  static Serde<AttributionRow> attributionRow() {
    return Serdes.serdeFrom(
        (topic, r) -> {
          if (r == null) return null;
          byte[] o = r.orderId().getBytes(StandardCharsets.UTF_8);
          byte[] u = r.userId().getBytes(StandardCharsets.UTF_8);
          byte[] p = r.productId().getBytes(StandardCharsets.UTF_8);
          return ByteBuffer.allocate(12 + o.length + u.length + p.length + 24)
              .putInt(o.length).put(o)
              .putInt(u.length).put(u)
              .putInt(p.length).put(p)
              .putLong(r.orderTime()).putLong(r.views()).putLong(r.lastViewTime())
              .array();
        },
        (topic, b) -> {
          if (b == null) return null;
          ByteBuffer buf = ByteBuffer.wrap(b);
          return new AttributionRow(
              string(buf), string(buf), string(buf), buf.getLong(), buf.getLong(), buf.getLong());
        });
  }

  private static String string(ByteBuffer buf) {
    int n = buf.getInt();
    String s = new String(buf.array(), buf.arrayOffset() + buf.position(), n,
        StandardCharsets.UTF_8);
    buf.position(buf.position() + n);
    return s;
  }

  // --- output contract (write-only) ---------------------------------------------------------

  private abstract static class JsonSerializer<T> implements Serializer<T> {
    @Override
    public byte[] serialize(String topic, T value) {
      if (value == null) return null;
      StringBuilder sb = new StringBuilder(160);
      write(value, sb);
      return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    abstract void write(T value, StringBuilder out);
  }

  private static <T> Serde<T> writeOnly(JsonSerializer<T> serializer) {
    Deserializer<T> none =
        (topic, data) -> {
          throw new UnsupportedOperationException("output contract serdes are write-only");
        };
    return Serdes.serdeFrom(serializer, none);
  }

  /** Key {"order_id":"…"}. */
  static Serde<String> orderIdKey() {
    return writeOnly(
        new JsonSerializer<String>() {
          @Override
          void write(String orderId, StringBuilder out) {
            out.append("{\"order_id\":");
            jsonString(orderId, out);
            out.append('}');
          }
        });
  }

  /** Key {"window_start":"…","<field>":"…"}. */
  static Serde<Windowed<String>> windowedKey(String field) {
    return writeOnly(
        new JsonSerializer<Windowed<String>>() {
          @Override
          void write(Windowed<String> key, StringBuilder out) {
            out.append("{\"window_start\":");
            timestamp(key.window().start(), out);
            out.append(",\"").append(field).append("\":");
            jsonString(key.key(), out);
            out.append('}');
          }
        });
  }

  static Serde<Order> ordersRawValue() {
    return writeOnly(
        new JsonSerializer<Order>() {
          @Override
          void write(Order o, StringBuilder out) {
            out.append("{\"order_id\":");
            jsonString(o.orderId(), out);
            out.append(",\"user_id\":");
            jsonString(o.userId(), out);
            out.append(",\"product_id\":");
            jsonString(o.productId(), out);
            out.append(",\"price\":");
            decimal(o.priceCents(), out);
            out.append(",\"currency\":");
            jsonString(o.currency(), out);
            out.append(",\"event_time\":");
            timestamp(o.timestampMs(), out);
            out.append('}');
          }
        });
  }

  static Serde<RevenueRow> revenueValue() {
    return writeOnly(
        new JsonSerializer<RevenueRow>() {
          @Override
          void write(RevenueRow r, StringBuilder out) {
            out.append("{\"window_start\":");
            timestamp(r.windowStart(), out);
            out.append(",\"currency\":");
            jsonString(r.currency(), out);
            out.append(",\"window_end\":");
            timestamp(r.windowEnd(), out);
            out.append(",\"total_revenue\":");
            decimal(r.agg().totalCents(), out);
            out.append(",\"order_count\":").append(r.agg().orderCount());
            out.append(",\"avg_order_value\":");
            decimal(averageCentsHalfUp(r.agg().totalCents(), r.agg().orderCount()), out);
            out.append('}');
          }
        });
  }

  static Serde<FunnelRow> funnelValue() {
    return writeOnly(
        new JsonSerializer<FunnelRow>() {
          @Override
          void write(FunnelRow r, StringBuilder out) {
            out.append("{\"window_start\":");
            timestamp(r.windowStart(), out);
            out.append(",\"user_id\":");
            jsonString(r.userId(), out);
            out.append(",\"window_end\":");
            timestamp(r.windowEnd(), out);
            out.append(",\"views\":").append(r.counts().views());
            out.append(",\"orders\":").append(r.counts().orders());
            out.append(",\"conversion_rate\":");
            if (r.counts().views() == 0) {
              out.append("null");
            } else {
              double rate = (double) r.counts().orders() / (double) r.counts().views();
              // Integral rates as integers ("1", "0"), as EventFlow's shortest form writes them.
              if (rate == Math.rint(rate)) {
                out.append((long) rate);
              } else {
                out.append(rate);
              }
            }
            out.append('}');
          }
        });
  }

  static Serde<AttributionRow> attributionValue() {
    return writeOnly(
        new JsonSerializer<AttributionRow>() {
          @Override
          void write(AttributionRow r, StringBuilder out) {
            out.append("{\"order_id\":");
            jsonString(r.orderId(), out);
            out.append(",\"user_id\":");
            jsonString(r.userId(), out);
            out.append(",\"product_id\":");
            jsonString(r.productId(), out);
            out.append(",\"order_time\":");
            timestamp(r.orderTime(), out);
            out.append(",\"views_before_order\":").append(r.views());
            out.append(",\"last_view_time\":");
            timestamp(r.lastViewTime(), out);
            out.append('}');
          }
        });
  }

  /** avg_order_value in cents: total / count rounded half up (count > 0, total >= 0). */
  static long averageCentsHalfUp(long totalCents, long count) {
    return (2 * totalCents + count) / (2 * count);
  }

  /** Appends "YYYY-MM-DDThh:mm:ss.mmmZ" in quotes. */
  static void timestamp(long epochMs, StringBuilder out) {
    long days = Math.floorDiv(epochMs, 86_400_000L);
    long msOfDay = Math.floorMod(epochMs, 86_400_000L);
    LocalDate d = LocalDate.ofEpochDay(days);
    out.append('"');
    pad(d.getYear(), 4, out);
    out.append('-');
    pad(d.getMonthValue(), 2, out);
    out.append('-');
    pad(d.getDayOfMonth(), 2, out);
    out.append('T');
    pad(msOfDay / 3_600_000L, 2, out);
    out.append(':');
    pad(msOfDay / 60_000L % 60, 2, out);
    out.append(':');
    pad(msOfDay / 1000 % 60, 2, out);
    out.append('.');
    pad(msOfDay % 1000, 3, out);
    out.append("Z\"");
  }

  private static void pad(long v, int width, StringBuilder out) {
    for (long p = width == 4 ? 1000 : width == 3 ? 100 : 10; p > 1 && v < p; p /= 10) {
      out.append('0');
    }
    out.append(v);
  }

  /** Appends cents as a quoted decimal with exactly two decimals ("59.99", "0.50"). */
  static void decimal(long cents, StringBuilder out) {
    out.append('"');
    if (cents < 0) {
      out.append('-');
      cents = -cents;
    }
    out.append(cents / 100).append('.');
    long frac = cents % 100;
    if (frac < 10) out.append('0');
    out.append(frac).append('"');
  }

  /** Appends a quoted JSON string; quotes, backslashes and control characters escaped. */
  static void jsonString(String s, StringBuilder out) {
    out.append('"');
    for (int i = 0, n = s.length(); i < n; ++i) {
      char c = s.charAt(i);
      if (c == '"' || c == '\\') {
        out.append('\\').append(c);
      } else if (c < 0x20) {
        out.append("\\u00").append(Character.forDigit(c >> 4, 16)).append(
            Character.forDigit(c & 0xf, 16));
      } else {
        out.append(c);
      }
    }
    out.append('"');
  }
}
