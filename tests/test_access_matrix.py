"""Every staff action, by every role, on a request of each department, and for the actions that
name a second request, on a target of each department: the role x action x department matrix.

The rules, written out here apart from the code (servicerequests/access.py):
- staff see their own departments' requests; call takers, managers and administrators see all;
- staff and supervisors work their own departments' requests, administrators any;
- supervisors assign in their own departments, administrators anywhere;
- a work order's steps, on the crew page and the request's page alike, are its crew's
  (assignee, their teams, the request's team) and the department's supervisors', administrators
  anywhere;
- the crew page's forms on the request itself (note, close with a photo) are the request's
  crew's (assignee, their teams, the request's team) and the supervisors'; a request nobody has
  is anyone's who works it;
- a request nobody lets you see is answered as if its number did not exist (404, same words);
- merging into, or closing as a duplicate of, another request needs the right to work that one
  too, and a target you may not work is answered as a number that does not exist.
"""

from __future__ import annotations

import copy
import re

import pytest
from django.conf import settings as django_settings
from django.contrib import messages
from django.db import transaction
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver

from city311.accounts.models import Membership
from city311.catalog.models import ServiceType
from city311.console import urls as console_urls
from city311.servicerequests import actions
from city311.servicerequests.models import (
    RequestEvent,
    ServiceRequest,
    Status,
    Team,
    WorkOrder,
    WorkOrderStatus,
)
from city311.test import CityMixin
from city311.work import urls as work_urls
from city311.work import views as work_views

ALL = {"streets", "parks"}
SEES = {
    "omar": ALL,
    "dana": {"streets"},
    "sofia": {"streets"},
    "pat": {"parks"},
    "max": ALL,
    "ada": ALL,
}
WORKS = {"omar": set(), "dana": {"streets"}, "sofia": {"streets"}, "pat": {"parks"}}
WORKS |= {"max": set(), "ada": ALL}
ASSIGNS = {"sofia": {"streets"}, "ada": ALL}
PEOPLE = list(SEES)
DEPARTMENTS = ["streets", "parks"]
# The one worker of each department a supervisor or administrator assigns in the matrix.
WORKER = {"streets": "dana", "parks": "pat"}
NO_SUCH = re.compile(
    r"There is no request \d{3}-\d{4}-\d{3}\. Check the number on your confirmation\."
)


FAST_HASHER = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="module")
def _module_city(django_db_setup, django_db_blocker):
    """The city (departments, types, the six people) made once for the file's ~570 tests, as
    Django's TestCase.setUpTestData does: in a transaction held open around them all and rolled
    back at the end; each test runs in a savepoint of it (pytest-django's `db`), so what a test
    writes is gone before the next. Making it per test was 40% of the file's time."""
    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=FAST_HASHER):
        outer = transaction.atomic()
        outer.__enter__()
        try:
            c = CityMixin()
            c.make_city()
            c.sessions = {}
            for name in PEOPLE:
                signing_in = Client()
                signing_in.force_login(person(c, name))
                c.sessions[person(c, name).pk] = signing_in.session.session_key
            c.as_made = {name: copy.deepcopy(person(c, name)) for name in PEOPLE}
            yield c
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture
def city(db, settings, _module_city):
    settings.PASSWORD_HASHERS = FAST_HASHER
    # The people's rows are rolled back after each test; their objects here may have been
    # changed in memory by the last one. Each test gets copies of them as they were made, as
    # TestCase does with setUpTestData's objects (read again, they were 6 queries a test).
    for name in PEOPLE:
        setattr(_module_city, name, copy.deepcopy(_module_city.as_made[name]))
    return _module_city


class SignedInOnce(Client):
    """The test client, whose force_login of one of the six people takes up the session made
    for them with the city, once for the file. A sign-in (a session, the last-login time, the
    access log's row) was a sixth of each test's queries; the session row is in the city's
    transaction, so what a test's requests write to it is rolled back with the test."""

    def __init__(self, sessions: dict[int, str]) -> None:
        super().__init__()
        self.sessions = sessions

    def force_login(self, user, backend=None):
        key = self.sessions.get(user.pk)
        if key is None or backend is not None:
            return super().force_login(user, backend)
        self.cookies[django_settings.SESSION_COOKIE_NAME] = key


@pytest.fixture
def client(city):
    # Sessions kept in the cache as well (cached_db, with REDIS_URL) would carry a test's
    # writes to the next one: there, each test signs in anew.
    in_database = django_settings.SESSION_ENGINE == "django.contrib.sessions.backends.db"
    return SignedInOnce(city.sessions if in_database else {})


def file(city, department: str, *, closed: bool = False) -> ServiceRequest:
    if department == "streets":
        sr = city.report()
    else:
        sr = city.report(service_code="fallen_tree", answers={})
    assert sr.department.slug == ("transportation" if department == "streets" else "parks")
    if closed:
        actions.close_request(sr, resolution="completed", note="Fixed.", by=city.ada)
    return sr


def person(city, name):
    return getattr(city, name)


def department(city, name):
    return city.streets if name == "streets" else city.parks


def shown_messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def errors(response) -> list[str]:
    return (
        [str(m) for m in response.context["messages"] if m.level == messages.ERROR]
        if response.context
        else []
    )


def unknown_number(city) -> str:
    """A well-formed tracking number with no request behind it."""
    gone = city.report()
    number = gone.tracking_number
    gone.delete()
    return number


# What each action on the request itself posts, and how to tell that it took effect.
def _start(city, sr):
    return {}, lambda: ServiceRequest.objects.get(pk=sr.pk).status == Status.IN_PROGRESS


def _note(city, sr):
    return {"text": "Crew on the way"}, lambda: sr.events.filter(kind="request.note").exists()


def _close(city, sr):
    return (
        {"resolution": "completed", "note": "Filled."},
        lambda: ServiceRequest.objects.get(pk=sr.pk).status == Status.CLOSED,
    )


def _reopen(city, sr):
    return (
        {"reason": "Still there"},
        lambda: ServiceRequest.objects.get(pk=sr.pk).status != Status.CLOSED,
    )


