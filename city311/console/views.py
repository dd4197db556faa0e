"""The operator console: a call taker files a request for a caller, whatever the type."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.models import User
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from city311.accounts.decorators import staff_required
from city311.catalog import cache as catalog_cache
from city311.catalog.models import ServiceType, Urgency
from city311.catalog.search import suggest
from city311.console import calls
from city311.console.knowledge import answers_for_caller
from city311.contacts.models import Kind, WrapUp
from city311.knowledge.queries import articles_for_service, shown
from city311.notifications.actions import follow_request
from city311.pickups.models import Booking
from city311.servicerequests import access, expected, sla
from city311.servicerequests.errors import NoSuchRequest, RequestError, SubmissionInvalid
from city311.servicerequests.intake import preview, submit_request
from city311.servicerequests.models import Channel, Contact, ServiceRequest
from city311.servicerequests.validation import Submission
from city311.triage import prompts as triage


def _staff(request: HttpRequest) -> User | None:
    return request.user if isinstance(request.user, User) else None


_call_taker = staff_required(
    can=access.can_create_request,
    message=gettext_lazy("Only call takers and administrators file requests here."),
)


@_call_taker
def choose_type(request: HttpRequest) -> HttpResponse:
    """The caller's screen. The contact starts with the first thing done for a caller (a
    search here, a number typed, a form opened), so time between calls is nobody's handle time."""
    query = request.GET.get("q", "").strip()[:200]
    call = calls.in_hand(request) if query else calls.waiting(request)
    on_card = calls.card_context(request, call)
    if query:
        # The caller's words are read for an emergency before any service is suggested.
        said = triage.check(query, channel="console")
        # The caller's own words, best match first; one group so the order is kept.
        suggestion = suggest(query, limit=8)
        context: dict[str, Any] = {
            "suggested": [t for t, _score in suggestion.types],
            "q": query,
            "unsure": bool(suggestion.types) and not suggestion.sure,
            "triage": said,
            "advice": triage.advice(said),
            "answers": answers_for_caller(query),
        }
        # Where Enter goes next: the service when the words name one surely, else the best
        # answer (an information-only call: words, Enter, Enter).
        context["focus_type"] = suggestion.sure and bool(suggestion.types)
        context["focus_answer"] = not context["focus_type"] and bool(context["answers"])
        if not suggestion.sure:
            # Not sure (or nothing found): the groups follow, to choose from with the caller.
            context["types"] = catalog_cache.active_types(emergencies=True)
        return render(request, "console/choose_type.html", {**on_card, **context})
    types = catalog_cache.active_types(emergencies=True)
    return render(request, "console/choose_type.html", {**on_card, "types": types, "q": query})


def _submission(request: HttpRequest, service_type: ServiceType) -> Submission:
    post = request.POST
    answers: dict[str, str | list[str]] = {}
    for attribute in service_type.attributes.all():
        values = post.getlist(f"attribute[{attribute.code}]")
        answers[attribute.code] = (
            values if attribute.datatype == "multivaluelist" else (values[0] if values else "")
        )
    return Submission(
        service_code=service_type.service_code,
        channel=post.get("channel", Channel.PHONE),
        description=post.get("description", ""),
        address_string=post.get("address_string", ""),
        lat=post.get("lat") or None,
        long=post.get("long") or None,
        answers=answers,
        first_name=post.get("first_name", ""),
        last_name=post.get("last_name", ""),
        email=post.get("email", ""),
        phone=post.get("phone", ""),
        language=post.get("language", "en"),
        wants_updates=bool(post.get("wants_updates")),
    )


def _questions(
    service_type: ServiceType, request: HttpRequest, errors: dict[str, list[str]]
) -> list[dict[str, Any]]:
    """Each question with what the caller answered so far and its error, for the template."""
    shown = []
    for attribute in service_type.attributes.all():
        if not attribute.variable:
            continue
        name = f"attribute[{attribute.code}]"
        given = request.POST.getlist(name) if request.method == "POST" else []
        shown.append(
            {
                "attribute": attribute,
                "name": name,
                "value": given[0] if given else "",
                "choices": [(v, v.key in given) for v in attribute.values.all()],
                "error": (errors.get(name) or [""])[0],
            }
        )
    return shown


# What a link may fill in on a new request's form (GET): the e-mail queue's "File" link.
# The channel is the template's choice of two: phone, or e-mail for a message from the queue.
PREFILLED = (
    "description",
    "address_string",
    "email",
    "phone",
    "first_name",
    "last_name",
    "channel",
)


