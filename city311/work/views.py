"""Department work pages: the queue and one request, with its actions."""

from __future__ import annotations

import csv
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.forms import BaseForm
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    JsonResponse,
    QueryDict,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from city311.accounts.decorators import staff_required
from city311.catalog import cache as catalog_cache
from city311.geo import geocoding
from city311.geo.geocoding import Candidate
from city311.geo.locate import LocationProblem, locate
from city311.notifications.queries import deliveries_for
from city311.servicerequests import access, actions, attachments
from city311.servicerequests.errors import NoSuchRequest, RequestError
from city311.servicerequests.models import ServiceRequest, Team, WorkOrder
from city311.servicerequests.queries import history, photo_links, resident_says_fixed
from city311.servicerequests.vocabulary import Event
from city311.work import bulk as bulk_actions
from city311.work import forms, queries, sla
from city311.work.models import SavedView

F = TypeVar("F", bound=BaseForm)


def _selection(request: HttpRequest) -> tuple[forms.QueueForm, queries.Selection | None, str]:
    """The queue's filters from the query string, and the selection, or what is wrong."""
    form = forms.QueueForm(request.GET)
    if not form.is_valid():
        problems = [
            f"{form.fields[name].label if name in form.fields else _('Filters')}: {error}"
            for name, errors in form.errors.items()
            for error in errors
        ]
        return form, None, " ".join(problems)
    try:
        return form, queries.select(request.user, form.cleaned_data), ""
    except queries.NotFound as e:
        return form, None, e.message


def _query_without(request: HttpRequest, *names: str) -> str:
    params = request.GET.copy()
    for name in names:
        params.pop(name, None)
    return params.urlencode()


@staff_required()
def queue(request: HttpRequest) -> HttpResponse:
    form, selection, problem = _selection(request)
    # The lists' (value, label) pairs, rendered by the {% options %} tag: each list is read
    # once (the teams once for both of their lists), the departments from the cached catalog.
    departments = [d for d in catalog_cache.departments() if d.active]
    teams = [(t.slug, f"{t.name} ({t.department.name})") for t in queries.teams_for(request.user)]
    people = [
        (p.pk, p.get_full_name() or p.username) for p in queries.assignable_people(request.user)
    ]
    context: dict[str, Any] = {
        "form": form,
        # What each filter holds, as typed: read once here, not once per option of a list.
        "chosen": {name: request.GET.get(name, "") for name in form.fields},
        "problem": problem,
        "departments": [(d.slug, d.name) for d in departments],
        "types": [(t.service_code, t.service_name) for t in catalog_cache.catalog().active_types()],
        "teams": teams,
        "areas": queries.area_choices(),
        "saved_views": request.user.saved_views.all(),  # type: ignore[union-attr]
        "query": _query_without(request, "page"),
        "bulk_actions": forms.BULK_ACTIONS,
        "bulk_people": people,
        "transfer_departments": [(d.pk, d.name) for d in departments],
        "tiles": getattr(settings, "CITY311_MAP_TILES", ""),
    }
    if selection is None:
        return render(request, "work/queue.html", context, status=400)
    number = form.cleaned_data.get("page") or 1
    rows, has_next = selection.page(number)
    count, more = selection.count()
    context |= {
        "rows": rows,
        "count": count,
        "more": more,
        "page_number": number,
        "has_next": has_next,
        "sort": selection.sort,
    }
    return render(request, "work/queue.html", context)


@staff_required()
def queue_map(request: HttpRequest) -> HttpResponse:
    """The same selection as the queue, as GeoJSON points for its map."""
    _form, selection, problem = _selection(request)
    if selection is None:
        return JsonResponse({"error": problem}, status=400)
    return JsonResponse(queries.map_points(selection))


