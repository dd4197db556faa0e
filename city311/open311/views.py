"""Open311 GeoReport v2 handlers: each parses, calls the domain, renders. Never a 500 or HTML."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.exceptions import (
    BadRequest,
    RequestDataTooBig,
    TooManyFieldsSent,
    ValidationError,
)
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt

from city311.catalog import cache as catalog_cache
from city311.open311 import keys, openapi
from city311.open311 import render as shape
from city311.open311.formats import JSON, XML, respond
from city311.open311.models import ApiKey, ClientUpdate, StatusWords
from city311.open311.params import BadParameter, Params
from city311.open311.queries import (
    MAX_RESULTS,
    BadQuery,
    Filters,
    PublicRow,
    find_requests,
    find_updates,
    media_ids,
)
from city311.open311.queries import get_request as get_public_request
from city311.servicerequests import attachments
from city311.servicerequests.actions import (
    SAYS_FIXED,
    SAYS_NOT_FIXED,
    SAYS_NOTHING,
    add_resident_update,
)
from city311.servicerequests.errors import NoSuchRequest, RequestError, SubmissionInvalid
from city311.servicerequests.intake import preview, submit_request
from city311.servicerequests.models import Attachment, ServiceRequest
from city311.servicerequests.queries import get_by_tracking_number
from city311.triage import prompts as triage
from city311.triage.rules import Triage

logger = logging.getLogger(__name__)

MAX_UPLOADS = 5
DEFAULT_JURISDICTION = "city311"
# Open311 names for the fields submit_request reports problems with, where ours differ.
FIELD_NAMES = {
    "location": "location (lat and long, address_string or address_id)",
    "contact": "contact (email or phone)",
}
Handler = Callable[..., HttpResponseBase]


class Problem(Exception):
    """An Open311 error response: the HTTP status and one description per error."""

    def __init__(self, status: int, *descriptions: str, headers: dict[str, str] | None = None):
        super().__init__(descriptions[0] if descriptions else "")
        self.status, self.descriptions, self.headers = status, descriptions, headers or {}


def errors(fmt: str, status: int, descriptions: tuple[str, ...] | list[str]) -> HttpResponse:
    body = [{"code": status, "description": d} for d in descriptions]
    return respond(fmt, "errors", body, status=status)


def jurisdiction_ids(request: HttpRequest) -> set[str]:
    """The configured jurisdiction_id, and this server's own host name (the spec's suggestion)."""
    host = request.get_host().rsplit(":", 1)[0].removeprefix("www.")
    return {getattr(settings, "CITY311_JURISDICTION_ID", "") or DEFAULT_JURISDICTION, host}


def endpoint(*methods: str) -> Callable[[Handler], Handler]:
    """An Open311 resource: errors in the requested format, whatever goes wrong inside."""

    def decorate(view: Handler) -> Handler:
        @csrf_exempt
        @wraps(view)
        def handle(request: HttpRequest, fmt: str = JSON, **kwargs: Any) -> HttpResponseBase:
            response: HttpResponseBase
            try:
                if request.method not in methods:
                    raise Problem(400, f"{request.method} is not supported here; use {methods[0]}.")
                params = _params(request)
                jurisdiction = params.get("jurisdiction_id")
                if jurisdiction and jurisdiction not in jurisdiction_ids(request):
                    raise Problem(404, f"jurisdiction_id {jurisdiction[:60]!r} was not found.")
                response = view(request, fmt, params, **kwargs)
            except Problem as p:
                response = errors(fmt, p.status, p.descriptions)
                for name, value in p.headers.items():
                    response[name] = value
            except Exception:
                logger.exception("Open311 %s %s failed", request.method, request.path)
                # The city's own failure, not the client's: 503, so a client tries again.
                response = errors(
                    fmt,
                    503,
                    ["The city's system could not complete this request; try again later."],
                )
                response["Retry-After"] = "30"
            return response

        return handle

    return decorate


# Bodies a POST may have: the forms GeoReport v2 defines.
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _params(request: HttpRequest) -> Params:
    limit = attachments.max_bytes() * MAX_UPLOADS + 1024 * 1024
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise Problem(400, "Content-Length must be a whole number of bytes.") from None
    if length > limit:
        raise Problem(400, f"The request is too large: send at most {limit:,} bytes.")
    sent = request.content_type or ""
    if request.method == "POST" and length and sent not in FORM_TYPES:
        raise Problem(
            400,
            f"The body is {sent[:60] or 'of no type'}: send the fields as "
            "application/x-www-form-urlencoded, or multipart/form-data with photos.",
        )
    try:
        return Params(request)
    except (RequestDataTooBig, TooManyFieldsSent):
        raise Problem(400, "The request has too many or too large fields.") from None
    except MultiPartParserError as e:
        raise Problem(
            400,
            f"The multipart body cannot be read ({str(e)[:80]}): send the Content-Type your "
            "HTTP library writes for a form with files, multipart/form-data; boundary=...",
        ) from None
    except BadRequest:
        # Django reads form-encoded bodies in UTF-8 only.
        raise Problem(
            400,
            "The form is not in UTF-8: send it as application/x-www-form-urlencoded in "
            "UTF-8 (charset=utf-8, or no charset).",
        ) from None


def _base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri("/open311/v2/")


@endpoint("GET")
def discovery(request: HttpRequest, fmt: str, params: Params) -> HttpResponse:
    return respond(fmt, "discovery", openapi.discovery(_base_url(request)))


@endpoint("GET")
def services(request: HttpRequest, fmt: str, params: Params) -> HttpResponse:
    # From the catalog snapshot. Emergencies are not 311 requests: they are not offered
    # (POSTing one is refused anyway).
    rows = catalog_cache.active_types()
    return respond(fmt, "services", [shape.service(st, metadata=st.has_questions) for st in rows])


@endpoint("GET")
def service_definition(
    request: HttpRequest, fmt: str, params: Params, service_code: str
) -> HttpResponse:
    st = catalog_cache.active_type(service_code)
    if st is None or st.is_emergency:
        raise Problem(404, f"There is no service {service_code[:60]!r}; see services.{fmt}.")
    return respond(fmt, "service_definition", shape.service_definition(st))


@endpoint("GET", "POST")
def service_requests(request: HttpRequest, fmt: str, params: Params) -> HttpResponse:
    if request.method == "POST":
        return _create(request, fmt, params)
    statuses = [s.lower() for s in params.csv("status")]
    if any(s not in ("open", "closed") for s in statuses):
        raise Problem(400, "status must be open, closed, or both separated by a comma.")
    try:
        filters = Filters(
            service_request_ids=params.csv("service_request_id"),
            service_codes=params.csv("service_code"),
            statuses=statuses,
            start=params.datetime("start_date"),
            end=params.datetime("end_date"),
            updated_after=params.datetime("updated_after"),
            updated_before=params.datetime("updated_before"),
            page=params.integer("page", default=1, minimum=1, maximum=100_000),
            page_size=params.integer(
                "page_size", default=MAX_RESULTS, minimum=1, maximum=MAX_RESULTS
            ),
        )
        rows = find_requests(filters, extensions=params.flag("extensions"))
    except (BadParameter, BadQuery) as e:
        raise Problem(400, str(e)) from None
    return _requests(request, fmt, rows)


def _requests(request: HttpRequest, fmt: str, rows: list[PublicRow]) -> HttpResponse:
    media = media_ids(rows)
    root = request.build_absolute_uri("/") if media else ""
    body = [
        shape.request(
            row,
            media_urls=[f"{root}open311/v2/media/{pk}" for pk in media.get(row["pk"], [])],
        )
        for row in rows
    ]
    return respond(fmt, "service_requests", body)


def _uploads(request: HttpRequest) -> list[UploadedFile]:
    """The `media` part, and FixMyStreet's photo1..N parts."""
    files = list(request.FILES.getlist("media"))
    files += [
        f
        for name in sorted(request.FILES)
        if name.startswith("photo")
        for f in request.FILES.getlist(name)
    ]
    if len(files) > MAX_UPLOADS:
        raise Problem(400, f"media: send at most {MAX_UPLOADS} photos with one request.")
    return files


