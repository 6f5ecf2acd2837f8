package dev.eventflow.bench;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.LocalDate;
import java.util.Set;
import org.apache.kafka.common.serialization.Deserializer;

/**
 * The pipeline's input events (DESIGN.md, "The EventFlow pipeline (data contract)") and their
 * strict JSON decoder: the same accept/reject decisions as EventFlow's EventDecoder
 * (core/include/eventflow/core/event_codec.h), so that the same records are dead-lettered:
 *
 * <ul>
 *   <li>one JSON object in valid UTF-8, nothing after it; unknown fields of any JSON type,
 *       nested at most 64 levels deep;
 *   <li>every field of the eventType present exactly once with its JSON type (duplicates of
 *       fields the eventType does not use are ignored, like unknown fields);
 *   <li>eventType one of LOGIN, LOGOUT, SIGNUP, VIEW, ORDER and belonging to the topic;
 *   <li>orderId, userId, productId: non-empty strings of at most 256 UTF-8 bytes without NUL;
 *   <li>category and currency: one of the contract's names (case-sensitive);
 *   <li>price: a plain JSON decimal (no exponent), not negative, at most two non-zero decimals,
 *       at most 9999999999.99;
 *   <li>timestamp: YYYY-MM-DD('T'|'t')hh:mm:ss[.1-9 digits]('Z'|'z'), 1970..9999, a real date,
 *       no leap second; the fraction truncated to milliseconds.
 * </ul>
 *
 * Decoding never throws: a rejected record becomes a {@link Decoded} holding its raw bytes and
 * the reason, which the topology routes to the dead-letter topic.
 */
final class Events {
  private Events() {}

  /** An order (eventType ORDER); price in hundredths of the currency. */
  record Order(
      String orderId,
      String userId,
      String productId,
      long priceCents,
      String currency,
      long timestampMs) {}

  /** A product view (eventType VIEW). */
  record ProductView(String userId, String productId, String category, long timestampMs) {}

  /** A decoded input value: the event, or the raw bytes and why they were rejected. */
  static final class Decoded<T> {
    final T event;
    final long timestampMs;
    final String userId;
    final byte[] raw; // the value as read (dead-lettered when the record is rejected)
    String error; // null while the record is good
    String stage;

    private Decoded(T event, long timestampMs, String userId, byte[] raw, String error) {
      this.event = event;
      this.timestampMs = timestampMs;
      this.userId = userId;
      this.raw = raw;
      this.error = error;
      this.stage = error == null ? null : "deserialization";
    }

    static <T> Decoded<T> good(T event, long timestampMs, String userId, byte[] raw) {
      return new Decoded<>(event, timestampMs, userId, raw, null);
    }

    static <T> Decoded<T> bad(byte[] raw, String error) {
      return new Decoded<>(null, -1, null, raw, error);
    }

    boolean isBad() {
      return error != null;
    }

    /** Marks a decoded record bad at a later stage (the timestamp extractor's checks). */
    void reject(String stage, String error) {
      this.stage = stage;
      this.error = error;
    }
  }

  static final Set<String> CATEGORIES =
      Set.of("electronics", "clothing", "books", "home", "sports", "toys");
  static final Set<String> CURRENCIES = Set.of("USD", "EUR", "GBP", "JPY", "INR");
  static final int MAX_ID_BYTES = 256;
  static final int MAX_UNKNOWN_NESTING = 64;

  private static final JsonFactory FACTORY =
      JsonFactory.builder()
          .streamReadConstraints(
              StreamReadConstraints.builder()
                  .maxNumberLength(Integer.MAX_VALUE)
                  .maxNameLength(Integer.MAX_VALUE)
                  .maxStringLength(Integer.MAX_VALUE)
                  .build())
          .build();

  // Field ids (bit positions).
  private static final int EVENT_TYPE = 0;
  private static final int USER_ID = 1;
  private static final int PRODUCT_ID = 2;
  private static final int CATEGORY = 3;
  private static final int ORDER_ID = 4;
  private static final int PRICE = 5;
  private static final int CURRENCY = 6;
  private static final int TIMESTAMP = 7;
  private static final String[] NAMES = {
    "eventType", "userId", "productId", "category", "orderId", "price", "currency", "timestamp"
  };

  private static int fieldId(String name) {
    switch (name) {
      case "eventType":
        return EVENT_TYPE;
      case "userId":
        return USER_ID;
      case "productId":
        return PRODUCT_ID;
      case "category":
        return CATEGORY;
      case "orderId":
        return ORDER_ID;
      case "price":
        return PRICE;
      case "currency":
        return CURRENCY;
      case "timestamp":
        return TIMESTAMP;
      default:
        return -1;
    }
  }

