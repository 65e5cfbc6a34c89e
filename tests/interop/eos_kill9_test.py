"""kill -9 of eddy-broker under idempotent and transactional confluent-kafka (librdkafka) clients.

    eos_kill9_test.py --broker PATH CASE

The broker is killed with SIGKILL 3 times at random moments and restarted each time on the
same data directory and the same port, so the clients keep retrying the same address.

  idempotent    an idempotent acks=all producer writes numbered records to 2 partitions
                without pause; afterwards every acknowledged record is present exactly once,
                at its acknowledged offset, and each partition holds strictly increasing
                numbers (no duplicate, no reordering) with dense offsets.
  transactions  a loop of transactions (20 records each, over 2 partitions, then commit);
                when a call fails the client drops its producer and starts a new one with
                the same transactional.id (init_transactions fences and aborts or completes
                the old transaction). Finally a read_committed reader sees every transaction
                whose commit returned exactly once and complete, no record of a
                transaction that failed before its commit, and all-or-nothing for the
                transactions whose commit call failed (outcome unknown to the client).
"""
import os
import random
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from broker_harness import Broker, run_cases  # noqa: E402

KILLS = 3


def killer(b, kills, gap, done, log):
    """Kills the broker `kills` times, `gap` seconds apart (randomized), restarting it each time."""
    try:
        for k in range(kills):
            time.sleep(random.uniform(*gap))
            b.kill()
            log.append("kill %d at %.2f" % (k + 1, time.time()))
            time.sleep(random.uniform(0.1, 0.5))
            b.start()
    finally:
        done.set()


def log_kills(log):
    return [x for x in list(log) if x.startswith("kill")]


def read_committed_all(bootstrap, topic, partitions, isolation="read_committed", timeout=20):
    from confluent_kafka import Consumer, KafkaError, TopicPartition

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "verify", "enable.auto.commit": False,
                  "isolation.level": isolation, "enable.partition.eof": True, "fetch.wait.max.ms": 50})
    c.assign([TopicPartition(topic, p, 0) for p in partitions])
    out = {p: [] for p in partitions}
    eof = set()
    deadline = time.time() + timeout
    try:
        while len(eof) < len(partitions):
            if time.time() > deadline:
                raise AssertionError("reading %s: no end within %ds (eof on %s)" % (topic, timeout, eof))
            for m in c.consume(1000, 0.2):
                if m.error():
                    if m.error().code() == KafkaError._PARTITION_EOF:
                        eof.add(m.partition())
                        continue
                    raise AssertionError("consume: %s" % m.error())
                out[m.partition()].append((m.offset(), m.value().decode()))
    finally:
        c.close()
    return out