@staff_required()
def export(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """The selection as CSV (no resident's personal data: queries.export_rows)."""
    _form, selection, problem = _selection(request)
    if selection is None:
        return HttpResponse(problem, status=400, content_type="text/plain; charset=utf-8")
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow(row) for row in queries.export_rows(selection)),
        content_type="text/csv; charset=utf-8",
    )
    stamp = timezone.localtime().strftime("%Y-%m-%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="city311-queue-{stamp}.csv"'
    return response


class _Echo:
    def write(self, value: str) -> str:
        return value


@staff_required()
@require_POST
def save_view(request: HttpRequest) -> HttpResponse:
    form = forms.SavedViewForm(request.POST)
    query = request.POST.get("query", "")
    if not form.is_valid():
        messages.error(request, _("Give the view a name (at most 80 characters)."))
        return redirect(f"{reverse('work:queue')}?{query}")
    SavedView.objects.update_or_create(
        user=request.user,
        name=form.cleaned_data["name"],
        defaults={"query": form.cleaned_data["query"]},
    )
    messages.success(request, _("Saved the view “%(name)s”.") % {"name": form.cleaned_data["name"]})
    return redirect(f"{reverse('work:queue')}?{query}")


@staff_required()
@require_POST
def delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    # Only one's own: another person's view is answered as missing.
    view = get_object_or_404(SavedView, pk=pk, user=request.user)
    view.delete()
    messages.success(request, _("Deleted the view “%(name)s”.") % {"name": view.name})
    return redirect("work:queue")


@staff_required()
@require_POST
def bulk(request: HttpRequest) -> HttpResponse:
    """One action on many requests; each request changes through its own action and event."""
    form = forms.BulkForm(request.POST)
    query = request.POST.get("query", "")
    back = redirect(f"{reverse('work:queue')}?{query}")
    if not form.is_valid():
        messages.error(request, _("Choose what to do with the selected requests."))
        return back
    try:
        chosen = _bulk_requests(request, form)
        done, refused = bulk_actions.apply(request.user, chosen, form.cleaned_data)
    except RequestError as e:
        messages.error(request, e.message)
        return back
    if done:
        what = bulk_actions.verb(form.cleaned_data["action"])
        messages.success(
            request,
            ngettext("%(what)s: %(count)s request.", "%(what)s: %(count)s requests.", done)
            % {"what": what, "count": done},
        )
    if refused:
        shown = "; ".join(f"{number}: {why}" for number, why in refused[:10])
        if len(refused) > 10:
            said = _("Not changed: %(list)s (and %(more)s more).") % {
                "list": shown,
                "more": len(refused) - 10,
            }
        else:
            said = _("Not changed: %(list)s.") % {"list": shown}
        messages.error(request, said)
    if not done and not refused:
        messages.error(request, _("No requests were selected: tick some, or “all matching”."))
    return back


def _bulk_requests(request: HttpRequest, form: forms.BulkForm) -> list[ServiceRequest]:
    if form.cleaned_data["all_matching"]:
        filters = forms.QueueForm(QueryDict(form.cleaned_data["query"]))
        if not filters.is_valid():
            raise RequestError(
                _("The filters of the selection could not be read: choose again."),
                code="unreadable_filters",
            )
        # A filter naming nothing (queries.NotFound) is itself a RequestError with its code.
        selection = queries.select(request.user, filters.cleaned_data)
        rows = list(selection.rows[: bulk_actions.LIMIT + 1])
        if len(rows) > bulk_actions.LIMIT:
            raise RequestError(
                _("More than %(limit)s requests match: narrow the filters first."),
                code="too_many",
                limit=bulk_actions.LIMIT,
            )
        return rows
    numbers = request.POST.getlist("selected")[: bulk_actions.LIMIT]
    # Only requests the user may see; a number they may not is left out silently, as if it
    # did not exist (bulk_actions.apply checks each for working it).
    return list(
        access.requests_visible_to(request.user)
        .filter(tracking_number__in=numbers)
        .select_related("service_type", "department")
    )


@staff_required()
def board(request: HttpRequest) -> HttpResponse:
    """The supervisor's board: unassigned and overdue work by team and by area."""
    return render(request, "work/board.html", queries.board(request.user))


@staff_required()
def today(request: HttpRequest) -> HttpResponse:
    """ "My work today": a crew member's requests in route order, phone-sized; with
    ?territory=<team slug>, only those filed in that team's territory."""
    slug = request.GET.get("territory", "").strip()
    context: dict[str, Any] = {
        "territory": slug,
        "territories": queries.teams_for(request.user).filter(areas__isnull=False).distinct(),
    }
    try:
        territory = queries.territory_areas(request.user, slug) if slug else None
    except queries.NotFound as e:
        return render(request, "work/today.html", context | {"problem": e.message}, status=400)
    context["stops"] = queries.my_day(request.user, territory=territory)
    return render(request, "work/today.html", context)


@staff_required()
def crew(request: HttpRequest, tracking_number: str) -> HttpResponse:
    """One request of the crew's day: what and where, notes, work orders, close with a photo."""
    sr = _get(request, tracking_number)
    orders = _orders_with_notes(sr, request.user)
    return render(
        request,
        "work/crew.html",
        {
            "sr": sr,
            # The forms on the request itself are its crew's; each work order's, that
            # order's crew's (access.can_work_as_crew, can_work_order).
            "can_work": access.can_work_as_crew(request.user, sr),
            "orders": [(order, order.mine) for order in orders],  # type: ignore[attr-defined]
            # The request closes when its work is done: not by "Close: work done" while a
            # work order is unfinished (actions.close_request refuses it too).
            "unfinished": [order for order in orders if not order.is_finished],
            "complete_form": forms.CompleteForm(),
            "note_form": forms.NoteForm(),
            "photos": sr.attachments.all(),
        },
    )


def _crew_start(request: HttpRequest, order: WorkOrder) -> str:
    actions.start_work_order(order, by=request.user)
    return _("Work order %(number)s started.") % {"number": order.number}


def _crew_note(request: HttpRequest, order: WorkOrder) -> str:
    form = _valid(
        forms.CrewOrderNoteForm(request.POST, request.FILES),
        _("Write the note (at most 4,000 characters) before saving it."),
    )
    upload = form.cleaned_data["photo"]
    photos = attachments.clean_photos([upload] if upload else [])
    actions.add_work_order_note(
        order,
        text=form.cleaned_data["text"],
        public=form.cleaned_data["public"],
        photos=photos,
        by=request.user,
    )
    return _("Note added to work order %(number)s.") % {"number": order.number}


def _crew_done(request: HttpRequest, order: WorkOrder) -> str:
    form = _valid(
        forms.CrewOrderDoneForm(request.POST), _("Write what was done (at most 4,000 characters).")
    )
    actions.finish_work_order(order, result=form.cleaned_data["result"], by=request.user)
    if order.request.work_orders.exclude(status__in=["done", "cancelled"]).exists():
        return _("Work order %(number)s done.") % {"number": order.number}
    return _("Work order %(number)s done. The request is closed: all its work is done.") % {
        "number": order.number
    }


def _crew_hand_back(request: HttpRequest, order: WorkOrder) -> str:
    form = _valid(
        forms.CrewOrderHandBackForm(request.POST),
        _("Say why you hand the work order back (at most 4,000 characters)."),
    )
    actions.hand_back_work_order(order, reason=form.cleaned_data["reason"], by=request.user)
    return _("Work order %(number)s handed back: a supervisor will give it again.") % {
        "number": order.number
    }


CREW_ACTIONS: dict[str, Callable[[HttpRequest, WorkOrder], str]] = {
    "start": _crew_start,
    "note": _crew_note,
    "done": _crew_done,
    "hand_back": _crew_hand_back,
}


@staff_required()
@require_POST
def crew_order(
    request: HttpRequest, tracking_number: str, number: int, action: str
) -> HttpResponse:
    """One work order's step from the crew's page, by its crew or their supervisors
    (access.can_work_order); back to the crew's page, or to the day once the request closed."""
    handler = CREW_ACTIONS.get(action)
    if handler is None:
        raise Http404(_("No such action."))
    sr = _get(request, tracking_number, write=True)
    order = get_object_or_404(
        WorkOrder.objects.select_related("request"), request=sr, number=number
    )
    if not access.can_work_order(request.user, order):
        raise PermissionDenied(_("Only the work order's crew and their supervisors may work it."))
    try:
        messages.success(request, handler(request, order))
    except RequestError as e:
        messages.error(request, e.message)
    sr.refresh_from_db(fields=["status"])
    if sr.is_closed:
        return redirect("work:today")
    return redirect("work:crew", tracking_number=sr.tracking_number)


@staff_required()
@require_POST
def crew_act(request: HttpRequest, tracking_number: str, action: str) -> HttpResponse:
    """The crew page's forms on the request itself (a note, "Close: the work is done"), by the
    request's crew or their supervisors (access.can_work_as_crew); back to the crew's page, or
    to the day once the request closed."""
    handler = CREW_REQUEST_ACTIONS.get(action)
    if handler is None:
        raise Http404(_("No such action."))
    sr = _get(request, tracking_number, write=True)
    if not access.can_work_as_crew(request.user, sr):
        raise PermissionDenied(
            _("Only the request's crew and their supervisors may work it from the crew page.")
        )
    try:
        messages.success(request, handler(request, sr))
    except RequestError as e:
        messages.error(request, e.message)
    sr.refresh_from_db(fields=["status"])
    if sr.is_closed:
        return redirect("work:today")
    return redirect("work:crew", tracking_number=sr.tracking_number)


def _get(request: HttpRequest, tracking_number: str, *, write: bool = False) -> ServiceRequest:
    try:
        return access.get_request_for_user(request.user, tracking_number, write=write)
    except NoSuchRequest as e:
        raise Http404(e.message) from None


@staff_required()
def detail(request: HttpRequest, tracking_number: str) -> HttpResponse:
    sr = _get(request, tracking_number)
    user = request.user
    orders = _orders_with_notes(sr, user)
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
            "teams": queries.teams_for(user).filter(department=sr.department),
            "work_orders": orders,
            "unfinished": [order for order in orders if not order.is_finished],
            "sla": sla.panel(sr),
            "photos": sr.attachments.all(),
            "photo_links": photo_links(sr),
            "says_fixed": resident_says_fixed(sr),
        },
    )


