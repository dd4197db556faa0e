"""Shared test setup: a small city with personas.

- Rosa is a resident: no account; she reports through a channel.
- Omar is a call taker: sees every request, works none.
- Dana works in Streets (transportation); Sofia supervises Streets.
- Pat works in Parks and must not see Streets' queue.
- Max is a manager: reads everything, changes nothing.
- Ada is an administrator.
"""

from __future__ import annotations

import functools
import os
import sys
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group, User
from django.test import Client, TestCase, override_settings
from django.utils import timezone

from city311.accounts import roles
from city311.accounts.models import Membership
from city311.catalog.models import (
    AttributeValue,
    BusinessHours,
    Datatype,
    Department,
    ServiceAttribute,
    ServiceType,
    SlaUnit,
    Urgency,
)
from city311.servicerequests.intake import submit_request
from city311.servicerequests.models import Channel, ServiceRequest
from city311.servicerequests.validation import Submission

PASSWORD = "correct horse battery staple"
TWILIO_TOKEN = "twilio-auth-token-of-the-tests"


def text_the_city(client: Client, **fields: str) -> Any:
    """Twilio posts a text the city's number received, signed as Twilio signs it."""
    from twilio.request_validator import RequestValidator

    path = "/notifications/sms/twilio"
    with override_settings(TWILIO_AUTH_TOKEN=TWILIO_TOKEN):
        url = settings.CITY311_SITE_URL.rstrip("/") + path
        signature = RequestValidator(TWILIO_TOKEN).compute_signature(url, fields)
        return client.post(path, fields, HTTP_X_TWILIO_SIGNATURE=signature)


# The city the tests' personas live in: New York (the demo pack's manifest) unless
# CITY311_TEST_CITY names another, such as "small" (tests/cities/small): a run of the whole
# suite in a second city. Tests about New York's own data load it themselves.
TEST_CITY = os.environ.get("CITY311_TEST_CITY", "nyc")
TEST_CITIES = ["nyc", "small"]
_TEST_PACKS = Path(__file__).resolve().parent.parent / "tests" / "cities"


def city_pack_folder(name: str) -> Path:
    """A demo city's pack (city311/demo/cities) or a test city's (tests/cities)."""
    from city311.demo.loader import CITIES

    for folder in (CITIES / name, _TEST_PACKS / name):
        if (folder / "city.yaml").exists():
            return folder
    raise LookupError(f"There is no test city {name!r}: make tests/cities/{name}/city.yaml.")


def use_city(name: str) -> None:
    """Make the database's city the one of `name`'s manifest (name, clock, phones, rules)."""
    from city311.cities.pack.apply import apply_pack
    from city311.cities.pack.reader import read_pack

    pack = read_pack(city_pack_folder(name), sections=set())
    assert not pack.problems, pack.problems.found
    apply_pack(pack)
    from city311.cities import profile

    global _city_zone
    _city_zone = profile.zone()
    # A test's own dates from here on are the city's, as its pages' (tests/conftest.py).
    timezone.activate(_city_zone)


_city_zone: ZoneInfo | None = None


def city_zone() -> ZoneInfo:
    """The time zone of the city the tests last loaded (use_city), or of the test city's pack:
    what tests/conftest.py makes every test's `timezone.localdate()` and `localtime()` use."""
    global _city_zone
    if _city_zone is None:
        # Read without the database (a test may have none): the manifest's line, or the
        # setting that overrides it, as cities.profile does.
        import yaml

        manifest = yaml.safe_load((city_pack_folder(TEST_CITY) / "city.yaml").read_text())
        override = "CITY311_TIME_ZONE" in os.environ
        _city_zone = ZoneInfo(settings.TIME_ZONE if override else manifest["time_zone"])
    return _city_zone


def city_today() -> date:
    """Today in the city's time zone, which every page and message uses: a test's own
    `timezone.localdate()` is UTC's, a day ahead of New York's every evening."""
    from city311.cities import profile

    return timezone.localdate(timezone=profile.zone())


def city_time(value: datetime) -> datetime:
    """`value` in the city's time zone, as pages and messages show it."""
    from city311.cities import profile

    return timezone.localtime(value, profile.zone())


def referral(language: str = "en") -> str:
    """The start of what the test city tells a resident about a place outside it."""
    from city311.cities import profile

    return profile.current().text("outside_referral", language)[:40]


C = TypeVar("C", bound=type)


def any_city(cls: C) -> C:
    """Run a test class in every test city: the class runs in New York (or CITY311_TEST_CITY)
    and a copy of it, named ...InSmall, in each other city. For tests whose behaviour is not
    about one city's data: the proof that nothing city-specific is left in the code."""
    module = sys.modules[cls.__module__]
    for city in TEST_CITIES:
        if city != getattr(cls, "test_city", TEST_CITY):
            copy = type(f"{cls.__name__}In{city.title()}", (cls,), {"test_city": city})
            copy.__module__ = cls.__module__
            setattr(module, copy.__name__, copy)
    return cls


