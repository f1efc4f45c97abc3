"""Settings for the help desk, read from the environment (and a `.env` file beside manage.py).

Every variable is listed with a comment in `.env.example`. In production (DJANGO_DEBUG false) a
missing required variable stops the process with a message naming it, never with a traceback.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
TESTING = "pytest" in sys.modules or env.bool("HELPDESK_TESTING", default=False)


def required(name: str, dev_default: str) -> str:
    """A variable production must set; development falls back to a harmless default."""
    value = env.str(name, default="")
    if value:
        return value
    if DEBUG or TESTING:
        return dev_default
    raise ImproperlyConfigured(
        f"{name} is not set. Production (DJANGO_DEBUG=false) needs it: see .env.example."
    )


SECRET_KEY = required("DJANGO_SECRET_KEY", "dev-only-insecure-key-change-me")
# Fernet keys for secrets stored in the database (IMAP passwords, messaging app secrets):
# comma-separated, the first encrypts, all decrypt (rotation: put the new key first, then run
# `manage.py rotate_secrets`). Unset, a key is derived from SECRET_KEY: set your own in production.
HELPDESK_SECRET_KEYS = env.list("HELPDESK_SECRET_KEYS", default=[])
HELPDESK_BASE_DOMAIN = env.str("HELPDESK_BASE_DOMAIN", default="localhost").lower()
# How links in emails reach a tenant: <scheme>://<slug>.<base domain>[:<port>].
HELPDESK_PUBLIC_SCHEME = env.str("HELPDESK_PUBLIC_SCHEME", default="http" if DEBUG else "https")
HELPDESK_PUBLIC_PORT = env.str("HELPDESK_PUBLIC_PORT", default="8000" if DEBUG else "")
# Hosts are checked by the tenant middleware (a tenant subdomain, a registered custom domain or
# the bare base domain; anything else is a 404), so Django's own list can stay open.
ALLOWED_HOSTS = ["*"]

INSTALLED_APPS = [
    # Project apps first so their management commands (migrate) override Django's.
    "helpdesk.tenancy",
    "helpdesk.accounts",
    "helpdesk.lib",
    "tickets",
    "sla",
    "knowledge",
    "surveys",
    "channels_in",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.postgres",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "helpdesk.tenancy.middleware.TenantMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "helpdesk.tenancy.middleware.TenantAccessMiddleware",
    "helpdesk.tenancy.middleware.TenantLocaleMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "helpdesk.urls"
PUBLIC_URLCONF = "helpdesk.urls_public"
WSGI_APPLICATION = "helpdesk.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "helpdesk.tenancy.context_processors.tenancy",
            ],
        },
    },
]

# --- Database ------------------------------------------------------------------------------
# Two connections to one database:
#   default  the runtime role (DATABASE_URL): owns nothing, cannot bypass row-level security,
#            and carries the current tenant into Postgres (app.tenant_id) before every query.
#   owner    the owning role (DATABASE_OWNER_URL): runs migrations and the few explicit
#            cross-tenant jobs (`all_tenants()`), never used for a request's own reads.
_runtime_db = env.db_url_config(
    required("DATABASE_URL", "postgres://helpdesk_app@127.0.0.1:5432/helpdesk")
)
_runtime_db["ENGINE"] = "helpdesk.tenancy.backend"
_runtime_db["ATOMIC_REQUESTS"] = True
_runtime_db["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0 if TESTING else 60)
_runtime_db["CONN_HEALTH_CHECKS"] = True
_owner_db = env.db_url("DATABASE_OWNER_URL", default=env.str("DATABASE_URL", default="")) or dict(
    _runtime_db
)
_owner_db["ENGINE"] = "django.db.backends.postgresql"
_owner_db["TEST"] = {"DEPENDENCIES": []}
DATABASES = {"default": _runtime_db, "owner": _owner_db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = required("REDIS_URL", "redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env.str(
            "HELPDESK_CACHE_PREFIX", default=f"test-{os.getpid()}" if TESTING else "hd"
        ),
        "TIMEOUT": 300,
    }
}
# In Postgres, not the cache: cached_db would turn a Redis outage into errors on every page.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
# Plain inputs and textareas rendered in Python (helpdesk/lib/widgets.py).
FORM_RENDERER = "helpdesk.lib.widgets.FastFormRenderer"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = not DEBUG and env.bool("HELPDESK_HTTPS", default=True)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_AGE = 60 * 60 * 24 * 14
# No SESSION_COOKIE_DOMAIN: cookies stay on the host that set them, so a session made on one
# tenant's host is never sent to another's (and the middleware also checks the binding).

# --- Auth ----------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["helpdesk.accounts.backends.TenantMemberBackend"]
LOGIN_URL = "accounts:login"
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# --- i18n ----------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files ----------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG or TESTING
WHITENOISE_AUTOREFRESH = DEBUG or TESTING
MEDIA_ROOT = env.path("HELPDESK_MEDIA_ROOT", default=BASE_DIR / ".data" / "media")


# --- Mail ----------------------------------------------------------------------------------
# EMAIL_URL (smtp://user:pass@host:587/?tls=True, consolemail://, filemail:///path) becomes
# Django 6.1's MAILERS["default"].
def _mailer(url_config: dict) -> dict:
    backend = url_config["EMAIL_BACKEND"]
    options: dict = {}
    if backend.endswith("smtp.EmailBackend"):
        options = {
            "host": url_config["EMAIL_HOST"],
            "port": url_config["EMAIL_PORT"] or 25,
            "username": url_config["EMAIL_HOST_USER"] or "",
            "password": url_config["EMAIL_HOST_PASSWORD"] or "",
            "use_tls": bool(url_config.get("EMAIL_USE_TLS")),
            "use_ssl": bool(url_config.get("EMAIL_USE_SSL")),
            "timeout": 20,
        }
    elif backend.endswith("filebased.EmailBackend"):
        options = {"file_path": url_config["EMAIL_FILE_PATH"]}
    return {"BACKEND": backend, "OPTIONS": options}


MAILERS = {"default": _mailer(env.email_url_config(env.str("EMAIL_URL", default="consolemail://")))}
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Helpdesk <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Celery --------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Tests get a queue of their own per process, so a running `make run` worker never takes them.
CELERY_TASK_DEFAULT_QUEUE = env.str(
    "CELERY_TASK_DEFAULT_QUEUE", default=f"test-{os.getpid()}" if TESTING else "helpdesk"
)
# Longer than any countdown we use, so Redis never re-delivers a task that is merely waiting.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 60 * 60 * 6}
CELERY_TASK_ALWAYS_EAGER = False
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    "sweep-outbox": {"task": "tickets.tasks.sweep_outbox", "schedule": 60.0},
    "sweep-automation": {"task": "tickets.tasks.sweep_automation", "schedule": 60.0},
    "sync-wechat-kf": {
        "task": "channels_in.messaging.wechat_kf_sync.sync_all_wechat_kf",
        "schedule": 300.0,
    },
    "poll-imap-mailboxes": {"task": "channels_in.tasks.poll_all_mailboxes", "schedule": 60.0},
    "sweep-inbound-mail": {"task": "channels_in.tasks.sweep_inbound", "schedule": 60.0},
    "retrain-classifiers": {"task": "tickets.tasks.retrain_classifiers", "schedule": 3600.0},
    "sweep-dispatches": {"task": "tickets.tasks.sweep_dispatches", "schedule": 60.0},
    "sweep-idle-triggers": {"task": "tickets.tasks.sweep_idle_triggers", "schedule": 300.0},
}
CELERY_BEAT_SCHEDULE["sweep-sla"] = {"task": "sla.tasks.sweep_sla", "schedule": 60.0}
CELERY_BEAT_SCHEDULE["resend-lost-sla-marks"] = {
    "task": "sla.tasks.resend_lost_sla_marks",
    "schedule": 300.0,
}
CELERY_BEAT_SCHEDULE["sweep-alert-chains"] = {
    "task": "sla.tasks.sweep_alert_chains",
    "schedule": 60.0,
}
# Knowledge base: review reminders for stale articles, search-log retention (daily).
CELERY_BEAT_SCHEDULE["kb-remind-stale"] = {
    "task": "knowledge.tasks.remind_stale_articles",
    "schedule": 86_400.0,
}
CELERY_BEAT_SCHEDULE["kb-purge-search-logs"] = {
    "task": "knowledge.tasks.purge_search_logs",
    "schedule": 86_400.0,
}
CELERY_TIMEZONE = "UTC"
# Tests move SLA time forward across processes (helpdesk.lib.clock); never in production.
HELPDESK_CLOCK_CONTROL = TESTING

# --- Security headers ----------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_FAILURE_VIEW = "helpdesk.lib.errors.csrf_failure"
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https")
    if env.bool("HELPDESK_BEHIND_PROXY", default=False)
    else None
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("HELPDESK_LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

HELPDESK_RESERVED_SLUGS = frozenset(
    {"www", "admin", "api", "app", "mail", "static", "media", "support", "help", "status"}
)

# Email uniqueness is case-insensitive (a UniqueConstraint on Lower(email)), which auth.W004
# cannot see.
SILENCED_SYSTEM_CHECKS = ["auth.W004"]
