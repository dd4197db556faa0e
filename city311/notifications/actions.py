"""Following requests, stopping, the survey, and planning who is told about an event."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import F, Max, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy
from django_q.tasks import async_task

from city311.lib import phones
from city311.lib.text import email_problem
from city311.notifications.models import (
    Delivery,
    DeliveryChannel,
    DeliveryStatus,
    Follower,
    Role,
    SurveyResponse,
)
from city311.servicerequests.actions import reopen_request
from city311.servicerequests.errors import RequestError, Text
from city311.servicerequests.models import (
    Channel,
    Contact,
    RequestEvent,
    Resolution,
    ServiceRequest,
)
from city311.servicerequests.vocabulary import Event

# The events residents hear about.
TELLS_FOLLOWERS = {
    Event.SUBMITTED,
    Event.ROUTED,
    Event.TRANSFERRED,
    Event.STARTED,
    Event.NOTE,
    Event.CLOSED,
    Event.REOPENED,
    Event.PARENT_CLOSED,
    Event.RESCHEDULED,
}
# The parent's news that also reaches the followers of requests merged into it. Its closing
# reaches them through the request.parent_closed event on their own request instead.
PASSED_TO_MERGED = {Event.ROUTED, Event.TRANSFERRED, Event.STARTED, Event.NOTE, Event.REOPENED}
# The events staff hear about, each naming its people in `data["recipients"]`: an escalation
# level reached, a work order a crew handed back (to give again).
TELLS_STAFF = {Event.ESCALATED, Event.WORK_ORDER_HANDED_BACK}
# Every kind the planner reads (department alerts and staff's news included).
PLANNED = TELLS_FOLLOWERS | TELLS_STAFF

# Twilio's opt-out and opt-in words (it blocks or unblocks the number itself on these), and
# Spanish ones for stopping.
STOP_WORDS = {
    "STOP",
    "STOPALL",
    "UNSUBSCRIBE",
    "CANCEL",
    "END",
    "QUIT",
    "REVOKE",
    "OPTOUT",
    "ALTO",
    "PARAR",
}
START_WORDS = {"START", "YES", "UNSTOP"}

# Others who hear from the city by text without following a request (the pickups' address
# subscriptions) stop and start with the number too: each app adds its (stop, start), taking
# the E.164 number, in its AppConfig.ready, so notifications imports none of them.
SMS_OPT_OUT_HOOKS: list[tuple[Callable[[str], int], Callable[[str], int]]] = []


def sms_number(stored: str) -> str:
    """A stored number that texts can reach, in E.164; "" for none (or one stored long ago
    that is not a number, or a landline a reporter left beside their e-mail address)."""
    try:
        return phones.for_texts(stored)
    except phones.PhoneError:
        return ""


def _create_once(lookup: Q, **fields: Any) -> Follower:
    """The follower matching `lookup`, creating it; two workers racing create one."""
    existing = Follower.objects.filter(lookup).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return Follower.objects.create(**fields)
    except IntegrityError:
        return Follower.objects.get(lookup)


# Following


def reporter_follows(sr: ServiceRequest, submitted: RequestEvent) -> Follower | None:
    """The reporter follows their request unless they said no or left no way to reach them.

    One channel (e-mail when they gave both) unless the submission's `wants_updates` is "both".
    """
    return _reporter_follows(sr, submitted, Contact.objects.filter(request=sr).first())


def _reporter_follows(
    sr: ServiceRequest, submitted: RequestEvent, contact: Contact | None
) -> Follower | None:
    """reporter_follows, with the request's contact read already (None: it left none)."""
    wants = submitted.data.get("wants_updates", True)
    if not wants or contact is None:
        return None
    email, phone = contact.email.strip(), sms_number(contact.phone)
    if not (email or phone):
        return None
    return _create_once(
        Q(request=sr, role=Role.REPORTER),
        request=sr,
        role=Role.REPORTER,
        email=email,
        phone=phone,
        language=contact.language,
        confirmed_at=timezone.now(),
        after_event_id=submitted.pk - 1,
        both_channels=wants == "both",
    )


