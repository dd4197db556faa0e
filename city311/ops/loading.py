"""What `city311 up` loads in the background once the site is up, and how far it has come.

The demo city's history loads after the first page (ops/management/commands/up.py): the
`up` process writes a `Loading` row after each batch, and the staff's status page
(`/status/loading/`, any web process) reads it: what is loading, how far, at what pace, and
when it will be done. The site serves residents and staff meanwhile; what they file is live
work, never history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import F
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from city311.ops.models import Loading


class Tracker:
    """Records one load's progress; call it with each batch's count (a `progress` callback)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, records: int) -> None:
        # F(): the count is the database's, whoever else reads or writes the row meanwhile.
        Loading.objects.filter(name=self.name).update(
            done=F("done") + records, updated_at=timezone.now()
        )

    def finished(self) -> None:
        now = timezone.now()
        Loading.objects.filter(name=self.name).update(finished_at=now, updated_at=now)

    def failed(self) -> None:
        Loading.objects.filter(name=self.name).update(failed=True, updated_at=timezone.now())


def begin(name: str, *, source: str, total: int, done: int = 0) -> Tracker:
    """A load of `total` records starts (again), `done` of them already in."""
    now = timezone.now()
    Loading.objects.update_or_create(
        name=name,
        defaults={
            "source": source,
            "total": total,
            "resumed_from": done,
            "done": done,
            "started_at": now,
            "updated_at": now,
            "finished_at": None,
            "failed": False,
        },
    )
    return Tracker(name)


@dataclass
class Shown:
    """One load as the status page words it, in the page's language."""

    what: str
    state: str  # "loading", "done" or "stopped"
    percent: int
    said: str
    pace: str


def _number(n: int | float) -> str:
    return formats.number_format(round(n), force_grouping=True)


def _duration(seconds: float) -> str:
    if seconds < 60:
        n = max(1, round(seconds))
        return ngettext("%(n)s second", "%(n)s seconds", n) % {"n": n}
    minutes = round(seconds / 60)
    if minutes < 60:
        return ngettext("%(n)s minute", "%(n)s minutes", minutes) % {"n": minutes}
    hours, minutes = divmod(minutes, 60)
    return _("%(h)s h %(m)s min") % {"h": hours, "m": minutes}


def _clock(moment: datetime) -> str:
    return formats.time_format(timezone.localtime(moment), "TIME_FORMAT")


def _one_stop(sentence: str) -> str:
    """A sentence that ends with a time in "p.m." ends with one full stop, not two."""
    return sentence[:-1] if sentence.endswith("..") else sentence


def _what(load: Loading) -> str:
    if load.name.startswith("history:"):
        return _("The demo city's history (%(source)s)") % {"source": load.source}
    return load.name


def shown(load: Loading) -> Shown:
    """How far `load` has come, at what pace, and when it will be done."""
    counts = {"done": _number(load.done), "total": _number(load.total)}
    percent = load.done * 100 // load.total if load.total else 100
    if load.finished_at is not None:
        took = (load.finished_at - load.started_at).total_seconds()
        said = _one_stop(
            _("%(total)s records loaded in %(took)s, at %(time)s.")
            % {
                "total": counts["total"],
                "took": _duration(took),
                "time": _clock(load.finished_at),
            }
        )
        return Shown(_what(load), "done", 100, said, "")
    if load.failed:
        said = (
            _(
                "Stopped at %(done)s of %(total)s records: see the log of `city311 up`. "
                "The next start resumes where it stopped."
            )
            % counts
        )
        return Shown(_what(load), "stopped", percent, said, "")
    said = _("%(done)s of %(total)s records loaded (%(percent)s%%).") % {
        **counts,
        "percent": percent,
    }
    loaded = load.done - load.resumed_from
    seconds = (load.updated_at - load.started_at).total_seconds()
    if loaded <= 0 or seconds <= 0:
        return Shown(
            _what(load), "loading", percent, said, _("Starting: the first batch is being written.")
        )
    rate = loaded / seconds
    left = (load.total - load.done) / rate
    pace = _one_stop(
        _("About %(rate)s records a second: about %(left)s left, done around %(time)s.")
        % {
            "rate": _number(rate),
            "left": _duration(left),
            "time": _clock(load.updated_at + timedelta(seconds=left)),
        }
    )
    return Shown(_what(load), "loading", percent, said, pace)


def status() -> list[Shown]:
    """Every load `up` has run on this database, the latest first."""
    return [shown(load) for load in Loading.objects.order_by("-started_at")]
