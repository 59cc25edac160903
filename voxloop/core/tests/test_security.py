"""Start-up and transport security: no serving with the public secret key outside the demo, HSTS behind the HTTPS
proxy, and bearer links (tracking, survey invitations) kept out of the logs."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from gunicorn.config import Config

from voxloop.core.logmask import AccessLogMasker, MaskTokensFilter, mask_tokens

ROOT = Path(__file__).resolve().parents[3]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "VOXLOOP_DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "voxloop.settings"}
    for name in ("SECRET_KEY", "SECRET_KEY_FILE", "DEBUG", "VOXLOOP_DEMO", "BEHIND_HTTPS_PROXY", "SECURE_COOKIES",
                 "SECURE_HSTS_SECONDS", "DATABASE_URL", "CELERY_BROKER_URL"):  # fmt: skip
        env.pop(name, None)
    return {**env, **extra}


def _python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- the secret key -------------------------------------------------------------------------------------------


def test_serve_refuses_to_start_without_a_secret_key(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "voxloop.cli", "serve", "--port", str(_free_port()), "--no-worker"],
        env=_env(tmp_path), cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode != 0
    assert "SECRET_KEY is not set" in out.stderr
    assert "VoxLoop is serving" not in out.stdout


@pytest.mark.slow
def test_the_wsgi_application_refuses_the_public_key_but_the_demo_and_debug_may_use_it(tmp_path):
    refused = _python("import voxloop.wsgi", _env(tmp_path))
    assert refused.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY is not set" in refused.stderr
    for extra in ({"VOXLOOP_DEMO": "1"}, {"DEBUG": "1"}, {"SECRET_KEY": "x" * 50}):
        assert _python("import voxloop.wsgi, voxloop.asgi", _env(tmp_path, **extra)).returncode == 0, extra


def test_a_secret_key_file_counts(tmp_path):
    key = tmp_path / "key"
    key.write_text("from-a-file-" + "k" * 40)
    assert _python("import voxloop.wsgi", _env(tmp_path, SECRET_KEY_FILE=str(key))).returncode == 0


def test_make_demo_runs_the_server_in_demo_mode():
    demo = (ROOT / "Makefile").read_text().split("\ndemo:", 1)[1].split("\n\n", 1)[0]
    assert "VOXLOOP_DEMO=1 $(BIN)/voxloop serve" in demo


# --- HSTS -----------------------------------------------------------------------------------------------------

SETTINGS_JSON = (
    "import json, voxloop.settings as s; print(json.dumps([s.SECURE_HSTS_SECONDS, s.SECURE_PROXY_SSL_HEADER, "
    "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_INCLUDE_SUBDOMAINS]))"
)


def test_hsts_is_on_behind_the_https_proxy_and_off_otherwise(tmp_path):
    behind = json.loads(_python(SETTINGS_JSON, _env(tmp_path, BEHIND_HTTPS_PROXY="1")).stdout)
    assert behind == [31_536_000, ["HTTP_X_FORWARDED_PROTO", "https"], True, True, False]
    plain = json.loads(_python(SETTINGS_JSON, _env(tmp_path)).stdout)
    assert plain == [0, None, False, False, False]
    tuned = _env(tmp_path, BEHIND_HTTPS_PROXY="1", SECURE_HSTS_SECONDS="600", SECURE_HSTS_INCLUDE_SUBDOMAINS="1")
    assert json.loads(_python(SETTINGS_JSON, tuned).stdout)[0::4] == [600, True]


@pytest.mark.django_db
def test_https_answers_carry_the_hsts_header(client, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_HSTS_SECONDS = 31_536_000
    response = client.get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
    # Plain HTTP (the proxy's health check, say) gets none: HSTS over HTTP means nothing to browsers.
    assert "Strict-Transport-Security" not in client.get("/accounts/login/").headers


# --- tokens in logs -------------------------------------------------------------------------------------------


def test_mask_tokens():
    assert mask_tokens("GET /t/AbC123-_x/?lang=en HTTP/1.1") == "GET /t/***/?lang=en HTTP/1.1"
    assert mask_tokens("POST /s/tok_9 HTTP/1.1") == "POST /s/*** HTTP/1.1"
    assert mask_tokens("https://fb.example.com/s/o/public1/ and /s/e/public2/") == (
        "https://fb.example.com/s/o/***/ and /s/e/***/"
    )
    assert mask_tokens("/s/oTok/") == "/s/***/"
    assert mask_tokens("GET /static/app.css /settings/webhooks/ /cases/12/") == (
        "GET /static/app.css /settings/webhooks/ /cases/12/"
    )


def test_the_gunicorn_access_log_masks_request_line_path_and_referrer():
    logger = AccessLogMasker(Config())
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": "/t/SecretTok/?lang=en",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "PATH_INFO": "/t/SecretTok/",
        "QUERY_STRING": "lang=en",
        "HTTP_REFERER": "https://fb.example.com/s/InviteTok/",
        "REMOTE_ADDR": "203.0.113.9",
    }
    resp = SimpleNamespace(status="200 OK", sent=10, headers=[])
    req = SimpleNamespace(headers=[("REFERER", "https://fb.example.com/s/InviteTok/")])
    atoms = logger.atoms(resp, req, environ, timedelta(seconds=0, microseconds=5))
    line = logger.cfg.access_log_format % atoms
    assert "SecretTok" not in line and "InviteTok" not in line
    assert '"GET /t/***/?lang=en HTTP/1.1" 200' in line
    assert "https://fb.example.com/s/***/" in line
    assert "SecretTok" not in atoms["U"] and "InviteTok" not in atoms["{referer}i"]


@pytest.mark.django_db
def test_djangos_not_found_line_for_an_expired_tracking_link_is_masked(client, caplog):
    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert client.get("/t/ExpiredTok42/").status_code == 404
    messages = [r.getMessage() for r in caplog.records if r.name == "django.request"]
    assert messages == ["Not Found: /t/***/"]


def test_the_filter_is_on_the_console_handler():
    root = logging.getLogger()
    assert any(isinstance(f, MaskTokensFilter) for h in root.handlers for f in h.filters)
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%s %s", ("opened", "/s/abc/"), None)
    MaskTokensFilter().filter(record)
    assert record.getMessage() == "opened /s/***/"
