"""Department work: queues people can work, teams and crews, work orders.

Sofia supervises Streets and runs its day: she filters the queue, saves views, gives work to
the Day crew in bulk and reads the board. Dana is on the Day crew: "my work today" lists her
stops in walking order, she starts one (it becomes hers) and closes it with a photo; Rosa reads
what was done on the public page.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.contrib import messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from city311.geo.models import Boundary
from city311.servicerequests import actions
from city311.servicerequests.models import (
    AssignmentRule,
    Channel,
    RequestEvent,
    ServiceRequest,
    Status,
    Team,
)
from city311.test import CityMixin, city_today
from city311.work import bulk, queries
from tests import small_city

NORTH = {"lat": 40.67, "long": -73.93, "address_string": "1350 Dumont Ave"}
SOUTH = {"lat": 40.62, "long": -73.95, "address_string": "10 South Street"}


@pytest.fixture
def city(db, settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    c = CityMixin()
    c.make_city()
    small_city.load(tmp_path)
    c.day_crew = Team.objects.create(department=c.streets, name="Day crew", slug="day-crew")
    c.day_crew.members.add(c.dana)
    return c


def numbers(response) -> set[str]:
    return {
        n
        for n in ServiceRequest.objects.values_list("tracking_number", flat=True)
        if n in response.content.decode()
    }


def shown(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def errors(response) -> list[str]:
    return [str(m) for m in response.context["messages"] if m.level == messages.ERROR]


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "green").save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def mix(city):
    """One request of each kind the filters tell apart, by name."""
    past = timezone.now() - timedelta(days=30)
    made = {
        "north": city.report(**NORTH, description="Deep hole by the hydrant"),
        "south": city.report(**SOUTH, channel=Channel.PHONE),
        "tree": city.report(service_code="fallen_tree", answers={}, **NORTH),
        "old": city.report(**SOUTH, requested_at=past),
        "closed": city.report(**NORTH),
    }
    ServiceRequest.objects.filter(pk=made["old"].pk).update(due_at=past + timedelta(days=5))
    actions.assign_request(made["north"], to=city.dana, by=city.sofia)
    actions.assign_team(made["south"], team=city.day_crew, by=city.sofia)
    actions.close_request(made["closed"], resolution="completed", note="Done.", by=city.dana)
    return {k: v.tracking_number for k, v in made.items()}


FILTERS = [
    ("", {"north", "south", "tree", "old"}),
    ("department=transportation", {"north", "south", "old"}),
    ("type=fallen_tree", {"tree"}),
    ("status=closed", {"closed"}),
    ("status=any", {"north", "south", "tree", "old", "closed"}),
    ("area=service_zone:S", {"south", "old"}),
    ("assignee=none", {"south", "tree", "old"}),
    ("team=day-crew", {"south"}),
    ("team=none", {"north", "tree", "old"}),
    ("overdue=1", {"old"}),
    ("urgent=1", {"tree"}),
    ("channel=phone", {"south"}),
    ("q=hydrant", {"north"}),
    ("q=south+street", {"south", "old"}),
    ("sort=oldest&department=transportation", {"north", "south", "old"}),
]


@pytest.mark.parametrize("query, expected", FILTERS)
def test_each_filter_selects_its_requests(city, client, mix, query, expected):
    client.force_login(city.ada)
    r = client.get(f"/work/?{query}")
    assert r.status_code == 200
    assert numbers(r) == {mix[name] for name in expected}


def row(page: str, number: str) -> str:
    """The queue table's row of one request."""
    start = page.index(f'value="{number}"')
    return page[page.rindex("<tr", 0, start) : page.index("</tr>", start)]


