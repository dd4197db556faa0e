"""Webhooks out: events become posts (the stream consumer), posts are sent (the outbox).

`handle_events` is the "webhooks" consumer of the event stream (registered in apps.py): for
each event and each active endpoint that wants it, one `WebhookPost` row with the JSON body,
written in the stream's transaction. `send_due_posts` (the consumer's `then`, and the sweep
every minute) claims due rows through city311.lib.outbox, signs each the Standard Webhooks way
and posts it.

Order per request: a post is claimed only when no earlier post of the same request to the same
endpoint is still pending, being sent or dead, so a receiver sees one request's events in the
order they happened, across retries, outages and replays. A dead letter holds its request's
later posts back until an administrator replays it (it goes first, then they follow) or drops
it (`drop`: they go on without it).

Each post has one id (`webhook-id`) for every try and replay; the timestamp and signature are
made anew per try, as the spec says. The receiver tells a repeat by the id.

Posts go out through the outbound guard (lib/outbound.py): an endpoint's host must resolve to
public addresses only, unless an administrator marked it as on the city's network; the
connection goes to the address checked; no redirect is followed.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import Exists, F, OuterRef, QuerySet
from django.utils import timezone
from django_q.tasks import async_task
from standardwebhooks.webhooks import Webhook

from city311.lib import outbound, outbox
from city311.lib.outbox import OutboxStatus
from city311.servicerequests.models import Channel, RequestEvent
from city311.webhooks.models import WebhookEndpoint, WebhookPost
from city311.webhooks.payloads import body

CLAIM = 20
# One task sends for at most this long, then leaves the rest to a task queued behind it.
SEND_SECONDS = 20.0
USER_AGENT = "city311-webhooks/1"


def policy() -> outbox.Policy:
    """How posts are retried: the CITY311_WEBHOOK_* settings, read when used."""
    schedule = tuple(settings.CITY311_WEBHOOK_RETRY_SCHEDULE)
    return outbox.Policy(
        max_attempts=settings.CITY311_WEBHOOK_MAX_ATTEMPTS,
        retry_seconds=schedule[0],
        retry_max_seconds=schedule[-1],
        lease_seconds=settings.CITY311_WEBHOOK_LEASE_SECONDS,
        schedule=schedule,
        jitter=settings.CITY311_WEBHOOK_JITTER_PERCENT / 100,
    )


def handle_events(events: Sequence[RequestEvent]) -> int:
    """The webhooks consumer: one post per event and endpoint that wants it; how many.

    Idempotent (one post per event and endpoint). Imported history is never posted, nor an
    event older than the endpoint.
    """
    endpoints = list(WebhookEndpoint.objects.filter(active=True).prefetch_related("service_types"))
    if not endpoints:
        return 0
    types = {e.pk: {st.pk for st in e.service_types.all()} for e in endpoints}
    posts = []
    for event in events:
        if event.request.channel == Channel.IMPORT:
            continue
        text = None
        for endpoint in endpoints:
            if not endpoint.wants(event.kind) or event.at < endpoint.created_at:
                continue
            if types[endpoint.pk] and event.request.service_type_id not in types[endpoint.pk]:
                continue
            text = text or body(event)
            posts.append(
                WebhookPost(
                    endpoint=endpoint,
                    event=event,
                    request_id=event.request_id,
                    kind=event.kind,
                    body=text,
                )
            )
    WebhookPost.objects.bulk_create(posts, ignore_conflicts=True)
    return len(posts)


def sendable(posts: QuerySet[WebhookPost]) -> QuerySet[WebhookPost]:
    """Posts whose turn it is: no earlier post of their request to their endpoint is waiting,
    being sent or dead (partial index webhookpost_unsent)."""
    earlier = WebhookPost.objects.filter(
        endpoint=OuterRef("endpoint"),
        request=OuterRef("request"),
        event__lt=OuterRef("event"),
        status__in=[OutboxStatus.PENDING, OutboxStatus.SENDING, OutboxStatus.FAILED],
    )
    return posts.filter(endpoint__active=True).filter(~Exists(earlier))


def send_due_posts(limit: int = 10_000) -> int:
    """Send every post that is due, in order per request; the number delivered."""
    sent, more = _send(WebhookPost.objects.all(), limit=limit)
    if more:
        async_task("city311.webhooks.tasks.send_due_posts")
    return sent


def _send(posts: QuerySet[WebhookPost], *, limit: int) -> tuple[int, bool]:
    with outbound.Client() as client:
        return PostSender(posts, client).send_due(limit)


class PostSender(outbox.Sender[WebhookPost]):
    """Posts to their endpoints, signed (city311.lib.outbox.Sender). Any answer but 2xx is
    tried again on the schedule; an endpoint that did not answer gets no more tries in this
    task: its posts wait for their backoff instead of each waiting out the timeout now."""

    model = WebhookPost
    noun = "Webhook post"
    claim_size = CLAIM
    seconds = SEND_SECONDS

    def __init__(self, posts: QuerySet[WebhookPost], client: outbound.Client) -> None:
        self.posts = posts
        self.client = client

    def due(self, down: set[Hashable]) -> QuerySet[WebhookPost]:
        return sendable(self.posts.exclude(endpoint__in=down)).select_related("endpoint")

    def destination(self, post: WebhookPost) -> int:
        return post.endpoint_id

    def policy(self) -> outbox.Policy:
        return policy()

    def attempt(self, post: WebhookPost) -> str:
        timeout = settings.CITY311_WEBHOOK_TIMEOUT_SECONDS
        with outbound.answer_or_try_later():
            response = self.client.post(
                post.endpoint.url,
                internal=post.endpoint.internal,
                data=post.body.encode(),
                headers=signed_headers(post),
                timeout=(min(timeout, 5), timeout),
                allow_redirects=False,
            )
        if not 200 <= response.status_code < 300:
            raise outbox.TryLater(f"HTTP {response.status_code}")
        return f"HTTP {response.status_code}"

    def sent(self, post: WebhookPost, detail: str) -> bool:
        outbox.mark_sent(post, detail)
        _succeeded(post.endpoint)
        return True

    def failed(self, post: WebhookPost, error: str) -> None:
        WebhookEndpoint.objects.filter(pk=post.endpoint_id).update(
            last_failure_at=timezone.now(),
            last_error=error[:300],
            failures_in_a_row=F("failures_in_a_row") + 1,
        )


def signed_headers(post: WebhookPost, now: datetime | None = None) -> dict[str, str]:
    """The Standard Webhooks headers for one try of `post`."""
    now = now or datetime.now(UTC)
    signature = Webhook(post.endpoint.secret).sign(post.webhook_id, now, post.body)
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": post.webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }


# The endpoint's row is every post's: when all is well, its "last success" is written at most
# this often, not once a post, so the posts' writes do not queue behind one row.
HEALTH_EVERY = timedelta(seconds=30)


def _succeeded(endpoint: WebhookEndpoint) -> None:
    now = timezone.now()
    healthy = endpoint.failures_in_a_row == 0 and endpoint.last_success_at is not None
    if healthy and now - endpoint.last_success_at < HEALTH_EVERY:  # type: ignore[operator]
        return
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(last_success_at=now, failures_in_a_row=0)
    endpoint.last_success_at, endpoint.failures_in_a_row = now, 0


def replay(posts: QuerySet[WebhookPost]) -> int:
    """Send these posts again from their first try (the dead letter's replay); how many.

    They go out in their original order per request and endpoint, each after the earlier
    ones (`sendable`), with their ids unchanged.
    """
    count = outbox.replay(posts)
    if count:
        async_task("city311.webhooks.tasks.send_due_posts")
    return count


def drop(posts: QuerySet[WebhookPost]) -> int:
    """Give up on these dead letters for good, so their requests' later posts go on; how many."""
    count = posts.filter(status=OutboxStatus.FAILED).update(
        status=OutboxStatus.CANCELLED, detail="dropped"
    )
    if count:
        async_task("city311.webhooks.tasks.send_due_posts")
    return count


def sweep() -> dict[str, int]:
    """The periodic task: claims of dead workers, retries that are due."""
    posts = WebhookPost.objects.all()
    released = outbox.release_dead(posts) + outbox.release_stale(posts, policy())
    return {"released": released, "sent": send_due_posts()}
