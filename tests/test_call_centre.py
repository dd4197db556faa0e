"""Omar works a shift in the console: every contact is logged with its measured handle time,
the caller's card shows what the city knows of their number, and Dana sees none of it."""

from __future__ import annotations

import logging
import time
from datetime import date, datetime, timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from city311.accounts.models import StaffProfile
from city311.contacts import actions, reports
from city311.contacts import hours as call_centre_hours
from city311.contacts.models import Interaction
from city311.knowledge.actions import save_article
from city311.knowledge.models import Article
from city311.lib.openinghours import HoursError
from city311.notifications.actions import follow_request
from city311.servicerequests import actions as sr_actions
from city311.test import BaseTestCase
from tests import small_city
from tests.live_console import SECRET, post_phone_event

ROSA = "+17185550199"
# A poll between calls: the session, the user, their two-factor devices (two), their
# permissions (two), whether a call is in hand (one EXISTS).
POPPED_QUERIES = 7


class CallCentreTestCase(BaseTestCase):
    def setUp(self):
        super().setUp()
        self.sign_in(self.omar)

    def article(self, slug="public-pools", **fields) -> Article:
        values = {
            "title": "When are the public pools open?",
            "summary": "Outdoor pools open daily from late June, 11 AM to 7 PM.",
            "body": "Indoor pools are open all year.",
            "keywords": "swimming pool",
            "status": "published",
            "department": self.parks,
            "review_by": date(2099, 1, 1),
        }
        codes = fields.pop("service_codes", [])
        values.update(fields)
        return save_article(Article(slug=slug, **values), service_codes=codes, by=None)

    def the_call(self) -> Interaction:
        return Interaction.objects.get(staff=self.omar)

    def backdate(self, seconds: int) -> None:
        """The call in hand began `seconds` ago (as if Omar had talked that long)."""
        earlier = timezone.now() - timedelta(seconds=seconds)
        Interaction.objects.filter(staff=self.omar, kind="").update(
            started_at=earlier, answered_at=earlier
        )


class LoggingEveryContactTests(CallCentreTestCase):
    def test_opening_the_callers_screen_starts_one_contact(self):
        self.client.get("/console/")
        self.client.get("/console/", {"q": "pool"})
        call = self.the_call()
        self.assertEqual((call.channel, call.kind, call.ended_at), ("phone", "", None))

    def test_an_information_only_call_is_logged_with_its_article_and_handle_time(self):
        pools = self.article()
        self.client.get("/console/", {"q": "when is the pool open"})
        self.backdate(95)
        r = self.client.get("/console/", {"q": "when is the pool open"})
        self.assertContains(r, "Answered with this")
        r = self.client.post(f"/console/answered/{pools.slug}/", follow=True)
        call = self.the_call()
        self.assertEqual(
            (call.kind, call.wrap_up, call.article), ("information", "answered", pools)
        )
        self.assertIn(call.handle_seconds, (95, 96))
        self.assertContains(r, "Logged: information only, handle time 1:3")
        pools.refresh_from_db()
        self.assertEqual(pools.used_count, 1)

    def test_the_screen_between_calls_starts_nothing(self):
        self.client.get("/console/")
        self.assertFalse(Interaction.objects.exists())

    def test_the_next_call_is_a_new_contact(self):
        pools = self.article()
        self.client.get("/console/", {"q": "pool"})
        self.client.post(f"/console/answered/{pools.slug}/", follow=True)
        self.client.get("/console/", {"q": "pothole"})
        self.assertEqual(Interaction.objects.filter(staff=self.omar).count(), 2)
        self.assertEqual(Interaction.objects.filter(staff=self.omar, kind="").count(), 1)

    def test_an_emergency_transfer_is_logged(self):
        self.client.get("/console/new/fire/")
        r = self.client.post("/console/wrap-up/", {"outcome": "transfer_911"}, follow=True)
        self.assertContains(r, "Logged: transfer or referral")
        self.assertEqual(self.the_call().wrap_up, "transferred_911")

    def test_a_status_check_names_the_request(self):
        sr = self.report()
        self.client.post("/console/caller/", {"phone": "718-555-0199"})
        self.client.post(
            "/console/wrap-up/", {"outcome": "status", "tracking_number": sr.tracking_number}
        )
        call = self.the_call()
        self.assertEqual(
            (call.kind, call.request, call.service_type), ("status_check", sr, self.pothole)
        )

    def test_a_mistyped_tracking_number_ends_nothing(self):
        self.client.get("/console/", {"q": "status"})
        r = self.client.post(
            "/console/wrap-up/",
            {"outcome": "status", "tracking_number": "123-4567-890"},
            follow=True,
        )
        self.assertContains(r, "Check the number")
        self.assertEqual(self.the_call().kind, "")

    def test_an_unknown_outcome_is_a_clear_400(self):
        self.client.get("/console/")
        r = self.client.post("/console/wrap-up/", {"outcome": "lunch"})
        self.assertContains(r, "Choose how the call ended", status_code=400)

    def test_a_contact_is_wrapped_up_once(self):
        call = actions.start_interaction(channel="phone", by=self.omar)
        actions.end_interaction(call, kind="information")
        with self.assertRaisesMessage(actions.InteractionError, "already wrapped up"):
            actions.end_interaction(call, kind="complaint")

    def test_the_phone_systems_hold_time_is_not_handle_time(self):
        start = timezone.now() - timedelta(minutes=10)
        call = actions.start_interaction(
            channel="phone", phone="718-555-0199", call_id="c-1", at=start, answered=False
        )
        actions.answer_interaction(call, by=self.omar, at=start + timedelta(seconds=12))
        actions.end_interaction(call, kind="status_check")
        call = actions.hang_up(call, at=start + timedelta(seconds=252), hold_seconds=40)
        self.assertEqual((call.speed_of_answer_seconds, call.handle_seconds), (12, 200))

    def test_a_call_nobody_answered_is_abandoned(self):
        call = actions.start_interaction(channel="phone", call_id="c-2", answered=False)
        call = actions.hang_up(call)
        self.assertEqual((call.wrap_up, call.handle_seconds), ("abandoned", None))

    def test_an_email_is_recorded_whole(self):
        start = timezone.now() - timedelta(hours=1)
        call = actions.record_interaction(
            channel="email",
            kind="information",
            email="Rosa@Example.org",
            started_at=start,
            ended_at=start + timedelta(minutes=3),
        )
        self.assertEqual((call.email, call.handle_seconds), ("rosa@example.org", 180))


