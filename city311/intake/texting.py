"""Reporting and checking by text: a short conversation over Twilio SMS.

A resident texts what is wrong; the city answers with the type it understood (or the 911
answer), asks where, offers open requests nearby to follow, and files through the one intake
(`servicerequests.intake`) with the tracking number as the last reply. A text that is only a
tracking number is answered with the request's status. Each text is kept by Twilio's MessageSid,
so a re-delivery gets the same reply and files nothing twice. A conversation with no reply for
EXPIRE_AFTER is dropped, and the resident is told so the next time they write.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import pgettext_lazy

from city311.catalog.models import Datatype, ServiceAttribute, ServiceType
from city311.catalog.search import suggest
from city311.contacts import hours as call_centre
from city311.contacts.actions import record_interaction
from city311.contacts.models import Kind, WrapUp
from city311.geo import geocoding
from city311.intake.models import InboundText, TextConversation, TextStep
from city311.lib import phones
from city311.notifications.actions import follow_request
from city311.open311 import media
from city311.servicerequests.errors import NoSuchRequest, SubmissionInvalid
from city311.servicerequests.intake import preview, submit_request
from city311.servicerequests.models import Channel, ServiceRequest
from city311.servicerequests.queries import get_by_tracking_number
from city311.servicerequests.tracking import DIGITS
from city311.servicerequests.validation import Submission
from city311.servicerequests.vocabulary import status_words
from city311.triage import prompts as triage

EXPIRE_AFTER = timedelta(minutes=30)
# How sure a geocoder answer must be to be taken without asking again.
SURE_PLACE = 0.6
OFFERED = 2

# Every reply, worded in the resident's language (read from their words) through the
# catalogue (city311/locale): Spanish is in the .po file like every other string.
TEXTS: dict[str, str | Promise] = {
    "emergency": pgettext_lazy(
        "text message",
        "This may be an emergency: call {phone} now. Texts to 311 are not watched live.",
    ),
    "what": pgettext_lazy(
        "text message",
        "Tell us in a few words what is wrong, for example: pothole on my street.",
    ),
    "choose": pgettext_lazy("text message", "Which is it? {options} Reply with the number."),
    "where": pgettext_lazy(
        "text message",
        "Report: {type}. Where? Reply with the address or two cross streets. "
        "(Reply NO if it is something else.)",
    ),
    "not_found": pgettext_lazy(
        "text message",
        "We could not find that place. Reply with a house number and street, or two cross "
        "streets (Main St and 1st Ave).",
    ),
    "duplicates": pgettext_lazy(
        "text message",
        "Already reported near there: {options} Reply 1 or 2 to follow one of these, or NEW.",
    ),
    # No words of its own: the question and its choices are the catalog's, in its language.
    "question": "{question} {options}",
    "reply_number": pgettext_lazy("text message", "Reply with the number."),
    "filed": pgettext_lazy(
        "text message",
        "Thank you. Your tracking number is {number}: {url} We will text you updates.",
    ),
    "photo_received": pgettext_lazy(
        "text message", "We received your photo and will add it to the report."
    ),
    "followed": pgettext_lazy(
        "text message", "You now follow {number} ({status}): {url} We will text you updates."
    ),
    "status": "{number}: {status}. {url}",
    "no_such": pgettext_lazy(
        "text message", "No request has the number {number}. Check the digits."
    ),
    "typo": pgettext_lazy(
        "text message",
        "{number} is not a tracking number: a digit is wrong. Check it and send it again.",
    ),
    "expired": pgettext_lazy(
        "text message",
        "Your earlier report was not filed: it waited over 30 minutes for a reply.",
    ),
    "problem": pgettext_lazy(
        "text message", "We could not file it: {problem} Reply to correct it, or call 311."
    ),
}
# The words that start a new report when nearby ones are offered, in either language.
NEW_WORDS = {"new", "nuevo", "nueva", "0"}

_SPANISH_WORDS = set(
    "hay una calle bache baches arbol basura esquina favor hola del esta roto rota que nuevo "
    "nueva frente farola luz agua fuga con para casa mi el los las semaforo caido caida acera "
    "hoyo grande tirada perro ruido coche carro estado mis cerca".split()
)
_TRACKING_SHAPE = re.compile(rf"^[\s#\-.]*(\d[\d\s\-.]{{{DIGITS - 3},}}\d)[\s.]*$")


@dataclass(frozen=True)
class Inbound:
    sid: str
    phone: str
    body: str
    media_url: str = ""


def say(key: str, language: str, **values: object) -> str:
    with translation.override(language):
        return str(TEXTS[key]).format(**values)


def plain(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in folded if not unicodedata.combining(c))


def language_of(text: str, default: str = "en") -> str:
    """ "es" when the words are Spanish, else `default` (digits and addresses say nothing)."""
    if any(c in text for c in "ñ¿¡"):
        return "es"
    words = re.findall(r"[a-z]+", plain(text))
    spanish = sum(w in _SPANISH_WORDS for w in words)
    if spanish >= 1 and spanish * 3 >= len(words):
        return "es"
    if len(words) >= 3 and spanish == 0:
        return "en"
    return default


def receive(message: Inbound) -> str:
    """The reply to one text; the same reply for a re-delivered MessageSid, with nothing redone."""
    if message.sid:
        earlier = InboundText.objects.filter(message_sid=message.sid).first()
        if earlier is not None:
            return earlier.reply
    phone = phones.normalise_or_blank(message.phone)
    try:
        with transaction.atomic():
            kept = InboundText.objects.create(message_sid=message.sid or _no_sid())
            conversation, reply = _answer(phone, message)
            kept.conversation, kept.reply = conversation, reply
            kept.save(update_fields=["conversation", "reply"])
    except IntegrityError:
        # Twilio re-delivered while the first delivery was being answered.
        return InboundText.objects.get(message_sid=message.sid).reply
    return reply


def _no_sid() -> str:
    return f"none-{timezone.now().timestamp()}-{id(object())}"


def _answer(phone: str, message: Inbound) -> tuple[TextConversation | None, str]:
    body = message.body.strip()
    now = timezone.now()
    current = (
        TextConversation.objects.select_for_update()
        .filter(phone=phone)
        .exclude(step__in=[TextStep.DONE, TextStep.EXPIRED])
        .order_by("-updated_at")
        .first()
        if phone
        else None
    )
    before = ""
    if current is not None and now - current.updated_at > EXPIRE_AFTER:
        current.step = TextStep.EXPIRED
        current.save(update_fields=["step"])
        before = say("expired", current.language) + " "
        current = None
    if _TRACKING_SHAPE.match(body) and (current is None or current.step != TextStep.WHERE):
        language = current.language if current else language_of(body)
        return current, before + status_reply(phone, body, language)
    if current is None:
        language = language_of(body)
        current = TextConversation(phone=phone, language=language, started_at=now)
    else:
        current.language = language_of(body, current.language)
    current.messages += 1
    current.updated_at = now
    if message.media_url and not current.media_url:
        current.media_url = message.media_url[:500]
    with translation.override(current.language):
        reply = _step(current, body)
    if (
        current.step == TextStep.WHAT
        and not current.description
        and not current.media_url
        and current.pk is None
    ):
        # Nothing to remember (an emergency answered, or words we could not read); a photo
        # sent before the words is kept for the report that follows.
        return None, before + reply
    current.save()
    return current, before + reply


def _step(c: TextConversation, body: str) -> str:
    word = plain(body).strip(" .!")
    if c.step == TextStep.WHAT and c.choices:
        return _pick_type(c, word)
    if c.step == TextStep.WHAT:
        return _what(c, body)
    if c.step == TextStep.WHERE:
        if word in {"no", "not that"}:
            c.step, c.service_code, c.description = TextStep.WHAT, "", ""
            return say("what", c.language)
        return _where(c, body)
    if c.step == TextStep.DUPLICATE:
        return _duplicate(c, word)
    if c.step == TextStep.QUESTION:
        return _question(c, body)
    return say("what", c.language)


def _what(c: TextConversation, body: str) -> str:
    if not body:
        return say("what", c.language)
    found = triage.check(body, channel="sms", language=c.language)
    if found.emergency:
        advice = triage.advice(found)
        return say("emergency", c.language, phone=advice.emergency_phone or "911")
    suggestion = suggest(body, limit=3)
    if not suggestion.types:
        return say("what", c.language)
    c.description = body[:2000]
    if suggestion.sure or len(suggestion.types) == 1:
        return _type_chosen(c, suggestion.types[0][0])
    c.choices = [t.service_code for t, _score in suggestion.types]
    options = " ".join(
        f"{i}) {t.translated('service_name', c.language)}"
        for i, (t, _s) in enumerate(suggestion.types, 1)
    )
    return say("choose", c.language, options=options)


def _pick_type(c: TextConversation, word: str) -> str:
    if word.isdigit() and 1 <= int(word) <= len(c.choices):
        service_type = ServiceType.objects.filter(service_code=c.choices[int(word) - 1]).first()
        if service_type is not None:
            c.choices = []
            return _type_chosen(c, service_type)
    return say("reply_number", c.language)


def _type_chosen(c: TextConversation, service_type: ServiceType) -> str:
    c.service_code = service_type.service_code
    if not service_type.location_required:
        return _next_question_or_file(c)
    c.step = TextStep.WHERE
    return say("where", c.language, type=service_type.translated("service_name", c.language))


def _where(c: TextConversation, body: str) -> str:
    candidates = [x for x in geocoding.geocode(body[:200], limit=3) if x.match != "street"]
    if not candidates or candidates[0].confidence < SURE_PLACE:
        return say("not_found", c.language)
    best = candidates[0]
    c.address_string, c.lat, c.long = best.address, best.lat, best.long
    c.location_match, c.location_confidence = best.match, best.confidence
    found = preview(_submission(c), duplicates=OFFERED)
    if found.problems_of(["lat", "long", "address_string", "location"]):
        c.address_string, c.lat, c.long = "", None, None
        problem = found.problems_of(["lat", "long", "address_string", "location"])[0]
        return say("problem", c.language, problem=str(problem))
    if found.duplicates:
        c.offered = [sr.tracking_number for sr, _distance in found.duplicates[:OFFERED]]
        c.step = TextStep.DUPLICATE
        options = " ".join(
            f"{i}) {sr.service_type.translated('service_name', c.language)}, "
            f"{sr.address_string or ''}, {status_words(sr.status, sr.resolution)}."
            for i, (sr, _d) in enumerate(found.duplicates[:OFFERED], 1)
        )
        return say("duplicates", c.language, options=options)
    return _next_question_or_file(c)


def _duplicate(c: TextConversation, word: str) -> str:
    if word in NEW_WORDS:
        return _next_question_or_file(c)
    if word.isdigit() and 1 <= int(word) <= len(c.offered):
        sr = ServiceRequest.objects.get(tracking_number=c.offered[int(word) - 1])
        follow_request(sr, phone=c.phone, language=c.language)
        c.step, c.request = TextStep.DONE, sr
        _log(c, Kind.NEW_REQUEST, WrapUp.FOLLOWED_EXISTING, sr)
        followed = say(
            "followed",
            c.language,
            number=sr.tracking_number,
            status=status_words(sr.status, sr.resolution),
            url=_url(sr),
        )
        return with_people(followed, c.language)
    return say("duplicates", c.language, options="")


def _required_unanswered(c: TextConversation) -> ServiceAttribute | None:
    return (
        ServiceAttribute.objects.filter(service_type__service_code=c.service_code, required=True)
        .exclude(code__in=list(c.answers))
        .prefetch_related("values")
        .order_by("order", "pk")
        .first()
    )


def _question(c: TextConversation, body: str) -> str:
    attribute = _required_unanswered(c)
    if attribute is None:
        return _next_question_or_file(c)
    if attribute.datatype in (Datatype.SINGLEVALUELIST, Datatype.MULTIVALUELIST):
        values = list(attribute.values.all())
        word = plain(body).strip(" .")
        if not (word.isdigit() and 1 <= int(word) <= len(values)):
            return _ask(c, attribute)
        key = values[int(word) - 1].key
        c.answers[attribute.code] = [key] if attribute.datatype == Datatype.MULTIVALUELIST else key
    else:
        c.answers[attribute.code] = body[:500]
    return _next_question_or_file(c)


def _ask(c: TextConversation, attribute: ServiceAttribute) -> str:
    c.step = TextStep.QUESTION
    values = list(attribute.values.all())
    options = " ".join(f"{i}) {v.translated('name', c.language)}" for i, v in enumerate(values, 1))
    if options:
        options += " " + say("reply_number", c.language)
    question = attribute.translated("description", c.language)
    return say("question", c.language, question=question, options=options)


def _next_question_or_file(c: TextConversation) -> str:
    attribute = _required_unanswered(c)
    if attribute is not None:
        return _ask(c, attribute)
    return _file(c)


def _submission(c: TextConversation) -> Submission:
    return Submission(
        service_code=c.service_code,
        channel=Channel.SMS,
        description=c.description,
        lat=c.lat,
        long=c.long,
        address_string=c.address_string,
        location_match=c.location_match,
        location_confidence=c.location_confidence,
        answers=dict(c.answers),
        phone=c.phone,
        language=c.language,
    )


def _file(c: TextConversation) -> str:
    if c.pk is None:
        c.save()
    try:
        sr = submit_request(_submission(c), idempotency_key=f"sms-conversation-{c.pk}")
    except SubmissionInvalid as e:
        first = next(iter(e.problems.values()))[0] if e.problems else ""
        return say("problem", c.language, problem=str(first))
    c.step, c.request = TextStep.DONE, sr
    _log(c, Kind.NEW_REQUEST, WrapUp.FILED, sr)
    reply = say("filed", c.language, number=sr.tracking_number, url=_url(sr))
    if c.media_url:
        # Twilio's link is private (it needs the account's credentials): fetched in the
        # background, cleaned like any photo; if it never comes, staff are told, with the link.
        media.fetch_texted_photo(sr, c.media_url)
        reply += " " + say("photo_received", c.language)
    return with_people(reply, c.language)


def status_reply(phone: str, body: str, language: str) -> str:
    """The answer to a text that is a tracking number."""
    digits = re.sub(r"\D", "", body)
    with translation.override(language):
        try:
            sr = get_by_tracking_number(digits)
        except NoSuchRequest as e:
            if e.code == "not_a_tracking_number":
                return say("typo", language, number=digits)
            return say("no_such", language, number=digits)
        now = timezone.now()
        record_interaction(
            channel=Channel.SMS,
            kind=Kind.STATUS_CHECK,
            started_at=now,
            ended_at=now,
            phone=phone,
            language=language,
            request=sr,
        )
        reply = say(
            "status",
            language,
            number=sr.tracking_number,
            status=status_words(sr.status, sr.resolution),
            url=_url(sr),
        )
    return with_people(reply, language)


def with_people(reply: str, language: str) -> str:
    """A conversation's last reply (filed, followed, a status) ends with whether a person
    answers the phones now, and if not when people are back and what works meanwhile."""
    with translation.override(language):
        return f"{reply} {call_centre.availability().text}"


def _log(c: TextConversation, kind: str, wrap_up: str, sr: ServiceRequest) -> None:
    record_interaction(
        channel=Channel.SMS,
        kind=kind,
        wrap_up=wrap_up,
        started_at=c.started_at,
        ended_at=timezone.now(),
        phone=c.phone,
        language=c.language,
        request=sr,
        service_type=sr.service_type,
    )


def _url(sr: ServiceRequest) -> str:
    path = reverse("portal:request", args=[sr.tracking_number])
    return settings.CITY311_SITE_URL.rstrip("/") + path
