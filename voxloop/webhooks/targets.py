"""Which addresses a webhook may be posted to (server-side request forgery protection).

An administrator names the URL, but the request leaves from the VoxLoop server, inside the organisation's
network: without a check an endpoint could read the cloud metadata service (169.254.169.254), a database's
HTTP port on 127.0.0.1 or an internal admin page, and show its answer on the delivery page.

So only public (globally routable) addresses are allowed by default. ``WEBHOOK_ALLOW_PRIVATE_TARGETS`` allows
loopback and private ranges (for receivers on the organisation's own servers); link-local addresses, where the
cloud metadata services live, stay refused unless a network in ``WEBHOOK_ALLOWED_NETWORKS`` names them.

The check runs twice: when an endpoint is saved (a clear form error) and when a delivery connects — on the very
address the socket connects to, after DNS resolution, so a name that later resolves to 127.0.0.1 (DNS
rebinding) is refused too.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from typing import Any

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class BlockedTarget(Exception):  # noqa: N818 - reads as what happened: "blocked target"
    """The target resolves to an address webhooks may not reach. Not an OSError on purpose: urllib3 would wrap
    an OSError into a generic connection error and retry it; this one must reach the caller as it is."""

    def __init__(self, host: str, address: str) -> None:
        super().__init__(f"{host} resolves to {address}, a private or local address")
        self.host = host
        self.address = address


def allowed_networks() -> list[IPNetwork]:
    value: Any = getattr(settings, "WEBHOOK_ALLOWED_NETWORKS", [])
    items = value.split(",") if isinstance(value, str) else list(value)
    return [ipaddress.ip_network(str(item).strip(), strict=False) for item in items if str(item).strip()]


def _normalise(address: IPAddress) -> IPAddress:
    # ::ffff:127.0.0.1 reaches 127.0.0.1: judge the IPv4 address it carries.
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_allowed_address(value: str) -> bool:
    address = _normalise(ipaddress.ip_address(value.split("%", 1)[0]))  # drop an IPv6 zone ("fe80::1%eth0")
    if any(address in network for network in allowed_networks() if network.version == address.version):
        return True
    if address.is_global and not address.is_multicast:
        return True
    if getattr(settings, "WEBHOOK_ALLOW_PRIVATE_TARGETS", False):
        return not (address.is_link_local or address.is_multicast or address.is_unspecified)
    return False


def resolve(host: str, port: int) -> list[str]:
    """The addresses ``host`` stands for (itself when it is an address); raises socket.gaierror."""
    host = host.strip("[]")
    try:
        return [str(ipaddress.ip_address(host.split("%", 1)[0]))]
    except ValueError:
        pass
    infos = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def first_blocked(addresses: Iterable[str]) -> str | None:
    return next((a for a in addresses if not is_allowed_address(a)), None)


def check_host(host: str, port: int) -> None:
    """Raise BlockedTarget when ``host`` resolves to any address webhooks may not reach. A name that does not
    resolve now passes: it is checked again, on the address actually used, when a delivery connects."""
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError):
        return
    blocked = first_blocked(addresses)
    if blocked is not None:
        raise BlockedTarget(host, blocked)


# --- the connection-time guard ---------------------------------------------------------------------------------


class _GuardMixin:
    """Resolve, check every address, then connect to a checked address: what is checked is what is used. TLS
    still verifies the certificate against the host name (urllib3 wraps the socket with server_hostname)."""

    # Set by urllib3's HTTPConnection, the other base of every class that mixes this in.
    _dns_host: str
    port: int

    def _new_conn(self) -> socket.socket:
        host, port = self._dns_host, self.port
        addresses = resolve(host, port)
        blocked = first_blocked(addresses)
        if blocked is not None:
            raise BlockedTarget(host, blocked)
        last_error: OSError | None = None
        for address in addresses:
            self._dns_host = address  # connect to exactly this address; self.host (SNI, Host) is unchanged
            try:
                conn: socket.socket = super()._new_conn()  # type: ignore[misc]  # the urllib3 class mixed into
                return conn
            except OSError as exc:
                last_error = exc
            finally:
                self._dns_host = host
        raise last_error or OSError(f"no address for {host}")


class GuardedHTTPConnection(_GuardMixin, HTTPConnection):
    pass


class GuardedHTTPSConnection(_GuardMixin, HTTPSConnection):
    pass


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = GuardedHTTPSConnection


class GuardedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _GuardedHTTPPool, "https": _GuardedHTTPSPool}


def guarded_session() -> requests.Session:
    """A requests session that refuses blocked addresses at connect time. Proxy variables (HTTP_PROXY...) are
    ignored: through a proxy the check would see the proxy's address, not the receiver's."""
    session = requests.Session()
    session.trust_env = False
    adapter = GuardedAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
