"""The event stream: every history event reaches every registered consumer.

How an event travels:

1. An action writes a `RequestEvent` (`servicerequests.actions._record`) in its transaction.
2. The first event of a transaction asks for one wake-up (`wake_on_commit`): one
   `dispatch_events` task however many events the transaction wrote, visible to workers once it
   commits, and none if it rolls back. The commits of a burst share one queued task: on Redis
   through a pending key (`_tell_redis`), in the database by joining a queued dispatch's
   QueuedDispatch row (`_join`).
3. The task runs `dispatch()`: each registered consumer in turn reads the events after its own
   cursor, in id order, and hands them to its handler in batches.
4. The schedule (city311.ops.schedules) runs the same task every minute: a lost wake-up, a
   crashed worker or a bulk load that wakes nobody delays an event, never loses it.

Consumers register themselves, in their app's `AppConfig.ready()`, so servicerequests needs to
know none of them:

    stream.register(Consumer(name="notifications", handle=tasks.handle_events,
                             kinds=PLANNED, start=FROM_NOW))

A consumer gets every event of its kinds at least once, in id order — which is the order of
each request's history, since actions lock the request's row while they write its events. A
handler runs inside the transaction that moves its cursor: what it writes in the database
commits with the cursor or not at all. It may still run twice for one event (a cursor that
could not be moved, a failure after a partial batch), so it must be idempotent. Anything
leaving the machine goes through an outbox (city311.lib.outbox), never straight from a handler.

A handler that raises leaves its cursor where it was (the error is kept on the cursor row and
logged without its text) and is tried again at the next wake-up; the other consumers go on.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache, partial, update_wrapper

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.db.models import F, Max, QuerySet
from django.utils import timezone
from django_q.brokers import Broker, get_broker
from django_q.brokers.orm import ORM
from django_q.conf import Conf
from django_q.tasks import async_task

from city311.lib import redisclient
from city311.lib.batches import let_others_write
from city311.servicerequests.models import (
    ConsumedEvent,
    ConsumerCursor,
    QueuedDispatch,
    RequestEvent,
    ServiceRequest,
)

log = logging.getLogger(__name__)

# Where a consumer's cursor starts the first time it runs.
# From now: only events recorded from then on (less the settle window, so the events whose
# commit woke it are not skipped). A notification consumer must never tell residents about
# last year's events.
FROM_NOW = "from_now"
# From the first event ever recorded: a report rollup rebuilds itself from history.
REPLAY = "replay"

WAKE_TASK = "city311.servicerequests.tasks.dispatch_events"


@dataclass(frozen=True)
class Consumer:
    name: str
    # Called with a batch of events in id order; must be idempotent. Its return is ignored.
    handle: Callable[[Sequence[RequestEvent]], object]
    # The event kinds it reads (vocabulary.Event); None for every kind.
    kinds: frozenset[str] | None = None
    start: str = FROM_NOW
    # Loaded with each event, so the handler does not query per event.
    select_related: tuple[str, ...] = ("request",)
    batch: int = 200
    # Run in the same task once every consumer has read, when this one was given events: the
    # sender of its outbox rows, so a burst's first task sends what it planned. (Not only when
    # the handler wrote rows: other writers, such as a texted photo's fetch, count on it.)
    then: Callable[[], object] | None = None
    # Read when a commit wakes the stream. False for work that is cheaper in the schedule's
    # larger batches (every minute) and that no one waits on: the open data's lines, which a
    # download brings up to date itself before it reads.
    woken: bool = True

    def __post_init__(self) -> None:
        if self.start not in (FROM_NOW, REPLAY):
            raise ImproperlyConfigured(f"Consumer {self.name}: start is FROM_NOW or REPLAY.")
        if not 0 < len(self.name) <= 40:
            raise ImproperlyConfigured(f"Consumer name {self.name!r}: 1 to 40 characters.")


_consumers: dict[str, Consumer] = {}


def register(consumer: Consumer) -> Consumer:
    """Add a consumer to the stream; registering the same one again changes nothing."""
    existing = _consumers.get(consumer.name)
    if existing is not None and existing != consumer:
        raise ImproperlyConfigured(f"Another event consumer is already named {consumer.name}.")
    _consumers[consumer.name] = consumer
    return consumer


def unregister(name: str) -> None:
    """Take a consumer off the stream (tests). Its cursor stays, for when it comes back."""
    _consumers.pop(name, None)


def consumers() -> list[Consumer]:
    return list(_consumers.values())


# Waking the stream


def wake_on_commit(since: int | None = None) -> None:
    """Ask for one dispatch when the current transaction commits; once per transaction.

    With the task queue in the database (no REDIS_URL), the wake-up is written inside the
    transaction: it commits with the events and rolls back with them, and costs no commit of
    its own. A dispatch queued moments before and not begun is joined (`_join`), else one is
    queued. With Redis, the task is pushed after commit.

    Django keeps the callbacks of the open transaction in `run_on_commit`, and drops those of
    a savepoint that rolls back (whose task row rolls back too), so looking there asks again
    after such a rollback.

    `since` is the transaction's first event id: the dispatch it wakes reads from there, which
    keeps it cheap in a burst and finds an event whose lower id committed after higher ones.
    Without it, the dispatch reads on from each consumer's cursor (correct, but slower).
    """
    connection = transaction.get_connection()
    if connection.in_atomic_block:
        if any(_is_wake_up(entry[1]) for entry in connection.run_on_commit):
            return
        if _queue_in_this_database(connection.alias):
            _wake_database(since)
            transaction.on_commit(_woken)
            return
    # robust: the events are committed whatever happens here; if the broker cannot be reached,
    # the error is logged and the scheduled dispatch delivers the events within a minute.
    # The partial carries _wake's name: Django logs a robust callback's failure by its
    # __qualname__, and without one that logging itself raised, turning a saved request
    # into an error response.
    transaction.on_commit(update_wrapper(partial(_wake, since), _wake), robust=True)


def _is_wake_up(callback: object) -> bool:
    return callback is _woken or getattr(callback, "func", None) is _wake


@cache
def _broker() -> Broker:
    """One task-queue broker per process, instead of a new one for every commit."""
    return get_broker()


def _queue_in_this_database(alias: str) -> bool:
    return isinstance(_broker(), ORM) and alias == Conf.ORM


# With the queue in the database, a burst of commits shares one queued dispatch too, without a
# write of its own for the commits that join it and without one row every commit writes (which
# would make each filing wait for the others' commits). The first commit queues a dispatch with a
# QueuedDispatch row, in its transaction; a commit within the gathering time (`_gathering`) of it
# whose first event id is not below the row's holds a share lock on the row until it commits, and
# queues nothing. (Not for longer: share locks taken one after another would keep the dispatch
# waiting for ever.) The dispatch deletes the row before it reads: the delete waits for every
# share lock, so every commit that joined is visible to the read, and a commit looking for a row
# after the dispatch took it (or while it is taking it: SKIP LOCKED) finds none and queues its
# own. On SQLite, where a transaction holds the one write lock from its start, no dispatch can
# take the row between a commit finding it and committing. A wake-up asked for after commit (a
# filing that PostgreSQL writes in one statement, outside a transaction) needs no lock: its events
# are committed before it looks, and a row it still sees is read after it.


def _wake_database(since: int | None) -> None:
    """Join a queued dispatch, else queue one: in the transaction that wrote the events, or
    after they committed (a filing written by one statement on PostgreSQL, in autocommit)."""
    if since is not None and _join(since):
        return
    if since is None:
        # save=False: one wake-up a commit is too many to keep a success row each (django-q
        # would insert one and prune the table for every filing); failures are still kept.
        async_task(WAKE_TASK, since, broker=_broker(), save=False)
        return
    connection = transaction.get_connection()
    # After commit, both rows or neither: a row without its task would hold the commits
    # joining it until the schedule's run.
    with nullcontext() if connection.in_atomic_block else transaction.atomic():
        queued = QueuedDispatch.objects.create(queue=_queue_name(), since=since)
        async_task(WAKE_TASK, since, queued=queued.pk, broker=_broker(), save=False)


def _join(since: int) -> bool:
    """Join a dispatch queued moments ago that will read from `since` or before and that no
    worker has taken; whether there was one. In a transaction, hold a share lock on its row
    until commit; after commit the events are visible to the dispatch's read already, since
    it takes the row away before it reads."""
    connection = transaction.get_connection()
    table = connection.ops.quote_name(QueuedDispatch._meta.db_table)
    # Django's select_for_update has no shared mode; a row lock every commit held in turn
    # would have each filing wait for the commit of the one before.
    held = connection.vendor == "postgresql" and connection.in_atomic_block
    lock = " FOR SHARE SKIP LOCKED" if held else ""
    opened = timezone.now() - _gathering()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {table} WHERE queue = %s AND since <= %s AND queued_at >= %s"
            f" LIMIT 1{lock}",
            [_queue_name(), since, connection.ops.adapt_datetimefield_value(opened)],
        )
        return cursor.fetchone() is not None


def _queue_name() -> str:
    return str(settings.Q_CLUSTER["name"])


def _gathering() -> timedelta:
    """How long after a dispatch is queued commits may join it: CITY311_STREAM_GATHER_MS and
    the time a worker may take to see the task (it looks every Conf.POLL seconds), so that a
    burst shares a dispatch as long as the dispatch has not begun, as on Redis. None with 0."""
    if not settings.CITY311_STREAM_GATHER_MS:
        return timedelta(0)
    return timedelta(milliseconds=settings.CITY311_STREAM_GATHER_MS, seconds=Conf.POLL)


# How long a dispatch waits for the commits that joined it to commit; past it, it reads without
# those still open (a long transaction), which the scheduled dispatch reads.
JOINED_SECONDS = 5.0


def _take(queued: int) -> None:
    """Delete the dispatch's QueuedDispatch row once its gathering time is over and every
    commit that joined it has committed. Gone already (the schedule's run cleared it, or this
    task runs again): nothing to wait for."""
    gather = _gathering()
    waited = 0.0  # for commits that joined, after the gathering time
    while True:
        with transaction.atomic():
            rows = QueuedDispatch.objects.filter(pk=queued)
            queued_at = rows.values_list("queued_at", flat=True).first()
            if queued_at is None:
                return
            wait = (queued_at + gather - timezone.now()).total_seconds()
            if wait <= 0:
                if list(rows.select_for_update(skip_locked=True).values_list("pk", flat=True)):
                    rows.delete()
                    return
                wait = 0.02  # joined by commits still open
                waited += wait
                if waited > JOINED_SECONDS:
                    # Past the gathering time nothing joins it any more: left to the schedule.
                    log.warning("Event stream: a commit joining a dispatch is still open")
                    return
        time.sleep(wait)


def _forget_stale() -> None:
    """The schedule's run deletes QueuedDispatch rows left behind (their dispatch failed for
    good, or gave up waiting on a commit): the run reads from every cursor after it."""
    stale = timezone.now() - timedelta(minutes=1)
    with transaction.atomic():
        left = QueuedDispatch.objects.select_for_update(skip_locked=True).filter(
            queue=_queue_name()
        )
        QueuedDispatch.objects.filter(
            pk__in=list(left.filter(queued_at__lt=stale).values_list("pk", flat=True))
        ).delete()


# With the queue on Redis, a burst of commits shares one queued dispatch: the first commit
# queues it and sets this key (on Redis) to its first event id; later commits, finding the
# key, queue nothing and only lower it to their own first event id if that is lower. The
# dispatch takes the key away before it reads (GETDEL), and reads from the lowest id it held:
# every commit that found the key is read, as one group, skipping the consumers that read at
# the schedule's run. A dispatch lost with its worker holds the key back for at most
# PENDING_SECONDS; the scheduled dispatch remains the backstop.
PENDING_KEY = "city311:{queue}:stream:dispatch-pending"
PENDING_SECONDS = 5
# One round trip: set the key if it is missing (1: queue a dispatch), else keep the lower id.
_PENDING_SCRIPT = """
local held = redis.call('GET', KEYS[1])
if not held then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
  return 1
