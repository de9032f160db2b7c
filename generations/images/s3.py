"""django-storages' S3 backend, saving a file smaller than one multipart part
with a single PutObject call.

The stock `_save` builds a boto3 resource object and an s3transfer manager for
every file; for the site's images (a few MB, below the multipart threshold)
that bookkeeping cost the worker more Python time, all of it under the GIL,
than the request itself (docs/benchmarks.md, 2). Larger files, and anything
the stock backend would compress, still go through `upload_fileobj`, which
uploads in parts without holding the file in memory.

Reading is one GetObject streamed into a spooled temporary file: the stock
`S3File` sends a HEAD first and downloads through an s3transfer manager, which
costs several times the CPU to read a small image back (docs/benchmarks.md);
the first showing of an image an inline OpenAI answer stored reads it back,
to make its thumbnail.
"""

from __future__ import annotations

import tempfile

from botocore.exceptions import ClientError
from django.core.files.base import File
from storages.backends import s3
from storages.utils import clean_name

READ_CHUNK = 256 * 1024
IN_MEMORY_MAX = 1024 * 1024  # a larger file spills to disk while it is read


class S3Storage(s3.S3Storage):
    def _save(self, name, content):
        size = getattr(content, "size", None)
        if self.gzip or size is None or size >= self.transfer_config.multipart_threshold:
            return super()._save(name, content)
        cleaned_name = clean_name(name)
        key = self._normalize_name(cleaned_name)
        params = self._get_write_parameters(key, content)
        content.seek(0)
        # botocore reads the body for its checksum and signature, then rewinds
        # it to send: the file is streamed, never read whole into memory.
        self.connection.meta.client.put_object(Bucket=self.bucket_name, Key=key, Body=content.file, **params)
        return cleaned_name

    def _open(self, name, mode="rb"):
        if mode != "rb" or self.gzip:  # writing, or content that may need decompressing
            return super()._open(name, mode)
        key = self._normalize_name(clean_name(name))
        try:
            response = self.connection.meta.client.get_object(Bucket=self.bucket_name, Key=key)
        except ClientError as exc:
            if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
                raise FileNotFoundError(f"File does not exist: {name}") from exc
            raise
        local = tempfile.SpooledTemporaryFile(max_size=IN_MEMORY_MAX)
        for chunk in response["Body"].iter_chunks(READ_CHUNK):
            local.write(chunk)
        local.seek(0)
        return File(local, name)
