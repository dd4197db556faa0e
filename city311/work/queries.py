"""Reads for the department work pages."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import Floor
from django.utils import timezone
from django.utils.translation import gettext_lazy

from city311.accounts.roles import department_ids
from city311.catalog import cache as catalog_cache
from city311.geo.models import Boundary, BoundaryKind
from city311.lib.distance import metres
from city311.servicerequests import sla
from city311.servicerequests.access import (
    can_be_assigned,
    can_work_request,
    requests_visible_to,
)
from city311.servicerequests.duplicates import find_duplicates
from city311.servicerequests.errors import RequestError
from city311.servicerequests.models import (
    ESCALATION_BANDS,
    ServiceRequest,
    Status,
    Team,
    WorkOrderStatus,
)
from city311.servicerequests.tracking import InvalidTrackingNumber, normalise


def department_staff(sr: ServiceRequest) -> list[User]:
    """Who the request may be assigned to (access.can_be_assigned), by name."""
    if sr.department_id is None:
        return []
    members = User.objects.filter(memberships__department_id=sr.department_id, is_active=True)
    return [u for u in members.order_by("first_name", "username") if can_be_assigned(u, sr)]


def assignable_people(user: Any) -> list[User]:
    """Whom `user` may assign work to in bulk: for a supervisor, the staff of their
    departments; for an administrator, every department's (access.can_be_assigned)."""
    admin = user.is_superuser or user.has_perm("servicerequests.change_servicerequest")
    if not admin and not user.has_perm("servicerequests.assign_request"):
        return []
    people = User.objects.filter(is_active=True, memberships__isnull=False)
    if not admin:
        people = people.filter(memberships__department_id__in=department_ids(user))
    # Staff who work requests (by their roles' permissions, in one query rather than a
    # has_perm per person); a call taker who also belongs to a department does not.
    works = Q(groups__permissions__codename="work_request") | Q(
        user_permissions__codename="work_request"
    )
    takes_calls = User.objects.filter(groups__permissions__codename="add_servicerequest")
    people = people.filter(works).exclude(pk__in=takes_calls.values("pk"))
    return list(people.distinct().order_by("first_name", "username"))


def possible_duplicates(sr: ServiceRequest, *, for_user: Any) -> list[tuple[ServiceRequest, float]]:
    """Other unclosed requests of the same kind near this one that `for_user` may merge it into
    (other departments' requests are neither offered nor named)."""
    if sr.is_closed or sr.lat is None or sr.long is None:
        return []
    near = find_duplicates(sr.service_type, sr.lat, sr.long, exclude_pk=sr.pk, limit=20)
    return [(other, d) for other, d in near if can_work_request(for_user, other)][:5]


def area_labels(sr: ServiceRequest) -> list[tuple[str, str]]:
    """The areas the request was filed in, as (kind label, area name), city limits left out."""
    labels = dict(BoundaryKind.choices)
    return [
        (str(labels.get(kind, kind.replace("_", " ").capitalize())), area.get("name", ""))
        for kind, area in sr.areas.items()
        if kind != BoundaryKind.CITY_LIMITS
    ]


# Queue selections

PAGE_SIZE = 50
# Counts stop here: "1,000+" is all a person needs to know, and counting every one of a
# million rows on each page view is what a queue must not do.
COUNT_CAP = 1000


class NotFound(RequestError, ValueError):
    """A filter names something that does not exist (a type, team or department)."""


@dataclass
class Selection:
    """The queue's rows for one set of filters: the ordered queryset and what it shows."""

    rows: QuerySet[ServiceRequest]
    sort: str

    def count(self) -> tuple[int, bool]:
        """How many match, up to COUNT_CAP, and whether there are more."""
        # No joins and no order: count(*) over ids read straight from the request's indexes.
        # (In the page's order it was slower at a million: the planner sorted every live row.)
        # A dense filter of the live queue reads sr_live_requested_at as far as it must, never
        # the closed history before it.
        with counting():
            found = self.rows.select_related(None).order_by()[: COUNT_CAP + 1].count()
        return min(found, COUNT_CAP), found > COUNT_CAP

    def page(self, number: int) -> tuple[list[ServiceRequest], bool]:
        """The rows of page `number` (from 1), and whether a next page exists."""
        start = (number - 1) * PAGE_SIZE
        rows = list(self.rows[start : start + PAGE_SIZE + 1])
        return rows[:PAGE_SIZE], len(rows) > PAGE_SIZE


