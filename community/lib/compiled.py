"""Queries the busiest pages run, compiled to SQL once per process instead of on every request.

Building and compiling a queryset is most of what a small query costs here: the session's user with its
two joined profiles took 1.5 ms of CPU a page through the ORM and 0.3 ms as the same SQL sent again
(measured in-process on the district database). PostgreSQL already keeps the statement prepared
(community.lib.database); this keeps Django's half of the work too.

Both kinds take a function that returns the queryset for given integer keys (a primary key, a
community's id, ...). It is called once per database alias with stand-in keys; its SQL, where each
stand-in sits among the parameters, and the compiler's map of columns are kept, and each call sends that
SQL with the real keys. `CompiledGet` builds the one instance as Django's ModelIterable does (the same
model, related objects from select_related, annotations, field converters; prefetch_related is not run:
prefetch_related_objects does that); `CompiledList` builds the instances of many rows, a window of them
at a time (LIMIT and OFFSET written into the SQL); `CompiledRows` gives the rows
of a values_list() queryset, named for `named=True`, all of them or a window likewise. A queryset whose
stand-ins do not come through as parameters is refused when it is first compiled, not answered wrongly,
and a key beyond a 64-bit integer finds nothing without a query.

Keys are integers, aware datetimes compared with DateTimeFields (a deadline against "now"), dates and
times compared with DateFields and TimeFields: those three are adapted for the database as their fields
adapt them. An integer key must be a value its column can hold (the stand-ins are about -2**31): Django
answers a lookup beyond a small integer column's range without a parameter, and such a query is refused.
A string key must reach the SQL as it is: an exact or `in` lookup, or `like` (community.lib.lookups) with
a pattern the caller made, not contains and its kin, which escape it and add wildcards (refused too)."""

import abc
import datetime as dt
import functools
import operator
import re
from collections.abc import Callable, Iterable
from weakref import ref as weak_ref

from django.db import connections, router
from django.db.models import Model, QuerySet
from django.db.models.base import ModelState
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.db.models.query import ModelIterable, NamedValuesListIterable, get_related_populators
from django.db.models.query_utils import DeferredAttribute
from django.db.models.signals import post_init, pre_init
from django.db.models.utils import create_namedtuple_class
from psycopg import sql

_BIGINT_MIN, _BIGINT_MAX = -(2**63), 2**63 - 1
_STAND_IN = -2_147_483_000  # keys no real row has: the first key's, then one less for each next key
_MOMENT_STAND_IN = dt.datetime(1901, 12, 13, 20, 45, 52, tzinfo=dt.UTC)  # then 1 µs later for each next key
_DAY_STAND_IN = dt.date(1901, 12, 13)  # then a day later for each next key
_TIME_STAND_IN = dt.time(3, 7, 11)  # then 1 µs later for each next key

type Key = int | dt.datetime | dt.date | dt.time | str


