"""An outbox: rows of outbound work (a message, a webhook post, a reminder) sent by task workers.

The table is the work queue, as in healthchecks' sendalerts. A worker claims a few due rows at
once with one conditional update (pending → sending, stamped with a claim token of its own and
the name of the process and thread that holds it); of two workers, each row goes to one. It
reads back the rows carrying its token, does the work, and marks each row as soon as it knows
how it went — but only while its claim stands, so a row given to another worker is not marked
twice.

    pending ──claim──► sending ──sent──► sent
       ▲                  │ ├──give_up / too many tries──► failed (the dead letter, error kept)
       └──retry_later─────┘ └──cancel──► cancelled
       └──release_dead (its holder is gone), release_stale (after the lease)

A worker killed between claiming and marking leaves rows "sending". Each claim names its
holder (`owner()`: the machine, the process with its start time, the thread), so
`release_dead` gives a row back as soon as its holder is known to be gone: a process of this
machine that no longer runs, or a thread of this process that starts new work. A restarted
worker calls it as it starts, and the periodic sweep calls it. A holder on another machine
cannot be checked from here: its rows wait for `release_stale`, once their claim is older than
the lease (longer than any send can take). Either way nothing is lost; the price is that work
done just before the kill may be done again: senders pass a key (the row's id) that lets the
far side recognise a repeat.

A new outbound kind: a model subclassing `OutboxItem` with its own fields, the two indexes of
`outbox_indexes`, a `Policy`, and a `Sender` that says which rows are due, how to try one and
what the answer means; its `send_due` claims, sends and marks. See docs/event-stream.md and
docs/operations.md.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import random
import socket
import threading
import time
import traceback
import uuid
from abc import ABC, abstractmethod
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import ClassVar, Generic, TypeVar

from django.apps import apps
from django.db import DatabaseError, models
from django.db.models import F, Q, QuerySet
from django.utils import timezone

log = logging.getLogger(__name__)


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
    # Who holds the claim (see `owner`): lets a restarted worker give back a dead one's rows.
    claimed_by = models.CharField(max_length=80, blank=True)
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
    # When given, the waits after the 1st, 2nd... failed try (the last one repeats), instead
    # of doubling: webhooks wait about 5 s, 5 min, 30 min, 2 h, 5 h, 10 h.
    schedule: tuple[int, ...] = ()
    # Each wait is stretched or shrunk at random by up to this fraction, so that the rows one
    # outage failed together are not all tried again in the same second.
    jitter: float = 0.0

    def backoff(self, attempts: int) -> int:
        """Seconds to wait after the `attempts`-th try failed (before jitter)."""
        if self.schedule:
            return self.schedule[min(max(attempts - 1, 0), len(self.schedule) - 1)]
        return min(self.retry_seconds * 2 ** max(attempts - 1, 0), self.retry_max_seconds)

    def wait(self, attempts: int) -> float:
        """The backoff with its jitter: what `retry_later` waits."""
        spread = random.uniform(-self.jitter, self.jitter) if self.jitter else 0.0
        return self.backoff(attempts) * (1 + spread)


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
        status=OutboxStatus.SENDING,
        claimed_at=now,
        claim=token,
        claimed_by=owner(),
        attempts=F("attempts") + 1,
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
    wait = policy.wait(item.attempts)
    finish(
        item,
        status=OutboxStatus.PENDING,
        claimed_at=None,
        due_at=timezone.now() + timedelta(seconds=wait),
        error=error,
    )
    return True


def replay(rows: QuerySet[Item]) -> int:
    """Send again, from the first try: dead letters (or sent rows a receiver lost); how many.

    A row being sent right now is left alone. Each keeps its identity, so a receiver sees the
    same key (webhook-id, Message-ID) as before and can tell a replay from news.
    """
    return rows.exclude(status__in=[OutboxStatus.SENDING, OutboxStatus.PENDING]).update(
        status=OutboxStatus.PENDING,
        due_at=timezone.now(),
        attempts=0,
        claimed_at=None,
        claim="",
        claimed_by="",
        detail="replayed",
    )


def release_stale(rows: QuerySet[Item], policy: Policy) -> int:
    """Give back rows claimed by a worker that died before marking them; how many."""
    now = timezone.now()
    return rows.filter(
        status=OutboxStatus.SENDING, claimed_at__lt=now - timedelta(seconds=policy.lease_seconds)
    ).update(status=OutboxStatus.PENDING, claimed_at=None, claim="", claimed_by="", due_at=now)


# Who holds a claim: "<machine>:<pid>:<process start>:<thread>". The machine is this boot of
# this host's kernel seen from this process namespace, so a process id is checked only where
# it means the same process; the start time tells a process from a later one given its id.


@cache
def _machine() -> str:
    parts = [socket.gethostname()]
    with contextlib.suppress(OSError):
        parts.append(Path("/proc/sys/kernel/random/boot_id").read_text().strip())
        parts.append(os.readlink("/proc/self/ns/pid"))
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def _started(pid: int) -> str | None:
    """When process `pid` started (clock ticks since boot); "" where unknown; None if none runs."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None
    except OSError:
        pass
    else:
        # The command name, in brackets, may hold spaces: count fields after its ")".
        fields = stat[stat.rindex(")") + 2 :].split()
        # A zombie has ended; only its parent has not yet collected its exit status.
        return None if fields[0] in ("Z", "X") else fields[19]
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return ""


