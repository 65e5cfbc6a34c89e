"""kafka-python 2.0.2 (Debian's python3-kafka, run with /usr/bin/python3) against eddy-broker.

    kafka_python_test.py --broker PATH CASE

kafka-python guesses the Kafka release from ApiVersions and hard-codes request versions
from the guess, pipelines its first Metadata v0 behind ApiVersions v0, and sends admin
requests to the controller named in Metadata.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from broker_harness import Broker, run_cases  # noqa: E402


def eq(actual, expected, what):
    if actual != expected:
        raise AssertionError("%s: expected %r, got %r" % (what, expected, actual))


def case_admin(path):
    from kafka import KafkaAdminClient
    from kafka.admin import ConfigResource, ConfigResourceType, NewPartitions, NewTopic
    from kafka.errors import TopicAlreadyExistsError

    with Broker(path) as b:
        admin = KafkaAdminClient(bootstrap_servers=b.bootstrap, request_timeout_ms=10000)
        try:
            resp = admin.create_topics([
                NewTopic("py-a", num_partitions=3, replication_factor=1,
                         topic_configs={"retention.ms": "3600000", "cleanup.policy": "compact",
                                        "segment.bytes": "1048576"}),
                NewTopic("py-b", num_partitions=1, replication_factor=1),
            ], timeout_ms=10000)
            for t, code, *_ in resp.topic_errors:
                eq(code, 0, "CreateTopics error for " + t)
            topics = set(admin.list_topics())
            if not {"py-a", "py-b"} <= topics:
                raise AssertionError("created topics missing from %r" % topics)
            # Creating it again fails with TOPIC_ALREADY_EXISTS (36).
            try:
                again = admin.create_topics([NewTopic("py-a", 3, 1)], timeout_ms=10000)
                codes = [e[1] for e in again.topic_errors]
                eq(codes, [36], "second CreateTopics")
            except TopicAlreadyExistsError:
                pass

            (desc,) = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, "py-a")])
            (res,) = desc.resources
            err, _msg, rtype, rname, entries = res[0], res[1], res[2], res[3], res[4]
            eq((err, rname), (0, "py-a"), "DescribeConfigs resource")
            cfg = {e[0]: e[1] for e in entries}
            eq(cfg.get("retention.ms"), "3600000", "retention.ms")
            eq(cfg.get("cleanup.policy"), "compact", "cleanup.policy")
            eq(cfg.get("segment.bytes"), "1048576", "segment.bytes")
            # Requesting specific keys returns only those.
            (desc,) = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, "py-b", configs={"cleanup.policy": None})])
            entries = desc.resources[0][4]
            eq([(e[0], e[1]) for e in entries], [("cleanup.policy", "delete")], "default cleanup.policy of py-b")

            # AlterConfigs replaces py-a's overrides: retention.ms goes back to the default.
            resp = admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, "py-a",
                                                          configs={"cleanup.policy": "compact,delete",
                                                                   "segment.bytes": "2097152"})])
            eq([(r[0], r[3]) for r in resp.resources], [(0, "py-a")], "AlterConfigs result")
            (desc,) = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, "py-a")])
            cfg = {e[0]: e[1] for e in desc.resources[0][4]}
            eq((cfg["cleanup.policy"], cfg["segment.bytes"], cfg["retention.ms"]),
               ("compact,delete", "2097152", "604800000"), "configs after AlterConfigs")
            resp = admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, "py-a",
                                                          configs={"retention.ms": "-5"})])
            eq(resp.resources[0][0], 40, "AlterConfigs with a bad value: INVALID_CONFIG")
            (desc,) = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, "py-a")])
            eq({e[0]: e[1] for e in desc.resources[0][4]}, cfg, "configs after a refused AlterConfigs")

            admin.create_partitions({"py-b": NewPartitions(total_count=4)})
            md = admin.describe_topics(["py-b"])
            eq(len(md[0]["partitions"]), 4, "py-b partitions after CreatePartitions")
            # A new partition takes writes at once.
            from kafka import KafkaProducer
            prod = KafkaProducer(bootstrap_servers=b.bootstrap, acks="all")
            meta = prod.send("py-b", value=b"in-new-partition", partition=3).get(timeout=10)
            eq((meta.partition, meta.offset), (3, 0), "first record of a new partition")
            prod.close()

            resp = admin.delete_topics(["py-a"], timeout_ms=10000)
            eq([e[1] for e in resp.topic_error_codes], [0], "DeleteTopics error")
            deadline = time.time() + 10
            while "py-a" in admin.list_topics():
                if time.time() > deadline:
                    raise AssertionError("py-a still listed after DeleteTopics")
                time.sleep(0.1)
            eq("py-b" in admin.list_topics(), True, "py-b kept")
        finally:
            admin.close()


def case_produce_assign_seek(path):
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

    with Broker(path, settings={"num.partitions": "2", "auto.create.topics.enable": "true"}) as b:
        prod = KafkaProducer(bootstrap_servers=b.bootstrap, acks="all", linger_ms=5, compression_type="gzip")
        t0 = int(time.time() * 1000)
        futures = []
        for i in range(200):
            p = i % 2
            futures.append(prod.send("pyt", key=b"k%d" % i, value=b"v%d" % i, partition=p,
                                     headers=[("n", str(i).encode())], timestamp_ms=t0 + i))
        prod.flush(10)
        metas = [f.get(timeout=10) for f in futures]
        # Offsets per partition are dense and in send order.
        for p in (0, 1):
            eq([m.offset for m in metas if m.partition == p], list(range(100)), "acknowledged offsets of p%d" % p)
        prod.close(5)

        tp0, tp1 = TopicPartition("pyt", 0), TopicPartition("pyt", 1)
        cons = KafkaConsumer(bootstrap_servers=b.bootstrap, group_id=None, enable_auto_commit=False,
                             consumer_timeout_ms=3000, fetch_max_wait_ms=100)
        try:
            # ListOffsets earliest/latest, and by timestamp.
            eq(cons.beginning_offsets([tp0, tp1]), {tp0: 0, tp1: 0}, "earliest")
            eq(cons.end_offsets([tp0, tp1]), {tp0: 100, tp1: 100}, "latest")
            ot = cons.offsets_for_times({tp0: t0 + 50, tp1: t0 + 10 ** 9})
            eq(ot[tp0].offset, 25, "offset for timestamp t0+50 on p0 (record 50 is offset 25)")
            eq(ot[tp0].timestamp, t0 + 50, "timestamp found")
            eq(ot[tp1], None, "offset for a future timestamp")

            cons.assign([tp0, tp1])
            cons.seek(tp0, 90)
            cons.seek(tp1, 0)
            got = {0: [], 1: []}
            deadline = time.time() + 20
            while (len(got[0]) < 10 or len(got[1]) < 100) and time.time() < deadline:
                for tp, recs in cons.poll(timeout_ms=500).items():
                    got[tp.partition] += recs
            eq([r.offset for r in got[0]], list(range(90, 100)), "p0 offsets from 90")
            eq([r.offset for r in got[1]], list(range(100)), "p1 offsets from 0")
            for r in got[0] + got[1]:
                i = 2 * r.offset + r.partition
                eq((r.key, r.value, r.headers, r.timestamp), (b"k%d" % i, b"v%d" % i, [("n", str(i).encode())], t0 + i),
                   "record %d/%d" % (r.partition, r.offset))
            # Seek back and re-read a window.
            cons.seek(tp1, 42)
            recs = []
            deadline = time.time() + 10
            while len(recs) < 58 and time.time() < deadline:
                for tp, rs in cons.poll(timeout_ms=500).items():
                    recs += rs
            eq(recs[0].offset, 42, "first offset after seek back")
            eq(recs[0].value, b"v85", "value after seek back")
        finally:
            cons.close()


CASES = {"admin": case_admin, "produce_assign_seek": case_produce_assign_seek}

if __name__ == "__main__":
    run_cases(CASES)
