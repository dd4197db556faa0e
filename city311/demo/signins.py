"""The demo city's sign-ins, kept in a private file under DATA_DIR so `city311 up` can show them."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings


def _path() -> Path:
    return Path(settings.DATA_DIR) / "demo-signins.tsv"


def write_signins(rows: list[tuple[str, str, str]]) -> None:
    path = _path()
    path.write_text("".join(f"{u}\t{p}\t{r}\n" for u, p, r in rows))
    path.chmod(0o600)


def read_signins() -> list[tuple[str, str, str]]:
    path = _path()
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        parts = line.split("\t")
        if len(parts) == 3:
            rows.append((parts[0], parts[1], parts[2]))
    return rows
