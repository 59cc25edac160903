"""A customer's own taxonomy learnt from examples: `voxloop topics learn EXAMPLES.jsonl MODEL_DIR`.

Each example is `{"text": ..., "topics": [code, ...]}` with the customer's own codes. The model is the
same kind as the shipped topic model (`topic_model.TopicModel`: one logistic regression per code over
hashed character and word n-grams), trained with balanced class weights so that 8 examples per class
are enough to start, and it improves with more. `voxloop analyze --topics MODEL_DIR` then gives those
codes, best first: always the best one, and any other whose probability reaches the threshold.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from voxloop_nlp.components.normalize import normalize_text
from voxloop_nlp.components.segment import tokenize
from voxloop_nlp.topic_model import TopicModel, fit

ARTIFACT = "custom_topics"
C = 10.0  # few examples: weak regularisation learns more from each
THRESHOLD = 0.5


class LearnError(ValueError):
    pass


def parse_examples(lines: Iterable[str], err: Any = None) -> tuple[list[tuple[str, list[str]]], int]:
    """(examples, number of bad lines); each bad line is reported on `err` as `line N: …; skipped`."""
    examples: list[tuple[str, list[str]]] = []
    bad = 0
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        problem = None
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            obj, problem = None, f"not valid JSON ({exc.msg} at column {exc.colno})"
        if problem is None and not isinstance(obj, dict):
            problem = 'expected a JSON object with "text" and "topics"'
        if problem is None:
            text, topics = obj.get("text"), obj.get("topics")
            if not isinstance(text, str) or not text.strip():
                problem = '"text" is missing or not a non-empty string'
            elif (
                not isinstance(topics, list) or not topics or not all(isinstance(t, str) and t.strip() for t in topics)
            ):
                problem = '"topics" must be a non-empty list of topic codes (strings)'
        if problem is not None:
            bad += 1
            if err is not None:
                err.write(f"line {lineno}: {problem}; skipped\n")
            continue
        examples.append((text, list(dict.fromkeys(t.strip() for t in topics))))
    return examples, bad


def learn(examples: Sequence[tuple[str, Sequence[str]]], out_dir: str | Path) -> TopicModel:
    counts = Counter(code for _, codes in examples for code in codes)
    if len(counts) < 2:
        raise LearnError(f"At least two topic codes are needed to learn a taxonomy; found {len(counts)}.")
    lowers = [normalize_text(t).lower() for t, _ in examples]
    model = fit(
        lowers, [tokenize(t) for t in lowers], [set(c) for _, c in examples], sorted(counts), C=C, balanced=True
    )
    model.threshold = THRESHOLD
    model.meta = {
        "kind": "custom_taxonomy",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "examples": len(examples),
        "examples_per_code": dict(sorted(counts.items())),
    }
    model.save(Path(out_dir), ARTIFACT)
    return model


def load(model_dir: str | Path) -> TopicModel:
    directory = Path(model_dir)
    if not (directory / f"{ARTIFACT}.json").exists():
        raise FileNotFoundError(
            f"No learnt taxonomy in {directory} ({ARTIFACT}.json is missing): run `voxloop topics learn`."
        )
    return TopicModel.load(directory, ARTIFACT)


def ranked_codes(model: TopicModel, probs: Any) -> list[tuple[int, float]]:
    """(code index, probability) best first: the best always, others at or above the threshold."""
    order = sorted(range(len(model.codes)), key=lambda j: -float(probs[j]))
    return [(j, float(probs[j])) for k, j in enumerate(order) if k == 0 or float(probs[j]) >= model.threshold]