def _transfer(city, sr):
    other = city.parks if sr.department_id == city.streets.pk else city.streets
    return (
        {"department": other.pk, "reason": "Theirs"},
        lambda: ServiceRequest.objects.get(pk=sr.pk).department_id == other.pk,
    )


def _assign(city, sr):
    worker = person(city, WORKER["streets" if sr.department_id == city.streets.pk else "parks"])
    return (
        {"assignee": worker.pk},
        lambda: ServiceRequest.objects.get(pk=sr.pk).assignee_id == worker.pk,
    )


def _contact(city, sr):
    return (
        {"reason": "Need the exact spot"},
        lambda: sr.events.filter(kind="request.contact_viewed").exists(),
    )


def _reclassify(city, sr):
    other = (
        ServiceType.objects.filter(active=True, department__isnull=False)
        .exclude(pk=sr.service_type_id)
        .exclude(urgency="emergency")
        .first()
    )
    assert other is not None
    return (
        {"service_type": other.pk, "reason": "Filed under the wrong type"},
        lambda: ServiceRequest.objects.get(pk=sr.pk).service_type_id == other.pk,
    )


def _team_of(city, sr) -> Team:
    return Team.objects.create(
        department=sr.department, name="Day crew", slug=f"day-crew-{sr.department.slug}"
    )


def _team(city, sr):
    team = _team_of(city, sr)
    return {"team": team.slug}, lambda: ServiceRequest.objects.get(pk=sr.pk).team_id == team.pk


def _work_order(city, sr):
    return {"title": "Cut the tree up"}, lambda: sr.work_orders.exists()


def _order_of(sr) -> WorkOrder:
    return actions.add_work_order(sr, title="Second visit", by=None)


def _work_order_start(city, sr):
    order = _order_of(sr)
    return (
        {"number": order.number},
        lambda: WorkOrder.objects.get(pk=order.pk).status == WorkOrderStatus.IN_PROGRESS,
    )


def _work_order_done(city, sr):
    order = _order_of(sr)
    return (
        {"number": order.number, "result": "Patched."},
        lambda: WorkOrder.objects.get(pk=order.pk).status == WorkOrderStatus.DONE,
    )


def _work_order_cancel(city, sr):
    order = _order_of(sr)
    return (
        {"number": order.number, "result": "Not needed."},
        lambda: WorkOrder.objects.get(pk=order.pk).status == WorkOrderStatus.CANCELLED,
    )


def _work_order_note(city, sr):
    order = _order_of(sr)
    return (
        {"number": order.number, "text": "The hole is under a parked van."},
        lambda: (
            sr.events.filter(kind="request.work_order_note", data__work_order=order.number)
            .exclude(public=True)
            .exists()
        ),
    )


def _work_order_reassign(city, sr):
    # To the department's worker: a supervisor gives it, the worker may take it themselves.
    order = _order_of(sr)
    worker = person(city, WORKER["streets" if sr.department_id == city.streets.pk else "parks"])
    return (
        {"number": order.number, "assignee": worker.pk},
        lambda: WorkOrder.objects.get(pk=order.pk).assignee_id == worker.pk,
    )


def _pause(city, sr):
    return (
        {"reason": "resident", "note": "Asked for the exact spot"},
        lambda: ServiceRequest.objects.get(pk=sr.pk).paused == "resident",
    )


def _resume(city, sr):
    actions.pause_request(sr, reason="agency", note="", by=None)
    return {"note": "Con Edison answered"}, lambda: not ServiceRequest.objects.get(pk=sr.pk).paused


OWN_ACTIONS = {
    "pause": _pause,
    "resume": _resume,
    "team": _team,
    "work_order": _work_order,
    "work_order_start": _work_order_start,
    "work_order_done": _work_order_done,
    "work_order_cancel": _work_order_cancel,
    "work_order_note": _work_order_note,
    "work_order_reassign": _work_order_reassign,
    "start": _start,
    "note": _note,
    "close": _close,
    "reopen": _reopen,
    "transfer": _transfer,
    "assign": _assign,
    "contact": _contact,
    "reclassify": _reclassify,
}
TARGET_ACTIONS = ["merge", "close-duplicate"]


def test_the_matrix_covers_every_action_of_the_work_pages():
    # A new action must join this matrix: its target, assignee or department is checked here.
    # "locate" (verifying a request's place) has its own access tests (test_location_precision);
    # "respond" posts a public note (add_note, as "note" does) from a response template.
    exceptions = {"merge", "locate", "respond"}
    assert set(work_views.ACTIONS) | {"contact"} == set(OWN_ACTIONS) | exceptions


def allowed(name: str, action: str, dept: str) -> bool:
    if action == "contact":
        return dept in SEES[name]
    if action in ("assign", "team"):
        return dept in ASSIGNS.get(name, set())
    if action == "work_order_reassign":
        # As "start" takes a request: its worker may take a work order; only a supervisor
        # (or an administrator) gives one to someone else.
        return dept in ASSIGNS.get(name, set()) or WORKER[dept] == name

    return dept in WORKS[name]


@pytest.mark.parametrize("dept", DEPARTMENTS)
@pytest.mark.parametrize("name", PEOPLE)
def test_opening_a_request(city, client, name, dept):
    sr = file(city, dept)
    client.force_login(person(city, name))
    r = client.get(f"/work/requests/{sr.tracking_number}/")
    if dept in SEES[name]:
        assert r.status_code == 200
    else:
        assert r.status_code == 404
        assert NO_SUCH.search(r.content.decode())


@pytest.mark.parametrize("dept", DEPARTMENTS)
@pytest.mark.parametrize("action", list(OWN_ACTIONS))
@pytest.mark.parametrize("name", PEOPLE)
def test_an_action_on_a_request(city, client, name, action, dept):
    sr = file(city, dept, closed=action == "reopen")
    data, took_effect = OWN_ACTIONS[action](city, sr)
    client.force_login(person(city, name))
    r = client.post(f"/work/requests/{sr.tracking_number}/{action}", data, follow=True)
    if allowed(name, action, dept):
        assert r.status_code == 200, shown_messages(r)
        assert not errors(r), errors(r)
        assert took_effect()
        return
    assert not took_effect()
    if dept not in SEES[name]:
        # Exactly what a number with no request behind it gets.
        assert r.status_code == 404
        assert NO_SUCH.search(r.content.decode())
    else:
        assert r.status_code == 403