def _key(value) -> Key:
    """An integer, an aware datetime, a date, a time or a string, as it is; anything else is refused."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise TypeError("a compiled query takes aware datetimes")
        return value
    if isinstance(value, (dt.date, dt.time, str)):
        return value
    return operator.index(value)


def _stand_in(n: int, key: Key) -> Key:
    if isinstance(key, str):
        return f"\x00stand-in {n}\x00"  # no text a row holds: PostgreSQL refuses NUL in text
    if isinstance(key, dt.datetime):
        return _MOMENT_STAND_IN + dt.timedelta(microseconds=n)
    if isinstance(key, dt.date):
        return _DAY_STAND_IN + dt.timedelta(days=n)
    if isinstance(key, dt.time):
        return _TIME_STAND_IN.replace(microsecond=n + 1)
    return _STAND_IN - n


class _Statement:
    def __init__(self, queryset: QuerySet, alias: str, stand_ins: list) -> None:
        if queryset.query.is_sliced:
            raise ValueError("a compiled query is not sliced: CompiledList takes the window")
        compiler = queryset.query.get_compiler(using=alias)
        self.sql, params = compiler.as_sql()
        self.params = list(params)
        ops = connections[alias].ops
        # Each key's stand-in as the database receives it (a datetime, date or time adapted as its field does).
        adapters = [
            ops.adapt_datetimefield_value
            if isinstance(s, dt.datetime)
            else ops.adapt_datefield_value
            if isinstance(s, dt.date)
            else ops.adapt_timefield_value
            if isinstance(s, dt.time)
            else None
            for s in stand_ins
        ]
        sent = {}
        for n, (stand_in, adapt) in enumerate(zip(stand_ins, adapters, strict=True)):
            value = adapt(stand_in) if adapt else stand_in
            sent[type(value), value] = n
        self.slots = [
            (i, n, adapters[n])
            for i, p in enumerate(self.params)
            if (n := sent.get((type(p), p))) is not None
        ]
        if {n for _i, n, _adapt in self.slots} != set(range(len(stand_ins))):
            raise ValueError(f"a compiled query takes its keys as parameters, not {self.params!r}")
        if connections[alias].vendor == "postgresql":
            self._inline_constants(connections[alias])
        self.compiler = compiler
        # What results_iter() works out on every call, once: each column's converters (a dozen
        # get_db_converters() calls a statement, and comparisons of fields).
        fields = [column[0] for column in compiler.select[0 : compiler.col_count]]
        self.fields = fields
        self.converters = compiler.get_converters(fields)
        self.composite = compiler.has_composite_fields(fields)
        self.fetch_mode = queryset._fetch_mode
        if queryset._iterable_class is not ModelIterable:  # values_list(): rows, named if it asked for names
            named = queryset._iterable_class is NamedValuesListIterable
            self.row_class = create_namedtuple_class(*queryset._fields) if named else tuple
            return
        klass_info = compiler.klass_info
        start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        self.model = klass_info["model"]
        self.model_columns = slice(start, end)
        self.init_list = [column[0].target.attname for column in compiler.select[start:end]]
        self.populators = get_related_populators(klass_info, compiler.select, alias, queryset._fetch_mode)
        self.annotations = list(compiler.annotation_col_map.items())

    def converted(self, rows: list) -> Iterable:
        """The rows as results_iter() gives them: each value through its column's converters."""
        if self.converters:
            rows = self.compiler.apply_converters(rows, self.converters)
        if self.composite:
            rows = self.compiler.composite_fields_to_tuples(rows, self.fields)
        return rows

    def _inline_constants(self, connection) -> None:
        """Write the queryset's own constants (statuses, flags, …: every parameter but the keys) into the SQL
        as literals. PostgreSQL plans a prepared statement for its parameters each time unless a generic
        plan looks as cheap, and with `status IN ($1, $2, $3)` it cannot use a partial index made for
        `status IN ('new', 'accepted', 'in_progress')` in a generic plan: the queue's rows were planned on
        every call (0.6 of their 0.7 ms). With the constants written in, the generic plan is as good as
        the custom one and is kept. Strings, integers and booleans only, quoted by psycopg; a `%` in a
        literal is doubled, as the SQL still goes through psycopg's placeholders."""
        connection.ensure_connection()
        keys = {i: n for i, n, _adapt in self.slots}
        adapters = {i: adapt for i, _n, adapt in self.slots}
        parts, params, slots = [], [], []
        index = 0
        for token in _PLACEHOLDERS.split(self.sql):
            if token != "%s":
                parts.append(token)
                continue
            value = self.params[index]
            if index not in keys and isinstance(value, str | int):
                if isinstance(value, bool):
                    literal = "true" if value else "false"
                else:
                    plain = str(value) if isinstance(value, str) else int(value)
                    literal = sql.Literal(plain).as_string(connection.connection).replace("%", "%%")
                parts.append(literal)
            else:
                if index in keys:
                    slots.append((len(params), keys[index], adapters[index]))
                parts.append(token)
                params.append(value)
            index += 1
        self.sql, self.params, self.slots = "".join(parts), params, slots