def test_each_row_says_what_the_request_is_and_links_to_it(city, client, mix):
    ServiceRequest.objects.filter(tracking_number=mix["old"]).update(
        escalation_level=100, address_string="<b>5</b> South St"
    )
    client.force_login(city.ada)
    page = client.get("/work/").content.decode()
    late = row(page, mix["old"])
    assert 'class=" overdue"' in late and '<span class="tag">Overdue</span>' in late
    assert '<span class="tag">Escalated: 100%</span>' in late
    assert "&lt;b&gt;5&lt;/b&gt; South St" in late and "<b>" not in late
    assert f'<a href="/work/requests/{mix["old"]}/">' in late
    assert f'aria-label="Select {mix["old"]}"' in late
    urgent = row(page, mix["tree"])
    assert 'class="urgent"' in urgent and '<span class="tag">Urgent</span>' in urgent
    assert "Day crew" in row(page, mix["south"])
    assert city.dana.get_full_name() in row(page, mix["north"])
    assert "<time datetime=" in row(page, mix["north"]) and "—" in row(page, mix["north"])
    closed = row(client.get("/work/?status=any").content.decode(), mix["closed"])
    assert "Closed" in closed and "Overdue" not in closed


def test_a_tracking_number_finds_its_request_however_it_is_typed(city, client, mix):
    client.force_login(city.sofia)
    typed = mix["north"].replace("-", " ")
    assert numbers(client.get("/work/", {"q": typed})) == {mix["north"]}


def test_the_assignee_filter_knows_me(city, client, mix):
    client.force_login(city.dana)
    assert numbers(client.get("/work/?assignee=me")) == {mix["north"]}


def test_received_dates_filter_by_the_day(city, client, mix):
    client.force_login(city.ada)
    today = city_today().isoformat()
    r = client.get(f"/work/?since={today}&until={today}")
    assert numbers(r) == {mix[n] for n in ("north", "south", "tree")}


@pytest.mark.parametrize(
    "query, says",
    [
        ("since=yesterday", "Received on or after: Enter a valid date."),
        ("assignee=bob", "Give the number of a person, “me” or “none”"),
        ("type=no_such_type", "There is no service type “no_such_type”"),
        ("team=ghosts", "There is no team “ghosts”"),
        ("area=north", "Give the area as kind:code"),
        ("since=2026-05-02&until=2026-05-01", "swap the dates"),
        ("status=lost", "Select a valid choice"),
        ("page=0", "greater than or equal to 1"),
    ],
)
def test_a_filter_it_cannot_read_is_a_400_saying_what_to_fix(city, client, query, says):
    client.force_login(city.sofia)
    for path in ("/work/", "/work/map.geojson", "/work/export.csv"):
        r = client.get(f"{path}?{query}")
        assert r.status_code == 400, path
        assert says in r.content.decode("unicode_escape" if "geojson" in path else "utf-8")


def test_the_count_stops_at_the_cap(city, client, monkeypatch):
    monkeypatch.setattr(queries, "COUNT_CAP", 3)
    for _ in range(5):
        city.report()
    client.force_login(city.sofia)
    page = client.get("/work/").content.decode()
    assert "3+ requests" in page
    monkeypatch.setattr(queries, "COUNT_CAP", 10)
    assert "5 requests" in client.get("/work/").content.decode()


def test_pages_follow_the_queue_order(city, client, monkeypatch):
    monkeypatch.setattr(queries, "PAGE_SIZE", 2)
    made = [city.report().tracking_number for _ in range(3)]
    client.force_login(city.sofia)
    first, second = client.get("/work/?sort=oldest"), client.get("/work/?sort=oldest&page=2")
    assert numbers(first) == set(made[:2]) and numbers(second) == {made[2]}
    assert "page=2" in first.content.decode() and "page=3" not in second.content.decode()


def test_the_csv_is_the_selection_without_personal_data(city, client, mix):
    client.force_login(city.sofia)
    r = client.get("/work/export.csv?area=service_zone:S")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    body = b"".join(r.streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(body)))
    assert {row["tracking_number"] for row in rows} == {mix["south"], mix["old"]}
    south = next(row for row in rows if row["tracking_number"] == mix["south"])
    assert south["team"] == "day-crew" and south["areas"].endswith("South zone")
    for personal in ("Rosa", "Diaz", "rosa@example.org", "555-0199", "5550199", "Deep hole"):
        assert personal not in body


