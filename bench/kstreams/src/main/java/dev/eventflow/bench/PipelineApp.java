package dev.eventflow.bench;

import dev.eventflow.bench.Events.Decoded;
import dev.eventflow.bench.Events.Order;
import dev.eventflow.bench.Events.ProductView;
import dev.eventflow.bench.PipelineSerdes.AttributionRow;
import dev.eventflow.bench.PipelineSerdes.FunnelCounts;
import dev.eventflow.bench.PipelineSerdes.FunnelRow;
import dev.eventflow.bench.PipelineSerdes.RevenueAggregate;
import dev.eventflow.bench.PipelineSerdes.RevenueRow;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.apache.kafka.streams.kstream.Branched;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.EmitStrategy;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.JoinWindows;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.KTable;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.StreamJoined;
import org.apache.kafka.streams.kstream.Suppressed;
import org.apache.kafka.streams.kstream.TimeWindowedKStream;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.kstream.ValueJoiner;
import org.apache.kafka.streams.kstream.Windowed;
import org.apache.kafka.streams.kstream.WindowedSerdes;
import org.apache.kafka.streams.processor.TimestampExtractor;
import org.apache.kafka.streams.processor.api.FixedKeyProcessor;
import org.apache.kafka.streams.processor.api.FixedKeyProcessorContext;
import org.apache.kafka.streams.processor.api.FixedKeyRecord;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.WindowStore;

/**
 * The whole EventFlow pipeline topology (`eventflow run --topology eventflow`, see
 * topologies/include/eventflow/topologies/pipeline.h) in the Kafka Streams DSL, for
 * bench/compare: the same input topics, the same four output topics with the same keys and
 * JSON values, the same windows (tumbling 5 min, epoch-aligned, 10 min grace), emit mode and
 * dead-letter topic.
 *
 * <pre>
 *   product-view, orders   key userId, JSON values; event time = the payload's timestamp
 *   orders_raw                  every order, key {"order_id"}
 *   revenue_by_currency_5min    orders re-keyed by currency (repartition
 *                               "&lt;app&gt;-revenue-by-currency-repartition"), windowed aggregate
 *   conversion_funnel_5min      windowed view count and order count per user, KTable-KTable
 *                               full outer join (a missing side counts 0)
 *   order_attribution           orders and views re-keyed by (userId, productId), KStream-KStream
 *                               join of each order with the views in [t - 5 min, t] (grace
 *                               10 min), re-keyed by orderId and aggregated per order
 *   &lt;app&gt;-dlq                   records the decoder rejects (Events), records whose key is not
 *                               the payload's userId and records more than 24 h ahead of the
 *                               wall clock: key and value unchanged, headers eventflow.error,
 *                               eventflow.error.stage, eventflow.source.topic/partition/offset
 * </pre>
 *
 * Emit modes (--emit): update (default; every window update, merged by the record cache) or
 * final (revenue with EmitStrategy.onWindowClose(); the funnel's counts on update and the
 * joined table through suppress(untilWindowCloses), as EventFlow does).
 *
 * <p>Bad records: the value deserializer never throws; it yields a {@link Decoded} that is
 * either an event or the raw bytes and the reason. The timestamp extractor returns the payload's
 * event time, or for a rejected record the partition time (so that a bad record moves no stream
 * time, as in EventFlow); split() sends rejected records to the dead-letter topic inside the
 * topology (so under exactly-once they are written in the same transaction as the outputs).
 *
 * <p>Where the engines differ (Kafka Streams semantics, not this topology's): Kafka Streams'
 * stream time is per task and per processor (the largest timestamp seen), EventFlow's is per
 * input partition, and its repartition tasks follow the minimum of their upstream tasks'
 * watermarks. So the outputs are the same when every record is within grace of what each
 * engine has seen, which holds for live input and for a backlog whose upstream tasks do not
 * drift apart by more than the grace period (bench/kstreams/check-pipeline explains when
 * they do). EventFlow also writes changelog records with the wall-clock time; Kafka Streams
 * with the record's (event) time, so replayed old events in windowed changelogs are subject
 * to the broker's time retention (which only matters for restores).
 *
 * <p>Usage: PipelineApp --bootstrap-servers H:P [--application-id eventflow] [--topic-prefix P]
 * [--partitions 3] [--processing-guarantee exactly_once_v2|at_least_once] [--threads 1]
 * [--commit-interval-ms 0] [--emit update|final] [--state-dir DIR]. --commit-interval-ms 0 (the
 * default, as EventFlow's) leaves Kafka Streams' default (100 ms under exactly-once, 30 s under
 * at-least-once). Every other Kafka Streams setting is left at its default. Runs until SIGTERM
 * or SIGINT; prints "RUNNING" on stdout once the application is running.
 */
