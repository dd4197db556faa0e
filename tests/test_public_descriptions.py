"""What residents write is public only without their phone numbers and e-mail addresses.

Descriptions, status notes and public notes go out through Open311 (JSON and XML) and the
public pages with numbers and addresses replaced; a city withholds descriptions entirely for
the service types it chooses (a catalog field, editable in the admin). Staff still read all.
"""

from __future__ import annotations

import pytest

from city311.catalog.models import ServiceType
from city311.servicerequests import actions
from city311.servicerequests.models import Resolution
from tests import test_open311 as reads
from tests.test_open311 import BASE, read

city = reads.city
fmt = reads.fmt

WROTE = "Deep hole by the curb, call me at 718-555-0199 or rosa.diaz@example.org anytime"
PRIVATE = ("718-555-0199", "555-0199", "5550199", "rosa.diaz@example.org")


def assert_private_gone(text: str) -> None:
    for secret in PRIVATE:
        assert secret not in text


@pytest.fixture
def rosas(city):
    return city.report(description=WROTE)


class TestOpen311:
    def test_a_description_is_published_without_phone_or_email(self, client, rosas, fmt):
        for path in (f"requests/{rosas.tracking_number}", "requests"):
            r = client.get(f"{BASE}/{path}.{fmt}")
            assert_private_gone(r.content.decode())
            row = read(r, fmt)[0]
            assert row["description"] == (
                "Deep hole by the curb, call me at [phone removed] or [e-mail removed] anytime"
            )

    def test_a_type_the_city_withholds_has_no_description(self, client, city, rosas, fmt):
        ServiceType.objects.filter(pk=city.pothole.pk).update(publish_description=False)
        for path in (f"requests/{rosas.tracking_number}", "requests"):
            row = read(client.get(f"{BASE}/{path}.{fmt}"), fmt)[0]
            assert row["description"] is None
            assert row["service_code"] == "pothole"

    def test_notes_and_updates_carry_no_phone_or_email(self, client, city, rosas, fmt):
        closed = actions.close_request(
            rosas,
            resolution=Resolution.COMPLETED,
            note="Filled. Told the caller on 718-555-0199.",
            by=city.dana,
        )
        actions.reopen_as_resident(closed, comment="Still a hole, email rosa.diaz@example.org")
        for path in (
            f"requests/{rosas.tracking_number}.{fmt}?extensions=true",
            f"requests.{fmt}?extensions=true",
            f"servicerequestupdates.{fmt}",
        ):
            r = client.get(f"{BASE}/{path}")
            assert r.status_code == 200
            assert_private_gone(r.content.decode())
            assert "[phone removed]" in r.content.decode()

    def test_staff_still_read_the_whole_description(self, client, city, rosas):
        ServiceType.objects.filter(pk=city.pothole.pk).update(publish_description=False)
        client.force_login(city.dana)
        page = client.get(f"/work/requests/{rosas.tracking_number}/").content.decode()
        assert "718-555-0199" in page


class TestPublicPages:
    def test_the_request_page_shows_staff_notes_without_a_phone_number(self, client, city, rosas):
        actions.add_note(rosas, text="Called back on 718-555-0199.", public=True, by=city.dana)
        page = client.get(f"/track/{rosas.tracking_number}").content.decode()
        assert "Called back on [phone removed]." in page
        assert_private_gone(page)


class TestAdmin:
    def test_the_city_withholds_a_types_descriptions_in_the_admin(self, client, city):
        client.force_login(city.ada)
        url = f"/admin/catalog/servicetype/{city.pothole.pk}/change/"
        page = client.get(url)
        assert 'name="publish_description"' in page.content.decode()
        assert ServiceType.objects.get(pk=city.pothole.pk).publish_description