# PostgreSQL's cost of a random page read while a capped count is planned: the default (4)
# is for spinning disks. With it a count of a selective filter walked a whole index of live
# work (148,000 rows at a million requests) in filing order, which the planner thinks is read
# in sequence, rather than a bitmap of the few rows that match: "hydrant" 315 ms rather than
# 16, "web, urgent, overdue" 347 rather than 10 (EXPLAIN ANALYZE, bench/work_queue.py). The
# value SSDs and a database in memory are given; set only for the count, then put back.
COUNT_RANDOM_PAGE_COST = "1.1"


@contextmanager
def counting() -> Iterator[None]:
    """Plan the capped counts inside with COUNT_RANDOM_PAGE_COST (PostgreSQL; nothing on
    SQLite), in a transaction, restoring the connection's own value after."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('random_page_cost'), set_config('random_page_cost', %s, true)",
            [COUNT_RANDOM_PAGE_COST],
        )
        before = cursor.fetchone()[0]
        # (On an error the transaction's rollback puts it back.)
        yield
        cursor.execute("SELECT set_config('random_page_cost', %s, true)", [before])


def select(user: Any, filters: dict[str, Any], *, now: datetime | None = None) -> Selection:
    """The requests `user` may see that match `filters` (a valid QueueForm's cleaned_data),
    in the chosen order. Raises NotFound for a type, team or department that does not exist.

    Each filter is a plain column condition the planner can take from an index: the default
    (not closed, urgent first, soonest due) reads sr_unclosed_queue or sr_department_queue,
    a status sr_status_queue, an escalation band sr_<band>_queue, a team sr_team_queue, an
    assignee sr_assignee, the live queue by date sr_live_requested_at or sr_live_updated_at,
    any status by date sr_requested_at or sr_updated_at.
    """
    rows = requests_visible_to(user)
    status = filters.get("status") or ""
    if status == "":
        # Live work only: history imported from an earlier system is not work (.live()).
        rows = rows.exclude(status=Status.CLOSED).live()
    elif status == "closed":
        rows = rows.filter(status=status)
    elif status != "any":
        # "Not closed" too, as sr_status_queue's condition says (SQLite takes a partial
        # index only for a query that repeats its condition).
        rows = rows.exclude(status=Status.CLOSED).filter(status=status)
    rows = _filter_where(rows, filters)
    rows = _filter_who(rows, user, filters)
    if filters.get("channel"):
        rows = rows.filter(channel=filters["channel"])
    if filters.get("overdue"):
        rows = rows.exclude(status=Status.CLOSED).filter(due_at__lt=now or timezone.now())
    if filters.get("urgent"):
        rows = rows.filter(urgent=True)
    if filters.get("escalation"):
        rows = rows.exclude(status=Status.CLOSED).filter(ESCALATION[filters["escalation"]])
    if filters.get("since"):
        rows = rows.filter(requested_at__gte=_day_start(filters["since"]))
    if filters.get("until"):
        rows = rows.filter(requested_at__lt=_day_start(filters["until"], after=True))
    if filters.get("closed_since"):
        rows = rows.filter(closed_at__gte=_day_start(filters["closed_since"]))
    if filters.get("closed_until"):
        rows = rows.filter(closed_at__lt=_day_start(filters["closed_until"], after=True))
    if filters.get("box"):
        rows = _in_box(rows, filters["box"])
    if filters.get("q"):
        rows = _search(rows, filters["q"])
    sort = filters.get("sort") or ("newest" if status in ("closed", "any") else "due")
    rows = rows.select_related("service_type", "department", "assignee", "team")
    return Selection(rows.order_by(*ORDERS[sort]), sort)


# The bands of escalation_level the board counts and the queue filters by (each served by
# its sr_<band>_queue index).
ESCALATION = ESCALATION_BANDS


ORDERS: dict[str, list[Any]] = {
    "due": ["-urgent", F("due_at").asc(nulls_last=True), "pk"],
    "newest": ["-requested_at", "-pk"],
    "oldest": ["requested_at", "pk"],
    "updated": ["-updated_at", "-pk"],
}


def _filter_where(rows: QuerySet[ServiceRequest], filters: dict[str, Any]) -> Any:
    if filters.get("department"):
        # By id from the cached catalog, not through a join on the slug: the department's
        # queue index reads it directly. An unknown slug selects nothing, as it did.
        slug = filters["department"]
        department = next((d.pk for d in catalog_cache.departments() if d.slug == slug), None)
        rows = rows.filter(department_id=department) if department is not None else rows.none()
    if filters.get("type"):
        found = catalog_cache.catalog().by_code.get(filters["type"])
        if found is None:
            raise NotFound(
                gettext_lazy("There is no service type “%(service_code)s”: check the code."),
                code="unknown_type",
                service_code=filters["type"],
            )
        # By id, not through a join on the code: sr_type_queue (not closed) or
        # sr_type_requested_at (any status, closed) serve it.
        rows = rows.filter(service_type_id=found.pk)
    if filters.get("group"):
        rows = rows.filter(service_type__group=filters["group"])
    if filters.get("area"):
        kind, _, code = filters["area"].partition(":")
        if connection.vendor == "postgresql":
            # `areas @> {kind: {code}}`: the GIN index sr_areas (migration 0013) answers it.
            rows = rows.filter(areas__contains={kind: {"code": code}})
        else:
            rows = rows.filter(**{f"areas__{kind}__code": code})
    return rows


def _in_box(rows: QuerySet[ServiceRequest], box: tuple[float, float, float, float]) -> Any:
    """The requests whose place, rounded as the open data rounds it (reports.heat: floor of
    x / step + 1/2, in whole steps), lies in the box's published points, edges included: a
    heat map square's or an open-points cluster's own requests."""
    from city311.reports.heat import STEP

    west, south, east, north = (round(degrees / STEP) for degrees in box)
    rows = rows.filter(
        # The box with a step's margin, plain columns for an index; then exactly as rounded.
        lat__gte=(south - 1) * STEP, lat__lte=(north + 1) * STEP,
        long__gte=(west - 1) * STEP, long__lte=(east + 1) * STEP,
    )  # fmt: skip
    return rows.alias(
        lat_step=Floor(F("lat") / STEP + 0.5), long_step=Floor(F("long") / STEP + 0.5)
    ).filter(lat_step__gte=south, lat_step__lte=north, long_step__gte=west, long_step__lte=east)


def _filter_who(rows: QuerySet[ServiceRequest], user: Any, filters: dict[str, Any]) -> Any:
    assignee = filters.get("assignee") or ""
    if assignee == "me":
        rows = rows.filter(assignee_id=user.pk)
    elif assignee == "none":
        rows = rows.filter(assignee__isnull=True)
    elif assignee:
        rows = rows.filter(assignee_id=int(assignee))
    team = filters.get("team") or ""
    if team == "none":
        rows = rows.filter(team__isnull=True)
    elif team:
        found = Team.objects.filter(slug=team).values_list("pk", flat=True).first()
        if found is None:
            raise NotFound(
                gettext_lazy("There is no team “%(team)s”: check the name in the link."),
                code="unknown_team",
                team=team,
            )
        rows = rows.filter(team_id=found)
    return rows


def _search(rows: QuerySet[ServiceRequest], text: str) -> Any:
    """A tracking number finds that request; other words of three letters or more must each be
    in the address or the description (on PostgreSQL, through the trigram indexes
    sr_search_address and sr_search_description, which need three letters to work from)."""
    try:
        return rows.filter(tracking_number=normalise(text))
    except InvalidTrackingNumber:
        pass
    words = [w for w in text.split() if len(w) >= 3][:8] or text.split()[:1]
    for word in words:
        rows = rows.filter(Q(address_string__icontains=word) | Q(description__icontains=word))
    return rows


def _day_start(day: Any, *, after: bool = False) -> datetime:
    start = timezone.make_aware(datetime.combine(day, time()))
    return start + timedelta(days=1) if after else start


def map_points(selection: Selection, *, limit: int = 1000) -> dict[str, Any]:
    """The located requests of the selection as GeoJSON, in the queue's order, at most `limit`."""
    rows = selection.rows.filter(lat__isnull=False, long__isnull=False)[: limit + 1]
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [sr.long, sr.lat]},
            "properties": {
                "tracking_number": sr.tracking_number,
                "service_name": sr.service_type.service_name,
                "status": sr.get_status_display(),
                "urgent": sr.urgent,
                "overdue": sr.is_overdue(),
            },
        }
        for sr in rows
    ]
    return {
        "type": "FeatureCollection",
        "features": features[:limit],
        "truncated": len(features) > limit,
    }


