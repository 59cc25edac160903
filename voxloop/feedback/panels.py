"""Panels that higher apps add to the customer page and the feedback item page.

Feedback sits below cases and surveys, so it never names them: each registers a panel provider here in its
``AppConfig.ready`` (DESIGN §8: a stage announces, the next subscribes), and the pages render whatever
panels the installed apps provide, in their ``order``. A context provider adds variables to the feedback
item page itself (analysis: its facts, topics and correction form, which the page lays out around the text)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from voxloop.accounts.models import User
from voxloop.feedback.models import Customer, Feedback


@dataclass(frozen=True)
class Panel:
    order: int  # lower first
    template: str  # rendered with ``panel`` (this object) in its context
    context: dict[str, Any] = field(default_factory=dict)


CustomerPanelProvider = Callable[[Customer, User, dict[str, Any]], "Panel | None"]
FeedbackPanelProvider = Callable[[Feedback, User], "Panel | None"]
FeedbackContextProvider = Callable[[Feedback, User], dict[str, Any]]

_customer_providers: dict[str, CustomerPanelProvider] = {}
_feedback_providers: dict[str, FeedbackPanelProvider] = {}
_feedback_context: dict[str, FeedbackContextProvider] = {}


def register_customer_panel(name: str, provider: CustomerPanelProvider) -> None:
    """Register (or replace, by name: ``ready`` may run twice in tests) a panel of the customer's pages."""
    _customer_providers[name] = provider


def register_feedback_panel(name: str, provider: FeedbackPanelProvider) -> None:
    _feedback_providers[name] = provider


def register_feedback_context(name: str, provider: FeedbackContextProvider) -> None:
    _feedback_context[name] = provider


def customer_panels(customer: Customer, user: User, **hints: Any) -> list[Panel]:
    """The panels about one customer for this user. ``hints`` tell a provider where it is shown, e.g.
    ``current_case_id`` on a case page."""
    panels = [p for p in (provider(customer, user, hints) for provider in _customer_providers.values()) if p]
    return sorted(panels, key=lambda p: p.order)


def feedback_panels(item: Feedback, user: User) -> list[Panel]:
    panels = [p for p in (provider(item, user) for provider in _feedback_providers.values()) if p]
    return sorted(panels, key=lambda p: p.order)


def feedback_page_context(item: Feedback, user: User) -> dict[str, Any]:
    """The variables the installed apps add to the feedback item page."""
    context: dict[str, Any] = {}
    for provider in _feedback_context.values():
        context.update(provider(item, user))
    return context
