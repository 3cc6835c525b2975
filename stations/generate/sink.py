"""Fast row writing for the generator: COPY on PostgreSQL, executemany on SQLite.

Rows are plain tuples of column values in the order of the ``fields`` given; primary keys are handed
out here (``next_id``), so rows of one table can point at rows of another before either is written.
Sequences are moved past the written keys at the end (``finish``).

On PostgreSQL a large load runs in *bulk mode*: the secondary indexes, unique and foreign-key
constraints of the big tables are dropped inside the transaction and rebuilt after the load (building
an index once is far cheaper than maintaining it row by row, and re-adding a foreign key checks all
rows in one join instead of one deferred trigger per row). DDL is transactional there, so a failed
run rolls back to the original schema."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.core.management.color import no_style
from django.db import connection
from django.db.models import Model

Log = Callable[[str], None]


@dataclass
class TableStats:
    rows: int = 0
    seconds: float = 0.0


@dataclass
class _Saved:
    """What bulk mode dropped from one table, to put back."""

    table: str
    indexes: list[str] = field(default_factory=list)  # CREATE INDEX statements
    constraints: list[tuple[str, str]] = field(default_factory=list)  # (name, definition)


class Sink:
    def __init__(self, log: Log, *, progress: bool = True) -> None:
        self.log = log
        self.progress = progress
        self.is_postgres = connection.vendor == "postgresql"
        self._ids: dict[type[Model], int] = {}
        self.stats: dict[str, TableStats] = {}
        self._saved: list[_Saved] = []

    # --- keys -----------------------------------------------------------------------------------------

    def next_id(self, model: type[Model]) -> int:
        """The next primary key of the model's table (the first call reads the current maximum)."""
        if model not in self._ids:
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT MAX(id) FROM {connection.ops.quote_name(model._meta.db_table)}")
                self._ids[model] = (cursor.fetchone()[0] or 0) + 1
        value = self._ids[model]
        self._ids[model] = value + 1
        return value

    def finish(self) -> None:
        """Move each sequence past the keys handed out here (PostgreSQL; SQLite follows by itself)."""
        statements = connection.ops.sequence_reset_sql(no_style(), list(self._ids))
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)

    # --- writing --------------------------------------------------------------------------------------

    def write(
        self, model: type[Model], fields: tuple[str, ...], rows: Iterable[tuple], label: str = ""
    ) -> int:
        """Write rows (tuples in the order of ``fields``, field names as on the model)."""
        label = label or model._meta.db_table
        meta = model._meta
        model_fields = [meta.get_field(name) for name in fields]
        columns = ", ".join(connection.ops.quote_name(f.column) for f in model_fields)
        table = connection.ops.quote_name(meta.db_table)
        started = time.perf_counter()
        count = 0
        with connection.cursor() as cursor:
            if self.is_postgres:
                with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    write_row = copy.write_row
                    for row in rows:
                        write_row(row)
                        count += 1
            else:
                placeholders = ", ".join(["%s"] * len(fields))
                preps = [f.get_db_prep_save for f in model_fields]
                batch: list[tuple] = []
                sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"
                for row in rows:
                    batch.append(tuple(prep(v, connection) for prep, v in zip(preps, row, strict=True)))
                    if len(batch) >= 2000:
                        cursor.executemany(sql, batch)
                        count += len(batch)
                        batch.clear()
                if batch:
                    cursor.executemany(sql, batch)
                    count += len(batch)
        stats = self.stats.setdefault(label, TableStats())
        stats.rows += count
        stats.seconds += time.perf_counter() - started
        return count

    def add_time(self, label: str, seconds: float) -> None:
        """Time spent making a table's rows in Python, counted with its writing."""
        self.stats.setdefault(label, TableStats()).seconds += seconds

    # --- bulk mode (PostgreSQL) -----------------------------------------------------------------------

    def drop_keys(self, models: Iterable[type[Model]]) -> None:
        """Drop secondary indexes, unique and foreign-key constraints of these tables (PostgreSQL)."""
        if not self.is_postgres:
            return
        with connection.cursor() as cursor:
            _settle_deferred_checks(cursor)
            cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
            for model in models:
                table = model._meta.db_table
                saved = _Saved(table)
                cursor.execute(
                    "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                    "WHERE conrelid = %s::regclass AND contype IN ('f', 'u') ORDER BY conname",
                    [table],
                )
                saved.constraints = list(cursor.fetchall())
                cursor.execute(
                    "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
                    "WHERE i.indrelid = %s::regclass AND NOT i.indisprimary AND i.indexrelid NOT IN "
                    "(SELECT conindid FROM pg_constraint WHERE conrelid = %s::regclass) ORDER BY 1",
                    [table, table],
                )
                indexes = cursor.fetchall()
                saved.indexes = [definition for _name, definition in indexes]
                quoted = connection.ops.quote_name(table)
                for name, _definition in saved.constraints:
                    cursor.execute(f"ALTER TABLE {quoted} DROP CONSTRAINT {connection.ops.quote_name(name)}")
                for name, _definition in indexes:
                    cursor.execute(f"DROP INDEX {name}")
                self._saved.append(saved)

    def restore_keys(self) -> None:
        """Rebuild what drop_keys dropped: indexes, then unique constraints, then foreign keys."""
        if not self._saved:
            return
        started = time.perf_counter()
        with connection.cursor() as cursor:
            _settle_deferred_checks(cursor)
            for saved in self._saved:
                for definition in saved.indexes:
                    cursor.execute(definition)
            for kind in ("UNIQUE", "FOREIGN KEY"):
                for saved in self._saved:
                    quoted = connection.ops.quote_name(saved.table)
                    for name, definition in saved.constraints:
                        if definition.startswith(kind):
                            cursor.execute(
                                f"ALTER TABLE {quoted} ADD CONSTRAINT {connection.ops.quote_name(name)} {definition}"
                            )
        self._saved.clear()
        self.stats.setdefault("(indexes and keys rebuilt)", TableStats()).seconds += (
            time.perf_counter() - started
        )


def _settle_deferred_checks(cursor) -> None:
    # ALTER TABLE refuses a table with deferred foreign-key checks still pending in the transaction
    # (left by a flush or by earlier writes): run them now, then defer again.
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    cursor.execute("SET CONSTRAINTS ALL DEFERRED")


class Progress:
    """A one-line progress bar on a terminal, a line per tenth otherwise."""

    def __init__(self, label: str, total: int, write: Log) -> None:
        self.label, self.total, self.write = label, max(total, 1), write
        self.started = time.perf_counter()
        self.tty = sys.stdout.isatty()
        self._last_tenth = -1

    def update(self, done: int) -> None:
        elapsed = max(time.perf_counter() - self.started, 1e-6)
        share = min(done / self.total, 1.0)
        line = f"{self.label}: {done:,}/{self.total:,} ({share:4.0%}) {done / elapsed:,.0f}/s"
        if self.tty:
            bar = "#" * int(share * 30)
            sys.stdout.write(f"\r[{bar:<30}] {line}   ")
            sys.stdout.flush()
        elif int(share * 10) > self._last_tenth:
            self._last_tenth = int(share * 10)
            self.write(line)

    def done(self) -> None:
        if self.tty:
            sys.stdout.write("\n")
            sys.stdout.flush()