EXPORT_LIMIT = 100_000
EXPORT_COLUMNS = [
    "tracking_number",
    "service_code",
    "service_name",
    "status",
    "resolution",
    "urgent",
    "overdue",
    "department",
    "team",
    "assigned_to",
    "channel",
    "address",
    "latitude",
    "longitude",
    "areas",
    "requested_at",
    "due_at",
    "closed_at",
]


def export_rows(selection: Selection) -> Iterator[list[str]]:
    """The selection as CSV rows (header first), at most EXPORT_LIMIT.

    No resident's personal data: no contact details, and no description or answers, which
    are free text a resident may have put a name or number in.
    """
    yield EXPORT_COLUMNS
    now = timezone.now()
    rows = selection.rows[:EXPORT_LIMIT]
    for sr in rows.iterator(chunk_size=2000):
        yield [
            sr.tracking_number,
            sr.service_type.service_code,
            sr.service_type.service_name,
            sr.status,
            sr.resolution,
            "yes" if sr.urgent else "no",
            "yes" if sr.is_overdue(now) else "no",
            sr.department.slug if sr.department else "",
            sr.team.slug if sr.team else "",
            sr.assignee.get_username() if sr.assignee else "",
            sr.channel,
            sr.address_string,
            "" if sr.lat is None else f"{sr.lat:.6f}",
            "" if sr.long is None else f"{sr.long:.6f}",
            "; ".join(a.get("name", "") for a in sr.areas.values() if isinstance(a, dict)),
            _iso(sr.requested_at),
            _iso(sr.due_at),
            _iso(sr.closed_at),
        ]


