"""Where model artifacts live and which one is active.

The committed artifacts are in `voxloop_nlp/models/`. `VOXLOOP_MODEL_DIR` (or `load_models(path)`)
points the pipeline at another directory, e.g. one written by `voxloop retrain`.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from voxloop_nlp.sentiment_model import SentimentModel
from voxloop_nlp.topic_classifier import TopicClassifier
from voxloop_nlp.topic_model import ARTIFACT as TOPIC_MODEL
from voxloop_nlp.topic_model import TopicModel

if TYPE_CHECKING:  # imported where a model folder is loaded (`load_dir`), as before
    from voxloop_nlp.topic_classifier import TopicClassifier

EMOTION_MODEL = "emotion_model"

PACKAGE_MODEL_DIR = Path(__file__).resolve().parent / "models"


@dataclass
class ModelSet:
    directory: Path
    sentiment: SentimentModel
    topic_classifier: TopicClassifier | None  # learnt from corrections, when a retrained model ships one
    topic_model: TopicModel | None = None  # the trained topic model (default taxonomy)
    emotion_model: TopicModel | None = None  # the trained emotion model (same format), Chinese text

    @property
    def version(self) -> str:
        return self.sentiment.version


_lock = threading.Lock()
_active: ModelSet | None = None


def default_dir() -> Path:
    env = os.environ.get("VOXLOOP_MODEL_DIR")
    return Path(env) if env else PACKAGE_MODEL_DIR


def load_dir(path: str | os.PathLike[str]) -> ModelSet:
    directory = Path(path)
    if not (directory / "sentiment.json").exists():
        raise FileNotFoundError(f"No VoxLoop model in {directory} (sentiment.json is missing).")
    topics = TopicClassifier.load(directory) if (directory / "topics.json").exists() else None
    # A model folder written by `retrain` holds the sentiment model and corrections; the trained topic
    # model comes from it when it has one, else from the package (it needs the labelled sets to retrain).
    source = directory if (directory / f"{TOPIC_MODEL}.json").exists() else PACKAGE_MODEL_DIR
    topic_model = TopicModel.load(source) if (source / f"{TOPIC_MODEL}.json").exists() else None
    # The emotion model is the package's unless the folder has its own (retrain does not change it).
    em_source = directory if (directory / f"{EMOTION_MODEL}.json").exists() else PACKAGE_MODEL_DIR
    emotion_model = (
        TopicModel.load(em_source, EMOTION_MODEL) if (em_source / f"{EMOTION_MODEL}.json").exists() else None
    )
    return ModelSet(directory, SentimentModel.load(directory), topics, topic_model, emotion_model)


def active() -> ModelSet:
    global _active
    if _active is None:
        with _lock:
            if _active is None:
                _active = load_dir(default_dir())
    return _active


def activate(path: str | os.PathLike[str]) -> ModelSet:
    global _active
    models = load_dir(path)
    with _lock:
        _active = models
    return models


def set_active(models: ModelSet) -> ModelSet:
    """Make an in-memory model set active (an adapted one: `voxloop_nlp.adapt`)."""
    global _active
    with _lock:
        _active = models
    return models


def next_version() -> str:
    return "vx-sent-" + datetime.now(UTC).strftime("%Y%m%d-%H%M%S")


def write_metrics(directory: Path, version: str, metrics: dict[str, Any]) -> None:
    (directory / "metrics.json").write_text(
        json.dumps({"version": version, "test": metrics}, ensure_ascii=False, indent=2) + "\n", "utf-8"
    )
