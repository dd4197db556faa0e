from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from tqdm import tqdm

from city311.cities.pack.apply import PackRefused
from city311.demo import activity, loader
from city311.demo.loader import learn_from_history
from city311.reports import openlines


class Command(BaseCommand):
    # `city311 up` shows the sign-ins itself, once the site is up, and loads the history then.
    stealth_options = ("show_signins", "history_later")
    help = (
        "Load or reload a demo city from its city pack (city311/demo/cities/NAME): geography, "
        "catalog, staff and its real history. Staff passwords are new each time and printed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--city",
            default=loader.DEFAULT_CITY,
            metavar="NAME",
            help=f"Which demo city: {', '.join(loader.cities())} (default {loader.DEFAULT_CITY}).",
        )
        parser.add_argument(
            "--history",
            type=int,
            default=0,
            metavar="N",
            help="Also add N generated historical requests, for reports and benchmarks.",
        )
        parser.add_argument(
            "--no-activity",
            action="store_true",
            help="Do not generate the last 90 days of requests (city311.demo.activity).",
        )
        parser.add_argument(
            "--no-records",
            action="store_true",
            help="Skip the city's real historical records (faster; for tests).",
        )

    def handle(
        self,
        *args: Any,
        city: str,
        history: int,
        no_records: bool,
        no_activity: bool,
        **options: Any,
    ) -> None:
        if history < 0:
            raise CommandError("--history takes a number of requests, 0 or more.")
        try:
            loader.pack_folder(city)
        except loader.NoSuchCity as e:
            raise CommandError(str(e)) from None
        self.verbosity = options["verbosity"]
        say, quiet = self.stdout.write, self.verbosity == 0
        if _not_migrated():
            # A fresh data folder: `up` prepares the database itself; `demo` alone did not, and
            # stopped on "no such table".
            say("The database has no schema yet: preparing it first.")
            call_command("prepare_database", stdout=self.stdout, verbosity=self.verbosity)
        # The bars redraw their line with "\r": not through Django's OutputWrapper, which ends
        # every write with a newline and so printed each redraw as a new bar.
        # `up` hands its own wrapper in, which call_command wraps again: unwrap them all.
        bars: Any = self.stderr
        while hasattr(bars, "_out"):
            bars = bars._out
        with tqdm(desc="Addresses", unit=" rows", file=bars, disable=quiet) as bar:
            try:
                applied = loader.load_pack(city, progress=bar.update)
            except PackRefused as e:
                raise CommandError(str(e)) from None
        counts = ", ".join(f"{n} {what}" for what, n in applied.counts.items())
        say(f"City pack {city}: {counts}.")
        has_history = loader.history_module(city) is not None
        # Read once, held in memory: the bar knows its total, and the activity its shape.
        records = list(loader.history_records(city)) if has_history else []
        if not no_records:
            self._history(city, records, later=options.get("history_later", False), bars=bars)
        if not no_activity:
            if activity.has_live_requests():
                say("Recent activity: the city has live requests already; none generated.")
            else:
                made = activity.load_activity(history=records or None)
                say(f"Recent activity: {made} requests of the last {activity.DAYS} days.")
        if history:
            with tqdm(
                total=history, desc="Generated history", unit="req", file=bars, disable=quiet
            ) as bar:
                loader.load_generated_history(history, progress=bar.update, city=city)
            say(f"Generated history: {history} requests added.")
            # The open data's lines of the whole history, set-based (PostgreSQL; the stream's
            # consumer would otherwise render them a batch of events at a time).
            openlines.rebuild()
        if not options.get("history_later", False):
            learn_from_history()
            say("Service suggestion model and expected closing times: queued for the worker.")
        signins = loader.set_demo_passwords(loader.staff_usernames(city))
        if not options.get("show_signins", True):
            return
        say("Demo sign-ins (user / password / role):")
        for username, password, role in signins:
            say(f"  {username:<10} {password:<22} {role}")

    def _history(self, city: str, records: list[Any], *, later: bool, bars: Any) -> None:
        module, say = loader.history_module(city), self.stdout.write
        if module is None:
            say("History: this demo city has none.")
        elif (done := loader.history_imported(city)) >= len(records):
            say(f"History ({module.SOURCE}): already loaded.")
        elif later:
            say(f"History ({module.SOURCE}): {len(records)} records, loaded once the site is up.")
        else:
            quiet = self.verbosity == 0
            with tqdm(
                total=len(records),
                initial=done,
                desc="History",
                unit="req",
                file=bars,
                disable=quiet,
            ) as bar:
                loader.load_history(city, progress=bar.update, records=records)
            say(f"History ({module.SOURCE}): {len(records)} records imported.")


def _not_migrated() -> bool:
    executor = MigrationExecutor(connection)
    return bool(executor.migration_plan(executor.loader.graph.leaf_nodes()))
