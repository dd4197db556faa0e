"""Open311 forwarding: file requests on another GeoReport v2 server, and bring its news back.

`handle_events` is the "forwarding" consumer of the event stream: a filed request of a type
(or department) with a forwarding rule becomes a `ForwardedRequest` outbox row. The sender
(`send_due_forwards`, the consumer's `then` and the sweep) posts it to `<base>requests.json`
as any Open311 client does (form-encoded, JSON answer), keeps the remote service_request_id
and records an internal "forwarded" event with the link; a server that is down or answers 5xx
is tried again after the backoff (CITY311_FORWARD_*), a 4xx refusal is a dead letter at once,
with the server's words.

`poll_forwarded` (the sweep, every minute) reads each server's `servicerequestupdates.json`
from a little before where it last read, and turns each new update about one of our forwards
into public history here (`add_remote_update`); an update whose status is closed closes the
request here with the remote's note, once. A server without that feed (404) is read through
`requests.json?service_request_id=...` instead, its status changes being the updates.

What is sent is what Open311 would publish, plus the answers to the type's questions: never
the reporter's name, e-mail or phone. Every request goes through the outbound guard
(lib/outbound.py): a server on the city's own network is reached only when an administrator
marked its rule so; a redirect is followed only to a public address.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Sequence
from datetime import timedelta
from typing import Any

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django_q.tasks import async_task

from city311.forwarding.models import ForwardedRequest, Forwarding
from city311.lib import outbound, outbox
from city311.lib.outbox import OutboxStatus
from city311.servicerequests import actions
from city311.servicerequests.models import Channel, RequestEvent, Resolution

log = logging.getLogger(__name__)

CLAIM = 10
SEND_SECONDS = 20.0
# Each look at a server's updates starts this long before the last one ended: an update
# written there while we read is not missed (update ids make reading it twice harmless).
OVERLAP = timedelta(minutes=5)
# A server's updates feed is read for at most this window (city311's never cuts up to 7 days).
MAX_WINDOW = timedelta(days=7)
IDS_PER_GET = 50
# Remote statuses (Open311's and FixMyStreet's words) that mean it is closed there, and how.
CLOSED = {
    "closed": Resolution.COMPLETED,
    "fixed": Resolution.COMPLETED,
    "duplicate": Resolution.COMPLETED,
    "no_further_action": Resolution.NO_ACTION,
    "not_councils_responsibility": Resolution.REFERRED,
    "internal_referral": Resolution.REFERRED,
}


def policy() -> outbox.Policy:
    schedule = tuple(settings.CITY311_FORWARD_RETRY_SCHEDULE)
    return outbox.Policy(
        max_attempts=settings.CITY311_FORWARD_MAX_ATTEMPTS,
        retry_seconds=schedule[0],
        retry_max_seconds=schedule[-1],
        lease_seconds=settings.CITY311_WEBHOOK_LEASE_SECONDS,
        schedule=schedule,
        jitter=settings.CITY311_WEBHOOK_JITTER_PERCENT / 100,
    )


def _timeout() -> tuple[float, float]:
    seconds = settings.CITY311_WEBHOOK_TIMEOUT_SECONDS
    return (min(seconds, 5), seconds)


def handle_events(events: Sequence[RequestEvent]) -> int:
    """The forwarding consumer: one forward per filed request and rule that applies to it."""
    rules = list(Forwarding.objects.filter(active=True))
    if not rules:
        return 0
    rows = [
        ForwardedRequest(forwarding=rule, request=event.request)
        for event in events
        if event.request.channel != Channel.IMPORT
        for rule in rules
        if rule.applies_to(event.request) and event.at >= rule.created_at
    ]
    ForwardedRequest.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def send_due_forwards(limit: int = 1000) -> int:
    """Post every forward that is due; how many the other servers took."""
    with outbound.Client() as client:
        sent, more = ForwardSender(client).send_due(limit)
    if more:
        async_task("city311.forwarding.tasks.send_due_forwards")
    return sent


class ForwardSender(outbox.Sender[ForwardedRequest]):
    """Forwards to their servers (city311.lib.outbox.Sender). A server that does not answer,
    or answers 5xx or 429, is tried again on the schedule and gets no more tries in this task;
    a refusal (4xx, or an answer that is no GeoReport answer) is a dead letter at once."""

    model = ForwardedRequest
    noun = "Forward"
    claim_size = CLAIM
    seconds = SEND_SECONDS

    def __init__(self, client: outbound.Client) -> None:
        self.client = client

    def due(self, down: set[Hashable]) -> QuerySet[ForwardedRequest]:
        rows = ForwardedRequest.objects.filter(forwarding__active=True)
        return rows.exclude(forwarding__in=down).select_related(
            "forwarding", "request__service_type"
        )

    def destination(self, forward: ForwardedRequest) -> int:
        return forward.forwarding_id

    def policy(self) -> outbox.Policy:
        return policy()

    def attempt(self, forward: ForwardedRequest) -> str:
        """Post it; the remote id (or token) it was given is kept on `forward` for `sent`."""
        rule = forward.forwarding
        with outbound.answer_or_try_later():
            response = self.client.post(
                rule.url("requests.json"),
                internal=rule.internal,
                data=request_fields(forward),
                timeout=_timeout(),
            )
        if response.status_code >= 500 or response.status_code == 429:
            raise outbox.TryLater(f"HTTP {response.status_code}", down=True)
        answer = _json(response)
        if response.status_code >= 400 or not isinstance(answer, list) or not answer:
            # Refused (a code it does not know, a missing answer): trying again will not help.
            raise outbox.GiveUp(f"HTTP {response.status_code}: {_describe(answer)}"[:300])
        first = answer[0] if isinstance(answer[0], dict) else {}
        forward.remote_id = str(first.get("service_request_id") or "")
        forward.token = str(first.get("token") or "")
        return f"HTTP {response.status_code}"

    def sent(self, forward: ForwardedRequest, detail: str) -> bool:
        rule = forward.forwarding
        with transaction.atomic():
            if not outbox.mark_sent(forward, detail):
                return False
            forward.save(update_fields=["remote_id", "token"])
            actions.record_forwarded(
                forward.request,
                to=rule.name,
                remote_id=forward.remote_id or forward.token,
                link=forward.link,
            )
        Forwarding.objects.filter(pk=rule.pk).update(last_success_at=timezone.now(), last_error="")
        return True

    def failed(self, forward: ForwardedRequest, error: str) -> None:
        Forwarding.objects.filter(pk=forward.forwarding_id).update(last_error=error[:300])


def request_fields(forward: ForwardedRequest) -> dict[str, Any]:
    """The GeoReport v2 POST: the request as a client files it, without the reporter."""
    sr, rule = forward.request, forward.forwarding
    fields: dict[str, Any] = {
        "service_code": rule.remote_service_code or sr.service_type.service_code,
        "description": sr.description,
        "address_string": sr.address_string,
    }
    if sr.lat is not None and sr.long is not None:
        fields |= {"lat": sr.lat, "long": sr.long}
    if rule.api_key:
        fields["api_key"] = rule.api_key
    if rule.jurisdiction_id:
        fields["jurisdiction_id"] = rule.jurisdiction_id
    if sr.media_url:
        fields["media_url"] = sr.media_url
    for code, value in (sr.answers or {}).items():
        if isinstance(value, list):
            fields[f"attribute[{code}][]"] = [str(v) for v in value]
        elif value not in (None, ""):
            fields[f"attribute[{code}]"] = str(value)
    return {k: v for k, v in fields.items() if v not in ("", None)}


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _describe(answer: Any) -> str:
    """What a server's error answer says ([{"code": 400, "description": "..."}])."""
    if isinstance(answer, list) and answer and isinstance(answer[0], dict):
        return str(answer[0].get("description") or "")
    return "not a GeoReport answer"


