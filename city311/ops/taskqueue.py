"""The task cluster of `city311 worker`: django-q's, stopped promptly, its tasks in hand kept.

Asked to stop, django-q's cluster lets each worker finish the task in hand: a training of the
service suggestion model holds one for most of a minute, so Ctrl-C waited until `up` ended it
(8 s) and the tasks it held stayed locked for django-q's retry time (3 minutes). Here the
cluster gets STOP_GRACE_SECONDS to finish; what is still running then is ended, and each task
it had taken from the database queue goes back at once (`release_dead_tasks`), to run again
on the next start. Tasks are written to be run again (at least once).

With Redis (REDIS_URL) django-q's own broker pops a task as it takes it, so a task ended in
hand was lost. HeldRedis moves each task it takes, in one step (BLMOVE), onto a list of its
cluster's own and takes it off when the task is done; what a stopped cluster's list still holds
goes back to the head of the queue (`release_dead_tasks`), as with the database. A task that
fails is recorded and not run again, as before (settings: `ack_failures` with Redis).

Whether a cluster still runs can be read from /proc only on its own machine. Each cluster also
keeps a lease in Redis (a key that expires after CITY311_TASK_LEASE_SECONDS), renewed by its
parent process while it runs and as it takes each task; every running worker looks as often
for held lists whose lease has run out and hands their tasks back: a worker killed on another
machine, or that machine lost, loses nothing for longer than the lease.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from pathlib import Path
from time import monotonic, sleep
from types import FrameType

from django.conf import settings
from django.db import connections, transaction
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.brokers.orm import ORM
from django_q.brokers.redis_broker import Redis
from django_q.cluster import Cluster
from django_q.conf import Conf
from django_q.models import OrmQ
from django_q.scheduler import scheduler

from city311.lib.outbox import holder_gone, process_holder
from city311.ops.models import TaskClaim

# How long a cluster asked to stop may take to finish its tasks in hand.
STOP_GRACE_SECONDS = 1.0

logger = logging.getLogger(__name__)


class HeldORM(ORM):
    """django-q's database broker, noting which cluster took each task (TaskClaim)."""

    def dequeue(self) -> list[tuple[int, str]] | None:
        # As django-q's, each lock with its claim in one transaction: a cluster ended between
        # the two leaves neither.
        tasks = self.get_connection().filter(key=self.list_key, lock__lt=timezone.now())
        tasks = tasks[: Conf.BULK]
        if not tasks:
            sleep(Conf.POLL)  # an empty queue: spare the CPU
            return None
        # The pusher runs in the cluster's sentinel process: its claims live as long as it.
        holder = process_holder(os.getppid())
        taken = []
        for task in tasks:
            lock = self.timeout(task)
            with transaction.atomic():
                # 0 rows: another cluster was faster.
                if self.get_connection().filter(id=task.id, lock=task.lock).update(lock=lock):
                    TaskClaim.objects.update_or_create(
                        task_id=task.pk, defaults={"lock": lock, "holder": holder}
                    )
                    taken.append((task.pk, task.payload))
        # The claims of this holder's finished tasks (django-q deletes a task's row when done).
        TaskClaim.objects.filter(holder=holder).exclude(
            task_id__in=OrmQ.objects.values("pk")
        ).delete()
        return taken


class HeldRedis(Redis):
    """django-q's Redis broker, keeping each task it takes on its cluster's list until done."""

    def held_key(self, holder: str | None = None) -> str:
        # The pusher (which takes) and the monitor (which acknowledges) are both children of
        # the cluster's sentinel process: the list lives as long as it.
        if holder is None:
            holder = process_holder(os.getppid())
        return f"{self.list_key}:held:{holder}"

    def lease_key(self, holder: str) -> str:
        return f"{self.list_key}:lease:{holder}"

    def renew_lease(self, holder: str | None = None) -> None:
        """Say for another lease time that the holder (this cluster by default) still runs."""
        if holder is None:
            holder = process_holder(os.getppid())
        self.connection.set(self.lease_key(holder), 1, ex=settings.CITY311_TASK_LEASE_SECONDS)

    def dequeue(self) -> list[tuple[bytes, bytes]] | None:
        # Leased before taking: a cluster just started, whose parent has not renewed yet, is
        # never taken for a dead one.
        self.renew_lease()
        # Taken and kept in one atomic step: a cluster ended between the two loses nothing.
        task = self.connection.blmove(self.list_key, self.held_key(), 1, "LEFT", "RIGHT")
        # The task's own package is its acknowledgement id: it is what the held list holds.
        return [(task, task)] if task else None

    def acknowledge(self, task_id: bytes) -> None:
        self.connection.lrem(self.held_key(), 1, task_id)

    def fail(self, task_id: bytes) -> None:
        # A package that cannot be read (a bad signature) is dropped, as django-q does.
        self.acknowledge(task_id)

    def release_dead(self) -> int:
        """Put the tasks held by clusters that run no more back at the head of the queue: of
        this machine, known gone; of any machine, without a lease."""
        prefix = self.held_key("")
        released = 0
        for key in self.connection.scan_iter(match=f"{prefix}*"):
            holder = key.decode()[len(prefix) :]
            if not holder_gone(holder) and self.connection.exists(self.lease_key(holder)):
                continue
            # Last held first onto the head: the queue's order is kept.
            while self.connection.lmove(key, self.list_key, "RIGHT", "LEFT") is not None:
                released += 1
        return released


