package dev.eventflow.bench;

import java.time.Duration;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.EmitStrategy;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.kstream.WindowedSerdes;
import org.apache.kafka.streams.state.WindowStore;

/**
 * The windowed count of eventflow-bench-windowed-count (modes update/close) in Kafka Streams:
 * source (string key and value) → groupByKey → 1-minute tumbling windows with 10 s grace →
 * count() into a window store named "counts" (RocksDB, changelogged, cached: Kafka Streams'
 * defaults) → toStream → sink (time-windowed string key: the key's bytes then the window start
 * as 8 bytes big-endian; the count as a long), emitting on update (--emit update, the default)
 * or on window close (--emit close).
 *
 * <p>Usage: WindowedCount --bootstrap HOST:PORT --input TOPIC --output TOPIC --partitions P
 * --records N --application-id ID [--emit update|close] [--guarantee exactly_once_v2|at_least_once]
 * [--threads 1] [--commit-interval-ms 100] [--progress-ms 0] [--hold 0] [--timeout-s 600]
 */
public final class WindowedCount {
  private WindowedCount() {}

  static final Duration WINDOW = Duration.ofMinutes(1);
  static final Duration GRACE = Duration.ofSeconds(10);

  public static void main(String[] argv) throws Exception {
    Args a = new Args(argv);
    String output = a.get("output");
    String emit = a.get("emit", "update");
    if (!emit.equals("update") && !emit.equals("close")) Harness.die("--emit must be update or close");
    Harness.createTopic(a.get("bootstrap"), output, Integer.parseInt(a.get("partitions")));

    StreamsBuilder builder = new StreamsBuilder();
    builder.stream(a.get("input"), Consumed.with(Serdes.String(), Serdes.String()))
        .groupByKey()
        .windowedBy(TimeWindows.ofSizeAndGrace(WINDOW, GRACE))
        .emitStrategy(emit.equals("close") ? EmitStrategy.onWindowClose() : EmitStrategy.onWindowUpdate())
        .count(Materialized.<String, Long, WindowStore<Bytes, byte[]>>as("counts"))
        .toStream()
        .to(
            output,
            Produced.with(
                WindowedSerdes.timeWindowedSerdeFrom(String.class, WINDOW.toMillis()),
                Serdes.Long()));
    Harness.run(a, "ks-windowed-" + emit, a.get("application-id"), builder.build());
  }
}
