"""Back-test of the expected-date forecast (servicerequests/expected.py) on the demo's history.

Rolling monthly cut-offs: for each month of the history with requests in it, everything is
fitted on what was known at the start of the month (requests filed before it; a closing after it
is not yet known, so that request counts as still open) and tested on the requests filed in that
month. The per-type median baseline is computed from the same training data (closed requests'
times, as the issue's baseline).

- coverage: the share of test requests closed within the stated "most are closed within" time
  (goal: 78-82%); an open test request counts (as not covered) once it has been open longer than
  that time, and is left out before;
- the point forecast against the per-type median: the median absolute error on the closed test
  requests both can answer (goal: >= 25% lower). Shown for the Kaplan-Meier median of the
  group the range comes from (what the pages said before) and for the point model.

Needs a database with the demo city's history (`city311 demo --no-activity`):

    CITY311_DATA_DIR=... OMP_NUM_THREADS=1 .venv/bin/python bench/expected.py
"""

from __future__ import annotations

import os
import sys
import time
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from statistics import median

import django


def main() -> None:
    sys.path.insert(0, str(Path(__file__).parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "city311.settings")
    django.setup()
    from django.utils import timezone

    from city311.servicerequests import expected

    cases = expected.with_backlog(expected.cases_from_database())
    print(f"{len(cases)} requests in the history")
    months = sorted(
        {
            (timezone.localtime(c.requested_at).year, timezone.localtime(c.requested_at).month)
            for c in cases
        }
    )
    covered = judged = untold = tested = 0
    km_errors: list[float] = []
    point_errors: list[float] = []
    base_errors: list[float] = []
    levels: dict[str, int] = defaultdict(int)
    predict_seconds, predicted = 0.0, 0
    print("month    trained  tested  untold  coverage  median abs. error: baseline  KM  model")
    for year, month in months:
        cutoff = _month_start(year, month)
        until = _month_start(year + month // 12, month % 12 + 1)
        past = [c for c in cases if c.requested_at < cutoff]
        test = [c for c in cases if cutoff <= c.requested_at < until]
        if not past:
            continue
        estimates = expected.estimate_groups(past, cutoff)
        point = expected.fit_point(past, cutoff)
        per_type: dict[int, list[float]] = defaultdict(list)
        for c in past:
            if c.closed_at is not None and c.closed_at <= cutoff:
                per_type[c.type_id].append(_hours(c.closed_at - c.requested_at))
        type_median = {t: median(h) for t, h in per_type.items() if h}
        m_cov = m_judged = m_untold = 0
        m_base: list[float] = []
        m_km: list[float] = []
        m_point: list[float] = []
        started = time.perf_counter()
        points = point.hours(test) if point is not None and test else None
        predict_seconds += time.perf_counter() - started
        predicted += len(test) if points is not None else 0
        for i, c in enumerate(test):
            chosen = expected.pick(estimates, c.type_id, c.district, c.season)
            if chosen is None:
                m_untold += 1
                continue
            key, found = chosen
            levels[
                ("type", "type x district", "type x district x season")[bool(key[1]) + bool(key[2])]
            ] += 1
            assert found.most_within_hours is not None
            if c.closed_at is not None:
                took = _hours(c.closed_at - c.requested_at)
                m_judged += 1
                m_cov += took <= found.most_within_hours
                if (
                    found.typical_hours is not None
                    and c.type_id in type_median
                    and points is not None
                ):
                    m_base.append(abs(took - type_median[c.type_id]))
                    m_km.append(abs(took - found.typical_hours))
                    m_point.append(abs(took - float(points[i])))
            elif _hours(c.open_until - c.requested_at) > found.most_within_hours:
                m_judged += 1  # still open past the stated time: not covered
        print(
            f"{year}-{month:02}  {len(past):7}  {len(test):6}  {m_untold:6}  "
            + (f"{m_cov / m_judged:8.1%}" if m_judged else "       -")
            + (
                f"  {median(m_base):25.1f} h {median(m_km):5.1f} h {median(m_point):5.1f} h"
                if m_base
                else ""
            )
        )
        covered, judged, untold = covered + m_cov, judged + m_judged, untold + m_untold
        tested += len(test)
        base_errors += m_base
        km_errors += m_km
        point_errors += m_point
    print(f"{tested} test requests: {judged} judged for coverage, {untold} told nothing")
    print("estimate used: " + ", ".join(f"{k} {v}" for k, v in sorted(levels.items())))
    print(f"'most are closed within' covers {covered / judged:.1%} (goal 78-82%)")
    base = median(base_errors)
    for name, errors in (("Kaplan-Meier median", km_errors), ("point model", point_errors)):
        ours = median(errors)
        print(
            f"{name}: median absolute error {ours:.2f} h vs per-type median {base:.2f} h: "
            f"{1 - ours / base:.0%} lower (goal >= 25%) on {len(errors)} closed requests"
        )
    print(f"point model: {predict_seconds / max(predicted, 1) * 1e6:.0f} us a request (batched)")


def _month_start(year: int, month: int) -> datetime:
    from django.utils import timezone

    return timezone.make_aware(datetime(year, month, 1))


def _hours(delta: timedelta) -> float:
    return max(delta.total_seconds() / 3600, 0.0)


if __name__ == "__main__":
    main()