public final class PipelineApp {
  static final Duration WINDOW_SIZE = Duration.ofMinutes(5);
  static final Duration GRACE = Duration.ofMinutes(10);
  static final Duration ATTRIBUTION_WINDOW = Duration.ofMinutes(5);
  /** Records further ahead of the wall clock than this are dead-lettered (EventFlow's default). */
  static final long MAX_FUTURE_SKEW_MS = Duration.ofHours(24).toMillis();

  static final String ORDERS = "orders";
  static final String PRODUCT_VIEW = "product-view";
  static final String ORDERS_RAW = "orders_raw";
  static final String REVENUE = "revenue_by_currency_5min";
  static final String FUNNEL = "conversion_funnel_5min";
  static final String ATTRIBUTION = "order_attribution";
  static final List<String> INPUTS = List.of(PRODUCT_VIEW, ORDERS);
  static final List<String> OUTPUTS = List.of(ORDERS_RAW, REVENUE, FUNNEL, ATTRIBUTION);

  private PipelineApp() {}

  /** The dead-letter topic of an application, as EventFlow names it. */
  static String deadLetterTopic(String applicationId) {
    return applicationId + "-dlq";
  }

  // --- bad records ---------------------------------------------------------------------------

  /**
   * Event time from the payload. A record already rejected by the decoder, whose key is not its
   * userId, or that is more than 24 h ahead of the wall clock is marked bad and keeps the
   * partition's time (it moves no stream time; split() dead-letters it).
   */
  static final class EventTimeExtractor implements TimestampExtractor {
    @Override
    public long extract(ConsumerRecord<Object, Object> record, long partitionTime) {
      Decoded<?> d = (Decoded<?>) record.value();
      if (!d.isBad()) {
        if (!d.userId.equals(record.key())) {
          d.reject("timestamp", "record key \"" + record.key() + "\" differs from the payload's"
              + " userId \"" + d.userId + "\" (records are keyed by userId)");
        } else if (d.timestampMs > System.currentTimeMillis() + MAX_FUTURE_SKEW_MS) {
          d.reject("timestamp", "event time " + d.timestampMs
              + " is more than 24 h ahead of the wall clock");
        } else {
          return d.timestampMs;
        }
      }
      return Math.max(partitionTime, 0);
    }
  }

  /** A rejected record as it goes to the dead-letter topic: raw value, headers saying why. */
  static final class DeadLetter<T> implements FixedKeyProcessor<String, Decoded<T>, byte[]> {
    private FixedKeyProcessorContext<String, byte[]> context;

    @Override
    public void init(FixedKeyProcessorContext<String, byte[]> context) {
      this.context = context;
    }

    @Override
    public void process(FixedKeyRecord<String, Decoded<T>> record) {
      Decoded<T> d = record.value();
      Headers headers = new RecordHeaders(record.headers().toArray());
      headers.add("eventflow.error", bytes(d.error));
      headers.add("eventflow.error.stage", bytes(d.stage));
      Optional<RecordMetadata> source = context.recordMetadata();
      if (source.isPresent()) {
        headers.add("eventflow.source.topic", bytes(source.get().topic()));
        headers.add("eventflow.source.partition", bytes(Integer.toString(source.get().partition())));
        headers.add("eventflow.source.offset", bytes(Long.toString(source.get().offset())));
      }
      // Stamped with the wall clock, as EventFlow does: the topic's time retention counts from
      // when the record was dead-lettered (a replay of old events would otherwise be deleted
      // at the broker's next retention check).
      context.forward(
          record.withValue(d.raw).withHeaders(headers).withTimestamp(System.currentTimeMillis()));
    }

    private static byte[] bytes(String s) {
      return s.getBytes(StandardCharsets.UTF_8);
    }
  }

