"""The demo's staff sign-ins as `city311 up` shows them: who works where, and what to try first."""

from __future__ import annotations

from django.contrib.auth.models import User

from city311.accounts import roles
from city311.accounts.models import Membership
from city311.demo.signins import read_signins

# What a person with each role can try first, and where.
FIRST_STEPS = {
    roles.CALL_TAKER: ("take a call: file a request for a caller", "/console/"),
    roles.DEPARTMENT_STAFF: ("work the department's queue: start, note, close", "/work/"),
    roles.SUPERVISOR: ("assign the department's requests to its staff", "/work/"),
    roles.MANAGER: ("read every department's queue", "/work/"),
    roles.ADMINISTRATOR: ("set up departments, service types and messages", "/admin/"),
}


def departments_of(usernames: list[str]) -> dict[str, list[str]]:
    names: dict[str, list[str]] = {u: [] for u in usernames}
    rows = Membership.objects.filter(user__username__in=usernames).order_by("department__name")
    for username, department in rows.values_list("user__username", "department__name"):
        names[username].append(department)
    return names


def describe_signins(site: str) -> list[str]:
    """Lines listing the demo sign-ins, once each; none when the demo was never loaded."""
    signins = [s for s in read_signins() if User.objects.filter(username=s[0]).exists()]
    if not signins:
        return []
    departments = departments_of([username for username, _, _ in signins])
    lines = ["  demo sign-ins (user / password / role, department: try first):"]
    for username, password, role in signins:
        where = ", ".join(departments[username]) or "every department"
        lines.append(f"    {username:<8} {password:<18} {role}, {where}")
        if role in FIRST_STEPS:
            step, path = FIRST_STEPS[role]
            lines.append(f"      try: {step} at {site}{path}")
    return lines
