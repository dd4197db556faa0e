"""The resident portal under a large database: server time per page and page weight.

    .venv/bin/python bench/portal.py [--requests 1000000] [--samples 200]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/city311_bench_portal \\
        .venv/bin/python bench/portal.py

Builds (once, then reuses) a database with the demo city's catalog, geography and --requests
stored requests under CITY311_DATA_DIR (default var/bench-portal), runs the site as `city311 up`
does (gunicorn, 2 processes x 4 threads, static files through WhiteNoise), and prints for each
portal page the time to answer, p50 and p95, over --samples sequential requests from one client on
loopback (so the figures are the server's time plus about a millisecond), then the weight of the
CSS and JavaScript each page loads, compressed as served.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(Path(__file__).resolve().parent)]
os.environ.setdefault("CITY311_DATA_DIR", str(ROOT / "var" / "bench-portal"))
os.environ["DJANGO_SETTINGS_MODULE"] = "city311.settings"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(count: int) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from history import fill_history

    from city311.catalog.models import ServiceType
    from city311.demo import loader
    from city311.geo.models import Boundary

    call_command("migrate", interactive=False, verbosity=0)
    if not ServiceType.objects.exists():
        loader.load_catalog()
        loader.load_calendar()
    if not Boundary.objects.exists():
        loader.load_boundaries()
        loader.load_addresses()
        loader.load_routing()
    types = list(ServiceType.objects.exclude(urgency="emergency").select_related("department"))
    if fill_history(count, types=types) and connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    call_command("install_assets", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    connection.close()


def serve(port: int) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable, "-m", "gunicorn", "city311.wsgi:application",
            "--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "4",
            "--worker-class", "gthread", "--log-level", "warning",
        ],
        cwd=ROOT,
        # One client files every report: the per-connection limits would stop it.
        env=dict(
            os.environ,
            CITY311_PORTAL_REPORTS_PER_IP="1000000",
            CITY311_PORTAL_REPORTS_PER_CONTACT="1000000",
        ),
    )  # fmt: skip


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def sample_pages(base: str) -> list[tuple[str, str]]:
    """The pages to time, with real tracking numbers and types from the database."""
    from city311.servicerequests.models import ServiceRequest, Status

    closed = ServiceRequest.objects.filter(status=Status.CLOSED).order_by("-pk")[:1].get()
    opened = ServiceRequest.objects.exclude(status=Status.CLOSED).order_by("-pk")[:1].get()
    district = opened.areas.get("council_district", {}).get("code", "")
    fifty_back = ServiceRequest.objects.order_by("-requested_at", "-id")[1250:1251].get().pk
    pages = [
        ("home", "/"),
        ("report: choose a type", "/report/"),
        ("report: search 'hole in road'", "/report/?q=hole+in+the+road"),
        ("report: pothole", f"/report/{opened.service_type.service_code}/"),
        ("track form", "/track/"),
        ("track: open request", f"/track/{opened.tracking_number}"),
        ("track: closed request", f"/track/{closed.tracking_number}"),
        ("track: typo in number", f"/track/?number={opened.tracking_number[:-1]}0"),
        ("recent requests", "/requests/"),
        ("recent: open potholes", "/requests/?status=open&service_code=pothole"),
        ("recent: one district", f"/requests/?district={district}"),
        ("recent: 50 pages back", f"/requests/?before={fifty_back}"),
        ("map points (GeoJSON)", "/api/requests.geojson"),
    ]
    return [(name, base + path) for name, path in pages]


def demo_addresses() -> list[str]:
    from city311.geo.models import AddressPoint

    rows = AddressPoint.objects.order_by("pk")[:2000]
    return [f"{a.number} {a.street}, {a.city} {a.postcode}" for a in rows[::20]]


def time_pages(pages: list[tuple[str, str]], samples: int) -> None:
    session = requests.Session()
    print(f"{'page':<32} {'status':>6} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for name, url in pages:
        timings = []
        status = 0
        for _ in range(samples):
            started = time.perf_counter()
            response = session.get(url, allow_redirects=False)
            timings.append((time.perf_counter() - started) * 1000)
            status = response.status_code
        print(
            f"{name:<32} {status:>6} {percentile(timings, 0.5):>8.1f} "
            f"{percentile(timings, 0.95):>8.1f} {max(timings):>8.1f}"
        )


class Forms(HTMLParser):
    """The POST forms of a page: their fields with the values a resident would give."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []
        self.radios: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("method", "").lower() == "post":
            self.forms.append({"action": a.get("action", ""), "data": {}, "button": None})
            return
        if not self.forms or not a.get("name"):
            return
        form, name, kind = self.forms[-1], a["name"], a.get("type", "text")
        if tag == "button":
            form["button"] = (name, a.get("value", ""))
        elif tag == "textarea":
            form["data"][name] = "A deep hole by the curb, about a foot wide."
        elif tag == "select":
            form["data"].setdefault(name, "")
        elif tag == "input" and kind == "radio" and name not in form["data"]:
            form["data"][name] = a.get("value", "")
        elif tag == "input" and kind in ("hidden", "text", "search", "number", "datetime-local"):
            form["data"][name] = a.get("value", "") or FILL.get(kind, "")


