package dev.eventflow.bench;

import java.io.BufferedWriter;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.utils.Utils;

/**
 * The output check of bench/compare: reads a topic from the beginning to its end (a
 * read_committed consumer, so only committed transactions count) and writes a digest that is
 * well defined for the topology, sorted, one line per entry, so that two engines' digests can
 * be compared with diff and each against the one computed from the input:
 *
 * <ul>
 *   <li>--kind passthrough: per key, "key partition count hash", where hash chains (in offset
 *       order) each record's value and timestamp. Records of one key come from one input
 *       partition and go to one output partition in order, so the sequence per key is the same
 *       for any correct engine; the order across keys is not. partition is -1 if a key's
 *       records are in several partitions. With --from-input 1 the digest is computed from the
 *       input instead: values mapped as the pass-through maps them, partition = murmur2(key)
 *       modulo --partitions (Kafka's default partitioner; librdkafka's murmur2_random).
 *   <li>--kind windowed: per (key, window start), "key start count" with the last count written
 *       for that window (a windowed key's updates go to one partition in order, so the last one
 *       is the final one). Key: Kafka's time-windowed layout (key bytes, then the window start
 *       as 8 bytes big-endian); value: a long. With --from-input 1: the number of input records
 *       per key and one-minute window of their timestamps (none is late in the benchmark's
 *       input, whose disorder is below the grace period).
 * </ul>
 *
 * Prints "records=N entries=E" to stdout. With --delete-prefix P1,P2,... it afterwards deletes
 * every topic whose name starts with one of them (outputs and internal topics of finished runs).
 *
 * <p>Usage: OutputDigest --bootstrap HOST:PORT --topic T --kind passthrough|windowed --out FILE
 * [--from-input 0|1] [--partitions P] [--delete-prefix P1,P2,...] [--timeout-s 600]
 */
public final class OutputDigest {
  private OutputDigest() {}

  private static final long WINDOW_MS = 60_000;

  public static void main(String[] argv) throws Exception {
    Args a = new Args(argv);
    String bootstrap = a.get("bootstrap");
    String kind = a.get("kind");
    boolean fromInput = a.get("from-input", "0").equals("1");
    long deadline = System.nanoTime() + Long.parseLong(a.get("timeout-s", "600")) * 1_000_000_000L;
    if (!kind.equals("passthrough") && !kind.equals("windowed")) {
      Harness.die("--kind must be passthrough or windowed");
    }
    int outPartitions = fromInput && kind.equals("passthrough") ? Integer.parseInt(a.get("partitions")) : 0;

    Map<String, long[]> perKey = new HashMap<>();  // passthrough: {partition, count, hash}
    Map<String, Long> perWindow = new HashMap<>();  // windowed: "key\tstart" -> count
    long records = 0;

    try (KafkaConsumer<byte[], byte[]> consumer = Harness.readCommittedConsumer(
        bootstrap, Map.of(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "5000"))) {
      List<TopicPartition> tps = Harness.assignAll(consumer, a.get("topic"));
      consumer.seekToBeginning(tps);
      Map<TopicPartition, Long> end = consumer.endOffsets(tps, Duration.ofSeconds(60));
      while (true) {
        boolean done = true;
        for (TopicPartition tp : tps) {
          if (consumer.position(tp, Duration.ofSeconds(60)) < end.get(tp)) done = false;
        }
        if (done) break;
        if (System.nanoTime() > deadline) Harness.die("digest: time-out reading " + a.get("topic"));
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
          if (r.offset() >= end.get(new TopicPartition(r.topic(), r.partition()))) continue;
          ++records;
          if (kind.equals("passthrough")) {
            String key = new String(r.key(), StandardCharsets.UTF_8);
            byte[] value = r.value();
            int partition = r.partition();
            if (fromInput) {
              value = PassThrough.mapValue(new String(value, StandardCharsets.UTF_8))
                  .getBytes(StandardCharsets.UTF_8);
              partition = Utils.toPositive(Utils.murmur2(r.key())) % outPartitions;
            }
            final int first = partition;
            long[] e = perKey.computeIfAbsent(key, k -> new long[] {first, 0, 17});
            if (e[0] != partition) e[0] = -1;
            e[1]++;
            e[2] = chain(e[2], value, r.timestamp());
          } else if (fromInput) {
            String key = new String(r.key(), StandardCharsets.UTF_8);
            long start = Math.floorDiv(r.timestamp(), WINDOW_MS) * WINDOW_MS;
            perWindow.merge(key + "\t" + start, 1L, Long::sum);
          } else {
            byte[] k = r.key();
            String key = new String(k, 0, k.length - 8, StandardCharsets.UTF_8);
            long start = ByteBuffer.wrap(k, k.length - 8, 8).getLong();
            long count = r.value() == null ? -1 : ByteBuffer.wrap(r.value()).getLong();
            perWindow.put(key + "\t" + start, count);
          }
        }
      }
    }

    Path out = Path.of(a.get("out"));
    int entries;
    try (BufferedWriter w = Files.newBufferedWriter(out)) {
      if (kind.equals("passthrough")) {
        TreeMap<String, long[]> sorted = new TreeMap<>(perKey);
        for (Map.Entry<String, long[]> e : sorted.entrySet()) {
          long[] v = e.getValue();
          w.write(e.getKey() + " " + v[0] + " " + v[1] + " " + Long.toHexString(v[2]) + "\n");
        }
        entries = sorted.size();
      } else {
        TreeMap<String, Long> sorted = new TreeMap<>(perWindow);
        for (Map.Entry<String, Long> e : sorted.entrySet()) {
          w.write(e.getKey().replace('\t', ' ') + " " + e.getValue() + "\n");
        }
        entries = sorted.size();
      }
    }
    System.out.println("records=" + records + " entries=" + entries);

    String prefixes = a.get("delete-prefix", "");
    if (!prefixes.isEmpty()) Topics.deleteByPrefix(bootstrap, prefixes.split(","));
  }

  /** An order-sensitive 64-bit chain over (value bytes, timestamp): FNV-1a, then a mix. */
  static long chain(long h, byte[] value, long timestamp) {
    long f = 0xcbf29ce484222325L;
    if (value != null) {
      for (byte b : value) {
        f ^= (b & 0xff);
        f *= 0x100000001b3L;
      }
    } else {
      f = 0x9e3779b97f4a7c15L;
    }
    f ^= timestamp * 0xbf58476d1ce4e5b9L;
    h = (h ^ f) * 0x94d049bb133111ebL;
    return h ^ (h >>> 31);
  }
}
