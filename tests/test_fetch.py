"""Download safety and URL expiry."""

import socket
from datetime import UTC, datetime, timedelta

import pytest

from generations.images import fetch
from generations.images.ingest import StoreError, store_image
from generations.providers import GenerationResult
from tests.fakes.server import FakeHandler, FakeServer, png_bytes


def store_url(url, **kw):
    return store_image(
        base_name="generations/1/2026/11/fetched",
        expect=(64, 48),
        result=GenerationResult(image_url=url),
        **kw,
    )


@pytest.fixture
def strict(settings):
    settings.IMAGE_FETCH_ALLOW_PRIVATE = False


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "192.168.0.9",
        "172.16.5.5",
        "169.254.169.254",
        "100.64.0.1",
        "::1",
        "fe80::1",
        "::ffff:127.0.0.1",
        "0.0.0.0",
    ],
)
def test_it_blocks_private_and_metadata_addresses(address):
    assert fetch.is_blocked_address(address)


def test_it_allows_public_addresses():
    assert not fetch.is_blocked_address("8.8.8.8")
    assert not fetch.is_blocked_address("2606:4700:4700::1111")


def test_it_refuses_loopback_urls_unless_allowed(strict, dashscope_server):
    url = dashscope_server.add_image("p.png", png_bytes(64, 48, "p"))
    with pytest.raises(StoreError, match="private or reserved address") as info:
        store_url(url)
    assert info.value.code == "ImageURLBlocked" and not info.value.retryable
    assert store_url(url, internal=True).width == 64  # a provider marked internal may


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/x.png", "gopher://x"])
def test_it_refuses_other_schemes(url):
    with pytest.raises(StoreError) as info:
        store_url(url)
    assert info.value.code == "ImageURLBlocked"


class Redirector(FakeHandler):
    def route(self, method, path, query, body):
        self.send(302, b"", headers={"Location": query["to"][0]})


def test_every_redirect_hop_is_checked(strict, monkeypatch):
    # 127.0.0.1 plays a public host here; 127.0.0.2 plays the private target.
    monkeypatch.setattr(fetch, "is_blocked_address", lambda a: a == "127.0.0.2")
    with FakeServer(Redirector) as server:
        server.add_image("ok.png", png_bytes(64, 48, "ok"))
        assert store_url(f"{server.url}/r?to={server.url}/images/ok.png").width == 64
        with pytest.raises(StoreError, match="private or reserved"):
            store_url(f"{server.url}/r?to=http://127.0.0.2:{server.server_address[1]}/x.png")


def test_a_name_that_rebinds_to_a_private_address_is_never_reached(strict, monkeypatch, rebinding_dns):
    # A check that resolved the name and then let the client resolve it again
    # would pass 127.0.0.2 and connect to 127.0.0.1, where the image waits.
    monkeypatch.setattr(fetch, "is_blocked_address", lambda a: a == "127.0.0.1")
    with FakeServer(FakeHandler) as server:
        server.add_image("secret.png", png_bytes(64, 48, "secret"))
        with pytest.raises(StoreError) as info:
            store_url(f"http://rebind.test:{server.server_address[1]}/images/secret.png")
    assert info.value.code == "ImageDownloadFailed"  # 127.0.0.2 refused the connection
    assert server.requests == [] and rebinding_dns == ["127.0.0.2"]  # one lookup, one address


def test_a_name_with_a_private_address_among_public_ones_is_refused(strict, monkeypatch):
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda host, port, **kw: [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", port)),
        ],
    )
    with pytest.raises(StoreError, match=r"private or reserved address \(cdn.example\)") as info:
        store_url("https://cdn.example/a.png")
    assert info.value.code == "ImageURLBlocked" and not info.value.retryable


def test_it_reads_the_expiry_from_the_signature():
    now = datetime(2026, 11, 21, 12, tzinfo=UTC)
    oss = "https://x.oss.aliyuncs.com/a.png?Expires=1795000000&OSSAccessKeyId=k&Signature=s"
    assert fetch.url_expiry(oss, fallback=None) == datetime.fromtimestamp(1795000000, UTC)
    s3 = "https://b.s3.amazonaws.com/a.png?X-Amz-Date=20261121T100000Z&X-Amz-Expires=3600"
    assert fetch.url_expiry(s3, fallback=None) == datetime(2026, 11, 21, 11, tzinfo=UTC)
    plain = "https://cdn.example.com/a.png"
    assert fetch.url_expiry(plain, fallback=timedelta(hours=1), now=now) == now + timedelta(hours=1)
    assert fetch.url_expiry(plain + "?Expires=soon", fallback=None) is None
