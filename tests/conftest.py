import pytest


@pytest.fixture(autouse=True)
def _plain_static_files(settings):
    # The hashed-manifest storage needs `collectstatic` first; tests render pages without it.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    # Each test loads its own geography: look at the database on every lookup.
    settings.CITY311_GEO_RECHECK_SECONDS = 0
