"""Send dead-lettered webhook posts again: `city311 replay_webhooks [--endpoint NAME] [ids]`."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from city311.lib.outbox import OutboxStatus
from city311.webhooks import tasks
from city311.webhooks.models import WebhookPost


class Command(BaseCommand):
    help = "Send failed webhook posts (the dead letter) again, with the same webhook-id."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("ids", nargs="*", type=int, help="posts to send again (any status)")
        parser.add_argument("--endpoint", help="only the dead letters of this endpoint (name)")

    def handle(self, *args: Any, **options: Any) -> None:
        posts = WebhookPost.objects.all()
        if options["ids"]:
            posts = posts.filter(pk__in=options["ids"])
        else:
            posts = posts.filter(status=OutboxStatus.FAILED)
        if options["endpoint"]:
            posts = posts.filter(endpoint__name=options["endpoint"])
            if (
                not posts.exists()
                and not WebhookPost.objects.filter(endpoint__name=options["endpoint"]).exists()
            ):
                raise CommandError(f"No posts to an endpoint named {options['endpoint']!r}.")
        count = tasks.replay(posts)
        self.stdout.write(f"{count} post(s) will be sent again.")
