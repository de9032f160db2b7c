"""Loaded by pytest before Django's settings (`-p tests.testenv`): the test
run gets its own queue name and files, so it never shares a queue with a
site running on the same machine."""

import atexit
import os
import shutil
import tempfile

_run_dir = tempfile.mkdtemp(prefix="zimage-test-")
atexit.register(shutil.rmtree, _run_dir, ignore_errors=True)
os.environ.setdefault("VAR_DIR", _run_dir)
os.environ.setdefault("MEDIA_ROOT", os.path.join(_run_dir, "media"))
os.environ.setdefault("HUEY_NAME", f"zimage-test-{os.getpid()}")
os.environ.setdefault("IMAGE_FETCH_ALLOW_PRIVATE", "1")

# `TEST_STORAGE=s3`: the whole run stores images on a SeaweedFS server that
# conftest starts on 127.0.0.1 (see tests/helpers.SeaweedFS).
if os.environ.get("TEST_STORAGE") == "s3":
    from tests.helpers_s3 import S3_ENV

    for _key, _value in S3_ENV.items():
        os.environ.setdefault(_key, _value)

# Tests give every user the credits they name (tests.conftest.make_user); a
# test of the starting credits sets STARTING_CREDITS itself.
os.environ.setdefault("STARTING_CREDITS", "0")
