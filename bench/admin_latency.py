#!/usr/bin/python3
"""admin_latency: how long other clients wait while a broker makes partition files.

One confluent-kafka producer sends acks=1 records one at a time (a round trip each) to a
topic that exists, while another client makes 3 x 100 partitions in one of three ways:

  create     CreateTopics of 3 topics with 100 partitions each
  auto       producing to 3 new topics, auto-created with num.partitions=100
  grow       CreatePartitions of 3 one-partition topics to 100 partitions each

and prints, per way: how long the partitions took to appear, and the producer's round
trips meanwhile (count, p50, p99, max). A broker that makes the files on its event loop
holds every other client for the whole time (max about the creation time); Eddy makes
them on its admin thread.

    bench/admin_latency.py --broker build/broker/eddy-broker [--ways create,auto,grow] [--repeat N]

Needs /usr/bin/python3 with python3-confluent-kafka (installed by ./dev setup).
"""
import argparse
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "interop"))
from broker_harness import Broker  # noqa: E402

from confluent_kafka import Producer  # noqa: E402
from confluent_kafka.admin import AdminClient, NewPartitions, NewTopic  # noqa: E402

PARTITIONS = 100
TOPICS = 3


def quiet_producer(bootstrap):
    return Producer({"bootstrap.servers": bootstrap, "linger.ms": 0, "acks": "1", "log_level": 0})


def run_way(binary, way):
    with Broker(binary, settings={"num.partitions": str(PARTITIONS if way == "auto" else 1)}) as b:
        admin = AdminClient({"bootstrap.servers": b.bootstrap, "log_level": 0})
        if way == "grow":
            for f in admin.create_topics([NewTopic("grow%d" % i, 1, 1) for i in range(TOPICS)]).values():
                f.result(30)
        ping = quiet_producer(b.bootstrap)
        for _ in range(50):  # the topic exists (auto-created with 1 or 100 partitions) and is warm
            ping.produce("ping", value=b"x", partition=0)
            ping.flush(10)
        lat = []
        stop = threading.Event()

        def pinger():
            while not stop.is_set():
                t = time.perf_counter()
                ping.produce("ping", value=b"x", partition=0)
                ping.flush(10)
                lat.append(time.perf_counter() - t)

        th = threading.Thread(target=pinger)
        th.start()
        time.sleep(0.3)
        t0 = time.perf_counter()
        if way == "create":
            for f in admin.create_topics([NewTopic("wide%d" % i, PARTITIONS, 1) for i in range(TOPICS)]).values():
                f.result(60)
        elif way == "auto":
            q = quiet_producer(b.bootstrap)
            for i in range(TOPICS):
                q.produce("auto%d" % i, value=b"y")
            if q.flush(60) != 0:
                raise SystemExit("admin_latency: records to auto-created topics were not delivered")
        else:
            for f in admin.create_partitions([NewPartitions("grow%d" % i, PARTITIONS) for i in range(TOPICS)]).values():
                f.result(60)
        took = time.perf_counter() - t0
        time.sleep(0.3)
        stop.set()
        th.join()
        lat.sort()
        return took, lat


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--broker", required=True, help="path to eddy-broker")
    ap.add_argument("--ways", default="create,auto,grow")
    ap.add_argument("--repeat", type=int, default=1)
    a = ap.parse_args()
    ways = [w for w in a.ways.split(",") if w]
    for w in ways:
        if w not in ("create", "auto", "grow"):
            ap.error("--ways takes create, auto and/or grow, not %r" % w)
    if not os.access(a.broker, os.X_OK):
        ap.error("--broker %s is not an executable (build first: ./dev build)" % a.broker)
    print("admin_latency: %d topics x %d partitions; another producer's acks=1 round trips meanwhile" % (TOPICS, PARTITIONS))
    for _ in range(a.repeat):
        for w in ways:
            took, lat = run_way(a.broker, w)
            n = len(lat)
            print("  %-6s partitions made in %6.0f ms; round trips n=%6d p50 %.2f ms p99 %.2f ms max %.1f ms"
                  % (w, took * 1e3, n, lat[n // 2] * 1e3, lat[int(n * 0.99)] * 1e3, lat[-1] * 1e3), flush=True)


if __name__ == "__main__":
    main()
