"""Client addresses behind a reverse proxy: X-Forwarded-For is believed only from TRUSTED_PROXIES, so a spoofed
header changes nothing, while clients behind the real proxy keep their own login throttling and rate limits."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.test import RequestFactory
from django.urls import reverse

from voxloop.accounts.audit import record_access
from voxloop.core.clientip import client_ip
from voxloop.feedback.models import Feedback
from voxloop.feedback.tests.fixtures import PASSWORD

PROXY = "10.0.0.2"


@pytest.fixture(autouse=True)
def _clear_rate_limits():
    cache.clear()


@pytest.fixture
def behind_proxy(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/24", "fd00::/8"]
    return settings


def _ip(remote: str, forwarded: str | None = None) -> str:
    headers: dict[str, Any] = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded is not None else {}
    return client_ip(RequestFactory().get("/", REMOTE_ADDR=remote, **headers))


def test_without_trusted_proxies_the_header_is_ignored(settings):
    settings.TRUSTED_PROXIES = []
    assert _ip("203.0.113.9", "1.2.3.4") == "203.0.113.9"
    assert _ip("10.0.0.2", "1.2.3.4") == "10.0.0.2"


def test_a_spoofed_header_from_an_untrusted_peer_is_ignored(behind_proxy):
    assert _ip("203.0.113.9", "1.2.3.4") == "203.0.113.9"
    assert _ip("203.0.113.9", "10.0.0.5") == "203.0.113.9"


def test_the_right_most_untrusted_address_is_the_client(behind_proxy):
    assert _ip(PROXY, "198.51.100.7") == "198.51.100.7"
    # The client wrote "1.2.3.4" itself; the proxy appended what it saw.
    assert _ip(PROXY, "1.2.3.4, 198.51.100.7") == "198.51.100.7"
    # Two trusted proxies in a row.
    assert _ip(PROXY, "1.2.3.4, 198.51.100.7, 10.0.0.9") == "198.51.100.7"
    assert _ip("fd00::2", "2001:db8::7") == "2001:db8::7"
    assert _ip(PROXY, "198.51.100.7:51234") == "198.51.100.7"
    assert _ip(PROXY, "[2001:db8::7]:443") == "2001:db8::7"
    # Nothing forwarded, or garbage: the last address a trusted proxy vouched for.
    assert _ip(PROXY) == PROXY
    assert _ip(PROXY, "unknown") == PROXY
    assert _ip(PROXY, "1.2.3.4, garbage, 10.0.0.9") == "10.0.0.9"
    assert _ip("::ffff:10.0.0.2", "198.51.100.7") == "198.51.100.7"


def _post_form(client, remote: str, forwarded: str, n: int) -> int:
    return client.post(
        reverse("webform:form"),
        {"text": f"第{n}条意见", "submission_id": f"s{n}"},
        REMOTE_ADDR=remote,
        HTTP_X_FORWARDED_FOR=forwarded,
    ).status_code


@pytest.mark.django_db
def test_the_form_rate_limit_separates_clients_behind_the_trusted_proxy(client, behind_proxy):
    behind_proxy.WEBFORM_RATE = "2/m"
    codes = [_post_form(client, PROXY, "198.51.100.1", n) for n in range(3)]
    assert codes == [200, 200, 429]
    # Another customer behind the same proxy is not limited by the first one's flood.
    assert _post_form(client, PROXY, "198.51.100.2", 10) == 200
    assert Feedback.objects.count() == 3


@pytest.mark.django_db
def test_the_form_rate_limit_cannot_be_escaped_with_a_spoofed_header(client, behind_proxy):
    behind_proxy.WEBFORM_RATE = "2/m"
    codes = [_post_form(client, "203.0.113.9", f"198.51.100.{n}", n) for n in range(4)]
    assert codes == [200, 200, 429, 429]


def _login(client, username: str, password: str, remote: str, forwarded: str):
    return client.post(
        reverse("login"),
        {"username": username, "password": password},
        REMOTE_ADDR=remote,
        HTTP_X_FORWARDED_FOR=forwarded,
    )


def test_login_throttling_locks_out_the_attacker_behind_the_proxy_not_everybody(client, behind_proxy, agent):
    behind_proxy.AXES_ENABLED = True
    behind_proxy.AXES_FAILURE_LIMIT = 3
    for _ in range(3):
        _login(client, agent.username, "wrong", PROXY, "198.51.100.66")
    assert _login(client, agent.username, PASSWORD, PROXY, "198.51.100.66").status_code == 429
    # The real user, behind the same proxy, still gets in.
    response = _login(client, agent.username, PASSWORD, PROXY, "198.51.100.10")
    assert response.status_code == 302


def test_login_throttling_ignores_a_spoofed_header(client, behind_proxy, agent):
    behind_proxy.AXES_ENABLED = True
    behind_proxy.AXES_FAILURE_LIMIT = 3
    for n in range(3):
        _login(client, agent.username, "wrong", "203.0.113.9", f"198.51.100.{n}")
    # A new forged address does not lift the lock on the attacker's real address.
    assert _login(client, agent.username, PASSWORD, "203.0.113.9", "198.51.100.99").status_code == 429


def test_the_audit_log_records_the_client_behind_the_proxy(behind_proxy, agent):
    request = RequestFactory().get("/x/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.7")
    entry = record_access(agent, agent, customer_id=None, request=request)
    assert entry is not None and entry.ip_address == "198.51.100.7"
    request = RequestFactory().get("/x/", REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="198.51.100.7")
    entry = record_access(agent, agent, customer_id=None, request=request)
    assert entry is not None and entry.ip_address == "203.0.113.9"
