"""VoxLoop settings: one env-driven module. Every setting is documented in docs/settings.md."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import dj_database_url
from celery.schedules import crontab
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def envstr(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def envbool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def envint(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def envsecret(name: str, default: str = "") -> str:
    """A secret from NAME, or from the file named by NAME_FILE (Docker/Kubernetes secrets)."""
    path = os.environ.get(f"{name}_FILE")
    if path:
        return Path(path).read_text(encoding="utf-8").strip()
    return os.environ.get(name, default)


# Where the embedded default keeps its database, uploads, broker queue and logs.
DATA_DIR = Path(envstr("VOXLOOP_DATA_DIR", str(BASE_DIR / "var"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = envbool("DEBUG", False)
# `make demo` sets it: the demo may run with the public development key below (nothing real to protect).
DEMO_MODE = envbool("VOXLOOP_DEMO", False)
INSECURE_DEFAULT_SECRET_KEY = "voxloop-insecure-dev-key-change-me-in-production"  # noqa: S105
SECRET_KEY = envsecret("SECRET_KEY") or INSECURE_DEFAULT_SECRET_KEY
# The web server refuses to start with the public key unless DEBUG or DEMO_MODE (voxloop.core.security).
SECRET_KEY_IS_DEFAULT = SECRET_KEY == INSECURE_DEFAULT_SECRET_KEY
ALLOWED_HOSTS = [h for h in envstr("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in envstr("CSRF_TRUSTED_ORIGINS", "").split(",") if o]
SITE_URL = envstr("SITE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "axes",
    "voxloop.core",
    "voxloop.accounts",
    "voxloop.feedback",
    "voxloop.channels",
    "voxloop.channels.fileimport",
    "voxloop.channels.email",
    "voxloop.channels.webform",
    "voxloop.analysis",
    "voxloop.cases",
    "voxloop.notify",
    "voxloop.automation",
    "voxloop.api",
    "voxloop.webhooks",
    "voxloop.surveys",
    "voxloop.metrics",
    "voxloop.insights",
    "voxloop.alerts",
    "voxloop.actions",
    "voxloop.reports",
    "voxloop.search",
    "voxloop.privacy",
    "voxloop.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Page times for `voxloop doctor` (voxloop.core.timing): outermost after static files, so it times the rest.
    "voxloop.core.timing.RequestTimingMiddleware",
    # Reporting pages read from the replica when one is configured (voxloop.core.dbrouter).
    "voxloop.core.dbrouter.ReplicaReadMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Who is acting, for the configuration audit (voxloop.accounts.config_audit).
    "voxloop.core.middleware.CurrentRequestMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "voxloop.core.middleware.ContentSecurityPolicyMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into a 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "voxloop.urls"
WSGI_APPLICATION = "voxloop.wsgi.application"
ASGI_APPLICATION = "voxloop.asgi.application"

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
                "voxloop.navigation.navigation",
            ],
        },
    },
]

# --- Database: SQLite (WAL) by default, anything dj-database-url understands via DATABASE_URL.
DATABASE_URL = envstr("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=envint("DB_CONN_MAX_AGE", 60))}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(DATA_DIR / "voxloop.sqlite3"),
            "OPTIONS": {
                # WAL lets readers (the inbox) work while an import writes; IMMEDIATE avoids
                # upgrade deadlocks between the web server and the embedded worker.
                "init_command": (
                    "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;"
                    "PRAGMA cache_size=-64000;PRAGMA temp_store=MEMORY;PRAGMA mmap_size=268435456;"
                ),
                "transaction_mode": "IMMEDIATE",
                "timeout": envint("SQLITE_BUSY_TIMEOUT_S", 30),
            },
        }
    }
# A streaming replica for the reporting pages' reads (voxloop.core.dbrouter; docs/operations.md, "Read replica"):
# metrics, insights, reports and exports read from it, everything else and every write use the primary, and a
# browser that has just written reads from the primary for REPLICA_PIN_SECONDS.
DATABASE_REPLICA_URL = envstr("DATABASE_REPLICA_URL")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = {
        **dj_database_url.parse(DATABASE_REPLICA_URL, conn_max_age=envint("DB_CONN_MAX_AGE", 60)),
        "TEST": {"MIRROR": "default"},
    }
# Behind a transaction-pooling PgBouncer (docs/operations.md, "PgBouncer") a client's consecutive transactions may
# run on different server connections, so nothing may outlive a transaction on the server: Django's server-side
# cursors (QuerySet.iterator() declares a WITH HOLD cursor) are turned off; Django's own queries bind client-side
# and the bulk paths never prepare statements (voxloop.feedback.bulk), so no other session state is used.
DB_TRANSACTION_POOLING = envbool("DB_TRANSACTION_POOLING", False)
if DB_TRANSACTION_POOLING:
    for _alias in DATABASES:
        DATABASES[_alias]["DISABLE_SERVER_SIDE_CURSORS"] = True
DATABASE_ROUTERS = ["voxloop.core.dbrouter.ReplicaRouter"]
REPLICA_PIN_SECONDS = envint("REPLICA_PIN_SECONDS", 15)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache: shared between processes (rate limits, login throttling). Redis when configured.
REDIS_URL = envstr("REDIS_URL")
# The database cache, past MAX_ENTRIES rows (Django's default: 300), deletes a third of all its entries in key
# order, live ones too: the case pages' "who else is here" entries (one per open case) went first.
DATABASE_CACHE: dict[str, Any] = {
    "BACKEND": "django.core.cache.backends.db.DatabaseCache",
    "LOCATION": "voxloop_cache",
    "OPTIONS": {"MAX_ENTRIES": envint("CACHE_MAX_ENTRIES", 10_000)},
}
CACHES: dict[str, dict[str, Any]]
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": DATABASE_CACHE}

# --- Auth
AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "feedback:inbox"
LOGOUT_REDIRECT_URL = "login"
AXES_FAILURE_LIMIT = envint("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = envint("LOGIN_COOLOFF_MINUTES", 15) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# Behind a reverse proxy: the proxies' addresses (CIDRs, comma-separated) whose X-Forwarded-For is believed.
# Login throttling, the public rate limits and the audit log all take the client's address from
# voxloop.core.clientip.client_ip (docs/security.md).
TRUSTED_PROXIES = [p.strip() for p in envstr("TRUSTED_PROXIES", "").split(",") if p.strip()]
AXES_CLIENT_IP_CALLABLE = "voxloop.core.clientip.client_ip"
RATELIMIT_IP_META_KEY = "voxloop.core.clientip.client_ip"

# --- Security
SESSION_COOKIE_HTTPONLY = True
BEHIND_HTTPS_PROXY = envbool("BEHIND_HTTPS_PROXY")
SESSION_COOKIE_SECURE = envbool("SECURE_COOKIES", BEHIND_HTTPS_PROXY)
CSRF_COOKIE_SECURE = envbool("SECURE_COOKIES", BEHIND_HTTPS_PROXY)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "SAMEORIGIN"
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_HTTPS_PROXY else None
# HSTS: a browser that once reached the site over HTTPS refuses plain HTTP for it for this long (sent on HTTPS
# answers only, by SecurityMiddleware). On by default behind the HTTPS proxy: a year.
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 31_536_000 if BEHIND_HTTPS_PROXY else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", False)
DATA_UPLOAD_MAX_MEMORY_SIZE = envint("MAX_REQUEST_MB", 20) * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
IMPORT_MAX_UPLOAD_MB = envint("IMPORT_MAX_UPLOAD_MB", 1024)

# --- i18n
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
USE_I18N = True
USE_TZ = True
TIME_ZONE = envstr("TIME_ZONE", "Asia/Shanghai")
LOCALE_PATHS = [BASE_DIR / "locale"]  # project-level strings (templates/); apps keep their own
# One date/time format per language (2026-12-07 12:11), not Django's "Dec. 7, 2026, 12:11 p.m." beside it.
FORMAT_MODULE_PATH = ["voxloop.formats"]

# --- Static and media: front-end libraries come from npm at setup, served by whitenoise.
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS: list[Path | tuple[str, Path]] = [
    BASE_DIR / "static",
    ("vendor/echarts", BASE_DIR / "node_modules" / "echarts" / "dist"),
    ("vendor/htmx", BASE_DIR / "node_modules" / "htmx.org" / "dist"),
]
STATICFILES_DIRS = [d for d in STATICFILES_DIRS if Path(d[1] if isinstance(d, tuple) else d).exists()]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
MEDIA_ROOT = Path(envstr("MEDIA_ROOT", str(DATA_DIR / "media")))
MEDIA_URL = "/media/"

# --- Email (replies to customers, notifications); console backend until SMTP is configured.
EMAIL_BACKEND = envstr("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = envstr("EMAIL_HOST", "localhost")
EMAIL_PORT = envint("EMAIL_PORT", 25)
EMAIL_HOST_USER = envstr("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = envsecret("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = envstr("DEFAULT_FROM_EMAIL", "voxloop@localhost")

# --- Celery: Redis/RabbitMQ in production; a filesystem queue (no server) in the embedded default.
CELERY_BROKER_URL = envstr("CELERY_BROKER_URL", "filesystem://")
EMBEDDED_BROKER = CELERY_BROKER_URL == "filesystem://"
_broker_dir = DATA_DIR / "broker"
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, Any] = (
    {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
    if EMBEDDED_BROKER
    else {}
)
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # A worker lost with its machine (SIGKILL, power) never acknowledges its task: Redis hands the task to another
    # worker once it has been taken for longer than the visibility timeout. Keep it above the longest task (a task
    # still running past it would be started a second time; every task is safe to repeat, but the work doubles).
    # A killed pool process is noticed at once by its worker, which puts the task back (reject on worker lost).
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": envint("BROKER_VISIBILITY_TIMEOUT", 3600),
        "unacked_restore_interval": envint("BROKER_RESTORE_INTERVAL", 10),
        # A scan for abandoned tasks every interval x throttle seconds (about once a minute) per worker.
        "unacked_restore_throttle": envint("BROKER_RESTORE_THROTTLE", 6),
    }
if EMBEDDED_BROKER:
    (_broker_dir / "queue").mkdir(parents=True, exist_ok=True)
    (_broker_dir / "processed").mkdir(parents=True, exist_ok=True)
CELERY_RESULT_BACKEND = envstr("CELERY_RESULT_BACKEND") or None
CELERY_TASK_ALWAYS_EAGER = envbool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_ACKS_LATE = True  # a worker killed mid-task leaves the task to be redelivered
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "poll-mailboxes": {
        "task": "voxloop.channels.email.tasks.poll_all_mailboxes_task",
        "schedule": float(envint("IMAP_POLL_SECONDS", 120)),
    },
    "analyze-pending-feedback": {
        "task": "voxloop.analysis.tasks.analyze_pending_task",
        "schedule": float(envint("ANALYZE_PENDING_SECONDS", 60)),
    },
    "resume-stalled-imports": {
        "task": "voxloop.channels.fileimport.tasks.resume_stalled_imports_task",
        "schedule": float(envint("IMPORT_RESUME_SECONDS", 300)),
    },
    "resume-stalled-mail-imports": {
        "task": "voxloop.channels.email.tasks.resume_stalled_mail_imports_task",
        "schedule": float(envint("IMPORT_RESUME_SECONDS", 300)),
    },
}

# --- Analysis: every stored item is analysed by a Celery task right after its commit.
ANALYZE_ON_INGEST = envbool("ANALYZE_ON_INGEST", True)
# The fast lane refits itself on this installation's own unlabelled feedback of the last ADAPT_DAYS days (at most
# ADAPT_MAX_ITEMS items) every ADAPT_EVERY_HOURS hours (0: never), kept only if not worse (voxloop_nlp.adapt).
ADAPT_EVERY_HOURS = envint("ADAPT_EVERY_HOURS", 24 * 7)
ADAPT_DAYS = envint("ADAPT_DAYS", 90)
ADAPT_MAX_ITEMS = envint("ADAPT_MAX_ITEMS", 20_000)
if ADAPT_EVERY_HOURS > 0:
    CELERY_BEAT_SCHEDULE["adapt-fast-lane"] = {
        "task": "voxloop.analysis.tasks.adapt_fast_lane_task",
        "schedule": float(ADAPT_EVERY_HOURS * 3600),
    }
# The refine lane (voxloop.analysis.refine, docs/analysis.md "The refine lane"): every REFINE_EVERY_SECONDS the refine
# queue's worker re-judges up to REFINE_BATCH unrefined items of the last REFINE_DAYS days, least certain first, with
# the slower e5-based model; REFINE_ENABLED=false turns it off (the fast lane's labels then stay as they are).
REFINE_ENABLED = envbool("REFINE_ENABLED", True)
REFINE_BATCH = envint("REFINE_BATCH", 200)
# The drain waits while more than this many items wait for the fast lane (an import, an ingest burst).
REFINE_YIELD_PENDING = envint("REFINE_YIELD_PENDING", 100)
REFINE_DAYS = envint("REFINE_DAYS", 30)
if REFINE_ENABLED:
    CELERY_BEAT_SCHEDULE["refine-drain"] = {
        "task": "voxloop.analysis.tasks.refine_drain_task",
        "schedule": float(envint("REFINE_EVERY_SECONDS", 60)),
    }
# Analysed feedback then goes through the automation rules (cases, routing, assignment).
AUTOMATION_ON_ANALYSIS = envbool("AUTOMATION_ON_ANALYSIS", True)
# Catch-up: every RULES_CATCH_UP_SECONDS, up to 500 items analysed over 2 minutes ago whose rules never ran to the
# end (the run died after the analysis committed, e.g. a database error) get their rules applied.
CELERY_BEAT_SCHEDULE["apply-pending-rules"] = {
    "task": "voxloop.automation.tasks.apply_pending_rules_task",
    "schedule": float(envint("RULES_CATCH_UP_SECONDS", 60)),
}

# --- Imports: items received more than this many days before their import are history (voxloop.feedback.history):
# analysed and counted, but they open no case and notify nobody. The importer can choose otherwise per import.
HISTORICAL_AFTER_DAYS = envint("HISTORICAL_AFTER_DAYS", 7)

# --- Product limits
API_BATCH_LIMIT = envint("API_BATCH_LIMIT", 1000)
# Requests per minute one API token may send (0: no limit); a runaway client cannot starve the others.
API_RATE_LIMIT_PER_MINUTE = envint("API_RATE_LIMIT_PER_MINUTE", 3000)
FEEDBACK_TEXT_MAX_CHARS = envint("FEEDBACK_TEXT_MAX_CHARS", 100_000)
WEBFORM_RATE = envstr("WEBFORM_RATE", "10/m")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Tracking and survey links are bearer tokens: masked in every line (voxloop.core.logmask).
    "filters": {"mask_tokens": {"()": "voxloop.core.logmask.MaskTokensFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["mask_tokens"]}},
    "root": {"handlers": ["console"], "level": envstr("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # WeasyPrint (the report PDFs) logs every step at INFO ("Step 2 - Fetching and parsing CSS"), three lines
        # at import on every start and some forty per report; its warnings (a missing glyph, a broken image) stay.
        # Here rather than in the renderer: it parses its stylesheets while being imported, before any code of ours.
        "weasyprint": {"level": "WARNING"},
        # The development server's request lines, through the masking handler instead of Django's own.
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}

# --- Surveys: answers are editable a short while; one invitation per customer per fatigue window.
SURVEY_EDIT_MINUTES = envint("SURVEY_EDIT_MINUTES", 30)
SURVEY_FATIGUE_DAYS = envint("SURVEY_FATIGUE_DAYS", 90)
SURVEY_INVITATION_DAYS = envint("SURVEY_INVITATION_DAYS", 30)
SURVEY_REMINDER_DAYS = envint("SURVEY_REMINDER_DAYS", 3)
SURVEY_RATE = envstr("SURVEY_RATE", "10/m")
CELERY_BEAT_SCHEDULE["survey-invitations"] = {
    "task": "voxloop.surveys.tasks.sweep_invitations_task",
    "schedule": float(envint("SURVEY_SWEEP_SECONDS", 300)),
}

# --- Cases: the agent inbox's "breaching soon" list holds cases due within this many hours (or warned).
CASES_BREACHING_SOON_HOURS = envint("CASES_BREACHING_SOON_HOURS", 4)

# --- Cases: the SLA sweep flips due warnings, breaches and escalations (idempotent, safe to run twice).
# Business calendars without holidays for this year or the next get them from the holidays library (daily; a
# year that has days is an admin's and stays as it is).
CELERY_BEAT_SCHEDULE["holidays-fill"] = {
    "task": "voxloop.cases.tasks.fill_holidays_task",
    "schedule": float(envint("HOLIDAYS_FILL_SECONDS", 24 * 3600)),
}
CELERY_BEAT_SCHEDULE["sla-sweep"] = {
    "task": "voxloop.cases.tasks.sla_sweep_task",
    "schedule": float(envint("SLA_SWEEP_SECONDS", 60)),
}
# PostgreSQL: the coming months' partitions of the case timeline and the audit log (voxloop.core.partitions).
CELERY_BEAT_SCHEDULE["partitions-ahead"] = {
    "task": "voxloop.core.tasks.ensure_partitions_task",
    "schedule": crontab(hour=1, minute=43),
}

# --- The customer loop: tracking links, notifications, follow-up, auto-close, repeat complaints.
# Checked (with clear messages) by voxloop.cases.followup.config() and a system check at start.
TRACKING_LINK_DAYS = envint("TRACKING_LINK_DAYS", 30)
TRACKING_RATE = envstr("TRACKING_RATE", "30/m")
FOLLOW_UP_DELAY_DAYS = envint("FOLLOW_UP_DELAY_DAYS", 3)
FOLLOW_UP_FATIGUE_DAYS = envint("FOLLOW_UP_FATIGUE_DAYS", 30)
AUTO_CLOSE_DAYS = envint("AUTO_CLOSE_DAYS", 7)
REPEAT_WINDOW_DAYS = envint("REPEAT_WINDOW_DAYS", 30)
# A customer's reply to a case closed less than this many days ago reopens it; later, it opens a linked
# follow-up case (0: always a follow-up).
CLOSED_CASE_REOPEN_DAYS = envint("CLOSED_CASE_REOPEN_DAYS", 7)
EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", 30)
NOTIFY_MAX_ATTEMPTS = envint("NOTIFY_MAX_ATTEMPTS", 6)
NOTIFY_RETRY_SECONDS = envint("NOTIFY_RETRY_SECONDS", 60)
CELERY_BEAT_SCHEDULE["follow-ups"] = {
    "task": "voxloop.cases.tasks.follow_up_sweep_task",
    "schedule": float(envint("FOLLOW_UP_SWEEP_SECONDS", 300)),
}
CELERY_BEAT_SCHEDULE["auto-close"] = {
    "task": "voxloop.cases.tasks.auto_close_task",
    "schedule": float(envint("AUTO_CLOSE_SWEEP_SECONDS", 300)),
}
# Catch-up for the notification outbox (normally kicked after each commit that writes case events).
CELERY_BEAT_SCHEDULE["case-events"] = {
    "task": "voxloop.cases.tasks.process_case_events_task",
    "schedule": float(envint("CASE_EVENTS_SECONDS", 60)),
}
CELERY_BEAT_SCHEDULE["outgoing-mail"] = {
    "task": "voxloop.notify.tasks.send_outgoing_messages_task",
    "schedule": float(envint("NOTIFY_SEND_SECONDS", 60)),
}

# --- Metrics: the KPI panel reads daily roll-ups; this task folds recent changes into them.
REPEAT_ALERT_THRESHOLD = float(envstr("REPEAT_ALERT_THRESHOLD", "0.15"))
CELERY_BEAT_SCHEDULE["metrics-refresh"] = {
    "task": "voxloop.metrics.tasks.refresh_rollups_task",
    "schedule": float(envint("METRICS_REFRESH_SECONDS", 60)),
}

# --- Early warning: anomaly detection over the daily roll-ups (voxloop.alerts); hourly, after the roll-ups refresh.
ALERTS_DETECT_SECONDS = envint("ALERTS_DETECT_SECONDS", 3600)
ALERTS_CLOSE_AFTER_DAYS = envint("ALERTS_CLOSE_AFTER_DAYS", 3)
CELERY_BEAT_SCHEDULE["alerts-detect"] = {
    "task": "voxloop.alerts.tasks.detect_alerts_task",
    "schedule": float(ALERTS_DETECT_SECONDS),
}
# --- Improvement actions (voxloop.actions): effects measured daily at 14/30/60/90 days; late actions reminded.
# Days past the due date after which the responsible department's manager is told as well.
ACTIONS_ESCALATE_AFTER_DAYS = envint("ACTIONS_ESCALATE_AFTER_DAYS", 3)
ACTIONS_MEASURE_HOUR = envint("ACTIONS_MEASURE_HOUR", 4)
CELERY_BEAT_SCHEDULE["actions-measure"] = {
    "task": "voxloop.actions.tasks.measure_effects_task",
    "schedule": crontab(hour=ACTIONS_MEASURE_HOUR, minute=41),
}
CELERY_BEAT_SCHEDULE["actions-overdue"] = {
    "task": "voxloop.actions.tasks.overdue_actions_task",
    "schedule": crontab(hour="*/6", minute=7),
}
# --- Service-quality reports (voxloop.reports, docs/reports.md): the scheduled reports of periods that have
# ended are written once a day at this hour (TIME_ZONE), after the task folds the latest changes into the roll-ups.
REPORTS_HOUR = envint("REPORTS_HOUR", 6)
CELERY_BEAT_SCHEDULE["reports-due"] = {
    "task": "voxloop.reports.tasks.generate_due_reports_task",
    "schedule": crontab(hour=REPORTS_HOUR, minute=23),
}
# --- Customer segments (voxloop.insights.segmentation): every customer placed again once a day.
CELERY_BEAT_SCHEDULE["customer-segments"] = {
    "task": "voxloop.insights.tasks.assign_segments_task",
    "schedule": 24 * 60 * 60.0,
}

# --- Webhooks: case events posted to administrators' endpoints after commit, retried with backoff + jitter.
WEBHOOK_MAX_ATTEMPTS = envint("WEBHOOK_MAX_ATTEMPTS", 6)
# Seconds between attempts, comma-separated; checked at start-up (voxloop.webhooks.services.check_settings).
WEBHOOK_RETRY_SCHEDULE = envstr("WEBHOOK_RETRY_SCHEDULE", "60,300,1800,7200,43200")
WEBHOOK_CONNECT_TIMEOUT = envint("WEBHOOK_CONNECT_TIMEOUT", 5)
WEBHOOK_READ_TIMEOUT = envint("WEBHOOK_READ_TIMEOUT", 5)
# Webhooks go to public addresses only (server-side request forgery, docs/security.md). Allow loopback and private
# ranges for receivers inside the organisation; name CIDRs to allow just those (link-local / metadata included).
WEBHOOK_ALLOW_PRIVATE_TARGETS = envbool("WEBHOOK_ALLOW_PRIVATE_TARGETS", False)
WEBHOOK_ALLOWED_NETWORKS = [n.strip() for n in envstr("WEBHOOK_ALLOWED_NETWORKS", "").split(",") if n.strip()]
CELERY_BEAT_SCHEDULE["webhook-deliveries"] = {
    "task": "voxloop.webhooks.tasks.deliver_webhooks_task",
    "schedule": float(envint("WEBHOOK_SEND_SECONDS", 30)),
}

# --- Privacy (voxloop.privacy): data-subject requests, retention policies, the consent ledger.
PRIVACY_REQUEST_DUE_DAYS = envint("PRIVACY_REQUEST_DUE_DAYS", 30)
# The nightly retention run starts at this hour (TIME_ZONE); the policies themselves are set on the privacy page.
PRIVACY_RETENTION_HOUR = envint("PRIVACY_RETENTION_HOUR", 3)
CELERY_BEAT_SCHEDULE["privacy-retention"] = {
    "task": "voxloop.privacy.tasks.apply_retention_task",
    "schedule": crontab(hour=PRIVACY_RETENTION_HOUR, minute=17),
}