def _iso(at: datetime | None) -> str:
    return at.isoformat() if at else ""


# Teams, the supervisor's board, the crew's day


def teams_for(user: Any) -> QuerySet[Team]:
    """The active teams of the departments whose requests `user` may see."""
    teams = Team.objects.filter(active=True).select_related("department")
    if user.has_perm("servicerequests.view_all_requests") or user.is_superuser:
        return teams
    return teams.filter(department_id__in=department_ids(user))


def board(user: Any, *, now: datetime | None = None) -> dict[str, Any]:
    """Unassigned, overdue and escalated work, not closed, by team (with its territory) and by
    area (the city's districts, each with the team whose territory holds it)."""
    now = now or timezone.now()
    kind = _district_kind()
    groups = _board_groups(user, kind, now)
    by_team = _by_team(groups)
    by_area = _by_area(groups) if kind else []
    territories = _territories(user)
    # Departments named in the page's language (the catalog's translations).
    named = {d.slug: d.translated("name") for d in catalog_cache.departments()}
    for row in by_team:
        row["territory"] = [name for _, _, name in territories.get(row["team__slug"], [])]
        row["department"] = named.get(row["department__slug"], row["department__name"])
    holder = {
        (area_kind, code): slug
        for slug, areas in territories.items()
        for area_kind, code, _ in areas
    }
    names = {team.slug: team.name for team in teams_for(user)}
    for row in by_area:
        slug = holder.get((kind, row["code"]))
        row["team"] = {"slug": slug, "name": names.get(slug, "")} if slug else None
    return {
        "by_team": by_team,
        "by_area": by_area,
        "area_kind": kind,
        # Departments whose breaches reach nobody of theirs: warned of before it happens.
        "unreachable": [
            d.translated("name")
            for d in sla.unreachable_departments(
                None if _sees_all(user) else sorted(department_ids(user))
            )
        ],
    }


BoardKey = tuple[int | None, int | None, Any, Any]
COUNTED = ("open", "unassigned", "overdue", *ESCALATION)


