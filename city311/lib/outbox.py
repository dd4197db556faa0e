"""An outbox: rows of outbound work (a message, a webhook post, a reminder) sent by task workers.

The table is the work queue, as in healthchecks' sendalerts. A worker claims a few due rows at
once with one conditional update (pending → sending, stamped with a claim token of its own); of
two workers, each row goes to one. It reads back the rows carrying its token, does the work, and
marks each row as soon as it knows how it went — but only while its claim stands, so a row the
lease gave to another worker is not marked twice.

    pending ──claim──► sending ──sent──► sent
       ▲                  │ ├──give_up / too many tries──► failed (the dead letter, error kept)
       └──retry_later─────┘ └──cancel──► cancelled
       └──release_stale (a worker died holding it, after the lease)

A worker killed between claiming and marking leaves rows "sending". `release_stale` gives them
back once their claim is older than the lease (longer than any send can take), so nothing is
lost; the price is that work done just before the kill may be done again: senders pass a key
(the row's id) that lets the far side recognise a repeat.

A new outbound kind: a model subclassing `OutboxItem` with its own fields, the two indexes of
`outbox_indexes`, a `Policy`, and a task that claims, sends and marks. See docs/event-stream.md.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from django.db import models
from django.db.models import F, Q, QuerySet
from django.utils import timezone


class OutboxStatus(models.TextChoices):
    PENDING = "pending", "Waiting to be sent"
    SENDING = "sending", "Being sent"
    SENT = "sent", "Sent"
    # The dead letter: given up on, with the error kept.
    FAILED = "failed", "Failed"
    # No longer wanted before it went out (the follower stopped following).
    CANCELLED = "cancelled", "Not sent"


class OutboxItem(models.Model):
    """The columns every outbox needs; a concrete model adds what is sent and to whom."""

    status = models.CharField(
        max_length=10, choices=OutboxStatus.choices, default=OutboxStatus.PENDING
    )
    created_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    # Random per claim: a worker claims several rows in one update, then reads back its own.
    claim = models.CharField(max_length=32, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    # What the far side said: "delivered to the SMTP server", "invalid number", "HTTP 204".
    detail = models.CharField(max_length=300, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        abstract = True


Item = TypeVar("Item", bound=OutboxItem)


def outbox_indexes(prefix: str) -> list[models.Index]:
    """The two partial indexes an outbox table needs, named after it: put them in its Meta."""
    return [
        # Due rows, for `claim`.
        models.Index(
            fields=["due_at"], name=f"{prefix}_pending_due", condition=Q(status="pending")
        ),
        # Claims left by a worker that died, for `release_stale`.
        models.Index(
            fields=["claimed_at"], name=f"{prefix}_sending", condition=Q(status="sending")
        ),
    ]


@dataclass(frozen=True)
class Policy:
    """How often and how long to try. Read from settings when used, so tests can change them."""

    max_attempts: int
    # The first retry waits this long; each next one twice as long, at most retry_max_seconds.
    retry_seconds: int
    retry_max_seconds: int
    # A claim older than this belongs to a worker that died: more than any send can take.
    lease_seconds: int

    def backoff(self, attempts: int) -> int:
        """Seconds to wait after the `attempts`-th try failed."""
        return min(self.retry_seconds * 2 ** max(attempts - 1, 0), self.retry_max_seconds)


def claim(rows: QuerySet[Item], count: int) -> list[Item]:
    """Claim up to `count` due rows among `rows`, oldest first; the rows this caller got.

    Each claimed row counts one more attempt and carries this call's token in `claim`.
    `rows` may carry select_related: the claimed rows are read back through it.
    """
    now = timezone.now()
    pending = Q(status=OutboxStatus.PENDING, due_at__lte=now)
    # Oldest first, so one person's messages arrive in the order things happened.
    ids = list(rows.filter(pending).order_by("due_at", "pk").values_list("pk", flat=True)[:count])
    if not ids:
        return []
    token = uuid.uuid4().hex
    # Conditional: a row another worker claimed in the meantime is no longer pending. On
    # PostgreSQL the second update waits for the first and then re-checks the condition.
    rows.model._default_manager.filter(pending, pk__in=ids).update(
        status=OutboxStatus.SENDING, claimed_at=now, claim=token, attempts=F("attempts") + 1
    )
    return list(
        rows.filter(pk__in=ids, status=OutboxStatus.SENDING, claim=token).order_by("due_at", "pk")
    )


def finish(item: OutboxItem, **fields: object) -> bool:
    """Update a claimed row, only while our claim stands; False when it no longer does."""
    mine = type(item)._default_manager.filter(
        pk=item.pk, status=OutboxStatus.SENDING, claim=item.claim
    )
    return bool(mine.update(**fields))


def mark_sent(item: OutboxItem, detail: str = "") -> bool:
    return finish(
        item, status=OutboxStatus.SENT, sent_at=timezone.now(), detail=detail[:300], error=""
    )


def cancel(item: OutboxItem, detail: str) -> bool:
    return finish(item, status=OutboxStatus.CANCELLED, detail=detail[:300])


def give_up(item: OutboxItem, error: str) -> bool:
    """Into the dead letter at once: this will never work (an invalid number)."""
    return finish(item, status=OutboxStatus.FAILED, error=error)


def put_back(item: OutboxItem) -> bool:
    """Return a claimed row untried (its server is down): the attempt does not count."""
    return finish(item, status=OutboxStatus.PENDING, claimed_at=None, attempts=F("attempts") - 1)


def retry_later(item: OutboxItem, error: str, policy: Policy) -> bool:
    """Try again after the backoff, or give up after `policy.max_attempts` with the error kept.

    True when it will be tried again.
    """
    if item.attempts >= policy.max_attempts:
        give_up(item, error)
        return False
    wait = policy.backoff(item.attempts)
    finish(
        item,
        status=OutboxStatus.PENDING,
        claimed_at=None,
        due_at=timezone.now() + timedelta(seconds=wait),
        error=error,
    )
    return True


def release_stale(rows: QuerySet[Item], policy: Policy) -> int:
    """Give back rows claimed by a worker that died before marking them; how many."""
    now = timezone.now()
    return rows.filter(
        status=OutboxStatus.SENDING, claimed_at__lt=now - timedelta(seconds=policy.lease_seconds)
    ).update(status=OutboxStatus.PENDING, claimed_at=None, claim="", due_at=now)
