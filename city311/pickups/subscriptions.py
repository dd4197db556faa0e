"""Subscriptions by address: a resident is told when the pickups at their address change.

Anyone may subscribe an address to its pickup changes (a snow day, a moved or extra day, a
route's new rule), with or without a booking. The consent rules are those of following a
request (city311.notifications): the first message asks them to confirm by its link, and
nothing else is sent until they do (staff signing a caller up confirm at once); every message
carries a stop link (GET asks, POST stops, as mail programs' one-click unsubscribe does); a
number that replies STOP to the city's number gets no more texts, START brings them back.

Messages are rows of an outbox of their own (`SubscriptionNotice`, city311.lib.outbox),
planned in the transaction of the change that causes them (`tell_subscribers`) and sent by
`send_notices` on the task workers (`NoticeSender`, the outbox's one send loop) through the
notifications' transports, with the deliveries' retries and dead letter. A change is told once
per subscriber and channel (the outbox's unique key). The message lists the address's next
collections as the engine gives them when it is sent.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.html import escape, linebreaks
from django.utils.translation import gettext, gettext_lazy
from django_q.tasks import async_task

from city311.cities import profile
from city311.geo.models import AddressPoint
from city311.lib import outbox
from city311.lib.context import city as city_context
from city311.notifications import tokens
from city311.notifications.actions import checked_contact
from city311.notifications.actions import confirm as confirm
from city311.notifications.actions import unsubscribe as unsubscribe
from city311.notifications.channels import Transport, transport_for
from city311.notifications.messages import Message, site_url
from city311.notifications.tasks import policy
from city311.pickups.lookup import upcoming
from city311.pickups.models import (
    AddressRoute,
    AddressSubscription,
    NoticeKind,
    Route,
    SubscriptionNotice,
)

CLAIM = 20


def _link_days(setting: str) -> tokens.Lifetime:
    return lambda values, sent: sent + timedelta(days=getattr(settings, setting))


STOP = tokens.LinkKind(
    "city311.pickups.subscription.stop",
    "pickups:subscription_stop",
    _link_days("CITY311_LINK_UNSUBSCRIBE_DAYS"),
)
CONFIRM = tokens.LinkKind(
    "city311.pickups.subscription.confirm",
    "pickups:subscription_confirm",
    _link_days("CITY311_LINK_CONFIRM_DAYS"),
)


# Subscribing. Confirming and stopping are one code for a request's follower and an address's
# subscriber: notifications.actions' confirm and unsubscribe, imported above.


def subscribe(
    point: AddressPoint,
    *,
    email: str = "",
    phone: str = "",
    language: str = "en",
    by: AbstractBaseUser | AnonymousUser | None = None,
) -> AddressSubscription:
    """Subscribe an e-mail address or a phone number to the address's pickup changes.

    One way: by e-mail when both are given. A confirmation goes out at once; nothing else
    until its link is opened, unless city staff signed them up. Subscribing again while
    subscribed sends nothing; after a stop, it asks to confirm again."""
    email, phone = checked_contact(
        email,
        phone,
        language,
        missing=gettext_lazy("Give an e-mail address or a phone number to hear of pickup changes."),
    )
    if email:
        phone = ""
    same = Q(address=point) & (Q(email=email) if email else Q(phone=phone))
    staff = by is not None and by.is_authenticated
    with transaction.atomic():
        subscription = AddressSubscription.objects.filter(same).first()
        if subscription is not None and subscription.unsubscribed_at is None:
            return subscription
        if subscription is not None:
            # They stopped: back on only once they confirm again (anyone can type an
            # address into the form), unless staff signed them up.
            subscription.unsubscribed_at = None
            subscription.confirmed_at = timezone.now() if staff else None
            subscription.save(update_fields=["unsubscribed_at", "confirmed_at"])
        else:
            try:
                with transaction.atomic():
                    subscription = AddressSubscription.objects.create(
                        address=point,
                        email=email,
                        phone=phone,
                        language=language,
                        confirmed_at=timezone.now() if staff else None,
                    )
            except IntegrityError:  # the same person twice at once: one subscription
                return AddressSubscription.objects.get(same)
        if subscription.confirmed_at is None:
            # The key: a second confirmation after a stop is a message of its own.
            asked_before = subscription.notices.filter(kind=NoticeKind.CONFIRM).exists()
            again = f"again-{timezone.now().isoformat()}" if asked_before else ""
            SubscriptionNotice.objects.bulk_create(
                [
                    SubscriptionNotice(
                        subscription=subscription, kind=NoticeKind.CONFIRM, change=again, channel=c
                    )
                    for c in subscription.channels
                ],
                ignore_conflicts=True,
            )
            _send_after_commit()
    return subscription


def stop_sms(number: str) -> int:
    """The number replied STOP (notifications.actions.stop_sms): no texts to it."""
    with transaction.atomic():
        stopped = AddressSubscription.objects.filter(phone=number, sms_stopped_at__isnull=True)
        SubscriptionNotice.objects.filter(
            subscription__in=stopped, channel="sms", status=outbox.OutboxStatus.PENDING
        ).update(status=outbox.OutboxStatus.CANCELLED, detail="replied STOP")
        return stopped.update(sms_stopped_at=timezone.now())


def start_sms(number: str) -> int:
    """START after a STOP: texts again, where the number subscribed (not what was missed)."""
    return AddressSubscription.objects.filter(phone=number, sms_stopped_at__isnull=False).update(
        sms_stopped_at=None
    )


# Telling subscribers of a change


def tell_subscribers(
    routes: Iterable[Route] | None,
    *,
    change: str,
    reasons: dict[str, str],
    addresses: Iterable[int] | None = None,
) -> int:
    """Plan a notice of `change` to every confirmed subscriber of an address on the routes
    (every route: None), or of the `addresses` given. Call in the change's transaction; sent
    after it commits. Idempotent per `change` key: planning it again writes nothing."""
    subscribers = _confirmed()
    if addresses is not None:
        subscribers = subscribers.filter(address_id__in=list(addresses))
    if routes is not None:
        on_routes = AddressRoute.objects.filter(route__in=list(routes)).values("address_id")
        subscribers = subscribers.filter(address_id__in=on_routes)
    rows = [
        SubscriptionNotice(
            subscription=s, kind=NoticeKind.CHANGE, change=change[:80], reasons=reasons, channel=c
        )
        for s in subscribers.only("email", "phone", "sms_stopped_at")
        for c in s.channels
    ]
    SubscriptionNotice.objects.bulk_create(rows, batch_size=1_000, ignore_conflicts=True)
    if rows:
        _send_after_commit()
    return len(rows)


def routes_of_subscribed() -> dict[int, frozenset[int]]:
    """{address id: its route ids} for every address a confirmed subscriber follows: read
    before the addresses are mapped again, so `tell_remapped` knows whose routes changed."""
    found: dict[int, set[int]] = {}
    followed = _confirmed().values("address_id")
    for address_id, route_id in AddressRoute.objects.filter(address_id__in=followed).values_list(
        "address_id", "route_id"
    ):
        found.setdefault(address_id, set()).add(route_id)
    addresses = _confirmed().values_list("address_id", flat=True).distinct()
    return {a: frozenset(found.get(a, ())) for a in addresses}


def tell_remapped(before: dict[int, frozenset[int]], *, change: str) -> int:
    """Plan a notice to every confirmed subscriber of an address whose routes are not those of
    `before` (routes_of_subscribed, read before the remap), naming its new route; the notice
    lists its new days. Call in the remap's transaction."""
    after = routes_of_subscribed()
    moved: dict[frozenset[int], list[int]] = {}
    for address_id, routes in after.items():
        if before.get(address_id, routes) != routes:
            moved.setdefault(routes, []).append(address_id)
    planned = 0
    for route_ids, addresses in moved.items():
        names = ", ".join(Route.objects.filter(pk__in=route_ids).values_list("name", flat=True))
        planned += tell_subscribers(
            None,
            addresses=addresses,
            change=f"{change}-{'-'.join(str(r) for r in sorted(route_ids))}",
            reasons=_remapped_reasons(names),
        )
    return planned


