"""GridCare settings: one module, every value read from the environment through helpers that fail loudly."""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from gridcare.core.env import (
    env_bool,
    env_choice,
    env_database,
    env_int,
    env_list,
    env_str,
    env_timezone,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("GRIDCARE_VAR_DIR", str(BASE_DIR / "var")))
try:
    # The SQLite database, uploads and the analytics store live here: a new path must simply work (SQLite
    # otherwise fails with a bare "unable to open database file").
    VAR_DIR.mkdir(parents=True, exist_ok=True)
except OSError as exc:
    raise ImproperlyConfigured(f"GRIDCARE_VAR_DIR={VAR_DIR} cannot be created: {exc.strerror}") from None

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off, e.g. "
            "export SECRET_KEY=\"$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))')\""
        )
    SECRET_KEY = "gridcare-insecure-development-key-only-for-debug"  # noqa: S105 - only when DEBUG is on

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "ninja",  # so /api/v1/docs serves Swagger UI from ninja's own static files, without inline script (CSP)
    "gridcare.core",
    "gridcare.org",
    "gridcare.grid",
    "gridcare.customers",
    "gridcare.repair",
    "gridcare.gps",
    "gridcare.ami",
    "gridcare.workorders",
    "gridcare.notices",
    "gridcare.tags",
    "gridcare.dsm",
    "gridcare.demo",
]

