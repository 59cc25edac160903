"""Messages written now and read later, in the reader's language.

An import worker that quarantines a row does not know who will read the reason, nor in which language. So it
keeps the English template (marked for translation with `gettext_noop`) and its values, and each page translates
when it shows it. The English text is kept too, for the API, logs and rows stored before templates were kept.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext

StoredMessage = dict[str, Any]  # {"template": "...", "params": {...}}: JSON, stored next to the English text


def stored(template: str, params: dict[str, Any] | None = None) -> StoredMessage:
    return {"template": template, "params": {k: _plain(v) for k, v in (params or {}).items()}}


def english(template: str, params: dict[str, Any] | None = None) -> str:
    return template % params if params else template


def render(message: StoredMessage | None, fallback: str = "") -> str:
    """The message in the active language; `fallback` (the stored English) when there is no template."""
    template = (message or {}).get("template")
    if not template:
        return fallback
    params = (message or {}).get("params") or {}
    try:
        return english(gettext(template), params)
    except (KeyError, ValueError, TypeError):  # a translation or a stored row that lost a value must not break a page
        return fallback or template


def _plain(value: Any) -> Any:
    return value if isinstance(value, str | int | float | bool) or value is None else str(value)


class LocalizedError(ValueError):
    """An error with a stable `code`, an English `message`, and what it takes to show it in another language."""

    def __init__(self, code: str, template: str, **params: Any):
        self.code = code
        self.template = template
        self.params = {k: _plain(v) for k, v in params.items()}
        self.message = english(template, self.params)
        super().__init__(self.message)

    def __reduce__(self) -> tuple[Any, ...]:  # keyword values survive pickling (a reader process hands errors over)
        return _rebuild, (type(self), self.code, self.template, self.params, self.__dict__)

    @property
    def stored(self) -> StoredMessage:
        return {"template": self.template, "params": self.params}

    def localized(self) -> str:
        return render(self.stored, self.message)


def _rebuild(
    cls: type[LocalizedError], code: str, template: str, params: dict[str, Any], state: dict[str, Any]
) -> LocalizedError:
    error = cls.__new__(cls)
    LocalizedError.__init__(error, code, template, **params)
    error.__dict__.update(state)
    return error
