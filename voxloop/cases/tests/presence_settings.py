"""Settings of the separate web processes that test_presence.py starts: the test settings with the test's own
database and the cache production uses (the database cache, or Redis), both given in the environment."""

import json
import os

import dj_database_url

from voxloop.settings_test import *  # noqa: F403

DATABASES = {"default": dj_database_url.parse(os.environ["VOXLOOP_PRESENCE_DATABASE_URL"])}
CACHES = json.loads(os.environ["VOXLOOP_PRESENCE_CACHES"])