def add_questions(service_type: ServiceType) -> None:
    """One question of every Open311 datatype."""
    size = ServiceAttribute.objects.create(
        service_type=service_type,
        code="size",
        description="How big is it?",
        datatype=Datatype.SINGLEVALUELIST,
        required=True,
        order=1,
    )
    AttributeValue.objects.create(attribute=size, key="small", name="Smaller than a plate")
    AttributeValue.objects.create(attribute=size, key="large", name="Larger than a plate")
    lanes = ServiceAttribute.objects.create(
        service_type=service_type,
        code="lanes",
        description="Which lanes?",
        datatype=Datatype.MULTIVALUELIST,
        order=2,
    )
    AttributeValue.objects.create(attribute=lanes, key="left", name="Left lane")
    AttributeValue.objects.create(attribute=lanes, key="right", name="Right lane")
    for order, (code, datatype) in enumerate(
        [
            ("depth_cm", Datatype.NUMBER),
            ("seen_at", Datatype.DATETIME),
            ("landmark", Datatype.STRING),
            ("details", Datatype.TEXT),
        ],
        start=3,
    ):
        ServiceAttribute.objects.create(
            service_type=service_type,
            code=code,
            description=code.replace("_", " "),
            datatype=datatype,
            order=order,
        )


@functools.cache
def _password_hash(hasher: str) -> str:
    """The personas' shared password, hashed once per process and hasher (the city's own is
    Argon2: slow by design; hashing it again for every persona of every test class cost minutes
    of the suite). A test that sets a faster hasher gets a hash that hasher reads."""
    return make_password(PASSWORD)  # with the first hasher, the one named


def make_user(username: str, role: str, department: Department | None = None) -> User:
    user = User.objects.create(
        username=username,
        email=f"{username}@city311.example",
        password=_password_hash(settings.PASSWORD_HASHERS[0]),
        first_name=username.title(),
        last_name="Tester",
        is_staff=role == roles.ADMINISTRATOR,
    )
    user.groups.add(Group.objects.get(name=role))
    if department is not None:
        Membership.objects.create(user=user, department=department)
    return user


class CityMixin:
    """Builds the small city. Used by TestCase and TransactionTestCase alike."""

    test_city = TEST_CITY

    def make_city(self) -> None:
        use_city(self.test_city)
        roles.ensure_roles()
        BusinessHours.objects.bulk_create(
            BusinessHours(weekday=d, opens=time(9, 0), closes=time(17, 0)) for d in range(5)
        )
        self.streets = Department.objects.create(name="Streets", slug="transportation")
        self.parks = Department.objects.create(name="Parks", slug="parks")
        self.pothole = ServiceType.objects.create(
            service_code="pothole",
            service_name="Pothole",
            group="Streets",
            department=self.streets,
            sla_amount=5,
            sla_unit=SlaUnit.CALENDAR_DAYS,
        )
        add_questions(self.pothole)
        self.tree = ServiceType.objects.create(
            service_code="fallen_tree",
            service_name="Fallen tree",
            group="Parks",
            department=self.parks,
            urgency=Urgency.URGENT,
            sla_amount=8,
            sla_unit=SlaUnit.BUSINESS_HOURS,
        )
        self.fire = ServiceType.objects.create(
            service_code="fire", service_name="Fire", urgency=Urgency.EMERGENCY
        )
        self.permit = ServiceType.objects.create(
            service_code="permit_question",
            service_name="Building permit question",
            department=self.streets,
            location_required=False,
            contact_required=True,
        )
        self.omar = make_user("omar", roles.CALL_TAKER)
        self.dana = make_user("dana", roles.DEPARTMENT_STAFF, self.streets)
        self.sofia = make_user("sofia", roles.SUPERVISOR, self.streets)
        self.pat = make_user("pat", roles.DEPARTMENT_STAFF, self.parks)
        self.max = make_user("max", roles.MANAGER)
        self.ada = make_user("ada", roles.ADMINISTRATOR)

    def report(self, **fields: Any) -> ServiceRequest:
        """Rosa reports a pothole (or what `fields` say) through the web portal."""
        values: dict[str, Any] = {
            "service_code": "pothole",
            "channel": Channel.WEB,
            "lat": 40.6782,
            "long": -73.9442,
            "address_string": "1382 Dumont Ave, Brooklyn",
            "description": "Deep hole by the curb",
            "answers": {"size": "large"},
            "first_name": "Rosa",
            "last_name": "Diaz",
            "email": "rosa@example.org",
            "phone": "718-555-0199",
        }
        values.update(fields)
        return submit_request(Submission(**values))


class BaseTestCase(CityMixin, TestCase):
    @classmethod
    def setUpTestData(cls) -> None:
        # Once per class: the small city, its personas and their departments.
        CityMixin.make_city(cls)  # type: ignore[arg-type]

    def sign_in(self, user: User) -> None:
        self.client.force_login(user)