class FilingFromTheConsoleTests(CallCentreTestCase):
    @pytest.fixture(autouse=True)
    def _small_city(self, tmp_path):
        small_city.load(tmp_path)

    def file(self, **data):
        values = {
            "address_string": "1382 Dumont Ave",
            "attribute[size]": "large",
            "first_name": "Rosa",
            "phone": "718-555-0199",
        }
        values.update(data)
        return self.client.post("/console/new/pothole/", values, follow=True)

    def test_filing_ends_the_contact_and_reads_the_number_back_spelled_out(self):
        self.client.get("/console/new/pothole/")
        self.backdate(40)
        r = self.file()
        call = self.the_call()
        sr = call.request
        self.assertEqual(
            (call.kind, call.wrap_up, call.service_type), ("new_request", "filed", self.pothole)
        )
        self.assertIn(call.handle_seconds, (40, 41))
        spelled = ", ".join("-".join(g) for g in sr.tracking_number.split("-"))
        self.assertContains(r, spelled)
        self.assertContains(r, "handle time 0:4")

    def test_following_a_nearby_request_is_logged_against_it(self):
        first = self.report(lat=None, long=None, address_string="1382 Dumont Ave")
        self.client.get("/console/new/pothole/")
        self.client.post(f"/console/follow/{first.tracking_number}/", {"phone": "917-555-0123"})
        call = self.the_call()
        self.assertEqual((call.wrap_up, call.request), ("followed_existing", first))

    def test_the_caller_card_offers_open_requests_near_the_address(self):
        sr = self.report(lat=None, long=None, address_string="1382 Dumont Ave")
        self.client.get("/console/")
        r = self.client.post("/console/caller/", {"phone": "", "address": "1380 Dumont Ave"})
        self.assertContains(r, "Open requests at or near 1380 Dumont Ave")
        self.assertContains(r, sr.tracking_number)

    def test_the_number_given_on_the_card_fills_the_form(self):
        self.client.get("/console/")
        self.client.post("/console/caller/", {"phone": "718 555 0199"})
        r = self.client.get("/console/new/pothole/")
        self.assertContains(r, 'value="(718) 555-0199"')

    def test_at_a_walk_in_counter_the_visitor_and_the_request_are_walk_ins(self):
        r = self.client.post("/console/desk/", {"desk": "walk_in"}, follow=True)
        self.assertContains(r, "The contacts you start are logged as: walk-in.")
        self.client.get("/console/new/pothole/")
        self.file(channel="walk_in")  # what the counter's form sends (the next test)
        call = self.the_call()
        self.assertEqual((call.channel, call.request.channel), ("walk_in", "walk_in"))
        # Back at the phones: the next contact is a call again.
        self.client.post("/console/desk/", {"desk": "phone"})
        self.client.get("/console/", {"q": "pool"})
        self.assertEqual(Interaction.objects.get(staff=self.omar, kind="").channel, "phone")

    def test_the_form_files_a_walk_in_as_one(self):
        self.client.post("/console/desk/", {"desk": "walk_in"})
        self.assertContains(
            self.client.get("/console/new/pothole/"),
            '<input type="hidden" name="channel" value="walk_in">',
        )

    def test_a_desk_that_is_not_one_is_a_clear_400(self):
        r = self.client.post("/console/desk/", {"desk": "web"})
        self.assertContains(r, "one of phone, walk_in", status_code=400)
        self.client.get("/console/", {"q": "pool"})
        self.assertEqual(self.the_call().channel, "phone")


