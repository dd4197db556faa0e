"""E-mail to 311: what happens to each message received (docs/email-intake.md).

`receive(raw)` is the one way in, whether the bytes came from the IMAP mailbox (`fetch_mail`,
run by the scheduler and by `city311 fetch_mail`) or the SMTP listener (`city311 mail_listener`).

1. A message seen before (same Message-ID) is not handled again.
2. Mail sent by a machine (auto-replies, bounces, lists) is set aside: nothing is created or
   reopened, ever.
3. A reply (Message-ID / In-Reply-To / References, or a tracking number in the subject) is added
   to its request's history, internal unless staff publish it; it never reopens the request.
4. Likely spam is quarantined until a call taker releases it.
5. A new message becomes an e-mail interaction in the call takers' queue with the suggested type
   and place; it is filed at once only when both are certain.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from city311.catalog import search
from city311.contacts import actions as contacts
from city311.contacts.models import Kind, WrapUp
from city311.geo.locate import LocationProblem, locate
from city311.intake import mailack
from city311.intake.mailparse import ParsedMail, parse, strip_quoted
from city311.intake.models import InboundMail, MailFile, MailStatus
from city311.notifications.models import Delivery
from city311.servicerequests import actions
from city311.servicerequests.errors import SubmissionInvalid
from city311.servicerequests.intake import preview, submit_request
from city311.servicerequests.models import Channel, ServiceRequest
from city311.servicerequests.validation import Submission

log = logging.getLogger(__name__)

SPAM_AT = 5.0
_SPAM_WORDS = re.compile(
    r"\b(viagra|casino|crypto|bitcoin|lottery|winner|prize|loan|wire transfer|"
    r"click here|unsubscribe|100% free|act now|limited offer|seo)\b",
    re.I,
)
_LINK = re.compile(r"https?://", re.I)
_TRACKING = re.compile(r"(?<![\d-])(\d{3}-\d{4}-\d{3})(?![\d-])")
_OUR_ID = re.compile(r"<delivery-(\d+)@")
_ADDRESS = re.compile(
    r"\b\d{1,6}[A-Z]?\s+(?:[NSEW]\.?\s+)?[A-Za-z0-9'. ]{2,40}?\s"
    r"(?:St|Street|Ave|Avenue|Rd|Road|Blvd|Boulevard|Pl|Place|Dr|Drive|Ln|Lane|Way|Ct|Court|"
    r"Pkwy|Parkway|Ter|Terrace|Hwy|Highway)\b\.?",
    re.I,
)
# Larger files are dropped (the message itself is kept).
MAX_FILE_BYTES = 15_000_000
PHOTO_TYPES = {"image/jpeg", "image/png", "image/webp", "image/gif", "image/heic"}


def receive(raw: bytes, *, at: datetime | None = None) -> InboundMail:
    """Handle one message as received; returns what it became. Never raises for bad mail."""
    parsed = parse(raw)
    if parsed.message_id:
        seen = InboundMail.objects.filter(message_id=parsed.message_id).first()
        if seen is not None:
            return seen
    mail = InboundMail(
        message_id=parsed.message_id[:255],
        in_reply_to=" ".join(parsed.thread_ids)[:2000],
        sender=parsed.sender[:254],
        subject=parsed.subject,
        full_text=parsed.text[:20000],
        received_at=at or timezone.now(),
    )
    try:
        with transaction.atomic():
            mail.status = MailStatus.WAITING
            mail.save()
            _keep_files(mail, parsed)
    except IntegrityError:
        # The same message from the other inbound path, at the same moment.
        return InboundMail.objects.get(message_id=parsed.message_id)
    if parsed.automatic:
        _set(mail, MailStatus.AUTOMATIC, reason=parsed.automatic)
        log.info("mail %s set aside: %s", mail.pk, parsed.automatic)
        return mail
    sr = thread_of(parsed)
    if sr is not None:
        return _add_reply(mail, parsed, sr)
    waiting_parent = _waiting_parent(parsed)
    if waiting_parent is not None:
        return _join(mail, parsed, waiting_parent)
    mail.text = parsed.text.strip()[:10000] or strip_quoted(parsed.text)
    score, reasons = spam_score(parsed)
    mail.spam_score = score
    if score >= SPAM_AT:
        _set(mail, MailStatus.QUARANTINED, reason=", ".join(reasons)[:200])
        log.info("mail %s quarantined (score %.1f)", mail.pk, score)
        return mail
    return _new(mail, parsed)


def _set(mail: InboundMail, status: str, *, reason: str = "") -> None:
    mail.status, mail.reason = status, reason
    mail.save()


def _keep_files(mail: InboundMail, parsed: ParsedMail) -> None:
    MailFile.objects.bulk_create(
        MailFile(
            mail=mail,
            filename=a.filename,
            content_type=a.content_type[:100],
            data=a.data,
            size=len(a.data),
        )
        for a in parsed.attachments
        if len(a.data) <= MAX_FILE_BYTES
    )


# Threading -----------------------------------------------------------------------------------


def thread_of(parsed: ParsedMail) -> ServiceRequest | None:
    """The request this message answers: by the messages it replies to (ours or the earlier
    mail of the thread), else by a tracking number in its subject."""
    ids = parsed.thread_ids
    if ids:
        for message_id in ids:
            ours = _OUR_ID.match(message_id)
            if ours and message_id.endswith(f"@{settings.CITY311_MAIL_DOMAIN.lower()}>"):
                delivery = Delivery.objects.filter(pk=int(ours.group(1))).only("request").first()
                if delivery is not None:
                    return delivery.request
        earlier = (
            InboundMail.objects.filter(message_id__in=ids, request__isnull=False)
            .select_related("request")
            .first()
        )
        if earlier is not None:
            return earlier.request
    for number in _TRACKING.findall(parsed.subject):
        sr = ServiceRequest.objects.filter(tracking_number=number).first()
        if sr is not None:
            return sr
    return None


def _add_reply(mail: InboundMail, parsed: ParsedMail, sr: ServiceRequest) -> InboundMail:
    mail.text = strip_quoted(parsed.text)[:10000]
    mail.request = sr
    label = "E-mail"
    note = mail.text or "(an e-mail with no text of its own)"
    with transaction.atomic():
        actions.add_note(sr, text=note[: actions.MAX_NOTE], public=False, by=None)
        event = sr.events.order_by("-id").first()
        if event is not None:
            event.actor_label = label
            event.save(update_fields=["actor_label"])
            mail.event_id_recorded = event.pk
        now = timezone.now()
        mail.interaction = contacts.record_interaction(
            channel=Channel.EMAIL,
            kind=Kind.STATUS_CHECK,
            wrap_up=WrapUp.FOLLOWED_EXISTING,
            email=mail.sender,
            started_at=mail.received_at,
            ended_at=max(now, mail.received_at),
            request=sr,
        )
        _set(mail, MailStatus.THREADED)
        _attach_photos(mail, sr)
    return mail


def _waiting_parent(parsed: ParsedMail) -> InboundMail | None:
    """An earlier message of the thread still waiting in the queue (no request yet): a reply
    from someone in CC, or the sender adding a detail, joins it rather than queueing twice."""
    if not parsed.thread_ids:
        return None
    return (
        InboundMail.objects.filter(message_id__in=parsed.thread_ids, status=MailStatus.WAITING)
        .order_by("received_at")
        .first()
    )


def _join(mail: InboundMail, parsed: ParsedMail, parent: InboundMail) -> InboundMail:
    mail.text = strip_quoted(parsed.text)[:10000]
    with transaction.atomic():
        parent = InboundMail.objects.select_for_update().get(pk=parent.pk)
        if mail.text:
            parent.text = f"{parent.text}\n\n---\n{mail.text}"[:20000]
            parent.save(update_fields=["text"])
        _set(mail, MailStatus.THREADED, reason=f"joined message {parent.pk}")
    return mail


def publish(mail: InboundMail, *, by: actions.Actor) -> InboundMail:
    """Staff make a reply part of the request's public history (it was internal)."""
    if mail.status != MailStatus.THREADED or mail.request is None or mail.published:
        return mail
    actions.add_note(mail.request, text=mail.text[: actions.MAX_NOTE] or "-", public=True, by=by)
    mail.published = True
    mail.save(update_fields=["published"])
    return mail


