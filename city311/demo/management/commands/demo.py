from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from tqdm import tqdm

from city311.demo import loader
from city311.servicerequests.models import ServiceRequest


class Command(BaseCommand):
    help = (
        "Load or reload the demo city (New York City): geography, catalog, staff, and the real NYC "
        "311 records. Staff passwords are new each time and printed at the end."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--history",
            type=int,
            default=0,
            metavar="N",
            help="Also add N generated historical requests, for reports and benchmarks.",
        )
        parser.add_argument(
            "--no-records",
            action="store_true",
            help="Skip the real NYC records (faster; for tests).",
        )

    def handle(self, *args: Any, history: int, no_records: bool, **options: Any) -> None:
        if history < 0:
            self.stderr.write("--history takes a number of requests, 0 or more.")
            raise SystemExit(2)
        say = self.stdout.write
        departments, types = loader.load_catalog()
        say(f"Catalog: {departments} departments, {types} service types.")
        loader.load_calendar()
        say(f"Boundaries: {loader.load_boundaries()} areas of New York City.")
        with tqdm(
            desc="Addresses", unit=" rows", file=self.stderr, disable=options["verbosity"] == 0
        ) as bar:
            addresses, places, corners = loader.load_addresses(progress=bar.update)
        say(f"Addresses: {addresses} address points, {places} named places, {corners} corners.")
        say(f"Routing: {loader.load_routing()} area rules.")
        if not no_records:
            if ServiceRequest.objects.filter(application="NYC 311 open data").exists():
                say("Real NYC 311 records: already loaded.")
            else:
                total = loader.count_nyc_records()
                with tqdm(
                    total=total,
                    desc="NYC 311 records",
                    unit="req",
                    file=self.stderr,
                    disable=options["verbosity"] == 0,
                ) as bar:
                    loader.load_nyc_history(progress=bar.update)
                say(f"Real NYC 311 records: {total} imported.")
        if history:
            with tqdm(
                total=history,
                desc="Generated history",
                unit="req",
                file=self.stderr,
                disable=options["verbosity"] == 0,
            ) as bar:
                loader.load_generated_history(history, progress=bar.update)
            say(f"Generated history: {history} requests added.")
        signins = loader.load_staff()
        say("Demo sign-ins (user / password / role):")
        for username, password, role in signins:
            say(f"  {username:<10} {password:<22} {role}")
