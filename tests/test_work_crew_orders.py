# ruff: noqa: F811
"""A crew works its work orders from the phone-sized crew page (/work/today/<number>/): start
one, add a note (with a photo the resident may see), finish it with what was done, or hand it
back with why. Only the work order's crew and their supervisors may; each step is in the
request's history.

Dana is on the Day crew; Eli works in Streets too but on no crew; Sofia supervises Streets;
Pat works in Parks."""

from __future__ import annotations

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from PIL import Image

from city311.accounts import roles
from city311.servicerequests import actions
from city311.servicerequests.models import ServiceRequest, Status, WorkOrder, WorkOrderStatus
from city311.test import make_user
from tests.test_work_queue import NORTH, city, errors, shown  # noqa: F401


def crew_order(city, *, assignee=None):
    sr = city.report(**NORTH)
    sr.team = city.day_crew
    sr.save(update_fields=["team"])
    first = actions.add_work_order(
        sr, title="Cut the fallen limb", assignee=assignee, by=city.sofia
    )
    actions.add_work_order(sr, title="Haul the wood away", by=city.sofia)
    return sr, first


def url(sr, number, action):
    return f"/work/today/{sr.tracking_number}/orders/{number}/{action}"


def jpeg() -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "gray").save(out, "JPEG")
    return SimpleUploadedFile("limb.jpg", out.getvalue(), content_type="image/jpeg")


def test_dana_starts_notes_and_finishes_her_crews_work_orders(city, client):
    sr, first = crew_order(city)
    client.force_login(city.dana)
    page = client.get(f"/work/today/{sr.tracking_number}/").content.decode()
    assert "Start work order 1" in page and "Hand work order 2 back" in page

    r = client.post(url(sr, 1, "start"), follow=True)
    assert shown(r) == ["Work order 1 started."]
    first.refresh_from_db()
    assert first.status == WorkOrderStatus.IN_PROGRESS and first.assignee == city.dana
    assert r.redirect_chain[-1][0] == f"/work/today/{sr.tracking_number}/"

    r = client.post(url(sr, 1, "note"), {"text": "Limb is bigger than it looked."}, follow=True)
    assert shown(r) == ["Note added to work order 1."]
    r = client.post(
        url(sr, 1, "note"),
        {"text": "Half of it cut.", "public": "1", "photo": jpeg()},
        follow=True,
    )
    assert shown(r) == ["Note added to work order 1."]
    assert sr.attachments.count() == 1
    page = r.content.decode()
    assert "Limb is bigger than it looked." in page and "Half of it cut." in page

    r = client.post(url(sr, 1, "done"), {"result": "Limb cut and stacked."}, follow=True)
    assert shown(r) == ["Work order 1 done."]
    r = client.post(url(sr, 2, "done"), {"result": "Wood hauled to the yard."}, follow=True)
    assert shown(r) == ["Work order 2 done. The request is closed: all its work is done."]
    assert r.redirect_chain[-1][0] == "/work/today/"
    sr.refresh_from_db()
    # The closing note the reports read as "actions taken": what each work order did.
    assert sr.status == Status.CLOSED and sr.resolution == "completed"
    assert sr.status_notes == (
        "Cut the fallen limb: Limb cut and stacked.\nHaul the wood away: Wood hauled to the yard."
    )
    kinds = list(sr.events.order_by("pk").values_list("kind", flat=True))
    assert kinds[-6:] == [
        "request.work_order_started",
        "request.work_order_note",
        "request.work_order_note",
        "request.work_order_done",
        "request.work_order_done",
        "request.closed",
    ]
    public = client.get(f"/track/{sr.tracking_number}").content.decode()
    assert "Half of it cut." in public and "Limb is bigger" not in public


def test_a_photo_goes_only_with_a_note_the_resident_may_read(city, client):
    sr, _ = crew_order(city, assignee=city.dana)
    client.force_login(city.dana)
    r = client.post(url(sr, 1, "note"), {"text": "Here it is.", "photo": jpeg()}, follow=True)
    assert errors(r) == [
        "A photo is shown to the resident with the request: tick “the resident can read this "
        "note”, or leave the photo out."
    ]
    assert sr.attachments.count() == 0
    assert not sr.events.filter(kind="request.work_order_note").exists()
    broken = SimpleUploadedFile("x.jpg", b"\xff\xd8\xff\xe0 not a photo", content_type="image/jpeg")
    r = client.post(
        url(sr, 1, "note"), {"text": "Here.", "public": "1", "photo": broken}, follow=True
    )
    assert r.status_code == 200 and errors(r) and sr.attachments.count() == 0


