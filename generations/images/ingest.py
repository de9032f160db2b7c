"""Download-and-store: copy a provider's image into the site's own storage.

The body is streamed into a spooled temporary file (memory up to 1 MB, then
disk) while its sha256 and length are counted, so a whole image is never held
in memory; it is then verified with Pillow, stored under a name derived from
the generation id (storing twice overwrites, never duplicates), and a WebP
thumbnail is made beside it (or on its first showing: thumbnails.py).

A PNG carrying more than PNG_BULK_LIMIT of ancillary chunks is decoded from a
copy without them: Pillow keeps private chunks in memory while it decodes,
35 MB of them for a 50 MB file that is mostly such data (docs/benchmarks.md,
5). The stored original is always the bytes the provider sent.
"""

from __future__ import annotations

import hashlib
import io
import struct
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx
from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image, UnidentifiedImageError

from generations.images.fetch import BlockedURL, download_client, open_stream
from generations.providers.base import GenerationResult

Image.MAX_IMAGE_PIXELS = 64 * 1024 * 1024  # well above 4.2 MP; refuses decompression bombs
FORMATS = {"PNG": ("png", "image/png"), "JPEG": ("jpg", "image/jpeg"), "WEBP": ("webp", "image/webp")}
CHUNK = 64 * 1024
IMAGE_ERRORS = (UnidentifiedImageError, OSError, SyntaxError, Image.DecompressionBombError)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Ancillary chunks that change how the pixels look; a few bytes each by the spec.
PNG_KEEP = {b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"sBIT", b"bKGD", b"pHYs"}
PNG_BULK_LIMIT = 1024 * 1024


class StoreError(Exception):
    """The image could not be copied. `retryable` means try again later
    (network or storage trouble); otherwise the image itself is bad."""

    def __init__(self, code: str, message: str, *, retryable: bool = False):
        super().__init__(message)
        self.code, self.message, self.retryable = code, message, retryable


@dataclass(frozen=True)
class StoredImage:
    name: str
    thumbnail: str
    width: int
    height: int
    size: int
    sha256: str
    content_type: str
    # The bytes stored, for a caller answering inline (INLINE_KEEP_MAX); never in a repr.
    data: bytes | None = field(default=None, repr=False)


# A caller answering inline (make_thumbnail=False) gets the stored bytes back
# up to this size, so a b64 answer need not read the file back: from S3 that
# costs a HEAD and a GET. Larger images are read back as before; the cap
# bounds what a url answer, which does not use them, holds meanwhile.
INLINE_KEEP_MAX = 8 * 1024 * 1024


def fetch(url: str, sink, *, max_bytes: int, allow_private: bool = False) -> str:
    """Stream `url` into `sink`; return the sha256. Raises StoreError."""
    digest = hashlib.sha256()
    try:
        response = open_stream(download_client(allow_private=allow_private), url)
        try:
            _copy(response, sink, digest, max_bytes)
        finally:
            response.close()
    except BlockedURL as exc:
        raise StoreError("ImageURLBlocked", str(exc)) from exc
    except httpx.HTTPError as exc:
        raise StoreError(
            "ImageDownloadFailed", f"Downloading the image failed ({type(exc).__name__}).", retryable=True
        ) from exc
    return digest.hexdigest()


def _copy(response: httpx.Response, sink, digest, max_bytes: int) -> None:
    if response.status_code != 200:
        raise StoreError(
            "ImageDownloadFailed",
            f"Downloading the image failed with HTTP {response.status_code}.",
            retryable=response.status_code >= 500 or response.status_code == 429,
        )
    too_large = StoreError("ImageTooLarge", f"The image is larger than {max_bytes} bytes.")
    if int(response.headers.get("Content-Length") or 0) > max_bytes:
        raise too_large
    total = 0
    for chunk in response.iter_bytes(CHUNK):
        total += len(chunk)
        if total > max_bytes:
            raise too_large
        digest.update(chunk)
        sink.write(chunk)


def decode(fileobj) -> Image.Image:
    """The image in `fileobj`, verified and decoded once (its format, size and
    thumbnail all come from this one decode), or StoreError if it is not one.
    A PNG's bulky ancillary chunks are left out of what Pillow reads."""
    try:
        with _decodable(fileobj) as source:
            _verify(source)
            source.seek(0)
            image = Image.open(source)
            image.load()  # after this the pixels are in memory; `source` may close
    except IMAGE_ERRORS as exc:
        raise _not_an_image() from exc
    return image