def case_idempotent(path):
    from confluent_kafka import Producer

    b = Broker(path, settings={"num.partitions": "2"}, keep_port=True)
    try:
        b.start()
        acked = {0: [], 1: []}
        errors = []
        lock = threading.Lock()

        def on_delivery(err, msg):
            with lock:
                if err is None:
                    acked[msg.partition()].append((msg.offset(), msg.value().decode()))
                else:
                    errors.append(str(err))

        prod = Producer({"bootstrap.servers": b.bootstrap, "enable.idempotence": True, "acks": "all",
                         "linger.ms": 2, "batch.num.messages": 200, "message.timeout.ms": 20000,
                         "reconnect.backoff.ms": 20, "reconnect.backoff.max.ms": 200, "log_level": 2})
        done = threading.Event()
        log = []
        t = threading.Thread(target=killer, args=(b, KILLS, (1.0, 2.0), done, log))
        t.start()
        i = 0
        acked_at_last_kill = None
        deadline = time.time() + 30
        while time.time() < deadline:
            if done.is_set():
                if acked_at_last_kill is None:
                    with lock:
                        acked_at_last_kill = sum(len(v) for v in acked.values())
                    after_until = time.time() + 1.5  # keep producing after the last restart
                elif time.time() > after_until:
                    break
            part = i % 2
            try:
                prod.produce("kidem", value=("%d-%09d" % (part, i // 2)).encode(), partition=part,
                             on_delivery=on_delivery)
                i += 1
            except BufferError:
                prod.poll(0.01)
                continue
            if i % 200 == 0:
                prod.poll(0)
                time.sleep(0.001)  # bounded rate: keeps the queue (and the retry backlog) small
        t.join()
        left = prod.flush(30)
        if left:
            raise AssertionError("%d records still unacknowledged 30 s after the last restart" % left)
        total_acked = sum(len(v) for v in acked.values())
        if acked_at_last_kill is None or total_acked <= acked_at_last_kill:
            raise AssertionError("no acknowledgement after the last restart (%d acked)" % total_acked)
        stored = read_committed_all(b.bootstrap, "kidem", [0, 1], isolation="read_uncommitted", timeout=30)
        for p in (0, 1):
            recs = stored[p]
            offsets = [o for o, _ in recs]
            if offsets != list(range(len(recs))):
                raise AssertionError("partition %d: offsets not dense" % p)
            nums = [int(v.split("-")[1]) for _, v in recs]
            dup = next((x for x, y in zip(nums, nums[1:]) if y <= x), None)
            if dup is not None:
                raise AssertionError("partition %d: duplicate or out of order record after %d" % (p, dup))
            at = dict(recs)
            for off, v in acked[p]:
                if at.get(off) != v:
                    raise AssertionError("partition %d: acknowledged %s at offset %d is %r" % (p, v, off, at.get(off)))
        print("%s; produced %d, acknowledged %d (%d failed: %s), stored %d" % (
            ", ".join(log), i, total_acked, len(errors), errors[:2], sum(len(v) for v in stored.values())))
        if errors:
            raise AssertionError("delivery failures with retries across restarts: %s" % errors[:3])
        if b.stop() != 0:
            raise AssertionError("unclean exit")
    finally:
        b.cleanup()


def case_transactions(path):
    from confluent_kafka import KafkaException, Producer

    per_txn = 20
    b = Broker(path, settings={"num.partitions": "2"}, keep_port=True)
    try:
        b.start()

        def new_producer():
            p = Producer({"bootstrap.servers": b.bootstrap, "transactional.id": "kill9-tx", "linger.ms": 1,
                          "transaction.timeout.ms": 10000, "message.timeout.ms": 10000,
                          "reconnect.backoff.ms": 20, "reconnect.backoff.max.ms": 200, "log_level": 2})
            deadline = time.time() + 20
            while True:
                try:
                    p.init_transactions(5)
                    return p
                except KafkaException as e:
                    if time.time() > deadline or e.args[0].fatal():
                        raise
                    time.sleep(0.1)

        outcome = {}  # txn number -> "committed" | "failed_before_commit" | "commit_unknown"
        done = threading.Event()
        log = []
        t = threading.Thread(target=killer, args=(b, KILLS, (1.0, 2.5), done, log))
        t.start()
        p = new_producer()
        kills_seen = 0
        abandoned = set()  # flushed, then left open by a dropped producer
        n = 0
        restarts = 0
        after_until = None
        deadline = time.time() + 40
        while time.time() < deadline:
            if done.is_set():
                after_until = after_until or time.time() + 1.5
                if time.time() > after_until:
                    break
            stage = "failed_before_commit"
            try:
                p.begin_transaction()
                for i in range(per_txn):
                    p.produce("ktx", value=("%d-%d" % (n, i)).encode(), partition=i % 2)
                p.flush(10)  # the records are in the log: an open transaction on the broker
                if kills_seen != len(log_kills(log)):
                    # The broker was killed during this producer's life: abandon it mid-transaction
                    # (no abort); the next producer's init_transactions must abort the leftovers.
                    kills_seen = len(log_kills(log))
                    outcome[n] = "failed_before_commit"
                    abandoned.add(n)
                    log.append("txn %d: abandoned after a kill" % n)
                    p.purge()
                    del p
                    p = new_producer()
                    restarts += 1
                    n += 1
                    continue
                stage = "commit_unknown"
                p.commit_transaction(10)
                outcome[n] = "committed"
            except KafkaException as e:
                outcome[n] = stage
                kills_seen = len(log_kills(log))
                log.append("txn %d: %s (%s)" % (n, stage, e.args[0].name()))
                p.purge()
                del p
                p = new_producer()
                restarts += 1
            n += 1
        t.join()
        # The last producer ends with a committed transaction, proving the loop resumed.
        p.begin_transaction()
        for i in range(per_txn):
            p.produce("ktx", value=("%d-%d" % (n, i)).encode(), partition=i % 2)
        p.commit_transaction(10)
        outcome[n] = "committed"
        del p

        stored = read_committed_all(b.bootstrap, "ktx", [0, 1], timeout=30)
        seen = {}
        for part, recs in stored.items():
            for _, v in recs:
                txn, idx = map(int, v.split("-"))
                seen.setdefault(txn, []).append(idx)
        want = list(range(per_txn))
        for txn, st in sorted(outcome.items()):
            got = sorted(seen.get(txn, []))
            if st == "committed" and got != want:
                raise AssertionError("committed txn %d: records %r" % (txn, got))
            if st == "failed_before_commit" and got:
                raise AssertionError("txn %d failed before its commit but %d of its records are visible" % (txn, len(got)))
            if st == "commit_unknown" and got not in ([], want):
                raise AssertionError("txn %d (commit outcome unknown) is partially visible: %r" % (txn, got))
        # The abandoned transactions' records are in the log (read_uncommitted sees them): they
        # were hidden by the aborts, not lost.
        raw = read_committed_all(b.bootstrap, "ktx", [0, 1], isolation="read_uncommitted", timeout=30)
        raw_seen = {}
        for recs in raw.values():
            for _, v in recs:
                txn, idx = map(int, v.split("-"))
                raw_seen.setdefault(txn, []).append(idx)
        for txn in abandoned:
            if sorted(raw_seen.get(txn, [])) != want:
                raise AssertionError("abandoned txn %d: read_uncommitted sees %r" % (txn, raw_seen.get(txn)))
        unknown = set(seen) - set(outcome)
        if unknown:
            raise AssertionError("records of transactions never started: %r" % sorted(unknown))
        # Per partition, committed records keep their production order.
        for part, recs in stored.items():
            keys = [tuple(map(int, v.split("-"))) for _, v in recs]
            if keys != sorted(keys):
                raise AssertionError("partition %d: committed records out of order" % part)
        committed = sum(1 for s in outcome.values() if s == "committed")
        print("%s; %d transactions: %d committed, %d failed before commit, %d commit unknown (%d visible); "
              "%d producer re-inits" % (
                  "; ".join(log), len(outcome), committed,
                  sum(1 for s in outcome.values() if s == "failed_before_commit"),
                  sum(1 for s in outcome.values() if s == "commit_unknown"),
                  sum(1 for t_, s in outcome.items() if s == "commit_unknown" and t_ in seen), restarts))
        if restarts < KILLS:
            raise AssertionError("the producer was re-initialized only %d times" % restarts)
        if committed < 5:
            raise AssertionError("only %d committed transactions" % committed)
        if b.stop() != 0:
            raise AssertionError("unclean exit")
    finally:
        b.cleanup()


CASES = {"idempotent": case_idempotent, "transactions": case_transactions}

if __name__ == "__main__":
    run_cases(CASES)
