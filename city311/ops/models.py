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


class TaskClaim(models.Model):
    """A task of the database queue (django-q's OrmQ row) that a task cluster has taken.

    django-q locks a row it takes until its retry time (3 minutes) and knows no holder, so the
    tasks in hand of a cluster that was ended (Ctrl-C during a long training, a crash) would
    wait those minutes. `city311.ops.taskqueue` notes who took each, and gives a row back as
    soon as its holder is gone, if the row is still as that holder locked it.
    """

    task_id = models.BigIntegerField(primary_key=True)
    lock = models.DateTimeField()
    # The taking cluster's sentinel process, as `city311.lib.outbox.process_holder` names it.
    holder = models.CharField(max_length=100, db_index=True)

    class Meta:
        verbose_name = "task in hand"
        verbose_name_plural = "tasks in hand"

    def __str__(self) -> str:
        return f"task {self.task_id}"


class Loading(models.Model):
    """Something `city311 up` loads in the background once the site is up (the demo city's
    history), and how far it has come: written by the `up` process after each batch, read by
    every web process for the staff's status page (`city311.ops.loading`)."""

    # What is loading: "history:<city>".
    name = models.CharField(max_length=60, primary_key=True)
    # Where its records come from (the history module's SOURCE: "NYC 311").
    source = models.CharField(max_length=120, blank=True)
    total = models.PositiveIntegerField()
    # Records already in before this run began (a load cut short resumes), and in by now.
    resumed_from = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    failed = models.BooleanField(default=False)

    class Meta:
        verbose_name = "background load"

    def __str__(self) -> str:
        return f"{self.name}: {self.done} of {self.total}"