def _orders_with_notes(sr: ServiceRequest, user: Any) -> list[WorkOrder]:
    """The request's work orders, each with its notes (`notes`: history events, oldest first)
    and whether `user` may work it (`mine`: access.can_work_order)."""
    orders = list(sr.work_orders.select_related("assignee"))
    notes: dict[int, list[Any]] = {}
    for event in (
        sr.events.filter(kind=Event.WORK_ORDER_NOTE).select_related("actor").order_by("at", "pk")
    ):
        notes.setdefault(event.data.get("work_order"), []).append(event)
    for order in orders:
        order.request = sr
        order.notes = notes.get(order.number, [])  # type: ignore[attr-defined]
        order.mine = access.can_work_order(user, order)  # type: ignore[attr-defined]
    return orders


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
    return _("Work started.")


def _valid(form: F, message: str) -> F:
    """`form`, once valid; else a RequestError saying `message`, what the action needs."""
    if not form.is_valid():
        raise RequestError(message, code="required")
    return form


def _department_person(sr: ServiceRequest, pk: int) -> User:
    """The member of the request's department with id `pk`."""
    person = next((u for u in queries.department_staff(sr) if u.pk == pk), None)
    if person is None:
        raise RequestError(
            _("That person does not work in this department."), code="not_in_department"
        )
    return person


