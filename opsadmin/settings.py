"""One env-driven settings module (django-environ).

Required in production: ``SECRET_KEY``, ``FIELD_ENCRYPTION_KEYS``, ``ALLOWED_HOSTS``,
``DATABASE_URL``, ``REDIS_URL``. With ``DEBUG=true`` (the dev runner and the tests) the
secrets get development defaults and the databases fall back to embedded ones.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False) if (BASE_DIR / ".env").exists() else None


def _fail(name: str, problem: str) -> None:
    """Stop at start-up with one clear line naming the setting."""
    raise ImproperlyConfigured(f"Setting {name}: {problem}")


_BOOLS = {
    "true": True,
    "1": True,
    "yes": True,
    "on": True,
    "false": False,
    "0": False,
    "no": False,
    "off": False,
    "": False,
}
_debug_raw = env.str("DEBUG", default="false").strip().lower()
if _debug_raw not in _BOOLS:
    _fail("DEBUG", "must be true or false")
DEBUG = _BOOLS[_debug_raw]

TESTING = "pytest" in sys.modules or env.bool("TESTING", default=False)
DEV_DEFAULTS = DEBUG or TESTING
# Tests may move the market day for every process (opsadmin.clock.shared_set); never in
# production.
CLOCK_OVERRIDABLE = TESTING and env.bool("CLOCK_OVERRIDABLE", default=True)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEV_DEFAULTS:
        _fail("SECRET_KEY", "is required when DEBUG is false")
    SECRET_KEY = "dev-only-not-secret-" + "x" * 40  # noqa: S105 - dev and tests only
elif len(SECRET_KEY) < 50 and not DEV_DEFAULTS:
    _fail("SECRET_KEY", "must be at least 50 characters")

# Keys for encrypting sensitive fields at rest (Fernet, urlsafe base64, comma-separated,
# newest first: the first encrypts, all decrypt, so keys rotate). Deliberately not derived
# from SECRET_KEY.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])
if not FIELD_ENCRYPTION_KEYS:
    if not DEV_DEFAULTS:
        _fail("FIELD_ENCRYPTION_KEYS", "is required when DEBUG is false")
    FIELD_ENCRYPTION_KEYS = ["ZGV2LW9ubHktZmllbGQta2V5LW5vdC1mb3ItcHJvZC0="]

ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"] if DEV_DEFAULTS else []
)
if not ALLOWED_HOSTS:
    _fail("ALLOWED_HOSTS", "is required when DEBUG is false")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# --- databases ---------------------------------------------------------------------------
_database_url = env.str("DATABASE_URL", default="")
if not _database_url:
    if not DEV_DEFAULTS:
        _fail("DATABASE_URL", "is required when DEBUG is false")
    from opsadmin import embedded

    _database_url = embedded.postgres_url()
    # Every subprocess (a Celery worker, manage.py in a test) then reaches this same server
    # instead of starting or guessing one.
    os.environ["DATABASE_URL"] = _database_url
try:
    DATABASES = {"default": env.db_url_config(_database_url)}
except (ValueError, ImproperlyConfigured) as exc:
    _fail("DATABASE_URL", f"is malformed ({exc.__class__.__name__})")
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    _fail("DATABASE_URL", "must be a postgres:// URL (OpsAdmin runs on PostgreSQL only)")
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"].setdefault("TEST", {})["NAME"] = env.str(
    "TEST_DATABASE_NAME", default=f"test_{DATABASES['default']['NAME']}"
)

REDIS_URL = env.str("REDIS_URL", default="")
if not REDIS_URL:
    if not DEV_DEFAULTS:
        _fail("REDIS_URL", "is required when DEBUG is false")
    from opsadmin import embedded

    REDIS_URL = embedded.redis_url()
    os.environ["REDIS_URL"] = REDIS_URL
if not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
    _fail("REDIS_URL", "must be a redis:// URL")


def _celery_redis_url(url: str) -> str:
    """Celery's (kombu's) spelling of a redis-py URL: ``unix://`` is ``redis+socket://``."""
    if not url.startswith("unix://"):
        return url
    parts = urlsplit(url)
    db = parse_qs(parts.query).get("db", ["0"])[0]
    return f"redis+socket://{parts.netloc}{parts.path}?virtual_host={db}"


CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
}

# --- applications ------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    # Postgres index features (OpClass: pattern-ops indexes for Find an enrollment's prefix
    # searches)
    "django.contrib.postgres",
    "django_htmx",
    "template_partials",
    "django_tomselect",
    "csp",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "pgtrigger",
    "pghistory",
    "ninja",  # Enrollment API docs page: swagger-ui served from the package (no CDN)
    "opsadmin",
    "billing",
    "notices",
    "enrollments",
    "usage",
    "drops",
    "prospects",
    "renewals",
    "programs",
    "partners",
    "authorizations",
    "myaccount",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # 413 for bodies over MAX_REQUEST_BODY_BYTES (uploads included), before anything reads one
    "opsadmin.security.RequestSizeLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # language from the cookie the switch sets, else the browser's Accept-Language
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    # a customer's stored language wins on customer pages; staff screens stay English
    "myaccount.middleware.CustomerLanguageMiddleware",
    # audit trail: who changed what (the acting user and URL go with each history event)
    "pghistory.middleware.HistoryMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django_tomselect.middleware.TomSelectMiddleware",
    "opsadmin.middleware.IdleTimeoutMiddleware",
    # staff in OTP_REQUIRED_GROUPS verify a TOTP code (or enroll) before any staff page
    "opsadmin.otp.OTPRequiredMiddleware",
    # last, as django-axes asks: turns a locked-out login into its lockout response
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "opsadmin.auth_backends.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Lockout after repeated failures, per user AND IP together, with a cool-off.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.25)  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "opsadmin/locked_out.html"
AXES_VERBOSE = False
# Staff sessions end on idle (seconds without a request) as well as after a working day.
STAFF_IDLE_TIMEOUT = env.int("STAFF_IDLE_TIMEOUT", default=30 * 60)
# Staff groups that must pass TOTP two-factor after the password (add "Agent" to require it
# of agents too). The test suite's autouse fixture empties it unless a test is marked otp.
OTP_REQUIRED_GROUPS = env.list("OTP_REQUIRED_GROUPS", default=["Ops", "Admin"])
OTP_TOTP_ISSUER = "OpsAdmin"

ROOT_URLCONF = "opsadmin.urls"
WSGI_APPLICATION = "opsadmin.wsgi.application"
AUTH_USER_MODEL = "opsadmin.User"
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
MYACCOUNT_LOGIN_URL = "/myaccount/login/"

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
                "opsadmin.context_processors.shell",
            ],
            # |staff_date and |staff_datetime on every staff screen without a {% load %}
            "builtins": ["opsadmin.templatetags.staff_format"],
        },
    }
]

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
if TESTING:  # hashing cost is not what the tests measure
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- time: store UTC, market days are America/Chicago ------------------------------------
LANGUAGE_CODE = "en"
# Customers may ask for their documents and notices in Spanish (PUCT Subst. R. 25.473,
# non-English language requirements); staff screens stay English.
LANGUAGES = [("en", "English"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["opsadmin.formats"]
# Staff screens: one date and one date-time format everywhere (issue #23), times in market
# time with the zone shown (CST/CDT). Used by the |staff_date and |staff_datetime filters
# (opsadmin/templatetags/staff_format.py, a template builtin).
STAFF_DATE_FORMAT = "Y-m-d"
STAFF_DATETIME_FORMAT = "Y-m-d H:i T"
STAFF_MONTH_FORMAT = "Y-m"  # a month (usage and bill tables)
# Paths a customer sees (public and My Account); everything else is a staff screen and is
# always rendered in English whatever the browser asks for.
CUSTOMER_PATH_PREFIXES = (
    "/enrollments/signup/",
    "/myaccount/",
    "/usage-authorization/start/",
    "/usage-authorization/s/",
)
TIME_ZONE = "America/Chicago"
USE_I18N = True
USE_TZ = True

# --- static ------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / ".local" / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "myaccount.staticfiles.PlotlyFinder",  # plotly/plotly.min.js from the plotly package
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEV_DEFAULTS
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / ".local" / "media")
MEDIA_URL = "/media/"
WHITENOISE_USE_FINDERS = DEV_DEFAULTS
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
FORMS_URLFIELD_ASSUME_HTTPS = True

DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 2000
# Whole request bodies, file uploads included (opsadmin.security.RequestSizeLimitMiddleware).
MAX_REQUEST_BODY_BYTES = env.int("MAX_REQUEST_BODY_BYTES", default=25 * 1024 * 1024)

# --- email -------------------------------------------------------------------------------
EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.console.EmailBackend"
    if DEV_DEFAULTS
    else "django.core.mail.backends.smtp.EmailBackend",
)
# Where customers reach the site: links in emails sent by workers (no request to ask).
PUBLIC_BASE_URL = env.str("PUBLIC_BASE_URL", default="http://127.0.0.1:8000")
# the file backend (tests read what a worker sent) writes here
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=str(BASE_DIR / ".local" / "mail"))
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="OpsAdmin <no-reply@opsadmin.example>")

