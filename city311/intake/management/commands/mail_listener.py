import time
from typing import Any

from aiosmtpd.controller import Controller
from django.core.management.base import BaseCommand, CommandParser

from city311.intake.mailin import Handler


class Command(BaseCommand):
    help = "Receive mail to 311 by SMTP (put it behind the city's mail relay)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=2525)

    def handle(self, *args: Any, **options: Any) -> None:
        controller = Controller(Handler(), hostname=options["host"], port=options["port"])
        controller.start()
        self.stdout.write(f"listening on {options['host']}:{options['port']}")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            controller.stop()