def _note(request: HttpRequest, sr: ServiceRequest) -> str:
    form = _valid(
        forms.NoteForm(request.POST),
        _("Write the note (at most 4,000 characters) before saving it."),
    )
    actions.add_note(
        sr, text=form.cleaned_data["text"], public=form.cleaned_data["public"], by=request.user
    )
    return _("Note added.")


def _close(request: HttpRequest, sr: ServiceRequest) -> str:
    form = _valid(forms.CloseForm(request.POST), _("Choose a resolution and write what was done."))
    parent = None
    if form.cleaned_data["duplicate_of"]:
        try:
            parent = access.get_link_target_for_user(
                request.user, form.cleaned_data["duplicate_of"]
            )
        except NoSuchRequest as e:
            raise RequestError(
                _("Duplicate of: %(problem)s"), code=e.code, problem=e.message
            ) from None
    cancel = request.POST.get("cancel_unfinished") == "1"
    if cancel:
        _may_cancel_unfinished(request, sr)
    actions.close_request(
        sr,
        resolution=form.cleaned_data["resolution"],
        note=form.cleaned_data["note"],
        duplicate_of=parent,
        by=request.user,
        cancel_unfinished=cancel,
    )
    return _("Request closed.")


def _may_cancel_unfinished(request: HttpRequest, sr: ServiceRequest) -> None:
    """Closing with "cancel its unfinished work orders" cancels each: only for someone who may
    cancel each one (its crew or their supervisors, access.can_work_order)."""
    unfinished = actions.unfinished_work_orders(sr)
    for order in unfinished:
        order.request = sr
    theirs = [order for order in unfinished if not access.can_work_order(request.user, order)]
    if theirs:
        raise RequestError(
            _(
                "Only their crews and supervisors may cancel work orders %(orders)s: ask them "
                "to finish or cancel them."
            ),
            code="not_your_work_orders",
            orders=actions.work_order_list(theirs),
        )