def watching(rule: Forwarding) -> QuerySet[ForwardedRequest]:
    return ForwardedRequest.objects.filter(
        forwarding=rule, status=OutboxStatus.SENT, remote_closed=False
    ).select_related("request", "forwarding")


def poll_forwarded() -> int:
    """Read every server's news of our open forwards; how many updates were recorded."""
    recorded = 0
    with outbound.Client() as client:
        for rule in Forwarding.objects.filter(active=True):
            forwards = {f.remote_id: f for f in watching(rule) if f.remote_id}
            _resolve_tokens(rule, client)
            if not forwards:
                continue
            try:
                recorded += _poll(rule, forwards, client)
            except (requests.RequestException, ValueError) as e:
                detail = str(e) if isinstance(e, outbound.Refused) else type(e).__name__
                error = f"updates: {detail}"[:300]
                Forwarding.objects.filter(pk=rule.pk).update(last_error=error)
                log.warning("Could not read the updates of %s: %s", rule.name, error)
    return recorded


def _resolve_tokens(rule: Forwarding, client: outbound.Client) -> None:
    """Forwards answered with a token only: ask the server for the id it has given since."""
    for forward in watching(rule).filter(remote_id="").exclude(token=""):
        try:
            response = client.get(
                rule.url(f"tokens/{forward.token}.json"), internal=rule.internal, timeout=_timeout()
            )
        except requests.RequestException:
            return
        answer = _json(response)
        if response.ok and isinstance(answer, list) and answer and isinstance(answer[0], dict):
            remote_id = str(answer[0].get("service_request_id") or "")
            if remote_id:
                forward.remote_id = remote_id
                forward.save(update_fields=["remote_id"])


