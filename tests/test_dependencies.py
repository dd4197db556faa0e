"""What city311 ships is pinned, and CI checks the pins for known vulnerabilities.

The lock files (.ci/lock writes them) pin every package at one version with its hashes; the
audit (.ci/audit.py, pip-audit) is run here against a vulnerability database on loopback, and
against none at all, which must be a plain note and not a failure.
"""

from __future__ import annotations

import http.server
import json
import re
import subprocess
import sys
import tempfile
import threading
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

from django.test import SimpleTestCase
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9_.\-\[\]]+)==(\S+)")


def pins(lock: Path) -> dict[str, str]:
    """name → version of every package a lock file pins (each must carry a hash)."""
    text = lock.read_text()
    found: dict[str, str] = {}
    for entry in re.split(r"\n(?=[A-Za-z0-9])", text):
        match = PIN.match(entry)
        if match:
            assert "--hash=sha256:" in entry, f"{lock.name}: {match.group(1)} has no hash"
            found[canonicalize_name(match.group(1).split("[")[0])] = match.group(2)
    return found


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


class LockFileTests(SimpleTestCase):
    def assert_pinned(self, requirements: list[str], locked: dict[str, str], lock: str) -> None:
        for line in requirements:
            required = Requirement(line)
            name = canonicalize_name(required.name)
            with self.subTest(requirement=line):
                self.assertIn(name, locked, f"{lock} does not pin {name}: run .ci/lock")
                self.assertTrue(
                    required.specifier.contains(locked[name], prereleases=True),
                    f"{lock} pins {name}=={locked[name]}, outside {line}: run .ci/lock",
                )

    def test_it_pins_every_dependency_the_project_names_with_hashes(self):
        runtime = pins(ROOT / "requirements.lock")
        self.assert_pinned(project()["dependencies"], runtime, "requirements.lock")
        everything = pins(ROOT / "requirements-test.lock")
        self.assert_pinned(project()["optional-dependencies"]["test"], everything, "test lock")

    def test_it_runs_production_on_the_versions_the_tests_ran_on(self):
        tested = pins(ROOT / "requirements-test.lock")
        for name, version in pins(ROOT / "requirements.lock").items():
            with self.subTest(package=name):
                self.assertEqual(tested.get(name), version)

    def test_a_package_asked_for_with_an_extra_is_pinned_with_it(self):
        """pip 23.2 takes weasyprint's 'fonttools[woff]>=4.59.2' as a requirement of its own and,
        once fonttools has a newer release than the lock's, refuses a --require-hashes install
        of a lock that names it as plain 'fonttools==': a fresh CI install failed so. The lock
        must name each such package with the extra (.ci/lock's WITH_EXTRAS)."""
        for lock in ("requirements-test.lock", "requirements.lock"):
            text = (ROOT / lock).read_text()
            named = {
                canonicalize_name(m.group(1)): set(m.group(2).split(","))
                for m in re.finditer(r"^([A-Za-z0-9_.\-]+)\[([a-z0-9,\-]+)\]==", text, re.M)
            }
            for name in pins(ROOT / lock):
                try:
                    asks = metadata.requires(name) or []
                except metadata.PackageNotFoundError:
                    continue  # for another platform or Python (its marker says so)
                for line in asks:
                    asked = Requirement(line)
                    if not asked.extras or (asked.marker and "extra" in str(asked.marker)):
                        continue
                    wanted = canonicalize_name(asked.name)
                    if wanted not in pins(ROOT / lock):
                        continue
                    with self.subTest(lock=lock, package=wanted, by=name):
                        self.assertTrue(
                            asked.extras <= named.get(wanted, set()),
                            f"{lock} names {wanted} without [{','.join(sorted(asked.extras))}],"
                            f" which {name} asks for: add it to WITH_EXTRAS in .ci/lock",
                        )

    def test_the_readme_and_ci_install_from_the_lock_files(self):
        readme = (ROOT / "README.md").read_text()
        ci = (ROOT / ".ci" / "run").read_text()
        # CI runs the README's command in its two parts: the install once, then pytest on each
        # database.
        parts = dict(re.findall(r'^(INSTALL|RUN_TESTS)="(.+)"$', ci, re.M))
        self.assertIn('TEST_COMMAND="$INSTALL && $RUN_TESTS"', ci)
        test_command = f"{parts['INSTALL']} && {parts['RUN_TESTS']}"
        self.assertIn(test_command, readme, ".ci/run must run the README's command")
        self.assertIn("--require-hashes -r requirements-test.lock", parts["INSTALL"])
        self.assertIn('bash -c "$INSTALL"', ci)
        # The SQLite lane runs the whole command; the PostgreSQL lane leaves out only the
        # tests that start city311 on a SQLite file of their own (they run in the other lane).
        # Each lane adds only its JUnit report (where the time went).
        self.assertEqual(ci.count('bash -c "$RUN_TESTS --junitxml=$data_dir/sqlite.xml"'), 1)
        postgres_lane = (
            'bash -c "$RUN_TESTS -m ' + "'not own_database'" + ' --junitxml=$data_dir/postgres.xml"'
        )
        self.assertEqual(ci.count(postgres_lane), 1)
        self.assertIn("--require-hashes -r requirements.lock", readme)


