"""Keys where DashScope users keep them: `~/.alibabacloud/credentials`, an
INI file whose profile (`[default]`, or ALIBABA_CLOUD_PROFILE) may hold
`dashscope_api_key` (the DashScope documents in shared/seeds say so). The
environment always takes precedence (registry.provider_settings). The file
is read again only when it changes; the key is never logged or shown."""

from __future__ import annotations

import configparser
import os
from pathlib import Path

_read: dict[str, tuple[float, dict[str, str]]] = {}

CREDENTIALS_LABEL = "~/.alibabacloud/credentials"


def credentials_path() -> Path:
    """ALIBABA_CLOUD_CREDENTIALS_FILE (as Alibaba Cloud's own tools honour it), else the home file."""
    named = os.environ.get("ALIBABA_CLOUD_CREDENTIALS_FILE", "").strip()
    return Path(named).expanduser() if named else Path.home() / ".alibabacloud" / "credentials"


def credentials_key(field: str) -> str:
    """`field` of the profile in the credentials file; '' when there is no
    file, no such profile or field, or the file cannot be parsed."""
    path = credentials_path()
    try:
        mtime = path.stat().st_mtime
    except OSError:
        return ""
    key = str(path)
    if key not in _read or _read[key][0] != mtime:
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read(path, encoding="utf-8")
        except (configparser.Error, OSError, UnicodeDecodeError):
            return ""
        profile = os.environ.get("ALIBABA_CLOUD_PROFILE", "").strip() or "default"
        values = dict(parser[profile]) if parser.has_section(profile) else {}
        _read[key] = (mtime, values)
    return _read[key][1].get(field, "").strip()
