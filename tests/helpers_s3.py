"""The SeaweedFS test server's coordinates (importable before Django is set up)."""

ACCESS_KEY, SECRET_KEY, BUCKET, PORT = "zimage-test", "zimage-test-secret", "zimage", 8333
ENDPOINT = f"http://127.0.0.1:{PORT}"
S3_ENV = {
    "STORAGE_BACKEND": "s3", "STORAGE_BUCKET": BUCKET, "STORAGE_ENDPOINT_URL": ENDPOINT,
    "STORAGE_ACCESS_KEY_ID": ACCESS_KEY, "STORAGE_SECRET_ACCESS_KEY": SECRET_KEY,
    "STORAGE_REGION": "us-east-1", "STORAGE_ADDRESSING_STYLE": "path",
}
