package dev.eventflow.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;

/**
 * Checks that two runs of the EventFlow pipeline wrote the same results: the four output topics
 * of the data contract under two topic prefixes (e.g. `eventflow run --topology eventflow` and
 * PipelineApp on byte-identical input), and optionally their dead-letter topics.
 *
 * <pre>
 * java -cp 'bench/kstreams/target/classes:bench/kstreams/target/lib/*' \
 *   dev.eventflow.bench.CompareOutputs --bootstrap-servers HOST:PORT \
 *   --left-prefix P1 --right-prefix P2 \
 *   [--left-dlq TOPIC --right-dlq TOPIC] [--left-name eventflow] [--right-name kstreams] \
 *   [--max-differences 10]
 * </pre>
 *
 * Reads every partition of each topic from the beginning to its end offset with
 * isolation.level=read_committed (so run it once both applications have consumed all input and
 * committed; AwaitCaughtUp waits for that). Values are compared as parsed JSON (object fields in
 * any order; numbers by value, so 1, 1.0 and 1e0 are equal), keys likewise.
 *
 * <ul>
 *   <li>orders_raw (a stream: every order once): per key, the multiset of values;
 *   <li>revenue_by_currency_5min, conversion_funnel_5min, order_attribution (tables: in update
 *       mode every update is written and the latest record per key is the row; a null value
 *       deletes it): per key (window_start plus currency/user_id, or order_id), the latest value,
 *       i.e. the final value per key and window;
 *   <li>dead-letter topics (--left-dlq/--right-dlq, optional): the multiset of (key, value,
 *       eventflow.source.topic without its prefix, eventflow.source.partition,
 *       eventflow.source.offset); the error text is not compared (the engines word it
 *       differently).
 * </ul>
 *
 * Prints one line per topic ("equal" with the counts, or the number of differing keys and the
 * first --max-differences of them, each with both sides) and exits 0 when everything is equal,
 * 1 when something differs, 2 on a usage or Kafka error.
 */
public final class CompareOutputs {
  static final List<String> TABLES =
      List.of("revenue_by_currency_5min", "conversion_funnel_5min", "order_attribution");
  static final String STREAM = "orders_raw";
  private static final ObjectMapper JSON = new ObjectMapper();

  private CompareOutputs() {}

  public static void main(String[] argv) {
    try {
      System.exit(run(new Args(argv)));
    } catch (Exception e) {
      System.err.println("CompareOutputs: " + e);
      System.exit(2);
    }
  }

  static int run(Args args) throws Exception {
    String bootstrap = args.get("bootstrap-servers");
    String leftPrefix = args.get("left-prefix");
    String rightPrefix = args.get("right-prefix");
    String leftName = args.get("left-name", "left");
    String rightName = args.get("right-name", "right");
    int maxDiffs = Integer.parseInt(args.get("max-differences", "10"));
    String leftDlq = args.get("left-dlq", null);
    String rightDlq = args.get("right-dlq", null);
    if ((leftDlq == null) != (rightDlq == null)) {
      throw new IllegalArgumentException("give both --left-dlq and --right-dlq, or neither");
    }
    Names names = new Names(leftName, rightName);
    boolean equal = true;
    try (KafkaConsumer<byte[], byte[]> consumer = consumer(bootstrap)) {
      {
        Map<String, Map<String, Integer>> l = multisets(readAll(consumer, leftPrefix + STREAM));
        Map<String, Map<String, Integer>> r = multisets(readAll(consumer, rightPrefix + STREAM));
        equal &= report(STREAM + " (multiset per key)", l, r, names, maxDiffs);
      }
      for (String table : TABLES) {
        Map<String, String> l = latest(readAll(consumer, leftPrefix + table));
        Map<String, String> r = latest(readAll(consumer, rightPrefix + table));
        equal &= report(table + " (latest per key)", l, r, names, maxDiffs);
      }
      if (leftDlq != null) {
        Map<String, Map<String, Integer>> l =
            deadLetters(readAll(consumer, leftDlq), leftPrefix);
        Map<String, Map<String, Integer>> r =
            deadLetters(readAll(consumer, rightDlq), rightPrefix);
        equal &= report("dead letters (multiset per source record)", l, r, names, maxDiffs);
      }
    }
    System.out.println(equal ? "RESULT: equal" : "RESULT: DIFFERENT");
    return equal ? 0 : 1;
  }

  record Names(String left, String right) {}

  static KafkaConsumer<byte[], byte[]> consumer(String bootstrap) {
    return Harness.readCommittedConsumer(bootstrap, Map.of(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 5000));
  }

