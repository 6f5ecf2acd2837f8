#!/usr/bin/env python3
"""Writes the hand-made input records of bench/kstreams/check-pipeline: malformed records
(each must be dead-lettered by both engines) and borderline-valid ones (each must be accepted
by both), for the orders and product-view topics.

Usage: bad-records.py OUT_DIR EVENT_TIME_MS NOW_MS
  EVENT_TIME_MS  event time of the records meant to be valid (near the input's end, so
                 within grace); NOW_MS the wall clock (for the record > 24 h ahead of it).

Writes OUT_DIR/{orders,product-view}-{0,1,2}.kcat: kcat -K'|' -l input (one "key|value" per
line), to be produced to partition 0, 1, 2 of the topic. The records of one user are in one
partition of both topics (the funnel and the attribution group by user).
"""
import datetime
import json
import os
import sys


def ts(ms):
    t = datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000)


def order(t, **over):
    o = {"eventType": "ORDER", "orderId": "edge-o", "userId": "edge-u0", "productId": "edge-p",
         "price": 10.5, "currency": "EUR", "timestamp": ts(t)}
    o.update(over)
    return json.dumps(o, separators=(",", ":")).encode()


def view(t, **over):
    v = {"eventType": "VIEW", "userId": "edge-u0", "productId": "edge-p",
         "category": "books", "timestamp": ts(t)}
    v.update(over)
    return json.dumps(v, separators=(",", ":")).encode()


