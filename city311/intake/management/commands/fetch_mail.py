from typing import Any

from django.core.management.base import BaseCommand

from city311.intake.mailin import fetch_mail


class Command(BaseCommand):
    help = "Read the unseen messages of the 311 mailbox (CITY311_MAIL_IMAP_*) and handle each."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"{fetch_mail()} messages read")