def _remapped_reasons(names: str) -> dict[str, str]:
    reasons = {}
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            if names:
                reasons[language] = gettext(
                    "The city redrew its collection routes: your address is now on the "
                    "%(route)s route."
                ) % {"route": names}
            else:
                reasons[language] = gettext(
                    "The city redrew its collection routes: no route collects at your address now."
                )
    return reasons


def _confirmed() -> QuerySet[AddressSubscription]:
    return AddressSubscription.objects.filter(
        confirmed_at__isnull=False, unsubscribed_at__isnull=True
    )


def _send_after_commit() -> None:
    # robust: the rows are saved whatever happens here; the sweep sends them if the queue
    # cannot be reached now.
    transaction.on_commit(
        lambda: async_task("city311.pickups.subscriptions.send_notices"), robust=True
    )


# Sending


def send_notices(limit: int = 10_000) -> int:
    """Claim and send due notices, a few at a time; the number sent. One connection per
    channel for the whole run, closed at its end. A backlog too long for one task is left to
    a new task queued behind the others."""
    outbox.release_stale(SubscriptionNotice.objects.all(), policy())
    transports: dict[str, Transport] = {}
    try:
        sent, more = NoticeSender(transports).send_due(limit)
    finally:
        for transport in transports.values():
            transport.close()
    if more:
        async_task("city311.pickups.subscriptions.send_notices")
    return sent