def test_the_map_shows_the_same_selection(city, client, mix):
    client.force_login(city.sofia)
    data = client.get("/work/map.geojson?area=service_zone:S").json()
    assert {f["properties"]["tracking_number"] for f in data["features"]} == {
        mix["south"],
        mix["old"],
    }
    assert data["features"][0]["geometry"]["type"] == "Point" and not data["truncated"]
    page = client.get("/work/?area=service_zone:S").content.decode()
    assert 'data-points="/work/map.geojson?area=service_zone%3AS"' in page


def test_a_saved_view_opens_its_filters_again(city, client, mix):
    client.force_login(city.sofia)
    r = client.post(
        "/work/views/", {"name": "South overdue", "query": "area=service_zone%3AS&overdue=1"}
    )
    assert r.status_code == 302
    page = client.get("/work/").content.decode()
    assert '<a href="?area=service_zone%3AS&amp;overdue=1">South overdue</a>' in page
    assert numbers(client.get("/work/?area=service_zone%3AS&overdue=1")) == {mix["old"]}


def test_a_supervisor_gives_100_requests_to_a_crew_in_two_steps(city, client):
    made = [city.report(**(NORTH if i % 2 else SOUTH)) for i in range(100)]
    other = city.report(service_code="fallen_tree", answers={})
    client.force_login(city.sofia)
    # 1: the unassigned work of Streets.
    query = "department=transportation&team=none"
    assert "100 requests" in client.get(f"/work/?{query}").content.decode()
    # 2: all matching, to the Day crew.
    r = client.post(
        "/work/bulk",
        {"action": "team", "team": "day-crew", "all_matching": "1", "query": query},
        follow=True,
    )
    assert shown(r) == ["Given to the team: 100 requests."]
    assert ServiceRequest.objects.filter(team=city.day_crew).count() == 100
    # Each one changed through its own action, with its own history event.
    events = RequestEvent.objects.filter(kind="request.assigned", data__team="day-crew")
    assert {e.request_id for e in events} == {sr.pk for sr in made}
    assert ServiceRequest.objects.get(pk=other.pk).team is None


def test_bulk_assign_to_a_person_and_add_a_note(city, client, mix):
    client.force_login(city.sofia)
    picked = [mix["south"], mix["old"]]
    r = client.post(
        "/work/bulk",
        {"action": "assign", "assignee": city.dana.pk, "selected": picked},
        follow=True,
    )
    assert shown(r) == ["Assigned: 2 requests."]
    assert set(city.dana.assigned_requests.values_list("tracking_number", flat=True)) >= set(picked)
    r = client.post(
        "/work/bulk",
        {"action": "note", "text": "Crews out after the storm.", "public": "1", "selected": picked},
        follow=True,
    )
    assert shown(r) == ["Note added: 2 requests."]
    notes = ServiceRequest.objects.filter(
        tracking_number__in=picked, status_notes__contains="storm"
    )
    assert notes.count() == 2


def test_bulk_close_as_duplicates_and_transfer(city, client, mix):
    parent = city.report()
    twins = [city.report().tracking_number for _ in range(3)]
    client.force_login(city.sofia)
    r = client.post(
        "/work/bulk",
        {
            "action": "duplicate",
            "duplicate_of": parent.tracking_number,
            "selected": [*twins, parent.tracking_number],
        },
        follow=True,
    )
    assert shown(r)[0] == "Closed as duplicates: 3 requests."
    assert "it is the original request itself" in errors(r)[0]
    assert ServiceRequest.objects.filter(duplicate_of=parent).count() == 3
    r = client.post(
        "/work/bulk",
        {
            "action": "transfer",
            "department": city.parks.pk,
            "reason": "Tree roots",
            "selected": [mix["south"]],
        },
        follow=True,
    )
    moved = ServiceRequest.objects.get(tracking_number=mix["south"])
    assert moved.department == city.parks and moved.team is None


def test_bulk_says_what_is_wrong_with_its_input(city, client, mix):
    client.force_login(city.sofia)
    r = client.post("/work/bulk", {"action": "transfer", "selected": [mix["north"]]}, follow=True)
    assert errors(r) == ["Choose the department and say why the requests go there."]
    r = client.post("/work/bulk", {"action": "fly", "selected": [mix["north"]]}, follow=True)
    assert errors(r) == ["Choose what to do with the selected requests."]