def release_dead_tasks() -> int:
    """Give back at once the queued tasks taken by a cluster that runs no more; how many."""
    if settings.REDIS_URL:
        broker = get_broker()
        return broker.release_dead() if isinstance(broker, HeldRedis) else 0
    holders = set(TaskClaim.objects.values_list("holder", flat=True).distinct())
    gone = [h for h in holders if holder_gone(h)]
    released = 0
    for claim in TaskClaim.objects.filter(holder__in=gone):
        # Only if the row is still as that cluster locked it: not taken again since.
        released += OrmQ.objects.filter(pk=claim.task_id, lock=claim.lock).update(
            lock=timezone.now()
        )
    TaskClaim.objects.filter(holder__in=gone).delete()
    return released


def run_cluster(grace: float = STOP_GRACE_SECONDS) -> int:
    """Run the task cluster until SIGTERM or SIGINT, then stop it within `grace` seconds.
    Returns how many tasks in hand were ended and went back to the queue."""
    # The schedules are looked at here, every CITY311_SCHEDULER_SECONDS, not by the cluster's
    # sentinel, whose look comes every 30 s whatever it is told.
    Conf.SCHEDULER = False
    cluster = Cluster()
    asked = threading.Event()

    def ask_to_stop(signum: int, frame: FrameType | None) -> None:
        asked.set()

    # In place of the cluster's own handlers, which wait for every task in hand.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, ask_to_stop)
    # The cluster's processes are forked from this one: none shares its database connection.
    connections.close_all()
    cluster.start()
    sentinel = cluster.sentinel
    broker = get_broker() if settings.REDIS_URL else None
    keep = _LeaseKeeper(broker, sentinel.pid) if isinstance(broker, HeldRedis) else None
    look = _SchedulerLook()
    while not asked.wait(0.2):
        if not sentinel.is_alive():
            return 0
        if keep is not None:
            keep.tick()
        look.tick()
    cluster.stop_event.set()
    sentinel.join(grace)
    if not sentinel.is_alive():
        return 0
    for pid in _descendants(os.getpid()):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    sentinel.join()
    return release_dead_tasks()


class _SchedulerLook:
    """Queues the scheduled tasks that are due, every CITY311_SCHEDULER_SECONDS (the first
    look one period after the start, as django-q's own)."""

    def __init__(self) -> None:
        self.every = settings.CITY311_SCHEDULER_SECONDS
        self.next = monotonic() + self.every

    def tick(self) -> None:
        if monotonic() < self.next:
            return
        self.next = monotonic() + self.every
        # django-q's look: a schedule that fails is logged, and the next look tries again.
        scheduler(broker=get_broker())


class _LeaseKeeper:
    """The running cluster's side of the Redis lease: renews its own, and hands back what
    clusters without one held (a worker killed on another machine)."""

    def __init__(self, broker: HeldRedis, sentinel_pid: int | None) -> None:
        self.broker = broker
        self.holder = process_holder(sentinel_pid or os.getpid())
        self.every = settings.CITY311_TASK_LEASE_SECONDS / 3
        self.next = 0.0

    def tick(self) -> None:
        if monotonic() < self.next:
            return
        self.next = monotonic() + self.every
        # Redis away for a moment is not the end of the worker: the next tick tries again.
        try:
            self.broker.renew_lease(self.holder)
            released = self.broker.release_dead()
        except Exception:
            logger.warning("city311 worker: could not renew its lease on Redis", exc_info=True)
            return
        if released:
            logger.warning(
                "city311 worker: tasks a stopped worker had in hand, queued again: %d.", released
            )


def _descendants(pid: int) -> list[int]:
    """Every process below `pid`, read from /proc (Linux); only the children elsewhere."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            text = stat.read_text()
            parents[int(stat.parent.name)] = int(text[text.rindex(")") + 2 :].split()[1])
    if not parents:
        import multiprocessing

        return [p.pid for p in multiprocessing.active_children() if p.pid is not None]
    found, frontier = [], [pid]
    while frontier:
        below = [child for child, parent in parents.items() if parent in frontier]
        found.extend(below)
        frontier = below
    return found