def follow_request(
    sr: ServiceRequest,
    *,
    email: str = "",
    phone: str = "",
    language: str = "en",
    both: bool = False,
    by: User | None = None,
) -> Follower:
    """Anyone follows a request with an e-mail address, a phone number, or both.

    Messages go one way, by e-mail when both are given, unless `both` asks for every message
    both ways. They are sent one confirmation message. Someone signed up by city staff (an
    operator on the phone with them) follows at once; anyone else follows once they open the
    link in it. Following again with an address that already follows sends nothing; it only
    turns messages back on, and with `both`, on both ways (the reporter who wants texts too).
    """
    email, phone = checked_contact(
        email,
        phone,
        language,
        missing=gettext_lazy("Give an e-mail address or a phone number to hear about the request."),
    )
    if sr.is_closed:
        raise RequestError(
            gettext_lazy("Request %(number)s is closed, so there will be no more news about it."),
            code="closed",
            number=sr.tracking_number,
        )
    same = Q(request=sr) & ((Q(email=email) & ~Q(email="")) | (Q(phone=phone) & ~Q(phone="")))
    with transaction.atomic():
        existing = Follower.objects.filter(same).first()
        if existing is not None:
            return _follow_again(existing, email=email, phone=phone, both=both)
        now = timezone.now()
        latest = sr.events.aggregate(latest=Max("pk"))["latest"] or 0
        follower = _create_once(
            same,
            request=sr,
            role=Role.FOLLOWER,
            email=email,
            phone=phone,
            language=language,
            confirmed_at=now if by is not None and by.is_authenticated else None,
            after_event_id=latest,
            both_channels=both,
        )
        Delivery.objects.bulk_create(
            [
                Delivery(follower=follower, request=sr, kind="follow.confirm", channel=channel)
                for channel in follower.channels
            ],
            ignore_conflicts=True,
        )
        # robust: the follower is saved whatever happens here; if the queue cannot be reached,
        # the error is logged and the scheduled sender delivers the confirmation.
        transaction.on_commit(
            lambda: async_task("city311.notifications.tasks.send_to_follower", follower.pk),
            robust=True,
        )
    return follower


def _follow_again(follower: Follower, *, email: str, phone: str, both: bool) -> Follower:
    """Someone who follows follows again: messages back on, and maybe both of their ways.

    Never a new address: only the link in a first message proves an address is the follower's.
    """
    changed = []
    if follower.unsubscribed_at is not None:
        follower.unsubscribed_at = None
        changed.append("unsubscribed_at")
    # Following by phone alone while hearing by e-mail (the reporter who wants texts too), or
    # the other way round, asks for that way as well as the first.
    named = {DeliveryChannel.EMAIL.value} if email and not phone else set()
    named |= {DeliveryChannel.SMS.value} if phone and not email else set()
    if (both or not named <= set(follower.channels)) and not follower.both_channels:
        follower.both_channels = True
        changed.append("both_channels")
    if changed:
        follower.save(update_fields=changed)
    return follower


def checked_contact(email: str, phone: str, language: str, *, missing: Text) -> tuple[str, str]:
    """The e-mail address and texting number someone gave to hear from the city, cleaned;
    RequestError saying what to change when they are wrong, or `missing` when both are
    blank. Following a request and subscribing an address to its pickups share it."""
    email = (email or "").strip()
    problem = email_problem(email) if email else None
    if problem:
        raise RequestError(problem, code="invalid_email")
    try:
        number = phones.for_texts(phone)
    except phones.PhoneError as e:
        raise RequestError(e.message, code="invalid_phone") from None
    if not (email or number):
        raise RequestError(missing, code="required")
    if language not in dict(settings.LANGUAGES):
        raise RequestError(
            gettext_lazy("Choose a language from: %(languages)s."),
            code="invalid_language",
            languages=", ".join(dict(settings.LANGUAGES)),
        )
    return email, number


class Subscriber(Protocol):
    """What a request's follower and an address's pickup subscriber share: confirmed by the
    link of their first message, stopped by the link in every message, and an outbox of
    messages to them (`outgoing`) whose unsent rows a stop cancels, marked `stopped_detail`."""

    confirmed_at: datetime | None
    unsubscribed_at: datetime | None
    stopped_detail: str

    def save(self, *, update_fields: Iterable[str] | None = None) -> None: ...

    def outgoing(self) -> QuerySet[Any]: ...


S = TypeVar("S", bound=Subscriber)


def confirm(subscriber: S) -> S:
    """Their first message's link was opened: messages may go to them from now on."""
    if subscriber.confirmed_at is None:
        subscriber.confirmed_at = timezone.now()
        subscriber.save(update_fields=["confirmed_at"])
    return subscriber