def check(fileobj) -> tuple[str, int, int]:
    """Format, width and height of the image in `fileobj` from its header (and
    a PNG's checksums), without decoding the pixels; StoreError if it is not one."""
    try:
        with _decodable(fileobj) as source:
            return _verify(source)
    except IMAGE_ERRORS as exc:
        raise _not_an_image() from exc


def _verify(source) -> tuple[str, int, int]:
    source.seek(0)
    with Image.open(source) as image:
        image.verify()
        if image.format not in FORMATS:
            raise StoreError("NotAnImage", f"Unsupported image format {image.format}.")
        return image.format, image.width, image.height


def _not_an_image() -> StoreError:
    return StoreError("NotAnImage", "The provider's answer is not a readable image.")


@contextmanager
def _decodable(fileobj):
    """`fileobj`, or for a PNG with bulky ancillary chunks a temporary copy
    holding only its critical chunks and PNG_KEEP ones (IDAT copied piece by
    piece, so never whole in memory)."""
    fileobj.seek(0)
    if fileobj.read(len(PNG_SIGNATURE)) != PNG_SIGNATURE or not _bulk_over_limit(fileobj):
        yield fileobj
        return
    with tempfile.SpooledTemporaryFile(max_size=1024 * 1024) as stripped:
        stripped.write(PNG_SIGNATURE)
        for kind, offset, size in _png_chunks(fileobj):
            if not _bulky(kind):
                fileobj.seek(offset)
                _copy_range(fileobj, stripped, size)
        yield stripped


def _png_chunks(fileobj):
    """(type, offset, size with header and CRC) of each chunk of a PNG, from
    their 8-byte headers only: the data is seeked over. Ends at IEND or at the
    end of the file; Pillow reports whatever is broken."""
    offset = len(PNG_SIGNATURE)
    while True:
        fileobj.seek(offset)
        header = fileobj.read(8)
        if len(header) < 8:
            return
        length, kind = struct.unpack(">I4s", header)
        yield kind, offset, length + 12
        if kind == b"IEND":
            return
        offset += length + 12


def _bulk_over_limit(fileobj) -> bool:
    total = 0
    for kind, _, size in _png_chunks(fileobj):
        total += size if _bulky(kind) else 0
        if total > PNG_BULK_LIMIT:
            return True
    return False


def _bulky(kind: bytes) -> bool:
    """Ancillary (lowercase first letter) and not one needed to show the pixels;
    counted with its header, so a flood of empty chunks counts too."""
    return bool(kind[0] & 0x20) and kind not in PNG_KEEP


def _copy_range(source, sink, size: int) -> None:
    while size > 0:
        piece = source.read(min(CHUNK, size))
        if not piece:
            return
        sink.write(piece)
        size -= len(piece)


def check_size(got: tuple[int, int], expect: tuple[int, int], *, tolerance: int, ratio_only: bool) -> None:
    (width, height), (want_w, want_h) = got, expect
    if ratio_only:  # within 2%: a service rounds its sides to its own grid
        if abs(width * want_h - height * want_w) > 0.02 * height * want_w:
            raise StoreError(
                "WrongImageSize",
                f"The provider sent a {width}x{height} image; "
                f"the aspect ratio of {want_w}x{want_h} was asked for.",
            )
    elif abs(width - want_w) > tolerance or abs(height - want_h) > tolerance:
        raise StoreError(
            "WrongImageSize", f"The provider sent a {width}x{height} image; {want_w}x{want_h} was asked for."
        )


def thumbnail(image: Image.Image) -> bytes:
    """A WebP thumbnail; shrinks `image` in place (it is not needed after).
    Cheap on purpose, as every image gets one: reducing_gap 1.0 halves the
    image with a box filter before the bicubic pass, and WebP method 0 is
    libwebp's fastest (files a little larger than method 4's)."""
    image.thumbnail((settings.THUMBNAIL_SIZE, settings.THUMBNAIL_SIZE), reducing_gap=1.0)
    out = io.BytesIO()
    image.convert("RGB").save(out, "WEBP", quality=80, method=0)
    return out.getvalue()


