"""Self-training the fast lane on unlabelled text (`voxloop_nlp.adapt`, `voxloop analyze --adapt`): the new
domain's own words learn a polarity from the confident texts they appear in, and the not-worse guard refuses
an adaptation that would cost accuracy on the shipped evaluation sets."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from voxloop_nlp import adapt, models_store
from voxloop_nlp.cli import main
from voxloop_nlp.training.train_sentiment import score_texts

pytestmark = pytest.mark.slow
PRAISE = ["酸奶口感很好，孩子很喜欢", "牛奶新鲜，味道香浓，好喝", "包装完好，日期很新，满意", "奶味很足，口感顺滑，推荐",
          "价格实惠，味道不错，会回购", "送货快，牛奶很好喝"]  # fmt: skip
COMPLAINTS = ["牛奶有股怪味，喝了拉肚子", "包装破损，漏了好几盒，差评", "日期不新鲜，快过期了，失望",
              "味道太淡，像兑了水，难喝", "酸奶变质了，结块发酸，太差了", "客服不理人，退货也不给退"]  # fmt: skip
# Two made-up product names the shipped model has never seen: one only ever praised, one only blamed.
LIKED, DISLIKED = "嗷呜款", "咔哒款"


def domain_texts() -> list[str]:
    texts = []
    for i, (p, c) in enumerate(itertools.product(PRAISE, COMPLAINTS)):
        texts += [f"{LIKED}{p}，第{i}次买", f"{DISLIKED}{c}，第{i}次买"]
    return texts


@pytest.fixture(scope="module")
def report():
    return adapt.adapt(domain_texts(), base=models_store.active())


def test_pseudo_labels_are_confident_and_balanced():
    model = models_store.active().sentiment
    texts = domain_texts() + [f"{LIKED}真好，第{i}批" for i in range(40)]  # a flood of praise
    chosen, labels = adapt.pseudo_labels(model, texts + texts)  # duplicates count once
    assert len(set(chosen)) == len(chosen)
    assert int(labels.sum()) == int(len(labels) - labels.sum()) > 0  # as many of each
    scores = score_texts(model, chosen)
    assert np.all(np.abs(scores) >= adapt.CONFIDENT)
    assert np.all((scores > 0) == (labels == 1))


def test_the_domains_own_words_learn_their_polarity(report):
    assert report.adapted and not report.worse, report.summary()
    base = models_store.active().sentiment
    before = score_texts(base, [f"买了{LIKED}", f"买了{DISLIKED}"])
    after = score_texts(report.model, [f"买了{LIKED}", f"买了{DISLIKED}"])
    assert after[0] > before[0] + 0.1 and after[1] < before[1] - 0.1
    # the shipped evaluation sets were checked, set by set, and none lost more than half a point
    assert report.new_metrics.keys() == report.old_metrics.keys() and "online_shopping" in report.new_metrics
    assert report.model.meta["adapted_from"] == base.version and report.model.version != base.version


def test_an_adaptation_that_costs_accuracy_is_refused(monkeypatch):
    real = adapt.pseudo_labels

    def inverted(model, texts, **kw):
        chosen, labels = real(model, texts, **kw)
        return chosen, 1 - labels  # a teacher that is always wrong

    monkeypatch.setattr(adapt, "pseudo_labels", inverted)
    monkeypatch.setattr(adapt, "PSEUDO_WEIGHT", 50.0)
    result = adapt.adapt(
        domain_texts(), base=models_store.active(), corrections=[("牛奶新鲜，味道香浓，好喝", "positive")]
    )
    assert not result.adapted and result.reason == "worse" and result.worse
    assert "model kept" in result.summary()


def test_too_few_confident_texts_change_nothing():
    result = adapt.adapt(["还行", "一般般", "Great!"], base=models_store.active())
    assert not result.adapted and result.reason == "too_few"


def test_cli_adapt_analyses_with_the_adapted_model_and_says_so(tmp_path, capsys):
    src, dst, saved = tmp_path / "in.jsonl", tmp_path / "out.jsonl", tmp_path / "adapted"
    rows = [{"id": i, "text": t} for i, t in enumerate(domain_texts())] + [{"id": "x", "text": f"买了{LIKED}"}]
    src.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\nnot json\n", encoding="utf-8")
    shipped = models_store.active()
    # --fast: the refit is the fast lane's, and its own score is what must move (by default the refine lane then
    # re-judges and, for Chinese, averages its score in).
    assert main(["analyze", "--fast", "--adapt", "--save-adapted", str(saved), str(src), str(dst)]) == 1  # bad line
    err = capsys.readouterr().err
    assert "voxloop analyze --adapt:" in err and "adapted (" in err and "line 74: not valid JSON" in err
    out = {o["id"]: o for o in map(json.loads, dst.read_text(encoding="utf-8").splitlines())}
    assert len(out) == len(rows)
    assert out["x"]["model_version"].endswith("+adapted")
    base_score = score_texts(shipped.sentiment, [f"买了{LIKED}"])[0]
    assert out["x"]["sentiment"]["score"] > base_score
    # the shipped model is active again afterwards, and the adapted one can be loaded from where it was saved
    assert models_store.active() is shipped
    assert models_store.load_dir(saved).version.endswith("+adapted")


def test_save_adapted_needs_adapt(tmp_path):
    with pytest.raises(SystemExit):
        main(["analyze", "--save-adapted", str(tmp_path), "-", "-"])