MIDDLEWARE = [
    "gridcare.core.csp.ContentSecurityPolicyMiddleware",  # first: every response, static files included
    # Next: every later middleware's and view's log lines carry the request id; the latency it measures is the
    # whole request (static files included, counted under one route so they cannot swamp the labels).
    "gridcare.core.observability.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "gridcare.org.middleware.SecureCookiesMiddleware",  # outside the session/CSRF middleware: sees their cookies
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "gridcare.urls"
WSGI_APPLICATION = "gridcare.wsgi.application"
ASGI_APPLICATION = "gridcare.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "gridcare.core.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {"default": env_database("DATABASE_URL", f"sqlite:///{VAR_DIR / 'gridcare.sqlite3'}")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "org.User"
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

# Checked wherever a password is set: org.services.user_create / user_set_password, the admin's forms,
# `gridcare createsuperuser` (also with --noinput) and the demo's published password.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Chinese first, English available; times are stored in UTC and shown in the utility's zone.
LANGUAGE_CODE = env_str("LANGUAGE_CODE", "zh-hans")
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
if LANGUAGE_CODE not in dict(LANGUAGES):
    raise ImproperlyConfigured(f"LANGUAGE_CODE={LANGUAGE_CODE!r} is not offered; use zh-hans or en.")
LOCALE_PATHS = [BASE_DIR / "gridcare" / "locale"]
TIME_ZONE = env_timezone("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Leaflet comes from its PyPI package (xstatic-leaflet), served under /static/leaflet/; nothing is copied here.
STATICFILES_DIRS: list[tuple[str, str]] = []
try:
    import xstatic.pkg.leaflet as _leaflet

    STATICFILES_DIRS.append(("leaflet", _leaflet.BASE_DIR))
except ImportError:  # pragma: no cover - a declared dependency
    pass
# Map tiles: empty means none (offline); vehicles, orders and feeders are drawn without them.
GRIDCARE_MAP_TILES = env_str("GRIDCARE_MAP_TILES", "")
GRIDCARE_MAP_CENTER = [float(x) for x in env_list("GRIDCARE_MAP_CENTER", ["30.27", "120.15"])[:2]]
# Browser protections on every response (see docs/security.md). The Content-Security-Policy allows scripts from
# this site's own files only (no inline script, no eval) and images from the map tile host above.
from gridcare.core.csp import build_policy  # noqa: E402 - needs GRIDCARE_MAP_TILES, read just above

GRIDCARE_CSP = build_policy(map_tiles=GRIDCARE_MAP_TILES)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"  # order numbers and account numbers in URLs stay on this site
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

WHITENOISE_USE_FINDERS = True  # serve straight from the installed packages; no collectstatic for a first run

SESSION_COOKIE_HTTPONLY = True
# Cookies are Secure on every HTTPS request anyway (org.middleware.SecureCookiesMiddleware); this forces it always.
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# A login lasts one shift, not for ever (Django's default is two weeks).
SESSION_COOKIE_AGE = env_int("GRIDCARE_SESSION_HOURS", 12, minimum=1) * 3600

# Where interval data, payments and other analytics snapshots live (Parquet, read by DuckDB).
ANALYTICS_DIR = Path(env_str("GRIDCARE_ANALYTICS_DIR", str(VAR_DIR / "analytics")))

# Roles that may see customers' phone numbers unmasked; everyone else sees 138****5678.
GRIDCARE_PHONE_VISIBLE_ROLES = env_list(
    "GRIDCARE_PHONE_VISIBLE_ROLES", ["agent", "shift_lead", "dispatcher", "crew", "quality", "admin"]
)
# How long a server process trusts a bearer token it has checked (see org.services.token_authenticate).
GRIDCARE_TOKEN_CACHE_SECONDS = env_int("GRIDCARE_TOKEN_CACHE_SECONDS", 15, minimum=0)
# A repair call's end (A) may lie at most this long before its order; older is a data error, not a late order.
GRIDCARE_REPAIR_MAX_CALL_AGE_MINUTES = env_int("GRIDCARE_REPAIR_MAX_CALL_AGE_MINUTES", 120, minimum=1)
# How often a process asks whether the network below the feeder changed (grid.topology): a switching operation
# made in another process is seen by outage prediction within this long. 0: on every event.
GRIDCARE_TOPOLOGY_RECHECK_MS = env_int("GRIDCARE_TOPOLOGY_RECHECK_MS", 1000, minimum=0)
# Storm mode (暴雨模式, docs/storm-mode.md): on when this many repair calls arrive within 10 minutes; off again when
# every 10 minutes of the last half hour had fewer than the _OFF count (below the first, so it does not flap).
GRIDCARE_STORM_CALLS_PER_10MIN = env_int("GRIDCARE_STORM_CALLS_PER_10MIN", 60, minimum=1)
GRIDCARE_STORM_CALLS_PER_10MIN_OFF = env_int(
    "GRIDCARE_STORM_CALLS_PER_10MIN_OFF", GRIDCARE_STORM_CALLS_PER_10MIN // 2, minimum=0
)
# A vehicle's GPS fix older than this does not place it for ranking: it is ranked from its home position.
GRIDCARE_GPS_STALE_MINUTES = env_int("GRIDCARE_GPS_STALE_MINUTES", 30, minimum=1)
# How outage prediction asks meters whether they have power: "simulated" (answers from the stored meter events) or
# the dotted path of a class with ping(meter_nos, now); checked at start (gridcare.E004, docs/meter-events.md).
GRIDCARE_AMI_PINGER = env_str("GRIDCARE_AMI_PINGER", "simulated").strip()
GRIDCARE_API_PAGE_MAX = env_int("GRIDCARE_API_PAGE_MAX", 500, minimum=1)

# Logs: plain lines for a terminal, or one JSON object per line for a log collector; both carry the request id
# (X-Request-ID, set by gridcare.core.observability.RequestIdMiddleware; "-" outside a request).
GRIDCARE_LOG_FORMAT = env_choice("GRIDCARE_LOG_FORMAT", "plain", {"plain", "json"})
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "gridcare.core.observability.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"},
        "json": {"()": "gridcare.core.observability.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": GRIDCARE_LOG_FORMAT, "filters": ["request_id"]}
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # py4j (Spark) logs at interpreter exit, after the handlers' streams are closed: keep it quiet.
    "loggers": {"django.db.backends": {"level": "WARNING"}, "py4j": {"level": "WARNING"}},
}

# Prometheus metrics at /metrics, for a scraper sending `Authorization: Bearer <token>`. Unset: /metrics answers
# 404 as if it did not exist (closed by default: the figures show load and volumes of a utility's service).
GRIDCARE_METRICS_TOKEN = env_str("GRIDCARE_METRICS_TOKEN", "")

# --- Accounts: login throttling, cookies, portal links (issue #12) -------------------------------------------------
# Failed passwords are counted in the database (org.LoginThrottle), so every server process sees the same counts.
AUTHENTICATION_BACKENDS = ["gridcare.org.auth.ThrottledModelBackend"]
GRIDCARE_LOGIN_USER_FAILURES = env_int("GRIDCARE_LOGIN_USER_FAILURES", 5, minimum=1)
GRIDCARE_LOGIN_ADDRESS_FAILURES = env_int("GRIDCARE_LOGIN_ADDRESS_FAILURES", 20, minimum=1)
GRIDCARE_LOGIN_WINDOW_MINUTES = env_int("GRIDCARE_LOGIN_WINDOW_MINUTES", 15, minimum=1)
GRIDCARE_LOGIN_LOCK_MINUTES = env_int("GRIDCARE_LOGIN_LOCK_MINUTES", 15, minimum=1)
# How many reverse proxies in front of GridCare append to X-Forwarded-For; 0 trusts only the peer address
# (a client could otherwise pick a fresh "address" for every guess).
GRIDCARE_PROXY_COUNT = env_int("GRIDCARE_PROXY_COUNT", 0, minimum=0)
if GRIDCARE_PROXY_COUNT:
    # The trusted proxy terminates TLS and must set (not pass on) X-Forwarded-Proto; then HTTPS requests are
    # recognised as such and get Secure cookies.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Customer-portal links (notices.views.portal_url) stop working this many days after they were made.
GRIDCARE_PORTAL_LINK_DAYS = env_int("GRIDCARE_PORTAL_LINK_DAYS", 30, minimum=1)
# ZIP-based uploads and imports (xlsx) are measured before they are inflated (gridcare.core.archives).
GRIDCARE_ARCHIVE_MAX_MB = env_int("GRIDCARE_ARCHIVE_MAX_MB", 100, minimum=1)
GRIDCARE_ARCHIVE_MAX_MEMBERS = env_int("GRIDCARE_ARCHIVE_MAX_MEMBERS", 1000, minimum=1)
GRIDCARE_ARCHIVE_MAX_RATIO = env_int("GRIDCARE_ARCHIVE_MAX_RATIO", 250, minimum=2)
# `gridcare serve`: a client that sends nothing for this long while its request is being read is disconnected
# (gridcare.core.serving reads the same variable in the gunicorn workers; it is checked here at start-up).
GRIDCARE_READ_TIMEOUT_SECONDS = env_int("GRIDCARE_READ_TIMEOUT_SECONDS", 10, minimum=1)
