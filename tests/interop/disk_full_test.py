"""A full disk under a real client: nothing acknowledged is lost, nothing is duplicated.

    disk_full_test.py --broker PATH CASE

The broker's data directory is on a small tmpfs mounted in a private mount namespace
(unshare --user --map-root-user --mount; a holder process keeps the namespace, each broker
enters it with nsenter). Part of the tmpfs is taken by a ballast file that the test deletes
to free space. Machines that do not allow unprivileged user namespaces skip the test
(exit 77) and say so.

  fill_restart  an idempotent confluent-kafka (librdkafka) producer with acks=all writes
                numbered 1 KB records until the disk is full. The broker stays up and takes
                the partition offline (KAFKA_STORAGE_ERROR, which the producer retries): it
                answers Metadata and ListOffsets, a consumer reads back every acknowledged
                record at its offset, CreateTopics on the full disk gets an error answer
                (or works), and once the last free pages are taken too a group's
                OffsetCommit gets COORDINATOR_NOT_AVAILABLE (and works after). With log.offline.retry.ms=-1 the partition
                stays offline, as Kafka keeps it; space is freed and the broker restarted
                on the same directory and port: the producer's retries land, and the
                partition holds every record exactly once, in order, each acknowledged one
                at the offset it was acknowledged with.
  fill_recover  the same, without the restart (log.offline.retry.ms=1000): once space is
                freed the broker reopens the partition from disk by itself (a try while
                the disk is still full puts it back offline, and the next waits longer),
                and the producer's retries land exactly once.
  fill_inline   fill_recover with the default log.write.behind=auto, where the lone
                producer's batches are mostly written on the event loop: a failed write
                there is refused (KAFKA_STORAGE_ERROR, retried) and the partition stays
                online. (The other cases set log.write.behind=true, whose failed queued
                write takes the partition offline.)
  txn_fill_recover  a transactional producer commits transactions of 200 records while the
                disk fills and, 1.5 s after the partition went offline, is freed: every
                transaction whose commit returned is visible to read_committed exactly
                once and whole, an aborted one not at all.
  file_size_limit  no namespace: the broker runs under a 4 MiB file size limit (prlimit
                --fsize). The write past it fails with EFBIG (the broker ignores SIGXFSZ,
                which would kill it); the partition goes offline, the broker stays up, the
                producer gets errors for the rest, and every acknowledged record reads back.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from broker_harness import Broker, run_cases  # noqa: E402
from eos_kill9_test import read_committed_all  # noqa: E402

SKIP = 77  # CTest SKIP_RETURN_CODE


class SmallDisk:
    """A tmpfs of `size_mb` MiB seen only inside a mount namespace that a holder process keeps."""

    def __init__(self, size_mb):
        self.mount_point = tempfile.mkdtemp(prefix="eddy-disk-full-")
        script = 'mount -t tmpfs -o size=%dm eddy-small "$0" && echo mounted && exec sleep 3600' % size_mb
        self.holder = subprocess.Popen(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script,
                                        self.mount_point],
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        line = self.holder.stdout.readline()
        if line.strip() != "mounted":
            rest = line + self.holder.stdout.read()
            self.close()
            print("SKIP: cannot mount a private tmpfs (unshare --user --mount): %s" % rest.strip())
            sys.exit(SKIP)

    def inside(self, *parts):
        """A path as the broker (inside the namespace) sees it."""
        return os.path.join(self.mount_point, *parts)

    def outside(self, *parts):
        """The same path as this process sees it (through the holder's root)."""
        return "/proc/%d/root%s" % (self.holder.pid, self.inside(*parts))

    def enter(self):
        """Command prefix that runs a program inside the namespace (give it an absolute path:
        entering the mount namespace moves to its root)."""
        return ["nsenter", "-t", str(self.holder.pid), "--user", "--mount", "--preserve-credentials"]

    def free_bytes(self):
        st = os.statvfs(self.outside())
        return st.f_bavail * st.f_frsize

    def close(self):
        if self.holder.poll() is None:
            self.holder.kill()
        self.holder.wait()
        shutil.rmtree(self.mount_point, ignore_errors=True)


def read_partition(bootstrap, topic):
    """(offset, value's first 12 characters) of every record of partition 0, to its end."""
    recs = read_committed_all(bootstrap, topic, [0], isolation="read_uncommitted", timeout=60)[0]
    return [(o, v[:12]) for o, v in recs]


def watermarks(bootstrap, topic):
    from confluent_kafka import Consumer, TopicPartition

    cons = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused"})
    try:
        return cons.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
    finally:
        cons.close()


def commit_offsets(bootstrap, offsets):
    """Commits each of `offsets` of full-0 in turn for group "g" (one member's commits);
    returns the first error, or None when all went through and the last reads back."""
    from confluent_kafka import Consumer, KafkaException, TopicPartition

    cons = Consumer({"bootstrap.servers": bootstrap, "group.id": "g", "enable.auto.commit": False})
    try:
        for off in offsets:
            cons.commit(offsets=[TopicPartition("full", 0, off)], asynchronous=False)
        got = cons.committed([TopicPartition("full", 0)], timeout=10)[0].offset
        if got != offsets[-1]:
            raise AssertionError("committed %d, read back %d" % (offsets[-1], got))
        return None
    except KafkaException as e:
        return e.args[0]
    finally:
        cons.close()


def eq_clean_stop(b):
    """SIGTERM, and a clean shutdown (exit 0) once every partition is back online."""
    rc = b.stop()
    if rc != 0:
        raise AssertionError("exit code %s after SIGTERM, want 0:\n%s" % (rc, "\n".join(b.output[-5:])))


def value(i):
    return "rec-%08d" % i


def produce_kb(prod, topic, values, on_delivery=None):
    """Produces each of `values`, padded to about 1 KB, to partition 0, waiting while the
    producer's queue is full."""
    pad = "x" * 1000
    for v in values:
        while True:
            try:
                prod.produce(topic, value=(v + pad).encode(), partition=0, on_delivery=on_delivery)
                break
            except BufferError:
                prod.poll(0.01)
        prod.poll(0)


class Filled:
    """A broker on a small disk and an idempotent producer that filled it (phase one of
    each case), with everything checked that must hold while the disk is full."""

    total = 20000  # 1 KB records: more than the space left, less than the whole disk

    def __init__(self, path, settings, producer=None):
        from confluent_kafka import Producer

        self.disk = SmallDisk(32)
        # log.write.behind=true: a failed write is a queued one, which takes the partition
        # offline (with the default auto, a lone producer's batches are mostly written on
        # the event loop, whose failed write is just refused: see fill_inline).
        self.b = Broker(os.path.abspath(path), data_dir=self.disk.inside("data"),
                        settings=dict({"num.partitions": "1", "log.write.behind": "true"}, **settings),
                        wrap=self.disk.enter(), keep_port=True)
        self.acked, self.errors = [], []
        self.lock = threading.Lock()
        self.b.start()
        with open(self.disk.outside("ballast"), "wb") as f:
            f.write(b"\0" * (16 << 20))
        self.prod = Producer(dict({"bootstrap.servers": self.b.bootstrap, "linger.ms": 5, "batch.size": 262144},
                                  **(producer or {"enable.idempotence": True, "acks": "all",
                                                  "message.timeout.ms": 120000})))

    def on_delivery(self, err, msg):
        with self.lock:
            if err is None:
                self.acked.append((msg.offset(), msg.value().decode()[:12]))
            else:
                self.errors.append(str(err))

    def fill(self, offline=True):
        """Produces until the disk is full: with `offline`, until the broker says a write
        failed and took the partition offline; otherwise until acknowledgements stop."""
        b, prod = self.b, self.prod
        produce_kb(prod, "full", [value(i) for i in range(self.total)], self.on_delivery)
        # The disk fills: the broker says so, and acknowledgements stop.
        deadline = time.time() + 60
        while offline and not any("is offline after a failed write" in line for line in b.output):
            if time.time() > deadline:
                raise AssertionError("no failed write after %d acks; free %d bytes; output:\n%s" % (
                    len(self.acked), self.disk.free_bytes(), "\n".join(b.output)))
            prod.poll(0.1)
        settled, last = time.time(), -1
        while time.time() - settled < (1.5 if offline else 3):
            if time.time() > deadline:
                raise AssertionError("acknowledgements did not stop: %d of %d" % (len(self.acked), self.total))
            prod.poll(0.1)
            with self.lock:
                if len(self.acked) != last:
                    last, settled = len(self.acked), time.time()
        if not b.alive():
            raise AssertionError("broker died on a full disk:\n" + "\n".join(b.output))
        with self.lock:
            first_acked = sorted(self.acked)
            if self.errors:
                raise AssertionError("delivery errors while full (the producer should retry): %s" % self.errors[:3])
        n = len(first_acked)
        if n < 1000 or n >= self.total:
            raise AssertionError("%d of %d acknowledged before the disk was full" % (n, self.total))
        if first_acked != [(i, value(i)) for i in range(n)]:
            raise AssertionError("acknowledged records are not offsets 0..%d in order" % (n - 1))
        self.first_acked = n
        return n

    def check_still_serving(self, commit=True):
        """While full: watermarks, reads of everything acknowledged, admin requests and,
        with `commit`, a group's OffsetCommit refused for want of room."""
        from confluent_kafka import KafkaError
        from confluent_kafka.admin import AdminClient, NewTopic

        b, n = self.b, self.first_acked
        lo, hi = watermarks(b.bootstrap, "full")
        if lo != 0 or hi != n:
            raise AssertionError("watermarks %d..%d with %d acknowledged" % (lo, hi, n))
        back = read_partition(b.bootstrap, "full")
        if back != [(i, value(i)) for i in range(n)]:
            raise AssertionError("read %d records back while full, want the %d acknowledged" % (len(back), n))
        admin = AdminClient({"bootstrap.servers": b.bootstrap})
        fut = admin.create_topics([NewTopic("while-full", 1, 1)], operation_timeout=10)["while-full"]
        try:
            fut.result(15)
            created = "created"
        except Exception as e:  # the disk may or may not have room for its files
            created = "refused (%s)" % e
        if not b.alive():
            raise AssertionError("broker died on CreateTopics with a full disk:\n" + "\n".join(b.output))
        if not commit:
            return "CreateTopics %s" % created
        # Take the pages the failed write left, so that the group coordinator's journal runs
        # out of room too: a commit is then refused with COORDINATOR_NOT_AVAILABLE (retriable).
        fd = os.open(self.disk.outside("filler"), os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            while os.write(fd, b"\0" * 4096):
                pass
        except OSError:
            pass
        finally:
            os.close(fd)
        err = commit_offsets(b.bootstrap, list(range(1, 400)))  # until one needs a new page
        if err is None or err.code() != KafkaError.COORDINATOR_NOT_AVAILABLE:
            raise AssertionError("OffsetCommit on a full disk: %s (want COORDINATOR_NOT_AVAILABLE)" % err)
        if not b.alive():
            raise AssertionError("broker died on OffsetCommit with a full disk:\n" + "\n".join(b.output))
        return "CreateTopics %s, OffsetCommit %s" % (created, err.name())

    def free_space(self):
        for name in ("ballast", "filler"):
            if os.path.exists(self.disk.outside(name)):
                os.remove(self.disk.outside(name))

    def check_all_delivered_once(self):
        """Every record acknowledged exactly once, in order, at offsets 0..total-1."""
        b, total = self.b, self.total
        left = self.prod.flush(60)
        with self.lock:
            if left or self.errors:
                raise AssertionError("%d undelivered, %d acknowledged, errors %s; broker output:\n%s" % (
                    left, len(self.acked), self.errors[:3], "\n".join(b.output[-30:])))
            final = sorted(self.acked)
        want = [(i, value(i)) for i in range(total)]
        if final != want:
            bad = next((x for x in zip(final, want) if x[0] != x[1]), (len(final), total))
            raise AssertionError("acknowledged offsets: first difference %r" % (bad,))
        lo, hi = watermarks(b.bootstrap, "full")
        stored = read_partition(b.bootstrap, "full")
        if (lo, hi) != (0, total) or stored != want:
            raise AssertionError("watermarks %d..%d, %d records read, want %d exactly once" % (
                lo, hi, len(stored), total))
        err = commit_offsets(b.bootstrap, [total])
        if err is not None:
            raise AssertionError("OffsetCommit with room again: %s" % err)

    def close(self):
        self.b.kill()
        self.disk.close()


def case_fill_restart(path):
    f = Filled(path, {"log.offline.retry.ms": "-1"})  # offline until a restart, as Kafka
    try:
        n = f.fill()
        created = f.check_still_serving()
        time.sleep(1)
        if not any("is offline" in line for line in f.b.output) or any("back online" in line for line in f.b.output):
            raise AssertionError("log.offline.retry.ms=-1 must keep the partition offline")
        f.free_space()
        rc = f.b.stop()
        if rc != 1:  # the offline partition cannot close cleanly; the next start recovers it
            raise AssertionError("exit code %s after SIGTERM with an offline partition, want 1:\n%s" % (
                rc, "\n".join(f.b.output[-5:])))
        f.b.start()
        f.check_all_delivered_once()
        print("acknowledged %d of %d before the disk was full, all %d exactly once after freeing space and "
              "restarting; while full: %s" % (n, f.total, f.total, created))
        eq_clean_stop(f.b)
    finally:
        f.close()


def case_fill_recover(path):
    f = Filled(path, {"log.offline.retry.ms": "1000"})
    try:
        n = f.fill()
        created = f.check_still_serving()
        f.free_space()
        deadline = time.time() + 30
        while not any("is back online" in line for line in f.b.output):
            if time.time() > deadline:
                raise AssertionError("partition not back online 30 s after freeing space:\n" + "\n".join(f.b.output))
            f.prod.poll(0.1)
        f.check_all_delivered_once()
        retries = sum("still offline" in line or "is back online" in line for line in f.b.output)
        print("acknowledged %d of %d before the disk was full, all %d exactly once after freeing space, without "
              "a restart (%d reopen attempts); while full: %s" % (n, f.total, f.total, retries, created))
        eq_clean_stop(f.b)
    finally:
        f.close()


def case_fill_inline(path):
    # The default log.write.behind=auto: the producer has the broker to itself, so most of
    # its batches are written on the event loop. A failed one there is refused with
    # KAFKA_STORAGE_ERROR and leaves nothing behind (the partition stays online); one that
    # went to the write-behind thread meanwhile takes the partition offline until it is
    # reopened. Either way, once space is freed, every record is acknowledged exactly once.
    f = Filled(path, {"log.write.behind": "auto", "log.offline.retry.ms": "1000"})
    try:
        n = f.fill(offline=False)
        # No OffsetCommit check: the producer's retries keep trying writes on the loop, and
        # each failed one gives back the pages it took, where the coordinator may find room.
        created = f.check_still_serving(commit=False)
        f.free_space()
        f.check_all_delivered_once()
        offline = sum("is offline after a failed write" in line for line in f.b.output)
        print("acknowledged %d of %d before the disk was full, all %d exactly once after freeing space, without "
              "a restart (the partition went offline %d times); while full: %s" % (n, f.total, f.total, offline, created))
        eq_clean_stop(f.b)
    finally:
        f.close()


def case_txn_fill_recover(path):
    from confluent_kafka import KafkaException

    per_txn, txns = 200, 100  # 1 KB records: 20 MB, more than the 16 MiB left
    f = Filled(path, {"log.offline.retry.ms": "1000"},
               producer={"transactional.id": "full-tx", "transaction.timeout.ms": 60000,
                         "message.timeout.ms": 60000})
    try:
        prod = f.prod
        prod.init_transactions(15)
        freed = threading.Event()

        def free_when_full():
            deadline = time.time() + 60
            while not any("is offline after a failed write" in line for line in f.b.output):
                if time.time() > deadline:
                    return
                time.sleep(0.05)
            time.sleep(1.5)  # some commits run into the offline partition meanwhile
            f.free_space()
            freed.set()

        freer = threading.Thread(target=free_when_full)
        freer.start()
        outcome = {}  # txn -> "committed" | "aborted"
        commit_retries = 0
        for t in range(txns):
            prod.begin_transaction()
            produce_kb(prod, "txfull", ["%d-%d-" % (t, i) for i in range(per_txn)])
            deadline = time.time() + 90
            while True:
                try:
                    prod.commit_transaction(10)
                    outcome[t] = "committed"
                    break
                except KafkaException as e:
                    err = e.args[0]
                    if err.retriable() and time.time() < deadline:
                        commit_retries += 1
                        continue
                    if err.txn_requires_abort():
                        prod.abort_transaction(30)
                        outcome[t] = "aborted"
                        break
                    raise
        freer.join()
        if not freed.is_set():
            raise AssertionError("the disk never filled:\n" + "\n".join(f.b.output))
        if not any("is back online" in line for line in f.b.output):
            raise AssertionError("the partition never came back:\n" + "\n".join(f.b.output))
        stored = read_committed_all(f.b.bootstrap, "txfull", [0], timeout=60)[0]
        seen = {}
        for _, v in stored:
            t, i = map(int, v.split("-")[:2])
            seen.setdefault(t, []).append(i)
        for t, st in outcome.items():
            got = seen.get(t, [])
            if st == "committed" and got != list(range(per_txn)):
                raise AssertionError("committed transaction %d: %d records visible (want %d once, in order)" % (
                    t, len(got), per_txn))
            if st == "aborted" and got:
                raise AssertionError("aborted transaction %d: %d records visible" % (t, len(got)))
        committed = sum(st == "committed" for st in outcome.values())
        if committed < txns // 2:
            raise AssertionError("only %d of %d transactions committed: %r" % (committed, txns, outcome))
        print("%d of %d transactions committed (%d aborted, %d commit retries), each visible exactly once to "
              "read_committed; the partition went offline on the full disk and came back by itself" % (
                  committed, txns, txns - committed, commit_retries))
        eq_clean_stop(f.b)
    finally:
        f.close()


def case_file_size_limit(path):
    from confluent_kafka import Producer

    limit = 4 << 20
    b = Broker(path, settings={"num.partitions": "1", "log.offline.retry.ms": "-1", "log.write.behind": "true"},
               wrap=["prlimit", "--fsize=%d" % limit, "--"])
    try:
        b.start()
        acked, errors = [], []

        def on_delivery(err, msg):
            (errors if err else acked).append(err or (msg.offset(), msg.value().decode()[:12]))

        prod = Producer({"bootstrap.servers": b.bootstrap, "acks": "all", "linger.ms": 5, "batch.size": 262144,
                         "message.timeout.ms": 5000})
        total = 8000  # 1 KB records: twice the limit
        produce_kb(prod, "limited", [value(i) for i in range(total)], on_delivery)
        prod.flush(30)
        if not b.alive():
            raise AssertionError("the broker died at the file size limit:\n" + "\n".join(b.output))
        if not any("File too large" in line and "is offline" in line for line in b.output):
            raise AssertionError("no failed write reported:\n" + "\n".join(b.output))
        n = len(acked)
        if not 1000 <= n < total or len(errors) != total - n:
            raise AssertionError("%d acknowledged, %d failed of %d" % (n, len(errors), total))
        if sorted(acked) != [(i, value(i)) for i in range(n)]:
            raise AssertionError("acknowledged records are not offsets 0..%d in order" % (n - 1))
        if watermarks(b.bootstrap, "limited") != (0, n) or read_partition(b.bootstrap, "limited") != sorted(acked):
            raise AssertionError("the %d acknowledged records do not read back" % n)
        print("file size limit %d bytes: %d of %d acknowledged and readable, the rest failed (%s); broker up" % (
            limit, n, total, errors[0]))
        if b.stop() != 1:
            raise AssertionError("SIGTERM with an offline partition should exit 1 (no clean shutdown)")
    finally:
        b.cleanup()


if __name__ == "__main__":
    run_cases({"fill_restart": case_fill_restart, "fill_recover": case_fill_recover, "fill_inline": case_fill_inline,
               "txn_fill_recover": case_txn_fill_recover, "file_size_limit": case_file_size_limit})
