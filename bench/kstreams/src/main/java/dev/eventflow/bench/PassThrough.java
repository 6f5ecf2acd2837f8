package dev.eventflow.bench;

import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;

/**
 * The stateless pass-through of eventflow-bench-passthrough's app modes (alos/eos) in Kafka
 * Streams: source (key bytes, value string) → processor upper-casing the value of the "type"
 * field → sink, into a fresh output topic with the input's partition count.
 *
 * <p>Usage: PassThrough --bootstrap HOST:PORT --input TOPIC --output TOPIC --partitions P
 * --records N --application-id ID [--guarantee exactly_once_v2|at_least_once] [--threads 1]
 * [--commit-interval-ms 100] [--progress-ms 0] [--hold 0] [--timeout-s 600]
 */
public final class PassThrough {
  private PassThrough() {}

  /** eventflow-bench-passthrough's MapValue: upper-case (ASCII) the value of "type". */
  static String mapValue(String value) {
    final String field = "\"type\":\"";
    int at = value.indexOf(field);
    if (at < 0) return value;
    char[] c = value.toCharArray();
    for (int i = at + field.length(); i < c.length && c[i] != '"'; ++i) {
      if (c[i] >= 'a' && c[i] <= 'z') c[i] = (char) (c[i] - ('a' - 'A'));
    }
    return new String(c);
  }

  private static final class MapValueProcessor implements Processor<byte[], String, byte[], String> {
    private ProcessorContext<byte[], String> context;

    @Override
    public void init(ProcessorContext<byte[], String> context) {
      this.context = context;
    }

    @Override
    public void process(Record<byte[], String> record) {
      context.forward(record.withValue(mapValue(record.value())));
    }
  }

  public static void main(String[] argv) throws Exception {
    Args a = new Args(argv);
    String input = a.get("input");
    String output = a.get("output");
    Harness.createTopic(a.get("bootstrap"), output, Integer.parseInt(a.get("partitions")));

    Topology topology = new Topology();
    topology.addSource(
        "in", Serdes.ByteArray().deserializer(), Serdes.String().deserializer(), input);
    topology.addProcessor("map", MapValueProcessor::new, "in");
    topology.addSink(
        "out", output, Serdes.ByteArray().serializer(), Serdes.String().serializer(), "map");
    Harness.run(a, "ks-passthrough", a.get("application-id"), topology);
  }
}
