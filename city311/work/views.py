"""Department work pages: the queue and one request, with its actions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from city311.accounts.decorators import staff_required
from city311.catalog.models import Department
from city311.geo import geocoding
from city311.geo.geocoding import Candidate
from city311.geo.locate import LocationProblem, locate
from city311.notifications.queries import deliveries_for
from city311.servicerequests import access, actions
from city311.servicerequests.errors import NoSuchRequest, RequestError
from city311.servicerequests.models import ServiceRequest
from city311.servicerequests.queries import history
from city311.work import forms, queries


@staff_required()
def queue(request: HttpRequest) -> HttpResponse:
    department = request.GET.get("department", "")
    page = Paginator(queries.queue_for_user(request.user, department=department), 50)
    return render(
        request,
        "work/queue.html",
        {
            "page": page.get_page(request.GET.get("page")),
            "departments": Department.objects.filter(active=True),
            "department": department,
        },
    )


def _get(request: HttpRequest, tracking_number: str, *, write: bool = False) -> ServiceRequest:
    try:
        return access.get_request_for_user(request.user, tracking_number, write=write)
    except NoSuchRequest as e:
        raise Http404(e.message) from None


@staff_required()
def detail(request: HttpRequest, tracking_number: str) -> HttpResponse:
    sr = _get(request, tracking_number)
    user = request.user
    return render(
        request,
        "work/detail.html",
        {
            "sr": sr,
            "events": history(sr),
            "answers": _answers(sr),
            "can_work": access.can_work_request(user, sr),
            "can_assign": access.can_assign_request(user, sr),
            "can_see_contact": access.can_see_contact(user, sr),
            "contact": _shown_contact(request, sr),
            "staff": queries.department_staff(sr),
            "nearby": queries.possible_duplicates(sr, for_user=user),
            "possible_duplicate": _shown_possible_duplicate(user, sr),
            "areas": queries.area_labels(sr),
            "deliveries": deliveries_for(sr),
            "note_form": forms.NoteForm(),
            "close_form": forms.CloseForm(),
            "reopen_form": forms.ReopenForm(),
            "transfer_form": forms.TransferForm(),
            "reclassify_form": forms.ReclassifyForm(initial={"service_type": sr.service_type_id}),
            "contact_form": forms.ContactReasonForm(),
            "location_candidates": _location_candidates(sr),
        },
    )


def _location_candidates(sr: ServiceRequest) -> list[Candidate]:
    """What the address written on a "location to verify" request may mean, best first."""
    if not sr.location_to_verify or not sr.address_string:
        return []
    return [c for c in geocoding.geocode(sr.address_string, limit=3) if c.match != "street"]


def _shown_possible_duplicate(user: Any, sr: ServiceRequest) -> ServiceRequest | None:
    # Flagged at filing, possibly in another department (related types): named only to those
    # who may open it.
    other = sr.possible_duplicate_of
    return other if other is not None and access.can_see_request(user, other) else None


def _answers(sr: ServiceRequest) -> list[tuple[str, str]]:
    shown = []
    for attribute in sr.service_type.attributes.prefetch_related("values"):
        value = sr.answers.get(attribute.code)
        if value in (None, "", []):
            continue
        names = {v.key: v.name for v in attribute.values.all()}
        values = value if isinstance(value, list) else [value]
        shown.append((attribute.description, ", ".join(names.get(v, str(v)) for v in values)))
    return shown


def _shown_contact(request: HttpRequest, sr: ServiceRequest) -> Any:
    # Contact details appear only right after the viewer gave a reason (see act/contact).
    if request.session.get("contact_shown") != sr.tracking_number:
        return None
    request.session.pop("contact_shown")
    return getattr(sr, "contact", None)


def _start(request: HttpRequest, sr: ServiceRequest) -> str:
    actions.start_request(sr, by=request.user, note=request.POST.get("note", ""))
    return "Work started."


def _note(request: HttpRequest, sr: ServiceRequest) -> str:
    form = forms.NoteForm(request.POST)
    if not form.is_valid():
        raise RequestError("Write the note (at most 4,000 characters) before saving it.")
    actions.add_note(
        sr, text=form.cleaned_data["text"], public=form.cleaned_data["public"], by=request.user
    )
    return "Note added."


def _close(request: HttpRequest, sr: ServiceRequest) -> str:
    form = forms.CloseForm(request.POST)
    if not form.is_valid():
        raise RequestError("Choose a resolution and write what was done.")
    parent = None
    if form.cleaned_data["duplicate_of"]:
        try:
            parent = access.get_link_target_for_user(
                request.user, form.cleaned_data["duplicate_of"]
            )
        except NoSuchRequest as e:
            raise RequestError(f"Duplicate of: {e.message}") from None
    actions.close_request(
        sr,
        resolution=form.cleaned_data["resolution"],
        note=form.cleaned_data["note"],
        duplicate_of=parent,
        by=request.user,
    )
    return "Request closed."


def _reopen(request: HttpRequest, sr: ServiceRequest) -> str:
    actions.reopen_request(sr, reason=request.POST.get("reason", ""), by=request.user)
    return "Request reopened."


def _transfer(request: HttpRequest, sr: ServiceRequest) -> str:
    form = forms.TransferForm(request.POST)
    if not form.is_valid():
        raise RequestError("Choose the department and say why the request goes there.")
    department = form.cleaned_data["department"]
    actions.transfer_request(
        sr, department=department, reason=form.cleaned_data["reason"], by=request.user
    )
    return f"Transferred to {department.name}."


def _reclassify(request: HttpRequest, sr: ServiceRequest) -> str:
    form = forms.ReclassifyForm(request.POST)
    if not form.is_valid():
        raise RequestError("Choose the new type and say why the request is filed under it.")
    service_type = form.cleaned_data["service_type"]
    sr = actions.reclassify_request(
        sr, service_type=service_type, reason=form.cleaned_data["reason"], by=request.user
    )
    where = f", handled by {sr.department.name}" if sr.department else ""
    return f"Now filed as {service_type.service_name}{where}."


def _merge(request: HttpRequest, sr: ServiceRequest) -> str:
    try:
        parent = access.get_link_target_for_user(request.user, request.POST.get("into", ""))
    except NoSuchRequest as e:
        raise RequestError(f"Merge into: {e.message}") from None
    if parent.pk == sr.pk:
        raise RequestError("A request cannot be merged into itself.")
    actions.merge_request(sr, into=parent, note=request.POST.get("note", ""), by=request.user)
    return f"Merged into {parent.tracking_number}."


def _locate(request: HttpRequest, sr: ServiceRequest) -> str:
    """One click on "location to verify": a candidate address, or "the point shown is right"."""
    post = request.POST
    try:
        if post.get("address_id"):
            located = locate(lat=None, long=None, address_id=post["address_id"])
        elif post.get("confirm") and sr.lat is not None and sr.long is not None:
            # Staff looked at the point on the map and vouch for it: a pin, as theirs.
            located = locate(lat=sr.lat, long=sr.long, address_string=sr.address_string)
        elif post.get("lat") and post.get("long"):
            located = locate(
                lat=float(post["lat"]),
                long=float(post["long"]),
                address_string=post.get("address", ""),
                match=post.get("match", ""),
                confidence=1.0,
            )
        else:
            raise RequestError("Choose one of the addresses, or say the point shown is right.")
    except (LocationProblem, ValueError) as e:
        raise RequestError(getattr(e, "message", "Give the point as numbers.")) from None
    if located is None:
        raise RequestError("Choose one of the addresses, or say the point shown is right.")
    actions.verify_location(sr, located=located, by=request.user)
    return "Location verified."


def _assign(request: HttpRequest, sr: ServiceRequest) -> str:
    if not access.can_assign_request(request.user, sr):
        raise PermissionDenied("Only a supervisor of this department can assign requests.")
    form = forms.AssignForm(request.POST)
    if not form.is_valid():
        raise RequestError("Choose who to assign the request to.")
    pk = form.cleaned_data["assignee"]
    to = next((u for u in queries.department_staff(sr) if u.pk == pk), None) if pk else None
    if pk and to is None:
        raise RequestError("That person does not work in this department.")
    actions.assign_request(sr, to=to, by=request.user)
    return "Assignment saved."


ACTIONS: dict[str, Callable[[HttpRequest, ServiceRequest], str]] = {
    "start": _start,
    "note": _note,
    "close": _close,
    "reopen": _reopen,
    "transfer": _transfer,
    "reclassify": _reclassify,
    "assign": _assign,
    "merge": _merge,
    "locate": _locate,
}


@staff_required()
@require_POST
def act(request: HttpRequest, tracking_number: str, action: str) -> HttpResponse:
    if action == "contact":
        return _reveal_contact(request, tracking_number)
    handler = ACTIONS.get(action)
    if handler is None:
        raise Http404("No such action.")
    sr = _get(request, tracking_number, write=True)
    try:
        messages.success(request, handler(request, sr))
    except RequestError as e:
        messages.error(request, e.message)
    sr.refresh_from_db(fields=["department"])
    if not access.can_see_request(request.user, sr):
        # Transferred out of the user's departments: back to their queue.
        return redirect("work:queue")
    return redirect("work:detail", tracking_number=sr.tracking_number)


def _reveal_contact(request: HttpRequest, tracking_number: str) -> HttpResponse:
    sr = _get(request, tracking_number)
    if not access.can_see_contact(request.user, sr):
        raise PermissionDenied("You may not see this reporter's details.")
    form = forms.ContactReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say why you need the reporter's details.")
    else:
        actions.note_contact_viewed(sr, by=request.user, reason=form.cleaned_data["reason"])
        request.session["contact_shown"] = sr.tracking_number
    return redirect("work:detail", tracking_number=sr.tracking_number)
