import pytest
from django.conf import settings
from django.utils import timezone, translation

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
def _the_city_clock():
    # Pages and messages show dates in the city's time zone; a test's own
    # `timezone.localdate()` and `localtime()` read the active zone, UTC by default: between
    # midnight UTC and midnight in the city they named tomorrow (tests failed every night
    # before 05:00 UTC). Each test runs in the zone of the city it loaded (city311.test.use_city
    # activates it; a class's data loaded before this test is found here).
    from city311.test import city_zone

    timezone.activate(city_zone())
    yield
    timezone.deactivate()


@pytest.fixture(autouse=True)
def _outbound_to_loopback(settings):
    # The tests' receivers (webhooks, Open311 servers, photo hosts) listen on loopback, which
    # the outbound guard refuses by default (tests/test_outbound.py proves it): trusted here,
    # explicitly. Host names are answered by tests/fakedns.py, never by DNS.
    settings.CITY311_OUTBOUND_TRUSTED_NETWORKS = ["127.0.0.0/8", "::1/128"]
    settings.CITY311_OUTBOUND_RESOLVER = "tests.fakedns.resolve"


def pytest_collection_modifyitems(items):
    """Files that mostly wait (on the servers and workers they start, or on the clock) are
    handed out early, one between each two others: the parallel workers, handed whole files in
    this order, then wait on one while they work on the other. Handed out all first, they had
    every worker waiting at once (at 8-21% of a core each, measured) for the run's first
    minutes, and the machine's two cores idle; none is left for the end either."""
    files: dict[str, list] = {}
    for item in items:
        files.setdefault(item.nodeid.split("::")[0], []).append(item)
    waiting = [f for f in files.values() if f[0].get_closest_marker("waits") is not None]
    working = [f for f in files.values() if f[0].get_closest_marker("waits") is None]
    order = []
    while waiting or working:
        order += waiting.pop(0) if waiting else []
        order += working.pop(0) if working else []
    items[:] = order


def _delete_rather_than_truncate() -> None:
    """Between transactional tests PostgreSQL empties its tables with DELETE, not TRUNCATE.

    Django's flush TRUNCATEs all of city311's ~107 tables at once, and TRUNCATE gives every
    table and index a new file: 8.6 to 11.8 s per test on CI's loaded machine, against 0.55 s
    to DELETE the few rows a test wrote (measured side by side). Every foreign key is
    DEFERRABLE INITIALLY DEFERRED (Django's own; tests/test_test_flush.py fails if one is not), so
    the order of the DELETEs does not matter inside flush's transaction. The tables end
    as empty either way; a test that asks for reset sequences keeps Django's TRUNCATE.
    """
    from django.db.backends.postgresql.operations import DatabaseOperations

    truncate = DatabaseOperations.sql_flush

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        if reset_sequences or not tables:
            return truncate(
                self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
            )
        return [
            f"{style.SQL_KEYWORD('DELETE FROM')} {style.SQL_FIELD(self.quote_name(t))};"
            for t in tables
        ]

    DatabaseOperations.sql_flush = sql_flush


_delete_rather_than_truncate()


def _test_database_schema_in_one_step() -> None:
    """The test database gets its schema as `city311 up` gives a new database: in one step
    (`prepare_database`), not by replaying every migration. tests/test_fresh_schema.py proves
    the two schemas equal, and replays the migrations itself."""
    from django.core import management

    call_command = management.call_command

    def call(name, *args, **options):
        # Django's create_test_db is the one caller of migrate with run_syncdb.
        if name == "migrate" and options.get("run_syncdb"):
            return call_command(
                "prepare_database",
                database=options.get("database", "default"),
                verbosity=options.get("verbosity", 1),
            )
        return call_command(name, *args, **options)

    management.call_command = call


_test_database_schema_in_one_step()