@cache
def _process(pid: int) -> str:
    return f"{_machine()}:{pid}:{_started(pid) or ''}"


def owner() -> str:
    """The holder's name for claims made by this thread of this process."""
    return f"{_process(os.getpid())}:{threading.get_ident()}"


def process_holder(pid: int) -> str:
    """A holder's name for claims that live as long as process `pid` (of this machine)."""
    return f"{_process(pid)}:0"


def holder_gone(holder: str) -> bool:
    """Whether the holder of a claim (an `owner()` or a `process_holder()`) is known gone."""
    return _is_gone(holder)


def _is_gone(holder: str) -> bool:
    """Whether the holder of a claim is known to run no more (or to have moved on)."""
    machine, _, rest = holder.partition(":")
    if machine != _machine() or rest.count(":") != 2:
        return False  # another machine's: only the lease tells
    pid, started, thread = rest.split(":")
    if int(pid) == os.getpid() and started == (_started(os.getpid()) or ""):
        # This process: a thread that claims again has finished with what it held before.
        return thread == str(threading.get_ident())
    now = _started(int(pid))
    return now is None or (bool(started) and now != started)


def release_dead(rows: QuerySet[Item]) -> int:
    """Give back at once the rows claimed by a holder that is gone; how many.

    Call it before claiming anew: a restarted worker gets its predecessor's rows back at
    once, instead of after the lease.
    """
    holders = set(
        rows.filter(status=OutboxStatus.SENDING)
        .exclude(claimed_by="")
        .values_list("claimed_by", flat=True)
        .distinct()
    )
    gone = [h for h in holders if _is_gone(h)]
    if not gone:
        return 0
    # Each keeps its due time, and so its place in the queue: oldest first, as before the claim.
    return rows.filter(status=OutboxStatus.SENDING, claimed_by__in=gone).update(
        status=OutboxStatus.PENDING, claimed_at=None, claim="", claimed_by=""
    )


def release_dead_everywhere() -> int:
    """`release_dead` on every outbox table: what a worker does as it starts."""
    return sum(
        release_dead(model._default_manager.all())
        for model in apps.get_models()
        if issubclass(model, OutboxItem)
    )


# Sending: what a try of one row can come to, besides being taken.


class TryLater(Exception):
    """This try failed and a later one may work (the far side is down, busy or slow)."""

    def __init__(self, error: str, *, down: bool = False) -> None:
        super().__init__(error)
        # The destination did not answer at all: its other rows are not tried in this task.
        self.down = down


class GiveUp(Exception):
    """This will never work (a refusal, an invalid number): the dead letter at once."""


class Cancel(Exception):
    """No longer wanted (the follower stopped following): not sent, and not an error."""