def unsubscribe(subscriber: S) -> S:
    """Stop every message to them, including any not sent yet."""
    with transaction.atomic():
        if subscriber.unsubscribed_at is None:
            subscriber.unsubscribed_at = timezone.now()
            subscriber.save(update_fields=["unsubscribed_at"])
        subscriber.outgoing().filter(status=DeliveryStatus.PENDING).update(
            status=DeliveryStatus.CANCELLED, detail=subscriber.stopped_detail
        )
    return subscriber


def stop_sms(phone: str) -> int:
    """Someone replied STOP by SMS: no more texts to that number, on any request.

    A follower with an e-mail address too keeps hearing by e-mail, if that is how they hear.
    """
    number = phones.normalise_or_blank(phone)
    if not number:
        return 0
    with transaction.atomic():
        stopped = Follower.objects.filter(phone=number, sms_stopped_at__isnull=True)
        Delivery.objects.filter(
            follower__in=stopped, channel="sms", status=DeliveryStatus.PENDING
        ).update(status=DeliveryStatus.CANCELLED, detail="replied STOP")
        count = stopped.update(sms_stopped_at=timezone.now())
        return count + sum(stop(number) for stop, _start in SMS_OPT_OUT_HOOKS)


def start_sms(phone: str) -> int:
    """Someone replied START after a STOP: texts to that number again, where they followed.

    Only what STOP stopped comes back: a follower who also unsubscribed by link stays stopped.
    Messages cancelled in between are not sent late.
    """
    number = phones.normalise_or_blank(phone)
    if not number:
        return 0
    count = Follower.objects.filter(phone=number, sms_stopped_at__isnull=False).update(
        sms_stopped_at=None
    )
    return count + sum(start(number) for _stop, start in SMS_OPT_OUT_HOOKS)


def handle_inbound_sms(phone: str, body: str) -> str:
    """An SMS sent to the city's number: "stop", "start", or "" for anything else."""
    word = body.strip().upper()
    if word in STOP_WORDS:
        stop_sms(phone)
        return "stop"
    if word in START_WORDS:
        start_sms(phone)
        return "start"
    return ""


# The survey


def survey_request(event: RequestEvent) -> ServiceRequest:
    """The request a survey is about: the one that closed, or the parent a merged one followed."""
    if event.kind == Event.PARENT_CLOSED:
        parent = ServiceRequest.objects.filter(tracking_number=event.data.get("parent")).first()
        if parent is not None:
            return parent
    return event.request


def answer_survey(
    follower: Follower,
    event: RequestEvent,
    *,
    fixed: bool | None,
    satisfaction: int | None = None,
    comment: str = "",
) -> SurveyResponse:
    """Record an answer; "not fixed" within the reopen window reopens the request."""
    if satisfaction is not None and not 1 <= satisfaction <= 5:
        raise RequestError(
            gettext_lazy("Choose how satisfied you are from 1 to 5."), code="out_of_range"
        )
    sr = survey_request(event)
    comment = comment.strip()
    with transaction.atomic():
        response, _ = SurveyResponse.objects.select_for_update().get_or_create(
            follower=follower, event=event, defaults={"request": sr}
        )
        response.fixed = fixed
        response.satisfaction = satisfaction
        response.comment = comment
        response.answered_at = timezone.now()
        if fixed is False and not response.reopened and sr.can_reopen():
            reason = "The resident answered the survey: not fixed."
            if comment:
                reason += f" “{comment}”"
            reopen_request(sr, reason=reason, by=None)
            response.reopened = True
        response.save()
    return response


# Planning the messages of an event


def tells_followers(event: RequestEvent) -> bool:
    sr = event.request
    if event.kind not in TELLS_FOLLOWERS or sr.channel == Channel.IMPORT:
        return False
    if event.data.get("imported"):
        return False
    if event.kind == Event.NOTE and not event.public:
        return False
    # Routing at intake is told in the "received" message; only a later change of hands is news.
    return not (event.kind == Event.ROUTED and event.at == sr.requested_at)


def _department_follower(sr: ServiceRequest) -> Follower | None:
    department = sr.department
    if department is None or not department.email:
        return None
    return _create_once(
        Q(request=sr, role=Role.DEPARTMENT, email=department.email),
        request=sr,
        role=Role.DEPARTMENT,
        email=department.email,
        department=department,
        confirmed_at=timezone.now(),
    )


