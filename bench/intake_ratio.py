"""Open311 against the framework's ceiling, side by side: POST vs bare insert, GET vs bare get.

Goal (issue 10), on PostgreSQL with 1,000,000 requests stored, gunicorn 2 processes x 4 threads:
with 50 clients, Open311 POST >= 30% of the bare insert's requests/s and GET requests/{id}.json
>= 70% of the bare get-by-id's; with 4 clients, p99 < 250 ms (POST) and < 50 ms (GET); every
acknowledged POST readable afterwards.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/city311_bench_intake \\
    REDIS_URL=redis://127.0.0.1:6379/14 \\
        .venv/bin/python bench/intake_ratio.py             # 1,000,000 stored; reuses the database

REDIS_URL as in production (the task queue, the rate limits, the stream's wake-ups); without
it the task queue is the database's, each commit's wake-up is a queued task row, and the
worker's share of the two cores is larger.
    .venv/bin/python bench/intake_ratio.py --rebuild       # drop the stored history, load anew
    .venv/bin/python bench/intake_ratio.py --history 20000 --seconds 5      # a quick look

The load generator is wrk (Lua scripts in bench/wrk/), which keeps up on two cores where a Python
client would be the bottleneck. Each pair runs A B A B, so whatever else the machine does falls
on both sides alike. The task worker (`city311 worker`) runs throughout, as in production.
Loopback only.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
WRK_SCRIPTS = BENCH / "wrk"
DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/city311_bench_intake"
KEY_NAME = "intake_ratio benchmark"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def setup_django() -> None:
    sys.path[:0] = [str(ROOT), str(BENCH)]
    os.environ["DJANGO_SETTINGS_MODULE"] = "open311_site"
    import django

    django.setup()


def prepare(history: int, rebuild: bool) -> tuple[str, int, int]:
    """Migrate, load the demo catalog and map, fill `history` requests; return a key and id range.

    A database that already holds them is used as it is (a second run does not rebuild); with
    `rebuild` the stored requests and their history are deleted first.
    """
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import Max, Min
    from history import fill_history
    from open311_urls import TABLE

    from city311.catalog.models import ServiceType
    from city311.demo import loader
    from city311.geo.models import Boundary
    from city311.open311.models import ApiKey
    from city311.reports import openlines
    from city311.servicerequests.models import ServiceRequest

    call_command("migrate", interactive=False, verbosity=0)
    if rebuild:
        with connection.cursor() as cursor:
            table = ServiceRequest._meta.db_table
            cursor.execute(
                f"TRUNCATE {table} CASCADE"
                if connection.vendor == "postgresql"
                else f"DELETE FROM {table}"
            )
    if not ServiceType.objects.exists():
        loader.load_catalog()
        loader.load_calendar()
    if not Boundary.objects.exists():
        loader.load_boundaries()
        loader.load_addresses()
        loader.load_routing()
    id_column = (
        "bigserial PRIMARY KEY"
        if connection.vendor == "postgresql"
        else "integer PRIMARY KEY AUTOINCREMENT"
    )
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (id {id_column}, at timestamp)")
    types = list(ServiceType.objects.exclude(urgency="emergency").select_related("department"))
    if fill_history(history, types=types) and connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    if connection.vendor == "postgresql" and not openlines.ready():
        # A city's steady state: its open data's lines written (as `demo --history` and
        # `rebuild_reports` leave them), not rebuilt by the worker during the measurement.
        print("  writing the open data's lines of the stored requests (once)...", flush=True)
        openlines.rebuild()
    span = ServiceRequest.objects.aggregate(low=Min("pk"), high=Max("pk"))
    print(f"  {ServiceRequest.objects.count():,} requests stored")
    secret = ApiKey.issue(KEY_NAME, rate_limit_per_minute=10**9)[1]
    return secret, span["low"] or 1, span["high"] or 1


def create_database(url: str) -> None:
    """CREATE DATABASE for a postgres:// URL whose database does not exist yet."""
    import dj_database_url
    import psycopg

    if not url.startswith(("postgres://", "postgresql://")):
        return
    db = dj_database_url.parse(url)
    with psycopg.connect(
        host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"], password=db["PASSWORD"],
        dbname="postgres", autocommit=True,
    ) as conn:  # fmt: skip
        have = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]]).fetchone()
        if not have:
            conn.execute(f'CREATE DATABASE "{db["NAME"]}"')


@dataclass
class Round:
    """One wrk run: requests/s, p50 and p99 in ms, and every failure wrk counted."""

    rate: float
    p50: float
    p99: float
    requests: int
    failures: int
    load: float
    why: str = ""
    ok: int = 0  # 2xx answers