def post_link(client, action, sr, target_number):
    if action == "merge":
        data = {"into": target_number, "note": ""}
        url = f"/work/requests/{sr.tracking_number}/merge"
    else:
        data = {"resolution": "duplicate", "note": "Same hole.", "duplicate_of": target_number}
        url = f"/work/requests/{sr.tracking_number}/close"
    return client.post(url, data, follow=True)


@pytest.mark.parametrize("closed", [False, True], ids=["open-target", "closed-target"])
@pytest.mark.parametrize("target_dept", DEPARTMENTS)
@pytest.mark.parametrize("action", TARGET_ACTIONS)
@pytest.mark.parametrize("name", ["dana", "sofia", "pat", "ada"])
def test_linking_to_another_request(city, client, name, action, target_dept, closed):
    """Staff who may work their own request: the target is checked as well."""
    own = "parks" if name == "pat" else "streets"
    sr = file(city, own)
    target = file(city, target_dept, closed=closed)
    client.force_login(person(city, name))
    r = post_link(client, action, sr, target.tracking_number)
    sr.refresh_from_db()
    if target_dept in WORKS[name]:
        if closed and action == "merge":
            # Told the target is closed: they may work it, so this is theirs to know.
            assert "is closed" in " ".join(errors(r))
            assert sr.status != Status.CLOSED
        else:
            assert not errors(r), errors(r)
            assert sr.status == Status.CLOSED and sr.duplicate_of_id == target.pk
        return
    # Another department's request: nothing changes on either, and the answer is word for
    # word what a number that does not exist gets.
    assert sr.status != Status.CLOSED
    assert not RequestEvent.objects.filter(request=target, kind="request.merged").exists()
    missing = unknown_number(city)
    answer_for_missing = errors(post_link(client, action, sr, missing))
    assert errors(r) == [m.replace(missing, target.tracking_number) for m in answer_for_missing]
    assert "closed" not in " ".join(errors(r))


@pytest.mark.parametrize("action", TARGET_ACTIONS)
def test_a_target_that_duplicates_another_departments_request_is_refused(city, client, action):
    """Pat names a Parks request that was closed as a duplicate of a Streets one: the link
    would land on the Streets request (the end of the chain), so it is refused."""
    streets = file(city, "streets")
    parks_twin = file(city, "parks")
    actions.close_request(
        parks_twin, resolution="duplicate", note="Same.", duplicate_of=streets, by=city.ada
    )
    mine = file(city, "parks")
    streets_history = streets.events.count()
    client.force_login(city.pat)
    r = post_link(client, action, mine, parks_twin.tracking_number)
    mine.refresh_from_db()
    assert mine.status != Status.CLOSED
    assert errors(r)
    assert streets.tracking_number not in r.content.decode()
    assert streets.events.count() == streets_history


@pytest.mark.parametrize("name", ["dana", "pat"])
def test_merge_candidates_are_only_requests_one_may_merge_into(city, client, name, settings):
    """Two requests of related types side by side, one routed to each department."""
    city.pothole.related_types.add(city.tree)
    city.tree.related_types.add(city.pothole)
    for t in (city.pothole, city.tree):
        t.duplicate_radius_m = 100
        t.save()
    streets = city.report()
    parks = city.report(service_code="fallen_tree", answers={})
    own, other = (streets, parks) if name == "dana" else (parks, streets)
    client.force_login(person(city, name))
    page = client.get(f"/work/requests/{own.tracking_number}/").content.decode()
    assert other.tracking_number not in page
    client.force_login(city.ada)
    page = client.get(f"/work/requests/{own.tracking_number}/").content.decode()
    assert other.tracking_number in page


def test_a_call_taker_in_the_department_is_not_offered_or_given_its_work(city, client):
    Membership.objects.create(user=city.omar, department=city.streets)
    sr = file(city, "streets")
    client.force_login(city.sofia)
    page = client.get(f"/work/requests/{sr.tracking_number}/").content.decode()
    assert f'<option value="{city.dana.pk}" >Dana Tester</option>' in page
    assert "Omar Tester</option>" not in page
    r = client.post(
        f"/work/requests/{sr.tracking_number}/assign", {"assignee": city.omar.pk}, follow=True
    )
    assert "does not work in this department" in " ".join(errors(r))
    assert ServiceRequest.objects.get(pk=sr.pk).assignee is None


def _console_paths() -> set[str]:
    return {
        str(p.pattern) for p in console_urls.urlpatterns if isinstance(p, URLPattern | URLResolver)
    }


def test_the_matrix_covers_every_console_page():
    assert _console_paths() == {
        "",
        "new/<str:service_code>/",
        "filed/<str:tracking_number>/",
        "follow/<str:tracking_number>/",
        "answers/",
        "answers/stale/",
        "answers/gaps/",
        "answers/<slug:slug>/",
        "answers/<slug:slug>/used",
        "caller/",
        "card/",
        "desk/",
        "popped/",
        "popped/stream/",
        "supervisor/",
        "supervisor/stream/",
        "callbacks/",
        "callbacks/<int:pk>/called-back/",
        "wrap-up/",
        "answered/<slug:slug>/",
        "pickups/",
    }


# Console: filing is for call takers and administrators, who see every department's requests.
FILES = {"omar", "ada"}


@pytest.mark.parametrize("dept", DEPARTMENTS)
@pytest.mark.parametrize("name", PEOPLE)
def test_console_pages_of_a_request(city, client, name, dept):
    sr = file(city, dept)
    client.force_login(person(city, name))
    filed = client.get(f"/console/filed/{sr.tracking_number}/")
    follow = client.post(f"/console/follow/{sr.tracking_number}/", {"email": "caller@example.org"})
    start = client.get("/console/")
    new = client.get("/console/new/pothole/")
    if name in FILES:
        assert (filed.status_code, follow.status_code) == (200, 302)
        assert (start.status_code, new.status_code) == (200, 200)
        assert sr.followers.filter(email="caller@example.org").exists()
    else:
        assert {filed.status_code, follow.status_code, start.status_code, new.status_code} == {403}
        assert not sr.followers.filter(email="caller@example.org").exists()


