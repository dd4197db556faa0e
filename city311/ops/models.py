from __future__ import annotations

from django.db import models


class RateCounter(models.Model):
    """One rate limit's count for one window, when there is no Redis to count in.

    Written only by `city311.lib.ratelimit` with one atomic upsert a check; rows of windows
    that have ended are swept by `sweep_rate_counters`.
    """

    # "<scope>:<hash of who>:<window number>": never an address, e-mail or phone as such.
    name = models.CharField(max_length=120, primary_key=True)
    count = models.PositiveIntegerField(default=0)
    # When the window ends, in seconds since the epoch: the sweep deletes rows past it.
    expires = models.BigIntegerField(db_index=True)

    class Meta:
        verbose_name = "rate limit counter"

    def __str__(self) -> str:
        return f"{self.name}: {self.count}"
