"""kcat (librdkafka 2.0.2) against a real eddy-broker process.

    kcat_test.py --broker PATH CASE     (one CTest test per case; each starts a fresh broker)
"""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from broker_harness import Broker, run_cases  # noqa: E402

TIMEOUT = 30


def kcat(broker, *args, data=None, check=True):
    cmd = ["kcat", "-b", broker.bootstrap, "-X", "api.version.request=true"] + list(args)
    p = subprocess.run(cmd, input=data, capture_output=True, timeout=TIMEOUT)
    if check and p.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s" % (" ".join(cmd), p.returncode, p.stderr.decode(errors="replace")))
    return p


def consume_json(broker, topic, *extra):
    """Consumes to the end of the partition(s) and returns the JSON envelopes."""
    out = kcat(broker, "-C", "-t", topic, "-e", "-J", "-q", *extra).stdout.decode()
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def produce_lines(broker, topic, lines, *extra):
    kcat(broker, "-P", "-t", topic, "-X", "acks=all", *extra, data=("\n".join(lines) + "\n").encode())


def eq(actual, expected, what):
    if actual != expected:
        raise AssertionError("%s: expected %r, got %r" % (what, expected, actual))


def case_keys_headers_nulls(path):
    with Broker(path) as b:
        # -K: splits key from value; -Z turns an empty key or value into NULL.
        lines = ["k0:v0", "k1:", ":v2", "k3:value three", ":"]
        produce_lines(b, "khn", lines, "-p", "0", "-K", ":", "-Z", "-H", "h1=one", "-H", "h2=", "-H", "h1=again")
        msgs = consume_json(b, "khn", "-p", "0", "-o", "beginning", "-Z")
        eq(len(msgs), 5, "message count")
        expected = [("k0", "v0"), ("k1", None), (None, "v2"), ("k3", "value three"), (None, None)]
        for i, (m, (k, v)) in enumerate(zip(msgs, expected)):
            eq(m["offset"], i, "offset of message %d" % i)
            eq(m["partition"], 0, "partition")
            eq(m["key"], k, "key of message %d" % i)
            eq(m["payload"], v, "payload of message %d" % i)
            # Headers keep order and duplicates.
            eq(m.get("headers"), ["h1", "one", "h2", "", "h1", "again"], "headers of message %d" % i)
            if not m["ts"] or m["tstype"] != "create":
                raise AssertionError("expected a create timestamp, got %r" % m)


def case_compression(path):
    with Broker(path) as b:
        for codec in ["none", "gzip", "snappy", "lz4", "zstd"]:
            topic = "comp-" + codec
            # Compressible, varied values; -X linger.ms batches them so the codec really runs.
            lines = ["key%d:%s-%d-%s" % (i, codec, i, "abc" * (i % 50)) for i in range(500)]
            produce_lines(b, topic, lines, "-p", "0", "-K", ":", "-z", codec, "-X", "linger.ms=50")
            msgs = consume_json(b, topic, "-p", "0", "-o", "beginning")
            eq(len(msgs), 500, codec + " message count")
            for i, m in enumerate(msgs):
                k, v = lines[i].split(":", 1)
                eq((m["offset"], m["key"], m["payload"]), (i, k, v), codec + " message %d" % i)
        # All five codecs in one topic too: consumers must decode batches of mixed codecs in one fetch.
        mixed = []
        for codec in ["gzip", "snappy", "lz4", "zstd", "none"]:
            chunk = ["%s-%d" % (codec, i) for i in range(50)]
            produce_lines(b, "comp-mixed", chunk, "-p", "0", "-z", codec)
            mixed += chunk
        got = [m["payload"] for m in consume_json(b, "comp-mixed", "-p", "0", "-o", "beginning")]
        eq(got, mixed, "mixed-codec topic")