# Spam ----------------------------------------------------------------------------------------


def spam_score(parsed: ParsedMail) -> tuple[float, list[str]]:
    """A simple score: the receiving server's verdicts, links and spammy words."""
    h = parsed.headers
    score, reasons = 0.0, list[str]()
    results = (h.get("authentication-results", "") + " " + h.get("received-spf", "")).lower()
    if re.search(r"\bspf=(fail|softfail)\b|^\s*(fail|softfail)\b", results):
        score, reasons = score + 3, [*reasons, "SPF failed"]
    if re.search(r"\bdkim=fail\b", results):
        score, reasons = score + 2, [*reasons, "DKIM failed"]
    if re.search(r"\bdmarc=fail\b", results):
        score, reasons = score + 2, [*reasons, "DMARC failed"]
    if h.get("x-spam-flag", "").strip().upper() == "YES":
        score, reasons = score + 5, [*reasons, "marked as spam upstream"]
    links = len(_LINK.findall(parsed.text))
    if links >= 3:
        score, reasons = score + min(links, 6) * 0.5, [*reasons, f"{links} links"]
    words = {w.lower() for w in _SPAM_WORDS.findall(parsed.subject + " " + parsed.text)}
    if words:
        score, reasons = score + 1.5 * len(words), [*reasons, "spam words"]
    return score, reasons


