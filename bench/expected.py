"""Back-test of the expected-date forecast (servicerequests/expected.py) on the demo's history.

Rolling cut-offs (monthly by default, `--step day` for the daily refresh the site runs): at each
cut-off everything is fitted on what was known then (requests filed before it; a closing after
it is not yet known, so that request counts as still open) and tested on the requests filed
before the next cut-off. The per-type median baseline is computed from the same training data
(closed requests' times, as the issue's baseline).

- coverage: the share of test requests closed within the stated "most are closed within" time
  (goal: 78-82%), as the history has it and as calibrated (`forecast_groups`); an open test
  request counts (as not covered) once it has been open longer than that time, and is left out
  before;
- the point forecast against the per-type median: the median absolute error on the closed test
  requests both can answer (goal: >= 25% lower). The point is the type's densest-half middle
  (what the pages say, from the rollup's newest requests); the same statistic on all the type's
  closed requests is printed too, and a bound: each type's median in the test period itself,
  known only in hindsight;
- the goal's figures are for the months that follow what was fitted ("fit on the past, test
  on the following months"): a cut-off with no request filed in the 31 days before it comes
  after a gap in the history (the demo's January 2020 is fitted on December 2013, six years
  before, and is three quarters of what is judged); such months are printed apart and in the
  figures over every month, never left out silently.

Needs a database with the demo city's history (`city311 demo --no-activity`):

    CITY311_DATA_DIR=... OMP_NUM_THREADS=1 .venv/bin/python bench/expected.py [--step day]
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from statistics import median

import django


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--step", choices=("month", "day"), default="month")
    step = parser.parse_args().step
    sys.path.insert(0, str(Path(__file__).parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "city311.settings")
    django.setup()
    import numpy as np

    from city311.servicerequests import expected

    cases = expected.cases_from_database()
    print(f"{len(cases)} requests in the history; a cut-off every {step}")
    raw_cov: list[bool] = []
    cal_cov: list[bool] = []
    untold = tested = 0
    errors: dict[str, list[float]] = defaultdict(list)
    levels: dict[str, int] = defaultdict(int)
    monthly: dict[str, list[bool]] = defaultdict(list)
    monthly_errors: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    gaps: set[str] = set()  # months tested on a fit that ends more than 31 days before them
    for cutoff, until in _cutoffs(cases, step):
        past = [c for c in cases if c.requested_at < cutoff]
        test = [c for c in cases if cutoff <= c.requested_at < until]
        if not past or not test:
            continue
        if cutoff - max(c.requested_at for c in past) > timedelta(days=31):
            gaps.add(f"{cutoff:%Y-%m}")
        estimates = expected.estimate_groups(past, cutoff)
        factor = expected.calibration_factor(past, cutoff)
        per_type: dict[int, list[float]] = defaultdict(list)
        for c in past:
            if c.closed_at is not None and c.closed_at <= cutoff:
                per_type[c.type_id].append(_hours(c.closed_at - c.requested_at))
        type_median = {t: median(h) for t, h in per_type.items()}
        type_point = {
            t: expected.densest_half_middle(expected.km_curve(np.array(h), np.ones(len(h), bool)))
            for t, h in per_type.items()
        }
        tested += len(test)
        # A bound, not a forecast: each type's median in the test period itself (knowing the
        # future), about the best any per-type figure could have said.
        hindsight: dict[int, list[float]] = defaultdict(list)
        for c in test:
            if c.closed_at is not None:
                hindsight[c.type_id].append(_hours(c.closed_at - c.requested_at))
        hindsight_median = {t: median(h) for t, h in hindsight.items()}
        for c in test:
            chosen = expected.pick(estimates, c.type_id, c.district, c.season)
            if chosen is None:
                untold += 1
                continue
            key, found = chosen
            levels[
                ("type", "type x district", "type x district x season")[bool(key[1]) + bool(key[2])]
            ] += 1
            assert found.most_within_hours is not None
            stated = {"raw": found.most_within_hours, "cal": found.most_within_hours * factor}
            if c.closed_at is not None:
                took = _hours(c.closed_at - c.requested_at)
                covered = {k: took <= v for k, v in stated.items()}
                if found.typical_hours is not None and c.type_id in type_median:
                    errors["baseline"].append(abs(took - type_median[c.type_id]))
                    errors["point"].append(abs(took - found.typical_hours))
                    errors["type point"].append(abs(took - (type_point[c.type_id] or 0.0)))
                    errors["hindsight"].append(abs(took - hindsight_median[c.type_id]))
                    for name in ("baseline", "point", "hindsight"):
                        monthly_errors[f"{cutoff:%Y-%m}"][name].append(errors[name][-1])
            else:
                open_for = _hours(c.open_until - c.requested_at)
                # Still open past the stated time: not covered; before it: not judged yet.
                covered = {k: False for k, v in stated.items() if open_for > v}
            if "raw" in covered:
                raw_cov.append(covered["raw"])
            if "cal" in covered:
                cal_cov.append(covered["cal"])
                monthly[f"{cutoff:%Y-%m}"].append(covered["cal"])
    print("month    judged  coverage (calibrated)  median abs. error: baseline  point  bound")
    for month, found in sorted(monthly.items()):
        pair = monthly_errors[month]
        print(
            f"{month}  {len(found):6}  {sum(found) / len(found):8.1%}"
            + (
                f"  {median(pair['baseline']):27.2f} h {median(pair['point']):6.2f} h"
                f" {median(pair['hindsight']):6.2f} h"
                if pair["baseline"]
                else ""
            )
        )
    print(f"{tested} test requests: {len(cal_cov)} judged for coverage, {untold} told nothing")
    print("estimate used: " + ", ".join(f"{k} {v}" for k, v in sorted(levels.items())))
    print(
        f"'most are closed within' covers {sum(cal_cov) / len(cal_cov):.2%} calibrated "
        f"(goal 78-82%), {sum(raw_cov) / len(raw_cov):.1%} as the history has it"
    )
    base = median(errors["baseline"])
    for name, label in (
        ("point", "point (told)"),
        ("type point", "same statistic per type"),
        ("hindsight", "bound: the test period's own per-type median"),
    ):
        ours = median(errors[name])
        print(
            f"{label}: median absolute error {ours:.2f} h vs per-type median {base:.2f} h: "
            f"{1 - ours / base:.0%} lower{'' if name == 'hindsight' else ' (goal >= 25%)'} "
            f"on {len(errors[name])} closed requests"
        )
    # The goal's figures: the months that follow what was fitted.
    following = [month for month in monthly if month not in gaps]
    rest_cov = [x for month in following for x in monthly[month]]
    print(
        f"months following the fit (after a gap: {', '.join(sorted(gaps)) or 'none'}): "
        f"'most are closed within' covers {sum(rest_cov) / len(rest_cov):.2%} of "
        f"{len(rest_cov)} judged (goal 78-82%)"
    )
    rest = {
        name: [e for month in following for e in monthly_errors[month][name]]
        for name in ("baseline", "point", "hindsight")
    }
    rest_base = median(rest["baseline"])
    print(
        f"months following the fit: point median absolute error {median(rest['point']):.2f} h "
        f"vs per-type median {rest_base:.2f} h: {1 - median(rest['point']) / rest_base:.0%} "
        f"lower (goal >= 25%), bound {1 - median(rest['hindsight']) / rest_base:.0%}, on "
        f"{len(rest['point'])} closed requests"
    )


def _cutoffs(cases: list, step: str) -> Iterator[tuple[datetime, datetime]]:
    from django.utils import timezone

    days = sorted({timezone.localtime(c.requested_at).date() for c in cases})
    if step == "day":
        for day in days:
            start = timezone.make_aware(datetime(day.year, day.month, day.day))
            yield start, start + timedelta(days=1)
        return
    for year, month in sorted({(d.year, d.month) for d in days}):
        yield (
            timezone.make_aware(datetime(year, month, 1)),
            timezone.make_aware(datetime(year + month // 12, month % 12 + 1, 1)),
        )


def _hours(delta: timedelta) -> float:
    return max(delta.total_seconds() / 3600, 0.0)


if __name__ == "__main__":
    main()