class CallerCardTests(CallCentreTestCase):
    def test_the_card_shows_the_callers_requests_open_first_follows_and_contacts(self):
        closed = self.report()
        sr_actions.close_request(closed, resolution="completed", note="Filled.", by=self.ada)
        open_one = self.report(service_code="fallen_tree", answers={}, language="es")
        followed = self.report(phone="", email="someone@example.org")
        follow_request(followed, phone="718-555-0199", by=self.omar)
        pools = self.article()
        start = timezone.now() - timedelta(days=2)
        actions.record_interaction(
            channel="phone",
            kind="information",
            phone=ROSA,
            article=pools,
            started_at=start,
            ended_at=start + timedelta(seconds=70),
        )
        self.client.get("/console/")
        r = self.client.post("/console/caller/", {"phone": "(718) 555-0199"})
        page = r.content.decode()
        self.assertIn("Rosa Diaz", page)
        self.assertLess(page.index(open_one.tracking_number), page.index(closed.tracking_number))
        self.assertIn("Fallen tree", page)
        self.assertIn(followed.tracking_number, page)
        self.assertIn("When are the public pools open?", page)
        self.assertIn('data-testid="caller-language">es<', page)
        self.assertEqual(self.the_call().phone, ROSA)

    def test_a_new_caller_is_said_to_be_new(self):
        self.client.get("/console/")
        r = self.client.post("/console/caller/", {"phone": "212-555-0134"})
        self.assertContains(r, "No earlier contact from this number.")

    def test_a_number_that_is_not_one_is_a_clear_400(self):
        self.client.get("/console/")
        r = self.client.post("/console/caller/", {"phone": "555"})
        self.assertContains(r, "missing digits", status_code=400)

    def test_max_looks_a_caller_up_outside_a_call(self):
        self.report()
        self.sign_in(self.max)
        r = self.client.post("/console/card/", {"phone": "718-555-0199"})
        self.assertContains(r, "Rosa Diaz")

    def test_dana_sees_no_callers_card(self):
        self.sign_in(self.dana)
        self.assertEqual(self.client.post("/console/card/", {"phone": ROSA}).status_code, 403)

    def test_no_callers_number_reaches_the_logs(self):
        records: list[logging.LogRecord] = []
        handler = logging.Handler(level=logging.DEBUG)
        handler.emit = records.append  # type: ignore[method-assign]
        root = logging.getLogger()
        root.addHandler(handler)
        old = root.level
        root.setLevel(logging.DEBUG)
        try:
            self.report()
            self.client.get("/console/")
            self.client.post("/console/caller/", {"phone": "718-555-0199"})
            self.client.post("/console/caller/", {"phone": "555"})
            self.client.post("/console/card/", {"phone": "718-555-0199"})
        finally:
            root.removeHandler(handler)
            root.setLevel(old)
        text = " ".join(r.getMessage() + " " + str(r.args) for r in records)
        for secret in ("5550199", "555-0199", "Diaz", "rosa@example.org"):
            self.assertNotIn(secret, text)


class ScriptTests(CallCentreTestCase):
    def test_the_types_article_says_what_to_say(self):
        self.article(
            "pothole-repair",
            title="Potholes",
            summary="Crews fill most potholes within five days.",
            service_codes=["pothole"],
        )
        r = self.client.get("/console/new/pothole/")
        self.assertContains(r, "What to say:</strong> Crews fill most potholes within five days.")

    def test_an_urgent_type_says_warn_and_transfer(self):
        r = self.client.get("/console/new/fallen_tree/")
        self.assertContains(r, "Urgent: warn the caller, then transfer.")

    def test_an_emergency_type_shows_the_911_transfer_first(self):
        r = self.client.get("/console/new/fire/")
        main = r.content.decode().split('<main id="main">')[1]
        self.assertLess(main.index("Transfer the caller to 911"), main.index("<form"))