  /** Every record of `topic` up to its current (read_committed) end, partition by partition. */
  static List<ConsumerRecord<byte[], byte[]>> readAll(
      KafkaConsumer<byte[], byte[]> consumer, String topic) {
    List<PartitionInfo> infos = consumer.partitionsFor(topic, Duration.ofSeconds(30));
    if (infos == null || infos.isEmpty()) {
      throw new IllegalStateException("topic " + topic + " does not exist");
    }
    List<TopicPartition> parts = new ArrayList<>();
    for (PartitionInfo i : infos) parts.add(new TopicPartition(topic, i.partition()));
    consumer.assign(parts);
    consumer.seekToBeginning(parts);
    Map<TopicPartition, Long> ends = consumer.endOffsets(parts, Duration.ofSeconds(30));
    List<ConsumerRecord<byte[], byte[]>> out = new ArrayList<>();
    long deadline = System.nanoTime() + Duration.ofMinutes(5).toNanos();
    while (true) {
      boolean done = true;
      for (TopicPartition tp : parts) {
        if (consumer.position(tp, Duration.ofSeconds(30)) < ends.get(tp)) done = false;
      }
      if (done) break;
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("reading " + topic + " took more than 5 minutes");
      }
      for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(500))) {
        if (r.offset() < ends.get(new TopicPartition(r.topic(), r.partition()))) out.add(r);
      }
    }
    consumer.unsubscribe();
    return out;
  }

  /** Canonical text of a JSON document: sorted object fields, numbers by value. */
  static String canonical(byte[] bytes) {
    if (bytes == null) return null;
    try {
      StringBuilder sb = new StringBuilder();
      canonical(JSON.readTree(bytes), sb);
      return sb.toString();
    } catch (Exception e) {
      return "<not JSON: " + new String(bytes, StandardCharsets.UTF_8) + ">";
    }
  }

  private static void canonical(JsonNode n, StringBuilder sb) throws Exception {
    if (n.isObject()) {
      TreeMap<String, JsonNode> fields = new TreeMap<>();
      for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        fields.put(e.getKey(), e.getValue());
      }
      sb.append('{');
      boolean first = true;
      for (Map.Entry<String, JsonNode> e : fields.entrySet()) {
        if (!first) sb.append(',');
        first = false;
        sb.append(JSON.writeValueAsString(e.getKey())).append(':');
        canonical(e.getValue(), sb);
      }
      sb.append('}');
    } else if (n.isArray()) {
      sb.append('[');
      for (int i = 0; i < n.size(); ++i) {
        if (i > 0) sb.append(',');
        canonical(n.get(i), sb);
      }
      sb.append(']');
    } else if (n.isIntegralNumber()) {
      sb.append(n.bigIntegerValue());
    } else if (n.isNumber()) {
      BigDecimal d = new BigDecimal(Double.toString(n.doubleValue())).stripTrailingZeros();
      sb.append(d.signum() == 0 ? "0" : d.toPlainString());
    } else {
      sb.append(JSON.writeValueAsString(n));
    }
  }

  static Map<String, Map<String, Integer>> multisets(List<ConsumerRecord<byte[], byte[]>> rs) {
    Map<String, Map<String, Integer>> out = new HashMap<>();
    for (ConsumerRecord<byte[], byte[]> r : rs) {
      out.computeIfAbsent(canonical(r.key()), k -> new TreeMap<>())
          .merge(String.valueOf(canonical(r.value())), 1, Integer::sum);
    }
    return out;
  }

  static Map<String, String> latest(List<ConsumerRecord<byte[], byte[]>> rs) {
    Map<String, String> out = new HashMap<>();
    for (ConsumerRecord<byte[], byte[]> r : rs) {
      String key = canonical(r.key());
      if (r.value() == null) {
        out.remove(key);
      } else {
        out.put(key, canonical(r.value()));
      }
    }
    return out;
  }

  static Map<String, Map<String, Integer>> deadLetters(
      List<ConsumerRecord<byte[], byte[]>> rs, String prefix) {
    Map<String, Map<String, Integer>> out = new HashMap<>();
    for (ConsumerRecord<byte[], byte[]> r : rs) {
      String topic = header(r, "eventflow.source.topic");
      if (topic != null && topic.startsWith(prefix)) topic = topic.substring(prefix.length());
      String source = topic + ":" + header(r, "eventflow.source.partition") + ":"
          + header(r, "eventflow.source.offset");
      String record = "key=" + bytes(r.key()) + " value=" + bytes(r.value());
      out.computeIfAbsent(source, k -> new TreeMap<>()).merge(record, 1, Integer::sum);
    }
    return out;
  }

  private static String header(ConsumerRecord<byte[], byte[]> r, String name) {
    Header h = r.headers().lastHeader(name);
    return h == null || h.value() == null ? null : new String(h.value(), StandardCharsets.UTF_8);
  }

  // Text as is when it is printable UTF-8, else base64.
  private static String bytes(byte[] b) {
    if (b == null) return "null";
    String s = new String(b, StandardCharsets.UTF_8);
    boolean printable = java.util.Arrays.equals(s.getBytes(StandardCharsets.UTF_8), b)
        && s.chars().allMatch(c -> c >= 0x20);
    return printable ? "'" + s + "'" : "base64:" + Base64.getEncoder().encodeToString(b);
  }

  private static <V> boolean report(String what, Map<String, V> left, Map<String, V> right,
      Names names, int maxDiffs) {
    TreeSet<String> keys = new TreeSet<>(left.keySet());
    keys.addAll(right.keySet());
    List<String> diffs = new ArrayList<>();
    int count = 0;
    for (String k : keys) {
      V l = left.get(k);
      V r = right.get(k);
      if (l == null ? r == null : l.equals(r)) continue;
      ++count;
      if (diffs.size() < maxDiffs) {
        diffs.add("  key " + k + "\n    " + names.left() + ": " + (l == null ? "(none)" : l)
            + "\n    " + names.right() + ": " + (r == null ? "(none)" : r));
      }
    }
    if (count == 0) {
      System.out.println(what + ": equal (" + left.size() + " keys)");
      return true;
    }
    System.out.println(what + ": " + count + " of " + keys.size() + " keys differ ("
        + names.left() + " " + left.size() + " keys, " + names.right() + " " + right.size()
        + "); first " + diffs.size() + ":");
    diffs.forEach(System.out::println);
    return false;
  }
}
