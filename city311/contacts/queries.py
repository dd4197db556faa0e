"""Reads of contacts: the caller card."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.utils import timezone

from city311.catalog import cache as catalog_cache
from city311.contacts.models import Interaction
from city311.lib import phones
from city311.lib.distance import degrees_around, metres
from city311.notifications.models import Follower
from city311.servicerequests.access import requests_visible_to
from city311.servicerequests.models import ServiceRequest
from city311.servicerequests.vocabulary import Status

NEAR_M = 150  # "at or near the address": about a block
SHOWN = 10
REPORTED_CAP = 200


@dataclass
class CallerCard:
    phone: str  # E.164
    name: str = ""
    language: str = ""
    contacts: list[Interaction] = field(default_factory=list)
    open_requests: list[ServiceRequest] = field(default_factory=list)
    closed_requests: list[ServiceRequest] = field(default_factory=list)
    following: list[ServiceRequest] = field(default_factory=list)

    @property
    def phone_display(self) -> str:
        return phones.display(self.phone)

    @property
    def known(self) -> bool:
        return bool(self.contacts or self.open_requests or self.closed_requests or self.following)


def caller_card(phone: str, *, user: Any, exclude: int | None = None) -> CallerCard:
    """What the city knows of the caller at `phone` (E.164), as `user` may see it.

    Three reads, each starting from an index on the number: interaction_phone (contacts),
    sr_contact_phone (requests they reported, with their name and language) and
    follower_phone (requests they follow).
    `exclude` leaves out the contact in hand.
    """
    card = CallerCard(phone=phone)
    if not phone:
        return card
    earlier = Interaction.objects.filter(phone=phone)
    if exclude is not None:
        earlier = earlier.exclude(pk=exclude)
    card.contacts = list(
        earlier.select_related("service_type", "article", "request", "staff").order_by(
            "-started_at"
        )[:SHOWN]
    )
    visible = requests_visible_to(user).select_related("service_type", "department")
    # One read for every request the number reported, with its reporter's row (name,
    # language): a caller has a handful; the cap keeps a city's own test line cheap.
    reported = list(
        visible.filter(contact__phone=phone)
        .select_related("contact")
        .order_by("-requested_at")[:REPORTED_CAP]
    )
    unclosed = [sr for sr in reported if sr.status != Status.CLOSED]
    far = timezone.now() + timedelta(days=36500)
    card.open_requests = sorted(unclosed, key=lambda sr: sr.due_at or far)[:20]
    card.closed_requests = [sr for sr in reported if sr.status == Status.CLOSED][:SHOWN]
    followed = Follower.objects.filter(phone=phone, unsubscribed_at__isnull=True)
    mine = {sr.pk for sr in reported}
    also = visible.filter(pk__in=followed.values("request_id")).order_by("-requested_at")
    card.following = [sr for sr in also[: SHOWN + len(mine)] if sr.pk not in mine][:SHOWN]
    if reported:
        card.name = reported[0].contact.name
        card.language = reported[0].contact.language
    spoke = next((c.language for c in card.contacts if c.language), "")
    card.language = spoke or card.language
    return card


def open_requests_near(lat: float, long: float, *, user: Any) -> list[tuple[ServiceRequest, float]]:
    """Unclosed requests of any type within NEAR_M of the point, nearest first.

    Per type, through the partial index sr_unclosed_type_place (type, lat, long).
    """
    dlat, dlong = degrees_around(lat, NEAR_M)
    type_ids = [t.pk for t in catalog_cache.active_types(emergencies=False)]
    rows = (
        requests_visible_to(user)
        .exclude(status=Status.CLOSED)
        .filter(
            service_type_id__in=type_ids,
            lat__range=(lat - dlat, lat + dlat),
            long__range=(long - dlong, long + dlong),
        )
        .select_related("service_type")[:200]
    )
    near = [(sr, metres(lat, long, sr.lat, sr.long)) for sr in rows if sr.lat and sr.long]
    near = [(sr, d) for sr, d in near if d <= NEAR_M]
    near.sort(key=lambda pair: pair[1])
    return near[:SHOWN]