def _board_groups(user: Any, kind: str, now: datetime) -> dict[BoardKey, dict[str, int]]:
    """The board's counts of unclosed work by (department, team, area code, area name).

    One pass over the rows, grouped by the area's code alone (its name is the boundary's):
    the two tables are sums of these groups. It reads sr_board alone, never the table: two
    GROUP BYs, by team and by area with its code and name, read every open row's page twice
    (150,000 rows at a million, 600 ms of CPU for a manager's board; now about 200)."""
    rows = requests_visible_to(user).exclude(status=Status.CLOSED)
    counts = {
        "open": Count("pk"),
        "unassigned": Count("pk", filter=Q(assignee__isnull=True)),
        "overdue": Count("pk", filter=Q(due_at__lt=now)),
        **{band: Count("pk", filter=q) for band, q in ESCALATION.items()},
    }
    area = {"code": F(f"areas__{kind}__code")} if kind else {}
    grouped = list(rows.values("department_id", "team_id", **area).annotate(**counts).order_by())
    names = _area_names(rows, kind, {row.get("code") for row in grouped} - {None})
    found: dict[BoardKey, dict[str, int]] = {}
    for row in grouped:
        code = row.get("code")
        key = (row["department_id"], row["team_id"], code, names.get(code))
        found[key] = {name: row[name] for name in COUNTED}
    return found


def _area_names(rows: QuerySet[ServiceRequest], kind: str, codes: set[Any]) -> dict[Any, Any]:
    """The name of each area code: the boundary's, else (an area no longer among the
    boundaries) as a request filed in it recorded it."""
    names: dict[Any, Any] = dict(
        Boundary.objects.filter(kind=kind, code__in=[str(c) for c in codes]).values_list(
            "code", "name"
        )
    )
    for code in codes - names.keys():
        names[code] = (
            rows.filter(**{f"areas__{kind}__code": code})
            .values_list(f"areas__{kind}__name", flat=True)
            .first()
        )
    return names


def _summed(rows: dict[Any, dict[str, Any]], key: Any, counts: dict[str, int]) -> None:
    into = rows.setdefault(key, dict.fromkeys(COUNTED, 0))
    for name in COUNTED:
        into[name] += counts[name]


def _by_team(groups: dict[BoardKey, dict[str, int]]) -> list[dict[str, Any]]:
    """The groups summed by department and team, named, by department and team name (no team
    last in each department, as PostgreSQL sorts an empty name)."""
    summed: dict[tuple[int | None, int | None], dict[str, Any]] = {}
    for (department_id, team_id, _, _), counts in groups.items():
        _summed(summed, (department_id, team_id), counts)
    departments = catalog_cache.catalog().departments
    teams = {t.pk: t for t in Team.objects.filter(pk__in={t for _, t in summed if t})}
    rows = []
    for (department_id, team_id), counts in summed.items():
        department = departments.get(department_id) if department_id else None
        team = teams.get(team_id) if team_id else None
        rows.append(
            {
                "department__name": department.name if department else None,
                "department__slug": department.slug if department else None,
                "team__name": team.name if team else None,
                "team__slug": team.slug if team else None,
                **counts,
            }
        )
    return sorted(
        rows, key=lambda r: (*_last_if_none(r["department__name"]), *_last_if_none(r["team__name"]))
    )


def _by_area(groups: dict[BoardKey, dict[str, int]]) -> list[dict[str, Any]]:
    """The groups summed by area, most overdue first, then by name (no area last)."""
    summed: dict[tuple[Any, Any], dict[str, Any]] = {}
    for (_, _, code, name), counts in groups.items():
        _summed(summed, (code, name), counts)
    rows = [{"name": name, "code": code, **counts} for (code, name), counts in summed.items()]
    return sorted(rows, key=lambda r: (-r["overdue"], *_last_if_none(r["name"])))


def _last_if_none(value: Any) -> tuple[bool, Any]:
    return (value is None, "" if value is None else value)


def _sees_all(user: Any) -> bool:
    return bool(user.has_perm("servicerequests.view_all_requests") or user.is_superuser)


def _territories(user: Any) -> dict[str, list[tuple[str, str, str]]]:
    """Each team's territory `user` may see: slug -> [(kind, code, name)] by name."""
    links = (
        Team.areas.through.objects.filter(team__in=teams_for(user))
        .order_by("boundary__name")
        .values_list("team__slug", "boundary__kind", "boundary__code", "boundary__name")
    )
    found: dict[str, list[tuple[str, str, str]]] = {}
    for slug, kind, code, name in links:
        found.setdefault(slug, []).append((kind, code, name))
    return found


