"""A department's day in a real browser: Sofia (Streets supervisor) gives 50 requests to the Day
crew in a few actions; Dana, on the crew, works "my work today" on her phone and closes one with
a photo; Rosa sees what was done on the public page. Every step is checked with axe-core."""

from __future__ import annotations

import io

from PIL import Image

from city311.accounts import roles
from city311.catalog.models import Department
from city311.servicerequests import actions
from city311.servicerequests.models import RequestEvent, ServiceRequest, Team
from city311.test import make_user
from tests.browser.city import reported
from tests.browser.harness import DESKTOP, PHONE
from tests.browser.test_staff import sign_in


def crew_and_work(city, count: int) -> tuple[Team, list[ServiceRequest]]:
    streets = Department.objects.get(slug="transportation")
    make_user("sofia", roles.SUPERVISOR, streets)
    team = Team.objects.create(department=streets, name="Day crew", slug="day-crew")
    team.members.add(city["dana"])
    # Along Dumont Avenue, from number 1300 eastwards.
    return team, [reported(number=1300 + 2 * (i % 50)) for i in range(count)]


def test_a_supervisor_gives_50_requests_to_a_crew_in_a_few_actions(open_tab, city):
    team, _ = crew_and_work(city, 50)
    tab = open_tab(viewport=DESKTOP)
    sign_in(tab, "sofia")
    tab.page.get_by_role("heading", name="Work queue").wait_for()
    # 1: the work no team has yet.
    tab.page.get_by_label("Team", exact=True).select_option("none")
    tab.page.get_by_role("button", name="Show").click()
    tab.page.get_by_text("50 requests").first.wait_for()
    tab.step("queue of work without a team")
    # 2-5: all of them, to the Day crew.
    tab.page.get_by_label("All 50 matching requests").check()
    tab.page.get_by_label("Action").select_option("team")
    tab.page.get_by_label("Team (to give them to)").select_option("day-crew")
    tab.page.get_by_role("button", name="Apply").click()
    tab.page.get_by_text("Given to the team: 50 requests.").wait_for()
    tab.step("50 given to the crew")
    assert ServiceRequest.objects.filter(team=team).count() == 50
    assert RequestEvent.objects.filter(kind="request.assigned", data__team="day-crew").count() == 50
    tab.page.get_by_role("link", name="Board: unassigned and overdue").click()
    tab.page.get_by_role("cell", name="Day crew").wait_for()
    tab.step("the board")


def photo_file(tmp_path) -> str:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), "gray").save(out, "JPEG")
    path = tmp_path / "done.jpg"
    path.write_bytes(out.getvalue())
    return str(path)


def test_a_crew_member_works_her_day_on_a_phone_and_the_resident_sees_it(open_tab, city, tmp_path):
    _, work = crew_and_work(city, 3)
    for sr in work:
        sr.assignee = city["dana"]
        sr.save(update_fields=["assignee"])
    tab = open_tab(viewport=PHONE)
    sign_in(tab, "dana")
    tab.page.get_by_role("link", name="My work today").first.click()
    tab.page.get_by_role("heading", name="My work today").wait_for()
    tab.step("my work today")
    tab.page.locator("ol.stops a").first.click()
    tab.page.get_by_role("button", name="Close: work done").wait_for()
    tab.step("one stop")
    number = tab.path.rstrip("/").rsplit("/", 1)[-1]
    tab.page.get_by_label("Note", exact=True).fill("Cones placed, back with asphalt at noon.")
    tab.page.get_by_role("button", name="Add note").click()
    tab.page.get_by_text("Note added.").wait_for()
    tab.page.get_by_label("What was done (the resident reads this)").fill(
        "Filled the hole with hot asphalt and rolled it."
    )
    tab.page.get_by_label("Completion photo").set_input_files(photo_file(tmp_path))
    tab.page.get_by_role("button", name="Close: work done").click()
    tab.page.get_by_role("heading", name="My work today").wait_for()
    tab.page.get_by_text("Request closed: the resident can see what was done.").wait_for()
    tab.step("back at the day, one fewer")
    assert tab.page.locator("ol.stops li").count() == 2

    rosa = open_tab(viewport=PHONE)
    rosa.open(f"/track/{number}")
    done = rosa.page.get_by_role("definition").filter(has_text="Filled the hole with hot asphalt")
    done.wait_for()
    rosa.page.get_by_role("img", name="Photo 1 sent with this request").wait_for()
    rosa.step("the resident sees what was done")
    assert "Cones placed" not in rosa.page.content()  # an internal note stays inside


def test_a_crew_member_works_a_work_order_on_a_phone(open_tab, city):
    team, (sr,) = crew_and_work(city, 1)
    sr.team = team
    sr.save(update_fields=["team"])
    actions.add_work_order(sr, title="Cut the fallen limb", by=None)
    tab = open_tab(viewport=PHONE)
    sign_in(tab, "dana")
    tab.open(f"/work/today/{sr.tracking_number}/")
    tab.page.get_by_role("button", name="Start work order 1").click()
    tab.page.get_by_text("Work order 1 started.").wait_for()
    tab.page.get_by_label("Note on work order 1").fill("Half of it cut, back after lunch.")
    tab.page.get_by_role("button", name="Add note to work order 1").click()
    tab.page.get_by_text("Note added to work order 1.").wait_for()
    tab.step("a work order started, with a note")
    tab.page.get_by_label("What was done on work order 1 (the resident reads this)").fill(
        "Limb cut and hauled away."
    )
    tab.page.get_by_role("button", name="Work order 1 done").click()
    tab.page.get_by_role("heading", name="My work today").wait_for()
    tab.page.get_by_text("The request is closed: all its work is done.").wait_for()
    tab.step("the work order done closes the request")
    sr.refresh_from_db()
    assert sr.status_notes == "Limb cut and hauled away."