  /** The good records of an input stream; the bad ones go to the dead-letter topic. */
  private static <T> KStream<String, T> withoutBadRecords(
      KStream<String, Decoded<T>> input, String name, String dlqTopic) {
    Map<String, KStream<String, Decoded<T>>> branches =
        input
            .split(Named.as(name + "-"))
            .branch((key, value) -> value.isBad(), Branched.as("bad"))
            .defaultBranch(Branched.as("good"));
    branches
        .get(name + "-bad")
        .processValues(DeadLetter<T>::new, Named.as(name + "-dead-letter"))
        .to(dlqTopic, Produced.with(Serdes.String(), Serdes.ByteArray())
            .withName(name + "-dlq-sink"));
    return branches.get(name + "-good").mapValues(d -> d.event, Named.as(name + "-events"));
  }

  /** A serde for values that never leave their task (never serialized). */
  private static <T> Serde<T> unused(String what) {
    Serializer<T> s = (topic, v) -> {
      throw new UnsupportedOperationException(what + " values are never serialized");
    };
    Deserializer<T> d = (topic, b) -> {
      throw new UnsupportedOperationException(what + " values are never deserialized");
    };
    return Serdes.serdeFrom(s, d);
  }

  private static <T> Serde<Decoded<T>> inputSerde(Deserializer<Decoded<T>> deserializer) {
    Serializer<Decoded<T>> s = (topic, v) -> {
      throw new UnsupportedOperationException("input values are never serialized");
    };
    return Serdes.serdeFrom(s, deserializer);
  }

  // --- topology ------------------------------------------------------------------------------