end
if tonumber(ARGV[1]) < tonumber(held) then
  redis.call('SET', KEYS[1], ARGV[1], 'KEEPTTL')
end
return 0
"""


def _pending_key() -> str:
    # One flag per queue: cities sharing a Redis do not hold back each other's wake-ups.
    return PENDING_KEY.format(queue=settings.Q_CLUSTER["name"])


def _wake(since: int | None) -> None:
    if not isinstance(_broker(), ORM):
        # 0 when the commit did not say: the dispatch then reads on from each cursor.
        if settings.CITY311_STREAM_WAKE_MS:
            _waker.add(since or 0)
        else:
            _tell_redis(since or 0)
        return
    _wake_database(since)


def _tell_redis(since: int) -> None:
    """Set or lower the pending key; queue a dispatch when there was none (one round trip,
    two when it queues)."""
    first = redisclient.script(_PENDING_SCRIPT)(
        keys=[_pending_key()], args=[since, PENDING_SECONDS]
    )
    if first:
        # The dispatch takes the lowest first id of the commits it reads from the key.
        async_task(WAKE_TASK, None, pending=True, broker=_broker(), save=False)
    # Else a dispatch is queued and has not started: it will read this commit.


# How long a process ending waits for its thread to finish telling Redis.
FLUSH_SECONDS = 5.0


class _Waker:
    """One per process: the commits of a process within CITY311_STREAM_WAKE_MS share one
    round trip to Redis, made by a thread of the process's own after they committed.

    The first commit after a quiet spell is told at once; the ones during the interval that
    follows, together at its end, with the lowest of their first event ids. The thread is a
    daemon; a process ending tells what it still holds as it exits. A process killed outright
    loses at most an interval's wake-ups, which the scheduled dispatch delivers.
    """

    def __init__(self) -> None:
        self._ready = threading.Condition()
        self._since: int | None = None  # the lowest first id not told yet; None: nothing
        self._telling = False  # the thread is telling Redis what it took
        self._pid = 0
        # A child forked while the thread held the lock would otherwise wait on it for ever.
        os.register_at_fork(after_in_child=self._forked)

    def _forked(self) -> None:
        self._ready, self._since, self._telling, self._pid = threading.Condition(), None, False, 0

    def add(self, since: int) -> None:
        with self._ready:
            if self._pid != os.getpid():  # first use, or a forked child: the thread is gone
                self._pid = os.getpid()
                threading.Thread(target=self._run, name="stream-waker", daemon=True).start()
            self._since = since if self._since is None else min(self._since, since)
            self._ready.notify()

    def flush(self) -> None:
        """Tell Redis now what is waiting (at exit), once the thread has told what it took:
        a process ending right after its commit would otherwise end the daemon thread in
        the middle of telling, and the wake-up would be lost."""
        with self._ready:
            self._ready.wait_for(lambda: not self._telling, timeout=FLUSH_SECONDS)
            since, self._since = self._since, None
        if since is not None:
            self._tell(since)

    def _run(self) -> None:
        while True:
            with self._ready:
                while self._since is None:
                    self._ready.wait()
                since, self._since = self._since, None
                self._telling = True
            try:
                self._tell(since)
            finally:
                with self._ready:
                    self._telling = False
                    self._ready.notify_all()
            time.sleep(settings.CITY311_STREAM_WAKE_MS / 1000)

    def _tell(self, since: int) -> None:
        try:
            _tell_redis(since)
        except Exception as e:
            # The events are committed: the scheduled dispatch delivers them within a minute.
            log.warning("Event stream not woken (%s): the schedule delivers", type(e).__name__)


_waker = _Waker()
atexit.register(_waker.flush)


def _woken() -> None:
    """Marks a transaction whose wake-up is already written in it."""


# Dispatching


def dispatch(
    since: int | None = None, *, pending: bool = False, queued: int | None = None
) -> dict[str, int]:
    """Run every consumer from its cursor; the number of events each was given.

    Woken by a commit, `since` is that commit's first event id: events before it were woken
    for by their own commits, so only the ones from there on are looked at. Without it (the
    schedule), every event after each cursor is. `pending`: woken by commits on a Redis
    queue, which left their lowest first event id in the pending key (see `_wake`). `queued`:
    the QueuedDispatch row of a database queue that later commits joined (see `_join`). A
    consumer that raises is logged and left for the next dispatch; the others go on.

    Consumers that start reading at the same event (all of them, once they are caught up)
    share their reads: one look at the cursors, one read of the events, one write of what
    each handled, whatever their number. A consumer far behind (a rollup replaying history)
    reads on its own, so it never holds back the others.
    """
    if pending:
        # The burst's later commits find the key still set and queue nothing: this dispatch
        # reads them all (settings.CITY311_STREAM_GATHER_MS).
        time.sleep(settings.CITY311_STREAM_GATHER_MS / 1000)
        # Before reading: a commit after this point queues a dispatch of its own. No key (it
        # expired, its worker being late): from each cursor, with every consumer, as the
        # schedule does, so that the commits of the expired key are read too.
        held = redisclient.client().getdel(_pending_key())
        since = int(held) if held is not None else None
    elif queued is not None:
        # Before reading: every commit that joined has committed.
        _take(queued)
    elif since is None and isinstance(_broker(), ORM):
        _forget_stale()
    given: dict[str, int] = {}
    more = False
    resume: int | None = None  # the last event read, when this task's time ran out
    groups, since = _groups(since)
    for group in groups:
        # One group reads for at most this long, then leaves the rest to a new task.
        deadline = time.monotonic() + settings.CITY311_STREAM_TASK_SECONDS
        result = _run(group, since, deadline=deadline)
        given.update(result.given)
        if result.more:
            more = True
            resume = result.upto if resume is None else min(resume, result.upto)
    for consumer in consumers():
        if given.get(consumer.name) and consumer.then is not None:
            try:
                consumer.then()
            except Exception as e:
                # Its events are handled and committed; what `then` does is retried by its
                # own schedule (the outbox's sweep), so only say so.
                log.error("Event consumer %s: then failed: %s", consumer.name, _where(e))
    if more:
        # A backlog (a burst's catch-up, a replay, a long outage): the rest in a task behind
        # the others queued. Woken by a commit, it reads on after the last event this one read,
        # not from the commit's first again: within the settle window the cursors stay behind,
        # and every task re-read (and loaded, request and all) each event its forerunners had
        # handled, so a long catch-up cost more per event the longer it was, and on a busy
        # machine a task could spend its whole time re-reading and move nothing.
        if since is not None and resume:
            since = resume + 1
        async_task(WAKE_TASK, since, broker=_broker(), save=False)
    return given


@dataclass
class _Result:
    given: dict[str, int] = field(default_factory=dict)
    more: bool = False
    # With `more`: the last event read, every consumer having handled it and those before;
    # 0 when one of them failed (the next task reads again from where this one started).
    upto: int = 0


def _groups(since: int | None) -> tuple[list[list[Consumer]], int | None]:
    """The consumers with something to read, grouped by the event they start after; and
    where this run reads from (`since`, or None when a consumer starts).

    Starts a new consumer's cursor, in a transaction of its own, so that a handler failing on
    its first batch keeps the start (and the failure is noted on it). A consumer's first run
    reads from its start, not from the commit that woke it: the events before that commit
    were woken for before it existed (a resident's filing before the note that follows it).
    """
    every = [c for c in consumers() if c.woken or since is None]
    cursors = {c.name: c for c in ConsumerCursor.objects.filter(name__in=[c.name for c in every])}
    for consumer in every:
        if consumer.name not in cursors:
            since = None
            try:
                with transaction.atomic():
                    cursors[consumer.name] = _start(consumer)
            except IntegrityError:
                # Another worker started it at the same moment.
                cursors[consumer.name] = ConsumerCursor.objects.get(name=consumer.name)
    # Woken by a commit, the caught-up consumers all start after the commit's first event and
    # read together. The schedule's run reads each consumer alone, skipping in the database
    # the events it handled above its cursor (a few minutes of them).
    by_start: dict[tuple[int, str], list[Consumer]] = {}
    for consumer in every:
        key = (_after(cursors[consumer.name], since), "" if since else consumer.name)
        by_start.setdefault(key, []).append(consumer)
    now = timezone.now()
    groups = [
        group
        for (after, _alone), group in sorted(by_start.items())
        if any(now - cursors[c.name].seen_at >= _settle() for c in group)
        or _anything_waiting(group, after)
    ]
    return groups, since


def _anything_waiting(group: list[Consumer], after: int) -> bool:
    """Whether any consumer of the group has an event after `after` not handled yet. In a
    burst, the first task reads what the tasks queued behind it were woken for: they return
    after this look, without taking the cursors' lock (a write lock on SQLite)."""
    size = _batch(group)
    events = list(_window(group, after).order_by("pk").values_list("pk", "kind")[:size])
    if not events:
        return False
    if len(events) == size:
        return True
    handled = _handled(group, after, events[-1][0])
    return any(
        _wants(consumer, kind) and (consumer.name, pk) not in handled
        for pk, kind in events
        for consumer in group
    )


def _run(group: list[Consumer], since: int | None, *, deadline: float) -> _Result:
    """Batches until the group has read everything or its time is up."""
    result = _Result(given={c.name: 0 for c in group})
    failed: dict[str, Exception] = {}
    read_upto = 0  # the last event this run has read: each batch reads on from there
    while True:
        live = [c for c in group if c.name not in failed]
        if not live:
            break
        with transaction.atomic():
            read_upto = _batch_once(live, since, read_upto, result, failed)
        if not read_upto:
            break
        if time.monotonic() >= deadline:
            result.more = True
            result.upto = 0 if failed else read_upto
            break
        let_others_write()
    for consumer in group:
        if consumer.name in failed:
            del result.given[consumer.name]
            _note_failure(consumer, failed[consumer.name])
    return result


def _batch_once(
    group: list[Consumer],
    since: int | None,
    read_upto: int,
    result: _Result,
    failed: dict[str, Exception],
) -> int:
    """One batch for every consumer of the group, in the caller's transaction, reading after
    `read_upto` at the earliest. The last event read when the batch was full (more may be
    waiting), else 0."""
    cursors = _locked_cursors(group)
    top = _top()
    afters = {c.name: _after(cursors[c.name], since) for c in group}
    first = max(min(afters.values()), read_upto)
    size = _batch(group)
    events = list(
        _window(group, first)
        .select_related(*sorted({r for c in group for r in c.select_related}))
        .order_by("pk")[:size]
    )
    full = len(events) == size
    handled = _handled(group, first, events[-1].pk) if events else set()
    consumed: list[ConsumedEvent] = []
    for consumer in group:
        cursor, after = cursors[consumer.name], afters[consumer.name]
        batch = [
            e
            for e in events
            if e.pk > after and _wants(consumer, e.kind) and (consumer.name, e.pk) not in handled
        ]
        if batch:
            try:
                # A savepoint: a handler that raises takes back only its own writes.
                with transaction.atomic():
                    consumer.handle(batch)
            except Exception as e:
                failed[consumer.name] = e
                continue
            result.given[consumer.name] += len(batch)
        # Every visible event of ours up to `reach` is handled now: the whole window, or, when
        # it was not full, every one there is.
        reach = events[-1].pk if full else cursor.settled_upto
        done = _advance(cursor, top, after, reach)
        # Above `done`, an id may still turn up late: remember which ones this consumer handled.
        consumed += [ConsumedEvent(consumer=consumer.name, event=e) for e in batch if e.pk > done]
    ConsumedEvent.objects.bulk_create(consumed, ignore_conflicts=True)
    return events[-1].pk if full else 0


def _settle() -> timedelta:
    return timedelta(seconds=settings.CITY311_STREAM_SETTLE_SECONDS)


def _top() -> int:
    return RequestEvent.objects.aggregate(top=Max("pk"))["top"] or 0


def _locked_cursors(group: list[Consumer]) -> dict[str, ConsumerCursor]:
    # Two workers may dispatch at once: the row locks make the second wait for the first to
    # commit and then read on from where it stopped, so a batch is not handled twice. Taken in
    # name order, so two groups never wait on each other. (On SQLite, where
    # select_for_update does nothing, IMMEDIATE transactions do the same.)
    found = ConsumerCursor.objects.select_for_update().filter(name__in=[c.name for c in group])
    return {c.name: c for c in found.order_by("name")}


def _after(cursor: ConsumerCursor, since: int | None) -> int:
    """The id after which this run looks."""
    return cursor.done_upto if since is None else max(cursor.done_upto, since - 1)


def _batch(group: list[Consumer]) -> int:
    return min(c.batch for c in group)


def _wants(consumer: Consumer, kind: str) -> bool:
    return consumer.kinds is None or kind in consumer.kinds


def _window(group: list[Consumer], after: int) -> QuerySet[RequestEvent]:
    """The events after `after` of any kind the group reads; for a consumer reading alone,
    less the ones it handled already."""
    events = RequestEvent.objects.filter(pk__gt=after)
    if all(c.kinds is not None for c in group):
        events = events.filter(kind__in=sorted(set().union(*(c.kinds or () for c in group))))
    if len(group) == 1:
        handled = ConsumedEvent.objects.filter(consumer=group[0].name, event_id__gt=after)
        events = events.exclude(pk__in=handled.values("event_id"))
    return events


def _handled(group: list[Consumer], after: int, upto: int) -> set[tuple[str, int]]:
    """(consumer, event) pairs of the group handled above `after`, up to `upto`."""
    return set(
        ConsumedEvent.objects.filter(
            consumer__in=[c.name for c in group], event_id__gt=after, event_id__lte=upto
        ).values_list("consumer", "event_id")
    )


def _start(consumer: Consumer) -> ConsumerCursor:
    """The consumer's first run: its cursor, at the start it asked for."""
    now = timezone.now()
    top = _top()
    if consumer.start == REPLAY:
        return ConsumerCursor.objects.create(name=consumer.name, seen_upto=top, seen_at=now)
    # The newest event recorded before the settle window: the ones after it are "now". (Not
    # simply the newest id: the commit that woke this first run must not be skipped.)
    before = (
        RequestEvent.objects.filter(at__lt=now - _settle())
        .order_by("-pk")
        .values_list("pk", flat=True)
        .first()
    ) or 0
    log.info("Event consumer %s starts after event %s", consumer.name, before)
    return ConsumerCursor.objects.create(
        name=consumer.name, done_upto=before, settled_upto=before, seen_upto=top, seen_at=now
    )


def _advance(cursor: ConsumerCursor, top: int, after: int, reach: int) -> int:
    """Move the cursor past what was handled, as far as ids have settled; where it is now."""
    now = timezone.now()
    changed = ["done_upto"]
    if now - cursor.seen_at >= _settle():
        # `top` was visible before `now`: one settle window on, every lower id has committed
        # or never will.
        cursor.settled_upto = max(cursor.settled_upto, cursor.seen_upto)
        cursor.seen_upto, cursor.seen_at = top, now
        changed += ["settled_upto", "seen_upto", "seen_at"]
    done = cursor.done_upto
    if after == cursor.done_upto:
        # This run looked from the cursor on: everything up to `reach` is handled.
        done = max(done, min(reach, cursor.settled_upto))
    if done > cursor.done_upto:
        ConsumedEvent.objects.filter(consumer=cursor.name, event_id__lte=done).delete()
    if cursor.failures:
        cursor.failures, cursor.failed_at, cursor.error = 0, None, ""
        changed += ["failures", "failed_at", "error"]
    if done != cursor.done_upto or len(changed) > 1:
        cursor.done_upto = done
        cursor.save(update_fields=changed)
    return done


def _note_failure(consumer: Consumer, e: Exception) -> None:
    # Without the exception's text, which might quote a resident's address.
    where = _where(e)
    log.error("Event consumer %s failed, to be retried: %s", consumer.name, where)
    ConsumerCursor.objects.filter(name=consumer.name).update(
        failures=F("failures") + 1, failed_at=timezone.now(), error=where
    )


def _where(e: Exception) -> str:
    frame = traceback.extract_tb(e.__traceback__)[-1]
    return f"{type(e).__name__} at {frame.filename}:{frame.lineno}"


# A bulk writer doing a consumer's work itself


def claim(name: str) -> ConsumerCursor | None:
    """For a bulk load that does the work of the consumer `name` for its own events, in its
    own transaction (`import_nyc` counts its requests into the reports): the consumer's cursor,
    locked until the transaction ends, so no dispatch reads meanwhile. On PostgreSQL the
    requests and events are locked against other writers too (SHARE ROW EXCLUSIVE: readers go
    on; SQLite's write lock does the same), so that every event up to the load's last is
    either committed before it or its own. None when the consumer has not started: its first
    run reads everything anyway."""
    cursor = ConsumerCursor.objects.select_for_update().filter(name=name).first()
    if cursor is None:
        return None
    connection = transaction.get_connection()
    if connection.vendor == "postgresql":
        tables = [ServiceRequest._meta.db_table, RequestEvent._meta.db_table]
        with connection.cursor() as c:
            # Requests before events, as every action writes them: a writer holding the one
            # never waits here for the other.
            c.execute(f"LOCK TABLE {', '.join(tables)} IN SHARE ROW EXCLUSIVE MODE")
    return cursor


def waiting(cursor: ConsumerCursor) -> list[int]:
    """The requests of the events after a claimed cursor that its consumer has not handled
    yet (every one has committed, under the claim): the load counts them with its own."""
    consumer = _consumers.get(cursor.name)
    events = RequestEvent.objects.filter(pk__gt=cursor.done_upto).exclude(
        pk__in=ConsumedEvent.objects.filter(
            consumer=cursor.name, event_id__gt=cursor.done_upto
        ).values("event_id")
    )
    if consumer is not None and consumer.kinds is not None:
        events = events.filter(kind__in=sorted(consumer.kinds))
    return sorted(set(events.values_list("request_id", flat=True)))


def handled(cursor: ConsumerCursor) -> None:
    """Move a claimed cursor past every event there is: the load handled the ones it wrote and
    those `waiting` found. Under the claim no other event can come in below the newest."""
    newest = _top()
    cursor.done_upto = max(cursor.done_upto, newest)
    cursor.settled_upto = max(cursor.settled_upto, newest)
    cursor.seen_upto = max(cursor.seen_upto, newest)
    cursor.seen_at = timezone.now()
    cursor.save(update_fields=["done_upto", "settled_upto", "seen_upto", "seen_at"])
    ConsumedEvent.objects.filter(consumer=cursor.name, event_id__lte=newest).delete()