def in_territory(sr: ServiceRequest, areas: list[tuple[str, str, str]]) -> bool:
    """Whether the request was filed in one of the areas (as recorded when filed)."""
    recorded = sr.areas or {}
    return any(
        isinstance(recorded.get(kind), dict) and recorded[kind].get("code") == code
        for kind, code, _ in areas
    )


def territory_areas(user: Any, slug: str) -> list[tuple[str, str, str]]:
    """The territory of the team `slug`, one of those `user` may see; NotFound otherwise."""
    if not teams_for(user).filter(slug=slug).exists():
        raise NotFound(
            gettext_lazy("There is no team “%(team)s”: choose one of the list."),
            code="unknown_team",
            team=slug,
        )
    return _territories(user).get(slug, [])


def _district_kind() -> str:
    from city311.portal.queries import district_kind

    return district_kind()


def area_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """The areas the queue can filter by, grouped by kind: [(kind label, [(kind:code, name)])]."""
    labels = dict(BoundaryKind.choices)
    grouped: dict[str, list[tuple[str, str]]] = {}
    for kind, code, name in (
        Boundary.objects.exclude(kind=BoundaryKind.CITY_LIMITS)
        .order_by("kind", "name")
        .values_list("kind", "code", "name")
    ):
        grouped.setdefault(kind, []).append((f"{kind}:{code}", name))
    return [(str(labels.get(k, k)), v) for k, v in grouped.items()]


@dataclass
class Stop:
    """One request of a crew's day, with how far it is from the stop before."""

    sr: ServiceRequest
    metres: float | None
    work_orders: list[Any]


def my_day(user: Any, *, territory: list[tuple[str, str, str]] | None = None) -> list[Stop]:
    """The user's unclosed requests (assigned to them, or with a work order of theirs), in
    route order: a nearest-next walk from where their team starts (or from the first, most
    urgent one), unlocated requests last. With `territory` (territory_areas), only those
    filed in it."""
    mine = (
        requests_visible_to(user)
        .exclude(status=Status.CLOSED)
        .filter(
            Q(assignee_id=user.pk)
            | Q(
                work_orders__assignee_id=user.pk,
                work_orders__status__in=[WorkOrderStatus.OPEN, WorkOrderStatus.IN_PROGRESS],
            )
        )
        .distinct()
        .select_related("service_type")
        .order_by(*ORDERS["due"])
    )
    requests = list(mine[:200])
    if territory is not None:
        requests = [sr for sr in requests if in_territory(sr, territory)]
    orders: dict[int, list[Any]] = {}
    for order in user.work_orders.filter(
        request__in=requests, status__in=[WorkOrderStatus.OPEN, WorkOrderStatus.IN_PROGRESS]
    ):
        orders.setdefault(order.request_id, []).append(order)
    start = _start_point(user)
    located = [sr for sr in requests if sr.lat is not None and sr.long is not None]
    stops: list[Stop] = []
    here = start
    while located:
        origin = here
        if origin is None:
            nearest = located[0]
        else:
            nearest = min(located, key=lambda sr: _metres(origin, (sr.lat, sr.long)))
        located.remove(nearest)
        point = (nearest.lat, nearest.long)
        distance = None if origin is None else _metres(origin, point)
        stops.append(Stop(nearest, distance, orders.get(nearest.pk, [])))
        here = point  # type: ignore[assignment]
    for sr in requests:
        if sr.lat is None or sr.long is None:
            stops.append(Stop(sr, None, orders.get(sr.pk, [])))
    return stops


def _start_point(user: Any) -> tuple[float, float] | None:
    team = (
        user.teams.filter(active=True, start_lat__isnull=False, start_long__isnull=False)
        .order_by("pk")
        .first()
    )
    return (team.start_lat, team.start_long) if team else None


def _metres(a: tuple[float, float], b: tuple[Any, Any]) -> float:
    """Distance on the ground, as everything else in city311 measures it."""
    return metres(a[0], a[1], float(b[0]), float(b[1]))
