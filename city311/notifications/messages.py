"""What a message says: one `make_message` renders every kind, in the follower's language.

Each kind has four parts under templates/notifications/<kind>/: subject.txt, body.txt, body.html
(e-mail) and sms.txt. An administrator may replace any part per kind, language and service type
with a MessageTemplate. The frame around the body (tracking number, link to the request's page,
how to stop) is added here, so no wording can leave it out.
"""

from __future__ import annotations

import time
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.conf import settings
from django.template import Context, Template
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from city311.cities import profile
from city311.lib.context import city as city_context
from city311.notifications import tokens
from city311.notifications.models import Delivery, DeliveryChannel, Follower, MessageTemplate
from city311.servicerequests import sla
from city311.servicerequests.expected import expected_words
from city311.servicerequests.models import RequestEvent, Resolution, ServiceRequest
from city311.servicerequests.vocabulary import Event, resolution_words, typed_in_another_language

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


def survey_offered(delivery: Delivery) -> bool:
    event = delivery.event
    if event is None or delivery.follower.role == "department":
        return False
    if event.kind == Event.PARENT_CLOSED:
        return True
    return event.kind == Event.CLOSED and event.data.get("resolution") not in (
        Resolution.DUPLICATE,
        Resolution.CANCELLED,
    )


def context_for(delivery: Delivery, language: str) -> dict[str, Any]:
    """What a message's templates can say; catalog names in `language` where the catalog has
    them."""
    follower: Follower = delivery.follower
    sr: ServiceRequest = delivery.request
    event: RequestEvent | None = delivery.event
    data = event.data if event else {}
    ctx: dict[str, Any] = {
        "sr": sr,
        "tracking_number": sr.tracking_number,
        "service_name": sr.service_type.translated("service_name", language),
        "address": sr.address_string,
        "department": sr.department.translated("name", language) if sr.department else "",
        "due_at": timezone.localtime(sr.due_at, profile.zone()) if sr.due_at else None,
        "public_url": public_url(sr),
        "note": event.note if event else "",
        # The closer's words stay as typed: in another language they are labelled as theirs,
        # after the city's own words for the resolution.
        "crew_words": bool(
            event and event.kind == Event.CLOSED and typed_in_another_language(data, language)
        ),
        "resolution": resolution_words(data.get("resolution", "")),
        "parent": data.get("parent", "") or data.get("duplicate_of", ""),
        **city_context(),
        "confirmed": follower.confirmed_at is not None,
        "confirm_url": site_url(tokens.confirm_path(follower)),
        "reason": data.get("reason", ""),
        "expected": expected_words(sr, language),
    }
    if event is not None and event.kind == Event.ESCALATED:
        # For staff: how late it is, why it is due when it is, and the work page.
        ctx["percent"] = data.get("percent", 100)
        # Told to the administrators because nobody of the department could be.
        ctx["unreached"] = bool(data.get("unreached"))
        ctx["due_words"] = str(sla.explain_due(sr))
        ctx["work_url"] = site_url(reverse("work:detail", args=[sr.tracking_number]))
    if event is not None and event.kind == Event.WORK_ORDER_HANDED_BACK:
        # For the supervisors: which work order came back, from whom, and the work page.
        number = int(data.get("work_order") or 0)
        ctx["work_order"] = number
        ctx["work_order_title"] = (
            sr.work_orders.filter(number=number).values_list("title", flat=True).first() or ""
        )
        ctx["handed_back_by"] = event.who or _("The crew")
        ctx["work_url"] = site_url(reverse("work:detail", args=[sr.tracking_number]))
    if event is not None and event.kind == Event.RESCHEDULED:
        # The old and new day of an appointment the city moved, and why in this language.
        ctx["old_day"] = date.fromisoformat(data["from"])
        ctx["new_day"] = date.fromisoformat(data["to"])
        reasons = data.get("reasons") or {}
        ctx["reason"] = reasons.get(language) or reasons.get("en", "")
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
    """Render a delivery's message in its follower's language: the parts its channel sends
    (subject, text and HTML for e-mail; the SMS text for SMS), the others left empty."""
    follower = delivery.follower
    language = follower.language if follower.language in dict(settings.LANGUAGES) else "en"
    with translation.override(language), timezone.override(profile.zone()):
        ctx = context_for(delivery, language)
        ctx["unsubscribe_url"] = site_url(tokens.unsubscribe_path(follower))
        override = _override(delivery, language)
        if delivery.channel == DeliveryChannel.SMS:
            sms = _sms(delivery, ctx, override)
            return Message(subject="", text="", html="", sms=sms, unsubscribe_url="")
        subject = " ".join(_part(delivery, "subject", ctx, override).split())
        text = _part(delivery, "text", ctx, override).strip()
        html = _part(delivery, "html", ctx, override).strip()
        frame = {**ctx, "subject": subject, "body": text, "body_html": mark_safe(html)}
        return Message(
            subject=subject,
            text=render_to_string("notifications/frame.txt", frame).strip() + "\n",
            html=render_to_string("notifications/frame.html", frame),
            sms="",
            unsubscribe_url=ctx["unsubscribe_url"],
        )


