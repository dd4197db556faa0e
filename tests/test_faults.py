"""Faults under load: a real `city311 up` loses and doubles nothing when its processes are killed.

Clients post reports through Open311 with an Idempotency-Key and retry a dropped connection with
the same key, as a careful client does. While they post, a web worker is killed (gunicorn's
master starts another), then the task worker, while it is sending an e-mail to a loopback SMTP
server (`up` restarts it). The only client errors allowed are the connections the web worker
was holding when it died; every acknowledged request is stored once; every message arrives
once, and the killed worker's message arrives long before its 300 s lease.

`python -m pytest tests/test_faults.py -q -s` prints what was measured.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import requests
from aiosmtpd.controller import Controller
from django.test import TransactionTestCase, override_settings

from city311.notifications.models import Delivery, DeliveryStatus
from city311.open311.models import ApiKey
from city311.servicerequests.models import ServiceRequest
from city311.test import CityMixin
from tests import processes
from tests.helpers import city311_env, free_port, wait_for
from tests.test_notifications_worker import Mailbox

# Waits on other processes and the clock: first, so parallel workers fill the wait.
pytestmark = pytest.mark.waits

CLIENTS = 4
PAUSE = 0.2
DROPPED = (requests.ConnectionError, requests.exceptions.ChunkedEncodingError)


class Load:
    """Client threads posting reports until stopped; what each post came to."""

    def __init__(self, url: str, key: str) -> None:
        self.url = url
        self.key = key
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.filed: dict[str, str] = {}  # idempotency key → tracking number
        self.dropped = 0  # connections closed under a request: retried with the same key
        self.errors: list[str] = []  # any other failure: a client error
        self.count = 0
        self.threads = [
            threading.Thread(target=self.post_until_stopped, args=(i,)) for i in range(CLIENTS)
        ]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=60)

    def done(self) -> int:
        with self.lock:
            return len(self.filed)

    def post_until_stopped(self, client: int) -> None:
        n = 0
        while not self.stopping.is_set():
            n += 1
            self.post(f"load-{client}-{n}", f"load{client}x{n}@example.org")
            # A steady load the one task worker keeps up with, so the test stays short.
            self.stopping.wait(PAUSE)

    def post(self, key: str, email: str) -> None:
        data = {
            "api_key": self.key,
            "service_code": "pothole",
            "lat": "40.6782",
            "long": "-73.9442",
            "description": "Deep hole by the curb",
            "attribute[size]": "large",
            "email": email,
        }
        for _ in range(5):
            try:
                r = requests.post(self.url, data=data, headers={"Idempotency-Key": key}, timeout=30)
            except DROPPED:
                with self.lock:
                    self.dropped += 1
                continue
            with self.lock:
                if r.status_code in (200, 201):
                    self.filed[key] = r.json()[0]["service_request_id"]
                else:
                    self.errors.append(f"{r.status_code} {r.text[:200]}")
            return
        with self.lock:
            self.errors.append(f"{key}: dropped five times")


@override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
class FaultTests(CityMixin, TransactionTestCase):
    def setUp(self):
        self.make_city()
        _, self.api_key = ApiKey.issue("Load test", rate_limit_per_minute=100_000)
        self.mailbox = Mailbox()
        self.smtp = Controller(self.mailbox, hostname="127.0.0.1", port=free_port())
        self.smtp.start()
        self.up: subprocess.Popen | None = None

    def tearDown(self):
        self.mailbox.release.set()
        if self.up is not None and self.up.poll() is None:
            os.killpg(self.up.pid, signal.SIGKILL)
            self.up.wait()
        self.smtp.stop()

    def start_up(self, data_dir: Path, port: int) -> tuple[subprocess.Popen, list[str]]:
        env = city311_env(
            CITY311_DATA_DIR=str(data_dir),
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=str(self.smtp.port),
            CITY311_WEB_PROCESSES="2",
            CITY311_WORKER_PROCESSES="1",
            CITY311_LOG_LEVEL="WARNING",
        )
        env.pop("CITY311_SITE_URL", None)
        up = subprocess.Popen(
            [sys.executable, "-m", "city311", "up", "--no-demo", "--port", str(port)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # so a failed test can end it and all it started
        )
        output: list[str] = []

        def read() -> None:
            assert up.stdout is not None
            for line in up.stdout:
                output.append(line)

        threading.Thread(target=read, daemon=True).start()
        return up, output

    def test_killing_a_web_worker_and_the_task_worker_under_load_loses_and_doubles_nothing(self):
        phases = [("start", time.monotonic())]
        port = free_port()
        site = f"http://127.0.0.1:{port}"
        data_dir = Path(tempfile.mkdtemp(prefix="city311-faults-"))
        self.addCleanup(shutil.rmtree, data_dir, ignore_errors=True)
        self.up, output = self.start_up(data_dir, port)
        started = wait_for(lambda: any("Press Ctrl-C" in line for line in output), timeout=120)
        self.assertTrue(started, "".join(output))
        web = processes.child_running(self.up.pid, "gunicorn")
        worker = processes.child_running(self.up.pid, "city311 worker")
        self.assertTrue(wait_for(lambda: len(processes.children(web)) == 2, timeout=60))
        self.assertTrue(wait_for(lambda: len(processes.in_group(worker)) >= 4, timeout=60))

        phases.append(("up", time.monotonic()))
        load = Load(f"{site}/open311/v2/requests.json", self.api_key)
        load.start()
        try:
            self.assertTrue(wait_for(lambda: load.done() >= 12, timeout=60), load.errors)

            # A web worker dies with requests in hand; its master starts another.
            victim = processes.children(web)[0]
            os.kill(victim, signal.SIGKILL)
            replaced = wait_for(
                lambda: len(processes.children(web)) == 2 and victim not in processes.children(web),
                timeout=60,
            )
            self.assertTrue(replaced, "gunicorn did not replace its killed worker")
            phases.append(("web worker killed", time.monotonic()))
            mark = load.done()
            self.assertTrue(wait_for(lambda: load.done() >= mark + 12, timeout=60), load.errors)

            # The task worker dies while the SMTP server is taking one of its messages.
            self.mailbox.hold_at = self.mailbox.seen + 1
            self.assertTrue(self.mailbox.held.wait(60), "the worker sent nothing")
            cluster = processes.in_group(worker)
            os.kill(worker, signal.SIGKILL)
            killed = time.monotonic()
            phases.append(("task worker killed", killed))
            # `up` ends the rest of its process group: the cluster's worker holding the message.
            ended = wait_for(lambda: not any(processes.alive(p) for p in cluster), timeout=10)
            self.assertTrue(ended, "the killed task worker's cluster runs on")
            self.mailbox.release.set()
            redelivered = wait_for(
                lambda: self.mailbox.arrived(self.mailbox.held_message_id), timeout=60
            )
            redelivery = time.monotonic() - killed
            self.assertTrue(
                redelivered,
                f"the killed worker's message never arrived: "
                f"{Counter(Delivery.objects.values_list('status', 'claimed_by'))}\n"
                + "".join(output)[-4000:],
            )
            mark = load.done()
            self.assertTrue(wait_for(lambda: load.done() >= mark + 10, timeout=60), load.errors)
        finally:
            load.stop()

        # Everything filed is told once.
        filed = len(load.filed)
        # Each reporter is told once that their request was received.
        drained = wait_for(
            lambda: (
                Delivery.objects.filter(status=DeliveryStatus.SENT).count() >= filed
                and not Delivery.objects.exclude(status=DeliveryStatus.SENT).exists()
                and len(self.mailbox.messages) >= filed
            ),
            timeout=90,
        )
        phases.append(("drained", time.monotonic()))
        time.sleep(0.5)  # time for any second copy to arrive
        ids = Counter(str(m["Message-ID"]) for m in self.mailbox.messages)
        doubles = sum(n - 1 for n in ids.values())
        print(
            f"\nfaults: {filed} requests filed by {CLIENTS} clients; web worker killed: "
            f"{load.dropped} connections dropped (retried), {len(load.errors)} client errors; "
            f"task worker killed: its message redelivered after {redelivery:.1f} s "
            f"(lease 300 s); {len(ids)} e-mails, {doubles} doubles\n"
            + ", ".join(f"{name} {at - phases[0][1]:.0f} s" for name, at in phases)
        )
        self.assertEqual(load.errors, [])
        self.assertLessEqual(load.dropped, CLIENTS)
        # No request lost, none doubled.
        self.assertEqual(ServiceRequest.objects.count(), filed)
        self.assertEqual(
            set(ServiceRequest.objects.values_list("tracking_number", flat=True)),
            set(load.filed.values()),
        )
        self.assertTrue(drained, Counter(Delivery.objects.values_list("status", flat=True)))
        self.assertEqual(doubles, 0)
        self.assertEqual(len(ids), filed)
        self.assertLess(redelivery, 30)
        # The links lead to the address `up` serves.
        self.assertIn(f"{site}/", self.mailbox.body(self.mailbox.messages[0]))
        # The killed cluster is gone: one cluster runs.
        self.assertFalse([p for p in cluster if processes.alive(p)])

        everything = processes.descendants(self.up.pid)
        asked = time.monotonic()
        self.up.send_signal(signal.SIGINT)
        self.up.wait(timeout=30)
        took = time.monotonic() - asked
        self.assertEqual(self.up.returncode, 0, "".join(output))
        self.assertLess(took, 10)
        self.assertFalse([p for p in everything if processes.alive(p)])
