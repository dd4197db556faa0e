"""The reports over real stored requests (a database filled by `city311 demo --history N`): the
rollups' rebuild and catch-up, the heat map, the open requests' map and the dashboard page.

`bench/reports.py` times the dashboard's answers over generated day totals at sizes no demo
fill reaches in minutes; this one times what reads the requests themselves, and the recount
that turns requests into those totals.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/h20r_demo \\
        city311 demo --no-records --history 1000000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/h20r_demo \\
        .venv/bin/python bench/reports_real.py --rounds 10

1. `rebuild_reports` over every request (skip with `--no-rebuild`): requests/s.
2. The catch-up of a sample of requests (`--sample`, default 5,000) both ways: in Python per
   request (`rollup.refresh` below its set-wise threshold, as before) and set-wise in SQL
   (`reports.recount`); requests/s each.
3. p95 (wall and CPU, this process and the PostgreSQL backend) of the heat map's grid count and
   of the whole heat map page, of the open requests' map and of the dashboard page, per filter.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from unittest import mock

sys.path[:0] = [str(Path(__file__).resolve().parent.parent), str(Path(__file__).parent)]

from reports import backend_cpu, backend_pid, p95, timed  # noqa: E402


def setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "city311.settings")
    import django

    django.setup()


def load() -> str:
    return Path("/proc/loadavg").read_text().split(" ")[0]


def catch_up(sample: int) -> None:
    from django.db import transaction

    from city311.reports import recount, rollup
    from city311.reports.models import RequestFact
    from city311.servicerequests.models import ServiceRequest

    ids = list(ServiceRequest.objects.order_by("-pk").values_list("pk", flat=True)[:sample])
    pid = backend_pid()
    for name, run in (
        ("Python, per request", lambda: _python_refresh(rollup, ids)),
        ("SQL, set-wise", lambda: recount.recount(ids)),
    ):
        with transaction.atomic():
            # As a bulk load: no facts yet, each request counted in from nothing (rolled back).
            RequestFact.objects.filter(pk__in=ids).delete()
            server, cpu, t = backend_cpu(pid), time.process_time(), time.perf_counter()
            run()
            wall = time.perf_counter() - t
            used = time.process_time() - cpu + backend_cpu(pid) - server
            transaction.set_rollback(True)
        print(f"  catch-up of {len(ids):,} requests, {name:22}: {len(ids) / wall:9,.0f} "
              f"requests/s ({wall:.1f} s wall, {used:.1f} s CPU; load {load()})")  # fmt: skip


def _python_refresh(rollup, ids: list[int]) -> None:
    from city311.reports.models import RequestFact

    with mock.patch.object(rollup, "SET_WISE_FROM", 10**12):
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rollup.refresh(chunk)
    assert RequestFact.objects.filter(pk__in=ids).count() == len(ids)


def rebuild() -> None:
    from city311.reports.rollup import rebuild as run

    pid = backend_pid()
    server, cpu, t = backend_cpu(pid), time.process_time(), time.perf_counter()
    done = run()
    wall = time.perf_counter() - t
    used = time.process_time() - cpu + backend_cpu(pid) - server
    print(f"  rebuild_reports: {done:,} requests in {wall:.0f} s, {done / wall:,.0f} requests/s "
          f"({used:.0f} s CPU in this process and its backend; load {load()})")  # fmt: skip


def big_backlog(rounds: int, pid: int, code: str, share: int) -> None:
    """The open points with one stored request in `share` made live open work (a big city's
    backlog), in a transaction rolled back afterwards."""
    from django.db import connection, transaction

    from city311.reports import points, queries
    from city311.servicerequests.models import LIVE_WORK, ServiceRequest

    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {ServiceRequest._meta.db_table} SET historical = FALSE, status = 'open', "
                f"closed_at = NULL WHERE id % {int(share)} = 0"
            )
            cursor.execute(f"ANALYZE {ServiceRequest._meta.db_table}")
        live = ServiceRequest.objects.filter(LIVE_WORK).count()
        print(f"  with {live:,} live open requests (one in {share}; rolled back after):")
        for name, data in (("open points, city", {}), ("open points, type", {"type": code})):
            cut = queries.cut_for(None, _cleaned(data))
            _report(name, rounds, pid, lambda cut=cut: points.drawing(cut, "council_district"))
        transaction.set_rollback(True)


def maps(rounds: int, open_share: int = 0) -> None:
    from django.db.models import Count
    from django.utils import timezone
    from pages import manager_client

    from city311.catalog.models import ServiceType
    from city311.reports import heat, points, queries
    from city311.servicerequests.models import LIVE_WORK, ServiceRequest

    client = manager_client()
    busiest = (
        ServiceRequest.objects.values("service_type_id")
        .annotate(n=Count("pk"))
        .order_by("-n")
        .first()
    )
    assert busiest is not None, "No requests: fill the database with city311 demo --history N."
    code = ServiceType.objects.get(pk=busiest["service_type_id"]).service_code
    total = ServiceRequest.objects.count()
    live = ServiceRequest.objects.filter(LIVE_WORK).count()
    print(f"\n{total:,} requests ({live:,} live open); busiest type {code} "
          f"({busiest['n']:,}); p95 of {rounds} rounds, ms wall / CPU:")  # fmt: skip
    pid = backend_pid()
    today = timezone.localdate()
    cases = [
        ("heat grid, type, last month", {"type": code, "period": "last_month"}),
        ("heat grid, type, this year", {"type": code, "period": "this_year"}),
        (
            "heat grid, type, ten years",
            {
                "type": code,
                "period": "custom",
                "since": str(today.replace(year=today.year - 10)),
                "until": str(today),
            },
        ),
    ]
    grid = heat.grid_for(heat.city_box())
    for name, data in cases:
        form_data = {k: v for k, v in data.items()}
        cut = queries.cut_for(None, _cleaned(form_data))
        start, end = queries.period_for(_cleaned(form_data), today)
        _report(name, rounds, pid, lambda cut=cut, s=start, e=end: heat.cells(cut, s, e, grid))
        query = "&".join(f"{k}={v}" for k, v in data.items())
        _report(name.replace("grid", "page"), max(3, rounds // 2), pid,
                lambda q=query: _get(client, f"/reports/heat/?{q}"))  # fmt: skip
    for name, data in (("open points, city", {}), ("open points, type", {"type": code})):
        cut = queries.cut_for(None, _cleaned(data))
        _report(name, rounds, pid, lambda cut=cut: points.drawing(cut, "council_district"))
    if open_share:
        big_backlog(rounds, pid, code, open_share)
    for name, query in (
        ("dashboard page, city, 30 days", ""),
        ("dashboard page, type, this year", f"type={code}&period=this_year"),
    ):
        _report(name, max(3, rounds // 2), pid, lambda q=query: _get(client, f"/reports/?{q}"))


def maps_only_backlog(rounds: int, share: int) -> None:
    from django.db.models import Count

    from city311.catalog.models import ServiceType
    from city311.servicerequests.models import ServiceRequest

    busiest = (
        ServiceRequest.objects.values("service_type_id").annotate(n=Count("pk")).order_by("-n")
    ).first()
    assert busiest is not None
    code = ServiceType.objects.get(pk=busiest["service_type_id"]).service_code
    big_backlog(rounds, backend_pid(), code, share)


def _cleaned(data: dict) -> dict:
    from city311.reports.forms import ReportForm

    form = ReportForm(data)
    assert form.is_valid(), form.errors
    return form.cleaned_data


def _get(client, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)


def _report(name: str, rounds: int, pid: int, answer) -> None:
    answer()  # warm, as a page in use is
    walls, cpus = [], []
    for _ in range(rounds):
        wall, cpu = timed(answer, pid)
        walls.append(wall)
        cpus.append(cpu)
    print(f"  {name:36} {p95(walls):7.0f} / {p95(cpus):5.0f}   (load {load()})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--sample", type=int, default=5000)
    parser.add_argument("--no-rebuild", action="store_true")
    parser.add_argument("--no-catch-up", action="store_true")
    parser.add_argument("--no-maps", action="store_true")
    parser.add_argument(
        "--open-share",
        type=int,
        default=10,
        help="Also time the open points with one request in N made open (0: not).",
    )
    args = parser.parse_args()
    setup()
    if not args.no_rebuild:
        rebuild()
    if not args.no_catch_up:
        catch_up(args.sample)
    if not args.no_maps:
        maps(args.rounds, args.open_share)
    elif args.open_share:
        maps_only_backlog(args.rounds, args.open_share)


if __name__ == "__main__":
    main()
