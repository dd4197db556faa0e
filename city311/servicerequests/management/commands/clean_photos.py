"""`city311 clean_photos`: re-encode photos stored before every channel cleaned them.

Before, Open311 and the "not fixed" form kept a file Pillow could not decode as sent, with its
EXIF (GPS position, camera). Run once after upgrading; running it again changes nothing.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.core.management.base import BaseCommand

from city311.servicerequests.attachments import reclean
from city311.servicerequests.models import Attachment


class Command(BaseCommand):
    help = "Re-encode stored photos without their metadata; remove those that cannot be decoded."

    def handle(self, *args: Any, **options: Any) -> None:
        total = Attachment.objects.count()
        outcomes: Counter[str] = Counter()
        for n, attachment in enumerate(Attachment.objects.order_by("pk").iterator(), 1):
            outcomes[reclean(attachment)] += 1
            if n % 500 == 0 or n == total:
                self.stdout.write(f"city311: {n:,} of {total:,} photos checked")
        self.stdout.write(
            f"city311: {outcomes['clean']:,} already clean, {outcomes['cleaned']:,} re-encoded "
            f"without metadata, {outcomes['removed']:,} removed (not decodable), "
            f"{outcomes['missing']:,} with no file"
        )