@_call_taker
def new_request(request: HttpRequest, service_code: str) -> HttpResponse:
    service_type = catalog_cache.active_type(service_code)
    if service_type is None:
        raise Http404(_("There is no such service: choose one from the list."))
    # One key per form: a second click on "File" (or a resend) files the request once.
    filing_key = request.POST.get("filing_key", "")[:64] or uuid.uuid4().hex
    context: dict[str, Any] = {
        "type": service_type,
        "errors": {},
        "values": {},
        "nearby": [],
        "filing_key": filing_key,
        "script": _script(service_type),
        "desk": calls.desk(request),
    }
    call = calls.in_hand(request)
    if call is not None and call.phone and request.method != "POST":
        # The number the caller gave on their screen, ready in the form.
        context["values"] = {"phone": call.phone_display}
    if request.method != "POST":
        # A link from the e-mail queue (intake) fills the form in from the message.
        context["values"] = {
            **context["values"],
            **{k: request.GET[k][:4000] for k in PREFILLED if request.GET.get(k)},
        }
    context["questions"] = _questions(service_type, request, {})
    if service_type.urgency == Urgency.EMERGENCY or request.method != "POST":
        return render(request, "console/new_request.html", context)
    sub = _submission(request, service_type)
    context["values"] = request.POST
    # One look at the place and the nearby requests serves both the offer and the filing.
    found = preview(sub, idempotency_key=filing_key)
    if found.filed is not None:
        # A second click on "File", or the form sent again: the request it filed already.
        return redirect("console:filed", tracking_number=found.filed.tracking_number)
    if found.triage.emergency and not request.POST.get("not_emergency"):
        # Transfer first; filing needs the caller's word that it is not an emergency.
        triage.count(found.triage, "console")
        context.update(triage=found.triage, advice=triage.advice(found.triage))
        return render(request, "console/new_request.html", context)
    if found.duplicates and not request.POST.get("file_anyway"):
        context["nearby"] = found.duplicates
        return render(request, "console/new_request.html", context)
    try:
        sr = submit_request(
            sub,
            by=request.user,
            previewed=found,
            idempotency_key=filing_key,
        )
    except SubmissionInvalid as e:
        context["errors"] = e.errors
        context["questions"] = _questions(service_type, request, e.errors)
        return render(request, "console/new_request.html", context, status=400)
    calls.end_call(request, kind=Kind.NEW_REQUEST, request=sr)
    return redirect("console:filed", tracking_number=sr.tracking_number)


def _script(service_type: ServiceType) -> str:
    """What to say for this type: its knowledge article's read-out, else its description."""
    articles = articles_for_service(service_type.service_code, staff=True)
    if articles:
        return shown(articles[0], "en").summary
    return service_type.description


@_call_taker
@require_POST
def follow_instead(request: HttpRequest, tracking_number: str) -> HttpResponse:
    """The caller means an open request already filed: they follow it instead of filing again."""
    try:
        sr = access.get_request_for_user(request.user, tracking_number)
    except NoSuchRequest as e:
        raise Http404(e.message) from None
    post = request.POST
    try:
        follow_request(
            sr,
            email=post.get("email", ""),
            phone=post.get("phone", ""),
            language=post.get("language", "en"),
            by=_staff(request),
        )
    except RequestError as e:
        messages.error(
            request, _("%(problem)s Or file a new request below.") % {"problem": e.message}
        )
        return redirect("console:new", service_code=sr.service_type.service_code)
    calls.end_call(request, kind=Kind.NEW_REQUEST, wrap_up=WrapUp.FOLLOWED_EXISTING, request=sr)
    return redirect(reverse("console:filed", args=[sr.tracking_number]) + "?following=1")


@_call_taker
def filed(request: HttpRequest, tracking_number: str) -> HttpResponse:
    try:
        sr = access.get_request_for_user(request.user, tracking_number)
    except NoSuchRequest as e:
        raise Http404(e.message) from None
    spoken = spelled_out(sr.tracking_number)
    following = request.GET.get("following") == "1"
    return render(
        request,
        "console/filed.html",
        {
            "sr": sr,
            "spoken": spoken,
            "following": following,
            # A bulky-item booking made for the caller: its day and items, to read back.
            "booking": Booking.objects.filter(request=sr).first(),
            # Why it is due then, for the caller who asks (docs/sla.md).
            "due": sla.explain_due(sr),
            **_how_long(sr),
        },
    )


def _how_long(sr: ServiceRequest) -> dict[str, Any]:
    """What the history says of how long such requests take (or that it cannot say), in the
    call taker's page language and, for a caller who speaks another, in the caller's language
    to read out."""

    def words(language: str) -> str:
        return expected.expected_words(sr, language) or expected.thin_words(sr, language)

    try:
        theirs = sr.contact.language
    except Contact.DoesNotExist:
        theirs = "en"
    page = translation.get_language() or settings.LANGUAGE_CODE
    return {
        "expected": words(page),
        "expected_known": expected.for_request(sr) is not None,
        "caller_language": theirs,
        "expected_for_caller": words(theirs) if theirs.split("-")[0] != page.split("-")[0] else "",
    }


def spelled_out(tracking_number: str) -> str:
    """A tracking number as it is read back, in the city's groups: "4-3-7, 2-2-1-5, 9-0-3"."""
    groups = [g for g in tracking_number.replace(" ", "-").split("-") if g]
    return ", ".join("-".join(group) for group in groups)
