"""Durability of eddy-broker across restarts, with real clients.

    durability_test.py --broker PATH CASE

  restart_sigterm  kcat produces, the broker stops with SIGTERM, restarts on the same
                   data directory, and kcat reads back everything in order.
  kill9_acked      a confluent-kafka (librdkafka) producer with acks=all and delivery
                   reports writes numbered records while the broker is killed with
                   SIGKILL; after a restart every acknowledged record is present exactly
                   once, at the offset it was acknowledged with, in order.
  kill9_acked_large  the same with 1 KB records in batches of about 1 MB, which the broker
                   writes with O_DIRECT; with the default log.write.behind=auto the event
                   loop writes most of them itself (the producer is its only client).
  kill9_acked_large_behind  the same with log.write.behind=true: every large batch is
                   written by the write-behind thread.
  kill9_compaction a compacted topic with small segments, so the background cleaner runs
                   all the time, is written with keyed records (acks=all) while the broker
                   is killed with SIGKILL, each time as soon as a compaction pass has files
                   on disk (.cleaned being written, or .swap being put in place); after
                   every restart the log is checked: offsets only grow, no record is
                   duplicated or reordered within its key, every acknowledged record is
                   either still at its offset or was removed only because a later record
                   of the same key is there, and the latest acknowledged value of every key
                   is readable.
  open_files_limit started with a soft open-files limit of 256, the broker raises it to
                   the hard limit, so 120 partitions (four open files each) can be created
                   and written with confluent-kafka.
"""
import json
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from broker_harness import Broker, run_cases  # noqa: E402


def kcat(bootstrap, *args, data=None):
    p = subprocess.run(["kcat", "-b", bootstrap] + list(args), input=data, capture_output=True, timeout=60)
    if p.returncode != 0:
        raise AssertionError("kcat %s failed:\n%s" % (" ".join(args), p.stderr.decode(errors="replace")))
    return p.stdout


def case_restart_sigterm(path):
    b = Broker(path, settings={"num.partitions": "2"})
    try:
        b.start()
        n = 3000
        for p in (0, 1):
            lines = "".join("p%d-%d\n" % (p, i) for i in range(n))
            kcat(b.bootstrap, "-P", "-t", "dur", "-p", str(p), "-X", "acks=all", "-z", "lz4" if p else "none",
                 data=lines.encode())
        rc = b.stop()
        if rc != 0:
            raise AssertionError("broker exited with %d after SIGTERM" % rc)
        extra = []  # records appended to partition 0 after each restart
        for round_ in range(2):  # restart twice: recovery must be repeatable
            b.start()
            for p in (0, 1):
                out = kcat(b.bootstrap, "-C", "-t", "dur", "-p", str(p), "-o", "beginning", "-e", "-q",
                           "-f", "%o %s\n").decode().splitlines()
                values = ["p%d-%d" % (p, i) for i in range(n)] + (extra if p == 0 else [])
                want = ["%d %s" % (i, v) for i, v in enumerate(values)]
                if out != want:
                    raise AssertionError("round %d partition %d: %d records back (want %d), first difference %r" % (
                        round_, p, len(out), len(want), next((x for x in zip(out, want) if x[0] != x[1]), None)))
            # New writes continue after the recovered end.
            extra.append("more%d" % round_)
            kcat(b.bootstrap, "-P", "-t", "dur", "-p", "0", "-X", "acks=all", data=(extra[-1] + "\n").encode())
            last = kcat(b.bootstrap, "-C", "-t", "dur", "-p", "0", "-o", "-1", "-e", "-q", "-f", "%o %s\n")
            if last.decode().split() != [str(n + round_), extra[-1]]:
                raise AssertionError("append after restart: %r" % last)
            if b.stop() != 0:
                raise AssertionError("unclean exit after restart")
    finally:
        b.cleanup()


def case_kill9_acked(path):
    kill9_acked(path, pad=0, min_acked=20000,
                producer={"linger.ms": 2, "batch.num.messages": 200, "compression.type": "lz4"})