_PLACEHOLDERS = re.compile(r"(%%|%s)")


class _Compiled:
    def __init__(self, model: type[Model], factory: Callable[..., QuerySet]) -> None:
        self.model = model
        self.factory = factory
        # By database alias and the types of the keys.
        self.statements: dict[tuple, _Statement] = {}

    def _run(
        self, keys: tuple, size: int | None, window: tuple[int, int] | None = None
    ) -> tuple[str, _Statement, list] | None:
        """The statement and the rows for these keys (at most `size`, or all; `window`: LIMIT and OFFSET);
        None when no row can have such a key."""
        keys = [_key(key) for key in keys]
        if any(type(key) is int and not _BIGINT_MIN <= key <= _BIGINT_MAX for key in keys):
            return None  # no row has such a key (a URL's <int:pk> takes any number of digits)
        alias = router.db_for_read(self.model)
        kinds = (alias, *map(type, keys))
        statement = self.statements.get(kinds)
        if statement is None:
            stand_ins = [_stand_in(n, key) for n, key in enumerate(keys)]
            statement = self.statements[kinds] = _Statement(self.factory(*stand_ins), alias, stand_ins)
        params = list(statement.params)
        for i, n, adapt in statement.slots:
            params[i] = adapt(keys[n]) if adapt else keys[n]
        sql = statement.sql
        if window is not None:
            # Written in (integers: nothing to quote) for the reason constants are (_inline_constants): a
            # LIMIT it cannot see makes the generic plan look dear. A page number makes a statement.
            limit, offset = window
            sql = f"{sql} LIMIT {int(limit)} OFFSET {int(offset)}"
        with connections[alias].cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall() if size is None else cursor.fetchmany(size)
        return alias, statement, rows


class CompiledGet(_Compiled):
    """`CompiledGet(User, lambda pk: User.objects.select_related(…).filter(pk=pk))(42)`: the instance with
    that key, or None. Read from the database the router names for reading the model, as the ORM would."""

    def __call__(self, *keys: Key) -> Model | None:
        found = self._run(keys, 2)
        if found is None or len(found[2]) != 1:
            return None
        alias, statement, rows = found
        (obj,) = _instances(alias, statement, rows)
        return obj


def _instances(alias: str, statement: _Statement, rows: list) -> list[Model]:
    """The rows as the model's instances, built as ModelIterable builds them."""
    objs = []
    model, fetch_mode = statement.model, statement.fetch_mode
    from_db = functools.partial(model.from_db, fetch_mode=fetch_mode)
    for row in statement.converted(rows):
        obj = _built(model, from_db, alias, statement.init_list, row[statement.model_columns], fetch_mode)
        for populator in statement.populators:
            _populate(populator, row, obj)
        for name, position in statement.annotations:
            setattr(obj, name, row[position])
        objs.append(obj)
    return objs


# Model.__init__ stores each value through the field's class attribute; these two store it in the
# instance's __dict__ (a foreign key's only clears a cached related object, which a new instance has none of).
_PLAIN_ATTRIBUTES = (DeferredAttribute, ForeignKeyDeferredAttribute)


def _class_attribute(model: type[Model], name: str):
    return next((klass.__dict__[name] for klass in model.__mro__ if name in klass.__dict__), None)


@functools.cache
def _stores_plainly(model: type[Model]) -> bool:
    """Whether `model.from_db()` comes down to a new ModelState and each value in the instance's __dict__:
    Django's own __new__, __init__ and from_db, and a plain attribute for every concrete field."""
    return (
        model.__new__ is object.__new__
        and model.__init__ is Model.__init__
        and model.from_db.__func__ is Model.from_db.__func__
        and all(
            type(_class_attribute(model, field.attname)) in _PLAIN_ATTRIBUTES
            for field in model._meta.concrete_fields
        )
    )


