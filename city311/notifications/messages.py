"""What a message says: one `make_message` renders every kind, in the follower's language.

Each kind has four parts under templates/notifications/<kind>/: subject.txt, body.txt, body.html
(e-mail) and sms.txt. An administrator may replace any part per kind, language and service type
with a MessageTemplate. The frame around the body (tracking number, link to the request's page,
how to stop) is added here, so no wording can leave it out.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.template import Context, Template
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from city311.notifications import tokens
from city311.notifications.models import Delivery, Follower, MessageTemplate
from city311.servicerequests import events
from city311.servicerequests.models import RequestEvent, Resolution, ServiceRequest

PARTS = ("subject", "text", "html", "sms")
_FILES = {"subject": "subject.txt", "text": "body.txt", "html": "body.html", "sms": "sms.txt"}


@dataclass
class Message:
    subject: str
    text: str
    html: str
    sms: str
    unsubscribe_url: str


def site_url(path: str) -> str:
    return settings.CITY311_SITE_URL.rstrip("/") + path


def public_url(sr: ServiceRequest) -> str:
    return site_url(f"/track/{sr.tracking_number}")


def resolution_words(resolution: str) -> str:
    """The resolution in plain words, for a resident."""
    words: dict[str, str] = {
        Resolution.COMPLETED: _("The work is done."),
        Resolution.DUPLICATE: _("Someone had already reported the same problem."),
        Resolution.NO_ACTION: _("We looked into it and found nothing the city needs to do."),
        Resolution.REFERRED: _("This is handled outside the city, so we passed it on."),
        Resolution.CANCELLED: _("The request was cancelled."),
    }
    return str(words.get(resolution, ""))


def survey_offered(delivery: Delivery) -> bool:
    event = delivery.event
    if event is None or delivery.follower.role == "department":
        return False
    if event.kind == events.PARENT_CLOSED:
        return True
    return event.kind == events.CLOSED and event.data.get("resolution") not in (
        Resolution.DUPLICATE,
        Resolution.CANCELLED,
    )


def context_for(delivery: Delivery) -> dict[str, Any]:
    follower: Follower = delivery.follower
    sr: ServiceRequest = delivery.request
    event: RequestEvent | None = delivery.event
    data = event.data if event else {}
    ctx: dict[str, Any] = {
        "sr": sr,
        "tracking_number": sr.tracking_number,
        "service_name": sr.service_type.service_name,
        "address": sr.address_string,
        "department": sr.department.name if sr.department else "",
        "due_at": timezone.localtime(sr.due_at) if sr.due_at else None,
        "public_url": public_url(sr),
        "note": event.note if event else "",
        "resolution": resolution_words(data.get("resolution", "")),
        "parent": data.get("parent", "") or data.get("duplicate_of", ""),
        "city_name": settings.CITY311_CITY_NAME,
        "city_phone": settings.CITY311_PHONE,
        "confirmed": follower.confirmed_at is not None,
        "confirm_url": site_url(tokens.confirm_path(follower)),
        "reason": data.get("reason", ""),
    }
    if survey_offered(delivery):
        assert event is not None
        survey = tokens.survey_path(follower, event)
        ctx["survey_url"] = site_url(survey)
        ctx["fixed_url"] = site_url(survey + "?fixed=yes")
        ctx["not_fixed_url"] = site_url(survey + "?fixed=no")
    return ctx


# The administrator's wordings, read at most this often by each process: a worker renders
# thousands of messages a minute, and an edit in the admin may take this long to show.
OVERRIDES_TTL = 30.0
_overrides: tuple[float, dict[tuple[str, str, int | None], dict[str, str]]] = (0.0, {})


def _all_overrides() -> dict[tuple[str, str, int | None], dict[str, str]]:
    global _overrides
    expires, found = _overrides
    if time.monotonic() >= expires:
        found = {
            (t.kind, t.language, t.service_type_id): {
                part: getattr(t, part) for part in PARTS if getattr(t, part).strip()
            }
            for t in MessageTemplate.objects.all()
        }
        _overrides = (time.monotonic() + OVERRIDES_TTL, found)
    return found


def forget_overrides() -> None:
    global _overrides
    _overrides = (0.0, {})


def _override(delivery: Delivery, language: str) -> dict[str, str]:
    """The administrator's wording: for this service type first, then for every type."""
    found = _all_overrides()
    key = (delivery.kind, language)
    return found.get((*key, delivery.request.service_type_id)) or found.get((*key, None)) or {}


def _part(delivery: Delivery, part: str, ctx: dict[str, Any], override: dict[str, str]) -> str:
    if part in override:
        return Template(override[part]).render(Context(ctx, autoescape=part == "html"))
    name = delivery.kind.replace(".", "_")
    return render_to_string(f"notifications/{name}/{_FILES[part]}", ctx)


def make_message(delivery: Delivery) -> Message:
    """Render a delivery's message in its follower's language."""
    follower = delivery.follower
    language = follower.language if follower.language in dict(settings.LANGUAGES) else "en"
    with translation.override(language):
        ctx = context_for(delivery)
        ctx["unsubscribe_url"] = site_url(tokens.unsubscribe_path(follower))
        override = _override(delivery, language)
        subject = " ".join(_part(delivery, "subject", ctx, override).split())
        text = _part(delivery, "text", ctx, override).strip()
        html = _part(delivery, "html", ctx, override).strip()
        sms = " ".join(_part(delivery, "sms", ctx, override).split())
        frame = {**ctx, "subject": subject, "body": text, "body_html": mark_safe(html), "sms": sms}
        return Message(
            subject=subject,
            text=render_to_string("notifications/frame.txt", frame).strip() + "\n",
            html=render_to_string("notifications/frame.html", frame),
            sms=" ".join(render_to_string("notifications/frame_sms.txt", frame).split()),
            unsubscribe_url=ctx["unsubscribe_url"],
        )
