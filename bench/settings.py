"""The site's settings plus the benchmarks' floor view (bench/urls.py); the
site itself never routes it."""

from zimage_site.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
