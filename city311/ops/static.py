"""The static files' storage: WhiteNoise's hashed and compressed files, compressed once.

Compressing every file (gzip and Brotli at their highest levels, for USWDS, Leaflet, the
admin's scripts and the fonts) took about 21 s of CPU, on every `collectstatic` and so on every
`city311 up`, and a first start waited for it before serving anything. Here a file is
compressed only when it has no whole compressed copy of its current version; and `up` collects
without compressing (CITY311_STATIC_COMPRESS=later in its collecting process), serves, then
compresses in the background (`city311 compress_static`) and has the web server pick the
copies up.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from whitenoise.storage import CompressedManifestStaticFilesStorage

# Set by `up` for the collectstatic it runs before serving.
LATER = "CITY311_STATIC_COMPRESS"


class StaticStorage(CompressedManifestStaticFilesStorage):
    def compress_files(self, paths: Iterable[str]) -> Iterator[tuple[str, str]]:
        if os.environ.get(LATER) == "later":
            return iter(())
        return super().compress_files([p for p in paths if not self.compressed(p)])

    def compressed(self, name: str) -> bool:
        """A whole compressed copy of this version of the file is there: WhiteNoise gives
        each copy, once written, the time of the file it was made from (a copy cut short by
        a stop, or made from an older version, has another)."""
        path = Path(self.path(name))
        try:
            changed = path.stat().st_mtime
        except FileNotFoundError:
            return False
        copies = [path.with_name(path.name + suffix) for suffix in (".gz", ".br")]
        return any(c.exists() and c.stat().st_mtime == changed for c in copies)

    def compress_all(self) -> int:
        """Compress every collected file that needs it; how many copies were written."""
        root = Path(self.location)
        names = [
            str(p.relative_to(root))
            for p in root.rglob("*")
            if p.is_file() and p.suffix not in (".gz", ".br")
        ]
        return sum(1 for _ in super().compress_files([n for n in names if not self.compressed(n)]))
