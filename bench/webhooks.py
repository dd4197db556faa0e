"""How fast webhooks travel: a real worker, a real HTTP receiver, all on loopback.

    .venv/bin/python bench/webhooks.py [--rate 20] [--seconds 30] [--workers 1]
        [--redis redis://127.0.0.1:6379/14]

Records public notes at --rate per second on 50 requests while `city311 worker` commands
(CITY311_WORKER_PROCESSES=2 each) carry them through the event stream and the webhook outbox
to a receiver in a process of its own, which verifies each signature. Prints the delay from
the history event to the receiver's answer, p50, p95 and p99, and whether each request's
events arrived in order and none twice.

Runs on a fresh database under a temporary CITY311_DATA_DIR (SQLite), or on DATABASE_URL if set
(it must be a database you can wipe: the benchmark migrates and fills it).
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("CITY311_DATA_DIR", tempfile.mkdtemp(prefix="city311-bench-"))
os.environ["DJANGO_SETTINGS_MODULE"] = "city311.settings"
os.environ["CITY311_QUEUE_NAME"] = f"bench-{os.getpid()}"
if "--redis" in sys.argv:
    os.environ["REDIS_URL"] = sys.argv[sys.argv.index("--redis") + 1]
else:
    os.environ.pop("REDIS_URL", None)

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django_q.brokers import get_broker  # noqa: E402
from standardwebhooks.webhooks import Webhook  # noqa: E402

from bench.notifications import (  # noqa: E402
    THREADS,
    database_url,
    free_port,
    note_at_rate,
    report,
    setup_city,
    stop_worker,
    wait_for_workers,
    wait_until,
)
from city311.servicerequests.models import RequestEvent  # noqa: E402
from city311.servicerequests.tasks import dispatch_events  # noqa: E402
from city311.webhooks.models import WebhookEndpoint, WebhookPost  # noqa: E402


def start_worker(processes: int) -> subprocess.Popen:
    """A `city311 worker`; the reporters' e-mails go to files (no SMTP server here)."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "CITY311_WORKER_PROCESSES": str(processes),
        "CITY311_LOG_LEVEL": "WARNING",
    }
    env.pop("EMAIL_HOST", None)
    return subprocess.Popen(
        [sys.executable, "-m", "city311", "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def _receiver(port: int, queue: multiprocessing.Queue, ready) -> None:
    verifier = Webhook(SECRET)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            payload = verifier.verify(body, dict(self.headers))
            now = time.time()
            self.send_response(204)
            self.end_headers()
            event = payload["data"]["event"]["id"]
            number = payload["data"]["request"]["service_request_id"]
            queue.put((self.headers["webhook-id"], event, number, now))

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    ready.set()
    server.serve_forever()


def main() -> None:
    logging.getLogger("django-q").setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--redis", default="")
    args = parser.parse_args()
    port, queue, ready = free_port(), multiprocessing.Queue(), multiprocessing.Event()
    receiver = multiprocessing.Process(target=_receiver, args=(port, queue, ready), daemon=True)
    receiver.start()
    ready.wait(30)
    received: list[tuple[str, int, str, float]] = []
    threading.Thread(
        target=lambda: [received.append(queue.get()) for _ in iter(int, 1)], daemon=True
    ).start()
    setup_city()
    print(f"database: {connection.vendor}")
    pool = [report(i) for i in range(50)]
    dispatch_events()  # the cursors start here; the filing events are not timed
    get_broker().purge_queue()
    # The receiver is on loopback: marked as on the city's network, as an administrator would
    # (the outbound guard refuses loopback otherwise).
    WebhookEndpoint.objects.create(
        name="bench",
        url=f"http://127.0.0.1:{port}/hook",
        internal=True,
        secret=SECRET,
        kinds=["request.note"],
    )
    workers = [start_worker(processes=2) for _ in range(args.workers)]
    try:
        wait_for_workers()
        total = args.rate * args.seconds
        start = time.monotonic()
        threads = [
            threading.Thread(target=note_at_rate, args=(pool, t, THREADS, args.rate, total, start))
            for t in range(THREADS)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wait_until(lambda: len(received) >= total, timeout=120 + args.seconds)
    finally:
        for worker in workers:
            stop_worker(worker)
        receiver.terminate()
    at = dict(RequestEvent.objects.filter(kind="request.note").values_list("pk", "at"))
    arrival = [
        now - at[event].timestamp() for _, event, _, now in sorted(received, key=lambda r: r[1])
    ]
    # A delay that grows from quarter to quarter is a backlog: the workers fall behind.
    quarters = [arrival[len(arrival) * q // 4 : len(arrival) * (q + 1) // 4] for q in range(4)]
    medians = " ".join(f"{statistics.median(q) * 1000:.0f}" for q in quarters if q)
    print(f"p50 by quarter of the run (ms): {medians}")
    delays = sorted(arrival)
    ids = [wid for wid, *_ in received]
    per_request: dict[str, list[int]] = {}
    for _, event, number, _ in received:
        per_request.setdefault(number, []).append(event)
    in_order = all(events == sorted(events) for events in per_request.values())
    print(
        f"{len(received)} of {total} posts received ({WebhookPost.objects.count()} written); "
        f"twice: {len(ids) - len(set(ids))}; in order per request: {in_order}"
    )
    if delays:
        p95 = delays[min(len(delays) - 1, int(len(delays) * 0.95))]
        p99 = delays[min(len(delays) - 1, int(len(delays) * 0.99))]
        print(
            f"event → receiver at {args.rate} events/s: p50 {statistics.median(delays) * 1000:.0f}"
            f" ms, p95 {p95 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms "
            f"({args.workers} worker(s) of 2 processes, "
            f"queue in {'Redis' if args.redis else 'the database'})"
        )


if __name__ == "__main__":
    main()
