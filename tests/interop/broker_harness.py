"""Starts and stops a real eddy-broker process for the interop tests.

Each test starts a fresh broker on an ephemeral loopback port (--listen 127.0.0.1:0)
with a temporary data directory, reads the port from the line the broker prints
("eddy-broker listening on 127.0.0.1:PORT ..."), and stops it at the end (SIGTERM,
then SIGKILL if it does not exit within a few seconds).

Used as a module by the Python tests, and as a command that wraps another program
(the kafkajs tests):
    broker_harness.py --broker PATH [--set k=v ...] -- node test.js ARGS
runs the program with EDDY_BOOTSTRAP=127.0.0.1:PORT in its environment and returns
its exit status.

Runs under the system python3 (/usr/bin/python3); standard library only.
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

LISTEN_RE = re.compile(r"eddy-broker listening on ([0-9.]+):(\d+)")


class Broker:
    """One eddy-broker process. Restartable on the same data directory (and, with
    keep_port, on the same port)."""

    def __init__(self, binary, data_dir=None, settings=None, start_timeout=15.0, wrap=None, keep_port=False):
        self.binary = binary
        self.wrap = list(wrap or [])  # a command prefix that execs the broker (e.g. nsenter ...)
        self.keep_port = keep_port
        self.own_dir = data_dir is None
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="eddy-interop-")
        self.settings = dict(settings or {})
        self.start_timeout = start_timeout
        self.proc = None
        self.port = None
        self.output = []  # every line the broker printed, stdout and stderr merged

    @property
    def bootstrap(self):
        return "127.0.0.1:%d" % self.port

    def start(self):
        """Starts the broker. A restart with keep_port listens on the port of the first
        start again (clients keep their address), retrying while the port is still taken
        after a kill."""
        assert self.proc is None, "broker already running"
        port = self.port if self.keep_port and self.port else 0
        for attempt in range(50 if port else 1):
            if attempt:
                time.sleep(0.1)
            if self._launch(port):
                return self
            self.kill()
        raise RuntimeError("eddy-broker did not report its port; output:\n" + "\n".join(self.output[-40:]))

    def _launch(self, port):
        args = self.wrap + [self.binary, "--listen", "127.0.0.1:%d" % port, "--data-dir", self.data_dir]
        for k, v in self.settings.items():
            args += ["--set", "%s=%s" % (k, v)]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
        found = threading.Event()
        bound = [None]

        def pump(proc):
            for line in proc.stdout:
                self.output.append(line.rstrip("\n"))
                m = LISTEN_RE.search(line)
                if m and not found.is_set():
                    bound[0] = int(m.group(2))
                    found.set()
            found.set()  # EOF: unblock the waiter

        self._pump = threading.Thread(target=pump, args=(self.proc,), daemon=True)
        self._pump.start()
        if not found.wait(self.start_timeout) or bound[0] is None:
            return False
        self.port = bound[0]
        return True

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=10.0):
        """Clean shutdown with SIGTERM; returns the exit code. Fails loudly if it hangs."""
        if self.proc is None:
            return None
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self.proc = None
            raise RuntimeError("eddy-broker did not exit within %.0fs of SIGTERM" % timeout)
        self._pump.join(2)
        self.proc = None
        return rc

    def kill(self):
        """kill -9: simulates a crash."""
        if self.proc is None:
            return
        self.proc.kill()
        self.proc.wait()
        self._pump.join(2)
        self.proc = None

    def cleanup(self):
        self.kill()
        if self.own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        try:
            if self.alive():
                rc = self.stop()
                if exc[0] is None and rc != 0:
                    raise AssertionError("eddy-broker exited with %s; output:\n%s" % (rc, "\n".join(self.output)))
            elif exc[0] is None and self.proc is not None:
                raise AssertionError("eddy-broker died during the test; output:\n" + "\n".join(self.output))
        finally:
            self.cleanup()
        return False


def run_cases(cases, argv=None):
    """Tiny runner: `script.py --broker PATH CASE` runs one case function(broker_path)."""
    p = argparse.ArgumentParser()
    p.add_argument("--broker", required=True)
    p.add_argument("case", choices=sorted(cases))
    a = p.parse_args(argv)
    t0 = time.time()
    cases[a.case](a.broker)
    print("PASS %s (%.1fs)" % (a.case, time.time() - t0))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--broker", required=True)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--timeout", type=float, default=90.0)
    p.add_argument("command", nargs=argparse.REMAINDER)
    a = p.parse_args()
    cmd = a.command[1:] if a.command and a.command[0] == "--" else a.command
    if not cmd:
        p.error("no command to run")
    settings = dict(s.split("=", 1) for s in a.set)
    with Broker(a.broker, settings=settings) as b:
        env = dict(os.environ, EDDY_BOOTSTRAP=b.bootstrap)
        try:
            rc = subprocess.run(cmd, env=env, timeout=a.timeout).returncode
        except subprocess.TimeoutExpired:
            print("command timed out after %.0fs" % a.timeout, file=sys.stderr)
            rc = 124
        if not b.alive():
            print("eddy-broker died; output:\n" + "\n".join(b.output), file=sys.stderr)
            rc = rc or 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
