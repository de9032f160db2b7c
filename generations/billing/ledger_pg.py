"""A generation's two ledger moments, each in one PostgreSQL statement: a
create's common case (lock the owner's payer accounts, pick the one that pays,
insert the generation and its hold, write the account's new figures), and a
success with the bytes in hand (mark it succeeded, capture its hold).

Why: every create went through six round trips (BEGIN, the payer lock, two
INSERTs, the account UPDATE, COMMIT) and every success through five, each
costing more Python in the ORM than work in PostgreSQL; one statement is
atomic without a transaction block, and these two are on every image's path
(docs/benchmarks.md, sections 1, 2 and 6).

It writes only when nothing needs the full path: the owner's account exists,
is not frozen and has every limit of `CreditAccount.NO_LIMIT` at its "no
limit" value (the condition is generated from that list, so a limit added
there sends such creates to the full path), and a usable account can pay.
Otherwise it writes nothing and `generation_create` takes the full path
(`ledger.payers_locked`, `quotas.quota_check_create`, `ledger.hold`), which
names any problem. The decisions are the full path's: the same payers in the
same order (team pool first or last by the team's draw order, a frozen pool
skipped), the same entry and figures (`ledger._append`,
`ledger._watch_low_balance`); tests/test_ledger_paths.py runs both over every
case and compares what they write.
"""

from __future__ import annotations

import os
from functools import cache, partial
from typing import Any, cast

from django.conf import settings
from django.db import connection, transaction
from django.db.models import AutoField, Field

from generations.billing import notify
from generations.models import CreditAccount, CreditEntry, Generation, Team, TeamMembership

# LEDGER_ONE_STATEMENT=0 turns these statements off, for bench/create.py to
# measure the full path alone on PostgreSQL; not a setting for a site.
_ENABLED = os.environ.get("LEDGER_ONE_STATEMENT", "1") != "0"


def usable() -> bool:
    """The statements are PostgreSQL's (data-modifying CTEs, FOR UPDATE OF);
    elsewhere (SQLite) nothing is written and the caller's full path runs."""
    return _ENABLED and connection.vendor == "postgresql"


def generation_insert_held(*, generation: Generation, cost: int) -> CreditEntry | None:
    """Insert `generation` (built, not saved) with a hold of `cost` on the
    account that pays, in one statement. Returns the hold entry, or None when
    nothing was written and the full path must decide."""
    if not usable():
        return None
    entry = CreditEntry(
        amount=-cost,
        kind=CreditEntry.Kind.HOLD,
        generation=generation,
        note=f"{generation.provider} {generation.size}",
    )
    params = [
        generation.owner_id,
        generation.owner_id,
        generation.owner_id,
        *_no_limit_values(),
        cost,
        settings.LOW_BALANCE_THRESHOLD,
        cost,
        Team.DrawOrder.TEAM_FIRST,
        *_values(generation),
        *_values(entry, skip="account"),
        cost,
    ]
    with connection.cursor() as cursor:
        cursor.execute(_create_sql(), params)
        row = cursor.fetchone()
    if row is None:
        return None
    entry.pk, entry.account_id, was_low, low = row
    for saved in (generation, entry):
        saved._state.adding, saved._state.db = False, connection.alias
    if low and not was_low:  # crossed the threshold on the way down, as _watch_low_balance
        transaction.on_commit(partial(notify.low_balance, account_id=entry.account_id))
    return entry


def generation_succeed_captured(
    *, generation: Generation, fields: dict, status: str = Generation.Status.RUNNING
) -> bool:
    """Write `fields` on `generation` if it is still in `status` (running, or
    storing for a copy of a recorded result) and not being canceled, and
    capture its hold (as credits._capture_hold), in one statement. False:
    nothing written (canceled or reaped meanwhile), for the caller's full
    path to sort out."""
    if not usable():
        return False
    sql, written = _succeed_sql(tuple(fields))
    values = [field.get_db_prep_save(fields[field.name], connection) for field in written]
    capture = CreditEntry(amount=0, kind=CreditEntry.Kind.CAPTURE, generation=generation)
    with connection.cursor() as cursor:
        cursor.execute(
            sql, [*values, generation.pk, status, CreditEntry.Kind.HOLD, *_values(capture, skip="account")]
        )
        return cursor.fetchone()[0] == 1


@cache
def _fields(model: Any, skip: str = "") -> list:
    return [f for f in model._meta.local_concrete_fields if not isinstance(f, AutoField) and f.name != skip]