def _poll(rule: Forwarding, forwards: dict[str, ForwardedRequest], client: outbound.Client) -> int:
    now = timezone.now()
    oldest = min(f.sent_at or now for f in forwards.values())
    start = max((rule.polled_upto or oldest) - OVERLAP, now - MAX_WINDOW)
    params = {"start_date": start.isoformat(), "end_date": now.isoformat()}
    if rule.api_key:
        params["api_key"] = rule.api_key
    if rule.jurisdiction_id:
        params["jurisdiction_id"] = rule.jurisdiction_id
    response = client.get(
        rule.url("servicerequestupdates.json"),
        internal=rule.internal,
        params=params,
        timeout=_timeout(),
    )
    if response.status_code == 404:
        recorded = _poll_requests(rule, forwards, client)
    else:
        response.raise_for_status()
        updates = _json(response)
        if not isinstance(updates, list):
            raise ValueError("not a list of updates")
        recorded = sum(_take(forwards, u) for u in updates if isinstance(u, dict))
    Forwarding.objects.filter(pk=rule.pk).update(
        polled_upto=now, last_success_at=timezone.now(), last_error=""
    )
    return recorded


def _poll_requests(
    rule: Forwarding, forwards: dict[str, ForwardedRequest], client: outbound.Client
) -> int:
    """A server with no updates feed: its requests' statuses, a change being an update."""
    recorded = 0
    ids = list(forwards)
    for i in range(0, len(ids), IDS_PER_GET):
        params = {"service_request_id": ",".join(ids[i : i + IDS_PER_GET])}
        if rule.api_key:
            params["api_key"] = rule.api_key
        response = client.get(
            rule.url("requests.json"), internal=rule.internal, params=params, timeout=_timeout()
        )
        response.raise_for_status()
        for row in _json(response) or []:
            if not isinstance(row, dict):
                continue
            status = str(row.get("status") or "")
            update = {
                "service_request_id": row.get("service_request_id"),
                "update_id": f"status:{status}:{row.get('updated_datetime') or ''}",
                "status": status,
                "description": row.get("status_notes") or "",
                "updated_datetime": row.get("updated_datetime"),
            }
            forward = forwards.get(str(update["service_request_id"]))
            if forward is not None and status != forward.remote_status:
                recorded += _take(forwards, update)
    return recorded


def _take(forwards: dict[str, ForwardedRequest], update: dict[str, Any]) -> int:
    """Record one remote update if it is about one of ours and new; 1 when recorded."""
    forward = forwards.get(str(update.get("service_request_id") or ""))
    update_id = str(update.get("update_id") or "")
    if forward is None or not update_id or update_id in forward.seen:
        return 0
    status = str(update.get("status") or "").lower()
    closes = CLOSED.get(status, "")
    data = {
        "remote_id": forward.remote_id,
        "update_id": update_id,
        "remote_status": status,
        "remote_at": update.get("updated_datetime"),
    }
    with transaction.atomic():
        locked = ForwardedRequest.objects.select_for_update().get(pk=forward.pk)
        if update_id in locked.seen:  # another worker took it meanwhile
            return 0
        actions.add_remote_update(
            forward.request,
            text=str(update.get("description") or ""),
            label=forward.forwarding.name,
            data=data,
            closes=closes,
        )
        locked.seen = [*locked.seen, update_id][-200:]
        locked.remote_status = status
        locked.remote_closed = bool(closes)
        locked.save(update_fields=["seen", "remote_status", "remote_closed"])
    forward.seen, forward.remote_status = locked.seen, status
    if closes:
        forwards.pop(forward.remote_id, None)
    return 1


def sweep() -> dict[str, int]:
    """The periodic task: dead claims, posts that are due, the other servers' news."""
    rows = ForwardedRequest.objects.all()
    released = outbox.release_dead(rows) + outbox.release_stale(rows, policy())
    return {"released": released, "sent": send_due_forwards(), "updates": poll_forwarded()}
