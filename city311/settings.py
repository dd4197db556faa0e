"""city311 settings: one file, driven by the environment.

With nothing set, city311 runs locally on SQLite under ./var. Production sets DATABASE_URL,
REDIS_URL, SECRET_KEY, ALLOWED_HOSTS and CITY311_HTTPS=true; `city311 check --deploy` is then clean.
A value city311 cannot use stops start-up with a message naming the variable.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

import phonenumbers

from city311.accounts.rolemap import parse_role_map
from city311.lib import languages, security
from city311.lib.env import (
    ConfigError,
    envbool,
    envdatabase,
    envint,
    envlist,
    envnetworks,
    envstr,
    envtimezone,
    envurl,
)

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(envstr("CITY311_DATA_DIR", str(Path.cwd() / "var"))).resolve()
if _test_worker := os.environ.get("PYTEST_XDIST_WORKER"):
    # The test suite's parallel processes each keep their own files: test database, cache, mail.
    DATA_DIR = DATA_DIR / _test_worker
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """SECRET_KEY from the environment, else one generated once and kept under DATA_DIR."""
    key = envstr("SECRET_KEY", "")
    if key:
        return key
    path = DATA_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = envbool("DEBUG", "false")
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", "")

# Behind TLS in production: secure cookies, HSTS and redirects. Off for a local http:// run.
HTTPS = envbool("CITY311_HTTPS", "false")
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = 31536000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
if envbool("CITY311_BEHIND_PROXY", "false"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_q",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "city311.accounts",
    "city311.catalog",
    "city311.cities",
    "city311.geo",
    "city311.servicerequests",
    "city311.facilities",
    "city311.notifications",
    "city311.pickups",
    "city311.open311",
    "city311.portal",
    "city311.knowledge",
    "city311.contacts",
    "city311.console",
    "city311.work",
    "city311.reports",
    "city311.intake",
    "city311.demo",
    "city311.ops",
    "city311.triage",
    "city311.webhooks",
    "city311.forwarding",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy and Permissions-Policy on every response (lib/security.py).
    "csp.middleware.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "city311.cities.middleware.city_time_zone",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "city311.accounts.middleware.TwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it reads the outcome of authentication.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "city311.urls"
WSGI_APPLICATION = "city311.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "city311.lib.context.city",
            ],
            # `when`: a date with its year only when it is not this year (lib/dates.py).
            "builtins": ["city311.lib.dates"],
        },
    },
]

# Database. SQLite runs in WAL mode so the web server and the task worker can read while the
# other writes; IMMEDIATE transactions take the write lock up front, avoiding the deadlock of two
# readers that both try to upgrade to writers.
DATABASES = {
    "default": envdatabase("DATABASE_URL", f"sqlite:///{DATA_DIR / 'city311.db'}"),
}
_db = DATABASES["default"]
if "sqlite" in str(_db["ENGINE"]):
    _db.setdefault("OPTIONS", {})
    # Wait for a writer instead of failing at once with "database is locked".
    _db["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        **dict(_db["OPTIONS"]),  # type: ignore[call-overload]
    }
    # Tests share the database with a real worker process, so it must be a file, not memory.
    _db["TEST"] = {"NAME": str(DATA_DIR / "test_city311.db")}
# Keep connections: the task queue's database broker calls close_old_connections() on every
# enqueue, which with CONN_MAX_AGE=0 would reconnect for every history event.
# (Assigned, not defaulted: dj-database-url always sets CONN_MAX_AGE to 0.)
_db["CONN_MAX_AGE"] = envint("CITY311_DB_CONN_MAX_AGE", "600", minimum=0)
_db["CONN_HEALTH_CHECKS"] = True
# On SQLite, a long batch writer (a history import, a replay) pauses this long between two
# batches so the web processes' writes are not kept waiting for the whole load (lib/batches.py):
# a little longer than a waiting writer's 100 ms between looks at the lock.
CITY311_SQLITE_PAUSE_MS = envint("CITY311_SQLITE_PAUSE_MS", "120", minimum=0)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = envurl("REDIS_URL", "", schemes=("redis", "rediss", "unix"))

if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    # A file cache is shared by every process on the machine, unlike the in-memory one.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(DATA_DIR / "cache"),
        }
    }

# The task queue: django-q2. Without REDIS_URL it keeps its queue in the database (durable, no
# broker); with REDIS_URL it uses Redis and any number of workers on any number of machines.
Q_CLUSTER: dict[str, object] = {
    # Workers take tasks only from queues of their own name: one city's workers never run
    # another's tasks on a shared Redis.
    "name": envstr("CITY311_QUEUE_NAME", "city311"),
    "workers": envint("CITY311_WORKER_PROCESSES", "2", minimum=1),
    "timeout": envint("CITY311_TASK_TIMEOUT", "120", minimum=1),
    "retry": envint("CITY311_TASK_TIMEOUT", "120", minimum=1) + 60,
    "max_attempts": envint("CITY311_TASK_MAX_ATTEMPTS", "5", minimum=1),
    "catch_up": False,
    "save_limit": 1000,
    "poll": 0.5,
    "label": "Background tasks",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
    # django-q's Redis broker, keeping the tasks a cluster holds: a stopped cluster's tasks in
    # hand go back to the queue (city311/ops/taskqueue.py). A failed task is acknowledged (kept
    # as a failure, not run again), as django-q's own Redis broker does.
    Q_CLUSTER["broker_class"] = "city311.ops.taskqueue.HeldRedis"
    Q_CLUSTER["ack_failures"] = True
else:
    Q_CLUSTER["orm"] = "default"
    # django-q's database broker, noting which cluster holds each task: a stopped cluster's
    # tasks in hand go back to the queue at once (city311/ops/taskqueue.py).
    Q_CLUSTER["broker_class"] = "city311.ops.taskqueue.HeldORM"
# With Redis, a worker renews a lease on what it holds every third of this; a worker on another
# machine whose lease ran out (the machine lost, the worker killed) has its tasks handed back by
# any other worker within about this time.
CITY311_TASK_LEASE_SECONDS = envint("CITY311_TASK_LEASE_SECONDS", "30", minimum=3)
# How often a worker looks for schedules that are due (django-q's own look is every 30 s, fixed;
# city311 runs it instead): the periodic tasks and the SLA alarms run this late at most.
CITY311_SCHEDULER_SECONDS = envint("CITY311_SCHEDULER_SECONDS", "30", minimum=1)
# How much lower the task worker's CPU priority is than that of the process that starts it (its
# niceness goes up by this much; 0 leaves it as it is). On a machine shared with the web server,
# a resident waiting for a page comes before the worker catching up with a burst of filings:
# the catch-up takes a little longer, and runs at full speed whenever the web is idle.
CITY311_WORKER_NICE = envint("CITY311_WORKER_NICE", "10", minimum=0, maximum=19)

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "work:queue"
LOGOUT_REDIRECT_URL = "login"

# Lock an account out from one address after repeated failed sign-ins.
AXES_FAILURE_LIMIT = envint("CITY311_LOGIN_FAILURE_LIMIT", "5", minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=envint("CITY311_LOGIN_LOCKOUT_MINUTES", "30", minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_VERBOSE = False

# Two-factor sign-in for staff (accounts/twofactor.py, on django-otp): an authenticator app
# and recovery codes. Required of every staff member when this is true.
CITY311_STAFF_2FA_REQUIRED = envbool("CITY311_STAFF_2FA_REQUIRED", "false")
OTP_TOTP_ISSUER = "city311"

# Single sign-on through the city's identity provider (OpenID Connect, accounts/oidc.py): on
# when CITY311_OIDC_ISSUER is set. CITY311_OIDC_ROLES maps the provider's groups to roles and
# departments ("streets-crew=Department staff@transportation; 311-agents=Call taker").
CITY311_OIDC_ISSUER = envstr("CITY311_OIDC_ISSUER", "")
CITY311_OIDC_CLIENT_ID = envstr("CITY311_OIDC_CLIENT_ID", "")
CITY311_OIDC_CLIENT_SECRET = envstr("CITY311_OIDC_CLIENT_SECRET", "")
CITY311_OIDC_GROUPS_CLAIM = envstr("CITY311_OIDC_GROUPS_CLAIM", "groups")
CITY311_OIDC_PROVIDER_NAME = envstr("CITY311_OIDC_PROVIDER_NAME", "your city account")
try:
    CITY311_OIDC_ROLES = parse_role_map("CITY311_OIDC_ROLES", envstr("CITY311_OIDC_ROLES", ""))
except ValueError as e:
    raise ConfigError(str(e)) from None
if CITY311_OIDC_ISSUER:
    if not (CITY311_OIDC_CLIENT_ID and CITY311_OIDC_CLIENT_SECRET and CITY311_OIDC_ROLES):
        raise ConfigError(
            "CITY311_OIDC_ISSUER is set: also set CITY311_OIDC_CLIENT_ID, "
            "CITY311_OIDC_CLIENT_SECRET and CITY311_OIDC_ROLES (see docs/security.md)."
        )
    AUTHENTICATION_BACKENDS.append("city311.accounts.oidc.CityIdentityBackend")
OIDC_RP_SIGN_ALGO = envstr("CITY311_OIDC_SIGN_ALGO", "RS256")
OIDC_RP_SCOPES = envstr("CITY311_OIDC_SCOPES", "openid email profile")
OIDC_USE_PKCE = True
OIDC_TIMEOUT = envint("CITY311_OIDC_TIMEOUT_SECONDS", "10", minimum=1)


def _languages(codes: list[str]) -> list[tuple[str, str]]:
    """The languages named, each in itself ("Español"), English always first."""
    try:
        return languages.named(codes)
    except languages.UnknownLanguage as e:
        raise ConfigError(f"CITY311_LANGUAGES names {e}") from None


LANGUAGE_CODE = "en"
# English is the catalog's own text and the fallback of every other language.
# The languages offered are the city's, from its pack (City.languages; lib/languages.py):
# CITY311_LANGUAGES, when set, overrides them; English and Spanish answer before any city.
LANGUAGES = languages.CityLanguages(
    override=_languages(envlist("CITY311_LANGUAGES", ""))
    if os.environ.get("CITY311_LANGUAGES")
    else None,
    fallback=_languages(["en", "es"]),
)
LOCALE_PATHS = [BASE_DIR / "locale"]
# The city's time zone comes from its pack (city311.cities); this is only the fallback of a
# database with no city yet, and CITY311_TIME_ZONE, when set, overrides the pack.
TIME_ZONE = envtimezone("CITY311_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "city311.ops.static.StaticStorage"},
}
MEDIA_ROOT = DATA_DIR / "media"
MEDIA_URL = "media/"

# E-mail: Django's own variable names. Without EMAIL_HOST, messages are written to files under
# DATA_DIR/mail so a local run sends nothing anywhere.
EMAIL_HOST = envstr("EMAIL_HOST", "")
EMAIL_PORT = envint("EMAIL_PORT", "25", minimum=1)
EMAIL_HOST_USER = envstr("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = envstr("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", "false")
EMAIL_USE_SSL = envbool("EMAIL_USE_SSL", "false")
EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", "30", minimum=1)
DEFAULT_FROM_EMAIL = envstr("DEFAULT_FROM_EMAIL", "city311 <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(DATA_DIR / "mail")

# The city itself comes from its city pack (`city311 import_city`, docs/city-pack.md) and the
# admin. These settings, when set, override the pack's values (empty: the pack decides).
CITY311_CITY_NAME = envstr("CITY311_CITY_NAME", "")
CITY311_PHONE = envstr("CITY311_PHONE", "")
CITY311_OUTSIDE_PHONE = envstr("CITY311_OUTSIDE_PHONE", "")
CITY311_EMERGENCY_PHONE = envstr("CITY311_EMERGENCY_PHONE", "")
CITY311_HOURS = envstr("CITY311_HOURS", "")
CITY311_HOURS_ES = envstr("CITY311_HOURS_ES", "")
# Public holidays from the `holidays` package: COUNTRY or COUNTRY-SUBDIVISION, e.g. US-IL.
CITY311_HOLIDAYS = envstr("CITY311_HOLIDAYS", "")
CITY311_REOPEN_DAYS = envint("CITY311_REOPEN_DAYS", "30", minimum=0)
# Reports (docs/reports.md): a rate or percentile on fewer requests than this is not shown;
# the on-time % a city aims at (its CityScore is actual ÷ target).
CITY311_REPORTS_MIN_N = envint("CITY311_REPORTS_MIN_N", "5", minimum=1)
CITY311_REPORTS_ON_TIME_TARGET = envint("CITY311_REPORTS_ON_TIME_TARGET", "90", minimum=1)
# Digests of open and overdue work go out from this hour of the city's day (0-23): daily ones
# every day, weekly ones from Monday (docs/sla.md).
CITY311_DIGEST_HOUR = envint("CITY311_DIGEST_HOUR", "7", minimum=0)
# The state(s) of the city's addresses, comma-separated ("IL"): overrides the pack's.
CITY311_GEO_STATE = envstr("CITY311_GEO_STATE", "")
# Open311: the jurisdiction_id clients may send (empty: "city311" or this server's host name),
# and the largest photo accepted (bytes).
CITY311_JURISDICTION_ID = envstr("CITY311_JURISDICTION_ID", "")
CITY311_MEDIA_MAX_BYTES = envint("CITY311_MEDIA_MAX_BYTES", str(5 * 1024 * 1024), minimum=1024)
# Photos applications link to (FixMyStreet's media_url) are fetched and kept only from these
# hosts (e.g. "fixmystreet.example.org"); others stay links. Fetched through the outbound guard.
CITY311_MEDIA_FETCH_HOSTS = envlist("CITY311_MEDIA_FETCH_HOSTS", "")
# The outbound guard (lib/outbound.py, docs/security.md): webhooks, forwarding and photo fetches
# reach public addresses only. Addresses in these networks are reached too, whoever typed them
# (none by default; "10.20.0.0/16" for a city whose systems all live there); one endpoint on
# the city's network is rather marked so in the admin. CA_BUNDLE: a file of the certificate
# authorities to trust for https (empty: the usual public ones).
CITY311_OUTBOUND_TRUSTED_NETWORKS = envnetworks("CITY311_OUTBOUND_TRUSTED_NETWORKS", "")
CITY311_OUTBOUND_CA_BUNDLE = envstr("CITY311_OUTBOUND_CA_BUNDLE", "")
# How host names are turned into addresses: the system's resolver. Tests name their own, so that
# no test asks DNS (tests/fakedns.py).
CITY311_OUTBOUND_RESOLVER = "city311.lib.outbound.system_resolver"
# Photos texted to the city's number (MMS) are fetched from these hosts: Twilio's API, with
# TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN, and the CDN it redirects to.
CITY311_MMS_MEDIA_HOSTS = envlist("CITY311_MMS_MEDIA_HOSTS", "api.twilio.com,media.twiliocdn.com")
# How long the links in messages work (notifications/tokens.py): "stop messages" from the message
# it came in (every message brings a fresh one), "confirm following" from the message asking, the
# survey from the closing it asks about (as long as "not fixed" can reopen the request). An
# unsubscribe link works at least 30 days, as the US CAN-SPAM Act asks of an opt-out.
CITY311_LINK_UNSUBSCRIBE_DAYS = envint("CITY311_LINK_UNSUBSCRIBE_DAYS", "90", minimum=30)
CITY311_LINK_CONFIRM_DAYS = envint("CITY311_LINK_CONFIRM_DAYS", "14", minimum=1)
CITY311_LINK_SURVEY_DAYS = envint(
    "CITY311_LINK_SURVEY_DAYS", str(max(CITY311_REOPEN_DAYS, 7)), minimum=1
)
# The event stream (servicerequests/stream.py): longer than any transaction that writes history
# events takes. Ids are handed out before commit, so until then a lower id may still turn up.
CITY311_STREAM_SETTLE_SECONDS = envint("CITY311_STREAM_SETTLE_SECONDS", "120", minimum=0)
# A dispatch woken by a commit waits this long before it reads, so that the commits of a burst
# are handled in one batch instead of a dispatch for every few (each costs every consumer
# several queries): on Redis from when it starts; with the task queue in the database, from
# when it was queued, plus the half second a worker may take to see it, and the commits of
# that time join it instead of queuing one each. The delay every event reaches its consumers
# with; 0 reads at once.
CITY311_STREAM_GATHER_MS = envint("CITY311_STREAM_GATHER_MS", "200", minimum=0)
# With the task queue on Redis, each process tells Redis of its commits at most once this often
# (one round trip for all the commits of the interval, instead of one a commit), from a thread
# of its own. Added to the delay above; 0 tells Redis in the committing thread, every commit.
CITY311_STREAM_WAKE_MS = envint("CITY311_STREAM_WAKE_MS", "50", minimum=0)
# How long one dispatch task of the event stream reads (each group of consumers) before it leaves
# the rest of a backlog to a new task queued behind the worker's other tasks.
CITY311_STREAM_TASK_SECONDS = envint("CITY311_STREAM_TASK_SECONDS", "10", minimum=0)
# Where residents open the links in messages: their request's page, unsubscribe, the survey.
CITY311_SITE_URL = envurl("CITY311_SITE_URL", "http://127.0.0.1:8000", schemes=("http", "https"))
# The right-hand side of the Message-ID of every e-mail sent.
CITY311_MAIL_DOMAIN = envstr("CITY311_MAIL_DOMAIN", "city311.localhost")
# E-mail to 311 (city311.intake.mail): the mailbox read over IMAP every minute (no host: none),
# and the addresses the SMTP listener accepts mail for (none listed: any).
CITY311_MAIL_IMAP_HOST = envstr("CITY311_MAIL_IMAP_HOST", "")
CITY311_MAIL_IMAP_PORT = envint("CITY311_MAIL_IMAP_PORT", "993", minimum=1)
CITY311_MAIL_IMAP_SSL = envstr("CITY311_MAIL_IMAP_SSL", "1") not in ("0", "false", "no")
CITY311_MAIL_IMAP_USER = envstr("CITY311_MAIL_IMAP_USER", "")
CITY311_MAIL_IMAP_PASSWORD = envstr("CITY311_MAIL_IMAP_PASSWORD", "")
CITY311_MAIL_IMAP_FOLDER = envstr("CITY311_MAIL_IMAP_FOLDER", "INBOX")
CITY311_MAIL_ADDRESSES = [
    a.strip() for a in envstr("CITY311_MAIL_ADDRESSES", "").split(",") if a.strip()
]
# Sending: a message that fails for a while is tried again after 1, 2, 4... times this many
# seconds (at most CITY311_DELIVERY_RETRY_MAX_SECONDS apart), at most this many times.
CITY311_DELIVERY_MAX_ATTEMPTS = envint("CITY311_DELIVERY_MAX_ATTEMPTS", "8", minimum=1)
CITY311_DELIVERY_RETRY_SECONDS = envint("CITY311_DELIVERY_RETRY_SECONDS", "60", minimum=0)
CITY311_DELIVERY_RETRY_MAX_SECONDS = envint("CITY311_DELIVERY_RETRY_MAX_SECONDS", "3600", minimum=0)
# A message claimed by a worker that died is sent again after this long: more than any send takes.
CITY311_DELIVERY_LEASE_SECONDS = envint("CITY311_DELIVERY_LEASE_SECONDS", "300", minimum=1)
# Webhooks (docs/webhooks.md): the waits after each failed try, in seconds (the last repeats),
# each stretched or shrunk at random by up to the jitter; after MAX_ATTEMPTS tries, the dead letter.
CITY311_WEBHOOK_RETRY_SCHEDULE = [
    int(s) for s in envlist("CITY311_WEBHOOK_RETRY_SCHEDULE", "5,300,1800,7200,18000,36000")
]
CITY311_WEBHOOK_MAX_ATTEMPTS = envint("CITY311_WEBHOOK_MAX_ATTEMPTS", "7", minimum=1)
CITY311_WEBHOOK_JITTER_PERCENT = envint("CITY311_WEBHOOK_JITTER_PERCENT", "10", minimum=0)
# A receiver that has not answered after this long has failed this try.
CITY311_WEBHOOK_TIMEOUT_SECONDS = envint("CITY311_WEBHOOK_TIMEOUT_SECONDS", "10", minimum=1)
CITY311_WEBHOOK_LEASE_SECONDS = envint("CITY311_WEBHOOK_LEASE_SECONDS", "120", minimum=1)
# Open311 forwarding (docs/webhooks.md): a POST the other server did not take is tried again
# after these waits (FixMyStreet's: 5 min, then every 30 min), at most MAX_ATTEMPTS times.
CITY311_FORWARD_RETRY_SCHEDULE = [
    int(s) for s in envlist("CITY311_FORWARD_RETRY_SCHEDULE", "300,1800")
]
CITY311_FORWARD_MAX_ATTEMPTS = envint("CITY311_FORWARD_MAX_ATTEMPTS", "30", minimum=1)
# SMS: "file" (written under DATA_DIR/sms), "console" (printed) or "twilio".
CITY311_SMS_PROVIDER = envstr("CITY311_SMS_PROVIDER", "file")
if CITY311_SMS_PROVIDER not in ("file", "console", "twilio"):
    raise ConfigError(
        f"CITY311_SMS_PROVIDER={CITY311_SMS_PROVIDER!r} is not a provider: "
        "use file, console or twilio."
    )
CITY311_SMS_FILE_PATH = str(DATA_DIR / "sms")
# The region (ISO 3166 code) of phone numbers residents give without a + and a country code.
CITY311_PHONE_REGION = envstr("CITY311_PHONE_REGION", "US").upper()
if CITY311_PHONE_REGION not in phonenumbers.SUPPORTED_REGIONS:
    raise ConfigError(
        f"CITY311_PHONE_REGION={CITY311_PHONE_REGION!r} is not a region phone numbers know: "
        "use a two-letter country code such as US, CA or GB."
    )
TWILIO_ACCOUNT_SID = envstr("TWILIO_ACCOUNT_SID", "")
TWILIO_AUTH_TOKEN = envstr("TWILIO_AUTH_TOKEN", "")
# The shared secret a phone system signs its call events with (docs/call-centre.md); empty
# turns the call-events webhook off.
CITY311_CALL_EVENTS_SECRET = envstr("CITY311_CALL_EVENTS_SECRET", "")
# How many consoles one web process keeps an open stream for (server-sent events: the card
# pops the moment the phone system says "answered"). Each open stream holds one of the
# process's threads (gunicorn's --threads); consoles beyond this poll every 2 s instead.
CITY311_CONSOLE_STREAMS = envint("CITY311_CONSOLE_STREAMS", "2", minimum=0)
# How long one such stream stays open before the browser opens the next (it reconnects by
# itself): short enough that a closed tab gives its thread back soon.
CITY311_CONSOLE_STREAM_SECONDS = 20
# When a person answers the phones (contacts/hours.py): "24/7", or weekly rules in the city's
# time such as "Mo-Fr 07:00-18:00" (Fresno); closed on public holidays unless 24/7.
# When set, overrides the pack's `call_centre_hours` (city.yaml).
CITY311_CALL_CENTRE_HOURS = envstr("CITY311_CALL_CENTRE_HOURS", "")
# Where the phone tree transfers a caller to a person while the centre is open (E.164 or a
# SIP address); empty: the phone tree takes a voicemail to call back instead.
CITY311_CALL_CENTRE_TRANSFER = envstr("CITY311_CALL_CENTRE_TRANSFER", "")
# The city's number (+12125550100) or a messaging service; one of them for the Twilio provider.
TWILIO_FROM_NUMBER = envstr("TWILIO_FROM_NUMBER", "")
TWILIO_MESSAGING_SERVICE_SID = envstr("TWILIO_MESSAGING_SERVICE_SID", "")
if CITY311_SMS_PROVIDER == "twilio" and not (
    TWILIO_ACCOUNT_SID
    and TWILIO_AUTH_TOKEN
    and (TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID)
):
    raise ConfigError(
        "CITY311_SMS_PROVIDER=twilio needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and "
        "TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID."
    )
# How often a process checks whether addresses or boundaries were re-imported.
CITY311_GEO_RECHECK_SECONDS = envint("CITY311_GEO_RECHECK_SECONDS", "10", minimum=0)
# How often each process asks whether the catalog (or a routing rule) changed elsewhere.
CITY311_CATALOG_RECHECK_SECONDS = envint("CITY311_CATALOG_RECHECK_SECONDS", "2", minimum=0)
# What a resident is told about a place outside the city limits: overrides the pack's.
CITY311_OUTSIDE_REFERRAL = envstr("CITY311_OUTSIDE_REFERRAL", "")
CITY311_OUTSIDE_REFERRAL_ES = envstr("CITY311_OUTSIDE_REFERRAL_ES", "")
# The report map's tile server, e.g. https://tile.example.org/{z}/{x}/{y}.png; empty draws the city
# limits on a blank map, which needs no internet.
CITY311_MAP_TILES = envstr("CITY311_MAP_TILES", "")
# Scripts and styles from this site only; images from it and from the tile server above.
CONTENT_SECURITY_POLICY = security.content_security_policy(CITY311_MAP_TILES)
PERMISSIONS_POLICY = security.PERMISSIONS_POLICY
# What one connection (and, for reports, one e-mail or phone) may do on the portal in an hour.
CITY311_PORTAL_REPORTS_PER_IP = envint("CITY311_PORTAL_REPORTS_PER_IP", "20", minimum=1)
CITY311_PORTAL_REPORTS_PER_CONTACT = envint("CITY311_PORTAL_REPORTS_PER_CONTACT", "10", minimum=1)
# Bulky-item bookings an hour from one connection, and from one e-mail or phone.
CITY311_PICKUP_BOOKINGS_PER_IP = envint("CITY311_PICKUP_BOOKINGS_PER_IP", "10", minimum=1)
CITY311_PICKUP_BOOKINGS_PER_CONTACT = envint("CITY311_PICKUP_BOOKINGS_PER_CONTACT", "3", minimum=1)
CITY311_PORTAL_FOLLOWS_PER_IP = envint("CITY311_PORTAL_FOLLOWS_PER_IP", "10", minimum=1)
CITY311_PORTAL_REOPENS_PER_IP = envint("CITY311_PORTAL_REOPENS_PER_IP", "5", minimum=1)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "filters": {"client_errors": {"()": "city311.ops.logs.NoTracebackForClientErrors"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": envstr("CITY311_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # A refusal (403, 404) is one line in the log, without a traceback.
        "django.request": {"filters": ["client_errors"]},
        # django-axes logs user names and addresses on failed sign-ins: personal data.
        "axes": {"level": "WARNING"},
        # The task queue's "processing"/"Processed" lines, a dozen a minute from the schedules
        # alone, buried what `city311 up` says in a newcomer's terminal; its failures and
        # warnings still show. CITY311_TASK_LOG_LEVEL=INFO to follow every task.
        "django-q": {"level": envstr("CITY311_TASK_LOG_LEVEL", "WARNING")},
    },
}
