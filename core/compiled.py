"""A query's compiled SQL kept per shape, the moment its only new parameter.

On a page miss Django builds each queryset and compiles it again: for a
board's ranked rows (a window function, compiled as a subquery) that is
most of the query's cost, though the SQL is the same on every miss of that
board, for that audience, on that day; only "now" differs. `rows()` keeps
the SQL and what turns its rows into objects under the caller's `shape`
(everything the query is a function of but the moment) and runs it with
the moment put in.

The rule a caller keeps: `build(at)` uses `at` only as a parameter compared
with a date-time column. It is checked when a shape is first compiled: the
query is built and compiled at two moments far apart, and the two must
differ only in the parameters holding those moments (so the check sees
only what differs between the two: a build reading the clock itself, not
`at`, is not seen when the clock stands still). A query that does not
(a moment truncated to a date, a branch on it, a select_related, a
prefetch, values() as dictionaries) is run as Django runs it, every time.
Rows come as Django gives them: model objects (with their annotations),
tuples (values_list) or values (values_list(flat=True)).
"""

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connections, router
from django.db.models import DateTimeField, QuerySet
from django.db.models.query import (
    FlatValuesListIterable,
    ModelIterable,
    ValuesListIterable,
)
from django.utils import timezone

# Two moments no query compares with by chance (their microseconds), years
# apart so that a query branching on the year or the day shows it.
_PROBES = (
    datetime(2001, 2, 3, 4, 5, 6, 789012, tzinfo=UTC),
    datetime(2087, 10, 11, 12, 13, 14, 151617, tzinfo=UTC),
)
# Shapes kept a process: a county's boards × audiences × a day or two (at
# county scale 510 units: about 2,600 a day). Past it the older half is
# dropped (each made again at its next miss, a compile). A board's plan,
# with what it keeps alive, measured under 6 KB: 24 MB a worker at most.
# Shapes a request picks (a board's past period) can churn it, never grow it.
LIMIT = 4096

_MOMENT_FIELD = DateTimeField()
_plans: dict[tuple, "_Plan | None"] = {}
KINDS = (ModelIterable, ValuesListIterable, FlatValuesListIterable)
_lock = threading.Lock()


@dataclass(frozen=True)
class _Plan:
    sql: str
    params: tuple
    moments: tuple[int, ...]  # the positions in params holding the moment
    col_count: int
    trim: bool  # the cursor's rows carry columns past col_count (ordering)
    converters: tuple  # ((position, (functions, expression)), ...)
    kind: type  # ModelIterable, ValuesListIterable or FlatValuesListIterable
    model: type | None
    init_list: tuple[str, ...]
    model_columns: tuple[int, int]
    annotations: tuple[tuple[str, int], ...]


def rows(model, shape: tuple, build: Callable[[datetime], QuerySet], at=None) -> list:
    """`list(build(at))`, from SQL compiled once for `shape` (a hashable of
    everything the query depends on but the moment). `at`: now by default."""
    at = at or timezone.now()
    using = router.db_for_read(model)
    connection = connections[using]
    key = (using, connection.vendor, timezone.get_current_timezone_name(), shape)
    try:
        plan = _plans[key]
    except KeyError:
        plan = _compile(build, connection, using)
        with _lock:
            if len(_plans) >= LIMIT:
                # The older half (yesterday's boards first): in order made.
                for old in list(_plans)[: LIMIT // 2]:
                    _plans.pop(old, None)
            _plans[key] = plan
    if plan is None:
        return list(build(at))
    return _run(plan, connection, using, at)


def forget() -> None:
    """Drop every plan (tests that change what a shape compiles to)."""
    with _lock:
        _plans.clear()


def _compile(build, connection, using) -> "_Plan | None":
    compiled = [_sql(build(probe), connection, using) for probe in _PROBES]
    if any(c is None for c in compiled):
        return None
    (first, queryset, compiler), (second, _, _) = compiled
    if first[0] != second[0] or len(first[1]) != len(second[1]):
        return None
    adapted = [connection.ops.adapt_datetimefield_value(p) for p in _PROBES]
    moments = []
    for position, (one, other) in enumerate(zip(first[1], second[1], strict=True)):
        if one == other and one != adapted[0]:
            continue
        if one == adapted[0] and other == adapted[1]:
            moments.append(position)
        else:
            return None  # the moment in another form: not a parameter alone
    fields = [s[0] for s in compiler.select[: compiler.col_count]]
    converters = tuple(compiler.get_converters(fields).items())
    if compiler.has_composite_fields(fields):
        return None
    common = {
        "sql": first[0],
        "params": tuple(first[1]),
        "moments": tuple(moments),
        "col_count": compiler.col_count,
        "trim": compiler.has_extra_select,
        "converters": converters,
    }
    if queryset._iterable_class is not ModelIterable:
        return _Plan(
            **common,
            kind=queryset._iterable_class,
            model=None,
            init_list=(),
            model_columns=(0, 0),
            annotations=(),
        )
    info = compiler.klass_info
    start, end = info["select_fields"][0], info["select_fields"][-1] + 1
    return _Plan(
        **common,
        kind=ModelIterable,
        model=info["model"],
        init_list=tuple(f[0].target.attname for f in compiler.select[start:end]),
        model_columns=(start, end),
        annotations=tuple(compiler.annotation_col_map.items()),
    )


def _sql(queryset: QuerySet, connection, using):
    """(sql, params), the queryset and its compiler; None if its rows need
    more than a row's columns turned into an object or a tuple (related
    objects, prefetches, dictionaries, named tuples)."""
    if queryset._iterable_class not in KINDS:
        return None
    if queryset._prefetch_related_lookups or queryset._known_related_objects:
        return None
    if queryset.db != using:
        return None
    compiler = queryset.query.get_compiler(using=using, connection=connection)
    try:
        sql = compiler.as_sql()
    except EmptyResultSet:
        return None
    info = compiler.klass_info
    if queryset._iterable_class is ModelIterable and (
        not info or info.get("related_klass_infos")
    ):
        return None
    return sql, queryset, compiler


def _run(plan: _Plan, connection, using, at) -> list:
    params = list(plan.params)
    if plan.moments:
        # As a DateTimeField puts it (a date or a naive time read in
        # TIME_ZONE, with Django's warning), not the bare adapter.
        moment = _MOMENT_FIELD.get_db_prep_value(at, connection)
        for position in plan.moments:
            params[position] = moment
    with connection.cursor() as cursor:
        cursor.execute(plan.sql, params)
        fetched = cursor.fetchall()
    if plan.trim:
        fetched = [row[: plan.col_count] for row in fetched]
    if plan.converters:
        fetched = _converted(fetched, plan.converters, connection)
    if plan.kind is FlatValuesListIterable:
        return [row[0] for row in fetched]
    if plan.kind is ValuesListIterable:
        return [tuple(row) for row in fetched]
    start, end = plan.model_columns
    made = []
    for row in fetched:
        obj = plan.model.from_db(using, plan.init_list, row[start:end])
        for name, position in plan.annotations:
            setattr(obj, name, row[position])
        made.append(obj)
    return made


def _converted(fetched, converters, connection) -> list[Any]:
    # As SQLCompiler.apply_converters, with this request's connection.
    out = []
    for row in fetched:
        row = list(row)
        for position, (functions, expression) in converters:
            value = row[position]
            for function in functions:
                value = function(value, expression, connection)
            row[position] = value
        out.append(row)
    return out
