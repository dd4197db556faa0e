"""Emergency triage on the phrasing set: recall, false alarms and speed, per language.

    .venv/bin/python bench/triage.py [phrasings.yaml]

Reads tests/data/triage_phrasings.yaml (or another file of the same shape: `emergency`,
`self_harm` and `ordinary`, each with `en` and `es` lists) with the shipped word lists
(city311/triage/words/) and prints, per language, how many emergencies were prompted, how many
self-harm texts also got the crisis line, how many ordinary problems raised a false alarm, and
the CPU time to read one text (not wall time: a shared machine swings). Goal: every
emergency prompted, at most 2 false alarms in 66.
No database.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from city311.triage.rules import Triage, read

DEFAULT = Path(__file__).resolve().parent.parent / "tests" / "data" / "triage_phrasings.yaml"


def main(path: Path) -> None:
    sets = yaml.safe_load(path.read_text())
    languages = sorted({lang for group in sets.values() for lang in group})
    read("warm up the compiled lists")
    timings: list[float] = []

    def timed(text: str) -> Triage:
        start = time.process_time()
        found = read(text)
        timings.append(time.process_time() - start)
        return found

    print(
        f"{'language':<10}{'emergencies prompted':>24}{'self-harm + crisis':>20}"
        f"{'false alarms':>16}"
    )
    for language in languages:
        urgent = sets.get("emergency", {}).get(language, []) + sets.get("self_harm", {}).get(
            language, []
        )
        harm = sets.get("self_harm", {}).get(language, [])
        ordinary = sets.get("ordinary", {}).get(language, [])
        prompted = [t for t in urgent if timed(t).emergency]
        crisis = [t for t in harm if timed(t).self_harm]
        alarms = [t for t in ordinary if timed(t).emergency]
        print(
            f"{language:<10}{len(prompted):>14} / {len(urgent):<3} {pct(prompted, urgent):>5}"
            f"{len(crisis):>12} / {len(harm):<3}"
            f"{len(alarms):>8} / {len(ordinary):<3} {pct(alarms, ordinary):>5}"
        )
        for text in sorted(set(urgent) - set(prompted)):
            print(f"    missed: {text}")
        for text in alarms:
            print(f"    false alarm: {text}")
    timings.sort()
    p95 = timings[int(len(timings) * 0.95)] * 1000
    print(
        f"\n{len(timings)} texts read; median {statistics.median(timings) * 1000:.2f} ms, "
        f"p95 {p95:.2f} ms"
    )


def pct(part: list[str], whole: list[str]) -> str:
    return f"{100 * len(part) / len(whole):.0f}%" if whole else "-"


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT)
