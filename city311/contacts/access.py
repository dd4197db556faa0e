"""Who may see contacts: the caller card, the interaction log and the call-centre reports.

Call takers, supervisors, managers and administrators hold contacts.view_interactions;
department staff do not (they see a request's reporter, with a reason, on the request).
"""

from __future__ import annotations

from typing import Any

from city311.accounts.roles import is_staff_member


def can_see_contacts(user: Any) -> bool:
    return bool(is_staff_member(user) and user.has_perm("contacts.view_interactions"))


def can_log_contacts(user: Any) -> bool:
    """The console's call log: call takers and administrators, who answer the phones."""
    return bool(can_see_contacts(user) and user.has_perm("servicerequests.add_servicerequest"))


def can_see_call_centre_reports(user: Any) -> bool:
    return bool(can_see_contacts(user) and user.has_perm("servicerequests.view_reports"))