class FakeOsv(http.server.BaseHTTPRequestHandler):
    """A vulnerability database on loopback that knows one advisory: Django 4.2.0."""

    def do_POST(self) -> None:
        query = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        answer: dict = {}
        if query["package"]["name"] == "django" and query["version"] == "4.2.0":
            affected = {
                "package": {"name": "django", "ecosystem": "PyPI"},
                "ranges": [
                    {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "4.2.1"}]}
                ],
            }
            answer = {
                "vulns": [{"id": "GHSA-0000-test", "summary": "Test", "affected": [affected]}]
            }
        body = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def vulnerability_database() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeOsv)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1/query"
    finally:
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    server = http.server.HTTPServer(("127.0.0.1", 0), FakeOsv)
    port = server.server_address[1]
    server.server_close()
    return port


class AuditTests(SimpleTestCase):
    def audit(self, pinned: dict[str, str], osv_url: str) -> subprocess.CompletedProcess:
        folder = Path(self.enterContext(tempfile.TemporaryDirectory()))
        lock = folder / "requirements.lock"
        lock.write_text(
            "".join(
                f"{name}=={version} \\\n    --hash=sha256:{'0' * 64}\n"
                for name, version in pinned.items()
            )
        )
        command = [sys.executable, str(ROOT / ".ci" / "audit.py"), str(lock), "--"]
        command += ["-s", "osv", "--osv-url", osv_url, "--cache-dir", str(folder / "cache")]
        return subprocess.run(command, capture_output=True, text=True, timeout=120)

    def test_it_fails_on_a_pinned_version_with_a_known_vulnerability(self):
        with vulnerability_database() as url:
            done = self.audit({"django": "4.2.0", "pillow": "12.0.0"}, url)
        self.assertEqual(done.returncode, 1, done.stdout + done.stderr)
        self.assertIn("django 4.2.0: GHSA-0000-test (fixed in 4.2.1)", done.stdout)
        self.assertNotIn("pillow", done.stdout)

    def test_it_passes_pins_with_no_known_vulnerability(self):
        with vulnerability_database() as url:
            done = self.audit({"django": "4.2.1", "pillow": "12.0.0"}, url)
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        self.assertIn("2 pinned packages checked, no known vulnerability", done.stdout)

    def test_it_notes_without_failing_when_the_database_cannot_be_reached(self):
        done = self.audit({"django": "4.2.0"}, f"http://127.0.0.1:{closed_port()}/v1/query")
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        self.assertIn("the vulnerability database could not be reached", done.stdout)
        self.assertIn("NOT checked", done.stdout)
