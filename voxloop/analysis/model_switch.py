"""Which trained model the product uses. `voxloop retrain` writes new models under the data folder and
points `models/ACTIVE` at the one it switched to; every process picks the switch up before its next batch."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from voxloop_nlp import models_store


def models_dir() -> Path:
    path = Path(settings.DATA_DIR) / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path


def pointer() -> Path:
    return models_dir() / "ACTIVE"


def active_model_dir() -> Path | None:
    try:
        text = pointer().read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    path = Path(text)
    return path if (path / "sentiment.json").exists() else None


def switch_to(directory: Path) -> None:
    models_store.activate(directory)
    tmp = pointer().with_suffix(".tmp")
    tmp.write_text(str(directory.resolve()), encoding="utf-8")
    tmp.replace(pointer())  # atomic: readers see the old or the new path, never half of one


def ensure_active_model() -> str:
    """Load the switched-to model if this process still runs another one; returns the version in use."""

    wanted = active_model_dir()
    current = models_store.active()
    if wanted is not None and current.directory.resolve() != wanted.resolve():
        current = models_store.activate(wanted)
    return current.version
