"""confluent-kafka-python (librdkafka 2.0.2) transactions against eddy-broker.

    eos_confluent_test.py --broker PATH CASE

  isolation     a transactional producer commits, aborts, commits; a read_uncommitted
                consumer sees all records (aborted included), a read_committed one only the
                committed ones, in order; an open transaction blocks read_committed at the LSO.
  send_offsets  consume-transform-produce with send_offsets_to_transaction: a committed
                round moves the group's offset, an aborted round does not; a new group
                member resumes at the committed offset.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from broker_harness import Broker, run_cases  # noqa: E402


def eq(actual, expected, what):
    if actual != expected:
        raise AssertionError("%s:\n  expected %r\n  got      %r" % (what, expected, actual))


def read_partition(bootstrap, topic, partition, isolation, timeout=15):
    """Everything from the beginning to the end of a partition (the LSO for read_committed)."""
    from confluent_kafka import Consumer, KafkaError, TopicPartition

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "reader", "enable.auto.commit": False,
                  "isolation.level": isolation, "enable.partition.eof": True, "fetch.wait.max.ms": 50})
    c.assign([TopicPartition(topic, partition, 0)])
    out = []
    deadline = time.time() + timeout
    try:
        while time.time() < deadline:
            m = c.poll(0.2)
            if m is None:
                continue
            if m.error():
                if m.error().code() == KafkaError._PARTITION_EOF:
                    return out
                raise AssertionError("consume error: %s" % m.error())
            out.append(m.value().decode())
        raise AssertionError("no end of partition within %ds (read %d)" % (timeout, len(out)))
    finally:
        c.close()


def case_isolation(path):
    from confluent_kafka import Producer

    with Broker(path) as b:
        p = Producer({"bootstrap.servers": b.bootstrap, "transactional.id": "py-tx", "linger.ms": 1})
        p.init_transactions(15)

        def txn(values, commit):
            p.begin_transaction()
            for v in values:
                p.produce("py-iso", value=v.encode(), partition=0)
            p.flush(10)
            if commit:
                p.commit_transaction(10)
            else:
                p.abort_transaction(10)

        txn(["c1-%d" % i for i in range(5)], True)
        txn(["a1-%d" % i for i in range(5)], False)
        txn(["c2-%d" % i for i in range(5)], True)
        committed = ["c1-%d" % i for i in range(5)] + ["c2-%d" % i for i in range(5)]
        everything = committed[:5] + ["a1-%d" % i for i in range(5)] + committed[5:]
        eq(read_partition(b.bootstrap, "py-iso", 0, "read_uncommitted"), everything, "read_uncommitted")
        eq(read_partition(b.bootstrap, "py-iso", 0, "read_committed"), committed, "read_committed")

        # An open transaction: read_uncommitted sees its records at once, read_committed stops
        # before them (last stable offset) until the commit.
        p.begin_transaction()
        for i in range(3):
            p.produce("py-iso", value=("open-%d" % i).encode(), partition=0)
        p.flush(10)
        eq(read_partition(b.bootstrap, "py-iso", 0, "read_uncommitted"), everything + ["open-0", "open-1", "open-2"],
           "read_uncommitted with an open transaction")
        eq(read_partition(b.bootstrap, "py-iso", 0, "read_committed"), committed,
           "read_committed with an open transaction")
        p.commit_transaction(10)
        eq(read_partition(b.bootstrap, "py-iso", 0, "read_committed"), committed + ["open-0", "open-1", "open-2"],
           "read_committed after the commit")


def case_send_offsets(path):
    from confluent_kafka import Consumer, Producer, TopicPartition

    with Broker(path, settings={"num.partitions": "2"}) as b:
        plain = Producer({"bootstrap.servers": b.bootstrap, "acks": "all"})
        for part in (0, 1):
            for i in range(20):
                plain.produce("py-in", value=("in%d-%d" % (part, i)).encode(), partition=part)
        plain.flush(10)

        tx = Producer({"bootstrap.servers": b.bootstrap, "transactional.id": "py-ctp", "linger.ms": 1})
        tx.init_transactions(15)

        def consumer():
            c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "py-ctp-group", "enable.auto.commit": False,
                          "auto.offset.reset": "earliest", "isolation.level": "read_committed",
                          "session.timeout.ms": 6000, "heartbeat.interval.ms": 300, "fetch.wait.max.ms": 50})
            c.subscribe(["py-in"])
            return c

        c = consumer()

        def round_(n, commit):
            tx.begin_transaction()
            got = []
            deadline = time.time() + 20
            while len(got) < n and time.time() < deadline:
                for m in c.consume(n - len(got), 0.2):
                    if m.error():
                        raise AssertionError(str(m.error()))
                    got.append(m.value().decode())
                    tx.produce("py-out", value=("out-" + got[-1]).encode(), partition=0)
            eq(len(got), n, "records consumed in the round")
            positions = c.position(c.assignment())
            tx.send_offsets_to_transaction(positions, c.consumer_group_metadata(), 10)
            if commit:
                tx.commit_transaction(10)
            else:
                tx.flush(10)
                tx.abort_transaction(10)
            return got, {(tp.partition): tp.offset for tp in positions}

        done, pos1 = round_(16, True)
        aborted, _ = round_(10, False)
        committed = {tp.partition: tp.offset
                     for tp in c.committed([TopicPartition("py-in", 0), TopicPartition("py-in", 1)], timeout=10)}
        # Positions never consumed from are invalid (-1001) and not sent.
        want = {k: (pos1[k] if pos1.get(k, -1) >= 0 else -1001) for k in (0, 1)}
        eq(committed, want, "group offsets after commit + abort (the aborted round's are not committed)")
        eq(sum(v for v in committed.values() if v > 0), 16, "committed offsets count the committed round only")
        c.close()

        eq(read_partition(b.bootstrap, "py-out", 0, "read_committed"), ["out-" + v for v in done],
           "read_committed output")
        eq(read_partition(b.bootstrap, "py-out", 0, "read_uncommitted"), ["out-" + v for v in done + aborted],
           "read_uncommitted output")

        # A new member resumes at the committed offsets: it sees exactly what was not committed.
        c2 = consumer()
        rest = []
        deadline = time.time() + 20
        while len(rest) < 24 and time.time() < deadline:
            for m in c2.consume(100, 0.2):
                if not m.error():
                    rest.append(m.value().decode())
        for m in c2.consume(100, 0.5):
            if not m.error():
                rest.append(m.value().decode())
        c2.close()
        everything = {"in%d-%d" % (p, i) for p in (0, 1) for i in range(20)}
        eq(len(rest), 24, "records after the committed offsets")
        eq(set(rest), everything - set(done), "resumed records")
        if not set(aborted) <= set(rest):
            raise AssertionError("aborted round's inputs must be re-consumed")


CASES = {"isolation": case_isolation, "send_offsets": case_send_offsets}

if __name__ == "__main__":
    run_cases(CASES)
