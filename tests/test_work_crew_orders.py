# ruff: noqa: F811
"""A crew works its work orders from the phone-sized crew page (/work/today/<number>/): start
one, add a note (with a photo the resident may see), finish it with what was done, or hand it
back with why, which the supervisors and the request's assignee hear by e-mail. Only the work
order's crew and their supervisors may; each step is in the request's history.

Dana is on the Day crew; Eli works in Streets too but on no crew; Sofia supervises Streets;
Pat works in Parks."""

from __future__ import annotations

import io
from collections import Counter

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from PIL import Image

from city311.accounts import roles
from city311.notifications import tasks
from city311.servicerequests import actions, stream
from city311.servicerequests.models import ServiceRequest, Status, WorkOrder, WorkOrderStatus
from city311.test import make_user
from tests.test_work_audit import mailbox  # noqa: F401
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
    # Sofia, who supervises Streets, is to hear of it (test_a_hand_back_reaches_...).
    assert (event.note, event.public, event.actor, event.data) == (
        "Needs the bucket truck.",
        False,
        city.dana,
        {"work_order": 1, "was": city.dana.pk, "recipients": [city.sofia.pk]},
    )
    detail = client.get(f"/work/requests/{sr.tracking_number}/").content.decode()
    assert "Work order handed back" in detail
    assert (
        "Needs the bucket truck." not in client.get(f"/track/{sr.tracking_number}").content.decode()
    )


def test_a_hand_back_reaches_the_supervisor_and_the_requests_assignee_once(city, client, mailbox):
    # Eli has the request (he answers for all its work); Dana has its first work order; Sofia
    # supervises Streets. Max manages every department and is not told.
    eli = make_user("eli", roles.DEPARTMENT_STAFF, city.streets)
    sr, _ = crew_order(city, assignee=city.dana)
    actions.assign_request(sr, to=eli, by=city.sofia)
    client.force_login(city.dana)
    r = client.post(url(sr, 1, "hand_back"), {"reason": "Needs the bucket truck."}, follow=True)
    assert shown(r) == ["Work order 1 handed back: a supervisor will give it again."]
    for _ in range(2):  # the stream read again tells nobody twice
        stream.dispatch()
        tasks.send_due_deliveries()
    # (Rosa, who reported it, has her "received" message.)
    mails = [m for m in mailbox.messages if str(m["Subject"]).startswith("Work order")]
    told = Counter(str(m["To"]).split("<")[-1].rstrip(">") for m in mails)
    assert told == {city.sofia.email: 1, eli.email: 1}, told
    mail = mails[0]
    assert str(mail["Subject"]) == (
        f"Work order 1 handed back: request {sr.tracking_number}, Pothole"
    )
    body = mail.get_body(preferencelist=("plain",)).get_content()
    assert "Dana Tester handed back work order 1 (Cut the fallen limb)" in body
    assert "Why: Needs the bucket truck." in body
    assert f"/work/requests/{sr.tracking_number}/" in body


def test_a_supervisor_handing_back_is_not_told_of_it(city, client):
    sr, _ = crew_order(city, assignee=city.dana)
    client.force_login(city.sofia)
    client.post(url(sr, 1, "hand_back"), {"reason": "Wrong crew: Parks does it."})
    event = sr.events.get(kind="request.work_order_handed_back")
    # Nobody named: the notifications tell the department's mailbox, if it has one.
    assert (event.actor, event.data["recipients"]) == (city.sofia, [])


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


def test_outside_the_crew_the_requests_page_is_no_way_round(city, client):
    eli = make_user("eli", roles.DEPARTMENT_STAFF, city.streets)
    sr, _ = crew_order(city, assignee=city.dana)
    client.force_login(eli)
    page = f"/work/requests/{sr.tracking_number}/"
    taking = client.post(page + "work_order_reassign", {"number": 1, "assignee": eli.pk})
    assert taking.status_code == 403
    assert client.post(page + "work_order_done", {"number": 1, "result": "Cut."}).status_code == 403
    # Work order 2 has nobody, on a request of the Day crew: not Eli's to start either.
    assert client.post(page + "work_order_start", {"number": 2}).status_code == 403
    shown_page = client.get(page).content.decode()
    assert "Cut the fallen limb" in shown_page and "Reassign work order 1" not in shown_page
    assert WorkOrder.objects.filter(request=sr, status=WorkOrderStatus.OPEN).count() == 2
    # The request's own page keeps the department's rule: Eli notes a call there...
    r = client.post(page + "note", {"text": "Called the resident."}, follow=True)
    assert shown(r) == ["Note added."]
    # ...while the crew page's forms on the request are the crew's.
    crew_page = f"/work/today/{sr.tracking_number}/"
    assert "Close: work done" not in client.get(crew_page).content.decode()
    assert client.post(crew_page + "note", {"text": "Me too."}).status_code == 403
    assert client.post(crew_page + "complete", {"note": "Done."}).status_code == 403
    # A request nobody has is its work orders' crews': Dana's, not Eli's.
    loose = city.report(**NORTH)
    actions.add_work_order(loose, title="Patch it", assignee=city.dana, by=city.sofia)
    loose_page = f"/work/today/{loose.tracking_number}/"
    assert client.post(loose_page + "note", {"text": "Me?"}).status_code == 403
    client.force_login(city.dana)
    r = client.post(loose_page + "note", {"text": "On my way."}, follow=True)
    assert shown(r) == ["Note added."]
    assert r.redirect_chain[-1][0] == loose_page


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