@pytest.mark.parametrize("name", PEOPLE)
def test_console_pickup_lookup_and_booking(city, client, name):
    # Booking a pickup files a request: call takers and administrators, as for any request.
    client.force_login(person(city, name))
    look = client.get("/console/pickups/")
    book = client.post("/console/pickups/", {"address": "1 Nowhere Street"})
    if name in FILES:
        assert look.status_code == 200 and book.status_code == 400
    else:
        assert look.status_code == book.status_code == 403


def test_console_pickups_need_a_signed_in_staff_member(city, client):
    r = client.get("/console/pickups/")
    assert r.status_code == 302 and "/accounts/login/" in r["Location"]


# Console answers: every staff member reads and uses them (staff-only ones too); each owner sees
# the stale articles of their own departments, those who see the whole city all of them; the
# content-gap report is for supervisors, managers and administrators.
STALE_SEEN = {"omar": ALL, "max": ALL, "ada": ALL, "dana": {"streets"}, "sofia": {"streets"}}
STALE_SEEN |= {"pat": {"parks"}}
GAPS = {"sofia", "max", "ada"}


def _stale_articles(city) -> None:
    from datetime import date

    from city311.knowledge.actions import save_article
    from city311.knowledge.models import Article

    for slug, department in (("streets-note", city.streets), ("parks-note", city.parks)):
        article = Article(
            slug=slug,
            title=f"{slug} title",
            summary="A summary.",
            body="A body.",
            status="published",
            audience="staff",
            department=department,
            review_by=date(2020, 1, 1),
        )
        save_article(article, by=None)


@pytest.mark.parametrize("name", PEOPLE)
def test_console_answers(city, client, name):
    _stale_articles(city)
    client.force_login(person(city, name))
    panel = client.get("/console/answers/", {"q": "note"})
    article = client.get("/console/answers/streets-note/")
    used = client.post("/console/answers/streets-note/used")
    stale = client.get("/console/answers/stale/")
    gaps = client.get("/console/answers/gaps/")
    assert (panel.status_code, article.status_code, used.status_code) == (200, 200, 302)
    assert stale.status_code == 200
    page = stale.content.decode()
    listed = {d for d in DEPARTMENTS if f'href="/console/answers/{d}-note/"' in page}
    assert listed == STALE_SEEN[name]
    assert gaps.status_code == (200 if name in GAPS else 403)


def test_console_answers_need_a_signed_in_staff_member(city, client):
    _stale_articles(city)
    for path in ("/console/answers/", "/console/answers/streets-note/", "/console/answers/stale/"):
        r = client.get(path)
        assert r.status_code == 302 and "/accounts/login/" in r["Location"]
    assert client.post("/console/answers/streets-note/used").status_code == 302


# Contacts: call takers and administrators log calls; they, supervisors and managers see a
# caller's card (every contact of a number); department staff do neither.
LOGS = {"omar", "ada"}
SEES_CONTACTS = {"omar", "sofia", "max", "ada"}


@pytest.mark.parametrize("name", PEOPLE)
def test_console_contacts(city, client, name, settings):
    from city311.contacts.models import Interaction

    _stale_articles(city)
    sr = file(city, "streets")
    client.force_login(person(city, name))
    caller = client.post("/console/caller/", {"phone": "718-555-0199"})
    wrap = client.post(
        "/console/wrap-up/", {"outcome": "status", "tracking_number": sr.tracking_number}
    )
    answered = client.post("/console/answered/streets-note/")
    card = client.post("/console/card/", {"phone": "718-555-0199"})
    desk = client.post("/console/desk/", {"desk": "walk_in"})
    popped = client.get("/console/popped/")
    settings.CITY311_CONSOLE_STREAM_SECONDS = 0  # the stream ends at once: no call for them
    stream = client.get("/console/popped/stream/")
    if stream.streaming:
        b"".join(stream.streaming_content)  # read to its end, as a browser would
    supervisor = client.get("/console/supervisor/")
    live = client.get("/console/supervisor/stream/", {"since": "x"})  # not now's: ends at once
    if live.streaming:
        b"".join(live.streaming_content)
    logged = Interaction.objects.filter(staff=person(city, name))
    if name in LOGS:
        assert (caller.status_code, wrap.status_code, answered.status_code) == (200, 302, 302)
        assert desk.status_code == 302
        assert popped.status_code == 204  # nothing new: no call given to them
        assert stream["Content-Type"] == "text/event-stream"
        assert sorted(logged.values_list("kind", flat=True)) == ["information", "status_check"]
    else:
        assert {caller.status_code, wrap.status_code, answered.status_code} == {403}
        assert popped.status_code == stream.status_code == desk.status_code == 403
        assert not logged.exists()
    assert card.status_code == (200 if name in SEES_CONTACTS else 403)
    # The call centre's figures: those who see contacts and reports.
    assert supervisor.status_code == (200 if name in {"sofia", "max", "ada"} else 403)
    assert live.status_code == (200 if name in {"sofia", "max", "ada"} else 403)
    assert (sr.tracking_number in card.content.decode()) == (name in SEES_CONTACTS)


def test_contact_totals_are_for_those_who_see_contacts_and_reports(city, client):
    # One city for every person (the figures are the whole city's, not a department's).
    for name in PEOPLE:
        client.force_login(person(city, name))
        for page in ("/reports/contacts/", "/reports/contacts.csv"):
            status = 200 if name in {"sofia", "max", "ada"} else 403
            assert client.get(page).status_code == status, (name, page)
    client.logout()
    assert client.get("/reports/contacts/").status_code == 302
    # Whether a person answers now is public: it names nobody.
    assert client.get("/contacts/hours.json").status_code == 200


def test_contacts_need_a_signed_in_staff_member(city, client):
    assert client.post("/console/card/", {"phone": "718-555-0199"}).status_code == 302
    assert client.post("/console/caller/", {"phone": "718-555-0199"}).status_code == 302
    assert client.get("/console/callbacks/").status_code == 302


