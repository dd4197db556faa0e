"""The department work queue with any filter, on a large database.

Goal (issue 15): the queue page answers in p95 < 150 ms with 1,000,000 requests stored on
PostgreSQL, whatever the filter. Each filter's page is asked for `--rounds` times through
Django's test client (the whole view: middleware, access, the capped count, the page of rows,
the template), as two people: a manager who sees every department, and a supervisor of one.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/city311_bench_queues \\
        .venv/bin/python bench/work_queue.py              # 1,000,000 stored; reuses the database
    DATABASE_URL=sqlite:///var/bench/queues.db .venv/bin/python bench/work_queue.py \\
        --requests 300000                                  # the same on SQLite
    .venv/bin/python bench/work_queue.py --requests 20000 --rounds 10      # a quick look

The first run prepares the database, loads the demo catalog and map, makes the staff and
teams, and writes the requests as a working city's would be: two years of them in filing
order (the newest last in the table, as a table fills), 85% closed, the open ones mostly of
the last four months, spread over teams, assignees, channels, statuses and due dates around
now, with escalation levels, words in their descriptions and streets in their addresses. The
rows are written with the table's own indexes set aside and made again after (PostgreSQL's
COPY; on SQLite one prepared INSERT): about 7 minutes for a million on a busy 2-core machine.
Later runs find all of it there and start at once (build each size in a database of its own:
a larger `--requests` adds the rest, but not in filing order).

`--explain` prints each filter's two statements' plans (EXPLAIN ANALYZE, PostgreSQL) instead
of timing them; `--only TEXT` keeps the filters containing TEXT; `--board` times the
supervisor's board (/work/board/) instead of the queue.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/city311_bench_queues"
TARGET_MS = 150.0
# Open requests: 60% of those filed in the last 120 days, 6% of older ones (15% in all).
OPEN_RECENT, OPEN_OLD = 0.6, 0.06
PLACES = 10_000
# Where requests are filed (south, west, north, east): the demo city's.
BOX = (40.5, -74.25, 40.9, -73.7)
# Words residents write, a few of them about hydrants (the bench's word search).
PHRASES = [
    "Deep pothole in the right lane, cars swerving around it",
    "Streetlight out for a week, the corner is dark",
    "Fire hydrant leaking water onto the sidewalk",
    "Garbage bags left on the curb since Monday",
    "Tree branch hanging over the bike lane",
    "Graffiti on the wall of the school",
    "Traffic signal stuck on red",
    "Broken bench in the playground",
    "Noise from construction after 10 pm",
    "Sidewalk cracked and lifted by tree roots",
    "Abandoned car with no plates for two weeks",
    "Water coming up from the street near the drain",
    "Missing stop sign at the intersection",
    "Dead animal in the road",
    "Overflowing litter basket at the bus stop",
    "Rats seen around the vacant lot",
    "Illegal dumping of mattresses behind the store",
    "Catch basin clogged, the street floods when it rains",
    "Dog off leash in the park every morning",
    "Snow not cleared from the crosswalk",
]
STREETS = [
    f"{name} {kind}"
    for name in (
        "Example Oak Maple Pine Cedar Elm Walnut Willow Birch Spruce Park Main Church Mill "
        "Bridge Water River Lake Hill High Union Market Court Prospect Franklin Lincoln "
        "Washington Jefferson Madison Monroe Grant Clinton Fulton Atlantic Pacific Bedford"
    ).split()
    for kind in ("Street", "Avenue", "Place", "Road")
]


def setup() -> None:
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE)
    os.environ.setdefault("CITY311_DATA_DIR", str(Path.cwd() / "var" / "bench"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "city311.settings")
    sys.path[:0] = [str(Path(__file__).resolve().parent.parent), str(Path(__file__).parent)]
    import django

    django.setup()
    from django.core.management import call_command

    from city311.catalog.models import ServiceType
    from city311.demo import loader
    from city311.geo.models import Boundary

    call_command("prepare_database", verbosity=0)
    if not ServiceType.objects.exists():
        loader.load_catalog()
    if not Boundary.objects.exists():
        loader.load_boundaries()


class Plan:
    """Who works where: a manager, one department's supervisor and ten workers (on its three
    teams), three teams in every department; the types requests are filed under."""

    def __init__(self) -> None:
        from collections import Counter

        from city311.accounts import roles
        from city311.catalog.models import Department, ServiceType
        from city311.servicerequests.models import Team

        roles.ensure_roles()
        self.types = list(
            ServiceType.objects.exclude(urgency="emergency").exclude(department=None).order_by("pk")
        )
        busiest = Counter(t.department_id for t in self.types).most_common(1)[0][0]
        self.department = Department.objects.get(pk=busiest)
        self.manager = self._person("bench-manager", roles.MANAGER, None)
        self.supervisor = self._person("bench-supervisor", roles.SUPERVISOR, self.department)
        self.teams: dict[int, list[int]] = {}
        for department in Department.objects.order_by("pk"):
            self.teams[department.pk] = [
                Team.objects.get_or_create(
                    slug=f"bench-{department.pk}-{n}",
                    defaults={"department": department, "name": f"Crew {department.pk}-{n}"},
                )[0].pk
                for n in range(3)
            ]
        self.workers = []
        for n in range(10):
            worker = self._person(f"bench-worker-{n}", roles.DEPARTMENT_STAFF, self.department)
            Team.objects.get(pk=self.teams[busiest][n % 3]).members.add(worker)
            self.workers.append(worker.pk)

    @staticmethod
    def _person(username: str, role: str, department: Any) -> Any:
        from django.contrib.auth.models import Group, User

        from city311.accounts.models import Membership

        user, _ = User.objects.get_or_create(username=username)
        user.groups.add(Group.objects.get(name=role))
        if department is not None:
            Membership.objects.get_or_create(user=user, department=department)
        return user


def fill(count: int, plan: Plan) -> int:
    """Write requests until `count` are stored; how many were written.

    One transaction: the table's indexes (but its constraints) are dropped, the rows written,
    the indexes made again, so a run stopped half-way leaves the table as it was.
    """
    from django.db import connection, transaction

    from city311.servicerequests.models import ServiceRequest

    have = ServiceRequest.objects.count()
    if have >= count:
        return 0
    table = ServiceRequest._meta.db_table
    fields = [f for f in ServiceRequest._meta.concrete_fields if not f.primary_key]
    started = time.perf_counter()
    with transaction.atomic():
        indexes = _set_indexes_aside(table)
        rows = _values(_rows(have, count, plan), fields)
        if connection.vendor == "postgresql":
            _copy(table, fields, rows)
        else:
            _insert(table, fields, rows)
        print(f"\n  rows written in {time.perf_counter() - started:.0f} s; indexes...", flush=True)
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # The foreign keys' deferred checks of every row, now: an index cannot be made
                # on a table with checks pending.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for sql in indexes:
                cursor.execute(sql)
    with connection.cursor() as cursor:
        cursor.execute(
            f"VACUUM ANALYZE {table}" if connection.vendor == "postgresql" else "ANALYZE"
        )
    print(f"  {count - have:,} requests in {time.perf_counter() - started:.0f} s", flush=True)
    return count - have


def _set_indexes_aside(table: str) -> list[str]:
    """Drop the table's indexes that are not constraints; the statements that make them."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexname "
                "NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)",
                [table, table],
            )
        else:
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s "
                "AND sql IS NOT NULL",
                [table],
            )
        found = cursor.fetchall()
        for name, _sql in found:
            cursor.execute(f'DROP INDEX "{name}"')
    return [sql for _name, sql in found]


