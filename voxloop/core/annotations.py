"""What the improvement actions app lends to the pages below it, without them naming it (layers.md, L2):

* annotations: actions implemented in a period, drawn on the trends and Pareto charts at their dates;
* "create action" links: a page that shows a cause (a Pareto bar, a driver, an alert, an emerging topic, a
  case's root cause) asks for a link that opens the action form with that scope filled in.

* responsibility: which department is responsible for which top-level topics (the topics of its improvement
  actions), so the insight pages can be cut by responsible department.

The actions app registers all three in its AppConfig.ready; with it absent the charts carry no marks, the pages
no links and the filter bar no department."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Annotation:
    day: date  # the intervention date
    label: str
    url: str
    topics: tuple[str, ...] = ()


AnnotationProvider = Callable[[date, date], list[Annotation]]
LinkBuilder = Callable[..., str]
_providers: list[AnnotationProvider] = []
_link_builders: list[LinkBuilder] = []
_feed_urls: list[Callable[[], str]] = []


def register_annotation_provider(provider: AnnotationProvider) -> AnnotationProvider:
    if provider not in _providers:
        _providers.append(provider)
    return provider


def register_create_action_link(builder: LinkBuilder) -> LinkBuilder:
    if builder not in _link_builders:
        _link_builders.append(builder)
    return builder


def register_annotations_feed(url: Callable[[], str]) -> Callable[[], str]:
    """A JSON feed of annotations (``?first=&last=``) that the browser reads after drawing a time chart: pages
    with a tight query budget mark their charts without a query of their own."""
    if url not in _feed_urls:
        _feed_urls.append(url)
    return url


def annotations_feed_url() -> str:
    return _feed_urls[0]() if _feed_urls else ""


def annotations_between(first: date, last: date) -> list[Annotation]:
    found: list[Annotation] = []
    for provider in _providers:
        found.extend(provider(first, last))
    return sorted(found, key=lambda a: (a.day, a.label))


def create_action_link(
    origin: str,
    *,
    title: str = "",
    topics: Iterable[str] = (),
    products: Iterable[str] = (),
    channels: Iterable[str] = (),
    segment: str = "",
    ref: str = "",
) -> str:
    """The URL of the action form prefilled with this scope, or "" when no app offers one."""
    for builder in _link_builders:
        return builder(origin=origin, title=title, topics=list(topics), products=list(products),
                       channels=list(channels), segment=segment, ref=ref)  # fmt: skip
    return ""


@dataclass(frozen=True)
class Responsibility:
    """A department and the top-level topic codes it is responsible for."""

    department_id: int
    label: str  # in the active language
    topics: frozenset[str]

    def covers(self, code: str) -> bool:
        """Whether a topic code (top-level or ``parent.child``) is one of this department's."""
        return code.split(".")[0] in self.topics


ResponsibilityProvider = Callable[[], list[Responsibility]]
_responsibility: list[ResponsibilityProvider] = []


def register_responsibility_provider(provider: ResponsibilityProvider) -> ResponsibilityProvider:
    if provider not in _responsibility:
        _responsibility.append(provider)
    return provider


def responsibilities() -> list[Responsibility]:
    """Every department responsible for at least one topic, by name; empty when no app says."""
    found: list[Responsibility] = []
    for provider in _responsibility:
        found.extend(provider())
    return found
