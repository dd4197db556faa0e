"""Back-test of the expected-date forecast (servicerequests/expected.py) on the demo's history.

For each cut-off, the estimator is fitted on what was known then (requests filed before it; a
closing after it is not yet known, so that request counts as still open) and tested on the
requests filed in the month after it:

- coverage: the share of test requests closed within the stated "most are closed within" time
  (goal: 78-82%); an open test request counts once it has been open longer than that time;
- the point forecast (the group's Kaplan-Meier median) against a per-type median of the closed
  requests' times: the median absolute error, and how much lower it is (goal: >= 25% lower).

Needs a database with the demo city's history (`city311 demo`):

    CITY311_DATA_DIR=... .venv/bin/python bench/expected.py
"""

from __future__ import annotations

import os
import sys
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import median

import django

# (cut-off, end of its test period). The demo history's one long, complete stretch is 2020
# (16,000 requests in January, 1,200 from February to September, closing dates known for 98%):
# week by week through January, then February onwards on everything before. The later files
# are one- or two-day exports in which half the requests were still open when exported, at a
# time they do not give: their outcomes are unknown, so they are fitted on, not tested.
CUTOFFS = [
    (
        datetime(2020, 1, 1, tzinfo=UTC) + timedelta(hours=h),
        datetime(2020, 1, 1, tzinfo=UTC) + timedelta(hours=h + 12),
    )
    for h in range(24, 96, 12)
] + [(datetime(2020, 1, 5, tzinfo=UTC), datetime(2020, 10, 1, tzinfo=UTC))]


def main() -> None:
    sys.path.insert(0, str(Path(__file__).parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "city311.settings")
    django.setup()
    from city311.servicerequests import expected

    cases = expected.cases_from_database()
    print(f"{len(cases)} requests in the history")
    covered = judged = 0
    errors: list[float] = []
    baseline_errors: list[float] = []
    levels: dict[str, int] = defaultdict(int)
    untold = 0
    for cutoff, until in CUTOFFS:
        past = [c for c in cases if c.requested_at < cutoff]
        estimates = expected.estimate_groups(past, cutoff)
        per_type: dict[int, list[float]] = defaultdict(list)
        for c in past:
            if c.closed_at is not None and c.closed_at <= cutoff:
                per_type[c.type_id].append(_hours(c.closed_at - c.requested_at))
        type_median = {t: median(h) for t, h in per_type.items() if h}
        month = [c for c in cases if cutoff <= c.requested_at < until]
        for c in month:
            chosen = expected.pick(estimates, c.type_id, c.district, c.season)
            if chosen is None:
                untold += 1
                continue
            key, found = chosen
            levels[
                ("type", "type x district", "type x district x season")[bool(key[1]) + bool(key[2])]
            ] += 1
            assert found.most_within_hours is not None
            if c.closed_at is not None:
                took = _hours(c.closed_at - c.requested_at)
                judged += 1
                covered += took <= found.most_within_hours
                if found.typical_hours is not None and c.type_id in type_median:
                    errors.append(abs(took - found.typical_hours))
                    baseline_errors.append(abs(took - type_median[c.type_id]))
            elif _hours(c.open_until - c.requested_at) > found.most_within_hours:
                judged += 1  # still open past the stated time: not covered
    print(f"{len(CUTOFFS)} cut-offs; {judged} test requests judged, {untold} told nothing")
    print("estimate used: " + ", ".join(f"{k} {v}" for k, v in sorted(levels.items())))
    print(f"'most are closed within' covers {covered / judged:.1%} (goal 78-82%)")
    ours, base = median(errors), median(baseline_errors)
    print(
        f"point forecast median absolute error {ours:.1f} h vs per-type median {base:.1f} h: "
        f"{1 - ours / base:.0%} lower (goal >= 25%) on {len(errors)} closed requests"
    )


def _hours(delta: timedelta) -> float:
    return max(delta.total_seconds() / 3600, 0.0)


if __name__ == "__main__":
    main()
