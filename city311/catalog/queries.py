"""Reads of the catalog for residents' pages."""

from __future__ import annotations

from dataclasses import dataclass, field

from city311.catalog import cache
from city311.catalog.models import ServiceType


@dataclass
class Group:
    name: str
    types: list[ServiceType] = field(default_factory=list)


def groups_for_residents(language: str) -> list[Group]:
    """Active types a resident may report, by group, in catalog order, named in `language`.

    Read from the process's snapshot of the catalog: no query once it is current.
    """
    groups: dict[str, Group] = {}
    for service_type in cache.active_types():
        name = service_type.translated("group", language) or "Other"
        groups.setdefault(service_type.group, Group(name)).types.append(service_type)
    return sorted(groups.values(), key=lambda g: g.name)
