"""Which department gets a request (the administrator's routing rules, else the type's default),
and which of its teams (the assignment rules, else none)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db.models import Q

from city311.catalog import cache as catalog_cache
from city311.catalog.models import Department, ServiceType
from city311.geo.models import Boundary
from city311.servicerequests.models import AssignmentRule, MatchRule, RoutingRule, Team

R = TypeVar("R", bound=MatchRule)


@dataclass
class Route:
    department: Department | None
    rule: RoutingRule | None
    area_name: str = ""
    team: Team | None = None
    team_rule: AssignmentRule | None = None
    # With no assignment rule: the area of the team's territory that holds the request.
    territory: str = ""

    def explain(self) -> str:
        """For the history: "Sent to Sanitation, Brooklyn North zone, by rule 12."."""
        if self.department is None:
            return "Not routed: no department handles this type yet."
        if self.rule is None:
            said = f"Sent to {self.department.name} (the type's default department)."
        else:
            where = f", {self.area_name}" if self.area_name else ""
            said = f"Sent to {self.department.name}{where}, by rule {self.rule.pk}."
        if self.team is not None and self.team_rule is not None:
            said += f" Team {self.team.name}, by assignment rule {self.team_rule.pk}."
        elif self.team is not None:
            said += f" Team {self.team.name}, whose territory holds {self.territory}."
        return said

    def data(self) -> dict[str, Any]:
        return {
            "department": self.department.slug if self.department else None,
            "rule": self.rule.pk if self.rule else None,
            "area": self.area_name,
            "team": self.team.slug if self.team else None,
            "team_rule": self.team_rule.pk if self.team_rule else None,
            "territory": self.territory,
        }


def route(service_type: ServiceType, area_ids: set[int]) -> Route:
    """The most specific active rule for the type (or its group) and the areas of the point,
    and the most specific assignment rule naming a team of that department (else the team
    whose territory holds the point).

    The rules are read once per catalog snapshot (a rule saved anywhere retires every
    process's snapshot: servicerequests/apps.py), not on every request.
    """
    return catalog_cache.catalog().derived("router", Router).route(service_type, area_ids)


@dataclass
class Territory:
    team: Team
    areas: dict[int, str]  # boundary id -> its name


class Router:
    """Every active routing and assignment rule and every team's territory, read once, routing
    in memory (a process, a bulk import).

    Shared by a process's threads: read-only once built.
    """

    def __init__(self) -> None:
        # Geometry deferred: the area's name only, not tens of kilobytes of GeoJSON.
        light = ("area__geometry", "area__properties")
        self.routing: list[RoutingRule] = list(
            RoutingRule.objects.filter(active=True)
            .select_related("department", "area")
            .defer(*light)
        )
        self.assignment: list[AssignmentRule] = list(
            AssignmentRule.objects.filter(active=True, team__active=True)
            .select_related("team", "area")
            .defer(*light)
        )
        # Each active team's territory, in its department; an empty territory is the whole
        # city and chooses nothing (a rule does that).
        self.territories: dict[int, list[Territory]] = {}
        through = (
            Team.areas.through.objects.filter(team__active=True)
            .select_related("team", "boundary")
            .defer("boundary__geometry", "boundary__properties")
            .order_by("team__name", "team_id")
        )
        found: dict[int, Territory] = {}
        for link in through:
            team = link.team
            if team.pk not in found:
                found[team.pk] = Territory(team, {})
                self.territories.setdefault(team.department_id, []).append(found[team.pk])
            found[team.pk].areas[link.boundary_id] = link.boundary.name

    @staticmethod
    def best(rules: Sequence[R], service_type: ServiceType, area_ids: set[int]) -> R | None:
        """The one matcher of both kinds of rule: the most specific that applies."""
        matching = [r for r in rules if r.applies(service_type, area_ids)]
        return min(matching, key=lambda r: r.specificity()) if matching else None

    def route(self, service_type: ServiceType, area_ids: set[int]) -> Route:
        best = self.best(self.routing, service_type, area_ids)
        found = (
            Route(service_type.department, None)
            if best is None
            else Route(best.department, best, best.area.name if best.area else "")
        )
        if found.department is not None:
            found.team_rule = self.team_for(service_type, area_ids, found.department.pk)
            if found.team_rule is not None:
                found.team = found.team_rule.team
            else:
                found.team, found.territory = self.team_of_territory(area_ids, found.department.pk)
        return found

    def team_for(
        self, service_type: ServiceType, area_ids: set[int], department_id: int
    ) -> AssignmentRule | None:
        """The assignment rule for a request of `service_type` in the areas, among the teams of
        `department_id` (the routed one, or one it was transferred to)."""
        rules = [r for r in self.assignment if r.team.department_id == department_id]
        return self.best(rules, service_type, area_ids)

    def team_of_territory(self, area_ids: set[int], department_id: int) -> tuple[Team | None, str]:
        """The department's team whose territory holds one of the areas (the first by name when
        territories overlap), and that area's name."""
        for territory in self.territories.get(department_id, []):
            for area_id, name in territory.areas.items():
                if area_id in area_ids:
                    return territory.team, name
        return None, ""


def team_after_transfer(sr: Any, department: Department) -> Team | None:
    """The team the new department's assignment rules (else its teams' territories) give a
    request transferred to it, from the areas it was filed in."""
    wanted = Q(pk__in=[])
    for kind, area in (sr.areas or {}).items():
        if isinstance(area, dict) and area.get("code"):
            wanted |= Q(kind=kind, code=area["code"])
    area_ids = set(Boundary.objects.filter(wanted).values_list("pk", flat=True))
    router = catalog_cache.catalog().derived("router", Router)
    rule = router.team_for(sr.service_type, area_ids, department.pk)
    if rule is not None:
        return rule.team
    return router.team_of_territory(area_ids, department.pk)[0]
