"""Fault tests of the streams runtime: kill -9 of exactly_once_v2 page-view count apps.

    streams_fault_test.py --broker PATH --app PATH CASE

Each case starts a fresh eddy-broker process (broker_harness.py), creates a 4-partition input
topic (key = user, value = page) and a 4-partition output topic, and runs the test app
(pageview_app: the samples/pageview_counts topology, exactly_once_v2) as separate processes
that it kills with SIGKILL. Page views are drawn from a skewed distribution over 20 pages and
produced with an idempotent acks=all producer, so the true count per page is known.

The read_committed output is checked for exactness: for every page, its committed output
records (one partition per page, in offset order) must be exactly 1, 2, ..., N with N the true
number of views of that page (no page shows a count twice, none is skipped, none is missing,
and no unknown page appears). There is no caching layer, so each input record yields exactly
one count update and this strict form must hold.

  kill9_exactly_once   one app process, killed with SIGKILL 6 times: 5 times mid-stream (views
                       keep coming; each kill a random moment after the instance owns its tasks
                       and commits) and once at a random moment right after a restart (rejoin or
                       restore), restarted each time on the same state dir (RocksDB is reopened;
                       only the changelog tail is replayed, checked from the app's restore log
                       lines). A last wave after the last restart checks the counts continue
                       from the right values.
  scale_out_kill9      two app processes in one group (same application.id, own state dirs);
                       both get tasks and process; one is killed with SIGKILL mid-stream; the
                       survivor takes over its tasks (restoring them from the changelog) and
                       the final counts are exact. Short session.timeout.ms and
                       transaction.timeout.ms are passed through so the takeover is quick.
  scale_out_zombie     two app processes with two stream threads each; one is frozen with SIGSTOP mid-stream past its session
                       timeout (a zombie: long pause or network partition) while the other takes
                       over its tasks, then woken with SIGCONT: whatever it still writes must be
                       fenced (never committed); it rejoins, gets tasks back with stale local
                       state (replaying the changelog tail the other wrote), and the counts stay
                       exact.
  wiped_state_restore  one app process is killed with SIGKILL, its state dir is deleted, and
                       the restarted instance rebuilds every store from the changelog (checked
                       from the restore log lines) and the counts continue exactly.
  broker_kill9         the broker itself is killed with SIGKILL twice mid-stream and restarted on
                       the same data dir and port; the app (never restarted) rides through the
                       lost group membership, timed-out/fenced transactions and client rebuilds,
                       and the counts stay exact.

Waits are on conditions with generous deadlines (no fixed sleeps for correctness), so the
tests stay reliable on a loaded 2-core machine. Runs under /usr/bin/python3 (confluent_kafka).
"""
import argparse
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "interop"))
from broker_harness import Broker  # noqa: E402

INPUT = "page-views"
OUTPUT = "page-view-counts"
PARTITIONS = 4
PAGES = ["/page-%02d" % i for i in range(20)]
WEIGHTS = [1.0 / (i + 1) ** 0.8 for i in range(len(PAGES))]  # skewed: /page-00 is the most popular

# Short failure detection: a killed member leaves the group after session.timeout.ms, and a
# killed instance's open transaction is aborted by the broker after transaction.timeout.ms.
# The broker allows sessions shorter than Kafka's 6 s minimum for that.
APP_ID = "pageview-fault"
APP_SETTINGS = {
    "session.timeout.ms": "3000",
    "heartbeat.interval.ms": "300",
    "transaction.timeout.ms": "5000",
    "commit.interval.ms": "100",
}
BROKER_SETTINGS = {"group.min.session.timeout.ms": "1000"}
# For exploring by hand: EDDY_FAULT_APP_SET="num.stream.threads=2,commit.interval.ms=50" adds or
# overrides app settings.
APP_SETTINGS.update(kv.split("=", 1) for kv in os.environ.get("EDDY_FAULT_APP_SET", "").split(",") if "=" in kv)

