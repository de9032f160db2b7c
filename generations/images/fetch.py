"""Fetching provider image URLs safely, and knowing when they expire.

Image URLs come from third parties. They are fetched only over http(s), never
from loopback, private, link-local (cloud metadata) or otherwise reserved
addresses, and every redirect hop is checked the same way, unless the provider
is marked internal (a GPU worker on the private network) or
IMAGE_FETCH_ALLOW_PRIVATE=1 (development and tests). Webhook deliveries use the
same guarded connections (`checked_client`).

The check happens where the connection is made (`CheckedBackend`): a host name
is resolved once, every address it gives is checked, and the connection goes
to one of those addresses. Checking first and letting the HTTP client resolve
the name again would let a DNS server answer a public address to the check and
a private one to the connect (DNS rebinding).
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

import httpcore
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
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
        or ip in SHARED_SPACE
    )


def check_url(url: str) -> None:
    """Only http(s) URLs with a host; the address is checked on connecting."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BlockedURL(f"Only http(s) image URLs are fetched, not {url[:80]!r}.")


def checked_addresses(host: str, port: int, blocked: Callable[[str], bool]) -> list[str]:
    """Every address `host` resolves to, once; BlockedURL if any is `blocked`
    (a name with one private address among public ones is refused as a whole)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise httpcore.ConnectError(f"cannot resolve {host}") from exc
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if any(blocked(address) for address in addresses):
        raise BlockedURL(f"The URL points at a private or reserved address ({host}); it was not fetched.")
    return addresses


class CheckedBackend(httpcore.NetworkBackend):
    """httpcore's sync network backend, connecting only to checked addresses
    (TLS still verifies the certificate against the host name)."""

    def __init__(self, blocked: Callable[[str], bool] | None = None):
        self._sync, self._blocked = httpcore.SyncBackend(), blocked

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        # Looked up per call, so a test can stand in for the address rules.
        blocked = self._blocked or is_blocked_address
        error = httpcore.ConnectError(f"no address for {host}")
        for address in checked_addresses(host, port, blocked):
            try:
                return self._sync.connect_tcp(address, port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:  # the next address, as create_connection would
                error = exc
        raise error

    def connect_unix_socket(self, *args, **kwargs):
        raise BlockedURL("Unix sockets are not fetched.")

    def sleep(self, seconds: float) -> None:
        self._sync.sleep(seconds)


def checked_client(
    *, timeout: float, allow_private: bool, blocked: Callable[[str], bool] | None = None
) -> httpx.Client:
    """An httpx client whose every connection goes through CheckedBackend, or
    where `allow_private`, a plain one. httpx takes no network backend, so its
    pool's is replaced; the rebinding test in tests/test_fetch.py fails if
    that stops taking effect."""
    if allow_private:
        return httpx.Client(timeout=timeout, verify=tls_context())
    transport = httpx.HTTPTransport(verify=tls_context())
    transport._pool._network_backend = CheckedBackend(blocked)
    return httpx.Client(transport=transport, timeout=timeout)


def kept_client(key: tuple, make: Callable[[], httpx.Client]) -> httpx.Client:
    """This thread's open client for `key` (made by `make` the first time):
    calls reuse its connections instead of paying a new client's set-up and a
    TCP/TLS handshake each. At most KEPT_CLIENTS_MAX per thread; past
    that (keys rotated in the admin) the old ones are closed."""
    clients = _kept.__dict__.setdefault("clients", {})
    if key not in clients:
        if len(clients) >= KEPT_CLIENTS_MAX:
            for old in clients.values():
                old.close()
            clients.clear()
        clients[key] = make()
    return clients[key]


def download_client(*, allow_private: bool = False) -> httpx.Client:
    """The client for provider images: connections only to public addresses
    unless `allow_private`."""
    return kept_client(
        ("download", allow_private),
        lambda: checked_client(timeout=DOWNLOAD_TIMEOUT_S, allow_private=allow_private),
    )


_kept = threading.local()
KEPT_CLIENTS_MAX = 8
DOWNLOAD_TIMEOUT_S = 60


def open_stream(client: httpx.Client, url: str) -> httpx.Response:
    """GET `url`, following redirects by hand so each hop's scheme is checked
    (its address is, by `client`'s connections). The caller closes the
    returned (streaming) response."""
    for _ in range(MAX_REDIRECTS + 1):
        check_url(url)
        response = client.send(client.build_request("GET", url), stream=True)
        if not response.is_redirect:
            return response
        response.close()
        url = urljoin(url, response.headers["Location"])
    raise BlockedURL(f"More than {MAX_REDIRECTS} redirects.")


def url_expiry(url: str, *, fallback: timedelta | None, now: datetime | None = None) -> datetime | None:
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
