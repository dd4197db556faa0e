"""`city311 backup DIR` and `city311 restore DIR`, run as an operator runs them (separate
processes on the test database): back up a city, change it, restore, and it is as it was; a
backup taken while requests are being filed is one consistent moment; a damaged, foreign or
newer backup is refused before anything changes. Runs on SQLite and on PostgreSQL (CI runs the
suite on both)."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connections
from django.test import TransactionTestCase, override_settings
from PIL import Image

from city311.servicerequests import actions
from city311.servicerequests.intake import submit_request
from city311.servicerequests.models import Attachment, RequestEvent, ServiceRequest
from city311.servicerequests.validation import Submission
from city311.test import CityMixin
from tests.helpers import city311_env, run_city311

# Waits on other processes and the clock: first, so parallel workers fill the wait.
pytestmark = pytest.mark.waits


def jpeg(colour: str) -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(out, "JPEG")
    return SimpleUploadedFile("hole.jpg", out.getvalue(), content_type="image/jpeg")


@pytest.mark.usefixtures("tmp_path_attr")
class BackupTests(CityMixin, TransactionTestCase):
    @pytest.fixture
    def tmp_path_attr(self, tmp_path):
        self.tmp = tmp_path

    def setUp(self):
        self.media = self.tmp / "data" / "media"
        self.media.mkdir(parents=True)
        self.settings = override_settings(MEDIA_ROOT=str(self.media))
        self.settings.enable()
        self.make_city()
        self.pothole_with_photo = self.file(photo="black")
        self.other = self.file()

    def tearDown(self):
        self.settings.disable()

    def file(self, *, photo: str | None = None) -> ServiceRequest:
        sub = Submission(
            service_code="pothole",
            channel="web",
            lat=40.6782,
            long=-73.9442,
            description="Deep hole by the curb",
            answers={"size": "large"},
            email="rosa@example.org",
        )
        return submit_request(sub, photos=[jpeg(photo)] if photo else [])

    def city311(self, *args: str):
        env = city311_env(CITY311_DATA_DIR=str(self.tmp / "data"))
        for connection in connections.all():
            connection.close()
        return run_city311(*args, env=env, timeout=300)

    def state(self) -> tuple[str, dict[str, str]]:
        """Every row of the city (as dumpdata writes it) and every photo's checksum."""
        for connection in connections.all():
            connection.close()
        rows = io.StringIO()
        call_command("dumpdata", stdout=rows, exclude=["sessions"], indent=0)
        photos = {
            p.relative_to(self.media).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in self.media.rglob("*")
            if p.is_file()
        }
        return rows.getvalue(), photos

    def back_up(self) -> Path:
        folder = self.tmp / "backup"
        done = self.city311("backup", str(folder))
        assert done.returncode == 0, done.stderr
        assert "Backed up the" in done.stdout
        return folder

    def test_a_city_backed_up_changed_and_restored_is_as_it_was(self):
        before = self.state()
        assert len(before[1]) == 1
        folder = self.back_up()
        # The city goes on: a new request with a photo, a closing, a photo lost, a person gone.
        self.file(photo="red")
        actions.close_request(self.other, resolution="completed", note="Filled.", by=self.dana)
        Path(Attachment.objects.get(request=self.pothole_with_photo).file.path).unlink()
        self.pat.delete()
        assert self.state() != before
        done = self.city311("restore", str(folder), "--yes")
        assert done.returncode == 0, done.stderr
        assert "Restored the backup" in done.stdout
        assert self.state() == before

    def test_a_backup_taken_while_requests_are_filed_is_one_moment(self):
        stop = threading.Event()
        filed: list[int] = []
        failures: list[BaseException] = []

        def keep_filing():
            try:
                while not stop.is_set():
                    filed.append(self.file().pk)
            except BaseException as e:  # reported below
                failures.append(e)
            finally:
                connections.close_all()

        writer = threading.Thread(target=keep_filing)
        writer.start()
        try:
            folder = self.back_up()
        finally:
            stop.set()
            writer.join()
        assert not failures, failures
        assert filed, "nothing was filed while the backup ran"
        done = self.city311("restore", str(folder), "--yes")
        assert done.returncode == 0, done.stderr
        for connection in connections.all():
            connection.close()
        restored = set(ServiceRequest.objects.values_list("pk", flat=True))
        assert {self.pothole_with_photo.pk, self.other.pk} <= restored
        # Whole filings only: each restored request has its history, and the ones filed
        # before any missing one are all there.
        submitted = set(
            RequestEvent.objects.filter(kind="request.submitted").values_list(
                "request_id", flat=True
            )
        )
        assert restored <= submitted
        kept = [pk for pk in filed if pk in restored]
        assert kept == filed[: len(kept)]

    def restore_in_process(self, folder: Path) -> str:
        """Restore through the command in this process; returns its error."""
        with pytest.raises(CommandError) as refused:
            call_command("restore", str(folder), "--yes", verbosity=0)
        return str(refused.value)

    def test_a_damaged_foreign_or_newer_backup_is_refused_and_nothing_changes(self):
        made = self.back_up()

        def variant(name: str) -> tuple[Path, dict]:
            folder = self.tmp / name
            shutil.copytree(made, folder)
            return folder, json.loads((folder / "manifest.json").read_text())

        self.file(photo="red")
        before = self.state()

        damaged, manifest = variant("damaged")
        database = damaged / manifest["database"]["file"]
        data = bytearray(database.read_bytes())
        data[len(data) // 2] ^= 0xFF
        database.write_bytes(bytes(data))
        assert f"{database.name} does not match its checksum" in self.restore_in_process(damaged)

        added, _ = variant("added")
        (added / "media" / "extra.jpg").write_bytes(b"not ours")
        assert "files its manifest does not list" in self.restore_in_process(added)

        foreign, manifest = variant("foreign")
        ours = manifest["database"]["engine"]
        manifest["database"]["engine"] = "postgresql" if ours == "sqlite" else "sqlite"
        (foreign / "manifest.json").write_text(json.dumps(manifest))
        assert f"and this city runs on {ours}" in self.restore_in_process(foreign)

        newer, manifest = variant("newer")
        manifest["migrations"].append("servicerequests.9999_from_the_future")
        (newer / "manifest.json").write_text(json.dumps(manifest))
        error = self.restore_in_process(newer)
        assert "made by a newer city311" in error and "9999_from_the_future" in error

        error = self.restore_in_process(self.tmp / "data")
        assert "is not a city311 backup: it has no manifest.json" in error

        assert self.state() == before

    def test_restore_asks_first_and_an_unanswered_question_changes_nothing(self):
        folder = self.back_up()
        self.file(photo="red")
        before = self.state()
        for connection in connections.all():
            connection.close()
        done = subprocess.run(
            [sys.executable, "-m", "city311", "restore", str(folder)],
            env=city311_env(CITY311_DATA_DIR=str(self.tmp / "data")),
            input="",  # nobody there to answer
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode != 0
        assert "Type 'restore' to go on" in done.stdout
        assert "Nothing was changed" in done.stderr
        assert self.state() == before

    def test_a_backup_never_overwrites_another(self):
        folder = self.tmp / "backup"
        folder.mkdir()
        (folder / "manifest.json").write_text("{}")
        with pytest.raises(CommandError, match="is not empty"):
            call_command("backup", str(folder), verbosity=0)
        assert (folder / "manifest.json").read_text() == "{}"
