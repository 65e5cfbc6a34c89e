"""kafka-python 2.0.2 consumer groups against eddy-broker (system /usr/bin/python3).

    eos_kafka_python_test.py --broker PATH CASE

  group_two_members  two KafkaConsumer members of one group (one thread each) on a
                     4-partition topic: the partitions are split between them, every record
                     is consumed exactly once with synchronous commits, the group's committed
                     offsets are the partition ends; after one member closes, the other owns
                     all partitions and reads only records produced after the commits.
"""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from broker_harness import Broker, run_cases  # noqa: E402


def eq(actual, expected, what):
    if actual != expected:
        raise AssertionError("%s:\n  expected %r\n  got      %r" % (what, expected, actual))


class Member(threading.Thread):
    """Polls and commits in its own thread (KafkaConsumer is not thread-safe)."""

    def __init__(self, bootstrap, name):
        super().__init__(daemon=True)
        self.bootstrap = bootstrap
        self.name_ = name
        self.records = []
        self.assignment = set()
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.error = None

    def run(self):
        from kafka import KafkaConsumer

        try:
            c = KafkaConsumer("kp-grp", bootstrap_servers=self.bootstrap, group_id="kp-group",
                              client_id=self.name_, enable_auto_commit=False, auto_offset_reset="earliest",
                              session_timeout_ms=6000, heartbeat_interval_ms=300, fetch_max_wait_ms=50,
                              request_timeout_ms=10000, max_poll_interval_ms=10000)
            try:
                while not self.stop.is_set():
                    batch = c.poll(timeout_ms=100)
                    got = [(tp.partition, r.offset, r.value.decode()) for tp, rs in batch.items() for r in rs]
                    if got:
                        c.commit()  # synchronous, current positions
                    with self.lock:
                        self.records += got
                        self.assignment = {tp.partition for tp in c.assignment()}
            finally:
                c.close(autocommit=False)
        except Exception as e:  # reported by the main thread
            self.error = e

    def snapshot(self):
        with self.lock:
            return list(self.records), set(self.assignment)


def wait_for(cond, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


def case_group_two_members(path):
    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
    from kafka.admin import NewTopic

    with Broker(path, settings={"num.partitions": "4"}) as b:
        # Create the topic empty: every record is produced after the partitions are split, so
        # no record is polled while the group is still rebalancing (a commit racing a
        # rebalance fails and its records are legitimately delivered again).
        admin = KafkaAdminClient(bootstrap_servers=b.bootstrap)
        admin.create_topics([NewTopic("kp-grp", num_partitions=4, replication_factor=1)])
        admin.close()
        prod = KafkaProducer(bootstrap_servers=b.bootstrap, acks="all", linger_ms=1)
        m1, m2 = Member(b.bootstrap, "m1"), Member(b.bootstrap, "m2")
        m1.start()
        m2.start()

        def split():
            a1, a2 = m1.snapshot()[1], m2.snapshot()[1]
            return a1 and a2 and not (a1 & a2) and (a1 | a2) == {0, 1, 2, 3}

        wait_for(split, 30, "the partitions to be split between both members")
        a1, a2 = m1.snapshot()[1], m2.snapshot()[1]
        want = set()
        for i in range(50):
            for p in range(4):
                v = "v%d-%d" % (p, i)
                want.add(v)
                prod.send("kp-grp", v.encode(), partition=p)
        prod.flush(10)

        def total():
            return len(m1.snapshot()[0]) + len(m2.snapshot()[0])

        wait_for(lambda: total() >= len(want), 30, "all %d records" % len(want))
        time.sleep(1)  # a duplicate delivery would show up here
        r1, r2 = m1.snapshot()[0], m2.snapshot()[0]
        eq(m1.snapshot()[1], a1, "m1 assignment stable")
        eq(m2.snapshot()[1], a2, "m2 assignment stable")
        values = [v for _, _, v in r1 + r2]
        eq(len(values), len(want), "records consumed (exactly once)")
        eq(set(values), want, "records consumed")
        for mine, recs in ((a1, r1), (a2, r2)):
            if not recs or any(p not in mine for p, _, _ in recs):
                raise AssertionError("member consumed outside its assignment or nothing: %r %r" % (mine, recs[:3]))

        # The group's committed offsets are the ends of the partitions.
        def committed():
            probe = KafkaConsumer(bootstrap_servers=b.bootstrap, group_id="kp-group", enable_auto_commit=False)
            try:
                return {p: probe.committed(TopicPartition("kp-grp", p)) for p in range(4)}
            finally:
                probe.close(autocommit=False)

        wait_for(lambda: committed() == {0: 50, 1: 50, 2: 50, 3: 50}, 10, "committed offsets at the partition ends")

        # m2 leaves; m1 takes all partitions and continues at the committed offsets.
        before = len(m1.snapshot()[0])  # anything m1 reads from here on must be new
        m2.stop.set()
        m2.join(15)
        wait_for(lambda: m1.snapshot()[1] == {0, 1, 2, 3}, 30, "m1 to own all partitions")
        more = set()
        for p in range(4):
            for i in range(10):
                v = "w%d-%d" % (p, i)
                more.add(v)
                prod.send("kp-grp", v.encode(), partition=p)
        prod.flush(10)
        wait_for(lambda: len(m1.snapshot()[0]) - before >= len(more), 20, "records after the rebalance")
        time.sleep(1)
        after = [v for _, _, v in m1.snapshot()[0][before:]]
        eq(sorted(after), sorted(more), "records after the rebalance (no re-read of committed ones, no loss)")
        m1.stop.set()
        m1.join(15)
        prod.close(5)
        for m in (m1, m2):
            if m.error:
                raise AssertionError("member %s failed: %r" % (m.name_, m.error))
        eq(committed(), {0: 60, 1: 60, 2: 60, 3: 60}, "final committed offsets")


CASES = {"group_two_members": case_group_two_members}

if __name__ == "__main__":
    run_cases(CASES)
