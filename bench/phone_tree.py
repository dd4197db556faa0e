"""The phone tree's answers under load: every TwiML webhook, signed, at a steady rate.

    .venv/bin/python bench/phone_tree.py [--rate 20] [--seconds 20]

Imports the small test city (addresses, pickups), adds a pool and one request, then serves
the app as production does (gunicorn, 2 processes x 4 threads) and posts signed Twilio-shaped
webhooks at --rate a second, open loop (each on its schedule, whether or not earlier ones have
answered), cycling through every answer of the tree: the language, the menu, a status by
tracking number, a pickup day by house number and spoken street, "is the pool open?", a
person. Prints p50, p95 and the slowest per answer and for all.

Runs on a fresh SQLite database under a temporary CITY311_DATA_DIR, or on DATABASE_URL if set
(a database you can wipe: the benchmark migrates and fills it).
"""

from __future__ import annotations

import argparse
import io
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("CITY311_DATA_DIR", tempfile.mkdtemp(prefix="city311-bench-"))
os.environ["DJANGO_SETTINGS_MODULE"] = "city311.settings"
TOKEN = "bench-twilio-token"
os.environ["TWILIO_AUTH_TOKEN"] = TOKEN
os.environ.setdefault("CITY311_SITE_URL", "http://127.0.0.1:8000")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def prepare() -> str:
    """The small city with its pickups, a pool and one request; its tracking number."""
    import django

    django.setup()
    from django.core.management import call_command

    from city311.facilities.models import Facility, FacilityKind
    from city311.servicerequests.intake import submit_request
    from city311.servicerequests.models import Channel, ServiceRequest
    from city311.servicerequests.validation import Submission
    from tests import small_city
    from tests.test_pickups import PICKUPS

    call_command("migrate", verbosity=0)
    if not ServiceRequest.objects.exists():
        pack = small_city.write_pack(Path(tempfile.mkdtemp(prefix="city311-pack-")) / "small")
        (pack / "pickups.yaml").write_text(PICKUPS)
        call_command("import_city", str(pack), stdout=io.StringIO(), stderr=io.StringIO())
        Facility.objects.create(
            slug="lyons-pool", name="Lyons Pool", kind=FacilityKind.POOL, address="1 Pool St"
        )
        submit_request(
            Submission(
                service_code="sinkhole",
                channel=Channel.PHONE,
                address_string="1382 Dumont Ave",
                description="Sinkhole",
                phone="+17185550199",
            )
        )
    return ServiceRequest.objects.order_by("pk").first().tracking_number  # type: ignore[union-attr]


def answers(tracking: str) -> list[tuple[str, str, dict[str, str]]]:
    digits = tracking.replace("-", "")
    return [
        ("incoming", "/intake/voice", {"CallSid": "CA1"}),
        ("language", "/intake/voice/language", {"Digits": "2"}),
        ("menu", "/intake/voice/menu?lang=en", {"Digits": "1"}),
        ("status", "/intake/voice/status?lang=en", {"Digits": digits + "#"}),
        ("status typo", "/intake/voice/status?lang=es", {"Digits": digits[:-1] + "0#"}),
        ("pickup number", "/intake/voice/pickup?lang=en", {"Digits": "1382#"}),
        (
            "pickup day",
            "/intake/voice/pickup/street?lang=en&number=1382",
            {"SpeechResult": "Dumont Avenue"},
        ),
        ("facility", "/intake/voice/facility?lang=en", {"SpeechResult": "is the pool open"}),
        ("person", "/intake/voice/menu?lang=en", {"Digits": "0"}),
    ]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=20)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    tracking = prepare()
    from django.db import connection

    connection.close()
    import requests
    from twilio.request_validator import RequestValidator

    port = free_port()
    site = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [
            sys.executable, "-m", "gunicorn", "city311.wsgi:application",
            "--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "4",
            "--worker-class", "gthread", "--log-level", "warning",
        ],
        cwd=ROOT,
        env=dict(os.environ, CITY311_SITE_URL=site),
    )  # fmt: skip
    validator = RequestValidator(TOKEN)
    plan = answers(tracking)
    local = threading.local()
    timings: dict[str, list[float]] = {name: [] for name, _p, _f in plan}
    failures: list[str] = []

    def post(name: str, path: str, fields: dict[str, str]) -> None:
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        fields = {"From": "+17185550123", **fields}
        signature = validator.compute_signature(site + path, fields)
        started = time.perf_counter()
        r = session.post(site + path, data=fields, headers={"X-Twilio-Signature": signature})
        elapsed = (time.perf_counter() - started) * 1000
        if r.status_code != 200:
            failures.append(f"{name}: {r.status_code}")
        timings[name].append(elapsed)

    try:
        for _ in range(100):
            try:
                requests.get(site + "/healthz", timeout=5)
                break
            except requests.RequestException:
                time.sleep(0.2)
        # Warm both processes (their geocoder and catalog caches): concurrent connections,
        # since one kept-alive connection stays with one process.
        with ThreadPoolExecutor(max_workers=8) as pool:
            for name, path, fields in plan * 8:
                pool.submit(post, name, path, fields)
        for values in timings.values():
            values.clear()
        total = int(args.rate * args.seconds)
        start = time.perf_counter() + 0.1
        with ThreadPoolExecutor(max_workers=32) as pool:
            for i in range(total):
                delay = start + i / args.rate - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                pool.submit(post, *plan[i % len(plan)])
        everything = [t for values in timings.values() for t in values]
        print(f"{connection.vendor}: {total} answers at {args.rate:g}/s over {args.seconds:g} s")
        print(f"{'answer':<16}{'n':>5}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")
        for name, values in [*timings.items(), ("all", everything)]:
            print(
                f"{name:<16}{len(values):>5}{percentile(values, 0.5):>9.0f}"
                f"{percentile(values, 0.95):>9.0f}{max(values):>9.0f}"
            )
        print(f"failures: {len(failures)} {failures[:5]}")
        print(f"p95 < 300 ms: {'yes' if percentile(everything, 0.95) < 300 else 'NO'}")
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