RESTORED_RE = re.compile(r"task (\S+) restored (\d+) changelog records")


def log(msg):
    print("[%7.2f] %s" % (time.time() - T0, msg), flush=True)


T0 = time.time()


class App:
    """One pageview_app process. Its stdout and stderr (the runtime's log) are collected."""

    def __init__(self, binary, bootstrap, state_dir, name, app_id=APP_ID, settings=None):
        self.binary, self.bootstrap, self.state_dir, self.name, self.app_id = binary, bootstrap, state_dir, name, app_id
        self.settings = dict(APP_SETTINGS, **(settings or {}))
        self.threads = int(self.settings.get("num.stream.threads", "1"))  # group members per process
        self.proc = None
        self.output = []  # every line of every run
        self.runs = 0

    def start(self, timeout=60):
        assert self.proc is None
        args = [self.binary, "--bootstrap", self.bootstrap, "--state-dir", self.state_dir, "--application-id",
                self.app_id, "--input", INPUT, "--output", OUTPUT]
        for k, v in self.settings.items():
            args += ["--set", "%s=%s" % (k, v)]
        self.runs += 1
        self.run_start = len(self.output)
        self.output.append("---- %s run %d ----" % (self.name, self.runs))
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
        running = threading.Event()

        def pump(proc):
            for line in proc.stdout:
                self.output.append(line.rstrip("\n"))
                if "pageview_app: running" in line:
                    running.set()
            running.set()

        self._pump = threading.Thread(target=pump, args=(self.proc,), daemon=True)
        self._pump.start()
        if not running.wait(timeout) or self.proc.poll() is not None:
            self.fail("did not start within %ds" % timeout)
        log("%s: started (run %d, pid %d)" % (self.name, self.runs, self.proc.pid))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def check_alive(self):
        if self.proc is not None and self.proc.poll() is not None:
            self.fail("exited unexpectedly with %s" % self.proc.returncode)

    def kill(self):
        """kill -9: a crash at an arbitrary point of the processing loop."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self._pump.join(5)
        self.proc = None
        log("%s: killed with SIGKILL" % self.name)

    def stop(self, timeout=60):
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self.proc = None
            self.fail("did not exit within %ds of SIGTERM" % timeout)
        self._pump.join(5)
        self.proc = None
        if rc != 0:
            self.fail("exited with %s after SIGTERM" % rc)

    def restored(self, run=None):
        """Changelog records restored per task in the current run (from the runtime's log)."""
        out = {}
        for line in self.output[self.run_start:]:
            m = RESTORED_RE.search(line)
            if m:
                out[m.group(1)] = out.get(m.group(1), 0) + int(m.group(2))
        return out

    def report(self, limit=25):
        """Logs the runtime's own log lines (restores, aborted transactions, fencing, errors)."""
        lines = [l for l in self.output if "StreamThread-" in l and "] " in l and not l.startswith("%")]
        log("%s: %d runtime log lines over %d runs%s" % (self.name, len(lines), self.runs, ":" if lines else ""))
        for l in lines[:limit]:
            print("    " + l[:300], flush=True)
        if len(lines) > limit:
            print("    ... %d more" % (len(lines) - limit), flush=True)

    def fail(self, why):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None
        raise AssertionError("%s %s; its output:\n%s" % (self.name, why, "\n".join(self.output[-200:])))

    def cleanup(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


def create_topics(bootstrap):
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    futs = admin.create_topics([NewTopic(INPUT, PARTITIONS, 1), NewTopic(OUTPUT, PARTITIONS, 1)], request_timeout=20)
    for t, f in futs.items():
        f.result(30)
    deadline = time.time() + 30
    while True:
        md = admin.list_topics(timeout=10)
        if all(t in md.topics and len(md.topics[t].partitions) == PARTITIONS for t in (INPUT, OUTPUT)):
            return
        if time.time() > deadline:
            raise AssertionError("topics not visible in metadata within 30s")
        time.sleep(0.1)


class Views:
    """Produces page views (key = user, value = page) and keeps the true count per page."""

    def __init__(self, bootstrap, seed):
        from confluent_kafka import Producer

        self.rng = random.Random(seed)
        self.truth = {}
        self.lock = threading.Lock()
        self.errors = []
        self.producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all",
                                  "linger.ms": 5, "message.timeout.ms": 60000})

    def _cb(self, err, msg):
        if err is not None:
            self.errors.append(str(err))

    def produce(self, n, rate=None, stop=None):
        """Produces n views (or until `stop` is set if n is None), at about `rate` views/s if
        given, and waits until all are acknowledged."""
        batch = 50
        t0 = time.time()
        i = 0
        while (i < n) if n is not None else not stop.is_set():
            page = self.rng.choices(PAGES, WEIGHTS)[0]
            user = "user-%d" % self.rng.randrange(500)
            while True:
                try:
                    self.producer.produce(INPUT, key=user.encode(), value=page.encode(), on_delivery=self._cb)
                    break
                except BufferError:
                    self.producer.poll(0.05)
            with self.lock:
                self.truth[page] = self.truth.get(page, 0) + 1
            i += 1
            if rate and i % batch == 0:
                self.producer.poll(0)
                ahead = t0 + i / rate - time.time()
                if ahead > 0:
                    time.sleep(ahead)
        left = self.producer.flush(60)
        if left or self.errors:
            raise AssertionError("producing views failed: %d unacknowledged, errors %s" % (left, self.errors[:3]))

    def produce_async(self, n, rate, stop=None):
        t = threading.Thread(target=self._run, args=(n, rate, stop), daemon=True)
        t.exc = None
        t.start()
        return t

    def _run(self, n, rate, stop):
        try:
            self.produce(n, rate, stop)
        except BaseException as e:  # reported by join_wave
            threading.current_thread().exc = e

    def total(self):
        with self.lock:
            return sum(self.truth.values())

    def snapshot(self):
        with self.lock:
            return dict(self.truth)


