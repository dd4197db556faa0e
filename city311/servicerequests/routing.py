"""Which department gets a request (the administrator's routing rules, else the type's default),
and which of its teams (the assignment rules, else none)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q

from city311.catalog import cache as catalog_cache
from city311.catalog.models import Department, ServiceType
from city311.geo.models import Boundary
from city311.servicerequests.models import AssignmentRule, RoutingRule, Team


@dataclass
class Route:
    department: Department | None
    rule: RoutingRule | None
    area_name: str = ""
    team: Team | None = None
    team_rule: AssignmentRule | None = None

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
        return said

    def data(self) -> dict[str, Any]:
        return {
            "department": self.department.slug if self.department else None,
            "rule": self.rule.pk if self.rule else None,
            "area": self.area_name,
            "team": self.team.slug if self.team else None,
            "team_rule": self.team_rule.pk if self.team_rule else None,
        }


def route(service_type: ServiceType, area_ids: set[int]) -> Route:
    """The most specific active rule for the type (or its group) and the areas of the point,
    and the most specific assignment rule naming a team of that department.

    The rules are read once per catalog snapshot (a rule saved anywhere retires every
    process's snapshot: servicerequests/apps.py), not on every request.
    """
    return catalog_cache.catalog().derived("router", Router).route(service_type, area_ids)


class Router:
    """Every active routing rule, read once, routing in memory (a process, a bulk import).

    Shared by a process's threads: read-only once built.
    """

    def __init__(self) -> None:
        self.by_type: dict[int, list[Any]] = {}
        self.by_group: dict[str, list[Any]] = {}
        rules = RoutingRule.objects.filter(active=True).select_related("department", "area")
        # The area's name only: its geometry is tens of kilobytes of GeoJSON.
        for rule in rules.defer("area__geometry", "area__properties"):
            self._keep(rule)
        team_rules = AssignmentRule.objects.filter(active=True, team__active=True)
        for team_rule in team_rules.select_related("team", "area").defer(
            "area__geometry", "area__properties"
        ):
            self._keep(team_rule)

    def _keep(self, rule: RoutingRule | AssignmentRule) -> None:
        if rule.service_type_id is not None:
            self.by_type.setdefault(rule.service_type_id, []).append(rule)
        else:
            self.by_group.setdefault(rule.group, []).append(rule)

    def _best(
        self, service_type: ServiceType, area_ids: set[int], kind: Any, department_id: int = 0
    ) -> Any:
        candidates: list[Any] = self.by_type.get(service_type.pk, []) + (
            self.by_group.get(service_type.group, []) if service_type.group else []
        )
        matching: list[Any] = [
            r
            for r in candidates
            if type(r) is kind
            and (r.area_id is None or r.area_id in area_ids)
            and (kind is RoutingRule or r.team.department_id == department_id)
        ]
        if not matching:
            return None
        # Most specific first: a type rule before a group rule, an area before anywhere.
        return min(
            matching,
            key=lambda r: (r.service_type_id is None, r.area_id is None, r.priority, r.pk),
        )

    def route(self, service_type: ServiceType, area_ids: set[int]) -> Route:
        best = self._best(service_type, area_ids, RoutingRule)
        found = (
            Route(service_type.department, None)
            if best is None
            else Route(best.department, best, best.area.name if best.area else "")
        )
        if found.department is not None:
            found.team_rule = self._best(
                service_type, area_ids, AssignmentRule, found.department.pk
            )
            found.team = found.team_rule.team if found.team_rule else None
        return found

    def team_for(
        self, service_type: ServiceType, area_ids: set[int], department_id: int
    ) -> AssignmentRule | None:
        """The assignment rule for a request of `service_type` in the areas, in a department
        it was transferred to (routing chose another)."""
        return self._best(service_type, area_ids, AssignmentRule, department_id)


def team_after_transfer(sr: Any, department: Department) -> Team | None:
    """The team the new department's assignment rules give a request transferred to it, from
    the areas it was filed in."""
    wanted = Q(pk__in=[])
    for kind, area in (sr.areas or {}).items():
        if isinstance(area, dict) and area.get("code"):
            wanted |= Q(kind=kind, code=area["code"])
    area_ids = set(Boundary.objects.filter(wanted).values_list("pk", flat=True))
    router = catalog_cache.catalog().derived("router", Router)
    rule = router.team_for(sr.service_type, area_ids, department.pk)
    return rule.team if rule else None