def _idempotency_key(request: HttpRequest, params: Params, key: ApiKey) -> str:
    """The Idempotency-Key header; else FixMyStreet's own report id (attribute[fixmystreet_id],
    sent when a service declares it), so a report re-sent after a timeout is filed once."""
    header = request.headers.get("Idempotency-Key", "")[:200]
    if header:
        return header
    external = params.get("attribute[fixmystreet_id]")[:100]
    return f"open311:{key.pk}:fixmystreet:{external}" if external else ""


def _create(request: HttpRequest, fmt: str, params: Params) -> HttpResponse:
    try:
        key = keys.authorise(params.get("api_key"))
        keys.spend(key)
    except keys.KeyRefused as e:
        headers = {"Retry-After": str(e.retry_after)} if e.retry_after else None
        raise Problem(e.status, e.message, headers=headers) from None
    code = params.get("service_code")
    if not code:
        raise Problem(400, "service_code: send the code of a service from services.xml.")
    submission = params.submission(code, application=key.application)
    if key.notifies_own_users:
        # The application tells its users itself: the city does not e-mail or text them too.
        submission.wants_updates = False
    photos = _uploads(request)
    # Read for an emergency (and checked, located, routed) once, for the notice and the filing.
    found = preview(submission, photos=photos, duplicates=0)
    try:
        sr = submit_request(
            submission,
            photos=photos,
            previewed=found,
            # An extension: a client that retries a POST after a lost answer files once.
            idempotency_key=_idempotency_key(request, params, key),
        )
    except SubmissionInvalid as e:
        if "unknown_service" in e.codes.get("service_code", []):
            raise Problem(
                404, f"service_code: there is no service {code[:60]!r}; see services.{fmt}."
            ) from None
        raise Problem(
            400,
            *[
                f"{FIELD_NAMES.get(field, field)}: {message}"
                for field, messages in e.errors.items()
                for message in messages
            ],
        ) from None
    notice = " ".join(filter(None, [_emergency_notice(found.triage), sr.service_type.referral]))
    return _created(fmt, sr, notice or None)


