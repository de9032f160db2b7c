"""Handing a thread's database connection back while it waits on something slow.

With the PostgreSQL pool (settings `DATABASE_POOL_MAX_SIZE`) a process's
threads share a few connections. A Huey thread waiting seconds on a provider
needs none meanwhile; giving it back lets 128 threads keep 128 calls in flight
on a pool of 16. The next query takes one from the pool again (no new
connection, no log-in)."""

from django.db import connection


def connection_release_idle() -> None:
    """Return this thread's connection to the pool, unless a transaction is
    open (closing would roll it back) or there is no pool: without one,
    closing means a fresh connection and log-in for the next query, which
    costs more than keeping an idle connection."""
    if connection.in_atomic_block or not getattr(connection, "pool", None):
        return
    connection.close()