@override_settings(CITY311_CALL_EVENTS_SECRET=SECRET)
class CallEventsTests(CallCentreTestCase):
    """The phone system tells the city about a call through the signed webhook."""

    def event(self, **fields):
        return post_phone_event(self.client, **fields)

    def test_a_call_is_timed_by_its_events_less_hold(self):
        t0 = timezone.now().replace(microsecond=0) - timedelta(minutes=5)
        at = lambda s: (t0 + timedelta(seconds=s)).isoformat()  # noqa: E731
        self.event(event="started", call_id="CA1", **{"from": "+17185550199"}, at=at(0))
        self.event(event="answered", call_id="CA1", user="omar", at=at(8))
        r = self.event(event="ended", call_id="CA1", at=at(248), hold_seconds=30)
        self.assertEqual(r.json()["handle_seconds"], 210)
        call = Interaction.objects.get(call_id="CA1")
        self.assertEqual(
            (call.staff, call.phone, call.speed_of_answer_seconds), (self.omar, ROSA, 8)
        )

    def test_answering_pops_the_card_in_the_call_takers_console(self):
        self.report()
        self.event(event="started", call_id="CA2", **{"from": "718-555-0199"})
        nothing_new = self.client.get("/console/popped/")
        self.assertEqual((nothing_new.status_code, nothing_new.content), (204, b""))
        self.event(event="answered", call_id="CA2", user="omar")
        # The card itself, for the page to swap in (no reload), naming the caller.
        self.assertContains(self.client.get("/console/popped/"), "Rosa Diaz")
        self.assertContains(self.client.get("/console/"), "Rosa Diaz")

    def test_a_contact_the_call_taker_starts_by_searching_does_not_pop(self):
        # Omar searches as a caller speaks: that contact is on his screen already. A pop would
        # reload the console under the search he just sent (seen in the browser under load).
        self.assertEqual(self.client.get("/console/", {"q": "recycling day"}).status_code, 200)
        self.assertTrue(Interaction.objects.filter(staff=self.omar, ended_at=None).exists())
        nothing_new = self.client.get("/console/popped/")
        self.assertEqual(nothing_new.status_code, 204)

    def test_a_call_ended_before_an_answer_is_abandoned(self):
        self.event(event="started", call_id="CA3")
        self.event(event="ended", call_id="CA3")
        self.assertEqual(Interaction.objects.get(call_id="CA3").wrap_up, "abandoned")

    def test_a_repeated_event_changes_nothing(self):
        for _ in range(2):
            self.event(event="started", call_id="CA4")
            self.event(event="answered", call_id="CA4", user="omar")
        self.assertEqual(Interaction.objects.filter(call_id="CA4").count(), 1)

    def test_a_bad_signature_is_refused(self):
        r = self.event(secret="guessed", event="started", call_id="CA5")
        self.assertEqual(r.status_code, 401)
        self.assertFalse(Interaction.objects.exists())

    def test_an_old_signed_event_is_refused(self):
        r = self.event(timestamp=time.time() - 3600, event="started", call_id="CA6")
        self.assertEqual(r.status_code, 401)

    def test_a_bad_event_says_what_to_fix(self):
        r = self.event(event="rang", call_id="CA7")
        self.assertEqual(r.status_code, 400)
        self.assertIn("'event' must be one of", r.json()["error"])
        r = self.event(event="ended", call_id="CA7", hold_seconds="lots")
        self.assertIn("hold_seconds", r.json()["error"])

    @override_settings(CITY311_CALL_EVENTS_SECRET="")
    def test_without_a_secret_the_webhook_is_off(self):
        self.assertEqual(self.event(event="started", call_id="CA8").status_code, 404)


def admin_user_form(user, **changes) -> dict:
    """The admin's change form for `user` as it stands, with `changes` (its profile inline:
    staff_profile-0-...). The groups and the department inline are kept as they are."""
    data = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_active": "on" if user.is_active else "",
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
        "groups": [g.pk for g in user.groups.all()],
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
        "staff_profile-TOTAL_FORMS": "1",
        "staff_profile-INITIAL_FORMS": "0",
        "staff_profile-MIN_NUM_FORMS": "0",
        "staff_profile-MAX_NUM_FORMS": "1",
        "staff_profile-0-user": user.pk,
        "staff_profile-0-extension": "",
        "_save": "Save",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v != ""}


