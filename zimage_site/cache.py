"""Django's Redis cache, answering as an empty cache while Redis cannot be
reached.

The web uses the cache for throttling counters and remembered thumbnail
failures: nothing that is worth an error page when Redis is down. A create
made during a Redis outage is kept in the database and started by recovery
once the queue is back (generations.lifecycle.services.generation_enqueue), so the
cache must not turn that request into a 500 first."""

import logging
import time

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

log = logging.getLogger(__name__)
# Unreachable, or refusing (READONLY after a failover, OOM): an empty cache either way.
UNREACHABLE = (RedisError, OSError)
LOG_EVERY_S = 30.0

_last_logged = 0.0


def _or(fallback, call, *args):
    """call(*args), or `fallback` while Redis is unreachable (logged once per LOG_EVERY_S)."""
    global _last_logged
    try:
        return call(*args)
    except UNREACHABLE as exc:
        if time.monotonic() - _last_logged > LOG_EVERY_S:  # an outage is a line, not one a request
            _last_logged = time.monotonic()
            log.warning("cache unreachable (%s: %s); answering as an empty cache", type(exc).__name__, exc)
        return fallback


class TolerantRedisCache(RedisCache):
    def get(self, key, default=None, version=None):
        return _or(default, super().get, key, default, version)

    def get_many(self, keys, version=None):
        return _or({}, super().get_many, keys, version)

    def has_key(self, key, version=None):
        return _or(False, super().has_key, key, version)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return _or(False, super().add, key, value, timeout, version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        _or(None, super().set, key, value, timeout, version)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return _or(list(data), super().set_many, data, timeout, version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return _or(False, super().touch, key, timeout, version)

    def delete(self, key, version=None):
        return _or(False, super().delete, key, version)