def release(mail: InboundMail, *, by: actions.Actor) -> InboundMail:
    """A call taker says a quarantined message is real: it joins the queue like any other."""
    if mail.status != MailStatus.QUARANTINED:
        return mail
    raw_parsed = ParsedMail(
        message_id=mail.message_id,
        in_reply_to=[],
        references=[],
        sender=mail.sender,
        sender_name="",
        recipients=[],
        subject=mail.subject,
        text=mail.full_text,
    )
    return _new(mail, raw_parsed)


# New messages --------------------------------------------------------------------------------


def _new(mail: InboundMail, parsed: ParsedMail) -> InboundMail:
    words = f"{parsed.subject}\n{mail.text}"
    suggestion = search.suggest(words, limit=3)
    service_type = suggestion.types[0][0] if suggestion.types else None
    address = found_address(words)
    located = None
    if address:
        try:
            located = locate(lat=None, long=None, address_string=address)
        except LocationProblem:
            located = None
    mail.service_type = service_type
    mail.address_string = (located.address if located and located.address else address)[:255]
    mail.interaction = contacts.start_interaction(
        channel=Channel.EMAIL, email=mail.sender, at=mail.received_at, answered=False
    )
    mail.status, mail.reason = MailStatus.WAITING, ""
    mail.save()
    certain = (
        service_type is not None
        and suggestion.sure
        and located is not None
        and located.lat is not None
        and not located.to_verify
        and located.in_city
    )
    if certain:
        assert service_type is not None
        _file(mail, service_type.service_code)
    if mail.status == MailStatus.WAITING:
        transaction.on_commit(lambda: mailack.acknowledge(mail))
    return mail


def found_address(text: str) -> str:
    match = _ADDRESS.search(text)
    return " ".join(match.group(0).split()) if match else ""


def _file(mail: InboundMail, service_code: str) -> ServiceRequest | None:
    """File the request directly: only when its form needs nothing more than we have."""
    sub = Submission(
        service_code=service_code,
        channel=Channel.EMAIL,
        description=mail.text[:4000] or mail.subject,
        address_string=mail.address_string,
        email=mail.sender,
        application="e-mail",
    )
    photos = _photos(mail)
    found = preview(sub, photos=photos, duplicates=0, idempotency_key=mail.message_id)
    if not found.ok or found.triage.emergency:
        return None
    try:
        sr = submit_request(
            sub,
            photos=photos,
            idempotency_key=mail.message_id or f"mail-{mail.pk}",
            previewed=found,
        )
    except SubmissionInvalid:
        return None
    filed(mail, sr)
    return sr


def filed(mail: InboundMail, sr: ServiceRequest, *, by: actions.Actor = None) -> None:
    """The message became request `sr` (filed directly, or by a call taker)."""
    mail.request, mail.status = sr, MailStatus.FILED
    mail.save(update_fields=["request", "status"])
    if mail.interaction is not None and not mail.interaction.kind:
        contacts.answer_interaction(mail.interaction, by=by)
        contacts.end_interaction(mail.interaction, kind=Kind.NEW_REQUEST, request=sr, by=by)


def _photos(mail: InboundMail) -> list[ContentFile[bytes]]:
    return [
        ContentFile(bytes(f.data), name=f.filename)
        for f in mail.files.all()
        if f.content_type in PHOTO_TYPES
    ][:5]


def _attach_photos(mail: InboundMail, sr: ServiceRequest) -> None:
    from city311.servicerequests import attachments

    photos = _photos(mail)
    if not photos:
        return
    try:
        cleaned = attachments.clean_photos(photos)
    except attachments.MediaInvalid:
        return
    with attachments.unless_committed() as written:
        for photo in cleaned:
            attachments.attach(sr, photo, written=written)


def waiting() -> list[InboundMail]:
    """The queue: new messages and the quarantine, oldest first. Messages a call taker took
    and wrapped up in the console (their interaction ended) leave it, with the request filed."""
    for item in (
        InboundMail.objects.filter(status=MailStatus.WAITING, interaction__isnull=False)
        .exclude(interaction__kind="")
        .select_related("interaction")
    ):
        assert item.interaction is not None
        item.request_id = item.interaction.request_id
        item.status = MailStatus.FILED if item.request_id else MailStatus.CLOSED
        item.save(update_fields=["request", "status"])
    return list(
        InboundMail.objects.filter(status__in=[MailStatus.WAITING, MailStatus.QUARANTINED])
        .select_related("service_type")
        .order_by("received_at")[:200]
    )
