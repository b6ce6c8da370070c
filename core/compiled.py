"""A query's compiled SQL kept per shape, the moment its only new parameter.

On a page miss Django builds each queryset and compiles it again: for a
board's ranked rows (a window function, compiled as a subquery) that is
most of the query's cost, though the SQL is the same on every miss of that
board, for that audience, on that day; only "now" differs. `rows()` keeps
the SQL and what turns its rows into objects under the caller's `shape`
(everything the query is a function of but the moment) and runs it with
the moment put in.

A query may also take keys as parameters (`keys`: a row's key, the keys of
an IN list, whose length is then part of the shape): `build(at, *keys)`,
each key, as the moment, only a parameter.

The rule a caller keeps: `build(at)` uses `at` only as a parameter compared
with a date-time column. It is checked when a shape is first compiled: the
query is built and compiled at two moments far apart, and the two must
differ only in the parameters holding those moments (so the check sees
only what differs between the two: a build reading the clock itself, not
`at`, is not seen when the clock stands still). A query that does not
(a moment truncated to a date, a branch on it, a prefetch, values() as
dictionaries) is run as Django runs it, every time. Rows come as Django
gives them: model objects (with their annotations and the related objects
of a select_related), tuples (values_list) or values
(values_list(flat=True)).

On PostgreSQL the pages' own shapes (not those holding CHOSEN) run as
prepared statements, their parameters bound by the server (`_cursor`):
the server then plans a statement once a connection, not on every run.
Planning a card of the 回音壁 (eight tables joined for its related objects)
took 3–4 ms where running it took 0.2. The server keeps planning each run
anew for a statement's first five runs and then uses a plan of its own for
every parameter only if that is estimated no dearer (`plan_cache_mode`
auto: a key whose rows are many is not read by a plan made for a few).
psycopg keeps the last 100 statements prepared a connection
(`prepared_max`); a made-up selection's shape would only push the pages'
own out, so it runs as Django runs it. A rollback on the connection (an
error inside a transaction, a 回音壁 post retried after a tracking-code
clash) makes psycopg deallocate every statement: a statement may have been
prepared inside what was undone. The next runs prepare them again.
"""

import functools
import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connections, models, router
from django.db.models import DateTimeField, QuerySet
from django.db.models.query import (
    FlatValuesListIterable,
    ModelIterable,
    ValuesListIterable,
    get_related_populators,
)
from django.utils import timezone

try:
    import psycopg  # noqa: F401

    _psycopg3 = True
except ImportError:  # pragma: no cover - psycopg2 or SQLite only
    _psycopg3 = False

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
LIMIT = 4096
# Shapes holding CHOSEN (what a request chose: a filter selection, a board's
# past period) are kept apart, past it their older half dropped: a crawler
# making up selections churns only those, never the plans of the pages
# themselves (a board, the home page, a disclosure). 12 MB a worker at most.
CHOSEN_LIMIT = 2048

# Two values for each key a query takes, only compiled, never run: of
# either sign (a build branching on a key's sign shows it), the first run
# rising and the second falling by other steps (a build ordering its keys, or
# shifting one onto another's value, shows it), within every integer
# column's range (past it Django leaves the lookup out). (start, step).
_KEY_PROBES = ((-2_000_000_001, 7_919), (2_100_000_001, -104_729))
_INT = 2**31  # a 4-byte integer column's (an AutoField's) range
# Keys a shape may take: an IN list of a page's rows, not an unbounded one.
MAX_KEYS = 100

_MOMENT_FIELD = DateTimeField()
_plans: dict[tuple, "_Plan | None"] = {}
_chosen: dict[tuple, None] = {}  # the keys of _plans holding CHOSEN, in order made
KINDS = (ModelIterable, ValuesListIterable, FlatValuesListIterable)
_lock = threading.Lock()


