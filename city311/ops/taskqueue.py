"""The task cluster of `city311 worker`: django-q's, stopped promptly, its tasks in hand kept.

Asked to stop, django-q's cluster lets each worker finish the task in hand: a training of the
service suggestion model holds one for most of a minute, so Ctrl-C waited until `up` ended it
(8 s) and the tasks it held stayed locked for django-q's retry time (3 minutes). Here the
cluster gets STOP_GRACE_SECONDS to finish; what is still running then is ended, and each task
it had taken from the database queue goes back at once (`release_dead_tasks`), to run again
on the next start. Tasks are written to be run again (at least once).

With Redis (REDIS_URL) django-q pops a task as it takes it: a task ended in hand there is not
kept, as before.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from pathlib import Path
from time import sleep
from types import FrameType

from django.db import transaction
from django.utils import timezone
from django_q.brokers.orm import ORM
from django_q.cluster import Cluster
from django_q.conf import Conf
from django_q.models import OrmQ

from city311.lib.outbox import holder_gone, process_holder
from city311.ops.models import TaskClaim

# How long a cluster asked to stop may take to finish its tasks in hand.
STOP_GRACE_SECONDS = 1.0


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


def release_dead_tasks() -> int:
    """Give back at once the queued tasks taken by a cluster that runs no more; how many."""
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
    cluster = Cluster()
    asked = threading.Event()

    def ask_to_stop(signum: int, frame: FrameType | None) -> None:
        asked.set()

    # In place of the cluster's own handlers, which wait for every task in hand.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, ask_to_stop)
    cluster.start()
    sentinel = cluster.sentinel
    while not asked.wait(0.2):
        if not sentinel.is_alive():
            return 0
    cluster.stop_event.set()
    sentinel.join(grace)
    if not sentinel.is_alive():
        return 0
    for pid in _descendants(os.getpid()):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    sentinel.join()
    return release_dead_tasks()


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