def _emergency_notice(found: Triage) -> str:
    """ "Call 911 now", first in `service_notice`, when the description reads as an emergency:
    the app shows it to the resident (the request is still filed, for the record)."""
    if not found.emergency:
        return ""
    triage.count(found, "open311")
    said = triage.advice(found)
    notice = (
        f"This sounds like an emergency: call {said.emergency_phone} now. "
        "Emergencies are not taken as 311 requests."
    )
    if said.crisis_phone:
        notice += f" If someone may harm themselves, call or text {said.crisis_phone}."
    return notice


def _created(fmt: str, sr: ServiceRequest, notice: str | None) -> HttpResponse:
    body = [
        {"service_request_id": sr.tracking_number, "service_notice": notice, "account_id": None}
    ]
    return respond(fmt, "service_requests", body)


@endpoint("GET")
def service_request(
    request: HttpRequest, fmt: str, params: Params, service_request_id: str
) -> HttpResponse:
    extensions = params.flag("extensions")
    try:
        row = get_public_request(service_request_id, extensions=extensions)
    except NoSuchRequest as e:
        raise Problem(404, e.message) from None
    return _requests(request, fmt, [row])


@endpoint("GET")
def token(request: HttpRequest, fmt: str, params: Params, token: str) -> HttpResponse:
    # Every service is realtime, so city311 issues no tokens. A client that polls anyway may use
    # the tracking number as the token: it resolves to itself.
    try:
        row = get_public_request(token)
    except NoSuchRequest:
        raise Problem(
            404, f"There is no token {token[:40]!r}: city311 returns ids at once."
        ) from None
    return respond(
        fmt, "service_requests", [{"service_request_id": row["tracking_number"], "token": token}]
    )


@endpoint("GET", "POST")
def updates(request: HttpRequest, fmt: str, params: Params) -> HttpResponse:
    if request.method == "POST":
        return _post_update(fmt, params)
    # A key is not needed to read; when one is sent, its settings say how statuses are named,
    # and the application's own posted updates are left out (it has them).
    key = ApiKey.objects.authenticate(params.get("api_key"))
    try:
        page = params.get("page")
        rows = find_updates(
            params.datetime("start_date"),
            params.datetime("end_date"),
            page=params.integer("page", default=1, minimum=1, maximum=100_000) if page else None,
            page_size=params.integer(
                "page_size", default=MAX_RESULTS, minimum=1, maximum=MAX_RESULTS
            ),
            not_from=key.pk if key else None,
        )
    except (BadParameter, BadQuery) as e:
        raise Problem(400, str(e)) from None
    fixmystreet = key is not None and key.status_words == StatusWords.FIXMYSTREET
    return respond(
        fmt, "service_request_updates", [shape.update(e, fixmystreet=fixmystreet) for e in rows]
    )