  /** A rejected record's reason, thrown inside the decoder only. */
  private static final class Reject extends Exception {
    Reject(String message) {
      super(message, null, false, false);
    }
  }

  /** The contract's fields of one scanned record. */
  private static final class Scan {
    final String[] text = new String[NAMES.length];
    final JsonToken[] type = new JsonToken[NAMES.length];
    int present;
    int duplicated;

    String string(int id) throws Reject {
      JsonToken t = slot(id);
      if (t != JsonToken.VALUE_STRING) {
        throw new Reject("field \"" + NAMES[id] + "\": expected a string, got " + typeName(t));
      }
      return text[id];
    }

    JsonToken slot(int id) throws Reject {
      int bit = 1 << id;
      if ((present & bit) == 0) throw new Reject("missing required field \"" + NAMES[id] + "\"");
      if ((duplicated & bit) != 0) throw new Reject("field \"" + NAMES[id] + "\" appears twice");
      return type[id];
    }

    String id(int id) throws Reject {
      String v = string(id);
      if (v.isEmpty()) throw new Reject("field \"" + NAMES[id] + "\": must not be empty");
      if (utf8Length(v) > MAX_ID_BYTES) {
        throw new Reject("field \"" + NAMES[id] + "\": longer than " + MAX_ID_BYTES + " bytes");
      }
      if (v.indexOf('\0') >= 0) throw new Reject("field \"" + NAMES[id] + "\": contains NUL");
      return v;
    }

    String oneOf(int id, Set<String> names) throws Reject {
      String v = string(id);
      if (!names.contains(v)) throw new Reject("field \"" + NAMES[id] + "\": unknown " + v);
      return v;
    }

    long timestamp() throws Reject {
      return parseTimestampMillis(string(TIMESTAMP));
    }

    void eventType(String expected) throws Reject {
      String v = string(EVENT_TYPE);
      switch (v) {
        case "LOGIN", "LOGOUT", "SIGNUP", "VIEW", "ORDER" -> {}
        default -> throw new Reject("field \"eventType\": unknown eventType \"" + v + "\"");
      }
      if (!v.equals(expected)) {
        throw new Reject("field \"eventType\": eventType \"" + v + "\" does not belong here");
      }
    }

    long priceCents() throws Reject {
      JsonToken t = slot(PRICE);
      if (t != JsonToken.VALUE_NUMBER_INT && t != JsonToken.VALUE_NUMBER_FLOAT) {
        throw new Reject("field \"price\": expected a number, got " + typeName(t));
      }
      return parsePriceCents(text[PRICE]);
    }
  }

  private static String typeName(JsonToken t) {
    return switch (t) {
      case START_OBJECT -> "object";
      case START_ARRAY -> "array";
      case VALUE_STRING -> "string";
      case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> "number";
      case VALUE_TRUE, VALUE_FALSE -> "boolean";
      default -> "null";
    };
  }

  /** Decodes an orders value. */
  static Decoded<Order> decodeOrder(byte[] data) {
    if (data == null) return Decoded.bad(null, "orders record without a value (Kafka null)");
    try {
      Scan s = scan(data);
      s.eventType("ORDER");
      Order o =
          new Order(
              s.id(ORDER_ID),
              s.id(USER_ID),
              s.id(PRODUCT_ID),
              s.priceCents(),
              s.oneOf(CURRENCY, CURRENCIES),
              s.timestamp());
      return Decoded.good(o, o.timestampMs(), o.userId(), data);
    } catch (Reject r) {
      return Decoded.bad(data, "invalid ORDER event: " + r.getMessage());
    }
  }

  /** Decodes a product-view value. */
  static Decoded<ProductView> decodeView(byte[] data) {
    if (data == null) return Decoded.bad(null, "product-view record without a value (Kafka null)");
    try {
      Scan s = scan(data);
      s.eventType("VIEW");
      ProductView v =
          new ProductView(
              s.id(USER_ID), s.id(PRODUCT_ID), s.oneOf(CATEGORY, CATEGORIES), s.timestamp());
      return Decoded.good(v, v.timestampMs(), v.userId(), data);
    } catch (Reject r) {
      return Decoded.bad(data, "invalid VIEW event: " + r.getMessage());
    }
  }

  /** Kafka deserializers of the two input topics (never throw). */
  static final class OrderDeserializer implements Deserializer<Decoded<Order>> {
    @Override
    public Decoded<Order> deserialize(String topic, byte[] data) {
      return decodeOrder(data);
    }
  }

  static final class ProductViewDeserializer implements Deserializer<Decoded<ProductView>> {
    @Override
    public Decoded<ProductView> deserialize(String topic, byte[] data) {
      return decodeView(data);
    }
  }

  // --- scanning ------------------------------------------------------------------------------

