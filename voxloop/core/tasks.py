from celery import shared_task
from django.core.cache import cache

from voxloop.core import partitions


@shared_task  # type: ignore[untyped-decorator]  # Celery ships no types
def ping_task(token: str) -> str:
    """Proves the worker is alive (used by health checks and tests)."""
    cache.set(f"voxloop:ping:{token}", "pong", 300)
    return token


@shared_task  # type: ignore[untyped-decorator]  # Celery ships no types
def ensure_partitions_task() -> list[str]:
    """Daily: the partitions of this month and the next ones exist before rows arrive (nothing on SQLite)."""
    return partitions.ensure_ahead()