def _values(obj, skip: str = "") -> list:
    """The column values an ORM INSERT of `obj` would send (defaults, auto_now)."""
    fields = _fields(cast(Any, type(obj)), skip)
    return [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _columns(fields) -> str:
    return ", ".join(connection.ops.quote_name(f.column) for f in fields)


def _placeholders(fields, account: str = "") -> str:
    """Typed, as `INSERT ... SELECT` needs for a NULL; `account`: the SQL
    that stands for the account column."""
    return ", ".join(account if f.name == "account" else f"%s::{f.cast_db_type(connection)}" for f in fields)


@cache
def _limit_fields() -> list:
    return [cast(Field, CreditAccount._meta.get_field(name)) for name in CreditAccount.NO_LIMIT]


def _no_limit_sql() -> str:
    """Every limit of the owner's account (`p`) at its "no limit" value."""
    qn = connection.ops.quote_name
    return " AND ".join(
        f"p.{qn(f.column)} IS NOT DISTINCT FROM {_placeholders([f])}" for f in _limit_fields()
    )


def _no_limit_values() -> list:
    """_no_limit_sql's parameters, as the model would store them."""
    return [f.get_db_prep_save(CreditAccount.NO_LIMIT[f.name], connection) for f in _limit_fields()]


@cache
def _succeed_sql(names: tuple[str, ...]) -> tuple[str, list]:
    """The statement, and the generation fields it writes, in its order."""
    qn, entry = connection.ops.quote_name, _table(CreditEntry)
    fields = [cast(Field, Generation._meta.get_field(name)) for name in names]
    sets = ", ".join(f"{qn(f.column or f.name)} = {_placeholders([f])}" for f in fields)
    entry_fields = _fields(CreditEntry)
    return (
        f"""
WITH g AS (
  UPDATE {_table(Generation)} SET {sets}
  WHERE id = %s AND status = %s AND NOT cancel_requested RETURNING id
), h AS (
  SELECT e.account_id, e.amount FROM {entry} e, g WHERE e.generation_id = g.id AND e.kind = %s
), a AS (
  UPDATE {_table(CreditAccount)} a SET held = a.held + h.amount FROM h WHERE a.id = h.account_id
  RETURNING 1
), c AS (
  INSERT INTO {entry} ({_columns(entry_fields)})
  SELECT {_placeholders(entry_fields, account="h.account_id")} FROM h RETURNING 1
)
SELECT count(*) FROM g""",
        fields,
    )


@cache
def _create_sql() -> str:
    table, columns = _table, _columns
    gen_fields, entry_fields = _fields(Generation), _fields(CreditEntry)
    account = table(CreditAccount)
    return f"""
WITH p AS (
  SELECT a.*, t.draw_order FROM {account} a LEFT JOIN {table(Team)} t ON t.id = a.team_id
  WHERE a.user_id = %s OR a.team_id IN (SELECT m.team_id FROM {table(TeamMembership)} m
                                        WHERE m.user_id = %s)
  ORDER BY a.id FOR UPDATE OF a
), own AS (
  SELECT 1 FROM p WHERE p.user_id = %s AND NOT p.frozen AND {_no_limit_sql()}
), c AS (
  SELECT p.id, p.balance - %s AS balance, COALESCE(p.low_balance_threshold, %s) AS threshold,
         p.low_balance_notified AS was_low
  FROM p, own
  WHERE p.balance >= %s AND NOT (p.frozen AND p.team_id IS NOT NULL)
  ORDER BY CASE WHEN p.team_id IS NULL THEN 1 WHEN p.draw_order = %s THEN 0 ELSE 2 END
  LIMIT 1
), g AS (
  INSERT INTO {table(Generation)} ({columns(gen_fields)})
  SELECT {_placeholders(gen_fields)} FROM c RETURNING 1
), e AS (
  INSERT INTO {table(CreditEntry)} ({columns(entry_fields)})
  SELECT {_placeholders(entry_fields, account="c.id")} FROM c, g RETURNING id
), u AS (
  UPDATE {account} a SET balance = c.balance, held = a.held + %s,
         low_balance_notified = (c.threshold > 0 AND c.balance < c.threshold)
  FROM c WHERE a.id = c.id RETURNING a.low_balance_notified
)
SELECT e.id, c.id, c.was_low, u.low_balance_notified FROM e, c, u"""