def _reopen(request: HttpRequest, sr: ServiceRequest) -> str:
    actions.reopen_request(sr, reason=request.POST.get("reason", ""), by=request.user)
    return _("Request reopened.")


def _transfer(request: HttpRequest, sr: ServiceRequest) -> str:
    form = _valid(
        forms.TransferForm(request.POST),
        _("Choose the department and say why the request goes there."),
    )
    department = form.cleaned_data["department"]
    actions.transfer_request(
        sr, department=department, reason=form.cleaned_data["reason"], by=request.user
    )
    return _("Transferred to %(department)s.") % {"department": department.name}


def _reclassify(request: HttpRequest, sr: ServiceRequest) -> str:
    form = _valid(
        forms.ReclassifyForm(request.POST),
        _("Choose the new type and say why the request is filed under it."),
    )
    service_type = form.cleaned_data["service_type"]
    sr = actions.reclassify_request(
        sr, service_type=service_type, reason=form.cleaned_data["reason"], by=request.user
    )
    if sr.department:
        return _("Now filed as %(type)s, handled by %(department)s.") % {
            "type": service_type.service_name,
            "department": sr.department.name,
        }
    return _("Now filed as %(type)s.") % {"type": service_type.service_name}


def _merge(request: HttpRequest, sr: ServiceRequest) -> str:
    try:
        parent = access.get_link_target_for_user(request.user, request.POST.get("into", ""))
    except NoSuchRequest as e:
        raise RequestError(_("Merge into: %(problem)s"), code=e.code, problem=e.message) from None
    if parent.pk == sr.pk:
        raise RequestError(_("A request cannot be merged into itself."), code="same_request")
    actions.merge_request(sr, into=parent, note=request.POST.get("note", ""), by=request.user)
    return _("Merged into %(number)s.") % {"number": parent.tracking_number}


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
            raise RequestError(
                _("Choose one of the addresses, or say the point shown is right."), code="required"
            )
    except LocationProblem as e:
        raise RequestError(e.message, code="unusable_location") from None
    except ValueError:
        raise RequestError(_("Give the point as numbers."), code="not_a_number") from None
    if located is None:
        raise RequestError(
            _("Choose one of the addresses, or say the point shown is right."), code="required"
        )
    actions.verify_location(sr, located=located, by=request.user)
    return _("Location verified.")


def _assign(request: HttpRequest, sr: ServiceRequest) -> str:
    if not access.can_assign_request(request.user, sr):
        raise PermissionDenied(_("Only a supervisor of this department can assign requests."))
    form = _valid(forms.AssignForm(request.POST), _("Choose who to assign the request to."))
    pk = form.cleaned_data["assignee"]
    to = _department_person(sr, pk) if pk else None
    actions.assign_request(sr, to=to, by=request.user)
    return _("Assignment saved.")


def _team(request: HttpRequest, sr: ServiceRequest) -> str:
    if not access.can_assign_request(request.user, sr):
        raise PermissionDenied(
            _("Only a supervisor of this department can give requests to teams.")
        )
    slug = request.POST.get("team", "")
    team = Team.objects.filter(slug=slug, department=sr.department).first() if slug else None
    if slug and team is None:
        raise RequestError(_("That team is not one of this department's."), code="unknown_team")
    actions.assign_team(sr, team=team, by=request.user)
    if team:
        return _("Given to team %(team)s.") % {"team": team.name}
    return _("Taken off its team.")


def _complete(request: HttpRequest, sr: ServiceRequest) -> str:
    form = _valid(
        forms.CompleteForm(request.POST, request.FILES),
        _("Write what was done before closing (at most 4,000 characters)."),
    )
    upload = form.cleaned_data["photo"]
    photos = attachments.clean_photos([upload] if upload else [])
    actions.close_with_photos(sr, note=form.cleaned_data["note"], photos=photos, by=request.user)
    return _("Request closed: the resident can see what was done.")


def _work_order(request: HttpRequest, sr: ServiceRequest) -> str:
    form = _valid(
        forms.WorkOrderForm(request.POST),
        _("Say what the work order is for (at most 200 characters)."),
    )
    pk = form.cleaned_data["assignee"]
    person = None
    if pk:
        if pk != request.user.pk and not access.can_assign_request(request.user, sr):
            raise PermissionDenied(_("Only a supervisor can give a work order to someone else."))
        person = _department_person(sr, pk)
    order = actions.add_work_order(
        sr, title=form.cleaned_data["title"], assignee=person, by=request.user
    )
    return _("Work order %(number)s added.") % {"number": order.number}


