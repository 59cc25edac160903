"""Settings of the worker processes that test_queue_flood.py starts: the test settings, a real Redis broker and
result backend (from the environment), the test's own database, and the test-only slow task below."""

import os

import dj_database_url

from voxloop.settings_test import *  # noqa: F403

CELERY_TASK_ALWAYS_EAGER = False
CELERY_IMPORTS = ["voxloop.cases.tests.flood_tasks"]
DATABASES = {"default": dj_database_url.parse(os.environ["VOXLOOP_FLOOD_DATABASE_URL"])}
