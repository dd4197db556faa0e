"""How fast notifications travel: a real worker, a real SMTP server, all on loopback.

    .venv/bin/python bench/notifications.py [--messages 2000] [--rate 100] [--seconds 20]
        [--workers 1] [--redis redis://127.0.0.1:6379/14]

Prints (1) messages delivered per second by one worker sending a backlog to a local SMTP
server, and (2) the delay from a request's history event to the SMTP server accepting the
message about it, p50 and p99, while events arrive at --rate per second, sent by --workers
`city311 worker` commands of CITY311_WORKER_PROCESSES=2 processes each.

Runs on a fresh database under a temporary CITY311_DATA_DIR (SQLite), or on DATABASE_URL if set
(it must be a database you can wipe: the benchmark migrates and fills it).
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("CITY311_DATA_DIR", tempfile.mkdtemp(prefix="city311-bench-"))
os.environ["DJANGO_SETTINGS_MODULE"] = "city311.settings"
# A queue of its own, so a shared Redis never hands these tasks to another worker.
os.environ["CITY311_QUEUE_NAME"] = f"bench-{os.getpid()}"
# The task queue: the database (the default) or, with --redis URL, Redis.
if "--redis" in sys.argv:
    os.environ["REDIS_URL"] = sys.argv[sys.argv.index("--redis") + 1]
else:
    os.environ.pop("REDIS_URL", None)

import django  # noqa: E402

django.setup()

from aiosmtpd.controller import Controller  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django_q.brokers import get_broker  # noqa: E402
from django_q.tasks import async_task, result  # noqa: E402

from city311.catalog.models import Department, ServiceType, SlaUnit  # noqa: E402
from city311.notifications.actions import plan_deliveries  # noqa: E402
from city311.notifications.models import Delivery, DeliveryStatus  # noqa: E402
from city311.servicerequests.actions import add_note  # noqa: E402
from city311.servicerequests.intake import submit_request  # noqa: E402
from city311.servicerequests.models import RequestEvent, ServiceRequest  # noqa: E402
from city311.servicerequests.validation import Submission  # noqa: E402

QUEUE = os.environ["CITY311_QUEUE_NAME"]


class Stamps:
    """When the SMTP server accepted each message, by Message-ID.

    The server runs in a process of its own, as a real one would: in this process it would
    compete for the interpreter with the threads recording events. It reports each acceptance
    through a queue, which a thread here reads into `accepted`.
    """

    def __init__(self) -> None:
        self.accepted: dict[str, float] = {}
        self.lock = threading.Lock()
        self.queue: multiprocessing.Queue = multiprocessing.Queue()
        self.port = free_port()
        ready = multiprocessing.Event()
        self.server = multiprocessing.Process(
            target=_smtp_server, args=(self.port, self.queue, ready), daemon=True
        )
        self.server.start()
        if not ready.wait(30):
            raise SystemExit("the SMTP server did not start")
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while True:
            key, at = self.queue.get()
            with self.lock:
                self.accepted[key] = at

    def count(self) -> int:
        with self.lock:
            return len(self.accepted)

    def stop(self) -> None:
        self.server.terminate()
        self.server.join()


class _Handler:
    def __init__(self, queue: multiprocessing.Queue) -> None:
        self.queue = queue

    async def handle_DATA(self, server, session, envelope) -> str:
        now = time.time()
        for line in envelope.content.split(b"\n", 60):
            if line.lower().startswith(b"message-id:"):
                key = line.split(b"<", 1)[1].split(b"@", 1)[0].decode()
                self.queue.put((key, now))
                break
        return "250 OK"


def _smtp_server(port: int, queue: multiprocessing.Queue, ready) -> None:
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    Controller(_Handler(queue), hostname="127.0.0.1", port=port).start()
    ready.set()
    threading.Event().wait()


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url() -> str:
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    return os.environ["DATABASE_URL"]


def start_worker(port: int, processes: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(port),
        "CITY311_WORKER_PROCESSES": str(processes),
        "CITY311_LOG_LEVEL": "WARNING",
        "CITY311_QUEUE_NAME": QUEUE,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "city311", "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def stop_worker(worker: subprocess.Popen) -> None:
    worker.send_signal(signal.SIGTERM)
    try:
        worker.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()


def wait_for_workers() -> None:
    """Until a worker has run a task: the clock measures sending, not start-up."""
    time.sleep(4)  # all workers' start-up, most of the time
    probe = async_task("math.floor", 1.5)  # a task that changes nothing
    if result(probe, wait=120_000) != 1:
        raise SystemExit("no worker ran a task within 2 minutes")


def wait_until(check, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return False


def setup_city() -> None:
    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    streets = Department.objects.create(name="Streets", slug="streets")
    ServiceType.objects.create(
        service_code="pothole",
        service_name="Pothole",
        department=streets,
        location_required=False,
        sla_amount=5,
        sla_unit=SlaUnit.CALENDAR_DAYS,
    )


def report(i: int) -> ServiceRequest:
    return submit_request(
        Submission(service_code="pothole", description="Bench", email=f"bench{i}@example.org")
    )


def throughput(stamps: Stamps, port: int, messages: int) -> float:
    """A backlog of `messages` due deliveries, sent by one worker process."""
    for i in range(messages):
        report(i)
    for event in RequestEvent.objects.all():  # the routing events too: nothing left waiting
        plan_deliveries(event)
    get_broker().purge_queue()  # planned here: the event stream's wake-ups need not run
    assert Delivery.objects.filter(status=DeliveryStatus.PENDING).count() == messages
    worker = start_worker(port, processes=1)
    try:
        wait_for_workers()
        start = time.time()
        for _ in range(messages // 1000 + 1):
            async_task("city311.notifications.tasks.send_due_deliveries")
        if not wait_until(lambda: stamps.count() >= messages, timeout=600):
            raise SystemExit(f"only {stamps.count()} of {messages} messages arrived")
        with stamps.lock:
            elapsed = max(stamps.accepted.values()) - start
    finally:
        stop_worker(worker)
    return messages / elapsed


THREADS = 4


def note_at_rate(
    pool: list[ServiceRequest], first: int, step: int, rate: int, total: int, start: float
) -> None:
    """Record events number first, first + step... each at start + n / rate."""
    try:
        for n in range(first, total, step):
            lag = start + n / rate - time.monotonic()
            if lag > 0:
                time.sleep(lag)
            add_note(pool[n % len(pool)], text=f"Update {n}", public=True, by=None)
    finally:
        connection.close()


def latency(
    stamps: Stamps, port: int, rate: int, seconds: int, workers: int
) -> tuple[float, float, int]:
    """Public notes at `rate` per second on followed requests; event → SMTP accepted."""
    pool = [report(100_000 + i) for i in range(50)]
    for event in RequestEvent.objects.filter(request__in=pool):
        plan_deliveries(event)  # the reporters follow; their "received" messages are not timed
    get_broker().purge_queue()  # planned here: the event stream's wake-ups need not run
    Delivery.objects.filter(request__in=pool).update(status=DeliveryStatus.SENT)
    running = [start_worker(port, processes=2) for _ in range(workers)]
    try:
        wait_for_workers()
        total = rate * seconds
        start = time.monotonic()
        # A few threads share the rate: one alone cannot record 100 events a second here.
        threads = [
            threading.Thread(target=note_at_rate, args=(pool, t, THREADS, rate, total, start))
            for t in range(THREADS)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        achieved = total / (time.monotonic() - start)
        timed = Delivery.objects.filter(kind="request.note")
        wait_until(
            lambda: timed.filter(status=DeliveryStatus.SENT).count() >= total, timeout=120 + seconds
        )
    finally:
        for worker in running:
            stop_worker(worker)
    delays = []
    for pk, at in timed.order_by("event_id").values_list("pk", "event__at"):
        accepted = stamps.accepted.get(f"delivery-{pk}")
        if accepted is not None:
            delays.append(accepted - at.timestamp())
    if len(delays) < total:
        print(f"  warning: {total - len(delays)} of {total} messages did not arrive in time")
    # A delay that grows from quarter to quarter is a backlog: the workers fall behind.
    quarters = [delays[len(delays) * q // 4 : len(delays) * (q + 1) // 4] for q in range(4)]
    medians = " ".join(f"{statistics.median(q) * 1000:.0f}" for q in quarters if q)
    print(f"  events recorded at {achieved:.0f}/s; p50 by quarter of the run (ms): {medians}")
    delays.sort()
    p50 = statistics.median(delays)
    p99 = delays[min(len(delays) - 1, int(len(delays) * 0.99))]
    return p50, p99, len(delays)


def main() -> None:
    # The SMTP server's and the queue's chatter.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    logging.getLogger("django-q").setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--rate", type=int, default=100)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--workers", type=int, default=1, help="`city311 worker` commands")
    parser.add_argument("--redis", default="", help="use Redis as the task queue's broker")
    args = parser.parse_args()
    stamps = Stamps()  # first: a fork before this process opens any database connection
    setup_city()
    try:
        print(f"database: {connection.vendor}")
        rate = throughput(stamps, stamps.port, args.messages)
        print(f"throughput: {rate:.0f} messages/s delivered by one worker process")
        p50, p99, n = latency(stamps, stamps.port, args.rate, args.seconds, args.workers)
        print(
            f"event → SMTP accepted at {args.rate} events/s: p50 {p50 * 1000:.0f} ms, "
            f"p99 {p99 * 1000:.0f} ms ({n} messages, {args.workers} worker(s) of 2 processes, "
            f"queue in {'Redis' if args.redis else 'the database'})"
        )
    finally:
        stamps.stop()


if __name__ == "__main__":
    main()
