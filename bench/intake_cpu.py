"""CPU per Open311 POST and per bare insert: this process's and its PostgreSQL backend's.

With --worker, the task worker runs as in production and its CPU counts too: the event
stream's dispatches and their consumers, and every PostgreSQL backend of the database (the
worker's as well as this process's), measured after the worker has caught up with each side.

Throughput ratios (intake_ratio.py) need a quiet machine; CPU time per request does not, and
at saturation on one machine the throughput ratio is about the inverse ratio of CPU per
request. Drives the same URLs through Django's WSGI handler in-process, one client, after a
warm-up; each side alternates A B A B.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/city311_bench_intake \\
    REDIS_URL=redis://127.0.0.1:6379/14 .venv/bin/python bench/intake_cpu.py [--worker]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import intake_ratio  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400, help="per side and round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--worker", action="store_true", help="run the task worker and count its CPU too"
    )
    parser.add_argument(
        "--settle", type=float, default=2.0, help="seconds for the worker to catch up (--worker)"
    )
    args = parser.parse_args()
    os.environ.setdefault("DATABASE_URL", intake_ratio.DEFAULT_DATABASE)
    intake_ratio.create_database(os.environ["DATABASE_URL"])
    intake_ratio.setup_django()
    secret, _, _ = intake_ratio.prepare(0, rebuild=False)
    code = intake_ratio.postable_service()

    from django.db import connection
    from django.test import Client

    from city311.geo.models import AddressPoint

    points = list(AddressPoint.objects.values_list("lat", "long")[:2000])
    client = Client(HTTP_HOST="127.0.0.1")

    def post(i: int) -> None:
        lat, long = random.choice(points)
        body = {"api_key": secret, "service_code": code, "lat": lat, "long": long}
        response = client.post(
            "/open311/v2/requests.json",
            data=urlencode({**body, "description": f"CPU test {i}"}),
            content_type="application/x-www-form-urlencoded",
        )
        assert response.status_code == 200, response.content

    def bare(i: int) -> None:
        assert client.post("/bench/bare-insert").status_code == 200

    def backend_cpu() -> float:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
        fields = Path(f"/proc/{pid}/stat").read_text().split(")")[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    worker = None
    if args.worker:
        # The worker takes the environment as it is: REDIS_URL for a Redis queue, as in
        # production; it reads the database this process fills.
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(intake_ratio.ROOT), str(BENCH)]))
        worker = intake_ratio.task_worker(env)
    database = str(connection.settings_dict["NAME"])

    def cpu() -> tuple[float, float, float]:
        """(this process, the worker, PostgreSQL) CPU seconds so far."""
        if worker is None:
            return time.process_time(), 0.0, backend_cpu() if local else 0.0
        parts = intake_ratio.cpu_by_part({"worker": worker.pid}, database)
        return time.process_time(), parts["worker"], parts["postgres"]

    names = ("python", "worker", "postgres")

    def shown(parts: tuple[str, ...], ms: list[float]) -> list[str]:
        """Each part's milliseconds, the worker's only when it ran."""
        return [
            f"{part} {value:5.2f} ms"
            for part, value in zip(parts, ms, strict=True)
            if part != "worker" or worker is not None
        ]

    totals: dict[str, list[float]] = {"Open311 POST": [0, 0, 0], "bare insert": [0, 0, 0]}
    sides = {"Open311 POST": post, "bare insert": bare}
    local = connection.vendor == "postgresql" and os.path.exists("/proc/self/stat")
    try:
        for side in sides.values():
            for i in range(50):
                side(i)
        if worker is not None:
            time.sleep(args.settle)
        for round_ in range(args.rounds):
            for name, side in sides.items():
                before = cpu()
                for i in range(args.requests):
                    side(i)
                if worker is not None:
                    # What the side's requests asked of the worker, done before it is read.
                    time.sleep(args.settle)
                after = cpu()
                used = [b - a for a, b in zip(before, after, strict=True)]
                totals[name] = [t + u for t, u in zip(totals[name], used, strict=True)]
                print(
                    f"round {round_ + 1} {name:13} "
                    + "  ".join(shown(names, [1000 * u / args.requests for u in used]))
                    + f"  per request (load {os.getloadavg()[0]:.2f})"
                )
    finally:
        if worker is not None:
            intake_ratio.stop(worker)
    n = args.requests * args.rounds
    each = {name: [t / n * 1000 for t in parts] for name, parts in totals.items()}
    for name, parts in each.items():
        print(f"{name:13} " + " + ".join(shown(names, parts)) + f" = {sum(parts):6.2f} ms CPU")
    post_cpu, bare_cpu = sum(each["Open311 POST"]), sum(each["bare insert"])
    print(f"CPU ratio bare/POST {bare_cpu / post_cpu:.2f} (issue 10's throughput goal: >= 0.30)")


if __name__ == "__main__":
    main()