  /** Builds the topology. */
  static Topology build(String prefix, String applicationId, boolean emitFinal) {
    final StreamsBuilder builder = new StreamsBuilder();
    final String dlq = deadLetterTopic(applicationId);
    final TimeWindows windows = TimeWindows.ofSizeAndGrace(WINDOW_SIZE, GRACE);

    final KStream<String, Order> orders =
        withoutBadRecords(
            builder.stream(
                prefix + ORDERS,
                Consumed.with(Serdes.String(), inputSerde(new Events.OrderDeserializer()))
                    .withTimestampExtractor(new EventTimeExtractor())
                    .withName("orders-source")),
            "orders",
            dlq);
    final KStream<String, ProductView> views =
        withoutBadRecords(
            builder.stream(
                prefix + PRODUCT_VIEW,
                Consumed.with(Serdes.String(), inputSerde(new Events.ProductViewDeserializer()))
                    .withTimestampExtractor(new EventTimeExtractor())
                    .withName("product-view-source")),
            "product-view",
            dlq);

    // orders_raw: every order, keyed by orderId.
    orders
        .map((userId, o) -> KeyValue.pair(o.orderId(), o), Named.as("orders-raw-key-by-order"))
        .to(prefix + ORDERS_RAW,
            Produced.with(PipelineSerdes.orderIdKey(), PipelineSerdes.ordersRawValue())
                .withName("orders-raw-sink"));

    // revenue_by_currency_5min
    TimeWindowedKStream<String, Long> revenueWindows =
        orders
            .map((userId, o) -> KeyValue.pair(o.currency(), o.priceCents()),
                Named.as("revenue-key-by-currency"))
            .groupByKey(Grouped.with("revenue-by-currency", Serdes.String(), Serdes.Long()))
            .windowedBy(windows);
    if (emitFinal) revenueWindows = revenueWindows.emitStrategy(EmitStrategy.onWindowClose());
    revenueWindows
        .aggregate(
            () -> new RevenueAggregate(0, 0),
            (currency, cents, agg) ->
                new RevenueAggregate(agg.totalCents() + cents, agg.orderCount() + 1),
            Named.as("revenue-aggregate"),
            Materialized.<String, RevenueAggregate, WindowStore<Bytes, byte[]>>as(
                    "revenue-by-currency-store")
                .withKeySerde(Serdes.String())
                .withValueSerde(PipelineSerdes.revenueAggregate()))
        .toStream(Named.as("revenue-to-stream"))
        .mapValues(
            (key, agg) -> agg == null
                ? null
                : new RevenueRow(key.window().start(), key.window().end(), key.key(), agg),
            Named.as("revenue-rows"))
        .to(prefix + REVENUE,
            Produced.with(PipelineSerdes.windowedKey("currency"), PipelineSerdes.revenueValue())
                .withName("revenue-sink"));

    // conversion_funnel_5min: the two windowed counts (always on update: the join looks the
    // other side up in its window store), full outer join; in final mode suppressed until
    // each window closes.
    KTable<Windowed<String>, Long> viewCounts =
        views
            .groupByKey(Grouped.with(Serdes.String(), PipelineApp.<ProductView>unused("view")))
            .windowedBy(windows)
            .count(Named.as("funnel-views-count"),
                Materialized.<String, Long, WindowStore<Bytes, byte[]>>as("funnel-views-store")
                    .withKeySerde(Serdes.String())
                    .withValueSerde(Serdes.Long()));
    KTable<Windowed<String>, Long> orderCounts =
        orders
            .groupByKey(Grouped.with(Serdes.String(), PipelineApp.<Order>unused("order")))
            .windowedBy(windows)
            .count(Named.as("funnel-orders-count"),
                Materialized.<String, Long, WindowStore<Bytes, byte[]>>as("funnel-orders-store")
                    .withKeySerde(Serdes.String())
                    .withValueSerde(Serdes.Long()));
    ValueJoiner<Long, Long, FunnelCounts> funnelJoiner =
        (v, o) -> new FunnelCounts(v == null ? 0 : v, o == null ? 0 : o);
    KTable<Windowed<String>, FunnelCounts> funnel;
    if (emitFinal) {
      funnel =
          viewCounts
              .outerJoin(orderCounts, funnelJoiner, Named.as("funnel-join"),
                  Materialized.<Windowed<String>, FunnelCounts, KeyValueStore<Bytes, byte[]>>as(
                          "funnel-join-store")
                      .withKeySerde(
                          WindowedSerdes.timeWindowedSerdeFrom(String.class, WINDOW_SIZE.toMillis()))
                      .withValueSerde(PipelineSerdes.funnelCounts()))
              .suppress(Suppressed.<Windowed<String>>untilWindowCloses(
                      Suppressed.BufferConfig.unbounded())
                  .withName("funnel-suppress"));
    } else {
      funnel = viewCounts.outerJoin(orderCounts, funnelJoiner, Named.as("funnel-join"));
    }
    funnel
        .toStream(Named.as("funnel-to-stream"))
        .mapValues(
            (key, c) -> c == null
                ? null
                : new FunnelRow(key.window().start(), key.window().end(), key.key(), c),
            Named.as("funnel-rows"))
        .to(prefix + FUNNEL,
            Produced.with(PipelineSerdes.windowedKey("user_id"), PipelineSerdes.funnelValue())
                .withName("funnel-sink"));

    // order_attribution: an order at t joins the same user's views of the product at
    // [t - 5 min, t] (before 5 min, after 0, grace 10 min); per order: the number of joined
    // views and the latest of their times.
    final Serde<AttributionRow> rowSerde = PipelineSerdes.attributionRow();
    KStream<String, AttributionRow> ordersByUserProduct =
        orders.map(
            (userId, o) -> KeyValue.pair(
                userProductKey(o.userId(), o.productId()),
                new AttributionRow(o.orderId(), o.userId(), o.productId(), o.timestampMs(), 0, -1)),
            Named.as("attribution-orders-by-user-product"));
    KStream<String, Long> viewTimesByUserProduct =
        views.map(
            (userId, v) -> KeyValue.pair(userProductKey(v.userId(), v.productId()), v.timestampMs()),
            Named.as("attribution-views-by-user-product"));
    ordersByUserProduct
        .join(
            viewTimesByUserProduct,
            (order, viewTime) -> new AttributionRow(order.orderId(), order.userId(),
                order.productId(), order.orderTime(), 1, viewTime),
            JoinWindows.ofTimeDifferenceAndGrace(ATTRIBUTION_WINDOW, GRACE).after(Duration.ZERO),
            StreamJoined.with(Serdes.String(), rowSerde, Serdes.Long())
                .withName("attribution-join")
                .withStoreName("attribution-join"))
        .selectKey((key, pair) -> pair.orderId(), Named.as("attribution-key-by-order"))
        .groupByKey(Grouped.with("attribution-by-order", Serdes.String(), rowSerde))
        .aggregate(
            () -> new AttributionRow("", "", "", 0, 0, -1),
            (orderId, pair, agg) -> new AttributionRow(pair.orderId(), pair.userId(),
                pair.productId(), pair.orderTime(), agg.views() + 1,
                Math.max(agg.lastViewTime(), pair.lastViewTime())),
            Named.as("attribution-aggregate"),
            Materialized.<String, AttributionRow, KeyValueStore<Bytes, byte[]>>as(
                    "attribution-store")
                .withKeySerde(Serdes.String())
                .withValueSerde(rowSerde))
        .toStream(Named.as("attribution-to-stream"))
        .to(prefix + ATTRIBUTION,
            Produced.with(PipelineSerdes.orderIdKey(), PipelineSerdes.attributionValue())
                .withName("attribution-sink"));

    return builder.build();
  }