def _rows(first: int, last: int, plan: Plan) -> Iterator[dict[str, Any]]:
    """Rows `first` to `last` (numbered from 0), each the same whichever run writes it.

    Everything read from the database is read here, before the first row: the rows are made
    while COPY holds the connection."""
    from django.utils import timezone

    from city311.cities import profile
    from city311.geo.boundaries import area_index
    from city311.servicerequests.models import Channel, ServiceRequest

    # Points and the areas they are in, found once: the rows take one of them, moved a few
    # metres (finding the areas of each of a million points would take most of the build).
    index = area_index()
    south, west, north, east = BOX
    draw = random.Random(311)
    places = []
    for _ in range(PLACES):
        lat = south + draw.random() * (north - south)
        long = west + draw.random() * (east - west)
        areas: dict[str, dict[str, str]] = {}
        for area in index.at(lat, long):
            areas.setdefault(area.kind, {"code": area.code, "name": area.name})
        places.append((lat, long, json.dumps(areas)))
    grouping = profile.current().grouping
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    base = {
        f.attname: f.get_default()
        for f in ServiceRequest._meta.concrete_fields
        if not f.primary_key
    }
    channels = [Channel.WEB, Channel.PHONE, Channel.MOBILE_APP, Channel.OPEN311, Channel.EMAIL]
    return _made(first, last, plan, places, grouping, now, base, channels)


