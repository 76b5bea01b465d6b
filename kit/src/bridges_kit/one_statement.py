"""Writes sent to PostgreSQL as one data-modifying statement: one round trip, and atomic on its
own (no BEGIN or COMMIT to send). The first write is the gate; every other write takes its row
from it (`... FROM gate`), so when the gate writes nothing, nothing is written:

    statement = OneStatement()
    p = statement.params
    statement.gate(f"INSERT INTO idempotency_key (officer_id, key) VALUES ({p(officer)}, "
                   f"{p(key)}) ON CONFLICT DO NOTHING RETURNING true")
    statement.write(f"INSERT INTO referral_case (id, officer_id) SELECT {p(case_id)}, "
                    f"{p(officer)} FROM gate")
    statement.notify("bridges_outbox")
    written = await statement.run(conn)   # False: the key was taken, nothing was written

The gate yields at most one row. The writes all see the database as it was when the statement
began (PostgreSQL's rule for data-modifying WITH), and foreign keys between them are checked at
its end. A gate that inserts a unique key makes the statement safe to send again: the second
finds the gate closed.
"""

from __future__ import annotations

import asyncpg

from bridges_kit.sql import Params


class OneStatement:
    def __init__(self) -> None:
        self.params = Params()
        self._gate: str | None = None
        self._writes: list[str] = []
        self._channels: list[str] = []
        self._notices: list[str] = []

    @property
    def empty(self) -> bool:
        return self._gate is None

    def gate(self, sql: str) -> None:
        """The first write: a statement returning one row when the others may go ahead."""
        if self._gate is not None:
            raise RuntimeError("a statement has one gate")
        self._gate = sql

    def write(self, sql: str) -> None:
        """A data-modifying statement reading its rows `FROM gate`."""
        self._writes.append(sql)

    def notify(self, channel: str) -> None:
        """NOTIFY `channel` (once) when the writes are made."""
        if channel not in self._channels:
            self._channels.append(channel)
            self._notices.append(f", count(pg_notify({self.params(channel)}, ''))")

    @property
    def sql(self) -> str:
        if self._gate is None:
            raise RuntimeError("a statement needs a gate before its writes")
        parts = [f"gate AS ({self._gate})"]
        parts += [f"write_{n} AS ({sql})" for n, sql in enumerate(self._writes, 1)]
        return f"WITH {', '.join(parts)}\nSELECT count(*){''.join(self._notices)} FROM gate"

    async def run(self, conn: asyncpg.Connection) -> bool:
        """Send it; True when the gate opened (and so every write was made)."""
        opened: int = await conn.fetchval(self.sql, *self.params.values)
        return opened > 0