# FixMyStreet's update states: the resident says it is fixed, or (on a closed request) not.
SAYS = {
    "FIXED": SAYS_FIXED,
    "CLOSED": SAYS_FIXED,
    "OPEN": SAYS_NOT_FIXED,
    "REOPEN": SAYS_NOT_FIXED,
}
UPDATE_STATUSES = (
    "OPEN, CLOSED, FIXED, REOPEN, IN_PROGRESS, ACTION_SCHEDULED, INVESTIGATING, DUPLICATE, "
    "NOT_COUNCILS_RESPONSIBILITY, NO_FURTHER_ACTION or INTERNAL_REFERRAL"
)


def _post_update(fmt: str, params: Params) -> HttpResponse:
    """An application's update on a request (FixMyStreet's send_comments): public history,
    recorded once per the application's update_id, answered with city311's update id."""
    try:
        key = keys.authorise(params.get("api_key"))
        keys.spend(key)
    except keys.KeyRefused as e:
        headers = {"Retry-After": str(e.retry_after)} if e.retry_after else None
        raise Problem(e.status, e.message, headers=headers) from None
    number, update_id = params.get("service_request_id"), params.get("update_id")
    status = params.get("status").upper()
    missing = [
        name
        for name, value in (
            ("service_request_id", number),
            ("update_id", update_id),
            ("status", status),
        )
        if not value
    ]
    if missing:
        raise Problem(400, *[f"{name}: this field is required." for name in missing])
    if len(update_id) > 100:
        raise Problem(400, "update_id: use at most 100 characters.")
    if status not in UPDATE_STATUSES.replace(" or ", ", ").split(", "):
        raise Problem(400, f"status: send one of {UPDATE_STATUSES}.")
    seen = ClientUpdate.objects.filter(key=key, update_id=update_id).first()
    if seen is None:
        try:
            sr = get_by_tracking_number(number)
        except NoSuchRequest as e:
            raise Problem(404, e.message) from None
        text = params.get("description")
        media_url = params.get("media_url")
        if media_url:
            try:
                URLValidator(schemes=["http", "https"])(media_url)
            except ValidationError:
                raise Problem(400, "media_url: send a web address starting http(s)://.") from None
            if len(media_url) > 500:
                raise Problem(400, "media_url: use at most 500 characters.")
            # Kept as a link in the text, and in the event's data for open311.media to fetch
            # when its host is one the city allows.
            text = f"{text}\n\n{media_url}".strip()
        try:
            with transaction.atomic():
                event = add_resident_update(
                    sr,
                    text=text,
                    says=SAYS.get(status, SAYS_NOTHING),
                    label=key.application,
                    media_url=media_url,
                )
                seen = ClientUpdate.objects.create(key=key, update_id=update_id, event=event)
        except RequestError as e:
            raise Problem(400, f"description: {e.message}") from None
        except IntegrityError:
            # The same update posted twice at once: the other one recorded it.
            seen = ClientUpdate.objects.get(key=key, update_id=update_id)
    return respond(fmt, "service_request_updates", [{"update_id": str(seen.event_id)}])


@endpoint("GET")
def media(request: HttpRequest, fmt: str, params: Params, pk: int) -> HttpResponseBase:
    attachment = Attachment.objects.filter(pk=pk).first()
    if attachment is None:
        raise Problem(404, f"There is no photo {pk}.")
    response = FileResponse(attachment.file.open("rb"), content_type=attachment.content_type)
    response["Content-Length"] = str(attachment.size)
    return response


@endpoint("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
def not_found(request: HttpRequest, fmt: str, params: Params, path: str = "") -> HttpResponse:
    raise Problem(
        404,
        f"There is no resource /{request.path.lstrip('/')[:100]}; see /open311/v2/openapi.json.",
    )


@csrf_exempt
def not_found_any(request: HttpRequest, path: str = "") -> HttpResponseBase:
    fmt = XML if request.path.rstrip("/").endswith(".xml") else JSON
    return not_found(request, fmt=fmt)


def index(request: HttpRequest) -> HttpResponse:
    return redirect("/api/docs")


def openapi_document(request: HttpRequest) -> JsonResponse:
    return JsonResponse(openapi.document(_base_url(request)), json_dumps_params={"indent": 1})


def docs(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "open311/docs.html",
        {
            "doc": openapi.document(_base_url(request)),
            "operations": openapi.operations(_base_url(request)),
        },
    )
