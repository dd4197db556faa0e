"""Reporting a problem, step by step: one question a page, the answers kept in a draft.

Every step is a plain form that POSTs and redirects to the next, so the flow works with
JavaScript off; the location step's map and autocomplete are enhancements on top.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from city311.catalog import cache as catalog_cache
from city311.catalog.models import ServiceType
from city311.catalog.queries import groups_for_residents
from city311.catalog.search import suggest
from city311.facilities import answers as facility_answers
from city311.geo import geocoding
from city311.geo.locate import LocationProblem, outside_referral
from city311.knowledge import queries as knowledge
from city311.lib import distance
from city311.notifications.actions import follow_request
from city311.portal import drafts, forms, limits
from city311.portal.drafts import Draft
from city311.servicerequests import attachments
from city311.servicerequests.errors import Problem, RequestError, SubmissionInvalid
from city311.servicerequests.expected import expected_words, thin_words
from city311.servicerequests.intake import preview, submit_request
from city311.servicerequests.models import Channel, ServiceRequest
from city311.servicerequests.queries import get_by_tracking_number
from city311.servicerequests.tracking import new_tracking_number
from city311.servicerequests.validation import Submission
from city311.triage import prompts as triage

MAX_QUERY = 200
# Below this confidence, or with a runner-up this close, a typed address is asked about.
SURE_ENOUGH = 0.8
CLOSE_RUNNER_UP = 0.05
# A photo taken this far from the pin suggests a different place.
PHOTO_PLACE_M = 40
STEPS = ["location", "nearby", "questions", "description", "photos", "contact", "review"]
STEP_LABELS = {
    "location": gettext_lazy("Location"),
    "questions": gettext_lazy("Details"),
    "description": gettext_lazy("Description"),
    "photos": gettext_lazy("Photos"),
    "contact": gettext_lazy("Contact"),
    "review": gettext_lazy("Review"),
}
# Where preview's and submit_request's problems are put right.
FIELD_STEPS = {
    "lat": "location",
    "long": "location",
    "location": "location",
    "address_string": "location",
    "address_id": "location",
    "description": "description",
    "email": "contact",
    "phone": "contact",
    "contact": "contact",
    "first_name": "contact",
    "last_name": "contact",
    "language": "contact",
}


# Choosing the type -------------------------------------------------------------------------


def start(request: HttpRequest) -> HttpResponse:
    """Choose the type: from the resident's own words, or from the groups."""
    q = " ".join(request.GET.get("q", "").split())[:MAX_QUERY]
    context: dict[str, Any] = {
        "section": "report",
        "q": q,
        "groups": groups_for_residents(get_language() or "en"),
    }
    if q:
        # An emergency first, before any service is suggested.
        context["triage"] = found_triage = triage.check(q, channel="web", language=get_language())
        context["advice"] = triage.advice(found_triage)
        suggestion = suggest(q, limit=8, emergencies=True)
        found = [t for t, _score in suggestion.types]
        context["emergencies"] = [t for t in found if t.is_emergency]
        context["suggestions"] = [t for t in found if not t.is_emergency]
        # Nothing stands out: say so, and offer the groups rather than a confident guess.
        context["unsure"] = bool(context["suggestions"]) and not suggestion.sure
        context["answers"] = knowledge.answers(q, get_language() or "en", limit=3)
        # "Is the pool open today?": the nearest such place and its hours, first.
        near = " ".join(request.GET.get("near", "").split())[:200]
        context["place"] = facility_answers.card(q, near)
    return render(request, "portal/report/start.html", context)


def _answers_for(service_type: ServiceType) -> list[knowledge.Shown]:
    language = get_language() or "en"
    found = knowledge.articles_for_service(service_type.service_code)
    return [knowledge.shown(a, language) for a in found]


def _service_type(service_code: str) -> ServiceType:
    service_type = catalog_cache.active_type(service_code)
    if service_type is None:
        raise Http404(_("There is no such service."))
    return service_type


def report_type(request: HttpRequest, service_code: str) -> HttpResponse:
    """Start (or resume) a draft; urgent and emergency types stop here with a number to call."""
    service_type = _service_type(service_code)
    if service_type.is_emergency or service_type.is_urgent:
        return render(
            request,
            "portal/report/call.html",
            {"service_type": service_type, "section": "report"},
        )
    draft = drafts.start(request.session, service_code)
    return redirect(_step_url(service_type, steps_for(service_type, draft)[0]))