def thumbnail_save(*, base_name: str, thumb: bytes) -> str:
    """Store a thumbnail beside the image stored as `<base_name>.<ext>`."""
    return _save(f"{base_name}_thumb.webp", ContentFile(thumb))


def store_image(
    *,
    base_name: str,
    result: GenerationResult,
    expect: tuple[int, int],
    tolerance: int = 0,
    ratio_only: bool = False,
    internal: bool = False,
    make_thumbnail: bool = True,
) -> StoredImage:
    """Copy the result's image to `<base_name>.<ext>` and a thumbnail beside it.
    `ratio_only`: the provider picks the pixels, only the aspect ratio must match.
    `internal`: the provider is on the private network; its URLs may be private.
    `make_thumbnail=False`: for a caller answering inline; the image is only
    checked (header, size, a PNG's checksums), not decoded, the thumbnail is
    made on its first showing (thumbnails.py; StoredImage.thumbnail is ""), and the
    bytes come back in StoredImage.data (up to INLINE_KEEP_MAX)."""
    with tempfile.SpooledTemporaryFile(max_size=1024 * 1024) as tmp:
        sha = _receive(result, tmp, internal=internal)
        size = tmp.tell()
        fmt, width, height, thumb = _examine(
            tmp, make_thumbnail, expect=expect, tolerance=tolerance, ratio_only=ratio_only
        )
        ext, content_type = FORMATS[fmt]
        tmp.seek(0)
        data = None
        if not make_thumbnail and size <= INLINE_KEEP_MAX:  # for the inline answer
            # Bytes in hand are those written; a download is read back from the copy.
            data = result.image_bytes if result.image_bytes is not None else tmp.read()
            tmp.seek(0)
        name = _save(f"{base_name}.{ext}", File(tmp))
        thumb_name = thumbnail_save(base_name=base_name, thumb=thumb) if thumb else ""
    return StoredImage(name, thumb_name, width, height, size, sha, content_type, data)


def _receive(result: GenerationResult, sink, *, internal: bool) -> str:
    """The result's image (bytes or URL) written to `sink`; its sha256."""
    max_bytes = settings.IMAGE_MAX_BYTES
    if result.image_bytes is None:
        allow_private = internal or settings.IMAGE_FETCH_ALLOW_PRIVATE
        return fetch(result.image_url, sink, max_bytes=max_bytes, allow_private=allow_private)
    if len(result.image_bytes) > max_bytes:
        raise StoreError("ImageTooLarge", f"The image is larger than {max_bytes} bytes.")
    sink.write(result.image_bytes)
    return hashlib.sha256(result.image_bytes).hexdigest()


def _examine(
    tmp, make_thumbnail: bool, *, expect: tuple[int, int], tolerance: int, ratio_only: bool
) -> tuple[str, int, int, bytes | None]:
    """Format, width, height and thumbnail (None when not made) of the image."""
    if not make_thumbnail:
        fmt, width, height = check(tmp)
        check_size((width, height), expect, tolerance=tolerance, ratio_only=ratio_only)
        return fmt, width, height, None
    with decode(tmp) as image:
        fmt, width, height = image.format, image.width, image.height
        check_size((width, height), expect, tolerance=tolerance, ratio_only=ratio_only)
        return fmt, width, height, thumbnail(image)


def _save(name: str, content) -> str:
    """Save under exactly `name`: a retried store replaces, never duplicates.
    A storage that overwrites (S3 as configured) needs no look first; that
    saves two HEAD requests a file."""
    try:
        if not getattr(default_storage, "file_overwrite", False) and default_storage.exists(name):
            default_storage.delete(name)
        saved = default_storage.save(name, content)
    except Exception as exc:  # storage backends raise many kinds; all mean "try later"
        raise StoreError(
            "StorageUnavailable", f"Could not write to storage ({type(exc).__name__}).", retryable=True
        ) from exc
    return saved


def location(name: str) -> str:
    """Where a stored file lives, for people: a path on disk or an s3:// URL."""
    if settings.STORAGE_BACKEND == "s3":
        return f"s3://{default_storage.bucket_name}/{name}"
    return default_storage.path(name)
