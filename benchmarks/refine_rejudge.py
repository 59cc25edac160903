"""The added cost of judging the kind and urgency again where the refine lane changes a label.

On test-split texts of 10-200 characters from ../shared/datasets (voxloop_nlp/training/data.py; from a worktree
set VOXLOOP_DATASETS): the fast lane (`analyze_batch`), the refine model's judgement (`refine.get_model().judge`,
with the fast scores), and `rejudge_batch` with the refine labels put in for the items whose label the refine model
changed, all on one process, in batches of 50 (the refine lane's chunk). Prints ms per item of each, the share of items changed and
the added cost per judged item (share × rejudge ms); how many changed items got another kind or urgency.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/refine_rejudge.py [--n 300]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from voxloop_nlp import analyze_batch, rejudge_batch  # noqa: E402
from voxloop_nlp.training.data import load_all, split  # noqa: E402

CHUNK = 50


def timed(fn, items: list) -> tuple[list, float]:
    out: list = []
    t0 = time.perf_counter()
    for i in range(0, len(items), CHUNK):
        out += fn(items[i : i + CHUNK])
    return out, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=300)
    args = parser.parse_args()
    from voxloop_nlp import refine

    _train, test = split(load_all())
    texts = sorted({e.text for e in test if 10 <= len(e.text) <= 200})
    texts = random.Random(7).sample(texts, min(args.n, len(texts)))
    analyze_batch(texts[:5])  # load the models before timing
    model = refine.get_model()
    model.judge(texts[:5], [0.0] * 5)
    rejudge_batch(texts[:2], [("neutral", 0.0)] * 2)

    fast, fast_s = timed(analyze_batch, texts)
    pairs = [(t, a.sentiment_score) for t, a in zip(texts, fast, strict=True)]
    judged, refine_s = timed(lambda chunk: model.judge([t for t, _ in chunk], [s for _, s in chunk]), pairs)
    moved = [i for i, (a, j) in enumerate(zip(fast, judged, strict=True)) if j.label != a.sentiment_label]
    again, rejudge_s = timed(
        lambda chunk: rejudge_batch([texts[i] for i in chunk], [(judged[i].label, judged[i].score) for i in chunk]),
        moved,
    )
    kind_moved = sum(1 for i, (k, _u, _r) in zip(moved, again, strict=True) if k != fast[i].kind)
    urgency_moved = sum(1 for i, (_k, u, _r) in zip(moved, again, strict=True) if u != fast[i].urgency_level)

    n = len(texts)
    fast_ms, refine_ms = 1000 * fast_s / n, 1000 * refine_s / n
    rejudge_ms = 1000 * rejudge_s / len(moved) if moved else 0.0
    share = len(moved) / n
    print(f"{n} texts of 10-200 chars, batches of {CHUNK}, one process")
    print(f"  fast lane (whole pipeline): {fast_ms:7.2f} ms/item")
    print(f"  refine model judge:         {refine_ms:7.2f} ms/item")
    print(f"  labels changed: {len(moved)} ({100 * share:.1f} %); kind changed on {kind_moved}, urgency on "
          f"{urgency_moved}")  # fmt: skip
    print(f"  rejudge (kind + urgency):   {rejudge_ms:7.2f} ms per changed item")
    print(f"  added per judged item:      {share * rejudge_ms:7.3f} ms ({100 * share * rejudge_ms / refine_ms:.2f} % "
          f"of the refine judgement)")  # fmt: skip
    print(
        f"RESULT n={n} fast_ms_per_item={fast_ms:.2f} refine_ms_per_item={refine_ms:.2f} "
        f"changed={len(moved)} changed_share={share:.3f} kind_changed={kind_moved} urgency_changed={urgency_moved} "
        f"rejudge_ms_per_changed_item={rejudge_ms:.2f} added_ms_per_judged_item={share * rejudge_ms:.3f}"
    )


if __name__ == "__main__":
    main()