def test_all_matching_beyond_the_limit_asks_to_narrow_the_filters(city, client, monkeypatch):
    monkeypatch.setattr(bulk, "LIMIT", 2)
    for _ in range(3):
        city.report()
    client.force_login(city.sofia)
    r = client.post(
        "/work/bulk", {"action": "note", "text": "x", "all_matching": "1", "query": ""}, follow=True
    )
    assert errors(r) == ["More than 2 requests match: narrow the filters first."]
    assert not RequestEvent.objects.filter(kind="request.note").exists()


def test_start_takes_the_request_for_me(city, client):
    sr = city.report()
    client.force_login(city.dana)
    client.post(f"/work/requests/{sr.tracking_number}/start")
    sr.refresh_from_db()
    assert sr.status == Status.IN_PROGRESS and sr.assignee == city.dana
    assert sr.events.get(kind="request.started").data == {"assignee": city.dana.pk}


def test_an_administrator_who_starts_work_does_not_take_it(city, client):
    sr = city.report()
    client.force_login(city.ada)
    client.post(f"/work/requests/{sr.tracking_number}/start")
    sr.refresh_from_db()
    assert sr.status == Status.IN_PROGRESS and sr.assignee is None


def test_assignment_rules_choose_the_team_by_type_and_area(city):
    south_crew = Team.objects.create(department=city.streets, name="South crew", slug="south")
    zone = city.day_crew.areas.model.objects.get(kind="service_zone", code="S")
    AssignmentRule.objects.create(service_type=city.pothole, team=city.day_crew)
    AssignmentRule.objects.create(group="Streets", area=zone, team=south_crew)
    AssignmentRule.objects.create(service_type=city.pothole, area=zone, team=south_crew)
    north, south = city.report(**NORTH), city.report(**SOUTH)
    assert (north.team, south.team) == (city.day_crew, south_crew)
    routed = south.events.get(kind="request.routed")
    assert routed.data["team"] == "south" and "Team South crew, by assignment rule" in routed.note


def test_a_transfer_takes_the_new_departments_team(city):
    tree_crew = Team.objects.create(department=city.parks, name="Tree crew", slug="trees")
    AssignmentRule.objects.create(service_type=city.pothole, team=tree_crew)
    sr = city.report()
    assert sr.team is None  # the rule names another department's team
    actions.transfer_request(sr, department=city.parks, reason="Roots", by=city.sofia)
    sr.refresh_from_db()
    assert sr.team == tree_crew


def test_a_team_of_another_department_is_refused(city, client, mix):
    Team.objects.create(department=city.parks, name="Tree crew", slug="trees")
    client.force_login(city.ada)
    r = client.post(f"/work/requests/{mix['north']}/team", {"team": "trees"}, follow=True)
    assert errors(r) == ["That team is not one of this department's."]


def test_the_board_counts_unassigned_and_overdue_work_by_team_and_area(city, client, mix):
    client.force_login(city.sofia)
    r = client.get("/work/board/")
    by_team = {row["team__slug"]: row for row in r.context["by_team"]}
    assert (by_team["day-crew"]["open"], by_team["day-crew"]["unassigned"]) == (1, 1)
    assert (by_team[None]["open"], by_team[None]["overdue"]) == (2, 1)
    by_area = {row["code"]: row for row in r.context["by_area"]}
    assert (by_area["S"]["open"], by_area["S"]["overdue"]) == (2, 1)
    assert by_area["N"]["open"] == 1  # the tree is Parks': Sofia does not see it
    assert "/work/?area=service_zone:S&amp;overdue=1" in r.content.decode()


def test_the_board_names_an_area_no_longer_among_the_boundaries_as_recorded(city, client, mix):
    ServiceRequest.objects.filter(tracking_number=mix["south"]).update(
        areas={"service_zone": {"code": "OLD", "name": "Old south zone"}}
    )
    client.force_login(city.sofia)
    r = client.get("/work/board/")
    by_area = {row["code"]: row for row in r.context["by_area"]}
    assert (by_area["OLD"]["name"], by_area["OLD"]["open"]) == ("Old south zone", 1)
    assert (by_area["S"]["name"], by_area["S"]["open"]) == (
        Boundary.objects.get(kind="service_zone", code="S").name,
        1,
    )
    # Every request is counted once in each table.
    for table in ("by_team", "by_area"):
        assert sum(row["open"] for row in r.context[table]) == 3, table


