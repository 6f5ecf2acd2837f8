package dev.eventflow.bench;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;

/**
 * What the Kafka Streams benchmark apps share with each other and with their EventFlow
 * counterparts (bench/streams_passthrough_bench.cc, bench/windowed_count_bench.cc) as driven by
 * bench/compare: the streams settings taken from the command line (everything else is Kafka
 * Streams' default), the output topic created up front with the input's partition count, and
 * the run protocol on stdout:
 *
 * <pre>
 *   progress processed=N          every --progress-ms (0: never), N = records processed so far
 *   mode=M records=N seconds=S records_per_s=R
 *                                 once, after close(); seconds from before KafkaStreams is
 *                                 created until close() returned
 * </pre>
 *
 * --state-dir DIR: the state directory, kept afterwards (default: a fresh temporary one,
 * removed). With --hold 1 the process then waits for its stdin to close before it exits, so that the
 * harness can read its CPU time and peak RSS from /proc while it is still alive.
 */
final class Harness {
  private Harness() {}

  static final Duration ADMIN_TIMEOUT = Duration.ofSeconds(60);

  /** The streams settings the harness passes; nothing else is set. */
  static Properties streamsProps(Args a, String applicationId, Path stateDir) {
    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, applicationId);
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, a.get("bootstrap"));
    p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, a.get("guarantee", "exactly_once_v2"));
    p.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, a.get("threads", "1"));
    p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, a.get("commit-interval-ms", "100"));
    p.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toString());
    // --group-instance-id ID: static membership (Kafka Streams suffixes it per thread); only
    // bench/compare's recovery variant sets it, to tell its restore from the session time-out.
    String instance = a.get("group-instance-id", "");
    if (!instance.isEmpty()) p.put(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG, instance);
    return p;
  }

  /** Creates `topic` with `partitions` partitions (delete policy) unless it exists. */
  static void createTopic(String bootstrap, String topic, int partitions) throws Exception {
    createTopic(bootstrap, topic, partitions, Map.of("cleanup.policy", "delete"));
  }

  static void createTopic(String bootstrap, String topic, int partitions, Map<String, String> configs)
      throws Exception {
    Properties p = new Properties();
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    try (Admin admin = Admin.create(p)) {
      NewTopic t = new NewTopic(topic, partitions, (short) 1).configs(configs);
      try {
        admin.createTopics(List.of(t)).all().get();
      } catch (ExecutionException e) {
        if (!(e.getCause() instanceof TopicExistsException)) throw e;
      }
    }
  }

  /** The sum over the stream threads of Kafka Streams' own "process-total" metric. */
  private static final class ProcessedCounter {
    private final KafkaStreams streams;
    private final int threads;
    private List<Metric> metrics = new ArrayList<>();

    ProcessedCounter(KafkaStreams streams, int threads) {
      this.streams = streams;
      this.threads = threads;
    }

    long get() {
      if (metrics.size() < threads) {  // threads register their metrics when they start
        List<Metric> found = new ArrayList<>();
        for (Map.Entry<MetricName, ? extends Metric> e : streams.metrics().entrySet()) {
          MetricName n = e.getKey();
          if (n.name().equals("process-total") && n.group().equals("stream-thread-metrics")) {
            found.add(e.getValue());
          }
        }
        metrics = found;
      }
      double sum = 0;
      for (Metric m : metrics) sum += ((Number) m.metricValue()).doubleValue();
      return (long) sum;
    }
  }

  /**
   * Runs `topology` until it has processed `records` records, closes it, prints the result line
   * and (with --hold 1) waits for stdin to close. Exits non-zero on an application error or
   * time-out.
   */
  static void run(Args a, String mode, String applicationId, Topology topology) throws Exception {
    final long records = Long.parseLong(a.get("records"));
    final int threads = Integer.parseInt(a.get("threads", "1"));
    final long progressMs = Long.parseLong(a.get("progress-ms", "0"));
    final long timeoutMs = Long.parseLong(a.get("timeout-s", "600")) * 1000;
    final boolean hold = a.get("hold", "0").equals("1");
    // --state-dir: kept (recovery runs restart on it); otherwise a fresh temporary one.
    final String givenStateDir = a.get("state-dir", "");
    final Path stateDir = givenStateDir.isEmpty()
        ? Files.createTempDirectory("ks-bench-" + mode + "-")
        : Files.createDirectories(Path.of(givenStateDir));

    final long begin = System.nanoTime();
    final long deadline = begin + timeoutMs * 1_000_000L;
    long processed = 0;
    try (KafkaStreams streams =
        new KafkaStreams(topology, streamsProps(a, applicationId, stateDir))) {
      streams.start();
      ProcessedCounter counter = new ProcessedCounter(streams, threads);
      long nextProgress = begin + progressMs * 1_000_000L;
      while ((processed = counter.get()) < records) {
        KafkaStreams.State state = streams.state();
        if (state == KafkaStreams.State.ERROR || state == KafkaStreams.State.PENDING_ERROR) {
          die("application failed (state " + state + ")");
        }
        long now = System.nanoTime();
        if (now > deadline) die("time-out after " + processed + " records");
        if (progressMs > 0 && now >= nextProgress) {
          System.out.println("progress processed=" + processed);
          System.out.flush();
          nextProgress = now + progressMs * 1_000_000L;
        }
        Thread.sleep(5);
      }
      if (!streams.close(Duration.ofSeconds(120))) die("close() timed out");
      processed = counter.get();
    }
    final double seconds = (System.nanoTime() - begin) / 1e9;
    System.out.printf(
        "mode=%s records=%d seconds=%.3f records_per_s=%.0f%n",
        mode, processed, seconds, processed / seconds);
    System.out.flush();
    if (givenStateDir.isEmpty()) deleteRecursively(stateDir);
    if (hold) {
      InputStream in = System.in;
      byte[] buf = new byte[256];
      while (in.read(buf) >= 0) {
        // until the harness closes our stdin
      }
    }
  }

  /**
   * A consumer of raw bytes that reads committed records only and never commits (the tools
   * assign partitions themselves), with `extra` consumer settings on top.
   */
  static KafkaConsumer<byte[], byte[]> readCommittedConsumer(
      String bootstrap, Map<String, Object> extra) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    p.putAll(extra);
    return new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
  }

  /** Assigns every partition of `topic` to `consumer`; returns them. */
  static List<TopicPartition> assignAll(KafkaConsumer<?, ?> consumer, String topic) {
    List<TopicPartition> tps = new ArrayList<>();
    for (PartitionInfo info : consumer.partitionsFor(topic, ADMIN_TIMEOUT)) {
      tps.add(new TopicPartition(info.topic(), info.partition()));
    }
    consumer.assign(tps);
    return tps;
  }

  static void deleteRecursively(Path dir) throws IOException {
    if (!Files.exists(dir)) return;
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
    }
  }

  static void die(String what) {
    System.err.println("kstreams bench: " + what);
    System.exit(1);
  }
}
