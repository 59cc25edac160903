"""Test settings: eager Celery, a fast hasher, in-memory email, a private data folder."""

import os
import tempfile
from pathlib import Path

os.environ.setdefault("VOXLOOP_DATA_DIR", tempfile.mkdtemp(prefix="voxloop-test-"))
os.environ.setdefault("CELERY_BROKER_URL", "memory://")

from voxloop.settings import *  # noqa: E402,F403
from voxloop.settings import CACHES as _CACHES  # noqa: E402,F401

CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
# Tests that need analysis on ingest turn it on (settings fixture); the rest stay fast.
ANALYZE_ON_INGEST = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# The webhook tests post to a receiver on 127.0.0.1, explicitly allowed here; voxloop/webhooks/tests/test_targets.py
# turns it off to show that the default refuses such targets.
WEBHOOK_ALLOW_PRIVATE_TARGETS = True
AXES_ENABLED = os.environ.get("AXES_ENABLED", "0") == "1"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# PostgreSQL runs come from VOXLOOP_TEST_DATABASE_URL (see conftest.py and .ci/run).
_pg = os.environ.get("VOXLOOP_TEST_DATABASE_URL")
if _pg:
    import dj_database_url

    DATABASES = {"default": dj_database_url.parse(_pg)}

STATIC_ROOT = Path(os.environ["VOXLOOP_DATA_DIR"]) / "static"
os.makedirs(STATIC_ROOT, exist_ok=True)