def _made(
    first: int,
    last: int,
    plan: Plan,
    places: list[tuple[float, float, str]],
    grouping: Any,
    now: datetime,
    base: dict[str, Any],
    channels: list[str],
) -> Iterator[dict[str, Any]]:
    from city311.servicerequests.tracking import check_digit, display

    started = time.perf_counter()
    for n in range(first, last):
        rng = random.Random(n)
        service_type = rng.choice(plan.types)
        lat, long, areas = rng.choice(places)
        lat, long = lat + rng.uniform(-4e-4, 4e-4), long + rng.uniform(-4e-4, 4e-4)
        # In filing order, as a table fills: the newest rows last. Open work is mostly of the
        # last four months; older requests stay open now and then (stuck, forgotten).
        age = timedelta(days=730) * (1 - n / last) + timedelta(seconds=rng.randint(-3600, 3600))
        requested = now - age
        payload = str(10**8 + n)
        row = base | {
            "tracking_number": display(payload + check_digit(payload), grouping),
            "service_type_id": service_type.pk,
            "department_id": service_type.department_id,
            "urgent": service_type.is_urgent,
            "description": rng.choice(PHRASES),
            "address_string": f"{rng.randint(1, 300)} {rng.choice(STREETS)}",
            "lat": lat,
            "long": long,
            "areas": areas,
            "channel": channels[n % 5],
            "requested_at": requested,
            "updated_at": requested,
        }
        if rng.random() > (OPEN_RECENT if age < timedelta(days=120) else OPEN_OLD):
            closed = requested + timedelta(hours=rng.randint(1, 400))
            row |= {
                "status": "closed",
                "resolution": "completed",
                "due_at": requested + timedelta(days=10),
                "closed_at": closed,
                "updated_at": closed,
            }
        else:
            row |= _open(n, service_type.department_id, plan, now)
        yield row
        if n % 20_000 == 0 and n > first:
            rate = (n - first) / (time.perf_counter() - started)
            print(f"  requests: {n:,} of {last:,} ({rate:,.0f}/s)", end="\r", flush=True)