def main():
    out, t, now = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    T = ts(t).encode()
    # (topic, partition, key, value); value None = the Kafka null value (written separately).
    recs = []

    def o(p, key, value):
        recs.append(("orders", p, key, value))

    def v(p, key, value):
        recs.append(("product-view", p, key, value))

    # --- malformed orders (dead-lettered) ---
    o(0, b"edge-u0", b"not json")
    o(0, b"edge-u0", b"")
    o(0, b"edge-u0", b"[1,2]")
    o(0, b"edge-u0", order(t) + b" x")
    o(0, b"edge-u0", order(t) + b"{}")
    o(0, b"edge-u0", b'{"eventType":"ORDER","orderId":"e1","userId":"edge-u0","productId":"p",'
      b'"price":1.00,"timestamp":"' + T + b'"}')  # no currency
    o(0, b"edge-u0", order(t, price="59.99"))
    o(0, b"edge-u0", order(t, price=-1.0))
    o(0, b"edge-u0", order(t).replace(b'"price":10.5', b'"price":1.234'))
    o(0, b"edge-u0", order(t).replace(b'"price":10.5', b'"price":1e2'))
    o(0, b"edge-u0", order(t).replace(b'"price":10.5', b'"price":12345678901'))
    o(0, b"edge-u0", order(t).replace(b'"price":10.5', b'"price":01.5'))
    o(0, b"edge-u0", order(t, currency="eur"))
    o(0, b"edge-u0", order(t, timestamp="2025-11-30 11:17:00Z"))
    o(0, b"edge-u0", order(t, timestamp="2025-02-29T00:00:00Z"))
    o(0, b"edge-u0", order(t, timestamp="2025-11-30T11:17:60Z"))
    o(0, b"edge-u0", order(t, timestamp="2025-11-30T11:17:00+00:00"))
    o(0, b"edge-u0", order(t, timestamp="1969-12-31T23:59:59Z"))
    o(0, b"edge-u0", order(t, timestamp="2025-11-30T11:17:00.1234567890Z"))
    o(0, b"edge-u0", order(t).replace(b'"userId":"edge-u0"', b'"userId":"edge-u0","userId":"edge-u0"'))
    o(0, b"edge-u0", order(t, orderId=""))
    o(0, b"edge-u0", order(t, productId="p\u0000x"))
    o(0, b"edge-u0", order(t, productId="p" * 257))
    o(0, b"edge-u0", order(t, productId="\u00e9" * 129))  # 258 UTF-8 bytes
    o(0, b"edge-u0", order(t, eventType="VIEW"))
    o(0, b"edge-u0", order(t, eventType="REFUND"))
    o(0, b"edge-u0", order(t, userId=5))
    o(0, b"edge-u0", order(t).replace(b'}', b',"note":"\xff"}'))
    o(0, b"edge-u0", order(t).replace(b'}', b',"note":"\xed\xa0\x80"}'))  # UTF-8 surrogate
    o(0, b"edge-u0", order(t).replace(b'}', b',"note":"\\ud800"}'))  # lone surrogate escape
    o(0, b"edge-u0", order(t).replace(b'}', b',"deep":' + b"[" * 65 + b"]" * 65 + b"}"))
    o(0, b"edge-u0", order(t).replace(b'}', b',"bad":[1,}'))
    o(0, b"edge-u0", order(t).replace(b'}', b',"x":"a\tb"}'))  # raw control character
    o(0, b"edge-u1", order(t, userId="edge-u0"))  # key is not the userId
    o(0, b"edge-u0", order(now + 48 * 3600 * 1000))  # more than 24 h ahead of the wall clock
    o(0, b"edge-u0", None)
    # --- malformed views ---
    v(1, b"edge-u1", b"{")
    v(1, b"edge-u1", view(t, userId="edge-u1", category="Books"))
    v(1, b"edge-u1", view(t, userId="edge-u1").replace(b'"productId":"edge-p",', b""))
    v(1, b"edge-u1", view(t, userId="edge-u1", eventType="ORDER"))
    v(1, b"edge-u1", view(t, userId="edge-u1", timestamp=12345))
    v(1, b"edge-u1", view(t, userId="edge-u1", productId=None))
    v(1, b"edge-u9", view(t, userId="edge-u1"))  # key is not the userId
    v(1, b"edge-u1", None)
    # --- borderline but valid (accepted by both) ---
    o(0, b"edge-u0", order(t, orderId="edge-o1", price=0))
    o(0, b"edge-u0", order(t - 1000, orderId="edge-o2").replace(b'"price":10.5', b'"price":-0.00'))
    o(0, b"edge-u0", order(t - 2000, orderId="edge-o3").replace(b'"price":10.5', b'"price":1.230'))
    o(0, b"edge-u0", order(t - 3000, orderId="edge-o4", price=9999999999.99))
    o(0, b"edge-u0", order(t - 4000, orderId="edge-o5", note={"a": [1, 2.5e3, None, True]},
                           country="DE", device="x").replace(b'"userId"', b'"\\u0075serId"'))
    o(0, b"edge-u0", order(t - 5000, orderId="edge-o6").replace(
        b'}', b',"deep":' + b"[" * 64 + b"]" * 64 + b',"country":"a","country":"b"}'))
    o(0, b"edge-u0", order(t - 6000, orderId="edge-o7", timestamp=ts(t - 6000)[:-1]
                           .replace("T", "t") + "987654z"))
    o(0, b"edge-u0", order(t - 7000, orderId="edge-\"o8\"\\", productId="\u00e9" * 128))
    o(0, b"edge-u0", b" \t " + order(t - 8000, orderId="edge-o9") + b" \t ")
    v(0, b"edge-u0", view(t - 60000))
    v(0, b"edge-u0", view(t - 120000, productId="\u00e9" * 128))
    v(0, b"edge-u0", view(t - 180000).replace(b'"category"', b'"c\\u0061tegory"'))

    files = {}
    for topic, p, key, value in recs:
        suffix = "-null" if value is None else ""
        name = os.path.join(out, "%s-%d%s.kcat" % (topic, p, suffix))
        with open(name, "ab") as f:
            if b"|" in key or (value is not None and b"\n" in value.strip()):
                raise SystemExit("bad-records.py: a record kcat cannot carry: %r" % value)
            f.write(key + b"|" + (value.strip(b"\n") if value is not None else b"") + b"\n")
        files[name] = files.get(name, 0) + 1
    for name in sorted(files):
        print(name, files[name])


main()