FILL = {"number": "3", "datetime-local": "2026-11-30T10:00"}


def walk_report(base: str, service_code: str, address: str) -> list[tuple[str, float]]:
    """One resident's report, step by step as a browser without JavaScript sends it.

    Returns (what, milliseconds) for each page shown and each form sent.
    """
    session = requests.Session()
    timings: list[tuple[str, float]] = []
    started = time.perf_counter()
    url = session.get(f"{base}/report/{service_code}/").url
    timings.append(("report: start a draft", (time.perf_counter() - started) * 1000))
    for _ in range(12):
        if "/report/done/" in url:
            return timings
        step = url.rstrip("/").rsplit("/", 1)[-1]
        started = time.perf_counter()
        page = session.get(url)
        timings.append((f"report: show {step}", (time.perf_counter() - started) * 1000))
        parser = Forms()
        parser.feed(page.text)
        # The step's own form (not the language switch); where a step has several (follow or
        # go on; add a photo or go on), the one that goes on.
        forms = [f for f in parser.forms if "setlang" not in f["action"]]
        form = next((f for f in forms if f["button"] == ("action", "continue")), forms[-1])
        data = dict(form["data"])
        if "address" in data:
            data["address"] = address
        if form["button"]:
            data[form["button"][0]] = form["button"][1]
        data["website"] = ""
        started = time.perf_counter()
        target = urljoin(url, form["action"]) if form["action"] else url
        answer = session.post(target, data=data, headers={"Referer": url})
        timings.append((f"report: send {step}", (time.perf_counter() - started) * 1000))
        if answer.url == url:
            raise RuntimeError(f"the {step} step did not take the form: {answer.text[:2000]}")
        url = answer.url
    raise RuntimeError(f"the report never reached its confirmation; last page {url}")


def time_report_flow(base: str, service_code: str, addresses: list[str], runs: int) -> None:
    by_step: dict[str, list[float]] = {}
    for i in range(runs):
        for what, ms in walk_report(base, service_code, addresses[i % len(addresses)]):
            by_step.setdefault(what, []).append(ms)
    print(f"\nthe report flow, {runs} reports of '{service_code}' without JavaScript")
    print(f"{'step':<32} {'count':>6} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for what, timings in by_step.items():
        print(
            f"{what:<32} {len(timings):>6} {percentile(timings, 0.5):>8.1f} "
            f"{percentile(timings, 0.95):>8.1f} {max(timings):>8.1f}"
        )


ASSET = re.compile(r'<(?:link[^>]+rel="stylesheet"[^>]+href|script[^>]+src)="([^"]+)"')


def page_weight(pages: list[tuple[str, str]], base: str) -> None:
    """CSS and JavaScript each page loads, in bytes as sent gzipped and as stored."""
    print(f"\n{'page':<32} {'CSS+JS files':>12} {'gzip KB':>8} {'plain KB':>9}")
    for name, url in pages:
        html = requests.get(url).text
        assets = sorted(set(ASSET.findall(html)))
        sizes = {}
        for encoding in ("gzip", "identity"):
            total = 0
            for asset in assets:
                with requests.get(
                    base + asset if asset.startswith("/") else asset,
                    headers={"Accept-Encoding": encoding},
                    stream=True,
                ) as response:
                    total += len(response.raw.read(decode_content=False))
            sizes[encoding] = total
        print(
            f"{name:<32} {len(assets):>12} {sizes['gzip'] / 1024:>8.1f} "
            f"{sizes['identity'] / 1024:>9.1f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--reports", type=int, default=100, help="report flows walked")
    args = parser.parse_args()
    prepare(args.requests)
    from django.db import connection

    from city311.servicerequests.models import ServiceRequest

    print(f"{connection.vendor}: {ServiceRequest.objects.count():,} requests stored")
    port = free_port()
    server = serve(port)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                requests.get(base + "/healthz", timeout=5)
                break
            except requests.RequestException:
                time.sleep(0.2)
        pages = sample_pages(base)
        for _, url in pages:  # warm both processes' caches and indexes
            requests.get(url)
            requests.get(url)
        time_pages(pages, args.samples)
        time_report_flow(base, "pothole", demo_addresses(), args.reports)
        page_weight(pages, base)
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