def join_wave(t):
    t.join(120)
    if t.is_alive():
        raise AssertionError("producing a wave of views did not finish within 120s")
    if t.exc is not None:
        raise t.exc


class Output:
    """A read_committed reader of the output topic, kept open and read incrementally."""

    def __init__(self, bootstrap):
        from confluent_kafka import Consumer, TopicPartition

        self.c = Consumer({"bootstrap.servers": bootstrap, "group.id": "streams-fault-verify",
                           "enable.auto.commit": False, "isolation.level": "read_committed",
                           "fetch.wait.max.ms": 50, "enable.partition.eof": False})
        self.c.assign([TopicPartition(OUTPUT, p, 0) for p in range(PARTITIONS)])
        self.seq = {}  # page -> [(partition, offset, value)] in arrival (offset) order
        self.records = 0
        self.per_partition = {}

    def poll(self, seconds=0.2):
        n = 0
        for m in self.c.consume(5000, seconds):
            if m.error():
                raise AssertionError("reading %s: %s" % (OUTPUT, m.error()))
            key = m.key().decode() if m.key() is not None else None
            val = m.value().decode() if m.value() is not None else None
            self.seq.setdefault(key, []).append((m.partition(), m.offset(), val))
            self.per_partition[m.partition()] = self.per_partition.get(m.partition(), 0) + 1
            n += 1
        self.records += n
        return n

    def latest(self):
        return {p: int(s[-1][2]) for p, s in self.seq.items()}

    def wait(self, cond, what, timeout, apps=()):
        """Reads until cond() holds; fails after `timeout` seconds or if an app process died."""
        deadline = time.time() + timeout
        while not cond():
            if time.time() > deadline:
                raise AssertionError("timed out after %ds waiting for %s" % (timeout, what))
            for a in apps:
                a.check_alive()
            self.poll()

    def wait_counts(self, truth, timeout, apps=()):
        """Waits until every page's latest count reaches its true count (or passes it)."""
        def reached():
            lat = self.latest()
            return all(lat.get(p, 0) >= n for p, n in truth.items())

        try:
            self.wait(reached, "every page's count to reach its true value", timeout, apps)
        except AssertionError as e:
            raise AssertionError("%s\n%s" % (e, diff_table(truth, self.latest())))
        self.poll(0.5)  # anything committed just after (there must be nothing: checked by check_exact)

    def close(self):
        self.c.close()


