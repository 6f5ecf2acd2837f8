package dev.eventflow.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;

/**
 * Topic housekeeping for bench/compare: creates a topic (delete policy) unless it exists,
 * and/or deletes every topic whose name starts with one of the given prefixes (the outputs
 * and internal topics of finished runs).
 *
 * --retention-ms -1 keeps the created topic's records forever (records with old event times,
 * as the pipeline's generated input has, are otherwise deleted by the broker's retention).
 *
 * <p>Usage: Topics --bootstrap HOST:PORT [--create T --partitions P [--retention-ms MS]]
 * [--delete-prefixes P1,P2,...]
 */
public final class Topics {
  private Topics() {}

  public static void main(String[] argv) throws Exception {
    Args a = new Args(argv);
    String bootstrap = a.get("bootstrap");
    String create = a.get("create", "");
    if (!create.isEmpty()) {
      String retention = a.get("retention-ms", "");
      Harness.createTopic(bootstrap, create, Integer.parseInt(a.get("partitions")),
          retention.isEmpty()
              ? java.util.Map.of("cleanup.policy", "delete")
              : java.util.Map.of("cleanup.policy", "delete", "retention.ms", retention));
    }
    String prefixes = a.get("delete-prefixes", "");
    if (!prefixes.isEmpty()) deleteByPrefix(bootstrap, prefixes.split(","));
  }

  static void deleteByPrefix(String bootstrap, String[] prefixes) throws Exception {
    Properties p = new Properties();
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    try (Admin admin = Admin.create(p)) {
      List<String> doomed = new ArrayList<>();
      for (String t : admin.listTopics().names().get()) {
        for (String pre : prefixes) {
          if (!pre.isEmpty() && t.startsWith(pre)) {
            doomed.add(t);
            break;
          }
        }
      }
      if (!doomed.isEmpty()) admin.deleteTopics(doomed).all().get();
    }
  }
}
