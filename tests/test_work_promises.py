# ruff: noqa: F811
"""No promise expires unnoticed, and no request closes with its work undone (issue 15).

A request closes when its work is done: "Close: work done" and the request page's "Close" are
refused while a work order is unfinished, unless the closer cancels them explicitly. An
escalation nobody of the department can hear (no supervisor with an e-mail address, no
department mailbox) goes to the city's administrators, says so in the history and the log, and
the board warns of such departments before it happens. Each of the board's numbers is the count
of the queue page it links to.

Sofia supervises Streets; Dana is on its Day crew, Eli on its Night crew; Ada administers the
city; Max manages every department; Parks has Pat, no supervisor and no mailbox.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from datetime import timedelta
from unittest import mock

from django.utils import timezone

from city311.accounts import roles
from city311.notifications import tasks
from city311.servicerequests import actions, stream
from city311.servicerequests.models import ServiceRequest, Status, Team, WorkOrderStatus
from city311.test import make_user
from tests.test_work_audit import mailbox  # noqa: F401
from tests.test_work_queue import NORTH, SOUTH, city, errors, mix, shown  # noqa: F401


def two_crews_work(city):
    """A fallen limb on Streets' Day crew: Dana's work order 1, the Night crew's (Eli's) 2."""
    night = Team.objects.create(department=city.streets, name="Night crew", slug="night")
    eli = make_user("eli", roles.DEPARTMENT_STAFF, city.streets)
    night.members.add(eli)
    sr = city.report(**NORTH)
    actions.assign_team(sr, team=city.day_crew, by=city.sofia)
    actions.assign_request(sr, to=city.dana, by=city.sofia)
    actions.add_work_order(sr, title="Cut the fallen limb", assignee=city.dana, by=city.sofia)
    actions.add_work_order(sr, title="Haul the wood away", assignee=eli, by=city.sofia)
    return sr, eli


# 1. A request closes when its work is done


def test_the_crew_cannot_close_with_another_crews_work_order_unfinished(city, client):
    sr, _eli = two_crews_work(city)
    client.force_login(city.dana)
    page = client.get(f"/work/today/{sr.tracking_number}/").content.decode()
    assert "Close: work done" not in page
    assert "2 work orders are not finished: the request closes when the last one is done." in page

    client.post(f"/work/today/{sr.tracking_number}/orders/1/done", {"result": "Limb cut."})
    page = client.get(f"/work/today/{sr.tracking_number}/").content.decode()
    assert "One work order is not finished" in page and "Close: work done" not in page
    # The form is gone, and the step behind it refuses too.
    r = client.post(
        f"/work/today/{sr.tracking_number}/complete", {"note": "All done."}, follow=True
    )
    assert errors(r) == [
        f"Request {sr.tracking_number} still has work not finished: 2 (Haul the wood away). "
        "Each work order is finished by its crew, or cancelled, before the request closes."
    ]
    sr.refresh_from_db()
    assert sr.status != Status.CLOSED
    assert not sr.events.filter(kind="request.closed").exists()


def test_the_request_page_closes_only_with_the_work_done_or_cancelled(city, client):
    sr, _eli = two_crews_work(city)
    number = sr.tracking_number
    client.force_login(city.sofia)
    page = client.get(f"/work/requests/{number}/").content.decode()
    assert "2 work orders are not finished" in page
    assert "Cancel the unfinished work orders and close anyway" in page
    r = client.post(
        f"/work/requests/{number}/close",
        {"resolution": "completed", "note": "Limb gone."},
        follow=True,
    )
    assert errors(r) == [
        f"Request {number} still has work not finished: 1 (Cut the fallen limb), "
        "2 (Haul the wood away). Each work order is finished by its crew, or cancelled, "
        "before the request closes."
    ]
    assert ServiceRequest.objects.get(pk=sr.pk).status != Status.CLOSED

    # Sofia supervises both crews: she may cancel what is left, explicitly.
    r = client.post(
        f"/work/requests/{number}/close",
        {
            "resolution": "no_action",
            "note": "The resident moved the limb.",
            "cancel_unfinished": "1",
        },
        follow=True,
    )
    assert shown(r) == ["Request closed."]
    sr.refresh_from_db()
    assert (sr.status, sr.resolution) == (Status.CLOSED, "no_action")
    assert [o.status for o in sr.work_orders.order_by("number")] == [
        WorkOrderStatus.CANCELLED,
        WorkOrderStatus.CANCELLED,
    ]
    cancelled = sr.events.filter(kind="request.work_order_cancelled").order_by("pk")
    assert [(e.note, e.public, e.actor, e.data["on_close"]) for e in cancelled] == [
        ("Work order 1 cancelled when the request was closed.", False, city.sofia, True),
        ("Work order 2 cancelled when the request was closed.", False, city.sofia, True),
    ]
    kinds = list(sr.events.order_by("pk").values_list("kind", flat=True))
    assert kinds[-3:] == [
        "request.work_order_cancelled",
        "request.work_order_cancelled",
        "request.closed",
    ]
    public = client.get(f"/track/{number}").content.decode()
    assert "cancelled when the request was closed" not in public


def test_only_the_crews_and_supervisors_may_cancel_work_orders_by_closing(city, client):
    sr, _eli = two_crews_work(city)
    # On no team: the Night crew's work order is theirs alone (a team's members work every
    # work order of the team's requests).
    ServiceRequest.objects.filter(pk=sr.pk).update(team=None)
    number = sr.tracking_number
    client.force_login(city.dana)  # her own work order, not the Night crew's
    r = client.post(
        f"/work/requests/{number}/close",
        {"resolution": "completed", "note": "Done.", "cancel_unfinished": "1"},
        follow=True,
    )
    assert errors(r) == [
        "Only their crews and supervisors may cancel work orders 2 (Haul the wood away): ask "
        "them to finish or cancel them."
    ]
    sr.refresh_from_db()
    assert sr.status != Status.CLOSED
    assert not sr.work_orders.filter(status=WorkOrderStatus.CANCELLED).exists()


def test_the_last_work_order_done_still_closes_the_request(city, client):
    sr, eli = two_crews_work(city)
    client.force_login(city.dana)
    client.post(f"/work/today/{sr.tracking_number}/orders/1/done", {"result": "Limb cut."})
    client.force_login(eli)
    r = client.post(
        f"/work/today/{sr.tracking_number}/orders/2/done", {"result": "Wood hauled."}, follow=True
    )
    assert shown(r)[-1] == "Work order 2 done. The request is closed: all its work is done."
    sr.refresh_from_db()
    assert (sr.status, sr.resolution) == (Status.CLOSED, "completed")


def test_closing_many_as_duplicates_leaves_those_with_work_unfinished(city, client):
    parent = city.report()
    busy, idle = city.report(), city.report()
    actions.add_work_order(busy, title="Patch it", by=city.sofia)
    client.force_login(city.sofia)
    r = client.post(
        "/work/bulk",
        {
            "action": "duplicate",
            "duplicate_of": parent.tracking_number,
            "selected": [busy.tracking_number, idle.tracking_number],
        },
        follow=True,
    )
    assert shown(r)[0] == "Closed as duplicates: 1 request."
    assert f"{busy.tracking_number}: Request {busy.tracking_number} still has work" in errors(r)[0]
    assert ServiceRequest.objects.get(pk=busy.pk).status != Status.CLOSED
    assert ServiceRequest.objects.get(pk=idle.pk).status == Status.CLOSED


# 2. An escalation nobody of the department can hear


def fallen_tree_16_days_ago(city) -> ServiceRequest:
    """Parks' fallen tree (8 business hours), filed 16 days ago: 75%, the breach and three
    times the target are all past."""
    with mock.patch("django.utils.timezone.now", return_value=timezone.now() - timedelta(16)):
        return city.report(service_code="fallen_tree", answers={}, phone="", email="", **NORTH)


def sweep_twice(sr) -> None:
    for _ in range(2):  # a second sweep tells nobody again
        actions.escalate_request(sr)
        stream.dispatch()
        tasks.send_due_deliveries()


def to(message) -> str:
    return str(message["To"]).split("<")[-1].rstrip(">")


def test_an_escalation_nobody_of_parks_can_hear_reaches_the_administrators(city, mailbox, caplog):
    sr = fallen_tree_16_days_ago(city)
    with caplog.at_level(logging.WARNING, logger="city311.servicerequests.actions"):
        sweep_twice(sr)
    # 75% (nobody assigned: the supervisors') and the breach: Parks has no supervisor and
    # no mailbox, so Ada hears of both; at 3x Max, who manages every department.
    told = Counter(to(m) for m in mailbox.messages)
    assert told == {city.ada.email: 2, city.max.email: 1}, told
    subjects = mailbox.to(city.ada.email)
    assert subjects == [
        f"Nobody of the department told: Due soon: request {sr.tracking_number}, Fallen tree",
        f"Nobody of the department told: Overdue: request {sr.tracking_number}, Fallen tree",
    ]
    events = sr.events.filter(kind="request.escalated").order_by("pk")
    assert [(e.data["percent"], e.data.get("unreached", False)) for e in events] == [
        (75, True),
        (100, True),
        (300, False),
    ]
    assert events[1].data["recipients"] == [city.ada.pk]
    assert re.fullmatch(
        r"100% of the target time reached at .+: nobody of Parks could be told \(no one with an "
        r"e-mail address, no department mailbox\); told the administrators: Ada Tester\.",
        events[1].note,
    ), events[1].note
    body = next(mailbox.body(m) for m in mailbox.messages if "Overdue" in str(m["Subject"]))
    assert "nobody of Parks could be told" in body
    # The log says it once a level, with no one's address in it.
    warned = [r.getMessage() for r in caplog.records if "reached nobody" in r.getMessage()]
    assert len(warned) == 2 and all(sr.tracking_number in line for line in warned)
    assert "(parks)" in warned[1] and not any("@" in line for line in warned)
    # The work page shows it in the request's history.
    from django.test import Client

    page = Client()
    page.force_login(city.max)
    assert (
        "nobody of Parks could be told"
        in page.get(f"/work/requests/{sr.tracking_number}/").content.decode()
    )


def test_with_no_administrator_to_tell_the_history_says_nobody_was_told(city, mailbox):
    type(city.ada).objects.filter(pk=city.ada.pk).update(email="")
    sr = fallen_tree_16_days_ago(city)
    sweep_twice(sr)
    assert Counter(to(m) for m in mailbox.messages) == {city.max.email: 1}
    breach = sr.events.get(kind="request.escalated", data__percent=100)
    assert "NOBODY WAS TOLD" in breach.note and breach.data["recipients"] == []


def test_a_department_mailbox_hears_it_and_nothing_is_flagged(city, mailbox):
    city.parks.email = "parks@city311.example"
    city.parks.save(update_fields=["email"])
    sr = fallen_tree_16_days_ago(city)
    sweep_twice(sr)
    number = sr.tracking_number
    escalations = [s for s in mailbox.to("parks@city311.example") if number in s and "Due" in s]
    escalations += [s for s in mailbox.to("parks@city311.example") if s.startswith("Overdue")]
    assert escalations == [
        f"Due soon: request {number}, Fallen tree",
        f"Overdue: request {number}, Fallen tree",
    ]
    assert not mailbox.to(city.ada.email)
    assert not sr.events.filter(kind="request.escalated", data__unreached=True).exists()


def test_the_board_warns_of_a_department_whose_breaches_reach_nobody(city, client):
    client.force_login(city.max)
    page = client.get("/work/board/").content.decode()
    assert "Escalations reach nobody in:</strong> Parks." in page
    client.force_login(city.sofia)  # Streets has her: nothing to warn of
    assert 'data-testid="unreachable"' not in client.get("/work/board/").content.decode()
    make_user("paula", roles.SUPERVISOR, city.parks)
    client.force_login(city.max)
    assert 'data-testid="unreachable"' not in client.get("/work/board/").content.decode()


# 3. The board's numbers: each the count of the queue page it opens


def test_each_number_of_the_board_is_the_count_of_the_page_it_links_to(city, client, mix):
    made = ServiceRequest.objects.exclude(status=Status.CLOSED)
    for sr, level in zip(made.order_by("pk"), (75, 100, 300, 0), strict=False):
        ServiceRequest.objects.filter(pk=sr.pk).update(escalation_level=level)
    for who in (city.sofia, city.max):
        client.force_login(who)
        board = client.get("/work/board/")
        links = re.findall(r'<a href="(/work/\?[^"]+)">(\d[\d,+]*)</a>', board.content.decode())
        assert len(links) >= 9, links
        for link, number in links:
            queue = client.get(link.replace("&amp;", "&"))
            assert queue.status_code == 200, link
            assert f"{queue.context['count']}" == number, (who, link)