# Voicemails left after hours: those who log contacts call them back.
@pytest.mark.parametrize("name", PEOPLE)
def test_console_callbacks(city, client, name):
    from city311.contacts.actions import start_interaction
    from city311.intake.models import Voicemail

    interaction = start_interaction(channel="phone", phone="718-555-0199", answered=False)
    voicemail = Voicemail.objects.create(call_sid="CA1", interaction=interaction)
    client.force_login(person(city, name))
    queue = client.get("/console/callbacks/")
    done = client.post(
        f"/console/callbacks/{voicemail.pk}/called-back/", {"outcome": "information"}
    )
    interaction.refresh_from_db()
    if name in LOGS:
        assert (queue.status_code, done.status_code) == (200, 302)
        assert interaction.staff == person(city, name) and interaction.wrap_up == "called_back"
    else:
        assert (queue.status_code, done.status_code) == (403, 403)
        assert interaction.is_open and interaction.staff is None


# The work pages beyond one request's: every staff member may open them, and each shows only
# the requests that person may see.
LIST_PAGES = ["", "map.geojson", "export.csv", "board/", "today/"]


def _paths(patterns) -> set[str]:
    return {str(p.pattern) for p in patterns if isinstance(p, URLPattern | URLResolver)}


def test_the_matrix_covers_every_work_page():
    assert _paths(work_urls.urlpatterns) == {
        *LIST_PAGES,
        "views/",
        "views/<int:pk>/delete",
        "bulk",
        "today/<str:tracking_number>/",
        "today/<str:tracking_number>/<str:action>",
        "today/<str:tracking_number>/orders/<int:number>/<str:action>",
        "requests/<str:tracking_number>/",
        "requests/<str:tracking_number>/<str:action>",
    }


@pytest.mark.parametrize("page", LIST_PAGES)
@pytest.mark.parametrize("name", PEOPLE)
def test_list_pages_show_only_what_one_may_see(city, client, name, page):
    requests = {dept: file(city, dept) for dept in DEPARTMENTS}
    for dept, sr in requests.items():
        # On everyone's "today" list: assigned to the department's worker.
        actions.assign_request(sr, to=person(city, WORKER[dept]), by=city.ada)
    client.force_login(person(city, name))
    r = client.get(f"/work/{page}")
    assert r.status_code == 200
    body = b"".join(r.streaming_content) if r.streaming else r.content
    for dept, sr in requests.items():
        shown = sr.tracking_number in body.decode()
        if page == "board/":
            continue  # counts only, checked in test_work_queue
        if page == "today/":
            assert shown == (name == WORKER[dept])
        else:
            assert shown == (dept in SEES[name]), (dept, page)


@pytest.mark.parametrize("page", LIST_PAGES)
def test_list_pages_are_for_staff_only(city, client, page):
    r = client.get(f"/work/{page}")
    assert r.status_code == 302 and "/accounts/login/" in r["Location"]


@pytest.mark.parametrize("dept", DEPARTMENTS)
@pytest.mark.parametrize("name", PEOPLE)
def test_the_crew_page_of_a_request(city, client, name, dept):
    sr = file(city, dept)
    client.force_login(person(city, name))
    r = client.get(f"/work/today/{sr.tracking_number}/")
    if dept in SEES[name]:
        assert r.status_code == 200
        assert ("Close: work done" in r.content.decode()) == (dept in WORKS[name])
    else:
        assert r.status_code == 404
        assert NO_SUCH.search(r.content.decode())


# A work order's steps from the crew page: on a request of the department's Day crew, a work
# order of the department's worker (on that crew). Who may: the crew and the department's
# supervisors (and administrators); a crew mate who is not the assignee is in test_work_crew_orders.
CREW_ORDER_ACTIONS = {
    "start": ({}, lambda o: o.status == WorkOrderStatus.IN_PROGRESS),
    "note": (
        {"text": "Van parked over it."},
        lambda o: o.request.events.filter(kind="request.work_order_note").exists(),
    ),
    "done": ({"result": "Patched."}, lambda o: o.status == WorkOrderStatus.DONE),
    "hand_back": ({"reason": "Needs a truck."}, lambda o: o.assignee_id is None),
}


def test_the_matrix_covers_every_crew_order_action():
    assert set(work_views.CREW_ACTIONS) == set(CREW_ORDER_ACTIONS)


@pytest.mark.parametrize("dept", DEPARTMENTS)
@pytest.mark.parametrize("action", list(CREW_ORDER_ACTIONS))
@pytest.mark.parametrize("name", PEOPLE)
def test_a_work_order_step_from_the_crew_page(city, client, name, action, dept):
    sr = file(city, dept)
    worker = person(city, WORKER[dept])
    crew = _team_of(city, sr)
    crew.members.add(worker)
    sr.team = crew
    sr.save(update_fields=["team"])
    order = actions.add_work_order(sr, title="First visit", assignee=worker, by=None)
    data, took_effect = CREW_ORDER_ACTIONS[action]
    client.force_login(person(city, name))
    url = f"/work/today/{sr.tracking_number}/orders/{order.number}/{action}"
    r = client.post(url, data, follow=True)
    order = WorkOrder.objects.select_related("request").get(pk=order.pk)
    if name == WORKER[dept] or dept in ASSIGNS.get(name, set()):
        assert r.status_code == 200, shown_messages(r)
        assert not errors(r), errors(r)
        assert took_effect(order)
        return
    assert not took_effect(order)
    if dept not in SEES[name]:
        assert r.status_code == 404
        assert NO_SUCH.search(r.content.decode())
    else:
        assert r.status_code == 403


def crew_request(city, dept: str) -> ServiceRequest:
    """A request of the department's Day crew, assigned to the department's worker (on it)."""
    sr = file(city, dept)
    worker = person(city, WORKER[dept])
    crew = _team_of(city, sr)
    crew.members.add(worker)
    ServiceRequest.objects.filter(pk=sr.pk).update(team=crew, assignee=worker)
    return ServiceRequest.objects.get(pk=sr.pk)


def may_work_crews(name: str, dept: str) -> bool:
    return name == WORKER[dept] or dept in ASSIGNS.get(name, set())


def refused(r, name: str, dept: str) -> None:
    if dept not in SEES[name]:
        assert r.status_code == 404
        assert NO_SUCH.search(r.content.decode())
    else:
        assert r.status_code == 403