class Sender(ABC, Generic[Item]):
    """The send loop of one outbox: claim the due rows a few at a time, try each, mark each.

    A subclass says which rows are due (`due`), where one goes (`destination`), how to try it
    (`attempt`: the far side's words when it took it, else one of the exceptions above) and how
    often (`policy`). A row that fails is tried again by the policy's schedule or put in the
    dead letter; `sent` and `failed` add what a channel records besides (an endpoint's health),
    `dead` what it does when a row goes into the dead letter (a note to staff).
    An exception of any other kind is a bug or a database hiccup: the row is tried again like
    a temporary failure, logged by the exception's type and place only (its text might quote
    an address). A task stopped by an error it cannot handle (the database gone while marking)
    gives the rows it claimed and did not try back to the queue at once, their attempts not
    counted, instead of leaving them to `release_dead` or the lease.
    """

    model: type[Item]
    # "Webhook post": what the log lines call a row.
    noun: ClassVar[str]
    # Rows claimed by one update. More means fewer queries; but a worker killed mid-batch
    # leaves its unsent claims waiting for the lease, so keep it small.
    claim_size: ClassVar[int] = 20
    # One task sends for at most this long, then leaves the rest to a task queued behind it:
    # a task that ran on for minutes would hold up the other tasks of its worker process.
    seconds: ClassVar[float] = 20.0
    # End the task when one destination does not answer (one mail server serves everyone),
    # rather than go on with the others.
    stop_when_down: ClassVar[bool] = False

    @abstractmethod
    def due(self, down: set[Hashable]) -> QuerySet[Item]:
        """The rows to claim from, leaving out those of the destinations in `down`."""
        raise NotImplementedError

    @abstractmethod
    def destination(self, item: Item) -> Hashable:
        raise NotImplementedError

    @abstractmethod
    def policy(self) -> Policy:
        raise NotImplementedError

    @abstractmethod
    def attempt(self, item: Item) -> str:
        """Try to send one claimed row; what the far side said when it took it."""
        raise NotImplementedError

    def sent(self, item: Item, detail: str) -> bool:
        """Mark a row the far side took; whether it counts as sent."""
        mark_sent(item, detail)
        return True

    def failed(self, item: Item, error: str) -> None:
        """What a channel records of a failed try besides the row (its destination's health)."""

    def dead(self, item: Item, error: str) -> None:
        """What a kind does when a row of this task goes into the dead letter (given up at
        once, or after the last try): called once, by the worker whose claim still stood."""

    def send_due(self, limit: int) -> tuple[int, bool]:
        """The number sent, and whether time ran out with rows still due."""
        deadline = time.monotonic() + self.seconds
        down: set[Hashable] = set()
        sent = tried = 0
        # Claims of a worker that died (or of this thread's task that failed) go back first.
        release_dead(self.model._default_manager.all())
        while tried < limit and not (down and self.stop_when_down):
            if time.monotonic() >= deadline:
                return sent, True
            batch = claim(self.due(down), min(self.claim_size, limit - tried))
            if not batch:
                break
            tried += len(batch)
            sent += self._send_batch(batch, down)
        return sent, False

    def _send_batch(self, batch: list[Item], down: set[Hashable]) -> int:
        sent = 0
        untried = list(reversed(batch))
        try:
            while untried:
                item = untried.pop()
                if self.destination(item) in down:
                    put_back(item)
                else:
                    sent += self.send_one(item, down)
        except BaseException:
            for item in untried:
                # The database may be what failed: the lease gives back what this cannot.
                with contextlib.suppress(DatabaseError):
                    put_back(item)
            raise
        return sent

    def send_one(self, item: Item, down: set[Hashable]) -> int:
        """Try one claimed row and record how it went; 1 when it was sent."""
        try:
            detail = self.attempt(item)
        except Cancel as e:
            cancel(item, str(e))
            return 0
        except GiveUp as e:
            self.failed(item, str(e))
            self._give_up(item, str(e))
            log.warning("%s %s failed for good: %s", self.noun, item.pk, e)
            return 0
        except TryLater as e:
            if e.down:
                down.add(self.destination(item))
            self._retry_later(item, str(e))
            return 0
        except Exception as e:
            frame = traceback.extract_tb(e.__traceback__)[-1]
            log.error(
                "%s %s could not be sent: %s at %s:%s",
                self.noun,
                item.pk,
                type(e).__name__,
                frame.filename,
                frame.lineno,
            )
            self._retry_later(item, f"internal error: {type(e).__name__}")
            return 0
        return int(self.sent(item, detail))

    def _retry_later(self, item: Item, error: str) -> None:
        self.failed(item, error)
        policy = self.policy()
        if item.attempts >= policy.max_attempts:
            self._give_up(item, error)
            log.warning("%s %s failed after %s tries: %s", self.noun, item.pk, item.attempts, error)
        elif retry_later(item, error, policy):
            wait = policy.backoff(item.attempts)
            log.info("%s %s will be retried in %ss: %s", self.noun, item.pk, wait, error)

    def _give_up(self, item: Item, error: str) -> None:
        if give_up(item, error):
            self.dead(item, error)
