"""Start-up refusals: what must be true before VoxLoop serves anybody."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

INSECURE_KEY_MESSAGE = (
    "SECRET_KEY is not set: VoxLoop will not serve with the public development key, which would let anybody "
    "forge sessions and signed links. Set SECRET_KEY (or SECRET_KEY_FILE) to a long random value, e.g. "
    "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`. For a demo or development only: "
    "VOXLOOP_DEMO=1 (as `make demo` does) or DEBUG=1."
)


def insecure_secret_key() -> bool:
    """True when the server would run with the public default key outside the demo/debug mode."""
    return bool(getattr(settings, "SECRET_KEY_IS_DEFAULT", False)) and not (
        settings.DEBUG or getattr(settings, "DEMO_MODE", False)
    )


def refuse_insecure_start() -> None:
    """Called by `voxloop serve` and by the WSGI/ASGI entry points (gunicorn run by hand)."""
    if insecure_secret_key():
        raise ImproperlyConfigured(INSECURE_KEY_MESSAGE)
