import json
import subprocess
import sys

import pytest

from voxloop_nlp.cli import main

LINES = [
    {"id": 1, "text": "快递太慢了，非常失望"},
    {"id": "b", "text": "Great service, thank you!"},
]


def _write(path, rows):
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in rows) + "\n")


def test_analyze_file_to_file(tmp_path):
    src, dst = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    _write(src, LINES)
    assert main(["analyze", str(src), str(dst)]) == 0
    out = [json.loads(line) for line in dst.read_text().splitlines()]
    assert [o["id"] for o in out] == [1, "b"]
    assert out[0]["sentiment"]["label"] == "negative"
    assert {"language", "sentiment", "emotions", "topics", "kind", "urgency", "needs", "keywords"} <= set(out[0])


def test_bad_lines_are_reported_with_line_numbers_and_the_rest_goes_on(tmp_path, capsys):
    src, dst = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    _write(src, [LINES[0], "{not json", {"id": 3}, {"id": 4, "text": 42}, "[1, 2]", LINES[1]])
    assert main(["analyze", str(src), str(dst)]) == 1
    err = capsys.readouterr().err
    assert "line 2: not valid JSON" in err
    assert 'line 3: "text" is missing' in err
    assert 'line 4: "text" is an int, not a string' in err
    assert "line 5: expected a JSON object" in err
    assert [json.loads(x)["id"] for x in dst.read_text().splitlines()] == [1, "b"]


@pytest.mark.slow
def test_stdin_stdout_with_two_workers_keeps_order(tmp_path):
    rows = [{"id": i, "text": f"第{i}次买了，质量很好" if i % 2 else f"order {i} arrived broken"} for i in range(600)]
    payload = "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n"
    proc = subprocess.run(
        [sys.executable, "-m", "voxloop_nlp.cli", "analyze", "-", "-", "--workers", "2"],
        input=payload,
        capture_output=True,
        text=True,
        check=True,
    )
    out = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [o["id"] for o in out] == list(range(600))
    assert out[1]["sentiment"]["label"] == "positive"
    assert out[0]["sentiment"]["label"] == "negative"
    assert proc.stderr == ""


def test_missing_input_file_is_a_clear_error(tmp_path, capsys):
    assert main(["analyze", str(tmp_path / "nope.jsonl"), "-"]) == 2
    assert "input file not found" in capsys.readouterr().err


def test_workers_must_be_positive():
    with pytest.raises(SystemExit):
        main(["analyze", "-", "-", "--workers", "0"])


def test_both_lanes_by_default_and_the_fast_lane_alone_with_fast(tmp_path):
    src, both, fast = tmp_path / "in.jsonl", tmp_path / "both.jsonl", tmp_path / "fast.jsonl"
    _write(src, [*LINES, {"id": 3, "text": "服务非常好，非常满意，下次还来"}])
    assert main(["analyze", str(src), str(both)]) == 0
    assert main(["analyze", "--fast", str(src), str(fast)]) == 0
    refined = [json.loads(line) for line in both.read_text().splitlines()]
    alone = [json.loads(line) for line in fast.read_text().splitlines()]
    assert [r["sentiment"]["label"] for r in refined] == ["negative", "positive", "positive"]
    # Both lanes: the refine verdict, with what the fast lane said beside it; --fast: the fast lane's output only.
    for r, f in zip(refined, alone, strict=True):
        assert r["refine"]["fast_label"] == f["sentiment"]["label"]
        assert r["refine"]["model_version"]
        assert r["refine"]["changed"] == (r["sentiment"]["label"] != f["sentiment"]["label"])
        assert "refine" not in f
        assert {k: v for k, v in r.items() if k not in ("sentiment", "refine")} == {
            k: v for k, v in f.items() if k != "sentiment"
        }