def _open(n: int, department: int, plan: Plan, now: datetime) -> dict[str, Any]:
    """An open request of a working city: new or open, a third on a team of its department,
    a tenth of the supervisor's department's assigned (in progress), due around now (a quarter
    overdue), with the escalation levels a sweep would have recorded."""
    due = now + timedelta(hours=(n % 240) - 60)
    row: dict[str, Any] = {"status": "new" if n % 5 < 2 else "open", "due_at": due}
    if n % 3 == 0:
        row["team_id"] = plan.teams[department][(n // 3) % 3]
    if department == plan.department.pk and n % 100 < 10:
        row |= {"assignee_id": plan.workers[n % 100], "status": "in_progress"}
    if due < now - timedelta(hours=40):
        row["escalation_level"] = 300
    elif due < now:
        row["escalation_level"] = 100
    elif due < now + timedelta(days=1):
        row["escalation_level"] = 75
    return row


def _values(rows: Iterator[dict[str, Any]], fields: list[Any]) -> Iterator[tuple[Any, ...]]:
    """Each row as the database takes it: JSON as text, times as SQLite stores them."""
    from django.db import connection, models

    sqlite = connection.vendor == "sqlite"
    convert: list[Any] = []
    for f in fields:
        if isinstance(f, models.JSONField):
            convert.append(lambda v: v if isinstance(v, str) else json.dumps(v))
        elif sqlite and isinstance(f, models.DateTimeField):
            convert.append(connection.ops.adapt_datetimefield_value)
        else:
            convert.append(None)
    for row in rows:
        yield tuple(
            (c(row[f.attname]) if c and row[f.attname] is not None else row[f.attname])
            for f, c in zip(fields, convert, strict=True)
        )


def _copy(table: str, fields: list[Any], rows: Iterator[tuple[Any, ...]]) -> None:
    from django.db import connection

    columns = ", ".join(f'"{f.column}"' for f in fields)
    sql = f"COPY {table} ({columns}) FROM STDIN"
    with connection.connection.cursor() as cursor, cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)


def _insert(table: str, fields: list[Any], rows: Iterator[tuple[Any, ...]]) -> None:
    from itertools import islice

    from django.db import connection

    columns = ", ".join(f'"{f.column}"' for f in fields)
    marks = ", ".join("?" for _ in fields)
    sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"
    while batch := list(islice(rows, 10_000)):
        connection.connection.executemany(sql, batch)


def filters() -> list[str]:
    from city311.servicerequests.models import ServiceRequest, Status, Team

    some = ServiceRequest.objects.exclude(status=Status.CLOSED).order_by("pk")
    open_number = some.values_list("tracking_number", flat=True).first()
    row = some.exclude(areas={}).values("areas", "service_type__service_code").first() or {}
    area = row.get("areas", {}).get("community_district", {}).get("code", "101")
    code = row.get("service_type__service_code", "")
    team = Team.objects.filter(slug__startswith="bench-").order_by("pk").first()
    worker = some.filter(assignee__isnull=False).values("assignee").first()
    assignee = worker["assignee"] if worker else 0
    return [
        "",
        "sort=newest",
        "sort=oldest",
        "sort=updated",
        f"type={code}",
        "status=new",
        "status=open",
        "status=in_progress",
        "status=closed",
        "status=any",
        f"area=community_district:{area}",
        "area=borough:3",
        "assignee=none",
        f"assignee={assignee}",
        "assignee=me",
        f"team={team.slug if team else 'none'}",
        "team=none",
        "overdue=1",
        "urgent=1",
        "escalation=warned",
        "escalation=breached",
        "escalation=way_overdue",
        f"team={team.slug if team else 'none'}&escalation=breached",
        "channel=phone",
        "since=2026-01-01&until=2026-01-31",
        f"q={open_number}",
        "q=hydrant",
        "q=17+Example",
        "q=nothing+like+this",
        "page=5",
        f"type={code}&area=community_district:{area}&overdue=1",
        "area=borough:3&assignee=none&sort=oldest&status=any",
        "channel=web&urgent=1&overdue=1",
        "status=any&sort=newest&channel=phone",
        "status=closed&area=borough:3&sort=oldest",
    ]


def backend_cpu_ns() -> int:
    """CPU time the PostgreSQL backend serving this connection has used, in nanoseconds
    (/proc/<pid>/schedstat: the server runs on this machine); 0 on SQLite, which runs in this
    process (its time is the process's own)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])


def measure(
    client: object, query: str, rounds: int, *, page: str = "/work/"
) -> tuple[list[float], list[float]]:
    """Per page view: wall-clock ms, and CPU ms (this process's plus its database backend's).

    On a machine shared with other work, wall time is mostly waiting for a core; the CPU time
    is what the page costs, and what it takes on an idle machine with the data in memory.
    """
    walls, cpus = [], []
    for _ in range(rounds):
        b0, c0, t0 = backend_cpu_ns(), time.process_time(), time.perf_counter()
        response = client.get(f"{page}?{query}")  # type: ignore[attr-defined]
        t1, c1 = time.perf_counter(), time.process_time()
        b1 = backend_cpu_ns()
        assert response.status_code == 200, (query, response.status_code)
        walls.append((t1 - t0) * 1000)
        cpus.append((c1 - c0) * 1000 + (b1 - b0) / 1e6)
    return walls, cpus


def explain(user: Any, query: str) -> None:
    """The plans of the page's two statements for one filter (EXPLAIN ANALYZE, PostgreSQL)."""
    from django.db import connection
    from django.http import QueryDict

    from city311.work import forms, queries

    form = forms.QueueForm(QueryDict(query))
    assert form.is_valid(), form.errors
    selection = queries.select(user, form.cleaned_data)
    page = selection.rows[: queries.PAGE_SIZE + 1]
    # As Selection.count asks.
    counted = selection.rows.select_related(None).order_by()[: queries.COUNT_CAP + 1]
    inner, params = counted.values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        for what, (sql, args) in (
            ("page", page.query.sql_with_params()),
            ("count", (f"SELECT count(*) FROM ({inner}) AS counted", params)),
        ):
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", args)
            print(f"--- {query or '(none)'}: {what}")
            print("\n".join(line for (line,) in cursor.fetchall()))


def board(people: Any, rounds: int, stored: int) -> None:
    """The supervisor's board (/work/board/), as each person: it counts each group's open,
    unassigned, overdue and escalated work (every unclosed row counted, from the sr_board index)."""
    from django.test import Client

    print(
        f"/work/board/ with {stored:,} requests stored; {rounds} rounds; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    for who, user in people:
        client = Client()
        client.force_login(user)
        client.get("/work/board/")  # warm
        walls, cpus = measure(client, "", rounds, page="/work/board/")
        print(
            f"  {who:10} wall p50 {statistics.median(walls):7.1f} p95 {p95(walls):7.1f}   "
            f"CPU p50 {statistics.median(cpus):7.1f} p95 {p95(cpus):7.1f} ms",
            flush=True,
        )
    print(f"  load average after: {os.getloadavg()[0]:.1f}")


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--only", help="measure only the filters containing this text")
    parser.add_argument(
        "--explain", action="store_true", help="print each filter's plans (PostgreSQL) instead"
    )
    parser.add_argument("--build", action="store_true", help="only build the database")
    parser.add_argument("--board", action="store_true", help="time the supervisor's board instead")
    args = parser.parse_args()
    setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client

    from city311.lib.memory import freeze_what_is_loaded
    from city311.servicerequests.models import ServiceRequest, Status

    settings.ALLOWED_HOSTS = ["*"]
    # Page time without `collectstatic` first: the hashed manifest is a deployment step.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    plan = Plan()
    fill(args.requests, plan)
    if args.build:
        return
    if connection.vendor == "postgresql":
        # Every statement's work in this connection's backend, whose CPU time is measured: a
        # parallel worker is a process of its own, and its CPU time would go uncounted.
        with connection.cursor() as cursor:
            cursor.execute("SET max_parallel_workers_per_gather = 0")
    stored = ServiceRequest.objects.count()
    unclosed = ServiceRequest.objects.exclude(status=Status.CLOSED).count()
    chosen = [q for q in filters() if args.only is None or args.only in q]
    people = (("manager", plan.manager), ("supervisor", plan.supervisor))
    if args.board:
        board(people, args.rounds, stored)
        return
    if args.explain:
        for who, user in people:
            for query in chosen:
                print(f"\n=== {who}")
                explain(user, query)
        return
    print(
        f"{stored:,} requests stored ({unclosed:,} not closed) on {connection.vendor}; "
        f"{args.rounds} rounds a filter; target p95 < {TARGET_MS:.0f} ms; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    load = os.getloadavg()[0]
    worst_wall = worst_cpu = 0.0
    for who, user in people:
        client = Client()
        client.force_login(user)
        client.get("/work/")  # warm: templates, catalog
        freeze_what_is_loaded()  # as a web process does once it is warm (city311/wsgi.py)
        print(f"\n{who}: {'filter':52}   wall p50    p95    CPU p50    p95")
        walls_all: list[float] = []
        cpus_all: list[float] = []
        for query in chosen:
            walls, cpus = measure(client, query, args.rounds)
            walls_all += walls
            cpus_all += cpus
            worst_wall, worst_cpu = max(worst_wall, p95(walls)), max(worst_cpu, p95(cpus))
            flag = "" if p95(cpus) < TARGET_MS else "  OVER"
            print(
                f"  {query or '(none: not closed, urgent first)':58.58} "
                f"{statistics.median(walls):7.1f} {p95(walls):6.1f}"
                f"   {statistics.median(cpus):7.1f} {p95(cpus):6.1f}{flag}",
                flush=True,
            )
            load = max(load, os.getloadavg()[0])
        print(f"  all filters: wall p95 {p95(walls_all):.1f} ms, CPU p95 {p95(cpus_all):.1f} ms")
    verdict = "PASS" if worst_cpu < TARGET_MS else "FAIL"
    print(
        f"\nworst filter p95: CPU {worst_cpu:.1f} ms (target < {TARGET_MS:.0f}): {verdict}; "
        f"wall {worst_wall:.1f} ms with the machine's load average up to {load:.1f} "
        f"on {os.cpu_count()} cores"
    )
    sys.exit(0 if worst_cpu < TARGET_MS else 1)


if __name__ == "__main__":
    main()
