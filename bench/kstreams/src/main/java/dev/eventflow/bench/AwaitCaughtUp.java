package dev.eventflow.bench;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Waits until a streams application (EventFlow's or Kafka Streams') has consumed and committed
 * all of its input and its output has settled:
 *
 * <pre>
 * java -cp ... dev.eventflow.bench.AwaitCaughtUp --bootstrap-servers HOST:PORT \
 *   --group APPLICATION_ID --inputs TOPIC[,TOPIC...] --outputs TOPIC[,TOPIC...] \
 *   [--stable-ms 3000] [--timeout-ms 600000]
 * </pre>
 *
 * Done when (1) the group (= application id) has committed offsets equal to the end offsets of
 * every partition of the input topics, (2) every other partition the group has committed offsets
 * for (its repartition topics) is committed up to its read_committed end offset, or to just
 * before it with only transaction markers in between (EventFlow commits last offset + 1, Kafka
 * Streams the consumer position, which is past the markers), and (3) the
 * output topics' read_committed end offsets have not changed for --stable-ms. Polls twice a
 * second. Prints the elapsed milliseconds and exits 0, or exits 1 after --timeout-ms naming the
 * lag left.
 */
public final class AwaitCaughtUp {
  private AwaitCaughtUp() {}

  public static void main(String[] argv) throws Exception {
    Args args = new Args(argv);
    String group = args.get("group");
    List<String> inputs = List.of(args.get("inputs").split(","));
    List<String> outputs = List.of(args.get("outputs").split(","));
    long stableMs = Long.parseLong(args.get("stable-ms", "3000"));
    long timeoutMs = Long.parseLong(args.get("timeout-ms", "600000"));
    Properties p = new Properties();
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, args.get("bootstrap-servers"));
    long start = System.currentTimeMillis();
    Properties cp = new Properties();
    cp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, args.get("bootstrap-servers"));
    cp.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    cp.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    try (Admin admin = Admin.create(p);
        KafkaConsumer<byte[], byte[]> consumer =
            new KafkaConsumer<>(cp, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> inputParts = partitions(admin, inputs);
      List<TopicPartition> outputParts = partitions(admin, outputs);
      Map<TopicPartition, Long> lastOutputs = null;
      long stableSince = 0;
      String lag = "";
      long polls = 0;
      while (System.currentTimeMillis() - start < timeoutMs) {
        Map<TopicPartition, OffsetAndMetadata> committed =
            admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
        List<TopicPartition> watched = new ArrayList<>(inputParts);
        for (TopicPartition tp : committed.keySet()) {
          if (!watched.contains(tp)) watched.add(tp);
        }
        Map<TopicPartition, Long> ends = ends(admin, watched);
        long behind = 0;
        StringBuilder where = new StringBuilder();
        for (TopicPartition tp : watched) {
          OffsetAndMetadata c = committed.get(tp);
          long from = c == null ? 0 : c.offset();
          long partLag = Math.max(0, ends.get(tp) - from);
          // A committed offset just before the end may only have transaction markers after
          // it (EventFlow commits last offset + 1, Kafka Streams the consumer's position).
          if (partLag > 0 && partLag <= 2 && onlyMarkers(consumer, tp, from, ends.get(tp))) {
            partLag = 0;
          }
          behind += partLag;
          if (partLag > 0 && where.length() < 400) {
            where.append(' ').append(tp).append(" at ").append(c == null ? "-" : c.offset())
                .append(" of ").append(ends.get(tp));
          }
        }
        Map<TopicPartition, Long> outs = ends(admin, outputParts);
        long now = System.currentTimeMillis();
        if (behind > 0 || !outs.equals(lastOutputs)) stableSince = now;
        lastOutputs = outs;
        lag = behind + " records behind:" + where;
        if (++polls % 20 == 0 && behind > 0) System.err.println("AwaitCaughtUp: " + group + " " + lag);
        if (behind == 0 && now - stableSince >= stableMs) {
          System.out.println(now - start);
          return;
        }
        Thread.sleep(500);
      }
      System.err.println("AwaitCaughtUp: group " + group + " not caught up after " + timeoutMs
          + " ms: " + lag);
      System.exit(1);
    }
  }

  /** Whether [from, end) of `tp` holds no record a read_committed consumer sees. */
  static boolean onlyMarkers(
      KafkaConsumer<byte[], byte[]> consumer, TopicPartition tp, long from, long end) {
    consumer.assign(List.of(tp));
    consumer.seek(tp, from);
    for (int i = 0; i < 5; ++i) {
      ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(200));
      for (ConsumerRecord<byte[], byte[]> r : records) {
        if (r.offset() < end) return false;
      }
      if (consumer.position(tp) >= end) return true;
    }
    return false;
  }

  static List<TopicPartition> partitions(Admin admin, List<String> topics) throws Exception {
    List<TopicPartition> out = new ArrayList<>();
    for (TopicDescription d : admin.describeTopics(topics).allTopicNames().get().values()) {
      d.partitions().forEach(i -> out.add(new TopicPartition(d.name(), i.partition())));
    }
    return out;
  }

  static Map<TopicPartition, Long> ends(Admin admin, List<TopicPartition> parts)
      throws Exception {
    Map<TopicPartition, OffsetSpec> spec = new HashMap<>();
    for (TopicPartition tp : parts) spec.put(tp, OffsetSpec.latest());
    Map<TopicPartition, Long> out = new HashMap<>();
    admin
        .listOffsets(spec, new ListOffsetsOptions(IsolationLevel.READ_COMMITTED))
        .all()
        .get(30, java.util.concurrent.TimeUnit.SECONDS)
        .forEach((tp, info) -> out.put(tp, info.offset()));
    return out;
  }
}
