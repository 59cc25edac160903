"""VoxLoop: the customer feedback loop."""

from voxloop.celery import app as celery_app

__all__ = ["celery_app"]
