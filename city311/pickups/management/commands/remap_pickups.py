from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from tqdm import tqdm

from city311.geo.models import AddressPoint
from city311.pickups.actions import remap_and_follow
from city311.pickups.routes import remap


class Command(BaseCommand):
    help = (
        "Work out again which collection routes serve each address (after routes or their "
        "areas change in the admin; import_city does it itself). Bookings of an address now "
        "on another route move to it; its subscribers are told."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        total = AddressPoint.objects.count()
        quiet = options["verbosity"] == 0
        with tqdm(
            total=total, desc="Addresses", unit=" rows", file=self.stderr, disable=quiet
        ) as bar:
            written, moved = remap_and_follow(lambda: remap(progress=bar.update))
        self.stdout.write(f"{written} address-route pairs for {total} addresses.")
        if moved:
            self.stdout.write(
                f"{len(moved)} booked pickups moved to their address's new route "
                f"({sum(m.bumped for m in moved)} to a later day: theirs was full)."
            )
