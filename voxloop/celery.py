"""The Celery application. Tasks live in each app's tasks.py and are thin wrappers over services."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voxloop.settings")

app = Celery("voxloop")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