def case_large_value(path):
    size = 1 << 20
    with Broker(path, settings={"message.max.bytes": str(3 << 20)}) as b:
        with tempfile.TemporaryDirectory() as d:
            f = os.path.join(d, "big")
            value = bytes((i * 7 + i // 251) % 256 for i in range(size))
            with open(f, "wb") as fh:
                fh.write(value)
            # A file argument is sent as one message.
            kcat(b, "-P", "-t", "big", "-p", "0", "-X", "acks=all", "-X", "message.max.bytes=%d" % (3 << 20), f)
            # A small message after it, so we also see the offset advance past the big batch.
            produce_lines(b, "big", ["after"], "-p", "0")
            out = kcat(b, "-C", "-t", "big", "-p", "0", "-o", "beginning", "-c", "1", "-f", "%s",
                       "-X", "fetch.message.max.bytes=%d" % (4 << 20)).stdout
            eq(len(out), size, "1 MB value size")
            if out != value:
                raise AssertionError("1 MB value differs from what was produced")
            tail = consume_json(b, "big", "-p", "0", "-o", "1")
            eq([(m["offset"], m["payload"]) for m in tail], [(1, "after")], "record after the big one")


def case_metadata(path):
    with Broker(path, settings={"num.partitions": "3"}) as b:
        produce_lines(b, "meta-a", ["x"])
        produce_lines(b, "meta-b", ["y"])
        md = json.loads(kcat(b, "-L", "-J").stdout)
        eq(len(md["brokers"]), 1, "broker count")
        broker = md["brokers"][0]
        eq(broker["name"], b.bootstrap, "advertised broker address")
        topics = {t["topic"]: t for t in md["topics"]}
        for name in ["meta-a", "meta-b"]:
            if name not in topics:
                raise AssertionError("topic %s missing from %r" % (name, sorted(topics)))
            parts = sorted(topics[name]["partitions"], key=lambda p: p["partition"])
            eq([p["partition"] for p in parts], [0, 1, 2], name + " partitions")
            for p in parts:
                eq(p["leader"], broker["id"], "leader")
                eq(p["replicas"], [{"id": broker["id"]}], "replicas")
                eq(p["isrs"], [{"id": broker["id"]}], "isrs")
        # Text listing for one topic.
        text = kcat(b, "-L", "-t", "meta-a").stdout.decode()
        if 'topic "meta-a" with 3 partitions' not in text:
            raise AssertionError("unexpected -L output:\n" + text)
        # An unknown topic with auto-creation: asking for metadata creates it (Kafka's behaviour).
        md = json.loads(kcat(b, "-L", "-J", "-t", "meta-c").stdout)
        eq([t["topic"] for t in md["topics"]], ["meta-c"], "single-topic metadata")


def case_offsets(path):
    with Broker(path) as b:
        produce_lines(b, "offs", ["m%d" % i for i in range(20)], "-p", "0")

        def payloads(*o):
            return [(m["offset"], m["payload"]) for m in consume_json(b, "offs", "-p", "0", *o)]

        eq(payloads("-o", "beginning"), [(i, "m%d" % i) for i in range(20)], "-o beginning")
        eq(payloads("-o", "7"), [(i, "m%d" % i) for i in range(7, 20)], "-o 7")
        eq(payloads("-o", "-3"), [(i, "m%d" % i) for i in range(17, 20)], "-o -3 (relative to end)")
        eq(payloads("-o", "19"), [(19, "m19")], "-o 19")
        eq(payloads("-o", "end"), [], "-o end")
        # -c limits the count from a given offset.
        out = kcat(b, "-C", "-t", "offs", "-p", "0", "-o", "5", "-c", "4", "-f", "%o=%s\n").stdout.decode()
        eq(out.split(), ["5=m5", "6=m6", "7=m7", "8=m8"], "-o 5 -c 4")
        # Query mode: offset for a timestamp far in the past is 0, -1 (latest) is the end.
        q = kcat(b, "-Q", "-t", "offs:0:1").stdout.decode()
        if "offset 0" not in q:
            raise AssertionError("offset for an old timestamp should be 0, got: " + q)


CASES = {
    "keys_headers_nulls": case_keys_headers_nulls,
    "compression": case_compression,
    "large_value": case_large_value,
    "metadata": case_metadata,
    "offsets": case_offsets,
}

if __name__ == "__main__":
    run_cases(CASES)
