"""Fast-lane speed of two checkouts of the project, measured alternately in one session (one core each,
never at the same time), since the shared machine's load moves a lot between runs.

    .venv/bin/python benchmarks/speed_ab.py BASE_DIR [NEW_DIR] [--rounds 3] [--n 2000]

BASE_DIR / NEW_DIR hold a `voxloop_nlp` package (e.g. `git archive main voxloop_nlp | tar -x -C /tmp/base`);
NEW_DIR defaults to this checkout. Texts: the benchmark's speed sample (test-split texts of 10-200
characters from ../shared/datasets). Prints each run with the load average, and ends with
`RESULT pipeline_items_per_s_base=… pipeline_items_per_s_new=… ratio=… load_avg_1m=…` (medians).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

_RUN = """
import json, sys, time
from voxloop_nlp import analyze_batch
texts = json.load(open(sys.argv[1], encoding="utf-8"))
analyze_batch(texts[:50])
t0 = time.perf_counter()
n = sum(len(analyze_batch(texts[i : i + 256])) for i in range(0, len(texts), 256))
print(n / (time.perf_counter() - t0))
"""


def speed_texts(n: int, data: str | None) -> list[str]:
    import random

    from voxloop_nlp.training.data import load_all, split

    _train, test = split(load_all(data))
    texts = [e.text for e in test if 10 <= len(e.text) <= 200]
    return random.Random(11).sample(texts, min(n, len(texts)))


def run_once(tree: Path, path: Path) -> float:
    env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "-c", _RUN, str(path)], env=env, cwd=tree, capture_output=True, text=True, check=True
    )
    return float(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base")
    parser.add_argument("new", nargs="?", default=str(ROOT))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--data", default=None)
    args = parser.parse_args(argv)
    trees = {"base": Path(args.base).resolve(), "new": Path(args.new).resolve()}
    rates: dict[str, list[float]] = {"base": [], "new": []}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "texts.json"
        path.write_text(json.dumps(speed_texts(args.n, args.data), ensure_ascii=False), "utf-8")
        for r in range(args.rounds):
            for name in ("base", "new") if r % 2 == 0 else ("new", "base"):
                rate = run_once(trees[name], path)
                rates[name].append(rate)
                load = " ".join(f"{x:.2f}" for x in os.getloadavg())
                print(f"round {r + 1} {name:4} pipeline items/s {rate:7.0f}  load average {load}", flush=True)
    base, new = statistics.median(rates["base"]), statistics.median(rates["new"])
    print(
        f"RESULT pipeline_items_per_s_base={base:.0f} pipeline_items_per_s_new={new:.0f} ratio={new / base:.3f} "
        f"load_avg_1m={os.getloadavg()[0]:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
