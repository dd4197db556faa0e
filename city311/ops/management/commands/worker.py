from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from city311.ops.schedules import ensure_schedules


class Command(BaseCommand):
    help = "Run a task worker: sends notifications and runs periodic work. Start as many as needed."

    def handle(self, *args: Any, **options: Any) -> None:
        ensure_schedules()
        broker = "Redis" if settings.REDIS_URL else "the database"
        self.stdout.write(f"city311 worker: taking tasks from {broker}. Ctrl-C stops it.")
        call_command("qcluster")