  private static Scan scan(byte[] data) throws Reject {
    if (data.length == 0) throw new Reject("empty input; expected a JSON object");
    checkUtf8(data);
    Scan s = new Scan();
    try (JsonParser p = FACTORY.createParser(data)) {
      if (p.nextToken() != JsonToken.START_OBJECT) throw new Reject("expected a JSON object");
      JsonToken t;
      while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        checkSurrogates(name);
        int id = fieldId(name);
        JsonToken value = p.nextToken();
        int bit = id < 0 ? 0 : 1 << id;
        if (id < 0 || (s.present & bit) != 0) {
          s.duplicated |= bit;
          checkValue(p, value, 1);
          continue;
        }
        s.present |= bit;
        s.type[id] = value;
        if (value == JsonToken.VALUE_STRING) {
          String text = p.getText();
          checkSurrogates(text);
          s.text[id] = text;
        } else if (value == JsonToken.VALUE_NUMBER_INT || value == JsonToken.VALUE_NUMBER_FLOAT) {
          s.text[id] = p.getText();
        } else {
          checkValue(p, value, 1);
        }
      }
      if (t != JsonToken.END_OBJECT) throw new Reject("invalid JSON object");
      if (p.nextToken() != null) throw new Reject("trailing content after the JSON object");
    } catch (IOException e) {
      throw new Reject("invalid JSON: " + firstLine(e.getMessage()));
    }
    return s;
  }

  private static String firstLine(String m) {
    if (m == null) return "";
    int nl = m.indexOf('\n');
    return nl < 0 ? m : m.substring(0, nl);
  }

  // Walks a value that is not decoded: valid JSON (Jackson checks the syntax), strings with
  // valid escapes, arrays and objects at most MAX_UNKNOWN_NESTING deep.
  private static void checkValue(JsonParser p, JsonToken t, int depth)
      throws IOException, Reject {
    switch (t) {
      case START_OBJECT -> {
        if (depth > MAX_UNKNOWN_NESTING) throw new Reject("nested too deep");
        while (p.nextToken() == JsonToken.FIELD_NAME) {
          checkSurrogates(p.currentName());
          checkValue(p, p.nextToken(), depth + 1);
        }
      }
      case START_ARRAY -> {
        if (depth > MAX_UNKNOWN_NESTING) throw new Reject("nested too deep");
        JsonToken e;
        while ((e = p.nextToken()) != JsonToken.END_ARRAY) checkValue(p, e, depth + 1);
      }
      case VALUE_STRING -> checkSurrogates(p.getText());
      default -> {}
    }
  }

  // A lone UTF-16 surrogate can only come from a \\u escape (the bytes are valid UTF-8):
  // EventFlow's JSON parser (simdjson) rejects those escapes.
  private static void checkSurrogates(String s) throws Reject {
    for (int i = 0, n = s.length(); i < n; ++i) {
      char c = s.charAt(i);
      if (Character.isHighSurrogate(c)) {
        if (i + 1 < n && Character.isLowSurrogate(s.charAt(i + 1))) {
          ++i;
          continue;
        }
        throw new Reject("invalid JSON string (bad escape sequence)");
      }
      if (Character.isLowSurrogate(c)) throw new Reject("invalid JSON string (bad escape sequence)");
    }
  }

  // Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
  private static void checkUtf8(byte[] b) throws Reject {
    int i = 0;
    final int n = b.length;
    while (i < n) {
      int c = b[i] & 0xff;
      if (c < 0x80) {
        ++i;
        continue;
      }
      int need;
      int min;
      if (c >= 0xc2 && c <= 0xdf) {
        need = 1;
        min = 0x80;
      } else if (c >= 0xe0 && c <= 0xef) {
        need = 2;
        min = 0x800;
      } else if (c >= 0xf0 && c <= 0xf4) {
        need = 3;
        min = 0x10000;
      } else {
        throw new Reject("invalid UTF-8 at byte " + i);
      }
      if (i + need >= n) throw new Reject("truncated UTF-8 at byte " + i);
      int cp = c & (0x3f >> need);
      for (int k = 1; k <= need; ++k) {
        int d = b[i + k] & 0xff;
        if ((d & 0xc0) != 0x80) throw new Reject("invalid UTF-8 at byte " + (i + k));
        cp = (cp << 6) | (d & 0x3f);
      }
      if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        throw new Reject("invalid UTF-8 at byte " + i);
      }
      i += need + 1;
    }
  }

  static int utf8Length(String s) {
    int bytes = 0;
    for (int i = 0, n = s.length(); i < n; ++i) {
      char c = s.charAt(i);
      if (c < 0x80) {
        bytes += 1;
      } else if (c < 0x800) {
        bytes += 2;
      } else if (Character.isHighSurrogate(c)) {
        bytes += 4;
        ++i;
      } else {
        bytes += 3;
      }
    }
    return bytes;
  }

  // --- field rules ---------------------------------------------------------------------------

  /** The hundredths of a plain non-negative JSON decimal with at most two non-zero decimals. */
  static long parsePriceCents(String token) throws Reject {
    final boolean negative = token.charAt(0) == '-';
    int i = negative ? 1 : 0;
    final int n = token.length();
    final int intStart = i;
    while (i < n && isDigit(token.charAt(i))) ++i;
    final int intEnd = i;
    int fracStart = i;
    int fracEnd = i;
    if (i < n && token.charAt(i) == '.') {
      fracStart = ++i;
      while (i < n && isDigit(token.charAt(i))) ++i;
      fracEnd = i;
    }
    final boolean hasExponent = i < n;
    boolean zero = true;
    for (int k = intStart; k < intEnd && zero; ++k) zero = token.charAt(k) == '0';
    for (int k = fracStart; k < fracEnd && zero; ++k) zero = token.charAt(k) == '0';
    if (negative && !zero) throw new Reject("price " + token + " is negative");
    if (hasExponent) throw new Reject("price " + token + " is in exponent notation");
    if (intEnd - intStart > 10) throw new Reject("price " + token + " exceeds 9999999999.99");
    for (int k = fracStart + 2; k < fracEnd; ++k) {
      if (token.charAt(k) != '0') throw new Reject("price " + token + " has more than 2 decimals");
    }
    long value = 0;
    for (int k = intStart; k < intEnd; ++k) value = value * 10 + (token.charAt(k) - '0');
    for (int k = 0; k < 2; ++k) {
      int at = fracStart + k;
      value = value * 10 + (at < fracEnd ? token.charAt(at) - '0' : 0);
    }
    return value;
  }

  private static boolean isDigit(char c) {
    return c >= '0' && c <= '9';
  }

  private static int digits(String t, int pos, int count) throws Reject {
    int v = 0;
    for (int i = pos; i < pos + count; ++i) {
      if (i >= t.length() || !isDigit(t.charAt(i))) throw new Reject("invalid timestamp " + t);
      v = v * 10 + (t.charAt(i) - '0');
    }
    return v;
  }

  private static void expect(String t, int pos, char c) throws Reject {
    if (pos >= t.length() || t.charAt(pos) != c) throw new Reject("invalid timestamp " + t);
  }

  /** Epoch milliseconds of YYYY-MM-DD('T'|'t')hh:mm:ss[.f{1,9}]('Z'|'z'). */
  static long parseTimestampMillis(String t) throws Reject {
    int year = digits(t, 0, 4);
    if (year < 1970) throw new Reject("invalid timestamp " + t + ": before 1970");
    expect(t, 4, '-');
    int month = digits(t, 5, 2);
    if (month < 1 || month > 12) throw new Reject("invalid timestamp " + t);
    expect(t, 7, '-');
    int day = digits(t, 8, 2);
    if (day < 1 || day > LocalDate.of(year, month, 1).lengthOfMonth()) {
      throw new Reject("invalid timestamp " + t);
    }
    if (t.length() <= 10 || (t.charAt(10) != 'T' && t.charAt(10) != 't')) {
      throw new Reject("invalid timestamp " + t);
    }
    int hour = digits(t, 11, 2);
    if (hour > 23) throw new Reject("invalid timestamp " + t);
    expect(t, 13, ':');
    int minute = digits(t, 14, 2);
    if (minute > 59) throw new Reject("invalid timestamp " + t);
    expect(t, 16, ':');
    int second = digits(t, 17, 2);
    if (second > 59) throw new Reject("invalid timestamp " + t);
    int pos = 19;
    long millis = 0;
    if (pos < t.length() && t.charAt(pos) == '.') {
      final int first = ++pos;
      while (pos < t.length() && isDigit(t.charAt(pos))) {
        if (pos - first == 9) throw new Reject("invalid timestamp " + t + ": fraction too long");
        if (pos - first < 3) millis = millis * 10 + (t.charAt(pos) - '0');
        ++pos;
      }
      if (pos == first) throw new Reject("invalid timestamp " + t);
      for (int k = pos - first; k < 3; ++k) millis *= 10;
    }
    if (pos >= t.length()) throw new Reject("invalid timestamp " + t + ": no zone");
    char zone = t.charAt(pos);
    if (zone != 'Z' && zone != 'z') throw new Reject("invalid timestamp " + t + ": zone");
    if (pos + 1 != t.length()) throw new Reject("invalid timestamp " + t + ": trailing");
    long days = LocalDate.of(year, month, day).toEpochDay();
    return ((days * 24 + hour) * 60 + minute) * 60_000L + second * 1000L + millis;
  }

  static byte[] utf8(String s) {
    return s == null ? null : s.getBytes(StandardCharsets.UTF_8);
  }
}
