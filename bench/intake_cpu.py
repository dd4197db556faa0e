"""CPU per Open311 POST and per bare insert: this process's and its PostgreSQL backend's.

Throughput ratios (intake_ratio.py) need a quiet machine; CPU time per request does not, and
at saturation on one machine the throughput ratio is about the inverse ratio of CPU per
request. Drives the same URLs through Django's WSGI handler in-process, one client, after a
warm-up; each side alternates A B A B.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/city311_bench_intake \\
    REDIS_URL=redis://127.0.0.1:6379/14 .venv/bin/python bench/intake_cpu.py
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

    totals: dict[str, list[float]] = {"Open311 POST": [0, 0], "bare insert": [0, 0]}
    sides = {"Open311 POST": post, "bare insert": bare}
    for side in sides.values():
        for i in range(50):
            side(i)
    local = connection.vendor == "postgresql" and os.path.exists("/proc/self/stat")
    for round_ in range(args.rounds):
        for name, side in sides.items():
            b0, p0 = backend_cpu() if local else 0.0, time.process_time()
            for i in range(args.requests):
                side(i)
            b1, p1 = backend_cpu() if local else 0.0, time.process_time()
            totals[name][0] += p1 - p0
            totals[name][1] += b1 - b0
            print(
                f"round {round_ + 1} {name:13} python {1000 * (p1 - p0) / args.requests:6.2f} ms"
                f"  postgres {1000 * (b1 - b0) / args.requests:5.2f} ms  per request"
            )
    n = args.requests * args.rounds
    each = {name: (py / n * 1000, pg / n * 1000) for name, (py, pg) in totals.items()}
    for name, (py, pg) in each.items():
        print(f"{name:13} python {py:6.2f} ms + postgres {pg:5.2f} ms = {py + pg:6.2f} ms CPU")
    post_cpu, bare_cpu = sum(each["Open311 POST"]), sum(each["bare insert"])
    print(f"CPU ratio bare/POST {bare_cpu / post_cpu:.2f} (issue 10's throughput goal: >= 0.30)")


if __name__ == "__main__":
    main()