# SMS


# An SMS longer than this many segments is shortened: 459 characters of the GSM alphabet, or
# 201 when it needs any other character (then the whole text goes as UCS-2).
SMS_MAX_SEGMENTS = 3
# What a long SMS loses first, in this order, until it fits. Never the tracking number or the
# link to the request's page (the frame adds that), nor "Reply STOP".
SMS_SHORTENED = ("note", "reason", "address", "department", "service_name", "resolution")
# Links cannot be shortened, only left out.
SMS_DROPPED = ("survey_url",)
_GSM = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Characters of the GSM alphabet's extension table: two units each.
_GSM_EXTENDED = set("^{}\\[~]|€\f")


def sms_segments(text: str) -> int:
    """How many segments an SMS of this text is sent as."""
    if all(c in _GSM or c in _GSM_EXTENDED for c in text):
        units, single, part = sum(2 if c in _GSM_EXTENDED else 1 for c in text), 160, 153
    else:
        # UCS-2: a character beyond the Basic Multilingual Plane (an emoji) takes two units.
        units, single, part = sum(2 if ord(c) > 0xFFFF else 1 for c in text), 70, 67
    return 1 if units <= single else -(-units // part)


def _sms(delivery: Delivery, ctx: dict[str, Any], override: dict[str, str]) -> str:
    """The SMS: its wording in the frame (the link, how to stop), at most SMS_MAX_SEGMENTS.

    A text too long loses, in turn: the accents the GSM alphabet lacks (á becomes a, so the
    text counts 459 characters instead of 201), then the parts in SMS_SHORTENED, then the
    survey link, then the end of the wording; never the tracking number or the request's link.
    """
    plain = False

    def render(values: dict[str, Any], body: str | None = None) -> str:
        if body is None:
            body = " ".join(_part(delivery, "sms", values, override).split())
        framed = render_to_string("notifications/frame_sms.txt", {**values, "sms": body})
        text = " ".join(framed.split())
        return gsm_plain(text) if plain else text

    text = render(ctx)
    if sms_segments(text) <= SMS_MAX_SEGMENTS:
        return text
    plain = True
    text = render(ctx)
    values = dict(ctx)
    for name in SMS_SHORTENED + SMS_DROPPED:
        while sms_segments(text) > SMS_MAX_SEGMENTS and values.get(name):
            value = str(values[name])
            over = max(1, len(text) - _sms_fits(text))
            keep = len(value) - over - 3 if name in SMS_SHORTENED else 0
            values[name] = value[:keep].rstrip() + "..." if keep > 0 else ""
            text = render(values)
    # Wording too long even without those (an administrator's): cut it, and keep the number.
    body = " ".join(_part(delivery, "sms", values, override).split())
    number = ctx["tracking_number"]
    while sms_segments(text) > SMS_MAX_SEGMENTS and body:
        over = max(1, len(text) - _sms_fits(text))
        body = body[: max(0, len(body) - over - 3)].rstrip()
        cut = body + "..." if body else ""
        text = render(values, cut if number in cut else f"{number}: {cut}")
    return text


# Look-alikes in the GSM alphabet for common characters outside it.
_GSM_LOOKALIKES = {
    "\u2018": "'",  # left and right single quotation marks
    "\u2019": "'",
    "\u201c": '"',  # left and right double quotation marks
    "\u201d": '"',
    "\u2013": "-",  # en and em dashes
    "\u2014": "-",
    "\u2026": "...",  # ellipsis
}


def gsm_plain(text: str) -> str:
    """`text` with the characters the GSM alphabet lacks replaced by plain ones where they
    have one (á → a, “ → ")."""
    out = []
    for c in text:
        if c not in _GSM and c not in _GSM_EXTENDED:
            base = unicodedata.normalize("NFD", c)[0]
            c = _GSM_LOOKALIKES.get(c) or (base if base in _GSM else c)
        out.append(c)
    return "".join(out)


def _sms_fits(text: str) -> int:
    """Roughly how many characters of `text` fit in SMS_MAX_SEGMENTS."""
    if all(c in _GSM or c in _GSM_EXTENDED for c in text):
        return 153 * SMS_MAX_SEGMENTS - sum(1 for c in text if c in _GSM_EXTENDED)
    return 67 * SMS_MAX_SEGMENTS