@override_settings(CITY311_CALL_EVENTS_SECRET=SECRET)
class PhoneExtensionTests(CallCentreTestCase):
    """The phone system names Omar by his extension (or its own agent id), which Ada sets on
    his profile in the admin; the webhook finds him by it and his console pops."""

    event = CallEventsTests.event

    def give_extension(self, user, extension):
        self.sign_in(self.ada)
        r = self.client.post(
            f"/admin/auth/user/{user.pk}/change/",
            admin_user_form(user, **{"staff_profile-0-extension": extension}),
        )
        self.sign_in(self.omar)
        return r

    def test_ada_sets_omars_extension_and_his_card_pops_when_1001_answers(self):
        r = self.give_extension(self.omar, " 1001 ")
        self.assertEqual(r.status_code, 302, r.content.decode()[:3000])
        self.assertEqual(StaffProfile.objects.get(user=self.omar).extension, "1001")
        self.report()
        self.event(event="started", call_id="CX1", **{"from": "718-555-0199"})
        r = self.event(event="answered", call_id="CX1", agent="1001")
        self.assertEqual(r.status_code, 200, r.content)
        self.assertEqual(Interaction.objects.get(call_id="CX1").staff, self.omar)
        self.assertContains(self.client.get("/console/popped/"), "Rosa Diaz")

    def test_the_extension_is_matched_whatever_its_case(self):
        self.assertEqual(self.give_extension(self.omar, "PJSIP/Omar-1001").status_code, 302)
        self.event(event="answered", call_id="CX10", agent="pjsip/omar-1001")
        self.assertEqual(Interaction.objects.get(call_id="CX10").staff, self.omar)
        self.assertEqual(self.client.get("/console/popped/").status_code, 200)

    def test_an_extension_someone_else_has_in_another_case_is_refused_in_the_admin(self):
        self.give_extension(self.sofia, "wk0123abc")
        r = self.give_extension(self.omar, "WK0123ABC")
        self.assertContains(r, "Another staff member already has this extension or agent id.")
        self.assertFalse(StaffProfile.objects.filter(user=self.omar).exists())

    def test_an_ended_call_naming_an_unknown_agent_is_still_closed_and_says_what_to_fix(self):
        t0 = timezone.now().replace(microsecond=0) - timedelta(minutes=5)
        at = lambda s: (t0 + timedelta(seconds=s)).isoformat()  # noqa: E731
        self.event(event="started", call_id="CX11", at=at(0))
        self.event(event="answered", call_id="CX11", user="omar", at=at(5))
        r = self.event(event="ended", call_id="CX11", agent="4040", at=at(125), hold_seconds=20)
        self.assertEqual(r.status_code, 200, r.content)
        self.assertEqual((r.json()["ended"], r.json()["handle_seconds"]), (True, 100))
        self.assertIn("The call is closed. No active staff member has", r.json()["warning"])
        self.assertIn("'4040': set it on their profile in the admin", r.json()["warning"])
        call = Interaction.objects.get(call_id="CX11")
        self.assertEqual((call.staff, call.hold_seconds), (self.omar, 20))
        again = self.event(event="ended", call_id="CX11", agent="4040", at=at(125))
        self.assertEqual((again.status_code, again.json()["handle_seconds"]), (200, 100))

    def test_a_call_an_unknown_agent_took_is_not_counted_abandoned(self):
        self.event(event="started", call_id="CX12")
        self.assertEqual(
            self.event(event="answered", call_id="CX12", agent="4040").status_code, 422
        )
        r = self.event(event="ended", call_id="CX12", agent="4040")
        self.assertEqual(r.status_code, 200, r.content)
        call = Interaction.objects.get(call_id="CX12")
        self.assertIsNotNone(call.ended_at)
        self.assertNotEqual(call.wrap_up, "abandoned")
        self.assertIsNone(call.staff)

    def test_an_unknown_agent_on_a_ringing_call_is_still_refused(self):
        r = self.event(event="started", call_id="CX13", agent="4040")
        self.assertEqual(r.status_code, 422)
        self.assertFalse(Interaction.objects.filter(call_id="CX13").exists())

    def test_a_phone_systems_own_agent_id_works_as_well_as_a_number(self):
        arn = "arn:aws:connect:us-west-2:123456789012:instance/abc/agent/5f0c-11aa"
        self.assertEqual(self.give_extension(self.omar, arn).status_code, 302)
        self.give_extension(self.sofia, "2002")
        self.event(event="answered", call_id="CX2", agent=arn)
        self.event(event="answered", call_id="CX3", agent=2002)  # a JSON number
        self.assertEqual(Interaction.objects.get(call_id="CX2").staff, self.omar)
        self.assertEqual(Interaction.objects.get(call_id="CX3").staff, self.sofia)

    def test_an_extension_someone_else_has_is_refused_in_the_admin(self):
        self.give_extension(self.sofia, "1001")
        r = self.give_extension(self.omar, "1001")
        self.assertContains(r, "Another staff member already has this extension or agent id.")
        self.assertFalse(StaffProfile.objects.filter(user=self.omar).exists())

    def test_an_extension_with_a_space_inside_is_refused_in_the_admin(self):
        r = self.give_extension(self.omar, "10 01")
        self.assertContains(r, "with no spaces")
        self.assertFalse(StaffProfile.objects.filter(user=self.omar).exists())

    def test_ada_reads_the_field_in_spanish(self):
        self.sign_in(self.ada)
        r = self.client.get(f"/admin/auth/user/{self.omar.pk}/change/", HTTP_ACCEPT_LANGUAGE="es")
        self.assertContains(r, "Extensión telefónica o id de agente")

    def test_an_unknown_extension_is_a_422_naming_it_and_changes_nothing(self):
        self.event(event="started", call_id="CX4")
        r = self.event(event="answered", call_id="CX4", agent="4040")
        self.assertEqual(r.status_code, 422)
        self.assertIn("'4040'", r.json()["error"])
        self.assertIsNone(Interaction.objects.get(call_id="CX4").answered_at)
        r = self.event(event="answered", call_id="CX5", agent="4040")
        self.assertEqual(r.status_code, 422)
        self.assertFalse(Interaction.objects.filter(call_id="CX5").exists())

    def test_someone_who_left_is_unknown(self):
        self.give_extension(self.omar, "1001")
        self.omar.is_active = False
        self.omar.save(update_fields=["is_active"])
        self.assertEqual(self.event(event="answered", call_id="CX6", agent="1001").status_code, 422)

    def test_an_unknown_username_is_a_422_too(self):
        r = self.event(event="answered", call_id="CX7", user="nobody")
        self.assertEqual(r.status_code, 422)
        self.assertIn("'nobody'", r.json()["error"])

    def test_the_call_taker_is_named_once(self):
        self.give_extension(self.omar, "1001")
        r = self.event(event="answered", call_id="CX8", agent="1001", user="omar")
        self.assertEqual(r.status_code, 400)
        r = self.event(event="answered", call_id="CX8", agent={"id": 1001})
        self.assertEqual(r.status_code, 400)
        self.assertIn("'agent'", r.json()["error"])
        self.assertFalse(Interaction.objects.filter(call_id="CX8").exists())

    def test_between_calls_nothing_new_is_one_cheap_read(self):
        self.client.get("/console/popped/")  # the session and the permissions warm
        with self.assertNumQueries(POPPED_QUERIES):
            r = self.client.get("/console/popped/")
        self.assertEqual((r.status_code, r.content), (204, b""))