def case_kill9_acked_large(path):
    # 1 KB records in batches of about 1 MB, appended with O_DIRECT (log.write.direct), so
    # the kill lands while large writes are in flight; the acknowledgement of each waited
    # for its write.
    kill9_acked(path, pad=1000, min_acked=30000, producer=megabyte_batches)


def case_kill9_acked_large_behind(path):
    # The same through the write-behind thread, so the kill also finds writes queued.
    kill9_acked(path, pad=1000, min_acked=30000, producer=megabyte_batches, settings={"log.write.behind": "true"})


megabyte_batches = {"linger.ms": 5, "batch.num.messages": 1000, "batch.size": 1048576, "compression.type": "none"}


def kill9_acked(path, pad, min_acked, producer, settings=None):
    from confluent_kafka import Consumer, Producer, TopicPartition

    b = Broker(path, settings=dict({"num.partitions": "1"}, **(settings or {})))
    try:
        b.start()
        acked = []  # (offset, value) in delivery order
        errors = []
        lock = threading.Lock()

        def on_delivery(err, msg):
            with lock:
                if err is None:
                    acked.append((msg.offset(), msg.value().decode()))
                else:
                    errors.append(str(err))

        conf = {"bootstrap.servers": b.bootstrap, "acks": "all", "enable.idempotence": False,
                "max.in.flight.requests.per.connection": 5, "message.timeout.ms": 5000, "retries": 0}
        conf.update(producer)
        prod = Producer(conf)
        padding = "x" * pad
        stop = threading.Event()

        def killer():
            # Let a good number of acknowledgements arrive, then crash the broker mid-stream.
            deadline = time.time() + 20
            while time.time() < deadline:
                with lock:
                    if len(acked) >= min_acked:
                        break
                time.sleep(0.005)
            b.kill()
            stop.set()

        t = threading.Thread(target=killer)
        t.start()
        i = 0
        while not stop.is_set() and i < 2_000_000:
            try:
                prod.produce("crash", value=("rec-%08d%s" % (i, padding)).encode(), partition=0,
                             on_delivery=on_delivery)
                i += 1
            except BufferError:
                prod.poll(0.01)
                continue
            if i % 100 == 0:
                prod.poll(0)
        t.join()
        prod.flush(10)  # unacknowledged ones fail (timeout) or got acked just before the kill
        produced = i
        if len(acked) < 1000:
            raise AssertionError("only %d acknowledgements before the kill (errors: %s)" % (len(acked), errors[:3]))

        b.start()  # same data directory
        cons = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "unused", "enable.auto.commit": False,
                         "enable.partition.eof": True, "fetch.wait.max.ms": 50})
        lo, hi = cons.get_watermark_offsets(TopicPartition("crash", 0), timeout=10)
        cons.assign([TopicPartition("crash", 0, 0)])
        stored = []
        deadline = time.time() + 60
        while len(stored) < hi and time.time() < deadline:
            for m in cons.consume(1000, 0.5):
                if m.error():
                    continue
                stored.append((m.offset(), m.value().decode()))
        cons.close()
        if lo != 0 or len(stored) != hi:
            raise AssertionError("watermarks %d..%d but read %d records" % (lo, hi, len(stored)))
        # Stored offsets are dense, values are unique and increasing (nothing acknowledged is lost,
        # duplicated or reordered; unacknowledged records may or may not be there).
        if [o for o, _ in stored] != list(range(hi)):
            raise AssertionError("offsets are not 0..%d" % (hi - 1))
        values = [v for _, v in stored]
        if len(set(values)) != len(values):
            raise AssertionError("duplicate records after restart")
        if values != sorted(values):
            raise AssertionError("records out of order after restart")
        at = dict(stored)
        acked.sort()
        for off, v in acked:
            if at.get(off) != v:
                raise AssertionError("acknowledged record %s at offset %d is %r after restart" % (v, off, at.get(off)))
        print("produced %d, acknowledged %d, present after kill -9 + restart %d" % (produced, len(acked), hi))
        if b.stop() != 0:
            raise AssertionError("unclean exit")
    finally:
        b.cleanup()


