"""Backing up and restoring a city: its database and its uploaded photos, in one folder.

A backup folder holds the database (SQLite: a copy made with SQLite's online backup API, safe
while the city runs; PostgreSQL: a `pg_dump` custom-format archive, one consistent snapshot),
the photos under `media/`, and `manifest.json`: what made it (city311, Django, the database
engine and its version, the migrations applied) and a SHA-256 checksum of every file.

Restoring checks all of that before it changes anything: a folder that is not a backup, a file
that does not match its checksum, a backup of the other database engine or one made by a newer
city311 is refused with a message saying what to do. Then the photos are put in place and the
database replaced in one step (SQLite's backup API into the live file; PostgreSQL: the old
tables dropped and the archive loaded in a single transaction), so a failure leaves the city as
it was.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import django
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.loader import MigrationLoader
from tqdm import tqdm

FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_FILE = "database.sqlite3"
POSTGRES_FILE = "database.pgdump"
MEDIA = "media"
Say = Callable[[str], None]


class BackupError(Exception):
    """The backup or restore cannot go on; the message says why and what to do."""


# Backing up


def backup(folder: Path, *, say: Say, progress: bool = True) -> dict[str, Any]:
    """Write a backup of the city into `folder` (new or empty); returns its manifest."""
    if folder.exists() and any(folder.iterdir()):
        raise BackupError(
            f"{folder} is not empty. Back up into a new folder, for example {folder}-2 "
            "(a backup never overwrites another)."
        )
    folder.mkdir(parents=True, exist_ok=True)
    connection = connections[DEFAULT_DB_ALIAS]
    engine = _engine()
    say(f"Backing up the {engine} database…")
    if engine == "sqlite":
        name = SQLITE_FILE
        _sqlite_backup(Path(connection.settings_dict["NAME"]), folder / name, progress=progress)
    else:
        name = POSTGRES_FILE
        _run(["pg_dump", "--format=custom", "--no-owner", "--file", str(folder / name)])
    say("Copying the uploaded photos…")
    files = _copy_tree(Path(settings.MEDIA_ROOT), folder / MEDIA, progress=progress)
    say("Writing checksums…")
    manifest = {
        "format": FORMAT,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "city311_version": _version("city311"),
        "django_version": django.get_version(),
        "database": {"engine": engine, "file": name, "server_version": _server_version()},
        "migrations": sorted(_applied_migrations()),
        "files": {rel: _sha256(folder / rel) for rel in [name, *(f"{MEDIA}/{f}" for f in files)]},
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def _sqlite_backup(source: Path, target: Path, *, progress: bool) -> None:
    src = sqlite3.connect(source)
    dst = sqlite3.connect(target)
    try:
        with tqdm(total=100, unit="%", disable=not progress, desc="database") as bar:

            def step(status: int, remaining: int, total: int) -> None:
                bar.n = round(100 * (total - remaining) / total) if total else 100
                bar.refresh()

            # Pages in batches: other processes may write between them; SQLite restarts the
            # copy if they do, so the result is one consistent moment.
            src.backup(dst, pages=1024, progress=step)
        (result,) = dst.execute("PRAGMA integrity_check").fetchone()
        if result != "ok":
            raise BackupError(
                f"The database copy failed SQLite's integrity check ({result}): the city's own "
                "database may be damaged. Run `city311 dbshell` and `PRAGMA integrity_check;`."
            )
    finally:
        src.close()
        dst.close()


def _copy_tree(source: Path, target: Path, *, progress: bool) -> list[str]:
    """Copy every file under `source`; returns their paths relative to it, sorted."""
    files = sorted(p.relative_to(source).as_posix() for p in source.rglob("*") if p.is_file())
    target.mkdir(parents=True, exist_ok=True)
    for rel in tqdm(files, unit="file", disable=not progress or not files, desc="photos"):
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / rel, target / rel)
    return files


# Restoring


def read_backup(folder: Path) -> dict[str, Any]:
    """The backup's manifest, once every check passes; BackupError says what is wrong."""
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        raise BackupError(
            f"{folder} is not a city311 backup: it has no {MANIFEST}. Give the folder "
            "`city311 backup` wrote."
        )
    try:
        manifest = json.loads(manifest_path.read_text())
        files: dict[str, str] = manifest["files"]
        database = manifest["database"]
        applied = set(manifest["migrations"])
    except (ValueError, KeyError, TypeError):
        raise BackupError(
            f"{manifest_path} is damaged (not the manifest city311 writes). Use another backup."
        ) from None
    if manifest.get("format") != FORMAT:
        raise BackupError(
            f"This backup is in format {manifest.get('format')!r}; this city311 reads format "
            f"{FORMAT}. Restore it with the city311 version that made it "
            f"({manifest.get('city311_version')})."
        )
    for rel, digest in files.items():
        path = folder / rel
        if not path.is_file():
            raise BackupError(f"The backup is incomplete: {rel} is missing. Use another backup.")
        if _sha256(path) != digest:
            raise BackupError(
                f"The backup is damaged: {rel} does not match its checksum. Use another backup."
            )
    extra = [
        p.relative_to(folder).as_posix()
        for p in (folder / MEDIA).rglob("*")
        if p.is_file() and p.relative_to(folder).as_posix() not in files
    ]
    if extra:
        raise BackupError(
            f"The backup has files its manifest does not list ({extra[0]}…): it was changed "
            "after it was made. Use another backup."
        )
    engine = _engine()
    if database.get("engine") != engine:
        raise BackupError(
            f"This is a backup of a {database.get('engine')} database, and this city runs on "
            f"{engine}. Restore it into a city set up with the same kind of database "
            "(DATABASE_URL)."
        )
    unknown = applied - _known_migrations()
    if unknown:
        raise BackupError(
            f"This backup was made by a newer city311 ({manifest.get('city311_version')}: "
            f"it has migration {sorted(unknown)[0]}, which this version does not know). "
            "Install that version, then restore."
        )
    if engine == "postgresql":
        # The archive must be readable by pg_restore before anything is dropped.
        _run(["pg_restore", "--list", str(folder / database["file"])])
    return manifest