def diff_table(truth, got):
    rows = []
    for p in sorted(set(truth) | set(got)):
        e, g = truth.get(p, 0), got.get(p)
        if g != e:
            rows.append("  %-10s expected %6d  got %s" % (p, e, "none" if g is None else "%6d" % g))
    return "page       expected / got (only differing pages):\n" + "\n".join(rows)


def check_exact(out, truth, label):
    """The committed output of every page is exactly 1, 2, ..., truth[page]."""
    total = sum(truth.values())
    log("%s: checking %d pages, %d views: committed output per page must be exactly 1..N "
        "(final count = truth, no count twice, none skipped); %d output records read"
        % (label, len(truth), total, out.records))
    problems = []
    for p in sorted(set(truth) | set(out.seq)):
        recs = out.seq.get(p, [])
        vals = [int(v) for _, _, v in recs]
        n = truth.get(p, 0)
        if p not in truth:
            problems.append("  %s: unknown page in the output (%d records)" % (p, len(recs)))
            continue
        parts = {part for part, _, _ in recs}
        if len(parts) > 1:
            problems.append("  %s: output spread over partitions %s" % (p, sorted(parts)))
        if vals == list(range(1, n + 1)):
            continue
        seen, dups = set(), []
        for v in vals:
            if v in seen:
                dups.append(v)
            seen.add(v)
        missing = sorted(set(range(1, n + 1)) - seen)
        first_bad = next((i for i, v in enumerate(vals) if v != i + 1), len(vals))
        problems.append("  %s: expected final %d, got %s; %d records; counts shown twice: %s; counts never shown: %s; "
                        "first deviation at record %d: %s" % (
                            p, n, vals[-1] if vals else "none", len(vals), dups[:10], missing[:10], first_bad,
                            recs[max(0, first_bad - 2):first_bad + 3]))
    if problems:
        raise AssertionError("%s: output is not exact:\n%s\n%s" % (label, "\n".join(problems),
                                                                  diff_table(truth, out.latest())))
    log("%s: exact (%d pages, final counts = truth, each page's output is 1..N)" % (label, len(truth)))


def seeded_rng():
    """A fresh random seed, logged so a failure can be replayed, and its generator."""
    seed = random.Random().randrange(1 << 30)
    log("seed %d" % seed)
    return seed, random.Random(seed)


def last_wave(views, out, apps, n):
    """Views after the last fault: the counts must continue from the restored values."""
    views.produce(n, rate=2000)
    truth = views.snapshot()
    out.wait_counts(truth, 120, apps)
    check_exact(out, truth, "after a last wave")


def wait_progress(out, records_before, apps, timeout=90):
    """Waits until the app has committed new output (it is processing), so a kill lands mid-stream."""
    out.wait(lambda: out.records > records_before, "new committed output", timeout, apps)


class Env:
    def __init__(self, broker_path, app_path):
        self.broker_path, self.app_path = broker_path, app_path
        self.dirs = []

    def tempdir(self, prefix):
        d = tempfile.mkdtemp(prefix=prefix)
        self.dirs.append(d)
        return d

    def cleanup(self):
        for d in self.dirs:
            shutil.rmtree(d, ignore_errors=True)


def owns_all(members, n):
    """The group has n members (one app's threads) that together own every partition."""
    return len(members) == n and sum(len(v) for v in members.values()) == 2 * PARTITIONS and all(members.values())


def members_parts(bootstrap):
    return group_assignment(bootstrap, APP_ID)


