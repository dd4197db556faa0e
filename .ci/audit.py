"""Check the pinned dependencies for known vulnerabilities with pip-audit.

    .venv/bin/python .ci/audit.py [LOCK_FILE ...] [-- PIP_AUDIT_OPTIONS ...]

Audits requirements-test.lock (every package city311 and its tests install) by default. Exits
1 when a pinned version has a known vulnerability, naming it and the version that fixes it.
When the vulnerability database cannot be reached (no network, a registry mirror without
PyPI's JSON API), it says so plainly and exits 0: the packages were not checked, and CI on a
machine without that network must not fail for it. Anything else that goes wrong fails.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# How pip-audit fails when it cannot talk to its database: requests' and urllib3's errors.
UNREACHABLE = (
    "ConnectionError",
    "ConnectTimeout",
    "ReadTimeout",
    "Max retries exceeded",
    "Failed to establish a new connection",
    "Temporary failure in name resolution",
    "Name or service not known",
    "ServiceError",
    "Could not connect",
)


def run_pip_audit(locks: list[str], options: list[str], out: Path) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "pip_audit", "--disable-pip", "--progress-spinner", "off"]
    for lock in locks:
        command += ["-r", lock]
    command += ["-f", "json", "-o", str(out), *options]
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT)


def unreachable(reason: str, count: int | None = None) -> int:
    what = f"the {count} pinned packages were" if count else "the pinned packages were"
    print(
        f"dependency audit: NOTE: the vulnerability database could not be reached ({reason}); "
        f"{what} NOT checked. Run `.venv/bin/python .ci/audit.py` on a machine that can reach it."
    )
    return 0


def report(found: dict) -> int:
    dependencies = found.get("dependencies", [])
    vulnerable = [d for d in dependencies if d.get("vulns")]
    skipped = [d for d in dependencies if d.get("skip_reason")]
    if vulnerable:
        count = sum(len(d["vulns"]) for d in vulnerable)
        print(f"dependency audit: {count} known vulnerabilities in the pinned packages:")
        for dep in vulnerable:
            for vuln in dep["vulns"]:
                fixed = ", ".join(vuln.get("fix_versions") or []) or "no fixed version yet"
                print(f"  {dep['name']} {dep['version']}: {vuln['id']} (fixed in {fixed})")
        print("Raise each pin (`.ci/lock --upgrade-package NAME`), or drop the package.")
        return 1
    if skipped and len(skipped) == len(dependencies):
        return unreachable(skipped[0]["skip_reason"].split(":")[0], len(dependencies))
    for dep in skipped:
        print(f"dependency audit: note: {dep['name']} not checked: {dep['skip_reason']}")
    checked = len(dependencies) - len(skipped)
    print(f"dependency audit: {checked} pinned packages checked, no known vulnerability.")
    return 0


def main(argv: list[str]) -> int:
    locks, options = argv, []
    if "--" in argv:
        at = argv.index("--")
        locks, options = argv[:at], argv[at + 1 :]
    locks = locks or ["requirements-test.lock"]
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "audit.json"
        done = run_pip_audit(locks, options, out)
        if out.exists() and out.stat().st_size:
            return report(json.loads(out.read_text()))
    last = (done.stderr.strip().splitlines() or ["pip-audit printed nothing"])[-1]
    if any(sign in done.stderr for sign in UNREACHABLE):
        return unreachable(last[:200])
    print(f"dependency audit failed (pip-audit exit {done.returncode}):\n{done.stderr}")
    return done.returncode or 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
