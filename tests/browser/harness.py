"""A resident's browser: Debian's chromium driven by Playwright against the live test server.

Every test gets a fresh browser context (cookies, storage and service workers of its own) from
one chromium started per session. A `Tab` records what must never happen on a page: a JavaScript
error, a request to another host (the site must need no internet), a missing stylesheet, script
or image, a server error. `Tab.step()` saves a screenshot, runs axe-core, and fails the test on
any of those, so each step of a journey is checked as it is taken.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from playwright.sync_api import ConsoleMessage, Page, Request, Response, Route, expect

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
AXE = Path(settings.BASE_DIR) / "static" / "vendor" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
FAILING_IMPACTS = {"serious", "critical"}
# Resources a page needs to look and work right: missing ones are bugs. An API answering
# 400 or 404 to a lookup (no such address) is an answer, not a fault.
PAGE_RESOURCES = {"stylesheet", "script", "image", "font", "media", "manifest"}


# Every page reports what its Content-Security-Policy blocked, as a console error the Tab
# records: an inline script or style, an event-handler attribute, an image from another host.
# (Playwright's init scripts are not subject to the page's policy.)
CSP_VIOLATION = "Content-Security-Policy violation:"
REPORT_CSP_VIOLATIONS = f"""
document.addEventListener("securitypolicyviolation", (e) => console.error(
    "{CSP_VIOLATION} " + e.effectiveDirective + " blocked " + (e.blockedURI || "inline code")
    + " in " + (e.sourceFile || document.location.href) + ":" + e.lineNumber
    + (e.sample ? " (" + e.sample + ")" : "")
));
"""


@functools.cache
def axe_source() -> str:
    return AXE.read_text()


def chromium_path() -> str:
    """Debian's chromium, or fail saying how to get it: the browser tests never skip."""
    wanted = os.environ.get("CITY311_CHROMIUM", "")
    found = (
        shutil.which(wanted)
        if wanted
        else shutil.which("chromium") or shutil.which("/usr/bin/chromium")
    )
    if not found:
        pytest.fail(
            f"The browser tests need Debian's chromium ({wanted or 'chromium'!r} is not found): "
            "apt-get install chromium (or set CITY311_CHROMIUM to a Chromium binary).",
            pytrace=False,
        )
    return found


def artifacts_dir(test_name: str) -> Path:
    root = Path(os.environ.get("CITY311_TEST_ARTIFACTS") or Path.cwd() / "var" / "test-artifacts")
    folder = root / re.sub(r"[^A-Za-z0-9_.-]+", "-", test_name).strip("-")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@dataclass
