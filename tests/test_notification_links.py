"""The links in messages expire, each when what it acts on says, with a page that says what to do.

Rosa's messages carry three links that work without signing in: stop messages, confirm
following, and the survey after closing. Each is tried just before and just after its end.
"""

from __future__ import annotations

import time
from datetime import timedelta
from unittest import mock

from django.test import override_settings
from django.utils import timezone

from city311.notifications import tokens
from city311.notifications.actions import follow_request
from city311.notifications.models import Follower, SurveyResponse
from city311.servicerequests import actions as requests
from city311.servicerequests.models import RequestEvent, ServiceRequest
from tests.test_notifications import NotificationTestCase

DAY = 24 * 3600


def days_ago(days: float):
    """Messages written this long ago: the clock their links were stamped with."""
    return mock.patch("django.core.signing.time.time", return_value=time.time() - days * DAY)


class StopLinkTests(NotificationTestCase):
    def setUp(self):
        super().setUp()
        self.sr = self.rosa_reports()
        self.rosa = self.follower(self.sr)

    def link_sent(self, days: float) -> str:
        with days_ago(days):
            return tokens.unsubscribe_path(self.rosa)

    def test_it_stops_messages_from_a_link_sent_89_days_ago(self):
        page = self.client.post(self.link_sent(89))
        self.assertContains(page, "You will get no more messages")
        self.assertIsNotNone(Follower.objects.get(pk=self.rosa.pk).unsubscribed_at)

    def test_it_says_what_to_do_instead_when_the_link_is_91_days_old(self):
        link = self.link_sent(91)
        page = self.client.get(link)
        self.assertContains(page, "This link has expired", status_code=410)
        self.assertContains(page, "use the link in the latest message", status_code=410)
        self.assertContains(page, "reply STOP", status_code=410)
        self.assertContains(page, f"/track/{self.sr.tracking_number}", status_code=410)
        page = self.client.post(link)  # a mail program's one-click
        self.assertEqual(page.status_code, 410)
        self.assertIsNone(Follower.objects.get(pk=self.rosa.pk).unsubscribed_at)

    def test_it_says_so_in_spanish_to_a_follower_who_reads_spanish(self):
        Follower.objects.filter(pk=self.rosa.pk).update(language="es")
        page = self.client.get(self.link_sent(91))
        self.assertContains(page, "Este enlace ha caducado", status_code=410)
        self.assertContains(page, "responda STOP a un mensaje de texto", status_code=410)
        self.assertContains(page, 'lang="es"', status_code=410)

    @override_settings(CITY311_LINK_UNSUBSCRIBE_DAYS=365)
    def test_the_city_can_keep_stop_links_working_longer(self):
        page = self.client.post(self.link_sent(200))
        self.assertContains(page, "You will get no more messages")

    def test_it_still_refuses_a_link_that_was_changed_as_not_ours(self):
        page = self.client.get(self.link_sent(91)[:-3] + "xyz")
        self.assertContains(page, "This link does not work", status_code=404)


class ConfirmLinkTests(NotificationTestCase):
    def setUp(self):
        super().setUp()
        self.sr = self.rosa_reports()
        lucia = follow_request(self.sr, email="lucia@example.org", language="es")
        self.lucia = Follower.objects.get(pk=lucia.pk)

    def link_sent(self, days: float) -> str:
        with days_ago(days):
            return tokens.confirm_path(self.lucia)

    def test_it_confirms_from_a_link_sent_13_days_ago(self):
        self.client.get(self.link_sent(13))
        self.assertIsNotNone(Follower.objects.get(pk=self.lucia.pk).confirmed_at)

    def test_it_asks_to_follow_again_when_the_link_is_15_days_old(self):
        page = self.client.get(self.link_sent(15))
        self.assertContains(page, "Este enlace ha caducado", status_code=410)
        self.assertContains(page, "pídalo de nuevo en la página de la solicitud", status_code=410)
        self.assertContains(page, f"/track/{self.sr.tracking_number}", status_code=410)
        self.assertIsNone(Follower.objects.get(pk=self.lucia.pk).confirmed_at)


class SurveyLinkTests(NotificationTestCase):
    def setUp(self):
        super().setUp()
        self.sr = self.rosa_reports()
        requests.close_request(self.sr, resolution="completed", note="Filled", by=self.dana)
        self.deliver()
        self.closed = RequestEvent.objects.get(request=self.sr, kind="request.closed")
        self.path = tokens.survey_path(self.follower(self.sr), self.closed)

    def closed_days_ago(self, days: float) -> None:
        """The closing (and so the survey's life) began this long ago: its message went out
        late, or the resident kept it."""
        when = timezone.now() - timedelta(days=days)
        RequestEvent.objects.filter(pk=self.closed.pk).update(at=when)
        ServiceRequest.objects.filter(pk=self.sr.pk).update(closed_at=when)

    def test_it_takes_an_answer_29_days_after_the_closing(self):
        self.closed_days_ago(29)
        page = self.client.post(self.path, {"fixed": "yes", "satisfaction": "4"})
        self.assertContains(page, "Your answer helps")

    def test_it_closes_the_survey_30_days_after_the_closing_whenever_the_link_was_sent(self):
        self.closed_days_ago(31)
        page = self.client.get(self.path)
        self.assertContains(page, "This link has expired", status_code=410)
        self.assertContains(page, "The survey about request", status_code=410)
        page = self.client.post(self.path, {"fixed": "no", "comment": "Still there"})
        self.assertEqual(page.status_code, 410)
        self.assertFalse(SurveyResponse.objects.exists())
        self.assertEqual(ServiceRequest.objects.get(pk=self.sr.pk).status, "closed")

    @override_settings(CITY311_LINK_SURVEY_DAYS=60)
    def test_the_city_can_keep_surveys_open_longer(self):
        self.closed_days_ago(45)
        page = self.client.post(self.path, {"fixed": "yes"})
        self.assertContains(page, "Your answer helps")
