"""Files under DATA_DIR hold residents' personal data: only city311's own user reads them.

The SQLite database (and the -wal and -shm files SQLite creates with the database's mode), the
e-mails and texts written to files by a local run, are created 0600 in folders of mode 0700.
`city311 up` and `city311 worker` also set the umask to 077, so every file they and their
children write (a mail file, a photo) starts private.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from django.conf import settings

PRIVATE_UMASK = 0o077


def private_folders() -> list[Path]:
    """Folders of files that name residents, when city311 writes them locally."""
    folders = [Path(settings.CITY311_SMS_FILE_PATH)]
    if getattr(settings, "EMAIL_FILE_PATH", None):
        folders.append(Path(settings.EMAIL_FILE_PATH))
    return folders


def sqlite_files() -> list[Path]:
    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.sqlite3":
        return []
    path = Path(str(database["NAME"]))
    return [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]


def protect_data_files() -> None:
    """Create the private folders and the SQLite file private; make existing ones private."""
    os.umask(PRIVATE_UMASK)
    for folder in private_folders():
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o700)
    files = sqlite_files()
    if files and not files[0].exists():
        files[0].parent.mkdir(parents=True, exist_ok=True)
        # Before Django connects: SQLite would create it with the process's umask.
        os.close(os.open(files[0], os.O_CREAT | os.O_WRONLY, 0o600))
    for path in files:
        with contextlib.suppress(FileNotFoundError):
            path.chmod(0o600)