# The same steps on the request's page: the work order's crew and supervisors, as above.
ORDER_STEPS = {
    "work_order_start": ({}, lambda o: o.status == WorkOrderStatus.IN_PROGRESS),
    "work_order_note": (
        {"text": "Van parked over it."},
        lambda o: o.request.events.filter(kind="request.work_order_note").exists(),
    ),
    "work_order_done": ({"result": "Patched."}, lambda o: o.status == WorkOrderStatus.DONE),
    "work_order_cancel": ({"result": "Not needed."}, lambda o: o.status == "cancelled"),
}


@pytest.mark.parametrize("dept", DEPARTMENTS)
@pytest.mark.parametrize("action", list(ORDER_STEPS))
@pytest.mark.parametrize("name", PEOPLE)
def test_a_crews_work_order_step_from_the_requests_page(city, client, name, action, dept):
    sr = crew_request(city, dept)
    order = actions.add_work_order(sr, title="First visit", assignee=sr.assignee, by=None)
    data, took_effect = ORDER_STEPS[action]
    client.force_login(person(city, name))
    r = client.post(
        f"/work/requests/{sr.tracking_number}/{action}", {"number": order.number, **data}
    )
    order = WorkOrder.objects.select_related("request").get(pk=order.pk)
    if may_work_crews(name, dept):
        assert r.status_code == 302, r.status_code
        assert took_effect(order)
        return
    assert not took_effect(order)
    refused(r, name, dept)


# The crew page's forms on the request itself: the request's crew and supervisors.
CREW_REQUEST_ACTIONS = {
    "note": (
        {"text": "On site."},
        lambda sr: sr.events.filter(kind="request.note").exists(),
    ),
    "complete": (
        {"note": "Filled and rolled."},
        lambda sr: ServiceRequest.objects.get(pk=sr.pk).status == Status.CLOSED,
    ),
}


def test_the_matrix_covers_every_crew_request_action():
    assert set(work_views.CREW_REQUEST_ACTIONS) == set(CREW_REQUEST_ACTIONS)


@pytest.mark.parametrize("dept", DEPARTMENTS)
@pytest.mark.parametrize("action", list(CREW_REQUEST_ACTIONS))
@pytest.mark.parametrize("name", PEOPLE)
def test_a_crew_request_action_from_the_crew_page(city, client, name, action, dept):
    sr = crew_request(city, dept)
    data, took_effect = CREW_REQUEST_ACTIONS[action]
    client.force_login(person(city, name))
    page = client.get(f"/work/today/{sr.tracking_number}/")
    if dept in SEES[name]:
        assert ("Close: work done" in page.content.decode()) == may_work_crews(name, dept)
    r = client.post(f"/work/today/{sr.tracking_number}/{action}", data, follow=True)
    if may_work_crews(name, dept):
        assert r.status_code == 200, shown_messages(r)
        assert not errors(r), errors(r)
        assert took_effect(sr)
        return
    assert not took_effect(sr)
    refused(r, name, dept)


BULK = {
    "note": ({"text": "Crews are out."}, WORKS),
    "assign": (None, ASSIGNS),
}


@pytest.mark.parametrize("dept", DEPARTMENTS)
@pytest.mark.parametrize("action", list(BULK))
@pytest.mark.parametrize("name", PEOPLE)
def test_a_bulk_action(city, client, name, action, dept):
    sr = file(city, dept)
    data, rule = BULK[action]
    worker = person(city, WORKER[dept])
    data = data or {"assignee": worker.pk}
    client.force_login(person(city, name))
    r = client.post(
        "/work/bulk", {"action": action, "selected": [sr.tracking_number], **data}, follow=True
    )
    assert r.status_code == 200
    changed = (
        sr.events.filter(kind="request.note").exists()
        if action == "note"
        else ServiceRequest.objects.get(pk=sr.pk).assignee_id == worker.pk
    )
    assert changed == (dept in rule.get(name, set()))
    if dept not in SEES[name]:
        # Not named back: as if the number did not exist.
        assert sr.tracking_number not in r.content.decode()


def test_a_saved_view_is_its_owners_only(city, client):
    client.force_login(city.dana)
    client.post("/work/views/", {"name": "Mine", "query": "overdue=1"})
    view = city.dana.saved_views.get()
    pat = Client()
    pat.force_login(city.pat)
    assert "Mine" not in pat.get("/work/").content.decode()
    assert pat.post(f"/work/views/{view.pk}/delete").status_code == 404
    assert city.dana.saved_views.exists()


# Facilities, events and City today: public pages, the same for everyone; the editors' admin
# is for administrators.
PUBLIC_FACILITY_PAGES = [
    "/facilities/",
    "/facilities/?kind=pool",
    "/facilities/answer?q=is+the+pool+open",
    "/facilities/a-pool/",
    "/facilities/a-pool/events.ics",
    "/events/",
    "/events/swim-lesson/",
    "/events.ics",
    "/events/category/sports.ics",
    "/today/",
    "/today.json",
    "/today.ics",
    "/today.rss",
    "/api/inquiry/v1/facilities/all.json",
    "/api/inquiry/v1/facilities/a-pool.json",
]
FACILITY_ADMIN = [
    "/admin/facilities/facility/",
    "/admin/facilities/event/",
    "/admin/facilities/notice/",
]


@pytest.fixture
def facility(city):
    from datetime import time, timedelta

    from django.utils import timezone

    from city311.facilities.models import Event, Facility, OpeningRule

    pool = Facility.objects.create(slug="a-pool", name="A pool", kind="pool", address="1 Main St")
    OpeningRule.objects.create(
        facility=pool, first_day=0, last_day=6, opens=time(9), closes=time(17)
    )
    starts = timezone.now() + timedelta(days=2)
    Event.objects.create(
        slug="swim-lesson",
        title="Swim lesson",
        category="sports",
        facility=pool,
        starts_at=starts,
        ends_at=starts + timedelta(hours=1),
    )
    return pool


def test_the_matrix_covers_every_facilities_page():
    from city311.facilities import urls as facility_urls

    assert len(facility_urls.urlpatterns) == 13