def _built(
    model: type[Model], from_db: Callable, alias: str, attnames: list[str], values, fetch_mode
) -> Model:
    """What `from_db(alias, attnames, values)` (the model's from_db with `fetch_mode` bound) gives: for a
    model that stores plainly (_stores_plainly) built without Model.__init__'s loop over the fields and its
    keyword handling (a third of the time, for the ~20 instances of a page); through from_db itself for any
    other model, or when something listens for the model's pre_init or post_init signal."""
    if not _stores_plainly(model) or pre_init.has_listeners(model) or post_init.has_listeners(model):
        return from_db(alias, attnames, values)
    obj = object.__new__(model)
    state = ModelState()
    state.adding = False
    state.db = alias
    if fetch_mode is not None:
        state.fetch_mode = fetch_mode
    stored = obj.__dict__
    stored["_state"] = state
    stored.update(zip(attnames, values, strict=True))
    return obj


def _populate(populator, row, from_obj: Model) -> None:
    """Django's RelatedPopulator.populate(row, from_obj) (a select_related object and its own), with the
    instances made by _built."""
    if populator.reorder_for_init:
        values = populator.reorder_for_init(row)
    else:
        values = row[populator.cols_start : populator.cols_end]
    if values[populator.pk_idx] is None:
        obj = None
    else:
        obj = _built(
            populator.model_cls,
            populator.from_db,
            populator.db,
            populator.init_list,
            values,
            populator.fetch_mode,
        )
        if populator.fetch_mode.track_peers:
            populator.peers.append(weak_ref(obj))
            obj._state.peers = populator.peers
        for related in populator.related_populators:
            _populate(related, row, obj)
    populator.local_setter(from_obj, obj)
    if obj is not None:
        populator.remote_setter(obj, from_obj)


class _Windowed(_Compiled, abc.ABC):
    @abc.abstractmethod
    def _rows(self, found: tuple[str, _Statement, list]) -> list:
        """The rows of a statement's answer, as this kind gives them."""

    def __call__(self, *keys: Key, offset: int = 0, limit: int | None = None) -> list:
        window = None if limit is None else (max(limit, 0), max(offset, 0))
        found = self._run(keys, None, window)
        return [] if found is None else self._rows(found)

    def window(self, *keys: Key, count: int) -> "Window":
        return Window(lambda offset, limit: self(*keys, offset=offset, limit=limit), count)


class CompiledList(_Windowed):
    """`CompiledList(Request, lambda community: Request.objects.filter(community=community).order_by("pk"))`:
    `(7, offset=50, limit=25)` gives instances of rows 51-75 (as the ORM's `[50:75]`; the queryset must
    order its rows), `(7)` all of them. `.window(7, count=n)` is the same for a Paginator."""

    def _rows(self, found: tuple[str, _Statement, list]) -> list[Model]:
        return _instances(*found)


class Window:
    """What a Paginator needs of a CompiledList's rows when the count is already known: the count, and a
    slice read with LIMIT/OFFSET."""

    def __init__(self, read: Callable[[int, int], list], count: int) -> None:
        self._read = read
        self._count = count

    def count(self) -> int:
        return self._count

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index: slice) -> list:
        if not isinstance(index, slice) or index.step is not None:
            raise TypeError("a window is read by a slice of consecutive rows")
        start, stop, _step = index.indices(self._count)
        return self._read(start, stop - start) if stop > start else []


class CompiledRows(_Windowed):
    """`CompiledRows(Building, lambda community: Building.objects.filter(community=community).values_list(…))(7)`:
    the rows of a values_list() queryset for these keys, as tuples (named ones for `named=True`); a window
    of them with `offset` and `limit` or `.window()`, as CompiledList's."""

    def _rows(self, found: tuple[str, _Statement, list]) -> list[tuple]:
        _alias, statement, rows = found
        new = tuple.__new__  # as NamedValuesListIterable makes its rows
        return [new(statement.row_class, row) for row in statement.converted(rows)]
