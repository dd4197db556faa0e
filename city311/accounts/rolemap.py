"""The identity provider's groups as city311 roles and departments, read from one setting.

CITY311_OIDC_ROLES lists `group=Role` or `group=Role@department-slug,department-slug`, separated
by semicolons, for example:
    311-agents=Call taker; streets-crew=Department staff@transportation;
    streets-leads=Supervisor@transportation; parks-crew=Department staff@parks
Kept free of Django models so settings.py can parse it at start-up and fail loudly.
"""

from __future__ import annotations

from typing import NamedTuple

ROLE_NAMES = ("Call taker", "Department staff", "Supervisor", "Manager", "Administrator")


class Grant(NamedTuple):
    role: str
    departments: tuple[str, ...]


def parse_role_map(name: str, text: str) -> dict[str, list[Grant]]:
    """Parse the setting `name`; a ValueError names the entry that is wrong and why."""
    grants: dict[str, list[Grant]] = {}
    for entry in (e.strip() for e in text.split(";")):
        if not entry:
            continue
        group, sep, rest = entry.partition("=")
        role, _, departments = rest.partition("@")
        group, role = group.strip(), role.strip()
        if not sep or not group or not role:
            raise ValueError(
                f"{name}: {entry!r} is not group=Role or group=Role@department "
                "(entries are separated by semicolons)."
            )
        if role not in ROLE_NAMES:
            raise ValueError(
                f"{name}: {role!r} in {entry!r} is not a city311 role: use one of "
                f"{', '.join(ROLE_NAMES)}."
            )
        slugs = tuple(s.strip() for s in departments.split(",") if s.strip())
        grants.setdefault(group, []).append(Grant(role, slugs))
    return grants
