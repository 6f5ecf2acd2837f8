package dev.eventflow.bench;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;

/**
 * For bench/compare's recovery runs: waits for the first record of a windowed count's output
 * topic (time-windowed key: key bytes, then the window start as 8 bytes big-endian) whose
 * window starts at or after --min-window-start (epoch ms), reading read_committed from the
 * topic's end at the time it starts. Prints "ready" once positioned, then
 * "first_output_epoch_ms=T" (the wall clock when that record arrived) and exits 0; exits 1
 * after --timeout-s.
 *
 * <p>Usage: FirstOutput --bootstrap HOST:PORT --topic T --min-window-start MS [--timeout-s 600]
 */
public final class FirstOutput {
  private FirstOutput() {}

  public static void main(String[] argv) throws Exception {
    Args a = new Args(argv);
    final long minStart = Long.parseLong(a.get("min-window-start"));
    final long deadline =
        System.nanoTime() + Long.parseLong(a.get("timeout-s", "600")) * 1_000_000_000L;
    try (KafkaConsumer<byte[], byte[]> c = Harness.readCommittedConsumer(
        a.get("bootstrap"), Map.of(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, "10"))) {
      List<TopicPartition> tps = Harness.assignAll(c, a.get("topic"));
      c.seekToEnd(tps);
      for (TopicPartition tp : tps) c.position(tp);  // resolve the end offsets now
      System.out.println("ready");
      System.out.flush();
      while (System.nanoTime() < deadline) {
        for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(20))) {
          byte[] k = r.key();
          if (k == null || k.length < 8) continue;
          if (ByteBuffer.wrap(k, k.length - 8, 8).getLong() >= minStart) {
            System.out.println("first_output_epoch_ms=" + System.currentTimeMillis());
            return;
          }
        }
      }
    }
    Harness.die("first output: none within the time-out");
  }
}
