from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django_q.tasks import async_task

from city311.lib.outbox import release_dead_everywhere
from city311.ops.files import protect_data_files
from city311.ops.schedules import OUTBOX_SWEEPS, ensure_schedules


class Command(BaseCommand):
    help = "Run a task worker: sends notifications and runs periodic work. Start as many as needed."

    def handle(self, *args: Any, **options: Any) -> None:
        protect_data_files()
        ensure_schedules()
        # A worker restarted after a crash takes back at once what the dead one had claimed.
        released = release_dead_everywhere()
        broker = "Redis" if settings.REDIS_URL else "the database"
        self.stdout.write(f"city311 worker: taking tasks from {broker}. Ctrl-C stops it.")
        if released:
            self.stdout.write(
                f"city311 worker: {released} messages claimed by a stopped worker are queued again."
            )
            for sweep in OUTBOX_SWEEPS:
                async_task(sweep)
        call_command("qcluster")
