import threading

from django.db import connection
from django.test import TransactionTestCase

from city311.servicerequests import actions
from city311.servicerequests.errors import RequestError
from city311.servicerequests.models import RequestEvent, ServiceRequest
from city311.test import CityMixin


class ConcurrentChangeTests(CityMixin, TransactionTestCase):
    """Dana and Sofia act on the same request at the same moment."""

    def setUp(self):
        self.make_city()
        self.sr = self.report()

    def race(self, *changes):
        barrier = threading.Barrier(len(changes))
        outcomes = []

        def run(change):
            try:
                sr = ServiceRequest.objects.get(pk=self.sr.pk)
                barrier.wait()
                change(sr)
                outcomes.append("ok")
            except RequestError as e:
                outcomes.append(e.message)
            finally:
                connection.close()

        threads = [threading.Thread(target=run, args=(c,)) for c in changes]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        return outcomes

    def test_two_people_closing_at_once_close_it_once(self):
        outcomes = self.race(
            lambda sr: actions.close_request(
                sr, resolution="completed", note="Filled", by=self.dana
            ),
            lambda sr: actions.close_request(
                sr, resolution="no_action", note="Nothing there", by=self.sofia
            ),
        )
        self.assertEqual(outcomes.count("ok"), 1, outcomes)
        self.assertEqual(RequestEvent.objects.filter(kind="request.closed").count(), 1)

    def test_two_different_changes_at_once_are_both_kept(self):
        outcomes = self.race(
            lambda sr: actions.add_note(sr, text="Crew on Tuesday", public=True, by=self.dana),
            lambda sr: actions.assign_request(sr, to=self.dana, by=self.sofia),
        )
        self.assertEqual(outcomes, ["ok", "ok"])
        sr = ServiceRequest.objects.get(pk=self.sr.pk)
        self.assertEqual((sr.status_notes, sr.assignee), ("Crew on Tuesday", self.dana))


class ConcurrentFilingTests(CityMixin, TransactionTestCase):
    """Rosa's phone sends the same report twice at once (a retry after a lost answer)."""

    def setUp(self):
        self.make_city()

    def test_the_same_idempotency_key_sent_at_once_files_one_request(self):
        from city311.servicerequests.intake import submit_request
        from city311.servicerequests.validation import Submission

        barrier = threading.Barrier(4)
        numbers = []

        def send():
            try:
                barrier.wait()
                sub = Submission(
                    service_code="pothole",
                    channel="open311",
                    application="FixMyStreet",
                    lat=40.6782,
                    long=-73.9442,
                    answers={"size": "large"},
                )
                numbers.append(submit_request(sub, idempotency_key="phone-retry-7").tracking_number)
            finally:
                connection.close()

        threads = [threading.Thread(target=send) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(len(numbers), 4)
        self.assertEqual(len(set(numbers)), 1, numbers)
        self.assertEqual(ServiceRequest.objects.count(), 1)
        self.assertEqual(RequestEvent.objects.filter(kind="request.submitted").count(), 1)