class SupervisorViewTests(CallCentreTestCase):
    """Max reads today's figures for a known mix of contacts: every count and time exact."""

    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.pools = save_article(
            Article(
                slug="pools", title="Pools", summary="Open daily.", body=".", status="published"
            ),
            by=None,
        )
        cls.trash = save_article(
            Article(
                slug="trash", title="Trash day", summary="Weekly.", body=".", status="published"
            ),
            by=None,
        )
        cls.sr = cls.report(cls)
        start, _ = reports.day_bounds(reports.city_today())
        cls.base = start + timedelta(minutes=1)

    def contact(self, at_min, seconds, by=None, **fields):
        fields.setdefault("channel", "phone")
        began = self.base + timedelta(minutes=at_min)
        return actions.record_interaction(
            started_at=began, ended_at=began + timedelta(seconds=seconds), by=by, **fields
        )

    def the_mix(self):
        omar, ada = self.omar, self.ada
        self.contact(0, 60, omar, kind="information", article=self.pools, phone=ROSA)
        self.contact(1, 100, omar, kind="information", article=self.pools)
        self.contact(2, 300, omar, kind="information", article=self.trash)
        self.contact(3, 120, omar, kind="new_request", request=self.sr)
        self.contact(4, 30, omar, kind="transfer", wrap_up="transferred_911")
        self.contact(5, 40, ada, kind="status_check", request=self.sr, phone="917-555-0123")
        self.contact(6, 200, ada, kind="complaint", phone="212-555-0134")
        self.contact(7, 80, ada, kind="new_request", request=self.sr)
        self.contact(8, 500, kind="information", channel="email", email="x@example.org")
        # Earlier contacts: three days ago counts as a repeat, ten days ago does not.
        self.contact(-3 * 24 * 60, 60, kind="information", phone="212-555-0134")
        self.contact(-10 * 24 * 60, 60, kind="information", phone="917-555-0123")
        # The phone system's calls: one answered in 5 s with 20 s on hold, one abandoned.
        t = self.base + timedelta(minutes=9)
        call = actions.start_interaction(
            channel="phone", phone=ROSA, call_id="CA1", at=t, answered=False
        )
        actions.answer_interaction(call, by=omar, at=t + timedelta(seconds=5))
        actions.end_interaction(call, kind="status_check")
        actions.hang_up(call, at=t + timedelta(seconds=245), hold_seconds=20)
        gone = actions.start_interaction(channel="phone", call_id="CA2", at=t, answered=False)
        actions.hang_up(gone, at=t + timedelta(seconds=30))
        actions.start_interaction(channel="phone", by=self.sofia, at=t)  # in hand now

    def test_every_count_and_time_is_exact(self):
        self.the_mix()
        self.sign_in(self.max)
        r = self.client.get("/console/supervisor/")
        f = r.context["f"]
        self.assertEqual((f.contacts, f.open_now, f.repeat_callers), (12, 1, 2))
        self.assertEqual(
            dict(f.by_kind),
            {
                "Information only": 4,
                "New request": 2,
                "Status check": 2,
                "Complaint about a request": 1,
                "Transfer or referral": 1,
            },
        )
        self.assertEqual(dict(f.by_channel), {"Phone": 11, "E-mail": 1})
        self.assertEqual(dict(f.transfers), {"Transferred to 911": 1})
        self.assertEqual(f.top_information, [("Pools", 2), ("Trash day", 1)])
        staff = {h.label: (h.count, h.median, h.p90) for h in f.by_staff}
        self.assertEqual(
            staff, {"Omar Tester": (6, 110, 300), "Ada Tester": (3, 80, 200), "—": (1, 500, 500)}
        )
        types = {h.label: (h.count, h.median, h.p90) for h in f.by_type}
        self.assertEqual(
            types,
            {
                "Pothole": (3, 80, 120),
                "Information only": (4, 200, 500),
                "Status check": (1, 220, 220),
                "Complaint about a request": (1, 200, 200),
                "Transfer or referral": (1, 30, 30),
            },
        )
        self.assertEqual((f.calls_offered, f.abandoned, f.mean_speed_of_answer), (2, 1, 5.0))
        self.assertEqual(f.answered_within_target, 1)
        # Against MC311's and NYC 311's targets: the mean of the ten handle times measured
        # (1,650 s) is under 240 s; one call of two abandoned is over 5%; the one answered
        # call took 5 s, within 10 s.
        self.assertEqual((f.mean_handle_seconds, f.missed), (165.0, ["abandoned"]))
        self.assertContains(r, "Average handle time: <strong>165 s</strong>")
        self.assertContains(r, "Abandoned calls: <strong>50%</strong> (target: under 5%)")
        self.assertContains(r, "Answered within 10 s: <strong>100%</strong>")
        self.assertContains(r, "Calls offered: 2. Abandoned: 1 (50%).")
        self.assertContains(r, '<td>Omar Tester</td><td class="num">6</td>')

    def test_the_live_view_refreshes_its_figures_alone(self):
        self.sign_in(self.max)
        r = self.client.get("/console/supervisor/", HTTP_HX_REQUEST="true")
        self.assertNotContains(r, "<html")
        self.assertContains(r, "0</strong> contacts")
        self.assertContains(r, "Average handle time: <strong>—</strong>")

    def test_an_earlier_days_figures_are_read_as_that_day_had_them(self):
        self.the_mix()
        yesterday = reports.city_today() - timedelta(days=1)
        start, _ = reports.day_bounds(yesterday)
        for minute, seconds in ((0, 50), (5, 70), (9, 400)):
            began = start + timedelta(hours=9, minutes=minute)
            actions.record_interaction(
                channel="walk_in",
                kind="information",
                started_at=began,
                ended_at=began + timedelta(seconds=seconds),
                by=self.omar,
            )
        self.sign_in(self.max)
        r = self.client.get("/console/supervisor/", {"day": yesterday.isoformat()})
        f = r.context["f"]
        self.assertEqual((f.day, f.contacts, dict(f.by_channel)), (yesterday, 3, {"Walk-in": 3}))
        self.assertEqual([(h.count, h.median, h.p90) for h in f.by_staff], [(3, 70, 400)])
        self.assertNotContains(r, 'hx-trigger="every 30s"')  # a day gone by does not change
        self.assertNotContains(r, "Voicemails to call back")
        self.assertContains(r, "The day after")
        # Today's figures are not touched by yesterday's contacts.
        self.assertEqual(self.client.get("/console/supervisor/").context["f"].contacts, 12)

    def test_a_day_that_is_not_one_or_has_not_come_is_a_clear_400(self):
        self.sign_in(self.max)
        tomorrow = (reports.city_today() + timedelta(days=1)).isoformat()
        for given, says in (
            ("yesterday", "is not a day: give it as 2026-12-03"),
            ("2026-02-30", "is not a day"),
            ("0001-01-01", "before the city kept any contacts"),
            (tomorrow, "has not come yet"),
        ):
            r = self.client.get("/console/supervisor/", {"day": given})
            self.assertContains(r, says, status_code=400, msg_prefix=given)

    def test_the_reports_lead_to_the_call_centres_figures(self):
        self.sign_in(self.max)
        self.assertContains(self.client.get("/reports/"), 'href="/console/supervisor/"')

    def test_only_those_who_see_contacts_and_reports_open_it(self):
        for person, status in (
            (self.sofia, 200),
            (self.ada, 200),
            (self.omar, 403),
            (self.dana, 403),
        ):
            self.sign_in(person)
            self.assertEqual(self.client.get("/console/supervisor/").status_code, status, person)


