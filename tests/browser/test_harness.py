"""The browser harness itself: a page with a fault fails its step, so no journey passes by luck."""

from __future__ import annotations

import pytest


def test_it_fails_a_step_on_a_serious_accessibility_violation(tab):
    tab.open("/")
    tab.page.evaluate(
        "() => { const i = document.createElement('img'); i.src = '/static/portal/icon.svg';"
        " document.querySelector('main').append(i); }"
    )
    with pytest.raises(pytest.fail.Exception, match="image-alt"):
        tab.step("image without alt text")


def test_it_fails_a_step_on_a_javascript_error_or_a_request_to_another_host(open_tab):
    # Without the page's CSP, which would refuse the request before it left (test_csp.py).
    tab = open_tab(bypass_csp=True)
    tab.open("/")
    tab.page.evaluate(
        "() => { fetch('http://example.org/tracker.js').catch(() => {});"
        " setTimeout(() => { throw new Error('boom'); }); }"
    )
    tab.page.wait_for_timeout(300)
    with pytest.raises(pytest.fail.Exception) as failure:
        tab.step("broken page", axe=False)
    assert "JavaScript error: boom" in str(failure.value)
    assert "another host" in str(failure.value)
    assert "example.org" in str(failure.value)


def test_it_fails_a_step_on_a_missing_stylesheet(tab):
    tab.open("/")
    tab.page.evaluate(
        "() => new Promise(done => { const l = document.createElement('link');"
        " l.rel = 'stylesheet'; l.href = '/static/portal/missing.css'; l.onerror = done;"
        " document.head.append(l); })"
    )
    with pytest.raises(pytest.fail.Exception, match="404 for stylesheet"):
        tab.step("missing stylesheet", axe=False)


def test_it_fails_a_step_on_a_content_security_policy_violation(tab):
    tab.open("/")
    tab.page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.x = 1';"
        " document.body.append(s); }"
    )
    tab.page.wait_for_timeout(100)
    assert tab.csp_violations, "the page's policy let an inline script run"
    with pytest.raises(
        pytest.fail.Exception, match="Content-Security-Policy violation: script-src"
    ):
        tab.step("inline script", axe=False)


def test_it_fails_a_keyboard_step_where_the_focus_cannot_be_seen(open_tab):
    tab = open_tab(bypass_csp=True)  # the inline style that hides the focus
    tab.open("/track/")
    tab.tab_to(tab.page.get_by_label("Tracking number"))
    hidden = "*:focus { outline: none !important; box-shadow: none !important }"
    tab.page.add_style_tag(content=hidden)
    tab.page.keyboard.press("Shift+Tab")
    with pytest.raises(AssertionError, match="shows no sign"):
        tab.tab_to(tab.page.get_by_label("Tracking number"))