def wait_group(out, bootstrap, apps, dead, timeout=90):
    """Waits until the app group is Stable with one member per live app, each owning partitions,
    none of them a member of a killed instance (`dead`); returns the member ids."""
    deadline = time.time() + timeout
    while True:
        members = group_assignment(bootstrap, APP_ID)
        if len(members) == sum(a.threads for a in apps) and all(members.values()) and not (set(members) & dead):
            return set(members)
        if time.time() > deadline:
            raise AssertionError("the group did not settle within %ds with %d live member(s) owning partitions: %s"
                                 % (timeout, len(apps), members))
        for a in apps:
            a.check_alive()
        out.poll(0.3)


def case_kill9_exactly_once(env):
    mid_stream_kills = 5
    seed, rng = seeded_rng()
    with Broker(env.broker_path, settings=BROKER_SETTINGS) as b:
        create_topics(b.bootstrap)
        views = Views(b.bootstrap, seed)
        views.produce(1500)
        log("wave 0: %d views before the first start" % views.total())
        out = Output(b.bootstrap)
        app = App(env.app_path, b.bootstrap, env.tempdir("eddy-fault-state-"), "app")
        stop = threading.Event()
        producer = None
        try:
            app.start()
            # Views keep coming while the app is killed and restarted, so kills land mid-stream.
            rate = rng.choice([300, 600, 1000])
            log("producing views continuously at %d/s" % rate)
            producer = views.produce_async(None, rate=rate, stop=stop)
            dead = set()
            restores = []  # changelog records replayed by each restart on the kept state dir
            # Kills mid-stream once the (restarted) instance owns its tasks and has committed output; one
            # more at a random moment right after a restart (during the rejoin or the restore).
            early = rng.randrange(1, mid_stream_kills + 1)
            kill_no = 0
            for k in range(1, mid_stream_kills + 1):
                members = wait_group(out, b.bootstrap, [app], dead)
                if app.runs > 1:
                    restores.append(sum(app.restored().values()))
                wait_progress(out, out.records, [app])
                time.sleep(rng.uniform(0.05, 1.0))
                app.kill()
                dead |= members
                kill_no += 1
                log("kill %d (mid-stream): %d views produced so far, %d committed output records" % (
                    kill_no, views.total(), out.records))
                time.sleep(rng.uniform(0.0, 0.3))
                app.start()  # same state dir: RocksDB is reopened, only the changelog tail replays
                if k == early:
                    time.sleep(rng.uniform(0.1, 3.0))
                    dead |= set(group_assignment(b.bootstrap, APP_ID))
                    app.kill()
                    kill_no += 1
                    log("kill %d (right after a restart): %d views produced so far" % (kill_no, views.total()))
                    app.start()
            members = wait_group(out, b.bootstrap, [app], dead)
            wait_progress(out, out.records, [app])
            stop.set()
            join_wave(producer)
            truth = views.snapshot()
            log("stopped producing: %d views" % views.total())
            out.wait_counts(truth, 120, [app])
            check_exact(out, truth, "after %d kills" % kill_no)
            restores.append(sum(app.restored().values()))
            log("changelog records replayed by each restart that got to processing: %s (of %d counts in the changelog)"
                % (restores, sum(truth.values())))
            # The local RocksDB state is reused: a restart replays at most the tail that was
            # committed but not yet applied when it was killed, never the whole changelog.
            tail_limit = max(600, sum(truth.values()) // 4)
            if max(restores) > tail_limit:
                raise AssertionError("a restart on the same state dir replayed %d changelog records (more than %d): "
                                     "the local RocksDB state was not reused" % (max(restores), tail_limit))
            # A last wave after the last restart: the counts must continue from the restored values.
            last_wave(views, out, [app], 1000)
            app.stop()
        finally:
            stop.set()
            app.report()
            app.cleanup()
            out.close()


def case_scale_out_kill9(env):
    seed, rng = seeded_rng()
    with Broker(env.broker_path, settings=BROKER_SETTINGS) as b:
        create_topics(b.bootstrap)
        views = Views(b.bootstrap, seed)
        views.produce(1000)
        out = Output(b.bootstrap)
        a = App(env.app_path, b.bootstrap, env.tempdir("eddy-fault-a-"), "app-a")
        c = App(env.app_path, b.bootstrap, env.tempdir("eddy-fault-b-"), "app-b")
        try:
            a.start()
            c.start()
            wave = views.produce_async(4000, rate=rng.choice([800, 1500]))
            # Both must own tasks and have processed: the group settles with two members owning
            # partitions, then every output partition moves (output partition p is written by
            # task 1_p only: repartition and output topics are both keyed by page, 4 partitions).
            members = wait_group(out, b.bootstrap, [a, c], set())
            log("group members and their partitions: %s" % sorted(members_parts(b.bootstrap).values()))
            before = dict(out.per_partition)
            out.wait(lambda: all(out.per_partition.get(p, 0) > before.get(p, 0) for p in range(PARTITIONS)),
                     "committed output on every partition from both members", 90, [a, c])
            time.sleep(rng.uniform(0.05, 0.8))
            mark = len(a.output)
            c.kill()
            log("killed app-b mid-stream: %d views produced so far, %d committed output records" % (
                views.total(), out.records))
            t_kill = time.time()
            deadline = time.time() + 90
            while True:  # the survivor alone owns every partition
                now = members_parts(b.bootstrap)
                if owns_all(now, a.threads):
                    break
                if time.time() > deadline:
                    raise AssertionError("the survivor did not take over every partition within 90s: %s" % now)
                a.check_alive()
                out.poll(0.3)
            log("the survivor owns all %d partitions %.1fs after the kill" % (2 * PARTITIONS, time.time() - t_kill))
            join_wave(wave)
            truth = views.snapshot()
            out.wait_counts(truth, 120, [a])
            log("survivor caught up %.1fs after the kill" % (time.time() - t_kill))
            restored = {}
            for line in a.output[mark:]:
                m = RESTORED_RE.search(line)
                if m:
                    restored[m.group(1)] = restored.get(m.group(1), 0) + int(m.group(2))
            log("after the kill the survivor restored changelog records per task: %s" % restored)
            if not restored:
                raise AssertionError("the survivor took over app-b's tasks without restoring anything from their "
                                     "changelogs (app-b had processed and committed); survivor output:\n"
                                     + "\n".join(a.output[mark:][-50:]))
            check_exact(out, truth, "after the takeover")
            last_wave(views, out, [a], 500)
            a.stop()
        finally:
            a.report()
            c.report()
            a.cleanup()
            c.cleanup()
            out.close()


def group_assignment(bootstrap, group):
    """member id -> sorted [(topic, partition)] of a consumer group's current generation."""
    import struct

    from confluent_kafka.admin import AdminClient

    from confluent_kafka import KafkaException

    admin = AdminClient({"bootstrap.servers": bootstrap})
    out = {}
    try:
        groups = admin.list_groups(group, timeout=10)
    except KafkaException:  # e.g. the broker is restarting: no answer this time
        return {}
    for g in groups:
        if g.id != group or g.state != "Stable":
            continue
        for m in g.members:
            parts = []
            buf = bytes(m.assignment or b"")
            if len(buf) >= 6:  # ConsumerProtocolAssignment: version, [topic, [partition]], user data
                pos = 2
                (nt,) = struct.unpack_from(">i", buf, pos)
                pos += 4
                for _ in range(max(nt, 0)):
                    (ln,) = struct.unpack_from(">h", buf, pos)
                    pos += 2
                    topic = buf[pos:pos + ln].decode()
                    pos += ln
                    (np_,) = struct.unpack_from(">i", buf, pos)
                    pos += 4
                    for _ in range(max(np_, 0)):
                        parts.append((topic, struct.unpack_from(">i", buf, pos)[0]))
                        pos += 4
            out[m.id] = sorted(parts)
    return out


def case_wiped_state_restore(env):
    seed = random.randrange(1 << 30)
    log("seed %d" % seed)
    with Broker(env.broker_path, settings=BROKER_SETTINGS) as b:
        create_topics(b.bootstrap)
        views = Views(b.bootstrap, seed)
        views.produce(2000)
        out = Output(b.bootstrap)
        state = env.tempdir("eddy-fault-wipe-")
        app = App(env.app_path, b.bootstrap, state, "app")
        try:
            app.start()
            truth = views.snapshot()
            out.wait_counts(truth, 120, [app])
            check_exact(out, truth, "before the kill")
            wave = views.produce_async(1500, rate=1500)
            before = out.records
            wait_progress(out, before, [app])
            app.kill()
            shutil.rmtree(state)
            log("deleted the state dir %s" % state)
            app.start()
            join_wave(wave)
            truth = views.snapshot()
            out.wait_counts(truth, 120, [app])
            check_exact(out, truth, "after the wiped restart")
            restored = app.restored()
            log("the wiped restart restored %d changelog records (per task %s)" % (sum(restored.values()), restored))
            # Every page was counted before the kill, so each page's key must come back from the changelog.
            if sum(restored.values()) < len(PAGES):
                raise AssertionError("the restart on a deleted state dir restored only %d changelog records: the "
                                     "stores were not rebuilt from the changelog" % sum(restored.values()))
            last_wave(views, out, [app], 500)
            app.stop()
        finally:
            app.report()
            app.cleanup()
            out.close()


def case_scale_out_zombie(env):
    seed, rng = seeded_rng()
    with Broker(env.broker_path, settings=BROKER_SETTINGS) as b:
        create_topics(b.bootstrap)
        views = Views(b.bootstrap, seed)
        views.produce(1000)
        out = Output(b.bootstrap)
        # Two stream threads per process: tasks also move between the threads of one process
        # (one thread may still hold a task's store when another is assigned it).
        two = {"num.stream.threads": "2"}
        a = App(env.app_path, b.bootstrap, env.tempdir("eddy-fault-a-"), "app-a", settings=two)
        c = App(env.app_path, b.bootstrap, env.tempdir("eddy-fault-b-"), "app-b", settings=two)
        stop = threading.Event()
        try:
            a.start()
            c.start()
            producer = views.produce_async(None, rate=rng.choice([500, 1000]), stop=stop)
            members = wait_group(out, b.bootstrap, [a, c], set())
            before = dict(out.per_partition)
            out.wait(lambda: all(out.per_partition.get(p, 0) > before.get(p, 0) for p in range(PARTITIONS)),
                     "committed output on every partition from both members", 90, [a, c])
            time.sleep(rng.uniform(0.05, 0.5))
            # A zombie: app-b freezes mid-stream (a long pause, a partition) past its session and
            # transaction timeouts, while app-a takes over; then it wakes up and carries on from
            # where it was: whatever it writes must be fenced, never committed.
            c.proc.send_signal(signal.SIGSTOP)
            log("app-b frozen (SIGSTOP) mid-stream: %d views produced, %d committed output records" % (
                views.total(), out.records))
            t0 = time.time()
            deadline = t0 + 90
            while True:
                now = members_parts(b.bootstrap)
                if owns_all(now, a.threads):
                    break
                if time.time() > deadline:
                    raise AssertionError("app-a did not take over every partition within 90s: %s" % now)
                a.check_alive()
                out.poll(0.3)
            survivor = set(now)
            log("app-a owns all %d partitions %.1fs after the freeze" % (2 * PARTITIONS, time.time() - t0))
            before = dict(out.per_partition)
            out.wait(lambda: all(out.per_partition.get(p, 0) > before.get(p, 0) for p in range(PARTITIONS)),
                     "committed output on every partition from app-a alone", 90, [a])
            mark = len(c.output)
            c.proc.send_signal(signal.SIGCONT)
            log("app-b woken up (SIGCONT) %.1fs after the freeze" % (time.time() - t0))
            # app-b must notice it was fenced, rejoin, and get tasks back (its local state is now
            # stale: it replays the changelog tail written by app-a).
            deadline = time.time() + 90
            while True:
                now = members_parts(b.bootstrap)
                if len(now) == a.threads + c.threads and all(now.values()) and survivor <= set(now):
                    break
                if time.time() > deadline:
                    raise AssertionError("app-b did not rejoin with tasks within 90s: %s; app-b output:\n%s" % (
                        now, "\n".join(c.output[mark:][-50:])))
                a.check_alive()
                c.check_alive()
                out.poll(0.3)
            log("app-b rejoined: group %s" % sorted(now.values()))
            before = dict(out.per_partition)
            out.wait(lambda: all(out.per_partition.get(p, 0) > before.get(p, 0) for p in range(PARTITIONS)),
                     "committed output on every partition after the rejoin", 90, [a, c])
            stop.set()
            join_wave(producer)
            truth = views.snapshot()
            out.wait_counts(truth, 120, [a, c])
            check_exact(out, truth, "after the zombie woke up and rejoined")
            fenced = [l for l in c.output[mark:] if "failed" in l or "fenced" in l or "rebuilding" in l]
            log("app-b after waking up: %s" % (fenced[:5] or "no error logged"))
            last_wave(views, out, [a, c], 500)
            a.stop()
            c.stop()
        finally:
            stop.set()
            a.report()
            c.report()
            a.cleanup()
            c.cleanup()
            out.close()


def case_broker_kill9(env):
    kills = 2
    seed, rng = seeded_rng()
    b = Broker(env.broker_path, settings=BROKER_SETTINGS, keep_port=True)
    stop = threading.Event()
    app = out = None
    try:
        b.start()
        create_topics(b.bootstrap)
        views = Views(b.bootstrap, seed)
        views.produce(1000)
        out = Output(b.bootstrap)
        app = App(env.app_path, b.bootstrap, env.tempdir("eddy-fault-state-"), "app")
        app.start()
        producer = views.produce_async(None, rate=rng.choice([300, 600]), stop=stop)
        for k in range(1, kills + 1):
            wait_group(out, b.bootstrap, [app], set())
            wait_progress(out, out.records, [app])
            time.sleep(rng.uniform(0.05, 1.0))
            b.kill()
            log("broker kill %d: %d views produced, %d committed output records" % (k, views.total(), out.records))
            time.sleep(rng.uniform(0.1, 0.5))
            b.start()
            log("broker restarted on %s" % b.bootstrap)
        wait_group(out, b.bootstrap, [app], set())
        wait_progress(out, out.records, [app])
        stop.set()
        join_wave(producer)
        truth = views.snapshot()
        out.wait_counts(truth, 120, [app])
        check_exact(out, truth, "after %d broker kills" % kills)
        last_wave(views, out, [app], 500)
        app.stop()
        if b.stop() != 0:
            raise AssertionError("eddy-broker exited uncleanly")
    finally:
        stop.set()
        if app:
            app.report()
            app.cleanup()
        if out:
            out.close()
        b.cleanup()


CASES = {
    "kill9_exactly_once": case_kill9_exactly_once,
    "scale_out_kill9": case_scale_out_kill9,
    "wiped_state_restore": case_wiped_state_restore,
    "scale_out_zombie": case_scale_out_zombie,
    "broker_kill9": case_broker_kill9,
}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--broker", required=True)
    p.add_argument("--app", required=True)
    p.add_argument("case", choices=sorted(CASES))
    a = p.parse_args()
    env = Env(a.broker, a.app)
    try:
        CASES[a.case](env)
    finally:
        env.cleanup()
    print("PASS %s (%.1fs)" % (a.case, time.time() - T0))


if __name__ == "__main__":
    main()
