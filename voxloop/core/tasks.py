from celery import shared_task
from django.core.cache import cache


@shared_task  # type: ignore[untyped-decorator]  # Celery ships no types
def ping_task(token: str) -> str:
    """Proves the worker is alive (used by health checks and tests)."""
    cache.set(f"voxloop:ping:{token}", "pong", 300)
    return token
