"""Consumers reading partitions while they are written, with confluent-kafka (librdkafka 2.0.2).

    tail_read_test.py --broker PATH CASE

The broker serves such reads from its tail cache (the producers' requests, kept in memory)
and everything else from disk with O_DIRECT reads, and sends both without copying them into
the response. These cases run with a tail cache of 2 MB and small segments, so consumers
keep falling off the cache and back onto the disk, across segment rolls.

  tail_consumers   a plain producer (records of 50 B to 20 KB, batches of up to 512 KB)
                   and a transactional one (commits and aborts) write two partitions while
                   two consumers per partition read them from the beginning, one
                   read_uncommitted and one read_committed; each sees exactly the records
                   written, in order, no aborted record in read_committed. A consumer
                   started afterwards (disk reads) sees the same, and so does one after a
                   restart of the broker.
"""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from broker_harness import Broker, run_cases  # noqa: E402

SETTINGS = {"log.tail.cache.bytes": "2000000", "log.segment.bytes": "3000000"}


def eq(actual, expected, what):
    if actual != expected:
        first = next((i for i, (a, e) in enumerate(zip(actual, expected)) if a != e), min(len(actual), len(expected)))
        raise AssertionError("%s: %d records, expected %d; first difference at %d: got %r, expected %r" %
                             (what, len(actual), len(expected), first, actual[first:first + 3],
                              expected[first:first + 3]))


def value(tag, i):
    # Sizes from 50 B to 20 KB, so batches range from a few hundred bytes to 512 KB.
    size = 50 + (i * 7919) % (20000 if i % 5 == 0 else 600)
    head = ("%s-%d|" % (tag, i)).encode()
    return head + b"x" * max(0, size - len(head))


def label(v):
    return v.split(b"|", 1)[0].decode()


class Reader(threading.Thread):
    """Reads one partition from offset 0 until `want` records arrived or time runs out."""

    def __init__(self, bootstrap, topic, partition, isolation, want_fn, timeout=90):
        super().__init__(daemon=True)
        self.args = (bootstrap, topic, partition, isolation)
        self.want_fn, self.timeout = want_fn, timeout
        self.got, self.error = [], None

    def run(self):
        try:
            self.read()
        except Exception as e:  # reported by the test, not lost in the thread
            self.error = repr(e)

    def read(self):
        from confluent_kafka import Consumer, TopicPartition

        bootstrap, topic, partition, isolation = self.args
        c = Consumer({"bootstrap.servers": bootstrap, "group.id": "tail-" + isolation, "enable.auto.commit": False,
                      "isolation.level": isolation, "fetch.wait.max.ms": 50,
                      "max.partition.fetch.bytes": 300000, "fetch.max.bytes": 1100000})
        c.assign([TopicPartition(topic, partition, 0)])
        deadline = time.time() + self.timeout
        try:
            while time.time() < deadline:
                want = self.want_fn()
                if want is not None and len(self.got) >= want:
                    return
                for m in c.consume(500, 0.1):
                    if m.error():
                        self.error = str(m.error())
                        return
                    self.got.append(label(m.value()))
        finally:
            c.close()


def case_tail_consumers(path):
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    with Broker(path, settings=SETTINGS) as b:
        admin = AdminClient({"bootstrap.servers": b.bootstrap})
        for f in admin.create_topics([NewTopic("tail", 2, 1)]).values():
            f.result(10)
        written = {0: [], 1: []}    # everything, in partition order
        committed = {0: [], 1: []}  # what read_committed must see
        done = threading.Event()

        def want(p, isolation):
            if not done.is_set():
                return None
            return len(written[p]) if isolation == "read_uncommitted" else len(committed[p])

        readers = [Reader(b.bootstrap, "tail", p, iso, lambda p=p, iso=iso: want(p, iso))
                   for p in (0, 1) for iso in ("read_uncommitted", "read_committed")]
        for r in readers:
            r.start()

        plain = Producer({"bootstrap.servers": b.bootstrap, "acks": "all", "linger.ms": 5,
                          "batch.size": 512 * 1024, "enable.idempotence": True})
        tx = Producer({"bootstrap.servers": b.bootstrap, "transactional.id": "tail-tx", "linger.ms": 2})
        tx.init_transactions(15)
        # Each partition's order: the plain producer's records are flushed before each
        # transaction starts and the transaction completes before the next plain burst, so
        # the order on the partition is the order of these steps.
        n = 0
        for rnd in range(24):
            for i in range(1500):
                p = i % 2
                v = value("p", n)
                plain.produce("tail", value=v, partition=p)
                written[p].append(label(v))
                committed[p].append(label(v))
                n += 1
                if i % 500 == 0:
                    plain.poll(0)
            if plain.flush(30) != 0:
                raise AssertionError("plain producer did not flush")
            commit = rnd % 3 != 2
            tx.begin_transaction()
            batch = {0: [], 1: []}
            for i in range(200):
                p = i % 2
                v = value("c" if commit else "a", n)
                tx.produce("tail", value=v, partition=p)
                batch[p].append(label(v))
                n += 1
            # Written before the abort (an abort drops what the client still queues), so
            # read_uncommitted readers see every aborted record too.
            if tx.flush(30) != 0:
                raise AssertionError("transactional producer did not flush")
            if commit:
                tx.commit_transaction(30)
            else:
                tx.abort_transaction(30)
            for p in (0, 1):
                written[p] += batch[p]
                if commit:
                    committed[p] += batch[p]
        done.set()
        for r in readers:
            r.join(120)
        for r in readers:
            p, iso = r.args[2], r.args[3]
            if r.error:
                raise AssertionError("%s reader of partition %d: %s" % (iso, p, r.error))
            expect = written[p] if iso == "read_uncommitted" else committed[p]
            eq(r.got, expect, "tail reader, partition %d, %s" % (p, iso))

        # Afterwards: from disk (the cache holds only the last 2 MB), then after a restart.
        for when in ("after writing", "after a restart"):
            if when == "after a restart":
                b.stop()
                b.start()
            for p in (0, 1):
                for iso in ("read_uncommitted", "read_committed"):
                    expect = written[p] if iso == "read_uncommitted" else committed[p]
                    r = Reader(b.bootstrap, "tail", p, iso, lambda e=expect: len(e), timeout=60)
                    r.run()
                    if r.error:
                        raise AssertionError("%s %s reader of partition %d: %s" % (when, iso, p, r.error))
                    eq(r.got, expect, "%s, partition %d, %s" % (when, p, iso))


CASES = {"tail_consumers": case_tail_consumers}

if __name__ == "__main__":
    run_cases(CASES)
