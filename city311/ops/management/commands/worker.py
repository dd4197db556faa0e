import gc
import os
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django_q.tasks import async_task

from city311.lib.outbox import release_dead_everywhere
from city311.ops.files import protect_data_files
from city311.ops.schedules import OUTBOX_SWEEPS, ensure_schedules
from city311.ops.taskqueue import STOP_GRACE_SECONDS, release_dead_tasks, run_cluster


class Command(BaseCommand):
    help = "Run a task worker: sends notifications and runs periodic work. Start as many as needed."

    def handle(self, *args: Any, **options: Any) -> None:
        # First, so that the cluster's processes, forked below, inherit it.
        lowered = settings.CITY311_WORKER_NICE
        niceness = os.nice(lowered)
        protect_data_files()
        ensure_schedules()
        # A worker restarted after a crash takes back at once what the dead one had claimed.
        released = release_dead_everywhere()
        handed_back = release_dead_tasks()
        broker = "Redis" if settings.REDIS_URL else "the database"
        self.stdout.write(f"city311 worker: taking tasks from {broker}. Ctrl-C stops it.")
        if lowered:
            self.stdout.write(
                f"city311 worker: running at a lower CPU priority (nice {niceness}, "
                f"CITY311_WORKER_NICE={lowered}): web requests come first on a shared machine."
            )
        if released:
            self.stdout.write(
                f"city311 worker: {released} messages claimed by a stopped worker are queued again."
            )
            for sweep in OUTBOX_SWEEPS:
                async_task(sweep)
        if handed_back:
            self.stdout.write(
                f"city311 worker: tasks a stopped worker had in hand, queued again: {handed_back}."
            )
        ended = run_cluster()
        # Exiting, the interpreter's last collections over the libraries' objects took most
        # of a second: what is in memory now is left to the end of the process.
        gc.freeze()
        if ended:
            self.stdout.write(
                f"city311 worker: stopped; tasks still running after {STOP_GRACE_SECONDS:g} s "
                f"were ended and are queued again for the next start: {ended}."
            )