def wrk(url: str, script: str, clients: int, seconds: float, *args: str) -> Round:
    command = [
        "wrk", "--threads", str(min(2, clients)), "--connections", str(clients),
        "--duration", f"{seconds:g}s", "--timeout", "30s",
        "--script", str(WRK_SCRIPTS / script), url, "--", *args,
    ]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 120, check=True)
    line = next((x for x in out.stdout.splitlines() if x.startswith("RESULT ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{out.stdout}\n{out.stderr}")
    f = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line)}
    failures = f["connect"] + f["read"] + f["write"] + f["status"] + f["timeout"]
    # A server that answered nothing at all in the round has failed it, even if wrk counted no
    # error (the requests were still open when the round ended).
    failures = failures or (0 if f["requests"] else 1)
    return Round(
        # wrk counts every answer as a request, errors (non-2xx) among them; socket errors are not.
        rate=(f["requests"] - f["status"]) / (f["duration_us"] / 1e6),
        ok=f["requests"] - f["status"],
        p50=f["p50_us"] / 1000,
        p99=f["p99_us"] / 1000,
        requests=f["requests"],
        failures=failures,
        load=os.getloadavg()[0],
        why=", ".join(
            f"{f[k]} {k}" for k in ("status", "timeout", "connect", "read", "write") if f[k]
        )
        or ("no answer in the whole round" if not f["requests"] else ""),
    )


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_by_part(groups: dict[str, int], database: str) -> dict[str, float]:
    """CPU seconds used so far by each process group this benchmark started (the web server,
    the task worker), and by the PostgreSQL backends of `database` (Linux /proc only; the
    processes alive now: a backend that ended in the round is missed)."""
    used = dict.fromkeys([*groups, "postgres"], 0.0)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        try:
            group = os.getpgid(pid)
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (ProcessLookupError, FileNotFoundError, PermissionError):
            continue
        for name, pgid in groups.items():
            if group == pgid:
                used[name] += _cpu_seconds(pid)
        if title.startswith("postgres:") and f" {database} " in title:
            used["postgres"] += _cpu_seconds(pid)
    return used


def behind() -> int:
    """How far the task worker is behind the filings: the most requests any consumer woken by
    commits has events of still to handle. Read between rounds (a few queries), so readers see
    which rounds ran while the worker was catching up with the ones before."""
    from django.db import connection

    from city311.servicerequests import stream
    from city311.servicerequests.models import ConsumerCursor

    woken = [c.name for c in stream.consumers() if c.woken]
    most = max(
        (len(stream.waiting(c)) for c in ConsumerCursor.objects.filter(name__in=woken)), default=0
    )
    connection.close()
    return most


def serve(port: int, workers: int, threads: int, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable, "-m", "gunicorn", "city311.wsgi:application",
            "--bind", f"127.0.0.1:{port}",
            "--workers", str(workers), "--threads", str(threads), "--worker-class", "gthread",
            "--backlog", "2048", "--log-level", "warning",
            # A worker starved of CPU by other work on the machine is not a hung worker.
            "--timeout", "120",
        ],
        env=env, cwd=ROOT, start_new_session=True,
    )  # fmt: skip


def task_worker(env: dict[str, str]) -> subprocess.Popen:
    city311 = Path(sys.executable).parent / "city311"
    return subprocess.Popen(
        [str(city311), "worker"], env=env, cwd=ROOT, start_new_session=True,
        stdout=subprocess.DEVNULL,
    )  # fmt: skip


