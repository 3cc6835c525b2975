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
prefetch_related_objects does that); `CompiledRows` gives the rows of a values_list() queryset, named
for `named=True`. A queryset whose stand-ins do not come through as parameters is refused when it is
first compiled, not answered wrongly, and a key beyond a 64-bit integer finds nothing without a query."""

import operator
from collections.abc import Callable

from django.db import connections, router
from django.db.models import Model, QuerySet
from django.db.models.query import ModelIterable, NamedValuesListIterable, get_related_populators
from django.db.models.utils import create_namedtuple_class

_BIGINT_MIN, _BIGINT_MAX = -(2**63), 2**63 - 1
_STAND_IN = -2_147_483_000  # keys no real row has: the first key's, then one less for each next key


class _Statement:
    def __init__(self, queryset: QuerySet, alias: str, keys: int) -> None:
        compiler = queryset.query.get_compiler(using=alias)
        self.sql, params = compiler.as_sql()
        self.params = list(params)
        stand_ins = {_STAND_IN - n: n for n in range(keys)}
        self.slots = [
            (i, stand_ins[p]) for i, p in enumerate(self.params) if type(p) is int and p in stand_ins
        ]
        if {key for _i, key in self.slots} != set(range(keys)):
            raise ValueError(f"a compiled query takes its keys as parameters, not {self.params!r}")
        self.compiler = compiler
        self.fetch_mode = queryset._fetch_mode
        if queryset._iterable_class is not ModelIterable:  # values_list(): rows, named if it asked for names
            named = queryset._iterable_class is NamedValuesListIterable
            self.row_class = create_namedtuple_class(*queryset._fields) if named else tuple
            return
        klass_info = compiler.klass_info
        start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        self.model = klass_info["model"]
        self.fields = slice(start, end)
        self.init_list = [column[0].target.attname for column in compiler.select[start:end]]
        self.populators = get_related_populators(klass_info, compiler.select, alias, queryset._fetch_mode)
        self.annotations = list(compiler.annotation_col_map.items())


class _Compiled:
    def __init__(self, model: type[Model], factory: Callable[..., QuerySet]) -> None:
        self.model = model
        self.factory = factory
        self.statements: dict[str, _Statement] = {}

    def _run(self, keys: tuple, size: int | None) -> tuple[str, _Statement, list] | None:
        """The statement and the rows for these keys (at most `size`, or all); None when no row can have
        such a key."""
        keys = [operator.index(key) for key in keys]  # integers only: they pass to SQL unchanged
        if any(not _BIGINT_MIN <= key <= _BIGINT_MAX for key in keys):
            return None  # no row has such a key (a URL's <int:pk> takes any number of digits)
        alias = router.db_for_read(self.model)
        statement = self.statements.get(alias)
        if statement is None:
            stand_ins = [_STAND_IN - n for n in range(len(keys))]
            statement = self.statements[alias] = _Statement(self.factory(*stand_ins), alias, len(keys))
        params = list(statement.params)
        for i, key in statement.slots:
            params[i] = keys[key]
        with connections[alias].cursor() as cursor:
            cursor.execute(statement.sql, params)
            rows = cursor.fetchall() if size is None else cursor.fetchmany(size)
        return alias, statement, rows


class CompiledGet(_Compiled):
    """`CompiledGet(User, lambda pk: User.objects.select_related(…).filter(pk=pk))(42)`: the instance with
    that key, or None. Read from the database the router names for reading the model, as the ORM would."""

    def __call__(self, *keys: int) -> Model | None:
        found = self._run(keys, 2)
        if found is None or len(found[2]) != 1:
            return None
        alias, statement, rows = found
        (row,) = statement.compiler.results_iter(results=[rows])
        obj = statement.model.from_db(
            alias, statement.init_list, row[statement.fields], fetch_mode=statement.fetch_mode
        )
        for populator in statement.populators:
            populator.populate(row, obj)
        for name, position in statement.annotations:
            setattr(obj, name, row[position])
        return obj


class CompiledRows(_Compiled):
    """`CompiledRows(Building, lambda community: Building.objects.filter(community=community).values_list(…))(7)`:
    the rows of a values_list() queryset for these keys, as tuples (named ones for `named=True`)."""

    def __call__(self, *keys: int) -> list[tuple]:
        found = self._run(keys, None)
        if found is None:
            return []
        _alias, statement, rows = found
        new = tuple.__new__  # as NamedValuesListIterable makes its rows
        return [new(statement.row_class, row) for row in statement.compiler.results_iter(results=[rows])]
