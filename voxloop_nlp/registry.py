"""Component registry and pipeline assembly (after spaCy's `requires`/`assigns` analysis).

A component is a function FeedbackDoc -> FeedbackDoc registered under a name. A pipeline is built
from a list of names and refuses to build if a component needs an attribute no earlier one assigns.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from voxloop_nlp.components import load_builtin
from voxloop_nlp.doc import FeedbackDoc

ComponentFn = Callable[[FeedbackDoc], FeedbackDoc]
BatchFn = Callable[[list[FeedbackDoc]], None]


@dataclass(frozen=True)
class Component:
    name: str
    func: ComponentFn
    requires: tuple[str, ...]
    assigns: tuple[str, ...]
    batch: BatchFn | None = None  # optional vectorised form, used by analyze_batch


REGISTRY: dict[str, Component] = {}


class PipelineError(ValueError):
    pass


def component(
    name: str, *, requires: Sequence[str] = (), assigns: Sequence[str] = (), batch: BatchFn | None = None
) -> Callable[[ComponentFn], ComponentFn]:
    def register(func: ComponentFn) -> ComponentFn:
        REGISTRY[name] = Component(name, func, tuple(requires), tuple(assigns), batch)
        return func

    return register


class Pipeline:
    def __init__(self, names: Sequence[str]):
        load_builtin()

        available: set[str] = set()
        steps = []
        for name in names:
            if name not in REGISTRY:
                raise PipelineError(f"Unknown component '{name}'. Known: {', '.join(sorted(REGISTRY))}.")
            comp = REGISTRY[name]
            missing = [r for r in comp.requires if r not in available]
            if missing:
                raise PipelineError(
                    f"Component '{name}' requires {', '.join(missing)}, which no earlier component assigns."
                )
            available.update(comp.assigns)
            steps.append(comp)
        self.names = list(names)
        self.steps = steps

    def __call__(self, doc: FeedbackDoc) -> FeedbackDoc:
        for step in self.steps:
            doc = step.func(doc)
        return doc

    def run_batch(self, docs: list[FeedbackDoc]) -> list[FeedbackDoc]:
        for step in self.steps:
            if step.batch is not None:
                step.batch(docs)
            else:
                docs = [step.func(d) for d in docs]
        return docs