@pytest.mark.parametrize("name", [None, *PEOPLE])
def test_facility_pages_are_public_and_the_same_for_everyone(city, facility, client, name):
    if name:
        client.force_login(person(city, name))
    for path in PUBLIC_FACILITY_PAGES:
        assert client.get(path).status_code == 200, path
    for path in FACILITY_ADMIN:
        status = client.get(path).status_code
        if name == "ada":
            assert status == 200, path
        else:
            assert status in (302, 403), (path, status)


# Webhooks and Open311 forwarding: configured and watched by administrators only (the admin).
INTEGRATION_ADMIN = [
    "/admin/webhooks/webhookendpoint/",
    "/admin/webhooks/webhookendpoint/add/",
    "/admin/webhooks/webhookpost/",
    "/admin/forwarding/forwarding/",
    "/admin/forwarding/forwarding/add/",
    "/admin/forwarding/forwardedrequest/",
]


@pytest.mark.parametrize("name", [None, *PEOPLE])
def test_integration_admin_is_for_administrators_only(city, client, name):
    if name:
        client.force_login(person(city, name))
    for path in INTEGRATION_ADMIN:
        status = client.get(path).status_code
        if name == "ada":
            assert status == 200, path
        else:
            assert status in (302, 403), (path, status)


# Bulky-item pickups: the crews' day list is for the people who see every request and the
# staff of the department the bulky type belongs to; capacities, late routes and closing a
# booking are for that department's staff and supervisors, and administrators. Booking,
# its confirmation link, the lookup and the calendars are public.
PICKUP_SEES = {"omar", "dana", "sofia", "max", "ada"}
PICKUP_MANAGES = {"dana", "sofia", "ada"}
PICKUP_DAY = "2027-06-02"


@pytest.fixture
def pickups(city):
    from datetime import date

    from city311.pickups.models import Booking, Collection, Route, RouteSchedule

    ServiceType.objects.create(
        service_code="bulky", service_name="Bulky Item Pickup", department=city.streets
    )
    route = Route.objects.create(code="north", name="North", area_kind="zone", area_code="N")
    RouteSchedule.objects.create(
        route=route,
        collection=Collection.objects.create(code="bulky", name="Bulky items"),
        rule="FREQ=WEEKLY;BYDAY=WE",
        starts=date(2027, 1, 6),
    )
    sr = city.report(service_code="bulky", answers={})
    return Booking.objects.create(
        request=sr, route=route, day=date.fromisoformat(PICKUP_DAY), token="secret-link"
    )


def test_the_matrix_covers_every_pickups_page():
    from city311.pickups import urls as pickup_urls

    assert _paths(pickup_urls.urlpatterns) == {
        "pickups/",
        "api/pickups",
        "pickups/calendar/<str:address_id>.ics",
        "pickups/book/",
        "pickups/booking/<str:token>/",
        "pickups/booking/<str:token>.ics",
        "pickups/staff/",
        "pickups/staff/capacity",
        "pickups/staff/late",
        "pickups/staff/bookings/<int:pk>/close",
        "pickups/staff/bookings/<int:pk>/payment",
        "pickups/staff/changes",
        "api/pickups/items",
        "api/pickups/days",
        "api/pickups/bookings",
        "api/pickups/bookings/<str:token>",
        "pickups/subscribe",
        "pickups/subscription/confirm/<str:token>",
        "pickups/subscription/stop/<str:token>",
        "api/pickups/subscriptions",
    }


@pytest.mark.parametrize("name", PEOPLE)
def test_the_pickups_day_list(city, pickups, client, name):
    client.force_login(person(city, name))
    r = client.get("/pickups/staff/", {"day": PICKUP_DAY})
    assert r.status_code == (200 if name in PICKUP_SEES else 403)
    if r.status_code == 200:
        assert pickups.request.tracking_number in r.content.decode()
        assert ("Save capacity" in r.content.decode()) == (name in PICKUP_MANAGES)


@pytest.mark.parametrize("name", PEOPLE)
def test_pickups_capacity_late_route_and_closing(city, pickups, client, name):
    from city311.pickups.models import Booking, RouteDay

    client.force_login(person(city, name))
    allowed = name in PICKUP_MANAGES
    r = client.post("/pickups/staff/capacity", {"route": "north", "day": PICKUP_DAY, "capacity": 7})
    assert r.status_code == (302 if allowed else 403)
    r = client.post("/pickups/staff/late", {"route": "north", "day": PICKUP_DAY, "note": "Late"})
    assert r.status_code == (302 if allowed else 403)
    row = RouteDay.objects.filter(day=PICKUP_DAY).first()
    assert (row is not None and (row.capacity, row.late_note) == (7, "Late")) == allowed
    r = client.post(f"/pickups/staff/bookings/{pickups.pk}/close", {"collected": "yes"})
    assert r.status_code == (302 if allowed else 403)
    assert (Booking.objects.get(pk=pickups.pk).status == "collected") == allowed
    r = client.post(f"/pickups/staff/bookings/{pickups.pk}/payment", {"payment": "waived"})
    assert r.status_code == (302 if allowed else 403)
    assert (Booking.objects.get(pk=pickups.pk).payment == "waived") == allowed


@pytest.mark.parametrize("name", PEOPLE)
def test_pickups_snow_days_and_route_schedules(city, pickups, client, name):
    from city311.pickups.models import ScheduleException

    client.force_login(person(city, name))
    allowed = name in PICKUP_MANAGES
    assert client.get("/pickups/staff/changes").status_code == (200 if allowed else 403)
    r = client.post(
        "/pickups/staff/changes",
        {"what": "exception", "day": "2099-01-06", "action": "cancel", "reason": "Snow"},
    )
    assert r.status_code == (302 if allowed else 403)
    assert ScheduleException.objects.exists() == allowed


def test_pickups_staff_pages_need_a_signed_in_staff_member(city, pickups, client):
    r = client.get("/pickups/staff/")
    assert r.status_code == 302 and r["Location"].startswith("/accounts/login/")
    for path in ("/pickups/staff/capacity", "/pickups/staff/late"):
        assert client.post(path, {"route": "north", "day": PICKUP_DAY}).status_code == 302
    assert client.post(f"/pickups/staff/bookings/{pickups.pk}/close").status_code == 302
    assert client.post(f"/pickups/staff/bookings/{pickups.pk}/payment").status_code == 302
    assert client.get("/pickups/staff/changes").status_code == 302