def case_kill9_compaction(path):
    from confluent_kafka import Consumer, Producer, TopicPartition

    topic = "compacted"
    b = Broker(path, settings={"num.partitions": "1", "log.cleanup.policy": "compact",
                               "log.segment.bytes": "65536"})
    part_dir = os.path.join(b.data_dir, "%s-0" % topic)
    keys = ["k%03d" % k for k in range(150)]
    acked = {}  # offset -> (key, seq), over every cycle
    lock = threading.Lock()
    seq = [0]
    caught = {"cleaned": 0, "swap": 0, "other": 0}

    def read_all():
        cons = Consumer({"bootstrap.servers": b.bootstrap, "group.id": "unused", "enable.auto.commit": False,
                         "fetch.wait.max.ms": 50, "auto.offset.reset": "error"})
        lo, hi = cons.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
        cons.assign([TopicPartition(topic, 0, 0)])
        got = []
        deadline = time.time() + 60
        while (not got or got[-1][0] < hi - 1) and time.time() < deadline:
            for m in cons.consume(1000, 0.5):
                if m.error() is not None:
                    raise AssertionError("reading back: %s (read %d records, last offset %s, watermarks %d..%d)"
                                         % (m.error(), len(got), got[-1][0] if got else None, lo, hi))
                else:
                    k, s_, _ = m.value().decode().split("-", 2)
                    if m.key().decode() != k:
                        raise AssertionError("offset %d: key %r with value of key %r" % (m.offset(), m.key(), k))
                    got.append((m.offset(), k, int(s_)))
        cons.close()
        return lo, hi, got

    def check(cycle):
        lo, hi, got = read_all()
        offsets = [o for o, _, _ in got]
        if offsets != sorted(set(offsets)) or (offsets and offsets[-1] != hi - 1):
            raise AssertionError("cycle %d: offsets not increasing up to the high watermark %d" % (cycle, hi))
        at = {o: (k, s_) for o, k, s_ in got}
        latest = {}  # key -> (offset, seq) of the last stored record
        seen = set()
        for o, k, s_ in got:
            if (k, s_) in seen:
                raise AssertionError("cycle %d: record %s-%d stored twice" % (cycle, k, s_))
            seen.add((k, s_))
            if k in latest and latest[k][1] >= s_:
                raise AssertionError("cycle %d: key %s goes back from seq %d to %d" % (cycle, k, latest[k][1], s_))
            latest[k] = (o, s_)
        with lock:
            acked_now = dict(acked)
        for o, (k, s_) in acked_now.items():
            if o in at:
                if at[o] != (k, s_):
                    raise AssertionError("cycle %d: offset %d holds %r, acknowledged as %r" % (cycle, o, at[o], (k, s_)))
            elif k not in latest or latest[k][1] <= s_:
                raise AssertionError("cycle %d: acknowledged %s-%d at offset %d is gone with nothing later for its key"
                                     " (%d records read from offset %s, watermarks %d..%d)"
                                     % (cycle, k, s_, o, len(got), offsets[0] if offsets else None, lo, hi))
        return hi, len(got)

    try:
        b.start()
        for cycle in range(4):
            prod = Producer({"bootstrap.servers": b.bootstrap, "acks": "all", "enable.idempotence": False,
                             "max.in.flight.requests.per.connection": 1, "message.timeout.ms": 5000,
                             "retries": 0, "linger.ms": 2, "compression.type": "none"})

            def on_delivery(err, msg):
                if err is None:
                    k, s_, _ = msg.value().decode().split("-", 2)
                    with lock:
                        acked[msg.offset()] = (k, int(s_))

            stop = threading.Event()

            def killer():
                # Kill as soon as a compaction pass has files on disk, else after 15 s.
                want = ".swap" if cycle % 2 else ".cleaned"
                deadline = time.time() + 15
                started = time.time()
                while time.time() < deadline:
                    try:
                        names = os.listdir(part_dir)
                    except FileNotFoundError:
                        names = []
                    hit = next((n for n in names if n.endswith(".cleaned") or n.endswith(".swap")), None)
                    if hit and (hit.endswith(want) or time.time() - started > 8):
                        caught["swap" if hit.endswith(".swap") else "cleaned"] += 1
                        break
                    time.sleep(0.0005)
                else:
                    caught["other"] += 1
                b.kill()
                stop.set()

            t = threading.Thread(target=killer)
            t.start()
            while not stop.is_set():
                k = keys[seq[0] % len(keys)] if seq[0] % 3 else keys[(seq[0] * 7) % 10]  # some keys are hot
                try:
                    prod.produce(topic, key=k.encode(), value=("%s-%d-%s" % (k, seq[0], "v" * 300)).encode(),
                                 partition=0, on_delivery=on_delivery)
                    seq[0] += 1
                except BufferError:
                    prod.poll(0.01)
                    continue
                if seq[0] % 50 == 0:
                    prod.poll(0)
            t.join()
            prod.flush(10)
            b.start()
            try:
                hi, stored = check(cycle)
            except AssertionError:
                print("broker output (last 40 lines):\n" + "\n".join(b.output[-40:]))
                raise
            print("cycle %d: produced %d, acknowledged %d, high watermark %d, stored %d" % (
                cycle, seq[0], len(acked), hi, stored))
        # Leftover .cleaned/.swap files are gone after the restart (recovered or discarded).
        if stored >= hi:
            raise AssertionError("nothing was compacted (%d records stored of %d)" % (stored, hi))
        if caught["cleaned"] + caught["swap"] == 0:
            raise AssertionError("no kill landed during a compaction pass: %r" % caught)
        print("kills during compaction: %r" % caught)
        if b.stop() != 0:
            raise AssertionError("unclean exit")
    finally:
        b.cleanup()