def test_my_day_walks_to_the_nearest_stop_next(city, client):
    city.day_crew.start_lat, city.day_crew.start_long = 40.69, -73.99
    city.day_crew.save()
    far = city.report(lat=40.61, long=-73.91)
    near = city.report(lat=40.68, long=-73.98)
    middle = city.report(lat=40.65, long=-73.95)
    nowhere = city.report(service_code="permit_question", lat=None, long=None, address_string="")
    for sr in (far, near, middle, nowhere):
        actions.assign_request(sr, to=city.dana, by=city.sofia)
    client.force_login(city.dana)
    r = client.get("/work/today/")
    assert [s.sr for s in r.context["stops"]] == [near, middle, far, nowhere]
    assert 1000 < r.context["stops"][0].metres < 1500
    assert "4 stops, in route order" in r.content.decode()


def test_a_crew_closes_with_a_photo_and_the_resident_sees_what_was_done(city, client):
    sr = city.report()
    actions.assign_request(sr, to=city.dana, by=city.sofia)
    client.force_login(city.dana)
    page = client.get(f"/work/today/{sr.tracking_number}/").content.decode()
    assert "Close: work done" in page
    photo = SimpleUploadedFile("done.png", png(), content_type="image/png")
    r = client.post(
        f"/work/today/{sr.tracking_number}/complete",
        {"note": "Filled and rolled.", "photo": photo},
    )
    assert r.status_code == 302 and r["Location"] == "/work/today/"
    sr.refresh_from_db()
    assert (sr.status, sr.resolution, sr.status_notes) == (
        "closed",
        "completed",
        "Filled and rolled.",
    )
    assert sr.attachments.count() == 1
    public = client.get(f"/track/{sr.tracking_number}").content.decode()
    assert "What was done" in public and "Filled and rolled." in public
    assert f"/open311/v2/media/{sr.attachments.get().pk}" in public or "media" in public


def test_a_crew_photo_that_is_not_a_photo_is_refused_and_nothing_closes(city, client):
    sr = city.report()
    client.force_login(city.dana)
    fake = SimpleUploadedFile("done.png", b"<html>not a photo</html>", content_type="image/png")
    r = client.post(
        f"/work/today/{sr.tracking_number}/complete",
        {"note": "Done.", "photo": fake},
        follow=True,
    )
    assert "not a photo city311 takes" in errors(r)[0]
    sr.refresh_from_db()
    assert sr.status != Status.CLOSED and not sr.attachments.exists()


def test_the_request_closes_when_its_last_work_order_is_done(city, client):
    sr = city.report()
    client.force_login(city.sofia)
    number = sr.tracking_number
    client.post(f"/work/requests/{number}/work_order", {"title": "Cut back the roots"})
    client.post(
        f"/work/requests/{number}/work_order", {"title": "Patch the road", "assignee": city.dana.pk}
    )
    cut, patch = sr.work_orders.all()
    assert (cut.number, patch.number, patch.assignee) == (1, 2, city.dana)
    client.force_login(city.dana)
    client.post(f"/work/requests/{number}/work_order_start", {"number": 1})
    client.post(f"/work/requests/{number}/work_order_done", {"number": 1, "result": "Roots cut."})
    sr.refresh_from_db()
    assert sr.status == Status.IN_PROGRESS
    r = client.post(
        f"/work/requests/{number}/work_order_done", {"number": 2, "result": "Patched."}, follow=True
    )
    assert shown(r)[-1] == "Work order 2 done. The request is closed: all its work is done."
    sr.refresh_from_db()
    assert sr.status == Status.CLOSED
    assert sr.status_notes == "Cut back the roots: Roots cut.\nPatch the road: Patched."
    kinds = list(sr.events.values_list("kind", flat=True))
    assert kinds.count("request.work_order_added") == 2
    assert kinds.count("request.work_order_done") == 2 and kinds[-1] == "request.closed"
    # The resident reads each piece of work as it is done.
    public = client.get(f"/track/{number}").content.decode()
    assert "Part of the work was done" in public and "Roots cut." in public


