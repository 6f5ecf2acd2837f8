package dev.eventflow.bench;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * End-to-end latency of bench/compare: produces --records pass-through-shaped records (the
 * values of eventflow-bench-passthrough's preload, 1000 keys, a fixed seed) at --rate records/s
 * into --input, each stamped with the wall clock when it is sent (CreateTime), and reads
 * --output with a read_committed consumer, recording for every output record the wall clock at
 * its arrival minus its timestamp (the engines carry the input timestamp over). Records sent
 * in the first --warmup-s seconds are left out. Prints one line:
 *
 * <pre>latency sent=N received=M measured=K p50_ms=.. p90_ms=.. p99_ms=.. p999_ms=.. max_ms=.. achieved_rate=..</pre>
 *
 * <p>Usage: LatencyProbe --bootstrap HOST:PORT --input T --output T --rate R --records N
 * [--warmup-s 5] [--timeout-s 300]
 */
public final class LatencyProbe {
  private LatencyProbe() {}

  public static void main(String[] argv) throws Exception {
    Args a = new Args(argv);
    final String bootstrap = a.get("bootstrap");
    final String input = a.get("input");
    final String output = a.get("output");
    final double rate = Double.parseDouble(a.get("rate"));
    final long records = Long.parseLong(a.get("records"));
    final long warmupMs = Long.parseLong(a.get("warmup-s", "5")) * 1000;
    final long timeoutMs = Long.parseLong(a.get("timeout-s", "300")) * 1000;

    final long[] histogram = new long[60_001];  // ms, the last bucket: ≥ 60 s
    final AtomicLong received = new AtomicLong();
    final long startWall = System.currentTimeMillis();
    final long measureFrom = startWall + warmupMs;
    final long deadline = System.nanoTime() + timeoutMs * 1_000_000L;

    Thread reader = new Thread(() -> {
      try (KafkaConsumer<byte[], byte[]> c = Harness.readCommittedConsumer(
          bootstrap, Map.of(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, "10"))) {
        List<TopicPartition> tps = Harness.assignAll(c, output);
        c.seekToBeginning(tps);
        while (received.get() < records && System.nanoTime() < deadline) {
          for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(100))) {
            long now = System.currentTimeMillis();
            received.incrementAndGet();
            if (r.timestamp() < measureFrom) continue;
            long l = Math.max(0, now - r.timestamp());
            histogram[(int) Math.min(l, histogram.length - 1)]++;
          }
        }
      }
    });
    reader.start();

    // The records are made up front (the pass-through preload's shape, 1000 keys, a fixed
    // seed) and sent in turn, so that the probe's own CPU per record stays small.
    final int pool = 1 << 16;
    final byte[][] keys = new byte[pool][];
    final byte[][] values = new byte[pool][];
    final String[] types = {"page_view", "add_to_cart", "purchase", "search"};
    final String[] currencies = {"EUR", "USD", "GBP"};
    long state = 42;
    for (int i = 0; i < pool; ++i) {
      state ^= state << 13;
      state ^= state >>> 7;
      state ^= state << 17;
      long r = state;
      String key = String.format("user-%04d", Long.remainderUnsigned(r, 1000));
      keys[i] = key.getBytes(StandardCharsets.UTF_8);
      values[i] = String.format(
              "{\"eventId\":\"e-%010d\",\"userId\":\"%s\",\"type\":\"%s\",\"productId\":\"p-%05d\","
                  + "\"price\":%d.%02d,\"currency\":\"%s\",\"session\":\"s-%08x\",\"ts\":%d}",
              i, key, types[(int) ((r >>> 10) % 4)], (r >>> 12) % 100000, (r >>> 30) % 500,
              (r >>> 40) % 100, currencies[(int) ((r >>> 50) % 3)], r >>> 32, 1_700_000_000_000L + i)
          .getBytes(StandardCharsets.UTF_8);
    }

    Properties pp = new Properties();
    pp.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    pp.put(ProducerConfig.LINGER_MS_CONFIG, "1");
    pp.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4");
    long sent = 0;
    final long t0 = System.nanoTime();
    try (KafkaProducer<byte[], byte[]> producer =
        new KafkaProducer<>(pp, new ByteArraySerializer(), new ByteArraySerializer())) {
      while (sent < records) {
        // Records due by now at --rate; sleep 1 ms between bursts.
        long due = Math.min(records, (long) ((System.nanoTime() - t0) / 1e9 * rate) + 1);
        long now = System.currentTimeMillis();
        while (sent < due) {
          int i = (int) (sent % pool);
          producer.send(new ProducerRecord<>(input, null, now, keys[i], values[i]));
          ++sent;
        }
        if (System.nanoTime() > deadline) break;
        Thread.sleep(1);
      }
    }
    final double sendSeconds = (System.nanoTime() - t0) / 1e9;
    reader.join(Math.max(1, (deadline - System.nanoTime()) / 1_000_000L));
    if (reader.isAlive()) Harness.die("latency probe: reader did not finish");

    long measured = 0;
    for (long n : histogram) measured += n;
    System.out.printf(
        "latency sent=%d received=%d measured=%d p50_ms=%d p90_ms=%d p99_ms=%d p999_ms=%d max_ms=%d achieved_rate=%.0f%n",
        sent, received.get(), measured, pct(histogram, measured, 0.50), pct(histogram, measured, 0.90),
        pct(histogram, measured, 0.99), pct(histogram, measured, 0.999), pct(histogram, measured, 1.0),
        sent / sendSeconds);
  }

  static long pct(long[] h, long n, double q) {
    if (n == 0) return -1;
    long rank = Math.max(1, (long) Math.ceil(q * n));
    long acc = 0;
    for (int i = 0; i < h.length; ++i) {
      acc += h[i];
      if (acc >= rank) return i;
    }
    return h.length - 1;
  }
}
