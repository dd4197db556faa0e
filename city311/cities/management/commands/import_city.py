from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from city311.cities.models import City
from city311.cities.pack.apply import PackRefused, apply_pack
from city311.cities.pack.reader import read_pack
from city311.cities.staff import send_welcome, set_password_link
from city311.lib import languages


class Command(BaseCommand):
    help = (
        "Load a city pack (docs/city-pack.md): the city, its catalog, routing, calendar, staff "
        "and geography. Checked whole first; written in one transaction; safe to run again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("folder", type=Path)
        parser.add_argument(
            "--check", action="store_true", help="Only check the pack; write nothing."
        )
        parser.add_argument(
            "--keep-city",
            action="store_true",
            help="Keep this city's name, time zone, phones, map, branding and geocoder rules; "
            "take only the pack's catalog, routing, calendar, staff, messages and geography "
            "(how a running city adds a starter catalog).",
        )

    def handle(
        self, *args: Any, folder: Path, check: bool, keep_city: bool, **options: Any
    ) -> None:
        quiet = options["verbosity"] == 0
        with tqdm(desc="Checking", unit=" rows", file=self.stderr, disable=quiet) as bar:
            pack = read_pack(folder, progress=bar.update)
        if pack.problems:
            for problem in pack.problems.found:
                self.stderr.write(f"  {problem}")
            raise CommandError(
                f"{len(pack.problems.found)} problem(s) in the pack {folder}; nothing was "
                "written. Fix them and run import_city again (--check to check only)."
            )
        if check:
            self.stdout.write(f"The pack {folder} has no problem.")
            return
        with tqdm(desc="Addresses", unit=" rows", file=self.stderr, disable=quiet) as bar:
            try:
                applied = apply_pack(pack, progress=bar.update, keep_city=keep_city)
            except PackRefused as e:
                raise CommandError(f"{e} Nothing was written.") from None
        name = City.objects.get(pk=1).name
        counts = ", ".join(f"{n} {what}" for what, n in applied.counts.items())
        self.stdout.write(f"City: {name}. {counts or 'The city only.'}")
        self._compare_languages(pack.manifest.get("languages") or ["en"])
        for user in applied.new_users:
            link = set_password_link(user)
            sent = " (e-mailed)" if send_welcome(user, link) else ""
            self.stdout.write(f"  new staff {user.username}: set a password at {link}{sent}")

    def _compare_languages(self, carried: list[str]) -> None:
        """Say which of the city's languages city311's pages have no translation for, and
        whether CITY311_LANGUAGES overrides them."""
        offered = [code for code, _name in settings.LANGUAGES]
        if getattr(settings.LANGUAGES, "override", None) is not None:
            self.stdout.write(
                f"  CITY311_LANGUAGES={','.join(offered)} overrides the pack's languages "
                f"({', '.join(carried)}): unset it to offer the pack's."
            )
        code_has = languages.translated_in_code()
        if untranslated := [code for code in offered if code.split("-")[0] not in code_has]:
            self.stdout.write(
                f"  city311's pages have no {', '.join(untranslated)} translation yet: in "
                "that language residents read the pack's own texts (catalog, answers, "
                "messages) and the pages' other words in English."
            )
