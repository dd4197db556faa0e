"""Settings for the Open311 load benchmark: city311's own, plus a bare insert view beside it."""

from city311.settings import *  # noqa: F403

ROOT_URLCONF = "open311_urls"
ALLOWED_HOSTS = ["127.0.0.1"]