# --- security ----------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 60 * 60 * 10  # a working day
SESSION_COOKIE_SECURE = not DEV_DEFAULTS
CSRF_COOKIE_SECURE = not DEV_DEFAULTS
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEV_DEFAULTS)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = 0 if DEV_DEFAULTS else 31536000
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEV_DEFAULTS
SECURE_HSTS_PRELOAD = not DEV_DEFAULTS
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        # plotly.js sets inline styles on the SVG it draws
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}

# --- Celery ------------------------------------------------------------------------------
CELERY_BROKER_URL = _celery_redis_url(REDIS_URL)
CELERY_RESULT_BACKEND = CELERY_BROKER_URL
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "America/Chicago"
CELERY_TASK_SOFT_TIME_LIMIT = 120
CELERY_TASK_TIME_LIMIT = 180
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_RESULT_EXPIRES = 3600
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# One beat schedule for the whole product: each app's periodic work, with why it runs.
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    # A heartbeat so operators can see beat and a worker are alive (Configuration > Health).
    "core-heartbeat": {"task": "opsadmin.heartbeat", "schedule": 60.0},
    # Half-finished Quick Enrollments / signups are kept System Setup's abandoned-signup
    # hours (resume by emailed link), then deleted: they hold personal data.
    "enrollments-drafts-purge": {"task": "enrollments.drafts_purge", "schedule": 3600.0},
    # programs: send DERMS sync requests that are due (retries wait in the database).
    "programs-sync-sweep": {"task": "programs.sync_requests_sweep", "schedule": 30.0},
    # programs: read DERMS events and device reservations; email reserved customers.
    "programs-events-poll": {"task": "programs.events_poll", "schedule": 60.0},
    # Billing outbox: re-enqueue retries whose backoff ran out and rows whose task was lost
    # (worker killed, broker restarted); sends are idempotent, so a double enqueue is harmless.
    "billing-outbox-sweep": {"task": "billing.outbox_sweep", "schedule": 15.0},
    # Ask ESG about prospects not yet final: accepted ones get their billing account number,
    # completed switches / move-ins start service (contract dates), late rejections end it.
    "billing-prospect-status-poll": {"task": "billing.prospect_status_poll", "schedule": 60.0},
    # Follow acknowledged drops / move-outs until ESG reports them effective (final service).
    "billing-service-orders-poll": {"task": "billing.service_orders_poll", "schedule": 300.0},
    # enrollments: daily, contracts that reached their end without a renewal move to their
    # month-to-month plan (PUCT 25.475(e)), told to ESG as a plan change.
    "enrollments-contracts-roll-over": {
        "task": "enrollments.contracts_roll_over",
        "schedule": crontab(hour=5, minute=30),
    },
    # drops: release held drops whose retention hold ended (they go to billing through the
    # outbox) and follow released drops to acknowledged / failed.
    "drops-release-expired-holds": {"task": "drops.release_expired_holds", "schedule": 60.0},
    # renewals: daily at 06:00 Chicago, schedule contract expiration notices (PURA 39.112)
    # for contracts nearing their end and send the due ones (email now, letters to the queue).
    "renewals-daily": {
        "task": "renewals.daily",
        "schedule": crontab(hour=6, minute=0),
    },
    # usage: refresh every active ERCOT premise's SMT intervals once a day, after the TDSPs'
    # noon post of the previous day (RMGRR075); the task spreads the pulls out.
    "usage-smt-refresh-all": {
        "task": "usage.smt_refresh_all",
        "schedule": crontab(hour=13, minute=30),
    },
    # usage: projected-bill emails, after the daily SMT refresh has stored yesterday's
    # intervals; each opted-in customer is emailed at most once per billing cycle.
    "usage-bill-alerts-send": {
        "task": "usage.bill_alerts_send",
        "schedule": crontab(hour=15, minute=0),
    },
    # authorizations: ask SMT about pending data-sharing agreements whose check is due (the
    # shopper's status page also triggers checks while open), pulling history on approval.
    "authorizations-check-pending": {"task": "authorizations.check_pending", "schedule": 30.0},
    # authorizations: reminders while pending, time-outs, renewal prompts before an agreement
    # lapses, local expiry, and the daily usage refresh of approved agreements.
    "authorizations-maintain": {"task": "authorizations.maintain", "schedule": 3600.0},
    # Outboxes: daily, the attempt records of sent rows older than the retention go (rows
    # waiting or failed keep their whole history for the Outboxes screen).
    "outbox-attempts-prune": {
        "task": "opsadmin.outbox_attempts_prune",
        "schedule": crontab(hour=3, minute=15),
    },
}
# Days the attempt records of a sent outbox row are kept.
OUTBOX_ATTEMPT_RETENTION_DAYS = env.int("OUTBOX_ATTEMPT_RETENTION_DAYS", default=90)
# How long a worker's claim on an outbox row lasts before the sweeper may hand it to another
# worker: longer than the ESG client's worst-case call.
BILLING_SEND_LEASE_SECONDS = env.int("BILLING_SEND_LEASE_SECONDS", default=60)
# Rows one outbox task claims and sends, and the concurrent HTTP calls it makes (threads).
BILLING_SEND_BATCH = env.int("BILLING_SEND_BATCH", default=50)
BILLING_SEND_THREADS = env.int("BILLING_SEND_THREADS", default=8)
# programs: first retry of a DERMS sync after a transient error (then doubling, to an hour).
PROGRAMS_SYNC_BACKOFF_SECONDS = env.float("PROGRAMS_SYNC_BACKOFF_SECONDS", default=30.0)
# Read timeouts of the outside systems' clients (seconds between bytes of an answer): a body
# that trickles slower is a transient error, retried under the same idempotency key.
ESG_READ_TIMEOUT_SECONDS = env.float("ESG_READ_TIMEOUT_SECONDS", default=10.0)
DERMS_READ_TIMEOUT_SECONDS = env.float("DERMS_READ_TIMEOUT_SECONDS", default=10.0)
SMT_READ_TIMEOUT_SECONDS = env.float("SMT_READ_TIMEOUT_SECONDS", default=20.0)

# --- outside systems ---------------------------------------------------------------------
SIMULATORS_URL = env.str("SIMULATORS_URL", default="http://127.0.0.1:8100")
# Schemes and hosts staff may point SMT / ESG / DERMS at (no SSRF): comma-separated hosts.
OUTBOUND_ALLOWED_HOSTS = env.list(
    "OUTBOUND_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEV_DEFAULTS else []
)
OUTBOUND_ALLOWED_SCHEMES = env.list(
    "OUTBOUND_ALLOWED_SCHEMES", default=["https", "http"] if DEV_DEFAULTS else ["https"]
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"httpx": {"level": "WARNING"}},
}
