"""Hand a stored file to someone already allowed to see it."""

from django.conf import settings
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.utils.http import content_disposition_header

from generations.images.thumbnails import thumbnail_make


def serve_stored(field_file, *, download_name: str, attachment: bool = False):
    """A redirect to a short-lived presigned URL (S3), or the file streamed
    (local storage, which is never exposed under a public URL)."""
    if not field_file:
        raise Http404("Not stored yet")
    if settings.STORAGE_BACKEND == "s3":
        # The bucket sends this header back, so "Download original" saves
        # `<id>.png` rather than opening the image under its storage key.
        disposition = content_disposition_header(attachment, download_name)
        return HttpResponseRedirect(
            default_storage.url(field_file.name, parameters={"ResponseContentDisposition": disposition})
        )
    return FileResponse(
        default_storage.open(field_file.name, "rb"), filename=download_name, as_attachment=attachment
    )


def serve_image(generation, *, attachment: bool = False):
    return serve_stored(
        generation.image, download_name=image_download_name(generation), attachment=attachment
    )


def serve_thumbnail(generation):
    """The thumbnail; one stored without (an inline answer's image) is made
    now, on its first showing. The image itself where it cannot be made: never
    a broken image."""
    if not generation.thumbnail:
        generation.thumbnail.name = thumbnail_make(generation=generation)
    if not generation.thumbnail:
        return serve_image(generation)
    return serve_stored(generation.thumbnail, download_name=thumbnail_download_name(generation))


def image_download_name(generation) -> str:
    return f"{generation.pk}.{generation.image.name.rsplit('.', 1)[-1]}"


def thumbnail_download_name(generation) -> str:
    return f"{generation.pk}_thumb.webp"