def restore(folder: Path, *, say: Say, progress: bool = True) -> dict[str, Any]:
    """Replace the city's database and photos with the backup in `folder`."""
    manifest = read_backup(folder)
    media = Path(settings.MEDIA_ROOT)
    say("Putting the photos in place…")
    with _staged_media(folder / MEDIA, media, progress=progress):
        say(f"Restoring the {manifest['database']['engine']} database…")
        database = folder / manifest["database"]["file"]
        for connection in connections.all():
            connection.close()
        if _engine() == "sqlite":
            _sqlite_restore(database, Path(connections[DEFAULT_DB_ALIAS].settings_dict["NAME"]))
        else:
            _postgres_restore(database)
    return manifest


def _sqlite_restore(backup_file: Path, live: Path) -> None:
    # Through the backup API, not a file copy: the live file keeps its WAL and anyone holding
    # it open sees the restored database at their next transaction.
    src = sqlite3.connect(f"file:{backup_file}?mode=ro", uri=True)
    dst = sqlite3.connect(live, timeout=30)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


def _postgres_restore(archive: Path) -> None:
    connection = connections[DEFAULT_DB_ALIAS]
    with connection.cursor():
        tables = connection.introspection.table_names()
    connection.close()
    quoted = ", ".join(connection.ops.quote_name(t) for t in tables)
    script = subprocess.run(
        ["pg_restore", "--no-owner", "--no-privileges", "--file", "-", str(archive)],
        capture_output=True,
        check=False,
    )
    if script.returncode != 0:
        raise BackupError(f"pg_restore could not read the archive: {_tail(script.stderr)}")
    drop = f"DROP TABLE IF EXISTS {quoted} CASCADE;\n".encode() if tables else b""
    # One transaction: the old tables go and the backup's come back, or nothing changes.
    _run(
        ["psql", "--quiet", "--no-psqlrc", "-v", "ON_ERROR_STOP=1", "-1", "--file", "-"],
        stdin=drop + script.stdout,
    )


@contextmanager
def _staged_media(source: Path, media: Path, *, progress: bool) -> Iterator[None]:
    """Copy the backup's photos beside the live folder, swap them in, and swap back if the
    database restore fails."""
    media.parent.mkdir(parents=True, exist_ok=True)
    staged = Path(tempfile.mkdtemp(prefix=".media-restore-", dir=media.parent))
    _copy_tree(source, staged, progress=progress)
    previous = media.with_name(f".{media.name}-before-restore")
    shutil.rmtree(previous, ignore_errors=True)
    had_media = media.exists()
    if had_media:
        media.rename(previous)
    staged.rename(media)
    try:
        yield
    except BaseException:
        shutil.rmtree(media, ignore_errors=True)
        if had_media:
            previous.rename(media)
        raise
    shutil.rmtree(previous, ignore_errors=True)


# What the city runs


def _engine() -> str:
    vendor = connections[DEFAULT_DB_ALIAS].vendor
    if vendor not in ("sqlite", "postgresql"):
        raise BackupError(f"city311 backs up SQLite and PostgreSQL, not {vendor}.")
    return vendor


def _server_version() -> str:
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor == "sqlite":
        return sqlite3.sqlite_version
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        return str(cursor.fetchone()[0])


def _applied_migrations() -> set[str]:
    loader = MigrationLoader(connections[DEFAULT_DB_ALIAS], ignore_no_migrations=True)
    return {f"{app}.{name}" for app, name in loader.applied_migrations}


def _known_migrations() -> set[str]:
    loader = MigrationLoader(None, ignore_no_migrations=True)
    return {f"{app}.{name}" for app, name in loader.disk_migrations}


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _postgres_env() -> dict[str, str]:
    s = connections[DEFAULT_DB_ALIAS].settings_dict
    env = dict(os.environ)
    for key, name in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER")):
        if s.get(key):
            env[name] = str(s[key])
    if s.get("PASSWORD"):
        env["PGPASSWORD"] = str(s["PASSWORD"])
    env["PGDATABASE"] = str(s["NAME"])
    return env


def _run(command: list[str], *, stdin: bytes | None = None) -> None:
    try:
        done = subprocess.run(
            command, input=stdin, env=_postgres_env(), capture_output=True, check=False
        )
    except FileNotFoundError:
        raise BackupError(
            f"{command[0]} is not installed. Install PostgreSQL's client tools "
            "(Debian: apt-get install postgresql-client) in a version at least the server's."
        ) from None
    if done.returncode != 0:
        raise BackupError(f"{command[0]} failed: {_tail(done.stderr)}")


def _tail(output: bytes) -> str:
    lines = output.decode(errors="replace").strip().splitlines()
    return " / ".join(lines[-3:]) or "no message"