class NoticeSender(outbox.Sender[SubscriptionNotice]):
    """Notices through the notifications' transports (city311.lib.outbox.Sender), retried by
    the deliveries' policy. A channel whose server does not answer gets no more tries in this
    task: its notices wait for their backoff."""

    model = SubscriptionNotice
    noun = "Pickup notice"
    claim_size = CLAIM

    def __init__(self, transports: dict[str, Transport]) -> None:
        self.transports = transports

    def due(self, down: set[Hashable]) -> QuerySet[SubscriptionNotice]:
        rows = SubscriptionNotice.objects.exclude(channel__in=down)
        return rows.select_related("subscription__address")

    def destination(self, notice: SubscriptionNotice) -> str:
        return notice.channel

    def policy(self) -> outbox.Policy:
        return policy()

    def attempt(self, notice: SubscriptionNotice) -> str:
        subscription, channel = notice.subscription, notice.channel
        if subscription.unsubscribed_at is not None or channel not in subscription.channels:
            raise outbox.Cancel("unsubscribed")
        if notice.kind == NoticeKind.CHANGE and subscription.confirmed_at is None:
            raise outbox.Cancel("not confirmed")
        if channel not in self.transports:
            self.transports[channel] = transport_for(channel)
        message = make_notice(notice)
        contact = subscription.contact(channel)
        return self.transports[channel].send(contact, message, key=f"pickup-notice-{notice.pk}")


def make_notice(notice: SubscriptionNotice, now: datetime | None = None) -> Message:
    """A notice in its subscriber's language: subject, text and HTML for e-mail, or a text."""
    subscription = notice.subscription
    language = subscription.language if subscription.language in dict(settings.LANGUAGES) else "en"
    name = f"pickups/notice_{notice.kind}"
    with translation.override(language), timezone.override(profile.zone()):
        ctx = _context(notice, language, now or timezone.now())
        if notice.channel == "sms":
            sms = " ".join(render_to_string(f"{name}/sms.txt", ctx).split())
            return Message(subject="", text="", html="", sms=sms, unsubscribe_url="")
        subject = " ".join(render_to_string(f"{name}/subject.txt", ctx).split())
        text = render_to_string(f"{name}/body.txt", ctx).strip() + "\n"
        html = linebreaks(escape(text))
        return Message(
            subject=subject, text=text, html=html, sms="", unsubscribe_url=ctx["stop_url"]
        )


def _context(notice: SubscriptionNotice, language: str, now: datetime) -> dict[str, Any]:
    subscription = notice.subscription
    point = subscription.address
    label = " ".join(p for p in (point.number, point.street) if p).strip()
    today = now.astimezone(profile.zone()).date()
    found = upcoming(lat=point.lat, long=point.long, address_pk=point.pk, today=today)
    return {
        **city_context(),
        "address": label,
        "reason": notice.reasons.get(language) or notice.reasons.get("en", ""),
        "collections": [
            {
                "name": u.collection.translated("name", language),
                "days": [p for p in u.pickups if not p.cancelled],
            }
            for u in found
        ],
        "lookup_url": site_url(f"/pickups/?address_id={point.source_id}"),
        "confirm_url": site_url(tokens.make(CONFIRM, s=subscription.pk)),
        "stop_url": site_url(tokens.make(STOP, s=subscription.pk)),
    }


def opened(
    kind: tokens.LinkKind, token: str
) -> tuple[tokens.Link | None, AddressSubscription | None]:
    """The link and its subscription; (None, None) when we did not make it."""
    link = tokens.read(kind, token)
    if link is None:
        return None, None
    found = AddressSubscription.objects.select_related("address").filter(pk=link.values.get("s", 0))
    return link, found.first()