  /** userId NUL productId (ids never contain NUL: the decoder rejects it). */
  static String userProductKey(String userId, String productId) {
    return userId + '\0' + productId;
  }

  // --- main ----------------------------------------------------------------------------------

  /** Creates the missing input and output topics (retention.ms -1) and the dead-letter topic. */
  static void ensureTopics(String bootstrap, String prefix, String applicationId, int partitions)
      throws Exception {
    Properties p = new Properties();
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    try (Admin admin = Admin.create(p)) {
      Set<String> existing = admin.listTopics().names().get();
      List<NewTopic> missing = new ArrayList<>();
      List<String> names = new ArrayList<>();
      for (String t : INPUTS) names.add(prefix + t);
      for (String t : OUTPUTS) names.add(prefix + t);
      for (String name : names) {
        if (!existing.contains(name)) {
          missing.add(new NewTopic(name, Optional.of(partitions), Optional.empty())
              .configs(Map.of("retention.ms", "-1")));
        }
      }
      String dlq = deadLetterTopic(applicationId);
      if (!existing.contains(dlq)) {
        missing.add(new NewTopic(dlq, Optional.of(1), Optional.empty())
            .configs(Map.of("cleanup.policy", "delete")));
      }
      if (!missing.isEmpty()) {
        try {
          admin.createTopics(missing).all().get();
        } catch (java.util.concurrent.ExecutionException e) {
          if (!(e.getCause()
              instanceof org.apache.kafka.common.errors.TopicExistsException)) {
            throw e;
          }
        }
      }
    }
  }

  public static void main(String[] argv) throws Exception {
    Args args = new Args(argv);
    String bootstrap = args.get("bootstrap-servers");
    String applicationId = args.get("application-id", "eventflow");
    String prefix = args.get("topic-prefix", "");
    int partitions = Integer.parseInt(args.get("partitions", "3"));
    String guarantee = args.get("processing-guarantee", "exactly_once_v2");
    if (!guarantee.equals("exactly_once_v2") && !guarantee.equals("at_least_once")) {
      throw new IllegalArgumentException(
          "--processing-guarantee: expected exactly_once_v2 or at_least_once, got " + guarantee);
    }
    int threads = Integer.parseInt(args.get("threads", "1"));
    long commitMs = Long.parseLong(args.get("commit-interval-ms", "0"));
    String emit = args.get("emit", "update");
    if (!emit.equals("update") && !emit.equals("final")) {
      throw new IllegalArgumentException("--emit: expected update or final, got " + emit);
    }

    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, applicationId);
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, guarantee);
    props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, threads);
    if (commitMs > 0) props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, commitMs);
    String stateDir = args.get("state-dir", null);
    if (stateDir != null) props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir);

    ensureTopics(bootstrap, prefix, applicationId, partitions);
    Topology topology = build(prefix, applicationId, emit.equals("final"));
    KafkaStreams streams = new KafkaStreams(topology, props);
    CountDownLatch stopped = new CountDownLatch(1);
    int[] exitCode = {0};
    streams.setUncaughtExceptionHandler(e -> {
      System.err.println("PipelineApp: stream thread failed: " + e);
      exitCode[0] = 1;
      return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
    });
    streams.setStateListener((now, before) -> {
      if (now == KafkaStreams.State.RUNNING) {
        System.out.println("RUNNING");
        System.out.flush();
      }
      if (now == KafkaStreams.State.ERROR || now == KafkaStreams.State.NOT_RUNNING) {
        stopped.countDown();
      }
    });
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      streams.close(Duration.ofSeconds(30));
      stopped.countDown();
    }));
    streams.start();
    stopped.await();
    streams.close(Duration.ofSeconds(30));
    System.exit(exitCode[0]);
  }
}
