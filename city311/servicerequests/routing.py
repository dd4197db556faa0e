"""Which department gets a request: the administrator's rules, else the type's default."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from city311.catalog import cache as catalog_cache
from city311.catalog.models import Department, ServiceType
from city311.servicerequests.models import RoutingRule


@dataclass
class Route:
    department: Department | None
    rule: RoutingRule | None
    area_name: str = ""

    def explain(self) -> str:
        """For the history: "Sent to Sanitation, Brooklyn North zone, by rule 12."."""
        if self.department is None:
            return "Not routed: no department handles this type yet."
        if self.rule is None:
            return f"Sent to {self.department.name} (the type's default department)."
        where = f", {self.area_name}" if self.area_name else ""
        return f"Sent to {self.department.name}{where}, by rule {self.rule.pk}."

    def data(self) -> dict[str, Any]:
        return {
            "department": self.department.slug if self.department else None,
            "rule": self.rule.pk if self.rule else None,
            "area": self.area_name,
        }


def route(service_type: ServiceType, area_ids: set[int]) -> Route:
    """The most specific active rule for the type (or its group) and the areas of the point.

    The rules are read once per catalog snapshot (a rule saved anywhere retires every
    process's snapshot: servicerequests/apps.py), not on every request.
    """
    return catalog_cache.catalog().derived("router", Router).route(service_type, area_ids)


class Router:
    """Every active routing rule, read once, routing in memory (a process, a bulk import).

    Shared by a process's threads: read-only once built.
    """

    def __init__(self) -> None:
        self.by_type: dict[int, list[RoutingRule]] = {}
        self.by_group: dict[str, list[RoutingRule]] = {}
        rules = RoutingRule.objects.filter(active=True).select_related("department", "area")
        # The area's name only: its geometry is tens of kilobytes of GeoJSON.
        for rule in rules.defer("area__geometry", "area__properties"):
            if rule.service_type_id is not None:
                self.by_type.setdefault(rule.service_type_id, []).append(rule)
            else:
                self.by_group.setdefault(rule.group, []).append(rule)

    def route(self, service_type: ServiceType, area_ids: set[int]) -> Route:
        candidates = self.by_type.get(service_type.pk, []) + (
            self.by_group.get(service_type.group, []) if service_type.group else []
        )
        matching = [r for r in candidates if r.area_id is None or r.area_id in area_ids]
        if not matching:
            return Route(service_type.department, None)
        # Most specific first: a type rule before a group rule, an area before anywhere.
        best = min(
            matching,
            key=lambda r: (r.service_type_id is None, r.area_id is None, r.priority, r.pk),
        )
        return Route(best.department, best, best.area.name if best.area else "")
