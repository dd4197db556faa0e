"""A real `city311 up` on an empty database loads the demo's history once the site is up; Rosa,
from her own phone (a second client, over HTTP), files a report through the portal while it
loads. Her report is kept and acknowledged as live work, not counted as history, and the load
still finishes whole.

The two meet in the database: the history is written by the `up` process a batch a
transaction, Rosa's report by a web worker, at the same moment."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest
import requests
from django.test import TransactionTestCase

from city311.demo import loader
from city311.notifications.models import Delivery
from city311.ops.models import Loading
from city311.servicerequests.models import Channel, ServiceRequest
from city311.servicerequests.vocabulary import Event
from tests.helpers import city311_env, free_port, wait_for

# Waits on other processes and the clock: first, so parallel workers fill the wait.
pytestmark = pytest.mark.waits

# At most this many reports, one after another, while the history loads.
REPORTS = 6


def csrf(page: requests.Response) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert found, f"{page.url}: no form\n{page.text[:2000]}"
    return found.group(1)


class Phone:
    """Rosa's phone: one browser session on the portal, forms sent as a browser sends them."""

    def __init__(self, site: str) -> None:
        self.site = site
        self.session = requests.Session()

    def send(self, page: requests.Response, path: str, data: dict[str, str]) -> requests.Response:
        response = self.session.post(
            f"{self.site}{path}",
            data={"csrfmiddlewaretoken": csrf(page), **data},
            timeout=60,
        )
        assert response.status_code == 200, f"{path}: {response.status_code}\n{response.text}"
        return response

    def report_pothole(self, email: str) -> tuple[requests.Response, bool]:
        """Every step of the portal's form; the review page's answer, and whether the
        history was still loading both as she sent it and when the answer came."""
        step = "/report/pothole/{}/"
        page = self.session.get(f"{self.site}/report/pothole/", timeout=60)
        page = self.send(page, step.format("location"), {"address": "1 Centre St, Manhattan"})
        page = self.send(page, step.format("questions"), {"q_size": "large"})
        page = self.send(page, step.format("description"), {"description": "Deep hole by the curb"})
        page = self.send(page, step.format("photos"), {"action": "continue"})
        contact = {"first_name": "Rosa", "email": email, "wants_updates": "on"}
        page = self.send(page, step.format("contact"), contact)
        assert "Check your report" in page.text, page.text
        token = re.search(r'name="token" value="([^"]+)"', page.text)
        assert token, page.text
        before = loading()
        answer = self.send(page, step.format("review"), {"token": token.group(1), "website": ""})
        return answer, before and loading()


def loading() -> bool:
    """Whether the demo's history is loading right now: begun, not finished, not all in."""
    row = Loading.objects.filter(name="history:nyc").first()
    return row is not None and row.finished_at is None and not row.failed and row.done < row.total


class ReportWhileLoadingTests(TransactionTestCase):
    def setUp(self):
        self.data_dir = Path(tempfile.mkdtemp(prefix="city311-loading-"))
        self.addCleanup(shutil.rmtree, self.data_dir, ignore_errors=True)
        self.port = free_port()
        self.site = f"http://127.0.0.1:{self.port}"
        env = city311_env(
            CITY311_DATA_DIR=str(self.data_dir),
            CITY311_WEB_PROCESSES="2",
            # As `up` runs by default: one worker process may be training the suggestion model
            # on the history just loaded (minutes on a busy machine) while the other sends.
            CITY311_WORKER_PROCESSES="2",
            CITY311_LOG_LEVEL="WARNING",
        )
        env.pop("CITY311_SITE_URL", None)
        self.up = subprocess.Popen(
            [sys.executable, "-m", "city311", "up", "--port", str(self.port)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # so a failed test can end it and all it started
        )
        self.output: list[str] = []

        def read() -> None:
            assert self.up.stdout is not None
            for line in self.up.stdout:
                self.output.append(line)

        threading.Thread(target=read, daemon=True).start()
        self.addCleanup(self.end_up)

    def end_up(self):
        if self.up.poll() is None:
            os.killpg(self.up.pid, signal.SIGKILL)
            self.up.wait()

    def said(self, words: str) -> bool:
        return any(words in line for line in self.output)

    def test_a_report_filed_while_up_loads_the_history_is_kept_as_live_work(self):
        began = wait_for(lambda: self.said("historical records (how far:"), timeout=240)
        self.assertTrue(began, "".join(self.output))
        phone = Phone(self.site)
        filed: dict[str, bool] = {}  # tracking number: sent while the history loaded
        while len(filed) < REPORTS and loading():
            answer, meanwhile = phone.report_pothole(f"rosa{len(filed)}@example.org")
            number = re.search(r"/track/([\w-]+)", answer.text)
            self.assertIsNotNone(number, answer.text)
            self.assertIn("Write it down", answer.text)
            filed[number.group(1)] = meanwhile
        self.assertTrue(any(filed.values()), f"no report was sent while it loaded: {filed}")

        loaded = wait_for(lambda: self.said("the demo's history is loaded"), timeout=240)
        self.assertTrue(loaded, "".join(self.output))
        self.assertFalse(self.said("loading the demo's history failed"), "".join(self.output))

        module = loader.history_module("nyc")
        total = loader.count_history("nyc")
        row = Loading.objects.get(name="history:nyc")
        self.assertEqual((row.done, row.total, row.failed), (total, total, False))
        self.assertIsNotNone(row.finished_at)
        history = ServiceRequest.objects.filter(historical=True)
        self.assertEqual(history.count(), total)
        self.assertEqual(history.filter(application=module.SOURCE).count(), total)
        for number in filed:
            rosa = ServiceRequest.objects.get(tracking_number=number)
            self.assertFalse(rosa.historical)
            self.assertEqual(rosa.channel, Channel.WEB)
            self.assertIn(rosa, ServiceRequest.objects.live())
            self.assertEqual(
                list(rosa.events.values_list("kind", flat=True)[:2]),
                [Event.SUBMITTED, Event.ROUTED],
            )
            # Her page answers, and the worker acknowledges it by e-mail.
            page = requests.get(f"{self.site}/track/{number}", timeout=30)
            self.assertEqual(page.status_code, 200)
        received = wait_for(
            lambda: (
                Delivery.objects.filter(request__tracking_number__in=list(filed), channel="email")
                .values("request")
                .distinct()
                .count()
                == len(filed)
            ),
            timeout=120,
        )
        self.assertTrue(received, "".join(self.output))
        self.up.send_signal(signal.SIGINT)
        self.assertEqual(self.up.wait(timeout=30), 0, "".join(self.output))