class CallCentreHoursTests(CallCentreTestCase):
    """Rosa reads on the home page whether a person answers now, and when people are back."""

    def at(self, text):
        from city311.cities import profile

        return datetime.fromisoformat(text).replace(tzinfo=profile.zone())

    def test_the_demo_answers_around_the_clock(self):
        self.assertContains(self.client.get("/"), "A person answers now.")
        self.assertTrue(call_centre_hours.availability(self.at("2026-12-25T03:00")).open)

    @override_settings(CITY311_CALL_CENTRE_HOURS="Mo-Fr 07:00-18:00")
    def test_fresnos_hours_say_when_people_are_back(self):
        self.assertTrue(call_centre_hours.availability(self.at("2026-12-07T08:00")).open)
        saturday = call_centre_hours.availability(self.at("2026-12-05T10:00"))
        self.assertEqual(saturday.back_at, self.at("2026-12-07T07:00"))
        self.assertIn("people are back Monday at", saturday.text)
        self.assertIn("At any time: report on the website", saturday.text)

    @override_settings(CITY311_CALL_CENTRE_HOURS="Mo-Fr 07:00-18:00")
    def test_a_public_holiday_is_closed(self):
        christmas = call_centre_hours.availability(self.at("2026-12-25T10:00"))
        self.assertFalse(christmas.open)
        self.assertEqual(christmas.back_at, self.at("2026-12-28T07:00"))

    def test_the_home_page_says_when_people_are_back(self):
        from city311.cities import profile

        later = timezone.now().astimezone(profile.zone()) + timedelta(days=2)
        day = ("Mo", "Tu", "We", "Th", "Fr", "Sa", "Su")[later.weekday()]
        with override_settings(CITY311_CALL_CENTRE_HOURS=f"{day} 03:00-03:01"):
            r = self.client.get("/")
        self.assertContains(r, "Nobody answers the phones now; people are back")

    def test_hours_that_cannot_be_read_say_how_to_write_them(self):
        with self.assertRaisesMessage(HoursError, "such as Mo-Fr 07:00-18:00"):
            call_centre_hours.parse("weekdays 9 to 5")


class CallCentreHoursInSpanishTests(CallCentreTestCase):
    def test_rosa_reads_it_in_spanish(self):
        r = self.client.get("/", HTTP_ACCEPT_LANGUAGE="es")
        self.assertContains(r, "Ahora le atiende una persona.")


class HungUpBeforeWrapUpTests(CallCentreTestCase):
    def test_a_call_the_caller_ended_is_still_wrapped_up_by_the_console(self):
        t = timezone.now() - timedelta(minutes=3)
        call = actions.start_interaction(channel="phone", call_id="CA9", at=t, answered=False)
        actions.answer_interaction(call, by=self.omar, at=t)
        actions.hang_up(call, at=t + timedelta(seconds=90), hold_seconds=10)
        self.client.post("/console/wrap-up/", {"outcome": "callback"})
        call = self.the_call()
        self.assertEqual((call.wrap_up, call.handle_seconds), ("callback", 80))
