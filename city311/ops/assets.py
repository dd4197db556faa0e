"""Front-end libraries from the npm registry, installed once and then served by city311 itself.

`city311/assets/package.json` and its lock file name the exact versions. `install_assets` runs
`npm ci` there and copies the files the pages use into `city311/static/vendor/`, where
collectstatic and the test server find them. Nothing is loaded from a CDN at run time: a city
network with no internet serves the same pages.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from django.conf import settings

ASSETS_DIR = Path(__file__).resolve().parent.parent / "assets"
VENDOR_DIR = Path(settings.BASE_DIR) / "static" / "vendor"
STAMP = VENDOR_DIR / ".installed-from"

# What the pages use, from node_modules to static/vendor. USWDS's CSS refers to its fonts and
# images by relative paths, so they keep their places beside it; its 8 MB of material icons are
# not referred to by the CSS and stay behind.
COPIES: list[tuple[str, str]] = [
    ("@uswds/uswds/dist/css/uswds.min.css", "uswds/css/uswds.min.css"),
    ("@uswds/uswds/dist/js/uswds-init.min.js", "uswds/js/uswds-init.min.js"),
    ("@uswds/uswds/dist/fonts/source-sans-pro", "uswds/fonts/source-sans-pro"),
    ("@uswds/uswds/dist/fonts/merriweather", "uswds/fonts/merriweather"),
    ("@uswds/uswds/dist/fonts/roboto-mono", "uswds/fonts/roboto-mono"),
    ("@uswds/uswds/dist/fonts/public-sans", "uswds/fonts/public-sans"),
    ("@uswds/uswds/dist/img/usa-icons", "uswds/img/usa-icons"),
    ("@uswds/uswds/dist/img/usa-icons-bg", "uswds/img/usa-icons-bg"),
    ("@uswds/uswds/dist/img/*.svg", "uswds/img/"),
    ("@uswds/uswds/dist/img/*.png", "uswds/img/"),
    ("@uswds/uswds/dist/img/*.jpg", "uswds/img/"),
    ("@uswds/uswds/dist/img/*.webp", "uswds/img/"),
    ("htmx.org/dist/htmx.min.js", "htmx/htmx.min.js"),
    ("leaflet/dist/leaflet.js", "leaflet/leaflet.js"),
    ("leaflet/dist/leaflet.css", "leaflet/leaflet.css"),
    ("leaflet/dist/images", "leaflet/images"),
    ("axe-core/axe.min.js", "axe-core/axe.min.js"),
]


SOURCE_MAP = re.compile(r"(/\*# sourceMappingURL=[^*]*\*/|//# sourceMappingURL=\S*)")


class AssetsError(Exception):
    pass


def _lock_digest() -> str:
    return hashlib.sha256((ASSETS_DIR / "package-lock.json").read_bytes()).hexdigest()


def assets_installed() -> bool:
    """Whether static/vendor holds the files of the current lock file."""
    return STAMP.exists() and STAMP.read_text().strip() == _lock_digest()


def install_assets(*, force: bool = False, say: Callable[[str], None] = print) -> bool:
    """Install the locked front-end libraries into static/vendor; False if already there."""
    if assets_installed() and not force:
        return False
    npm = shutil.which("npm")
    if npm is None:
        raise AssetsError(
            "city311 needs npm (Node.js) once, to install its front-end libraries from the npm "
            "registry: install it (Debian: apt-get install npm) and run the command again."
        )
    say("city311: installing front-end libraries from the npm registry (npm ci)...")
    done = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=ASSETS_DIR,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise AssetsError(
            f"npm ci failed in {ASSETS_DIR}:\n{done.stderr.strip()}\n"
            "Check that this machine reaches the npm registry (or its mirror set in ~/.npmrc), "
            "then run `city311 install_assets` again."
        )
    _copy_into_vendor(ASSETS_DIR / "node_modules")
    STAMP.write_text(_lock_digest() + "\n")
    return True


def _copy_into_vendor(modules: Path) -> None:
    if VENDOR_DIR.exists():
        shutil.rmtree(VENDOR_DIR)
    for source, target in COPIES:
        destination = VENDOR_DIR / target
        if "*" in source:
            folder, pattern = source.rsplit("/", 1)
            destination.mkdir(parents=True, exist_ok=True)
            for path in sorted((modules / folder).glob(pattern)):
                shutil.copy2(path, destination / path.name)
            continue
        path = modules / source
        if not path.exists():
            raise AssetsError(f"{source} is missing from node_modules: the lock file is stale.")
        destination.parent.mkdir(parents=True, exist_ok=True)
        if path.is_dir():
            shutil.copytree(path, destination)
        elif path.suffix in (".css", ".js"):
            # Source maps stay behind; a reference to one would fail collectstatic's manifest.
            destination.write_text(SOURCE_MAP.sub("", path.read_text(encoding="utf-8")))
        else:
            shutil.copy2(path, destination)