def _department_kind(event: RequestEvent) -> str:
    sr = event.request
    if event.kind in (Event.SUBMITTED, Event.TRANSFERRED) and sr.urgent:
        return "department.urgent"
    # Reopened by nobody on the staff: a resident through the survey.
    if event.kind == Event.REOPENED and event.actor_id is None:
        return "department.reopened"
    return ""


def plan_deliveries(event: RequestEvent) -> int:
    """Write the deliveries an event calls for. Idempotent: run it as often as you like."""
    return plan_many([event])


def plan_many(planned: Sequence[RequestEvent]) -> int:
    """Write the deliveries of several events with a few queries, whatever their number.

    The events need their request (and its department) loaded. In id order, so a reporter
    who starts following on "submitted" hears of the later events in the same batch.
    Idempotent, like plan_deliveries: the unique constraints drop rows written before.
    """
    planned = sorted(planned, key=lambda e: e.pk)
    submitted = [
        e for e in planned if e.kind == Event.SUBMITTED and e.request.channel != Channel.IMPORT
    ]
    if submitted:
        # One read for the batch's contacts: most reports through an API leave none.
        contacts = {
            c.request_id: c
            for c in Contact.objects.filter(request__in=[e.request_id for e in submitted])
        }
        for event in submitted:
            _reporter_follows(event.request, event, contacts.get(event.request_id))
    telling = [event for event in planned if tells_followers(event)]
    candidates = _followers_of(telling)
    rows: list[Delivery] = []
    for event in telling:
        rows += _follower_rows(event, candidates)
    for event in planned:
        kind = _department_kind(event)
        department = _department_follower(event.request) if kind else None
        if department is not None:
            rows.append(
                Delivery(
                    follower=department,
                    request=event.request,
                    event=event,
                    kind=kind,
                    channel="email",
                )
            )
    for event in planned:
        if event.kind in TELLS_STAFF:
            rows += _staff_rows(event)
    Delivery.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def _staff_rows(event: RequestEvent) -> list[Delivery]:
    """Staff's news by e-mail to each person the event names, or to the department's mailbox
    when it names nobody. One per person and event (an escalation's level, a hand-back)."""
    sr = event.request
    people = User.objects.filter(pk__in=event.data.get("recipients") or [], is_active=True)
    followers = [
        _create_once(
            Q(request=sr, role=Role.STAFF, email=person.email),
            request=sr,
            role=Role.STAFF,
            email=person.email,
            confirmed_at=timezone.now(),
        )
        for person in people.exclude(email="").order_by("pk")
    ]
    if not followers:
        department = _department_follower(sr)
        followers = [department] if department is not None else []
    return [
        Delivery(follower=f, request=sr, event=event, kind=event.kind, channel="email")
        for f in followers
    ]


def _followers_of(telling: list[RequestEvent]) -> dict[int, list[Follower]]:
    """Active residents following the events' requests, or requests merged into them.

    By request id; a follower of a merged request is listed under its parent too.
    """
    found: dict[int, list[Follower]] = defaultdict(list)
    if not telling:
        return found
    active = Follower.objects.active().filter(role__in=[Role.REPORTER, Role.FOLLOWER])
    for follower in active.filter(request_id__in={e.request_id for e in telling}):
        found[follower.request_id].append(follower)
    parents = {e.request_id for e in telling if e.kind in PASSED_TO_MERGED}
    if parents:
        merged = active.filter(
            request__duplicate_of_id__in=parents, request__resolution=Resolution.DUPLICATE
        ).annotate(parent_id=F("request__duplicate_of_id"))
        for follower in merged:
            found[follower.parent_id].append(follower)  # type: ignore[attr-defined]
    return found


def _follower_rows(event: RequestEvent, candidates: dict[int, list[Follower]]) -> list[Delivery]:
    merged_too = event.kind in PASSED_TO_MERGED
    followers = [
        f
        for f in candidates.get(event.request_id, [])
        if f.after_event_id < event.pk and (merged_too or f.request_id == event.request_id)
    ]
    rows = []
    seen: set[tuple[str, str]] = set()
    for follower in sorted(followers, key=lambda f: f.pk):
        for channel in follower.channels:
            # One message per address, even when it follows the request and a merged one.
            if (channel, follower.address(channel)) in seen:
                continue
            seen.add((channel, follower.address(channel)))
            rows.append(
                Delivery(
                    follower=follower,
                    request_id=event.request_id,
                    event=event,
                    kind=event.kind,
                    channel=channel,
                )
            )
    return rows