def test_handing_a_work_order_back_says_why_and_frees_it(city, client):
    sr, first = crew_order(city, assignee=city.dana)
    actions.start_work_order(first, by=city.dana)
    client.force_login(city.dana)
    r = client.post(url(sr, 1, "hand_back"), {"reason": "  "}, follow=True)
    assert errors(r) == ["Say why you hand the work order back (at most 4,000 characters)."]
    r = client.post(url(sr, 1, "hand_back"), {"reason": "Needs the bucket truck."}, follow=True)
    assert shown(r) == ["Work order 1 handed back: a supervisor will give it again."]
    first.refresh_from_db()
    assert first.assignee is None and first.status == WorkOrderStatus.OPEN
    event = sr.events.get(kind="request.work_order_handed_back")
    assert (event.note, event.public, event.actor, event.data) == (
        "Needs the bucket truck.",
        False,
        city.dana,
        {"work_order": 1, "was": city.dana.pk},
    )
    detail = client.get(f"/work/requests/{sr.tracking_number}/").content.decode()
    assert "Work order handed back" in detail
    assert (
        "Needs the bucket truck." not in client.get(f"/track/{sr.tracking_number}").content.decode()
    )


def test_bad_input_is_a_clear_error(city, client):
    sr, _ = crew_order(city, assignee=city.dana)
    client.force_login(city.dana)
    r = client.post(url(sr, 1, "done"), {"result": ""}, follow=True)
    assert errors(r) == ["Write what was done (at most 4,000 characters)."]
    r = client.post(url(sr, 1, "done"), {"result": "x" * 4001}, follow=True)
    assert errors(r) == ["Write what was done (at most 4,000 characters)."]
    assert client.post(url(sr, 9, "start")).status_code == 404
    assert client.post(url(sr, 1, "explode")).status_code == 404
    assert client.get(url(sr, 1, "start")).status_code == 405
    client.post(url(sr, 1, "start"))
    r = client.post(url(sr, 1, "start"), follow=True)
    assert errors(r) == ["Work order 1 is already in progress."]
    client.post(url(sr, 1, "done"), {"result": "Cut."})
    r = client.post(url(sr, 1, "hand_back"), {"reason": "Oops"}, follow=True)
    assert errors(r) == ["Work order 1 is already done."]


def test_only_the_crew_and_their_supervisors_work_the_orders(city, client):
    eli = make_user("eli", roles.DEPARTMENT_STAFF, city.streets)
    sr, _ = crew_order(city, assignee=city.dana)
    for person, status in [(city.pat, 404), (city.omar, 403), (eli, 403)]:
        client.force_login(person)
        for action, data in [
            ("start", {}),
            ("note", {"text": "Mine now"}),
            ("done", {"result": "Done"}),
            ("hand_back", {"reason": "No"}),
        ]:
            assert client.post(url(sr, 1, action), data).status_code == status, (person, action)
        if person == eli:
            page = client.get(f"/work/today/{sr.tracking_number}/").content.decode()
            assert "Cut the fallen limb" in page and "Start work order 1" not in page
    assert WorkOrder.objects.get(request=sr, number=1).status == WorkOrderStatus.OPEN
    assert not sr.events.filter(kind="request.work_order_note").exists()
    client.force_login(city.sofia)
    r = client.post(url(sr, 1, "start"), follow=True)
    assert shown(r) == ["Work order 1 started."]
    # Eli joins the Day crew: the crew's work orders are his too.
    city.day_crew.members.add(eli)
    client.force_login(eli)
    r = client.post(url(sr, 2, "note"), {"text": "On my way."}, follow=True)
    assert shown(r) == ["Note added to work order 2."]
    assert ServiceRequest.objects.get(pk=sr.pk).status == Status.IN_PROGRESS


def test_the_crew_page_speaks_spanish(city, client):
    sr, _ = crew_order(city, assignee=city.dana)
    client.force_login(city.dana)
    with translation.override("es"):
        page = client.get(
            f"/work/today/{sr.tracking_number}/", HTTP_ACCEPT_LANGUAGE="es"
        ).content.decode()
        r = client.post(
            url(sr, 1, "hand_back"),
            {"reason": "Falta el camión."},
            follow=True,
            HTTP_ACCEPT_LANGUAGE="es",
        )
    assert "Iniciar la orden de trabajo 1" in page and "Devolver la orden de trabajo 1" in page
    assert shown(r) == ["Orden de trabajo 1 devuelta: un supervisor la asignará de nuevo."]
