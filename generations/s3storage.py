"""django-storages' S3 backend, saving a file smaller than one multipart part
with a single PutObject call.

The stock `_save` builds a boto3 resource object and an s3transfer manager for
every file; for the site's images (a few MB, below the multipart threshold)
that bookkeeping cost the worker more Python time, all of it under the GIL,
than the request itself (docs/benchmarks.md, 2). Larger files, and anything
the stock backend would compress, still go through `upload_fileobj`, which
uploads in parts without holding the file in memory.
"""

from __future__ import annotations

from storages.backends import s3
from storages.utils import clean_name


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
        self.connection.meta.client.put_object(
            Bucket=self.bucket_name, Key=key, Body=content.file, **params)
        return cleaned_name