def _order(request: HttpRequest, sr: ServiceRequest) -> tuple[WorkOrder, str]:
    """The work order the form names, if the user may work it (access.can_work_order, as on
    the crew's page), and the result written."""
    form = _valid(forms.WorkOrderDoneForm(request.POST), _("Choose the work order."))
    order = sr.work_orders.filter(number=form.cleaned_data["number"]).first()
    if order is None:
        raise RequestError(_("This request has no such work order."), code="unknown_work_order")
    order.request = sr
    if not access.can_work_order(request.user, order):
        raise PermissionDenied(_("Only the work order's crew and their supervisors may work it."))
    return order, form.cleaned_data["result"] or ""


def _work_order_note(request: HttpRequest, sr: ServiceRequest) -> str:
    order, _result = _order(request, sr)
    form = _valid(
        forms.NoteForm(request.POST),
        _("Write the note (at most 4,000 characters) before saving it."),
    )
    actions.add_work_order_note(
        order, text=form.cleaned_data["text"], public=form.cleaned_data["public"], by=request.user
    )
    return _("Note added to work order %(number)s.") % {"number": order.number}


def _work_order_reassign(request: HttpRequest, sr: ServiceRequest) -> str:
    """As for the request itself: a supervisor gives a work order to anyone of the department
    (or to nobody); someone of the work order's crew may only take it themselves."""
    order, _result = _order(request, sr)
    raw = request.POST.get("assignee", "").strip()
    if raw and not raw.isdigit():
        raise RequestError(
            _("Choose who does the work order (a person of the department)."), code="invalid"
        )
    pk = int(raw) if raw else None
    if pk != request.user.pk and not access.can_assign_request(request.user, sr):
        raise PermissionDenied(_("Only a supervisor can give a work order to someone else."))
    person = _department_person(sr, pk) if pk is not None else None
    actions.reassign_work_order(order, to=person, by=request.user)
    if person is None:
        return _("Work order %(number)s given to nobody.") % {"number": order.number}
    name = person.get_full_name() or person.username
    return _("Work order %(number)s given to %(name)s.") % {"number": order.number, "name": name}


def _work_order_start(request: HttpRequest, sr: ServiceRequest) -> str:
    order, _result = _order(request, sr)
    actions.start_work_order(order, by=request.user)
    return _("Work order %(number)s started.") % {"number": order.number}


def _work_order_done(request: HttpRequest, sr: ServiceRequest) -> str:
    order, result = _order(request, sr)
    actions.finish_work_order(order, result=result, by=request.user)
    sr.refresh_from_db(fields=["status"])
    if sr.is_closed:
        return _("Work order %(number)s done. The request is closed: all its work is done.") % {
            "number": order.number
        }
    return _("Work order %(number)s done.") % {"number": order.number}


def _work_order_cancel(request: HttpRequest, sr: ServiceRequest) -> str:
    order, result = _order(request, sr)
    actions.finish_work_order(order, result=result, by=request.user, cancelled=True)
    return _("Work order %(number)s cancelled.") % {"number": order.number}


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
    "team": _team,
    "work_order": _work_order,
    "work_order_start": _work_order_start,
    "work_order_done": _work_order_done,
    "work_order_cancel": _work_order_cancel,
    "work_order_note": _work_order_note,
    "work_order_reassign": _work_order_reassign,
    **sla.ACTIONS,
}


# The crew page's forms on the request itself (crew_act).
CREW_REQUEST_ACTIONS: dict[str, Callable[[HttpRequest, ServiceRequest], str]] = {
    "note": _note,
    "complete": _complete,
}


@staff_required()
@require_POST
def act(request: HttpRequest, tracking_number: str, action: str) -> HttpResponse:
    if action == "contact":
        return _reveal_contact(request, tracking_number)
    handler = ACTIONS.get(action)
    if handler is None:
        raise Http404(_("No such action."))
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
        raise PermissionDenied(_("You may not see this reporter's details."))
    form = forms.ContactReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say why you need the reporter's details."))
    else:
        actions.note_contact_viewed(sr, by=request.user, reason=form.cleaned_data["reason"])
        request.session["contact_shown"] = sr.tracking_number
    return redirect("work:detail", tracking_number=sr.tracking_number)
