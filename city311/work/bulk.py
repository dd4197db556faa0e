"""One action on many requests at once, from the queue: each request still changes through its
own action (servicerequests.actions), with its own history event and access check."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _

from city311.servicerequests import access, actions
from city311.servicerequests.errors import NoSuchRequest, RequestError
from city311.servicerequests.models import ServiceRequest, Team

# The most requests one bulk action changes: "all matching" beyond it asks to narrow the
# filters first, so a slip cannot close a whole district.
LIMIT = 500

VERBS = {
    "assign": _("Assigned"),
    "team": _("Given to the team"),
    "transfer": _("Transferred"),
    "duplicate": _("Closed as duplicates"),
    "note": _("Note added"),
}


def verb(action: str) -> str:
    return str(VERBS[action])


def apply(
    user: Any, chosen: list[ServiceRequest], data: dict[str, Any]
) -> tuple[int, list[tuple[str, str]]]:
    """Apply the bulk action in `data` (a valid BulkForm's) to each request of `chosen`.

    Returns how many changed, and (tracking number, why) for each that did not. Raises
    RequestError before changing anything when the action's own input is wrong (no such
    person, team, department or request to close them into).
    """
    do = _prepare(user, data)
    done, refused = 0, []
    for sr in chosen:
        if not access.can_work_request(user, sr):
            refused.append((sr.tracking_number, "you may read it but not change it"))
            continue
        try:
            do(sr)
        except RequestError as e:
            refused.append((sr.tracking_number, e.message))
        except PermissionDenied as e:
            refused.append((sr.tracking_number, str(e)))
        else:
            done += 1
    return done, refused


def _prepare(user: Any, data: dict[str, Any]) -> Any:
    action = data["action"]
    if action == "assign":
        return _assign(user, data)
    if action == "team":
        return _team(user, data)
    if action == "transfer":
        department, reason = data.get("department"), (data.get("reason") or "").strip()
        if department is None or not reason:
            raise RequestError(
                _("Choose the department and say why the requests go there."), code="required"
            )
        return lambda sr: actions.transfer_request(
            sr, department=department, reason=reason, by=user
        )
    if action == "duplicate":
        return _duplicate(user, data)
    text = (data.get("text") or "").strip()
    if not text:
        raise RequestError(_("Write the note before adding it."), code="required")
    public = bool(data.get("public"))
    return lambda sr: actions.add_note(sr, text=text, public=public, by=user)


def _assign(user: Any, data: dict[str, Any]) -> Any:
    pk = data.get("assignee")
    person = User.objects.filter(pk=pk, is_active=True).first() if pk else None
    if pk and person is None:
        raise RequestError(
            _("There is no such person: choose one from the list."), code="unknown_person"
        )

    def assign(sr: ServiceRequest) -> None:
        if not access.can_assign_request(user, sr):
            raise PermissionDenied("only a supervisor of its department can assign it")
        if person is not None and not access.can_be_assigned(person, sr):
            raise RequestError(
                _("%(person)s does not work in %(department)s"),
                code="not_in_department",
                person=person.get_full_name(),
                department=sr.department,
            )
        actions.assign_request(sr, to=person, by=user)

    return assign


def _team(user: Any, data: dict[str, Any]) -> Any:
    slug = data.get("team") or ""
    team = Team.objects.filter(slug=slug, active=True).first() if slug else None
    if slug and team is None:
        raise RequestError(
            _("There is no such team: choose one from the list."), code="unknown_team"
        )

    def give(sr: ServiceRequest) -> None:
        if not access.can_assign_request(user, sr):
            raise PermissionDenied("only a supervisor of its department can give it to a team")
        actions.assign_team(sr, team=team, by=user)

    return give


def _duplicate(user: Any, data: dict[str, Any]) -> Any:
    number = (data.get("duplicate_of") or "").strip()
    try:
        parent = access.get_link_target_for_user(user, number)
    except NoSuchRequest as e:
        # The request's own problem, worded where the whole is shown.
        raise RequestError(_("Duplicate of: %(problem)s"), code=e.code, problem=e) from None
    note = (data.get("text") or "").strip()

    def close(sr: ServiceRequest) -> None:
        if sr.pk == parent.pk:
            raise RequestError(_("it is the original request itself"), code="same_request")
        actions.merge_request(sr, into=parent, note=note, by=user)

    return close