def stop(process: subprocess.Popen) -> None:
    """SIGTERM to the process group this benchmark started, then SIGKILL after 30 s."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def wait_ready(url: str) -> None:
    import requests

    for _ in range(240):
        try:
            if requests.get(url, timeout=10).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer in two minutes")


def sample_ids(count: int, low: int, high: int, path: Path) -> int:
    """Write the tracking numbers of up to `count` stored requests, spread over the ids."""
    import random

    from city311.servicerequests.models import ServiceRequest

    pks = random.Random(311).sample(range(low, high + 1), min(count, high - low + 1))
    numbers = list(
        ServiceRequest.objects.filter(pk__in=pks).values_list("tracking_number", flat=True)
    )
    path.write_text("".join(f"{n}\n" for n in numbers))
    return len(numbers)


def sample_points(count: int, path: Path) -> int:
    """Write `count` address points of the city as "lat,long" lines: places a POST may report."""
    import random

    from city311.geo.models import AddressPoint

    pks = list(AddressPoint.objects.values_list("pk", flat=True))
    chosen = random.Random(311).sample(pks, min(count, len(pks)))
    points = AddressPoint.objects.filter(pk__in=chosen).values_list("lat", "long")
    path.write_text("".join(f"{lat:.6f},{long:.6f}\n" for lat, long in points))
    return len(chosen)


def postable_service() -> str:
    """A service a client may POST with nothing but a point and a description."""
    from city311.catalog.models import ServiceType, Urgency

    types = ServiceType.objects.filter(active=True).exclude(urgency=Urgency.EMERGENCY)
    plain = types.exclude(attributes__required=True).order_by("service_code")
    code = plain.values_list("service_code", flat=True).first()
    if code is None:
        raise RuntimeError("no active service without required questions")
    return code


def read_back(base: str, ids: list[str]) -> int:
    """How many of `ids` Open311 returns, asked 200 at a time."""
    import requests

    found: set[str] = set()
    for start in range(0, len(ids), 200):
        chunk = ids[start : start + 200]
        r = requests.get(
            f"{base}/open311/v2/requests.json",
            params={"service_request_id": ",".join(chunk)},
            timeout=120,
        )
        r.raise_for_status()
        found |= {row["service_request_id"] for row in r.json()}
    return len(found & set(ids))


def git_state() -> str:
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()
    if not head:
        return "(not a git checkout)"
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        capture_output=True, text=True, cwd=ROOT,
    ).stdout.strip()  # fmt: skip
    return f"{head}{' dirty' if dirty else ''}"


def summary(rounds: list[Round]) -> tuple[float, float, float, int]:
    """Mean requests/s, mean p50, the worst p99, and the failures of a side's rounds."""
    n = len(rounds)
    return (
        sum(r.rate for r in rounds) / n,
        sum(r.p50 for r in rounds) / n,
        max(r.p99 for r in rounds),
        sum(r.failures for r in rounds),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--history", type=int, default=1_000_000, help="requests stored")
    parser.add_argument("--rebuild", action="store_true", help="delete stored requests first")
    parser.add_argument("--seconds", type=float, default=15, help="length of one round")
    parser.add_argument("--rounds", type=int, default=2, help="A B pairs per measurement")
    parser.add_argument("--clients", type=int, default=50, help="for throughput")
    parser.add_argument("--few", type=int, default=4, help="clients for latency")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn process")
    parser.add_argument("--only", choices=["post", "get"], help="one pair only")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk")

    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE)
    scratch = Path(tempfile.mkdtemp(prefix="city311-intake-"))
    os.environ.setdefault("CITY311_DATA_DIR", str(scratch / "data"))
    os.environ.setdefault("CITY311_LOG_LEVEL", "WARNING")
    # No static files are served here; an empty folder keeps whitenoise from warning about it.
    (Path(os.environ["CITY311_DATA_DIR"]) / "static").mkdir(parents=True, exist_ok=True)
    create_database(os.environ["DATABASE_URL"])
    setup_django()
    from django.db import connection

    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}; preparing...")
    key, low, high = prepare(args.history, args.rebuild)
    sampled = sample_ids(20_000, low, high, scratch / "ids.txt")
    if not sample_points(5_000, scratch / "points.txt"):
        sys.exit("no address points to report at: the demo map did not load")
    code = postable_service()
    connection.close()

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # Failures are counted by wrk and shown below; the server need not log each one.
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(ROOT), str(BENCH)]),
        CITY311_LOG_LEVEL=os.environ.get("CITY311_SERVER_LOG_LEVEL", "ERROR"),
    )
    server = serve(port, args.workers, args.threads, env)
    worker = task_worker(env)
    groups = {"web": server.pid, "worker": worker.pid}
    database = str(connection.settings_dict["NAME"])
    acknowledged = scratch / "acknowledged"
    post_args = (key, code, str(acknowledged), str(scratch / "points.txt"))
    ids_file = str(scratch / "ids.txt")
    sides = {
        "post": (
            ("Open311 POST requests.json", f"{base}/open311/v2/requests.json", "post.lua",
             post_args),
            ("bare insert", f"{base}/bench/bare-insert", "insert.lua", ()),
        ),
        "get": (
            ("Open311 GET requests/{id}.json", base, "get.lua",
             (ids_file, "/open311/v2/requests/%s.json")),
            ("bare get-by-id", base, "get.lua", (ids_file, "/bench/bare-get/%s")),
        ),
    }  # fmt: skip
    pairs = [args.only] if args.only else ["post", "get"]
    results: dict[tuple[str, int, str], list[Round]] = {}
    try:
        wait_ready(f"{base}/open311/v2/services.json")
        state = git_state()
        print(
            f"code: {state}; {sampled:,} ids sampled; gunicorn {args.workers} x {args.threads} "
            f"threads; wrk {args.seconds:g} s rounds; load average {os.getloadavg()[0]:.2f}"
        )
        posted = 0  # 2xx answers to Open311 POSTs, each of which must carry an id we can read
        for pair in pairs:  # warm both sides: imports, connections, caches
            for _, url, script, extra in sides[pair]:
                r = wrk(url, script, args.few, 2, *extra)
                posted += r.ok if script == "post.lua" else 0
        for clients in (args.clients, args.few):
            for pair in pairs:
                for n in range(args.rounds):
                    for side, (name, url, script, extra) in zip("AB", sides[pair], strict=True):
                        waiting = behind()
                        before = cpu_by_part(groups, database)
                        r = wrk(url, script, clients, args.seconds, *extra)
                        after = cpu_by_part(groups, database)
                        left = behind()
                        results.setdefault((pair, clients, side), []).append(r)
                        posted += r.ok if script == "post.lua" else 0
                        print(
                            f"  {clients:>2} clients  round {n + 1} {side}  {name:<31} "
                            f"{r.rate:>7.1f}/s  p50 {r.p50:>7.1f} ms  p99 {r.p99:>7.1f} ms  "
                            f"failed {r.failures}{f' ({r.why})' if r.why else ''}  "
                            f"load {r.load:.2f}",
                            flush=True,
                        )
                        # Where the machine's CPU went, per answered request: the worker's
                        # share is what the stream's consumers do after each filing.
                        per = {k: (after[k] - before[k]) * 1000 / max(r.ok, 1) for k in after}
                        print(
                            "                CPU per answered request: "
                            + ", ".join(f"{k} {v:.2f} ms" for k, v in per.items())
                            + f"; worker behind by {waiting:,} requests at the start, "
                            f"{left:,} at the end",
                            flush=True,
                        )
        ids = sorted(
            {
                line.strip()
                for f in scratch.glob("acknowledged-*.txt")
                for line in f.read_text().splitlines()
                if line.strip()
            }
        )
        found = read_back(base, ids) if "post" in pairs else 0
    finally:
        stop(worker)
        stop(server)

    print()
    print(f"code {state}; load average (1, 5, 15 min) now {os.getloadavg()}")
    print(f"{'':<32}{'clients':>8}{'A req/s':>9}{'p50':>8}{'p99':>8}{'B req/s':>9}{'p50':>8}"
          f"{'p99':>8}{'A/B':>7}  target")  # fmt: skip
    verdicts = []
    targets = {"post": (0.30, 250.0), "get": (0.70, 50.0)}
    labels = {"post": "POST (A) vs bare insert (B)", "get": "GET one (A) vs bare get (B)"}
    for clients in (args.clients, args.few):
        for pair in pairs:
            a_rate, a50, a99, a_fail = summary(results[(pair, clients, "A")])
            b_rate, b50, b99, b_fail = summary(results[(pair, clients, "B")])
            ratio = a_rate / b_rate if b_rate else 0.0
            floor, ceiling = targets[pair]
            if clients == args.clients:
                goal, ok = f"A/B >= {floor:.0%}", ratio >= floor
            else:
                goal, ok = f"A p99 < {ceiling:g} ms", a99 < ceiling
            ok = ok and a_fail == 0 and b_fail == 0
            busy = clients == args.few and not ok and b99 >= ceiling
            verdicts.append(ok)
            print(
                f"{labels[pair]:<32}{clients:>8}"
                f"{a_rate:>9.1f}{a50:>8.1f}{a99:>8.1f}{b_rate:>9.1f}{b50:>8.1f}{b99:>8.1f}"
                f"{ratio:>7.2f}  {goal} {'PASS' if ok else 'FAIL'}"
                + (f" (A: {a_fail} failed)" if a_fail else "")
                + (f" (B: {b_fail} failed)" if b_fail else "")
                + (" (the bare view's p99 is over it too: the machine is busy)" if busy else "")
            )
    if "post" in pairs:
        lost = len(ids) - found
        whole = lost == 0 and len(ids) == posted and posted > 0
        verdicts.append(whole)
        print(
            f"nothing lost: {posted:,} POSTs answered 2xx, {len(ids):,} distinct ids in them, "
            f"{found:,} read back; lost {lost} {'PASS' if whole else 'FAIL'}"
        )
    print("p50: mean of the rounds; p99: the worst round; req/s: mean of the rounds")
    shutil.rmtree(scratch, ignore_errors=True)
    sys.exit(0 if all(verdicts) else 1)


if __name__ == "__main__":
    main()
