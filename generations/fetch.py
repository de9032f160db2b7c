"""Fetching provider image URLs safely, and knowing when they expire.

Image URLs come from third parties. They are fetched only over http(s), never
from loopback, private, link-local (cloud metadata) or otherwise reserved
addresses, and every redirect hop is checked the same way, unless the provider
is marked internal (a GPU worker on the private network) or
IMAGE_FETCH_ALLOW_PRIVATE=1 (development and tests).
"""

from __future__ import annotations

import functools
import ipaddress
import socket
import ssl
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx

MAX_REDIRECTS = 5
SHARED_SPACE = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT, not "private" to Python


class BlockedURL(Exception):
    pass


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The verifying TLS context every outgoing client shares: each new
    httpx.Client would otherwise load the CA bundle again (tens of ms of CPU,
    twice per image in a worker)."""
    return httpx.create_ssl_context()


def is_blocked_address(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved
            or ip.is_multicast or ip.is_unspecified or ip in SHARED_SPACE)


def check_url(url: str, *, allow_private: bool) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BlockedURL(f"Only http(s) image URLs are fetched, not {url[:80]!r}.")
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise httpx.ConnectError(f"cannot resolve {parts.hostname}") from exc
    if any(is_blocked_address(info[4][0]) for info in infos):
        raise BlockedURL(f"The image URL points at a private or reserved address "
                         f"({parts.hostname}); it was not fetched.")


def kept_client(key: tuple, make: Callable[[], httpx.Client]) -> httpx.Client:
    """This thread's open client for `key` (made by `make` the first time):
    calls reuse its connections instead of paying a new client (~1 ms of CPU)
    and a TCP/TLS handshake each. At most KEPT_CLIENTS_MAX per thread; past
    that (keys rotated in the admin) the old ones are closed."""
    clients = _kept.__dict__.setdefault("clients", {})
    if key not in clients:
        if len(clients) >= KEPT_CLIENTS_MAX:
            for old in clients.values():
                old.close()
            clients.clear()
        clients[key] = make()
    return clients[key]


def download_client() -> httpx.Client:
    """The client for provider images. open_stream still checks every URL
    before it is sent, and a kept connection only ever reached an address
    that passed."""
    return kept_client(("download",), lambda: httpx.Client(timeout=DOWNLOAD_TIMEOUT_S,
                                                          verify=tls_context()))


_kept = threading.local()
KEPT_CLIENTS_MAX = 8
DOWNLOAD_TIMEOUT_S = 60


def open_stream(client: httpx.Client, url: str, *, allow_private: bool) -> httpx.Response:
    """GET `url`, following redirects by hand so each hop is checked first.
    The caller closes the returned (streaming) response."""
    for _ in range(MAX_REDIRECTS + 1):
        check_url(url, allow_private=allow_private)
        response = client.send(client.build_request("GET", url), stream=True)
        if not response.is_redirect:
            return response
        response.close()
        url = urljoin(url, response.headers["Location"])
    raise BlockedURL(f"More than {MAX_REDIRECTS} redirects.")


def url_expiry(url: str, *, fallback: timedelta | None, now: datetime | None = None
               ) -> datetime | None:
    """When a signed URL stops working: OSS/DashScope `Expires=<unix time>`,
    S3 SigV4 `X-Amz-Date` + `X-Amz-Expires`; else now + the provider's
    documented lifetime."""
    now = now or datetime.now(UTC)
    query = {k.lower(): v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    try:
        if "expires" in query:
            return datetime.fromtimestamp(int(query["expires"]), UTC)
        if "x-amz-date" in query and "x-amz-expires" in query:
            signed = datetime.strptime(query["x-amz-date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
            return signed + timedelta(seconds=int(query["x-amz-expires"]))
    except (ValueError, OverflowError, OSError):
        pass  # an unparseable signature: trust the documented lifetime instead
    return now + fallback if fallback else None
