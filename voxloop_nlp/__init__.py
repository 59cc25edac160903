"""VoxLoop's analysis engine: pure Python, offline, batch-first; never imports Django.

>>> import voxloop_nlp
>>> voxloop_nlp.analyze("快递三天还没到，客服也不回复，非常失望").to_dict()["sentiment"]["label"]
'negative'
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from voxloop_nlp.doc import Analysis, FeedbackDoc

if TYPE_CHECKING:
    from voxloop_nlp.registry import Pipeline
    from voxloop_nlp.taxonomy import Taxonomy
    from voxloop_nlp.topic_model import TopicModel

__all__ = [
    "DEFAULT_PIPELINE", "Analysis", "FeedbackDoc", "analyze", "analyze_batch", "load_models", "MODEL_VERSION",
    "rejudge_batch",
]  # fmt: skip

DEFAULT_PIPELINE = (
    "normalize", "language", "segment", "sentiment", "emotions", "topics",
    "needs", "kind", "urgency", "keywords", "pii",
)  # fmt: skip
MAX_TEXT_CHARS = 20_000  # longer input is analysed on its first 20k characters (the original is kept by callers)

_pipeline: Pipeline | None = None


def _get_pipeline() -> Pipeline:
    global _pipeline
    if _pipeline is None:
        # imported here: `import voxloop_nlp` stays light; the components load on first use
        from voxloop_nlp.registry import Pipeline

        _pipeline = Pipeline(DEFAULT_PIPELINE)
    return _pipeline


def load_models(path: str | os.PathLike[str]) -> str:
    """Switch this process to the models in `path`; returns the new model version."""
    # imported here: models_store loads numpy and scipy; `import voxloop_nlp` stays light
    from voxloop_nlp import models_store

    return models_store.activate(path).version


def __getattr__(name: str) -> Any:
    # MODEL_VERSION follows the active models (VOXLOOP_MODEL_DIR / load_models), loaded lazily.
    if name == "MODEL_VERSION":
        # imported here: models_store loads numpy and scipy; `import voxloop_nlp` stays light
        from voxloop_nlp import models_store

        return models_store.active().version
    raise AttributeError(name)


def analyze_batch(
    texts: Sequence[str], *, taxonomy: Taxonomy | None = None, topic_model: TopicModel | None = None
) -> list[Analysis]:
    """Analyse texts. `topic_model`: a customer's own taxonomy learnt with `voxloop_nlp.learn` (its codes
    replace the default taxonomy's topics)."""
    # imported here: models_store loads numpy and scipy; `import voxloop_nlp` stays light
    from voxloop_nlp import models_store

    version = models_store.active().version
    docs = []
    for text in texts:
        if not isinstance(text, str):
            raise TypeError(f"analyze_batch expects strings, got {type(text).__name__}.")
        doc = FeedbackDoc(text=text[:MAX_TEXT_CHARS])
        if taxonomy is not None:
            doc.extras["taxonomy"] = taxonomy
        if topic_model is not None:
            doc.extras["custom_topics"] = topic_model
        docs.append(doc)
    docs = _get_pipeline().run_batch(docs)
    return [Analysis.from_doc(d, version) for d in docs]


def analyze(text: str, *, taxonomy: Taxonomy | None = None, topic_model: TopicModel | None = None) -> Analysis:
    return analyze_batch([text], taxonomy=taxonomy, topic_model=topic_model)[0]


# The steps that `kind` and `urgency` read, up to and after the sentiment step (`rejudge_batch`).
_REJUDGE_PIPELINE = ("normalize", "language", "segment", "sentiment", "emotions", "needs", "kind", "urgency")
_rejudge_pipeline: Pipeline | None = None


def rejudge_batch(texts: Sequence[str], sentiments: Sequence[tuple[str, float]]) -> list[tuple[str, str, list[str]]]:
    """(kind, urgency level, urgency reasons) of each text as the pipeline judges them when its sentiment step
    says the given (label, score): a second opinion on the sentiment (the refine lane's) substituted for the
    pipeline's own. The steps before the sentiment run as usual (`kind` reads the text's core and its needs),
    the emotions, needs, kind and urgency after it; topics, keywords and masking are not run."""
    from voxloop_nlp.registry import Pipeline  # as in _get_pipeline: importing the package stays light

    global _rejudge_pipeline
    if len(texts) != len(sentiments):
        raise ValueError("rejudge_batch needs one (label, score) per text.")
    if _rejudge_pipeline is None:
        _rejudge_pipeline = Pipeline(_REJUDGE_PIPELINE)
    docs = [FeedbackDoc(text=text[:MAX_TEXT_CHARS]) for text in texts]
    for step in _rejudge_pipeline.steps:
        if step.name == "emotions":
            for doc, (label, score) in zip(docs, sentiments, strict=True):
                if label != doc.sentiment_label:
                    # Why the pipeline called the text neutral ("mixed") no longer applies to another label.
                    doc.extras.pop("neutral_because", None)
                doc.sentiment_label, doc.sentiment_score = label, round(float(score), 4)
        if step.batch is not None:
            step.batch(docs)
        else:
            docs = [step.func(d) for d in docs]
    return [(d.kind, d.urgency_level, list(d.urgency_reasons)) for d in docs]
