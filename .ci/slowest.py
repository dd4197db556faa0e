"""The 25 test files that took longest in a JUnit XML report, with their share of the lane.

python .ci/slowest.py report.xml
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from collections import defaultdict


def main(path: str) -> None:
    seconds: dict[str, float] = defaultdict(float)
    tests: dict[str, int] = defaultdict(int)
    for case in ET.parse(path).getroot().iter("testcase"):
        name = case.get("classname", "").split(".")
        # tests.browser.test_map or tests.test_cli.WorkerTests: the module is what a worker gets.
        module = ".".join(part for part in name if not part[:1].isupper())
        seconds[module] += float(case.get("time") or 0)
        tests[module] += 1
    total = sum(seconds.values()) or 1.0
    print(f"{len(tests)} files, {sum(tests.values())} tests, {total:.0f} s summed over workers")
    for module, spent in sorted(seconds.items(), key=lambda kv: -kv[1])[:25]:
        print(f"  {spent:7.1f} s {100 * spent / total:5.1f}%  {tests[module]:4d} tests  {module}")


if __name__ == "__main__":
    main(sys.argv[1])