def test_a_request_whose_work_orders_were_all_cancelled_stays_open(city, client):
    sr = city.report()
    order = actions.add_work_order(sr, title="Visit", by=city.sofia)
    client.force_login(city.dana)
    r = client.post(
        f"/work/requests/{sr.tracking_number}/work_order_cancel",
        {"number": order.number, "result": ""},
        follow=True,
    )
    assert errors(r) == ["Say why the work order is cancelled."]
    client.post(
        f"/work/requests/{sr.tracking_number}/work_order_cancel",
        {"number": order.number, "result": "Resident fixed it."},
    )
    sr.refresh_from_db()
    assert sr.status != Status.CLOSED
    assert sr.events.filter(kind="request.work_order_cancelled", public=False).exists()


def test_a_work_order_for_someone_else_needs_a_supervisor(city, client):
    sr = city.report()
    client.force_login(city.dana)
    r = client.post(
        f"/work/requests/{sr.tracking_number}/work_order",
        {"title": "Visit", "assignee": city.sofia.pk},
    )
    assert r.status_code == 403 and not sr.work_orders.exists()
    client.post(
        f"/work/requests/{sr.tracking_number}/work_order",
        {"title": "Visit", "assignee": city.dana.pk},
    )
    assert sr.work_orders.get().assignee == city.dana


def test_the_staff_pages_say_what_is_wrong_in_spanish_with_the_same_status(
    city, client, mix, monkeypatch
):
    """Sofia reads the work pages in Spanish: their own checks are worded in Spanish too, and
    each answers as it did in English (400 for a filter, a message on the page, 403)."""
    es = {"HTTP_ACCEPT_LANGUAGE": "es"}
    client.force_login(city.sofia)
    r = client.get("/work/?type=no_such_type", **es)
    assert r.status_code == 400
    assert "No existe el tipo de servicio “no_such_type”: revise el código." in r.content.decode()
    r = client.get("/work/today/?territory=ghosts", **es)
    assert r.status_code == 400
    assert "No existe el equipo “ghosts”: elija uno de la lista." in r.content.decode()

    north = f"/work/requests/{mix['north']}"
    r = client.post(f"{north}/merge", {"into": mix["north"]}, **es)
    assert r.status_code == 302
    r = client.get(r.url, **es)
    assert errors(r) == ["Una solicitud no se puede fusionar consigo misma."]
    r = client.post(f"{north}/locate", {"lat": "north", "long": "-73.9"}, follow=True, **es)
    assert errors(r) == ["Dé el punto en números."]
    r = client.post(f"{north}/assign", {"assignee": city.ada.pk}, follow=True, **es)
    assert errors(r) == ["Esa persona no trabaja en este departamento."]

    monkeypatch.setattr(bulk, "LIMIT", 2)
    r = client.post(
        "/work/bulk",
        {"action": "note", "text": "x", "all_matching": "1", "query": ""},
        follow=True,
        **es,
    )
    assert errors(r) == ["Coinciden más de 2 solicitudes: primero limite los filtros."]

    order = actions.add_work_order(
        ServiceRequest.objects.get(tracking_number=mix["north"]), title="Visit", by=city.sofia
    )
    r = client.post(f"{north}/work_order_note", {"number": order.number}, follow=True, **es)
    assert errors(r) == ["Escriba la nota (como máximo 4.000 caracteres) antes de guardarla."]
    r = client.post(f"{north}/work_order_reassign", {"number": 99}, follow=True, **es)
    assert errors(r) == ["Esta solicitud no tiene esa orden de trabajo."]

    client.force_login(city.dana)
    r = client.post(f"{north}/work_order", {"title": "Visita", "assignee": city.sofia.pk}, **es)
    assert r.status_code == 403
    assert "Solo un supervisor puede dar una orden de trabajo a otra persona." in r.content.decode()