def case_open_files_limit(path):
    import resource
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1024:
        print("SKIP: hard open-files limit %d is too low to show anything" % hard)
        return
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))  # inherited by the broker
    b = Broker(path)
    try:
        b.start()
        with open("/proc/%d/limits" % b.proc.pid) as f:
            line = next(l for l in f if l.startswith("Max open files"))
        broker_soft = line.split()[3]
        want = "unlimited" if hard == resource.RLIM_INFINITY else str(hard)
        if broker_soft != want:
            raise AssertionError("broker's soft open-files limit is %s, want %s" % (broker_soft, want))
        admin = AdminClient({"bootstrap.servers": b.bootstrap})
        for t, fut in admin.create_topics([NewTopic("wide", 120, 1)]).items():
            fut.result(30)
        prod = Producer({"bootstrap.servers": b.bootstrap, "acks": "all"})
        for p in range(120):
            prod.produce("wide", value=b"v%d" % p, partition=p)
        if prod.flush(30) != 0:
            raise AssertionError("not every record was delivered")
        fds = len(os.listdir("/proc/%d/fd" % b.proc.pid))
        if fds <= 256:
            raise AssertionError("only %d descriptors open: the test shows nothing" % fds)
        print("broker runs with %d open descriptors (soft limit raised to %s)" % (fds, broker_soft))
        if b.stop() != 0:
            raise AssertionError("unclean exit")
    finally:
        b.cleanup()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


CASES = {"restart_sigterm": case_restart_sigterm, "kill9_acked": case_kill9_acked,
         "kill9_acked_large": case_kill9_acked_large, "kill9_acked_large_behind": case_kill9_acked_large_behind,
         "kill9_compaction": case_kill9_compaction,
         "open_files_limit": case_open_files_limit}

if __name__ == "__main__":
    run_cases(CASES)
