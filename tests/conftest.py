import pytest
from django.conf import settings
from django.utils import translation

from city311.ops.assets import install_assets


@pytest.fixture(autouse=True, scope="session")
def _front_end_libraries():
    # The README's test command installs Python packages only; the pages' USWDS, htmx and
    # Leaflet come from the npm registry through the same step `city311 up` runs.
    install_assets(say=lambda line: None)


@pytest.fixture(autouse=True, scope="session")
def _fresh_geography_for_class_data():
    # A TestCase's setUpTestData runs before the per-test settings below: without this, the
    # area index a previous test built (within the default ten seconds) serves its class data.
    settings.CITY311_GEO_RECHECK_SECONDS = 0
    settings.CITY311_CATALOG_RECHECK_SECONDS = 0


@pytest.fixture(autouse=True)
def _plain_static_files(settings):
    # The hashed-manifest storage needs `collectstatic` first; tests render pages without it.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    # Each test loads its own geography: look at the database on every lookup.
    settings.CITY311_GEO_RECHECK_SECONDS = 0
    settings.CITY311_CATALOG_RECHECK_SECONDS = 0


@pytest.fixture(autouse=True)
def _english_unless_asked():
    # A page served in Spanish leaves Spanish active in the thread (LocaleMiddleware does not
    # reset it), and domain messages are worded in the active language: each test starts in
    # the default language, as each request does.
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _outbound_to_loopback(settings):
    # The tests' receivers (webhooks, Open311 servers, photo hosts) listen on loopback, which
    # the outbound guard refuses by default (tests/test_outbound.py proves it): trusted here,
    # explicitly. Host names are answered by tests/fakedns.py, never by DNS.
    settings.CITY311_OUTBOUND_TRUSTED_NETWORKS = ["127.0.0.0/8", "::1/128"]
    settings.CITY311_OUTBOUND_RESOLVER = "tests.fakedns.resolve"


def pytest_collection_modifyitems(items):
    """Files that mostly wait (on the servers and workers they start, or on the clock) go first:
    the parallel workers, handed whole files in this order, fill those waits with the rest."""
    items.sort(key=lambda item: item.get_closest_marker("waits") is None)
