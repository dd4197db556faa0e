# ruff: noqa: F811
"""Issue 15's audit of department work, closed through the pages.

Work orders carry notes and change hands; a team's territory routes, groups the board and
narrows a crew's day; the board shows escalations by level; and escalation mail goes by role
(the assignee, the team's supervisor, the department's manager) to a real SMTP server.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from unittest import mock

import pytest
from aiosmtpd.controller import Controller
from django.utils import timezone

from city311.accounts import roles
from city311.geo.models import Boundary
from city311.notifications import tasks
from city311.servicerequests import actions, stream
from city311.servicerequests.models import AssignmentRule, Team, WorkOrder
from city311.test import make_user
from tests.helpers import free_port
from tests.test_notifications_worker import Mailbox

# The work pages' small city (a fixture: its name is redefined by the tests that use it).
from tests.test_work_queue import NORTH, SOUTH, city, errors  # noqa: F401


def zone(code: str) -> Boundary:
    return Boundary.objects.get(kind="service_zone", code=code)


# 1. Work orders: notes of their own, and a new hand


def test_a_work_order_takes_notes_internal_unless_said_otherwise(city, client):
    sr = city.report(**NORTH)
    order = actions.add_work_order(sr, title="Fill the hole", assignee=city.dana, by=city.sofia)
    client.force_login(city.dana)
    url = f"/work/requests/{sr.tracking_number}/work_order_note"
    client.post(url, {"number": order.number, "text": "A van is parked over it."})
    client.post(url, {"number": order.number, "text": "Back tomorrow at 8.", "public": "1"})
    notes = sr.events.filter(kind="request.work_order_note").order_by("pk")
    assert [(e.note, e.public, e.data["work_order"]) for e in notes] == [
        ("A van is parked over it.", False, 1),
        ("Back tomorrow at 8.", True, 1),
    ]
    page = client.get(f"/work/requests/{sr.tracking_number}/").content.decode()
    assert "A van is parked over it." in page and "Work order note" in page
    public = client.get(f"/track/{sr.tracking_number}").content.decode()
    assert "Back tomorrow at 8." in public and "A van is parked" not in public
    r = client.post(url, {"number": order.number, "text": "  "}, follow=True)
    assert errors(r) == ["Write the note (at most 4,000 characters) before saving it."]
    r = client.post(url, {"number": 9, "text": "Where?"}, follow=True)
    assert errors(r) == ["This request has no such work order."]


def test_a_supervisor_reassigns_a_work_order_and_a_worker_only_takes_one(city, client):
    sr = city.report(**NORTH)
    order = actions.add_work_order(sr, title="Fill the hole", by=city.sofia)
    url = f"/work/requests/{sr.tracking_number}/work_order_reassign"
    client.force_login(city.dana)
    r = client.post(url, {"number": 1, "assignee": city.sofia.pk})
    assert r.status_code == 403
    client.post(url, {"number": 1, "assignee": city.dana.pk})
    assert WorkOrder.objects.get(pk=order.pk).assignee == city.dana
    client.force_login(city.sofia)
    client.post(url, {"number": 1, "assignee": city.sofia.pk})
    assert WorkOrder.objects.get(pk=order.pk).assignee == city.sofia
    moves = sr.events.filter(kind="request.work_order_reassigned").order_by("pk")
    assert [(e.data["assignee"], e.data["was"], e.public) for e in moves] == [
        (city.dana.pk, None, False),
        (city.sofia.pk, city.dana.pk, False),
    ]
    r = client.post(url, {"number": 1, "assignee": city.pat.pk}, follow=True)
    assert errors(r) == ["That person does not work in this department."]
    r = client.post(url, {"number": 1, "assignee": "dana"}, follow=True)
    assert errors(r) == ["Choose who does the work order (a person of the department)."]
    actions.finish_work_order(order, result="Not needed", by=city.sofia, cancelled=True)
    r = client.post(url, {"number": 1, "assignee": city.dana.pk}, follow=True)
    assert errors(r) == ["Work order 1 is already cancelled."]


# 2. Territory


@pytest.fixture
def south_crew(city):
    crew = Team.objects.create(department=city.streets, name="South crew", slug="south")
    crew.areas.add(zone("S"))
    crew.members.add(city.dana)
    return crew


def test_with_no_rule_the_team_whose_territory_holds_it_gets_it(city, south_crew):
    parks_south = Team.objects.create(department=city.parks, name="Park south", slug="p-south")
    parks_south.areas.add(zone("S"))
    south, north = city.report(**SOUTH), city.report(**NORTH)
    assert (south.team, north.team) == (south_crew, None)
    routed = south.events.get(kind="request.routed")
    assert routed.data["territory"] and "whose territory holds" in routed.note
    # A rule still comes first.
    AssignmentRule.objects.create(service_type=city.pothole, team=city.day_crew)
    assert city.report(**SOUTH).team == city.day_crew


def test_the_board_shows_territories_and_a_crews_day_filters_by_one(city, client, south_crew):
    south, north = city.report(**SOUTH), city.report(**NORTH)
    for sr in (south, north):
        actions.assign_request(sr, to=city.dana, by=city.sofia)
    client.force_login(city.sofia)
    board = client.get("/work/board/")
    by_team = {row["team__slug"]: row for row in board.context["by_team"]}
    assert by_team["south"]["territory"] == [zone("S").name]
    by_area = {row["code"]: row for row in board.context["by_area"]}
    assert by_area["S"]["team"] == {"slug": "south", "name": "South crew"}
    assert by_area["N"]["team"] is None
    client.force_login(city.dana)
    day = client.get("/work/today/")
    assert [s.sr for s in day.context["stops"]] in ([south, north], [north, south])
    narrowed = client.get("/work/today/?territory=south")
    assert [s.sr for s in narrowed.context["stops"]] == [south]
    wrong = client.get("/work/today/?territory=nosuch")
    assert wrong.status_code == 400 and "There is no team “nosuch”" in wrong.content.decode()


# 3. Escalations on the board


def test_the_board_counts_escalations_by_level_and_links_to_them(city, client, south_crew):
    made = [city.report(**SOUTH) for _ in range(4)]
    for sr, level in zip(made, (75, 100, 300, 0), strict=True):
        type(sr).objects.filter(pk=sr.pk).update(escalation_level=level)
    client.force_login(city.sofia)
    r = client.get("/work/board/")
    row = next(row for row in r.context["by_team"] if row["team__slug"] == "south")
    assert (row["warned"], row["breached"], row["way_overdue"]) == (1, 1, 1)
    link = "/work/?department=transportation&amp;team=south&amp;escalation=breached"
    assert link in r.content.decode()
    queue = client.get(link.replace("&amp;", "&"))
    assert [sr.pk for sr in queue.context["rows"]] == [made[1].pk]
    bad = client.get("/work/?escalation=late")
    assert bad.status_code == 400 and "Escalation" in bad.content.decode()


# 4. Escalation mail by role, to a real SMTP server


@pytest.fixture
def mailbox(settings):
    box = Mailbox()
    smtp = Controller(box, hostname="127.0.0.1", port=free_port())
    smtp.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp.port
    yield box
    box.release.set()
    smtp.stop()


def test_escalation_mail_goes_by_role_once_each(city, south_crew, mailbox):
    # Sofia supervises the South crew; Sam supervises Streets but not that crew. Mia manages
    # Streets; Max manages no department (city-wide: told only when a department has none).
    south_crew.members.add(city.sofia)
    sam = make_user("sam", roles.SUPERVISOR, city.streets)
    mia = make_user("mia", roles.MANAGER, city.streets)
    # Filed 16 days ago: 5 calendar days, so 75%, the breach and 3x (day 15) are all past.
    with mock.patch("django.utils.timezone.now", return_value=timezone.now() - timedelta(16)):
        sr = city.report(**SOUTH, phone="", email="")
    assert sr.team == south_crew
    actions.assign_request(sr, to=city.dana, by=city.sofia)
    for _ in range(2):  # a second sweep tells nobody again
        actions.escalate_request(sr)
        stream.dispatch()
        tasks.send_due_deliveries()
    told = Counter(str(m["To"]).split("<")[-1].rstrip(">") for m in mailbox.messages)
    assert told == {city.dana.email: 1, city.sofia.email: 1, mia.email: 1}, told
    assert sam.email not in told and city.max.email not in told