@pytest.mark.parametrize("name", [None, "pat"])
def test_the_residents_pickups_pages_are_public(city, pickups, client, name):
    if name:
        client.force_login(person(city, name))
    assert client.get("/pickups/").status_code == 200
    assert client.get("/pickups/booking/secret-link/").status_code == 200
    assert client.get("/pickups/booking/secret-link.ics").status_code == 200
    assert client.get("/pickups/booking/guessed/").status_code == 404
    # The API: the same as the pages, reached by the booking's token.
    assert client.get("/api/pickups/items").status_code == 200
    assert client.get("/api/pickups/bookings/secret-link").status_code == 200
    assert client.get("/api/pickups/bookings/guessed").status_code == 404
    # Subscribing to an address's changes: open to anyone, each link only by its signed token.
    unknown = {"address_id": "nowhere", "email": "rosa@example.org"}
    assert client.post("/pickups/subscribe", unknown).status_code == 400
    api = client.post("/api/pickups/subscriptions", unknown, content_type="application/json")
    assert api.status_code == 400
    assert client.get("/pickups/subscription/confirm/guessed").status_code == 404
    assert client.get("/pickups/subscription/stop/guessed").status_code == 404
    assert client.post("/pickups/subscription/stop/guessed").status_code == 404


# The reports: supervisors (their own departments' figures), managers and administrators (the
# whole city); nobody else.
REPORT_PAGES = [
    "/reports/",
    "/reports/?period=last_month&map=council_district",
    "/reports/actions/",
    "/reports/monthly/",
    "/reports/monthly.csv",
    "/reports/heat/?type=pothole",
    "/reports/heat/?type=fallen_tree",
]
READS_REPORTS = {"sofia": {"streets"}, "max": ALL, "ada": ALL}


def test_the_matrix_covers_every_report_page():
    from city311.reports import urls as report_urls

    assert _paths(report_urls.urlpatterns) == {
        "",
        "actions/",
        "heat/",
        "monthly/",
        "monthly.csv",
        "monthly.pdf",
        "contacts/",
        "contacts.csv",
    }


@pytest.mark.parametrize("page", REPORT_PAGES)
@pytest.mark.parametrize("name", PEOPLE)
def test_report_pages(city, client, name, page):
    from city311.servicerequests.tasks import dispatch_events

    for dept in DEPARTMENTS:
        file(city, dept)
    dispatch_events()
    client.force_login(person(city, name))
    from django.utils import timezone

    # The monthly report of this month, which holds the requests just filed.
    month = f"?month={timezone.localdate():%Y-%m}" if "monthly" in page else ""
    r = client.get(page + month)
    if name not in READS_REPORTS:
        assert r.status_code == 403
        return
    assert r.status_code == 200
    if page == "/reports/":
        received = {t.metric.key: t for t in r.context["tiles"]}["received"].value.number
        assert received == len(READS_REPORTS[name])
    if page == "/reports/monthly.csv":
        assert ("Parks" in r.content.decode()) == ("parks" in READS_REPORTS[name])
    if page.startswith("/reports/heat/"):
        department = "streets" if page.endswith("pothole") else "parks"
        assert r.context["total"] == (department in READS_REPORTS[name])


def test_report_pages_are_for_staff_only(city, client):
    r = client.get("/reports/")
    assert r.status_code == 302 and "/accounts/login/" in r["Location"]


# E-mail to 311 (city311.intake): the queue of messages is the call takers' and administrators'.
def test_the_matrix_covers_every_email_intake_page():
    from city311.intake import urls as intake_urls

    assert {p for p in _paths(intake_urls.urlpatterns) if p.startswith("mail/")} == {
        "mail/",
        "mail/<int:pk>/release/",
        "mail/<int:pk>/take/",
        "mail/<int:pk>/publish/",
    }


@pytest.mark.parametrize("name", PEOPLE)
def test_email_intake_pages(city, client, name):
    from city311.intake.models import InboundMail, MailStatus

    held = InboundMail.objects.create(status=MailStatus.QUARANTINED, subject="x")
    client.force_login(person(city, name))
    page = client.get("/intake/mail/")
    release = client.post(f"/intake/mail/{held.pk}/release/")
    publish = client.post(f"/intake/mail/{held.pk}/publish/")
    # Released, it waits: a call taker may take it to the console.
    take = client.post(f"/intake/mail/{held.pk}/take/")
    codes = (page.status_code, release.status_code, publish.status_code, take.status_code)
    if name in LOGS:
        assert codes == (200, 302, 404, 302)
    else:
        assert set(codes) == {403}


def test_email_intake_pages_need_a_signed_in_staff_member(city, client):
    assert client.get("/intake/mail/").status_code == 302


# The site's own pages (city311/urls.py, outside the apps' URL files): the health check and
# the icon are anyone's; what is still loading (the demo's history) is every staff member's.
def test_the_matrix_covers_every_page_of_the_sites_own():
    from city311 import urls as site_urls

    own = {str(p.pattern) for p in site_urls.urlpatterns if isinstance(p, URLPattern)}
    assert own - {"", "accounts/login/", "accounts/logout/"} - {
        p for p in own if p.startswith("accounts/reset/")
    } == {"healthz", "favicon.ico", "status/loading/"}


@pytest.mark.parametrize("name", PEOPLE)
def test_the_loading_page_is_every_staff_members(city, client, name):
    from city311.ops import loading

    loading.begin("history:nyc", source="NYC 311", total=5000, done=2000)
    client.force_login(person(city, name))
    r = client.get("/status/loading/")
    assert r.status_code == 200
    assert "2,000 of 5,000 records loaded (40%)." in r.content.decode()


def test_the_loading_page_needs_a_signed_in_staff_member(city, client):
    r = client.get("/status/loading/")
    assert r.status_code == 302 and "/accounts/login/" in r["Location"]
    assert client.get("/healthz").status_code == 200
    assert client.get("/favicon.ico").status_code == 200
