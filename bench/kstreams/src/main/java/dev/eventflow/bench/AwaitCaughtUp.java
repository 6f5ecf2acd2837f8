package dev.eventflow.bench;

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
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;

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
 * for (its repartition topics) is committed up to its read_committed end offset, and (3) the
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
    try (Admin admin = Admin.create(p)) {
      List<TopicPartition> inputParts = partitions(admin, inputs);
      List<TopicPartition> outputParts = partitions(admin, outputs);
      Map<TopicPartition, Long> lastOutputs = null;
      long stableSince = 0;
      String lag = "";
      while (System.currentTimeMillis() - start < timeoutMs) {
        Map<TopicPartition, OffsetAndMetadata> committed =
            admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
        List<TopicPartition> watched = new ArrayList<>(inputParts);
        for (TopicPartition tp : committed.keySet()) {
          if (!watched.contains(tp)) watched.add(tp);
        }
        Map<TopicPartition, Long> ends = ends(admin, watched);
        long behind = 0;
        for (TopicPartition tp : watched) {
          OffsetAndMetadata c = committed.get(tp);
          behind += Math.max(0, ends.get(tp) - (c == null ? 0 : c.offset()));
        }
        Map<TopicPartition, Long> outs = ends(admin, outputParts);
        long now = System.currentTimeMillis();
        if (behind > 0 || !outs.equals(lastOutputs)) stableSince = now;
        lastOutputs = outs;
        lag = behind + " records behind";
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
