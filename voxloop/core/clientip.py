"""The client's IP address, for login throttling, the public rate limits and the audit log.

Behind a reverse proxy every request comes from the proxy's address, so ``REMOTE_ADDR`` alone would make all
clients one (one bad password locks everybody out; one busy office uses up a form's rate limit). But
``X-Forwarded-For`` is written by whoever sends the request, so it is believed only when the direct peer is one
of ``TRUSTED_PROXIES`` (CIDRs), and then read from the right: each trusted proxy appends the address it saw, so
the right-most address that is *not* a trusted proxy is the client; anything left of it may be forged.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@lru_cache(maxsize=8)
def _parse(value: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in value)


def trusted_proxies() -> tuple[IPNetwork, ...]:
    value = getattr(settings, "TRUSTED_PROXIES", ())
    items = value.split(",") if isinstance(value, str) else value
    return _parse(tuple(str(item).strip() for item in items if str(item).strip()))


def _address(value: str) -> IPAddress | None:
    value = value.strip().strip('"')
    if value.startswith("[") and "]" in value:  # "[2001:db8::1]:443"
        value = value[1 : value.index("]")]
    elif value.count(":") == 1:  # "203.0.113.7:51234"
        value = value.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _is_trusted(address: IPAddress, proxies: tuple[IPNetwork, ...]) -> bool:
    return any(address.version == network.version and address in network for network in proxies)


def client_ip(request: HttpRequest) -> str:
    """The client's address as a string ("" when the server was given none, e.g. over a Unix socket without a
    proxy in front). Used as django-axes' AXES_CLIENT_IP_CALLABLE and django-ratelimit's RATELIMIT_IP_META_KEY."""
    peer = _address(request.META.get("REMOTE_ADDR") or "")
    if peer is None:
        return ""
    proxies = trusted_proxies()
    if not proxies or not _is_trusted(peer, proxies):
        return str(peer)
    # Several X-Forwarded-For headers reach Django joined with commas, in order.
    forwarded = request.headers.get("X-Forwarded-For", "")
    client = peer
    for item in reversed([part for part in forwarded.split(",") if part.strip()]):
        address = _address(item)
        if address is None:
            break  # garbage: the last address a trusted proxy vouched for is the best we know
        client = address
        if not _is_trusted(address, proxies):
            break
    return str(client)
