"""A real OpenID Connect provider for the tests: panva's `oidc-provider` from
the npm registry (tests/oidc/server.js, its accounts in accounts.json), run
with Node.js on a free 127.0.0.1 port, one client registered for the site.

`npm ci` installs it from the committed package-lock.json the first time.
Without `node` and `npm` the tests that need it are skipped, saying why.
"""

import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent / "oidc"
PROVIDER_ID = "testidp"
CLIENT_ID = "z-image-studio"
CLIENT_SECRET = "test-client-secret-not-used-anywhere-else"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ensure_installed() -> None:
    """Skip without Node.js; `npm ci` once when node_modules is missing."""
    if not shutil.which("node") or not shutil.which("npm"):
        pytest.skip("Node.js (node and npm) is not installed: the OpenID Connect provider cannot run")
    if not (HERE / "node_modules" / "oidc-provider").exists():
        done = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=HERE,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode:
            # Offline developer machine: say so and skip; in CI this is a failure.
            message = (
                f"`npm ci` in tests/oidc failed (is the npm registry reachable?):\n{done.stderr[-2000:]}"
            )
            if os.environ.get("CI"):
                pytest.fail(message)
            pytest.skip(message)


class OIDCProvider:
    """The provider process; `issuer` once started."""

    def __init__(self, site_url: str):
        self.site_url = site_url.rstrip("/")
        self.port = _free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.output: list[str] = []

    @property
    def callback_url(self) -> str:
        return f"{self.site_url}/accounts/oidc/{PROVIDER_ID}/login/callback/"

    def start(self, timeout: float = 30) -> None:
        env = {
            **os.environ,
            "PORT": str(self.port),
            "CLIENT_ID": CLIENT_ID,
            "CLIENT_SECRET": CLIENT_SECRET,
            "REDIRECT_URIS": self.callback_url,
            "POST_LOGOUT_REDIRECT_URIS": f"{self.site_url}/accounts/login/",
        }
        self.process = subprocess.Popen(
            ["node", "server.js"],
            cwd=HERE,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        ready = threading.Event()

        def read():
            assert self.process and self.process.stdout
            for line in self.process.stdout:
                self.output.append(line)
                if "listening on" in line:
                    ready.set()

        threading.Thread(target=read, daemon=True).start()
        deadline = time.monotonic() + timeout
        while not ready.wait(0.1):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("oidc-provider did not start:\n" + "".join(self.output))

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def environ(self, **extra: str) -> dict[str, str]:
        """The site's OIDC_* variables for this provider."""
        key = PROVIDER_ID.upper()
        return {
            "OIDC_PROVIDERS": PROVIDER_ID,
            f"OIDC_{key}_NAME": "Test IdP",
            f"OIDC_{key}_ISSUER": self.issuer,
            f"OIDC_{key}_CLIENT_ID": CLIENT_ID,
            f"OIDC_{key}_CLIENT_SECRET": CLIENT_SECRET,
            f"OIDC_{key}_SCOPES": "openid email profile groups",
            **extra,
        }
