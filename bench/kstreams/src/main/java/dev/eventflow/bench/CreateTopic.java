package dev.eventflow.bench;

/**
 * Creates a topic (delete policy) unless it exists, for bench/compare's live runs.
 *
 * <p>Usage: CreateTopic --bootstrap HOST:PORT --topic T --partitions P
 */
public final class CreateTopic {
  private CreateTopic() {}

  public static void main(String[] argv) throws Exception {
    Args a = new Args(argv);
    Harness.createTopic(a.get("bootstrap"), a.get("topic"), Integer.parseInt(a.get("partitions")));
  }
}
