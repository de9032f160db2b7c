"""Many stored images as one ZIP download, streamed: constant memory, any storage.

The archive is written while it is sent. Images are already compressed, so
entries are stored, not deflated; sizes are unknown until written, so every
entry carries a data descriptor (zipfile does this itself on a stream it
cannot seek). One image is read at a time in chunks, locally or from S3."""

import io
import zipfile
from collections.abc import Iterable, Iterator

from django.http import StreamingHttpResponse
from django.utils.http import content_disposition_header

from generations.images.serving import image_download_name
from generations.runtime.dbconn import connection_release_idle

CHUNK = 256 * 1024


class _Sink(io.RawIOBase):
    """Where zipfile writes; the response takes what was written since last time."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        return data


def zip_chunks(generations: Iterable) -> Iterator[bytes]:
    """The ZIP of the generations' stored images, chunk by chunk. An image that
    cannot be read any more is left out and named in MISSING.txt: the status
    line has long been sent, so the archive itself must say so."""
    sink = _Sink()
    missing: list[str] = []
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED) as archive:
        for generation in generations:
            name = image_download_name(generation)
            info = zipfile.ZipInfo(name, date_time=generation.created_at.timetuple()[:6])
            try:
                source = generation.image.storage.open(generation.image.name, "rb")
            except OSError:
                missing.append(name)
                continue
            with source, archive.open(info, "w", force_zip64=True) as entry:
                while chunk := source.read(CHUNK):
                    entry.write(chunk)
                    yield sink.take()
            yield sink.take()
        if missing:
            archive.writestr("MISSING.txt", "Could not be read from storage:\n" + "\n".join(missing) + "\n")
    yield sink.take()


def zip_response(generations, *, filename: str) -> StreamingHttpResponse:
    """A streamed attachment of the stored images of `generations` (an already
    scoped queryset or list; those without a stored image are skipped). The rows
    are read first and the database connection handed back: the stream may take
    minutes and needs no database."""
    stored = [g for g in generations if g.image]
    connection_release_idle()
    response = StreamingHttpResponse(zip_chunks(stored), content_type="application/zip")
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response
