"""The refine lane's combination with the fast lane: a fast-lane neutral stays neutral unless the refine lane is
sure (above τ) of a polar verdict."""

from __future__ import annotations

import numpy as np
import pytest

from voxloop_nlp import refine


def model_saying(p_neg: float, p_neu: float, p_pos: float, tau: float | None = 0.8) -> refine.RefineModel:
    # A real head whose probabilities are the same for every text (its weights are zero, its intercept the log).
    head = refine.Head(np.zeros((3, 384)), np.log(np.array([p_neg, p_neu, p_pos])))
    return refine.RefineModel(head, 0.2, "test", neutral_keep=tau)


def verdicts(model: refine.RefineModel, fast_labels: list[str] | None) -> list[refine.Judgement]:
    texts = ["The soup was fine."] * (len(fast_labels) if fast_labels else 1)
    P = model.score_embedded(np.zeros((len(texts), 384), dtype=np.float32), texts, None, fast_labels)
    return [refine.Judgement.from_proba(p) for p in P]


def test_a_fast_lane_neutral_stays_neutral_under_a_weak_polar_refine_probability():
    judged = verdicts(model_saying(0.1, 0.2, 0.7), ["neutral"])[0]
    assert judged.label == "neutral"
    assert judged.score > 0  # the refine lane's lean is kept in the score
    assert judged.margin < 0.01  # and the margin says how narrow it was


def test_a_fast_lane_neutral_turns_polar_when_the_refine_lane_is_surer_than_tau():
    assert verdicts(model_saying(0.05, 0.05, 0.9), ["neutral"])[0].label == "positive"
    assert verdicts(model_saying(0.85, 0.1, 0.05), ["neutral"])[0].label == "negative"


def test_a_polar_fast_lane_label_leaves_the_refine_lane_to_decide():
    model = model_saying(0.1, 0.2, 0.7)
    assert [j.label for j in verdicts(model, ["negative", "positive"])] == ["positive", "positive"]
    # The refine lane may say neutral over a polar fast-lane label when its own neutral probability wins.
    assert verdicts(model_saying(0.2, 0.6, 0.2), ["positive"])[0].label == "neutral"


def test_without_the_fast_lane_labels_or_tau_the_refine_lane_decides_alone():
    assert verdicts(model_saying(0.1, 0.2, 0.7), None)[0].label == "positive"
    assert verdicts(model_saying(0.1, 0.2, 0.7, tau=None), ["neutral"])[0].label == "positive"


def test_tau_survives_saving_and_loading(tmp_path):
    model_saying(0.1, 0.2, 0.7, tau=0.85).save(tmp_path)
    loaded = refine.RefineModel.load(tmp_path)
    assert loaded.neutral_keep == pytest.approx(0.85)
    assert "neutral_keep" not in loaded.meta
    P = loaded.score_embedded(np.zeros((1, 384), dtype=np.float32), ["ok"], None, ["neutral"])
    assert refine.LABELS[int(P.argmax())] == "neutral"


@pytest.mark.skipif(not refine.available(), reason="no shipped refine head")
def test_the_shipped_head_says_its_tau():
    model = refine.RefineModel.load()
    assert model.neutral_keep is None or 0.0 < model.neutral_keep <= 1.0