# The steps ------------------------------------------------------------------------------------


def steps_for(service_type: ServiceType, draft: Draft) -> list[str]:
    """The steps this report goes through: those that do not apply are skipped."""
    skip = set()
    if not service_type.location_required:
        skip.add("location")
    if not draft.get("nearby"):
        skip.add("nearby")
    if not any(a.variable for a in service_type.attributes.all()):
        skip.add("questions")
    return [s for s in STEPS if s not in skip]


def _step_url(service_type: ServiceType, step: str) -> str:
    return reverse("portal:report_step", args=[service_type.service_code, step])


def _after(service_type: ServiceType, draft: Draft, step: str, request: HttpRequest) -> str:
    if request.POST.get("change") and step != "location":
        return _step_url(service_type, "review")
    steps = steps_for(service_type, draft)
    following = steps[steps.index(step) + 1 :] if step in steps else steps
    return _step_url(service_type, following[0] if following else "review")


def _back(service_type: ServiceType, draft: Draft, step: str) -> str:
    steps = steps_for(service_type, draft)
    if step not in steps or steps.index(step) == 0:
        return reverse("portal:report")
    return _step_url(service_type, steps[steps.index(step) - 1])


def _page(
    request: HttpRequest,
    service_type: ServiceType,
    draft: Draft,
    step: str,
    context: dict[str, Any],
    status: int = 200,
) -> HttpResponse:
    steps = [s for s in steps_for(service_type, draft) if s in STEP_LABELS]
    current = step if step in steps else "location"
    position = steps.index(current) if current in steps else 0
    indicator = [
        {
            "label": STEP_LABELS[s],
            "state": "complete" if i < position else "current" if i == position else "",
        }
        for i, s in enumerate(steps)
    ]
    submit_errors = draft.get("submit_errors", {}).get(step)
    return render(
        request,
        f"portal/report/{step}.html",
        {
            "section": "report",
            "service_type": service_type,
            "draft": draft,
            "step": step,
            "steps": indicator,
            "step_number": position + 1,
            "step_count": len(steps),
            "back_url": _back(service_type, draft, step),
            "change": request.GET.get("change") or request.POST.get("change") or "",
            "submit_errors": submit_errors or [],
            # "Before you report": the type's answers, on the first step only.
            "before": _answers_for(service_type) if position == 0 else [],
            **context,
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
def step(request: HttpRequest, service_code: str, step: str) -> HttpResponse:
    handler = STEP_VIEWS.get(step)
    if handler is None:
        raise Http404(_("There is no such step."))
    service_type = _service_type(service_code)
    if service_type.is_emergency or service_type.is_urgent:
        return redirect("portal:report_type", service_code=service_code)
    draft = drafts.current(request.session, service_code)
    if draft is None:
        # An expired session or a bookmarked step: start again from the first step.
        return redirect("portal:report_type", service_code=service_code)
    return handler(request, service_type, draft)


# Location ------------------------------------------------------------------------------------


def location(request: HttpRequest, service_type: ServiceType, draft: Draft) -> HttpResponse:
    if request.method != "POST":
        # "Which of these did you mean?" answers one typed address, once: never a later visit.
        draft.set(candidates=[], candidates_for="")
        place = draft.get("location") or {}
        form = forms.LocationForm(
            initial={k: place.get(k) for k in ("address", "lat", "long")}, candidates=[]
        )
        return _location_page(request, service_type, draft, form)
    candidates = _offered(draft, request.POST.get("address", ""))
    form = forms.LocationForm(request.POST, candidates=candidates)
    if not form.is_valid():
        return _location_page(request, service_type, draft, form)
    data = form.cleaned_data
    chosen = data.get("candidate")
    # Whatever happens next, the choices offered are used up: a new attempt, a landmark or a
    # pin elsewhere must never be filed at one of them.
    draft.set(candidates=[], candidates_for="")
    try:
        if chosen is not None and 0 <= chosen < len(candidates):
            c = candidates[chosen]
            place, nearby = _locate(
                draft,
                service_type,
                c["lat"],
                c["long"],
                c["address"],
                c.get("address_id", ""),
                match=c.get("match", ""),
                confidence=c.get("confidence"),
            )
        elif _pin_given(data, draft.get("location")):
            place, nearby = _locate(
                draft, service_type, data["lat"], data["long"], data.get("address") or ""
            )
        elif data.get("address"):
            if geocoding.get_index().is_outside(data["address"]):
                # "10 Main St, Hoboken NJ": the city's pack names the place as outside.
                raise LocationProblem("address", outside_referral())
            found = geocoding.geocode(data["address"], limit=5)
            if not found:
                raise LocationProblem("address", _not_found(data["address"]))
            if _ambiguous(found):
                draft.set(
                    candidates=[_candidate(c) for c in found],
                    candidates_for=_typed(data["address"]),
                )
                form = forms.LocationForm(
                    initial={"address": data["address"]}, candidates=draft.get("candidates")
                )
                return _location_page(request, service_type, draft, form, choose=True)
            best = found[0]
            place, nearby = _locate(
                draft,
                service_type,
                best.lat,
                best.long,
                best.address,
                best.address_id,
                match=best.match,
                confidence=best.confidence,
            )
        else:
            raise LocationProblem(
                "address", _("Enter an address or a place, or mark the place on the map.")
            )
    except LocationProblem as e:
        # Shown again without the choices: they answered an earlier attempt.
        form = forms.LocationForm(request.POST, candidates=[])
        form.is_valid()
        form.add_error("address", e.message)
        return _location_page(request, service_type, draft, form)
    _set_location(draft, place, nearby)
    return redirect(_after(service_type, draft, "location", request))


def _typed(address: str) -> str:
    return " ".join(address.split()).casefold()


def _offered(draft: Draft, address: str) -> list[dict[str, Any]]:
    """The choices offered for this very text; none once the resident has changed it ("None of
    these? Change the address below")."""
    if draft.get("candidates_for", "") != _typed(address):
        return []
    return list(draft.get("candidates", []))


def _pin_given(data: dict[str, Any], before: dict[str, Any] | None) -> bool:
    """A pin was placed, and not merely kept while the resident typed a new address."""
    if data.get("lat") is None or data.get("long") is None:
        return False
    if not before or not data.get("address"):
        return True
    same_pin = (round(data["lat"], 6), round(data["long"], 6)) == (
        round(before["lat"], 6),
        round(before["long"], 6),
    )
    return not same_pin or data["address"].strip() == before.get("address", "").strip()


def _not_found(address: str) -> str:
    return _(
        "We could not find “%(address)s” in the city. Check the house number and street, "
        "add the ZIP code, or mark the place on the map."
    ) % {"address": address[:100]}


def _ambiguous(found: list[geocoding.Candidate]) -> bool:
    best = found[0]
    if best.confidence < SURE_ENOUGH:
        return True
    return len(found) > 1 and found[1].confidence >= best.confidence - CLOSE_RUNNER_UP


def _candidate(c: geocoding.Candidate) -> dict[str, Any]:
    return {
        "address": c.address,
        "lat": c.lat,
        "long": c.long,
        "address_id": c.address_id,
        "match": c.match,
        "confidence": c.confidence,
    }


def _locate(
    draft: Draft,
    service_type: ServiceType,
    lat: float,
    long: float,
    address: str,
    address_id: str = "",
    *,
    match: str = "",
    confidence: float | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """A place the resident gave, checked by the one intake's `preview` as the filing will
    check it: in the city, with its nearest address, how it was found (`match`: a geocoded
    candidate's kind; none for a pin on the map), and the open requests of the kind near it
    (their numbers, for "is it one of these?")."""
    place = {
        "lat": lat,
        "long": long,
        "address": address,
        "address_id": address_id,
        "match": match,
        "confidence": confidence,
    }
    found = preview(_submission(draft, service_type, place=place))
    problems = found.problems_of([f for f, s in FIELD_STEPS.items() if s == "location"])
    if problems:
        raise LocationProblem("address", _in_words("location", problems[0]))
    located = found.located
    if located is None or located.lat is None or located.long is None:
        raise LocationProblem("address", _("Mark the place on the map or give its address."))
    if not located.in_city:
        # Asked of a photo's place too, for a type that does not require a place.
        raise LocationProblem("address", outside_referral())
    place.update(
        lat=round(located.lat, 7),
        long=round(located.long, 7),
        address=(address if address_id else located.address) or located.address,
    )
    return place, [sr.tracking_number for sr, _d in found.duplicates]


def _set_location(draft: Draft, place: dict[str, Any], nearby: list[str]) -> None:
    errors = dict(draft.get("submit_errors", {}))
    errors.pop("location", None)
    draft.set(
        location=place,
        candidates=[],
        candidates_for="",
        nearby=nearby,
        photo_place=None,
        submit_errors=errors,
    )


def _location_page(
    request: HttpRequest,
    service_type: ServiceType,
    draft: Draft,
    form: forms.LocationForm,
    *,
    choose: bool = False,
) -> HttpResponse:
    return _page(
        request,
        service_type,
        draft,
        "location",
        {
            "form": form,
            "choose": choose,
            "map_tiles": getattr(settings, "CITY311_MAP_TILES", ""),
            "referral": service_type.translated("referral"),
        },
    )


# Nearby requests ----------------------------------------------------------------------------


def _nearby_requests(draft: Draft) -> list[ServiceRequest]:
    numbers = draft.get("nearby", [])
    rows = ServiceRequest.objects.select_related("service_type").filter(tracking_number__in=numbers)
    by_number = {sr.tracking_number: sr for sr in rows if not sr.is_closed}
    return [by_number[n] for n in numbers if n in by_number]


def nearby(request: HttpRequest, service_type: ServiceType, draft: Draft) -> HttpResponse:
    found = _nearby_requests(draft)
    if not found or (request.method == "POST" and request.POST.get("action") == "continue"):
        draft.set(nearby_seen=True)
        return redirect(_after(service_type, draft, "nearby", request))
    numbers = [sr.tracking_number for sr in found]
    form = forms.FollowForm(
        request.POST if request.method == "POST" else None,
        numbers=numbers,
        initial={"tracking_number": numbers[0]} if len(numbers) == 1 else None,
    )
    if request.method == "POST" and form.is_valid():
        sr = get_by_tracking_number(form.cleaned_data["tracking_number"])
        try:
            follow_request(
                sr,
                email=form.cleaned_data["email"],
                phone=form.cleaned_data["phone"],
                language=get_language() or "en",
                both=bool(form.cleaned_data["email"] and form.cleaned_data["phone"]),
                by=None,
            )
        except RequestError as e:
            form.add_error(None, e.message)
        else:
            drafts.discard(request.session)
            return render(
                request,
                "portal/report/following.html",
                {"sr": sr, "section": "report", "service_type": service_type},
            )
    rows = [{"sr": sr, "status": sr.get_status_display()} for sr in found]
    return _page(request, service_type, draft, "nearby", {"form": form, "rows": rows})


# The type's questions, description ----------------------------------------------------------


def questions(request: HttpRequest, service_type: ServiceType, draft: Draft) -> HttpResponse:
    attributes = list(service_type.attributes.all())
    if request.method != "POST":
        form = forms.QuestionsForm(
            initial=_question_initial(attributes, draft.get("answers", {})),
            attributes=attributes,
        )
    else:
        form = forms.QuestionsForm(request.POST, attributes=attributes)
        if form.is_valid():
            _clear_errors(draft, "questions")
            draft.set(answers=form.answers())
            return redirect(_after(service_type, draft, "questions", request))
    notes = [a for a in attributes if not a.variable]
    return _page(request, service_type, draft, "questions", {"form": form, "notes": notes})


def _question_initial(attributes: list[Any], answers: dict[str, Any]) -> dict[str, Any]:
    initial = {}
    for attribute in attributes:
        value = answers.get(attribute.code)
        if value and attribute.datatype == "datetime":
            moment = datetime.fromisoformat(str(value))
            value = timezone.localtime(moment) if timezone.is_aware(moment) else moment
        initial[forms.question_name(attribute)] = value
    return initial


def description(request: HttpRequest, service_type: ServiceType, draft: Draft) -> HttpResponse:
    if request.method != "POST":
        form = forms.DescriptionForm(initial={"description": draft.get("description", "")})
    else:
        form = forms.DescriptionForm(request.POST)
        if form.is_valid():
            text = form.cleaned_data["description"].strip()
            # Read before anything else; the resident may say it is not an emergency.
            if not request.POST.get("not_emergency"):
                read = preview(_submission(draft, service_type, description=text), duplicates=0)
                found = read.triage
                if found.emergency:
                    triage.count(found, "web")
                    context = {"form": form, "triage": found, "advice": triage.advice(found)}
                    return _page(request, service_type, draft, "description", context)
            _clear_errors(draft, "description")
            draft.set(description=text)
            return redirect(_after(service_type, draft, "description", request))
    return _page(request, service_type, draft, "description", {"form": form})


def _clear_errors(draft: Draft, step: str) -> None:
    errors = dict(draft.get("submit_errors", {}))
    if errors.pop(step, None) is not None:
        draft.set(submit_errors=errors)


# Photos -------------------------------------------------------------------------------------


def photos(request: HttpRequest, service_type: ServiceType, draft: Draft) -> HttpResponse:
    max_mb = max(1, attachments.max_bytes() // (1024 * 1024))
    form = forms.PhotoForm(max_mb=max_mb)
    if request.method == "POST":
        action = request.POST.get("action", "continue")
        if action == "add":
            form = forms.PhotoForm(request.POST, request.FILES, max_mb=max_mb)
            if _add_photo(request, service_type, draft, form):
                return redirect(_step_url(service_type, "photos"))
        elif action.startswith("remove-"):
            draft.remove_photo(_int(action.removeprefix("remove-")))
            return redirect(_step_url(service_type, "photos"))
        elif action == "use-photo-place" and draft.get("photo_place"):
            suggested = draft.get("photo_place")
            try:
                place, nearby = _locate(
                    draft, service_type, suggested["lat"], suggested["long"], ""
                )
            except LocationProblem:
                draft.set(photo_place=None)
            else:
                _set_location(draft, place, nearby)
            return redirect(_step_url(service_type, "photos"))
        elif action == "keep-place":
            draft.set(photo_place=None)
            return redirect(_step_url(service_type, "photos"))
        else:
            return redirect(_after(service_type, draft, "photos", request))
    return _page(
        request,
        service_type,
        draft,
        "photos",
        {
            "form": form,
            "photos": draft.photos,
            "room": len(draft.photos) < drafts.MAX_PHOTOS,
            "max_photos": drafts.MAX_PHOTOS,
            "photo_place": draft.get("photo_place"),
        },
    )


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return -1


def _add_photo(
    request: HttpRequest, service_type: ServiceType, draft: Draft, form: forms.PhotoForm
) -> bool:
    if len(draft.photos) >= drafts.MAX_PHOTOS:
        form.add_error(None, _("You can send up to %(n)s photos.") % {"n": drafts.MAX_PHOTOS})
        return False
    if not form.is_valid():
        return False
    upload = form.cleaned_data["photo"]
    try:
        clean = attachments.clean_photo(upload)
    except attachments.MediaInvalid:
        form.add_error("photo", _photo_problem(upload))
        return False
    where = attachments.photo_location(upload)
    draft.add_photo(clean)
    if where is not None:
        _offer_photo_place(draft, service_type, *where)
    return True


def _photo_problem(upload: Any) -> str:
    limit = attachments.max_bytes()
    if (upload.size or 0) > limit:
        return _("The photo is too large: choose one of at most %(mb)s MB.") % {
            "mb": max(1, limit // (1024 * 1024))
        }
    if not upload.size:
        return _("The file is empty: choose the photo itself.")
    return _("The file is not a photo we can take: choose a JPEG, PNG, GIF or WebP image.")


def _offer_photo_place(draft: Draft, service_type: ServiceType, lat: float, long: float) -> None:
    """Suggest where the photo was taken as the place, when it is new or elsewhere."""
    place = draft.get("location") or {}
    if place.get("lat") is not None and _metres(place, lat, long) < PHOTO_PLACE_M:
        return
    try:
        suggested, _nearby = _locate(draft, service_type, lat, long, "")
    except LocationProblem:
        return
    draft.set(photo_place=suggested)


def _metres(place: dict[str, Any], lat: float, long: float) -> float:
    return distance.metres(place["lat"], place["long"], lat, long)


def photo(request: HttpRequest, service_code: str, index: int) -> HttpResponseBase:
    """A draft's photo, to the browser whose draft it is only."""
    draft = drafts.current(request.session, service_code)
    found = draft.photo_file(index) if draft else None
    if draft is None or found is None:
        raise Http404(_("There is no such photo."))
    response = FileResponse(found, content_type=draft.photos[index]["content_type"])
    response["Cache-Control"] = "private, no-store"
    return response


# Contact ------------------------------------------------------------------------------------


def contact(request: HttpRequest, service_type: ServiceType, draft: Draft) -> HttpResponse:
    required = service_type.contact_required
    if request.method != "POST":
        initial = draft.get("contact") or {"wants_updates": True}
        form = forms.ContactForm(initial=initial, contact_required=required)
    else:
        form = forms.ContactForm(request.POST, contact_required=required)
        if form.is_valid():
            _clear_errors(draft, "contact")
            draft.set(contact=form.cleaned_data)
            return redirect(_after(service_type, draft, "contact", request))
    return _page(request, service_type, draft, "contact", {"form": form, "required": required})


# Review and submit --------------------------------------------------------------------------


def review(request: HttpRequest, service_type: ServiceType, draft: Draft) -> HttpResponse:
    if request.method == "POST":
        return _submit(request, service_type, draft)
    form = forms.SubmitForm(initial={"token": draft.token})
    return _review_page(request, service_type, draft, form)


def _review_page(
    request: HttpRequest,
    service_type: ServiceType,
    draft: Draft,
    form: forms.SubmitForm,
    status: int = 200,
) -> HttpResponse:
    steps = steps_for(service_type, draft)
    attributes = [a for a in service_type.attributes.all() if a.variable]
    answers = draft.get("answers", {})
    return _page(
        request,
        service_type,
        draft,
        "review",
        {
            "form": form,
            "has": set(steps),
            "place": draft.get("location"),
            "answered": [
                (a, _answer_text(a, answers.get(a.code)))
                for a in attributes
                if answers.get(a.code) not in (None, "", [])
            ],
            "contact": draft.get("contact") or {},
            "photos": draft.photos,
            "referral": service_type.translated("referral"),
        },
        status=status,
    )


def _answer_text(attribute: Any, value: Any) -> str:
    if attribute.has_values:
        names = {v.key: v.translated("name") for v in attribute.values.all()}
        keys = value if isinstance(value, list) else [value]
        return ", ".join(names.get(str(k), str(k)) for k in keys)
    if attribute.datatype == "datetime":
        moment = datetime.fromisoformat(str(value))
        moment = timezone.localtime(moment) if timezone.is_aware(moment) else moment
        return moment.strftime("%Y-%m-%d %H:%M")
    return str(value)


def _submit(request: HttpRequest, service_type: ServiceType, draft: Draft) -> HttpResponse:
    form = forms.SubmitForm(request.POST)
    if not form.is_valid() or form.cleaned_data["token"] != draft.token:
        return redirect(_step_url(service_type, "review"))
    if form.cleaned_data["website"]:
        # A robot filled the honeypot: it is shown a plausible page and nothing is filed.
        drafts.discard(request.session)
        return _confirmation(request, None, fake=new_tracking_number())
    submission = _submission(draft, service_type)
    photos = draft.photo_files()
    found = preview(submission, photos=photos, duplicates=0, idempotency_key=draft.token)
    if found.filed is not None:
        # A second click or a resend of the same draft: not another report, so not counted.
        return _filed(request, draft, found.filed)
    person = draft.get("contact") or {}
    limited = limits.spend(request, [person.get("email", ""), person.get("phone", "")])
    if limited is not None:
        response = render(
            request,
            "portal/report/limited.html",
            {"retry_at": timezone.localtime(limited.retry_at), "section": "report"},
            status=429,
        )
        response["Retry-After"] = str(limited.retry_after_s)
        return response
    try:
        # The photos are kept with the request or not at all; the draft's token files once.
        sr = submit_request(submission, photos=photos, idempotency_key=draft.token, previewed=found)
    except SubmissionInvalid as e:
        return _back_to_fix(service_type, draft, e)
    drafts.delete_photos(draft)
    return _filed(request, draft, sr)


def _filed(request: HttpRequest, draft: Draft, sr: ServiceRequest) -> HttpResponse:
    person = draft.get("contact") or {}
    email = bool(person.get("email") and person.get("wants_updates"))
    drafts.remember_filed(request.session, draft.token, sr.tracking_number, email)
    drafts.discard(request.session)
    return redirect("portal:report_done", tracking_number=sr.tracking_number)


def _submission(
    draft: Draft,
    service_type: ServiceType,
    *,
    place: dict[str, Any] | None = None,
    description: str | None = None,
) -> Submission:
    """The draft as the one intake reads it; a step checks its own answer (`place`,
    `description`) in place of the draft's."""
    place = place if place is not None else draft.get("location") or {}
    person = draft.get("contact") or {}
    return Submission(
        service_code=service_type.service_code,
        channel=Channel.WEB,
        description=draft.get("description", "") if description is None else description,
        lat=place.get("lat"),
        long=place.get("long"),
        address_string=place.get("address", ""),
        address_id=place.get("address_id", ""),
        location_match=place.get("match", ""),
        location_confidence=place.get("confidence"),
        answers=draft.get("answers", {}),
        first_name=person.get("first_name", ""),
        last_name=person.get("last_name", ""),
        email=person.get("email", ""),
        phone=person.get("phone", ""),
        wants_updates=bool(person.get("wants_updates")),
        # The whole code ("zh-hans"), as LANGUAGES lists it and the contact keeps it.
        language=get_language() or "en",
    )


def _back_to_fix(service_type: ServiceType, draft: Draft, e: SubmissionInvalid) -> HttpResponse:
    """Each problem goes back to the step where it is put right, worded in the page's language."""
    by_step: dict[str, list[str]] = {}
    for name, problems in e.problems.items():
        if name == "service_code":
            return redirect("portal:report")
        target = "questions" if name.startswith("attribute[") else FIELD_STEPS.get(name, "review")
        by_step.setdefault(target, []).extend(_in_words(name, p) for p in problems)
    draft.set(submit_errors=by_step)
    first = next((s for s in STEPS if s in by_step), "review")
    return redirect(_step_url(service_type, first))


def _in_words(name: str, problem: Problem) -> str:
    """The domain's words, but a resident never gave latitude and longitude: ask for the place."""
    if name == "location" and problem.code == "required":
        return _("Tell us where the problem is: an address, or a place on the map.")
    return str(problem)


# Confirmation -------------------------------------------------------------------------------


def done(request: HttpRequest, tracking_number: str) -> HttpResponse:
    """The tracking number and what happens next, for the browser that filed it only."""
    if drafts.filed_here(request.session, tracking_number) is None:
        return redirect("portal:request", tracking_number=tracking_number)
    sr = get_by_tracking_number(tracking_number)
    return _confirmation(request, sr)


def _confirmation(request: HttpRequest, sr: ServiceRequest | None, fake: str = "") -> HttpResponse:
    emailed = bool(sr and drafts.filed_here(request.session, sr.tracking_number))
    return render(
        request,
        "portal/report/done.html",
        {
            "section": "report",
            "number": sr.tracking_number if sr else fake,
            "sr": sr,
            "department": sr.department.translated("name") if sr and sr.department else "",
            "due": timezone.localtime(sr.due_at) if sr and sr.due_at else None,
            "expected": expected_words(sr) if sr else "",
            "expected_thin": thin_words(sr) if sr else "",
            "emailed": emailed,
            "referral": sr.service_type.translated("referral") if sr else "",
            "next_steps": [a for a in _answers_for(sr.service_type) if a.next_steps_html]
            if sr
            else [],
        },
    )


STEP_VIEWS: dict[str, Callable[[HttpRequest, ServiceType, Draft], HttpResponse]] = {
    "location": location,
    "nearby": nearby,
    "questions": questions,
    "description": description,
    "photos": photos,
    "contact": contact,
    "review": review,
}
