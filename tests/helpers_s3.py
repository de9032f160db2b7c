"""The SeaweedFS test server's coordinates (importable before Django is set up).

Every port `weed mini` listens on is chosen free by the OS when this module is
first imported, so test runs (CI, a developer's run, a benchmark) never meet
each other's server on a fixed port like 8333.
"""

import socket

ACCESS_KEY, SECRET_KEY, BUCKET = "zimage-test", "zimage-test-secret", "zimage"
PORT_FLAGS = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
    "s3.port.iceberg",
    "s3.port.lance",
    "s3.metricsPort",
    "s3.debug.port",
    "admin.port",
    "admin.port.grpc",
    "webdav.port",
    "debug.port",
    "metricsPort",
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


PORTS = {flag: _free_port() for flag in PORT_FLAGS}
PORT = PORTS["s3.port"]
ENDPOINT = f"http://127.0.0.1:{PORT}"
S3_ENV = {
    "STORAGE_BACKEND": "s3",
    "STORAGE_BUCKET": BUCKET,
    "STORAGE_ENDPOINT_URL": ENDPOINT,
    "STORAGE_ACCESS_KEY_ID": ACCESS_KEY,
    "STORAGE_SECRET_ACCESS_KEY": SECRET_KEY,
    "STORAGE_REGION": "us-east-1",
    "STORAGE_ADDRESSING_STYLE": "path",
}