class _Chosen:
    """The mark, in a shape, of a value a request chose (`form_shape`'s of a
    filter selection, a board's past period): any number of such shapes can
    be made up, so their plans are kept apart (CHOSEN_LIMIT)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "CHOSEN"


CHOSEN = _Chosen()


@dataclass(frozen=True)
class _Plan:
    sql: str
    params: tuple
    moments: tuple[int, ...]  # the positions in params holding the moment
    keys: tuple[tuple[int, int], ...]  # (position in params, which key)
    col_count: int
    trim: bool  # the cursor's rows carry columns past col_count (ordering)
    converters: tuple  # ((position, (functions, expression)), ...)
    kind: type  # ModelIterable, ValuesListIterable or FlatValuesListIterable
    model: type | None
    init_list: tuple[str, ...]
    model_columns: tuple[int, int]
    annotations: tuple[tuple[str, int], ...]
    related: tuple  # django's RelatedPopulators (select_related), stateless


@dataclass(frozen=True)
class Source:
    """Rows a query reads from, as kept SQL knows them: `build(at)` gives
    them at a moment, and `shape` is everything they are a function of but
    the moment (a caller's rows read by key from them: `rows(...,
    (*shape, ...), lambda at, *keys: build(at).filter(pk__in=keys))`)."""

    shape: tuple
    build: Callable[..., QuerySet]


# A paginator's slices kept past this offset would be plans a crawler
# walking every page makes once and never again: run as Django.
MAX_KEPT_OFFSET = 200


class Sliced:
    """A queryset's slices (a paginator's pages, `Paginator(Sliced(...))`
    with its count given) from SQL kept per `shape` and slice; `build(at)`
    gives the queryset (its moment a parameter, as `rows`'). A slice past
    MAX_KEPT_OFFSET, or anything but a slice, runs as Django."""

    def __init__(self, model, shape: tuple, build: Callable[..., QuerySet]):
        self.model, self.shape, self.build = model, shape, build

    def __getitem__(self, item):
        if (
            not isinstance(item, slice)
            or item.step is not None
            or not isinstance(item.start, int)
            or not isinstance(item.stop, int)
            or not 0 <= item.start < MAX_KEPT_OFFSET
        ):
            return self.build(timezone.now())[item]
        return rows(
            self.model,
            (*self.shape, item.start, item.stop),
            lambda at: self.build(at)[item],
        )


def form_shape(source: str, cleaned: dict, linked: tuple[str, ...] = ()) -> tuple:
    """What a queryset filtered by a form is a function of, as a shape:
    where it comes from and the form's cleaned values, rows by their keys
    (the selection's text names a unit by its slug, which may come to name
    another: the 回音壁's and the list's filters). With a value chosen but
    of the `linked` fields (what the site's own links choose, a page of its
    own: a unit's list), the shape holds CHOSEN: its plans are kept apart
    from the pages' own (a crawler's made-up selections churn only each
    other)."""

    def plain(value):
        if isinstance(value, models.Model):
            return (value._meta.label, value.pk)
        if isinstance(value, slice):  # a date range
            return (plain(value.start), plain(value.stop))
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, (list, tuple, set, frozenset)):
            return tuple(sorted(map(plain, value), key=repr))
        if value is None or isinstance(value, (str, int, bool)):
            return value
        return (type(value).__name__, repr(value))

    def given(value) -> bool:  # an empty date range is (None, None)
        if isinstance(value, tuple):
            return any(map(given, value))
        return not (value is None or value is False or value == "")

    values = sorted((key, plain(v)) for key, v in cleaned.items())
    if any(given(value) for key, value in values if key not in linked):
        return (source, CHOSEN, *values)
    return (source, *values)


def rows(
    model,
    shape: tuple,
    build: Callable[..., QuerySet],
    at=None,
    keys: tuple[int, ...] = (),
    planned_each_run: bool = False,
) -> list:
    """`list(build(at, *keys))`, from SQL compiled once for `shape` (a
    hashable of everything the query depends on but the moment and the
    keys; with their number). `at`: now by default. `keys`: integers (of a
    4-byte integer's range, at most MAX_KEYS, or run as Django runs them).
    `planned_each_run`: not prepared, the server plans it with its values
    each time, for a query whose best plan depends on them (a range of
    periods and a moment that every row is before: a plan made for any
    value, after the fifth run, also reads an index of the moment)."""
    at = at or timezone.now()
    keys = tuple(keys)
    if len(keys) > MAX_KEYS or not all(type(k) is int and abs(k) < _INT for k in keys):
        # Django finds no row for a key past its column's range (a made-up
        # number in a URL), where the database would refuse the parameter.
        return list(build(at, *keys))
    using = router.db_for_read(model)
    connection = connections[using]
    key = (using, connection.vendor, timezone.get_current_timezone_name(), shape)
    if keys:
        key += (len(keys),)  # an IN list's length is in the SQL
    chosen = CHOSEN in shape
    try:
        plan = _plans[key]
    except KeyError:
        plan = _compile(build, len(keys), connection, using)
        _keep(key, plan, chosen)
    if plan is None:
        return list(build(at, *keys))
    return _run(
        plan, connection, using, at, keys, prepare=not (chosen or planned_each_run)
    )


def _keep(key: tuple, plan: "_Plan | None", chosen: bool) -> None:
    """Keep `plan` in its pool, past the pool's limit the older half (at
    least one) dropped first; a limit under one keeps nothing."""
    limit = CHOSEN_LIMIT if chosen else LIMIT
    if limit < 1:
        return
    with _lock:
        if chosen:
            if len(_chosen) >= limit:
                for old in list(_chosen)[: max(1, limit // 2)]:
                    del _chosen[old]
                    _plans.pop(old, None)
            _chosen[key] = None
        elif len(_plans) - len(_chosen) >= limit:
            # The older half (yesterday's boards first): in order made.
            mine = (old for old in _plans if old not in _chosen)
            for old in list(itertools.islice(mine, max(1, limit // 2))):
                _plans.pop(old, None)
        _plans[key] = plan


def linked(query, *names: str) -> tuple[str, ...]:
    """Those of `names` (a form's fields the site's own links choose) that
    `query` (request.GET) gives at most once, as a link does: a field
    repeated is a made-up selection (`form_shape`'s `linked`)."""
    return tuple(name for name in names if len(query.getlist(name)) <= 1)


def forget() -> None:
    """Drop every plan (tests that change what a shape compiles to)."""
    with _lock:
        _plans.clear()
        _chosen.clear()


def _probe_keys(probe: tuple[int, int], count: int) -> tuple[int, ...]:
    start, step = probe
    return tuple(start + n * step for n in range(count))


def _compile(build, count: int, connection, using) -> "_Plan | None":
    compiled = []
    for moment, probe in zip(_PROBES, _KEY_PROBES, strict=True):
        try:
            queryset = build(moment, *_probe_keys(probe, count))
        except Exception:
            # A build refusing a probe (a negative slice, a value out of a
            # field's choices): run as Django, which gives its own answer.
            return None
        compiled.append(_sql(queryset, connection, using))
    if any(c is None for c in compiled):
        return None
    (first, queryset, compiler), (second, _, _) = compiled
    if first[0] != second[0] or len(first[1]) != len(second[1]):
        return None
    adapted = [connection.ops.adapt_datetimefield_value(p) for p in _PROBES]
    probes = [_probe_keys(p, count) for p in _KEY_PROBES]
    moments, keys = [], []
    for position, (one, other) in enumerate(zip(first[1], second[1], strict=True)):
        if one == adapted[0] and other == adapted[1]:
            moments.append(position)
        elif type(one) is int and one in probes[0]:
            which = probes[0].index(one)
            if other != probes[1][which]:
                return None
            keys.append((position, which))
        elif one != other or one == adapted[0] or other in probes[1]:
            # The moment or a key in another form: not a parameter alone.
            return None
    fields = [s[0] for s in compiler.select[: compiler.col_count]]
    converters = tuple(compiler.get_converters(fields).items())
    if compiler.has_composite_fields(fields):
        return None
    common = {
        "sql": first[0],
        "params": tuple(first[1]),
        "moments": tuple(moments),
        "keys": tuple(keys),
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
            related=(),
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
        related=tuple(get_related_populators(info, compiler.select, using)),
    )


def _sql(queryset: QuerySet, connection, using):
    """(sql, params), the queryset and its compiler; None if its rows need
    more than a row's columns turned into objects or a tuple (prefetches,
    dictionaries, named tuples)."""
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
    if queryset._iterable_class is ModelIterable and not compiler.klass_info:
        return None
    return sql, queryset, compiler


def _cursor(connection, *, prepare: bool):
    """A cursor for kept SQL: on PostgreSQL (psycopg 3) one binding its
    parameters on the server and preparing what it runs (see above), set up
    as Django's `create_cursor` sets up its own (timestamps read in the
    connection's time zone) and wrapped as Django wraps its own (the query
    log, execute wrappers, database errors); else, or for a made-up
    selection, Django's own."""
    if not prepare or connection.vendor != "postgresql" or not _psycopg3:
        return connection.cursor()
    from django.db.backends.postgresql import base

    connection.close_if_health_check_failed()
    connection.ensure_connection()
    if connection.connection.prepare_threshold is None:
        # Prepared statements off (settings: DATABASE_PREPARED_STATEMENTS).
        return connection.cursor()
    preparing, logged = _classes()
    with connection.wrap_database_errors:
        raw = preparing(connection.connection)
        loader = connection.connection.adapters.get_loader(
            base.TIMESTAMPTZ_OID, base.Format.TEXT
        )
        if connection.timezone != loader.timezone:
            base.register_tzloader(connection.timezone, raw)
    connection.validate_thread_sharing()
    if connection.queries_logged:
        return logged(raw, connection)
    return connection.make_cursor(raw)


@functools.cache
def _classes() -> tuple[type, type]:
    from django.db.backends.postgresql.base import (
        CursorDebugWrapper,
        ServerBindingCursor,
    )

    class Preparing(ServerBindingCursor):
        """Prepares what it runs from the first run (psycopg's default:
        from the sixth)."""

        def execute(self, query, params=None, *, prepare=True, binary=None):
            return super().execute(query, params, prepare=prepare, binary=binary)

    class Logged(CursorDebugWrapper):
        """Logs the SQL with its values in, as Django logs its own (the
        server's $1 otherwise): query logs and tests read the same text."""

        def execute(self, sql, params=None):
            with self.debug_sql(self.db.ops.compose_sql(sql, params)):
                return self._execute_with_wrappers(
                    sql, params, many=False, executor=self._execute
                )

    return Preparing, Logged


def _run(plan: _Plan, connection, using, at, keys: tuple, *, prepare: bool) -> list:
    params = list(plan.params)
    for position, which in plan.keys:
        params[position] = keys[which]
    if plan.moments:
        # As a DateTimeField puts it (a date or a naive time read in
        # TIME_ZONE, with Django's warning), not the bare adapter.
        moment = _MOMENT_FIELD.get_db_prep_value(at, connection)
        for position in plan.moments:
            params[position] = moment
    with _cursor(connection, prepare=prepare) as cursor:
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
        for populator in plan.related:
            populator.populate(row, obj)
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
