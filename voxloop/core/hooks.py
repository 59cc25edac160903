"""A stage announces what it did; the next stage subscribes (docs/architecture/layers.md, decision L2).

The lower app owns the hook and calls ``announce``; the higher app calls ``register`` in its
``AppConfig.ready``. So the lower app never imports the higher one, and a stage whose subscriber is not
installed simply hands over to nobody. Handlers run in registration order, in the caller's thread; an
exception propagates to the announcer, as a direct call would.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Hook(Generic[T]):
    def __init__(self, name: str) -> None:
        self.name = name
        self._handlers: list[Callable[[T], None]] = []

    def register(self, handler: Callable[[T], None]) -> Callable[[T], None]:
        """Subscribe once (registering the same handler again is a no-op, so ``ready`` may run twice)."""
        if handler not in self._handlers:
            self._handlers.append(handler)
        return handler

    def unregister(self, handler: Callable[[T], None]) -> None:
        if handler in self._handlers:
            self._handlers.remove(handler)

    @property
    def handlers(self) -> tuple[Callable[[T], None], ...]:
        return tuple(self._handlers)

    def announce(self, value: T) -> None:
        for handler in list(self._handlers):
            handler(value)

    def __repr__(self) -> str:
        return f"<Hook {self.name}: {len(self._handlers)} handler(s)>"