class Tab:
    """One page in a fresh browser context, watched for errors; see the module docstring."""

    page: Page
    base_url: str
    artifacts: Path
    javascript: bool = True
    problems: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)
    shots: int = 0

    def __post_init__(self) -> None:
        self.page.add_init_script(REPORT_CSP_VIOLATIONS)
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.problems.append(f"JavaScript error: {error}"))
        self.page.on("response", self._response)
        self.page.context.route(lambda url: not self._is_local(url), self._block)

    # What the page does --------------------------------------------------------------------

    def _is_local(self, url: str) -> bool:
        return urlsplit(url).netloc == urlsplit(self.base_url).netloc

    def _block(self, route: Route, request: Request) -> None:
        self.problems.append(f"request to another host (the site needs no internet): {request.url}")
        route.abort("blockedbyclient")

    def _console(self, message: ConsoleMessage) -> None:
        # A failed load is also logged to the console; _response judges it with its type.
        if message.text.startswith(CSP_VIOLATION):
            self.csp_violations.append(f"on {self.page.url}: {message.text}")
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.problems.append(f"console error on {self.page.url}: {message.text}")

    def _response(self, response: Response) -> None:
        kind = response.request.resource_type
        if response.status >= 500 or (response.status >= 400 and kind in PAGE_RESOURCES):
            self.problems.append(f"{response.status} for {kind} {response.url}")

    # What a test does ----------------------------------------------------------------------

    def url(self, path: str) -> str:
        return self.base_url + path

    def open(self, path: str, status: int = 200) -> Response:
        response = self.page.goto(self.url(path))
        assert response is not None, path
        assert response.status == status, f"{path}: HTTP {response.status}, expected {status}"
        return response

    @property
    def path(self) -> str:
        parts = urlsplit(self.page.url)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def step(self, name: str, *, axe: bool = True) -> None:
        """A step of a journey: screenshot it, check it with axe-core, fail on any problem."""
        self.shots += 1
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
        self.page.screenshot(path=self.artifacts / f"{self.shots:02d}-{slug}.png", full_page=True)
        if axe and self.javascript:
            self.problems.extend(f"{name}: {v}" for v in self.accessibility_violations())
        self.problems.extend(f"{name}: {p}" for p in self.layout_problems())
        self.check()

    def layout_problems(self) -> list[str]:
        """On a phone, nothing wider than the screen: no sideways scrolling to read a page."""
        viewport = self.page.viewport_size
        if viewport is None or viewport["width"] > PHONE["width"] or not self.javascript:
            return []
        wide = self.page.evaluate("() => document.documentElement.scrollWidth")
        if wide > viewport["width"]:
            return [f"the page is {wide}px wide on a {viewport['width']}px screen"]
        return []

    def check(self) -> None:
        if self.problems:
            found, self.problems = self.problems, []
            pytest.fail(f"on {self.page.url}:\n" + "\n".join(found), pytrace=False)

    def accessibility_violations(self) -> list[str]:
        """axe-core's serious and critical WCAG 2.0/2.1 A and AA violations, one line each."""
        if not self.page.evaluate("() => typeof window.axe !== 'undefined'"):
            # Evaluated by the browser's debugger, which the page's CSP does not govern (an
            # inline <script> would be refused), and read from disk, so it works offline too.
            self.page.evaluate(axe_source())
        violations: list[dict[str, Any]] = self.page.evaluate(
            """async (tags) => {
                const result = await axe.run(document, {
                    runOnly: {type: 'tag', values: tags}, resultTypes: ['violations'],
                });
                return result.violations.map(v => ({
                    id: v.id, impact: v.impact, help: v.help,
                    targets: v.nodes.map(n => n.target.join(' ')),
                }));
            }""",
            WCAG_TAGS,
        )
        return [
            f"axe {v['impact']} {v['id']}: {v['help']} at {', '.join(v['targets'][:8])}"
            for v in violations
            if v["impact"] in FAILING_IMPACTS
        ]

    # Keyboard alone ------------------------------------------------------------------------

    def focused_is(self, locator: Any) -> bool:
        return bool(locator.evaluate("el => el === document.activeElement"))

    def wait_for_focus(self, locator: Any) -> None:
        """Wait for `locator` to take the focus, as a page's deferred script gives it (on a
        busy machine a moment after the element shows); fail if it never comes."""
        expect(locator).to_be_focused()

    def tab_to(self, locator: Any, *, limit: int = 80, backwards: bool = False) -> None:
        """Press Tab (or Shift+Tab) until `locator` has the focus, as a keyboard user would,
        and check that the focus can be seen there."""
        locator.wait_for(state="attached")
        for _ in range(limit):
            if self.focused_is(locator):
                assert locator.evaluate(FOCUS_SHOWN), f"{locator} has the focus but shows no sign"
                return
            self.page.keyboard.press("Shift+Tab" if backwards else "Tab")
        raise AssertionError(f"{locator} never got the focus in {limit} presses of Tab")


# An outline or a shadow on the element, or (USWDS radios and checkboxes hide the input) on
# its label's box.
FOCUS_SHOWN = """el => {
    const drawn = s => (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0)
        || (s.boxShadow && s.boxShadow !== 'none');
    if (drawn(getComputedStyle(el))) return true;
    const label = el.labels && el.labels[0];
    return !!label
        && (drawn(getComputedStyle(label)) || drawn(getComputedStyle(label, '::before')));
}"""
