"""Back-test of the expected-date forecast (servicerequests/expected.py): on the demo's history,
or on a city's export read straight from its file (`--records`).

Rolling cut-offs (monthly by default, `--step day` for the daily refresh the site runs): at each
cut-off everything is fitted on what was known then and tested on the requests filed before the
next cut-off (servicerequests/backtest.py says how). Printed per month and overall, side by side:
the share of test requests closed within the stated "most are closed within" time (goal
78-82%), and the median absolute error of the point forecast ("typically about") against a
per-type median's from the same training data (goal >= 25% lower), beside a bound: each type's
median in the test period itself, known only in hindsight.

- the demo's history is one-month samples of different years: a cut-off with no request filed
  in the 31 days before it comes after a gap (the demo's January 2020 is fitted on December
  2013); the months that follow their fit are summed apart;
- `--hold-out N`: the last N months are summed apart too: the estimator's constants were chosen
  on the months before them (`--records` on San Francisco's 2008-2018 export, the one continuous
  history in shared/data: ../shared/data/311_records/sf/sf311_bigquery_extract_19cols.csv.gz).

    CITY311_DATA_DIR=... OMP_NUM_THREADS=1 .venv/bin/python bench/expected.py [--step day]
    OMP_NUM_THREADS=1 .venv/bin/python bench/expected.py --records FILE [FILE ...] [--hold-out 12]

The first needs a database with the demo city's history (`city311 demo --no-activity`); the
second needs none.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
from pathlib import Path
from statistics import median

import django


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--step", choices=("month", "day"), default="month")
    parser.add_argument("--records", nargs="+", type=Path, help="read these exports, not the DB")
    parser.add_argument("--hold-out", type=int, default=12, help="the last N months apart")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "city311.settings")
    django.setup()
    from city311.servicerequests import backtest, expected

    if args.records:
        history = backtest.cases_from_files(args.records)
        cases = history.cases
        source = (
            f"{', '.join(p.name for p in args.records)}: {len(history.types)} types, "
            f"{history.skipped} records skipped (no time requested, or closed before it)"
        )
    else:
        cases = expected.cases_from_database()
        source = "the database"
    print(f"{len(cases)} requests from {source}; a cut-off every {args.step}")
    result = backtest.backtest(cases, args.step)
    print(
        "month    judged  covered  told nothing | median abs. error: per-type median  ours"
        "  (lower)  hindsight bound"
    )
    for month, period in sorted(result.periods.items()):
        line = (
            f"{month}  {len(period.covered):6}  "
            f"{sum(period.covered) / max(len(period.covered), 1):7.1%}  {period.told_nothing:12}"
        )
        if period.errors["baseline"]:
            base, ours = median(period.errors["baseline"]), median(period.errors["point"])
            line += (
                f" | {base:31.2f} h {ours:6.2f} h ({1 - ours / base if base else 0:4.0%})"
                f" {median(period.errors['hindsight']):9.2f} h"
            )
        print(line + ("  after a gap" if period.after_gap else ""))
    print("estimate used: " + ", ".join(f"{k} {v}" for k, v in sorted(result.levels.items())))
    months = sorted(result.periods)
    following = [m for m in months if not result.periods[m].after_gap]
    held = months[-args.hold_out :] if args.hold_out else []
    for label, chosen in (
        ("every month", months),
        (f"months following their fit ({len(following)} of {len(months)})", following),
        (f"months before the last {args.hold_out}", months[: -args.hold_out or None]),
        (f"held out: the last {args.hold_out} ({held[0] if held else ''} on)", held),
    ):
        if not chosen or (label.startswith("months before") and not args.hold_out):
            continue
        covered, judged = result.coverage(chosen)
        base, n = result.error("baseline", chosen)
        ours = result.error("point", chosen)[0]
        print(
            f"{label}: 'most are closed within' covers {covered:.2%} of {judged} judged (goal "
            f"78-82%; {result.coverage_raw(chosen):.1%} uncalibrated); median abs. error "
            f"ours {ours:.2f} h vs per-type median {base:.2f} h: "
            f"{result.lower('point', chosen):.0%} lower (goal >= 25%), "
            f"hindsight bound {result.lower('hindsight', chosen):.0%}, "
            f"on {n} closed requests"
        )
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(f"CPU {usage.ru_utime + usage.ru_stime:.1f} s; load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
