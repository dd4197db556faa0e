"""The service suggestion on residents' own words: top-1, top-3 and answer time, before and after.

"Before" is the lexical matcher alone (catalog/search.py); "after" is the blend with the learned
model (catalog/classifier.py) the database holds, as the portal, console and API answer. The
set is bench/data/suggest_eval.txt (real Boston and SeeClickFix texts plus hand-written ones, in
the 12 everyday categories of issue 14); none of it is training data.

Needs a database with the demo city and a model (`city311 demo`, or `city311 train_classifier`):

    CITY311_DATA_DIR=... .venv/bin/python bench/classify.py [--train]
"""

from __future__ import annotations

import os
import resource
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import django

HERE = Path(__file__).parent


def read_set() -> list[tuple[str, set[str], str, str]]:
    rows = []
    for line in (HERE / "data" / "suggest_eval.txt").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        category, codes, source, text = (part.strip() for part in line.split("|", 3))
        rows.append((text, set(codes.split()), category, source))
    return rows


def measure(
    name: str, rows: list[tuple[str, set[str], str, str]], suggest: Callable[[str], list[str]]
) -> None:
    top1 = top3 = 0
    times, cpu = [], []
    by_category: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    suggest(rows[0][0])  # built once per catalog snapshot: not an answer's cost
    before = resource.getrusage(resource.RUSAGE_SELF)
    for text, right, category, _source in rows:
        started, started_cpu = time.perf_counter(), time.process_time()
        codes = suggest(text)
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
        top1 += bool(codes[:1] and codes[0] in right)
        top3 += bool(set(codes[:3]) & right)
        by_category[category][0] += bool(codes[:1] and codes[0] in right)
        by_category[category][1] += 1
    after = resource.getrusage(resource.RUSAGE_SELF)
    times.sort()
    cpu.sort()
    p95 = times[int(len(times) * 0.95)] * 1000
    # CPU time too: on a shared, busy machine the wall clock mostly measures the neighbours.
    p95_cpu = cpu[int(len(cpu) * 0.95)] * 1000
    n = len(rows)
    print(
        f"{name:<24} top-1 {top1 / n:6.1%}   top-3 {top3 / n:6.1%}   "
        f"p95 {p95:5.1f} ms (CPU {p95_cpu:4.1f} ms)"
    )
    # Wall beyond CPU is waiting: for the disk or a lock (the process gave up the CPU), or for
    # a core the neighbours hold (it was taken from it). Which, counted by the kernel:
    print(
        f"    wall - CPU over all answers {sum(times) - sum(cpu):.3f} s; the process gave up the "
        f"CPU {after.ru_nvcsw - before.ru_nvcsw} times, had it taken "
        f"{after.ru_nivcsw - before.ru_nivcsw} times; load {_load()}"
    )
    worst = sorted(by_category.items(), key=lambda kv: kv[1][0] / kv[1][1])[:4]
    print("    weakest top-1: " + ", ".join(f"{c} {a}/{b}" for c, (a, b) in worst))


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    sys.path.insert(0, str(HERE.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "city311.settings")
    django.setup()
    from city311.catalog import classifier, search

    if "--train" in sys.argv:
        trained = classifier.train()
        print(f"trained on {sum(trained.examples.values())} examples in {trained.seconds:.0f} s")
    if classifier.current() is None:
        sys.exit("No trained model: run `city311 train_classifier` (or this with --train).")
    rows = read_set()
    print(f"{len(rows)} descriptions, {len({r[2] for r in rows})} categories")
    lexical = search._index(emergencies=False)
    measure(
        "before: lexical only",
        rows,
        lambda text: [t.service_code for t, _ in lexical.suggest(text, limit=3)],
    )
    measure(
        "after: lexical + model",
        rows,
        lambda text: [t.service_code for t, _ in search.suggest(text, limit=3).types],
    )
    # When the answer says it is sure, how often is its first type right?
    sure = [search.suggest(text, limit=1) for text, *_ in rows]
    said = [
        (s.types[0][0].service_code in right)
        for s, (_, right, *_rest) in zip(sure, rows, strict=True)
        if s.sure
    ]
    unsure = [
        bool(s.types and s.types[0][0].service_code in right)
        for s, (_, right, *_rest) in zip(sure, rows, strict=True)
        if not s.sure
    ]
    print(
        f"sure: {len(said)} answers, {sum(said) / max(len(said), 1):.1%} right; "
        f"not sure: {len(unsure)} answers, {sum(unsure) / max(len(unsure), 1):.1%} right"
    )


if __name__ == "__main__":
    main()
