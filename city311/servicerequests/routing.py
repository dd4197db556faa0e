"""Which department gets a request: the administrator's rules, else the type's default."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q

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
    """The most specific active rule for the type (or its group) and the areas of the point."""
    group_match = Q(group=service_type.group) if service_type.group else Q(pk__in=[])
    rules = (
        RoutingRule.objects.filter(active=True)
        .filter(Q(service_type=service_type) | group_match)
        .filter(Q(area__isnull=True) | Q(area_id__in=area_ids))
        .select_related("department", "area")
    )
    ranked = sorted(
        rules,
        key=lambda r: (r.service_type_id is None, r.area_id is None, r.priority, r.pk),
    )
    if ranked:
        best = ranked[0]
        return Route(best.department, best, best.area.name if best.area else "")
    return Route(service_type.department, None)
