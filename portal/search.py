"""Full-text search over disclosures and published 回音壁 submissions.

Chinese has no spaces between words, so the index works on character
trigrams, with the database's own machinery picked by vendor:

- SQLite (3.34+): an FTS5 table with the trigram tokenizer, `portal_search_fts`,
  holding a copy of `SearchEntry`'s title and body under the same rowid;
- PostgreSQL: pg_trgm GIN indexes on `SearchEntry` (`UPPER(title)`,
  `UPPER(body)`), which serve Django's `icontains` (``UPPER(..) LIKE``);
- anything else: a plain scan.

Both migrations are in `portal/migrations/0002_search_backend.py`. Trigrams
need 3 characters, so a query with a shorter word scans only the most recent
`SHORT_QUERY_SCAN` visible items, and the page says so.

Who may see a hit is never stored here: every query starts from
`visible_entries(user)`, which goes through `Disclosure.objects.visible_to`
and `Submission.objects.published()`.
"""

import re
import sqlite3
from dataclasses import dataclass

from django.db import connection
from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.db.models.expressions import RawSQL
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from disclosure.models import Disclosure
from feedback.models import Submission

from .models import SearchEntry

MAX_QUERY_LENGTH = 100
MAX_TERMS = 8
TRIGRAM = 3  # characters a trigram index needs in every word
SHORT_QUERY_SCAN = 1000  # recent items scanned for a 1–2 character word
FTS_TABLE = "portal_search_fts"
SNIPPET_CHARS = 120


# Which backend --------------------------------------------------------------


def sqlite_has_trigram() -> bool:
    return sqlite3.sqlite_version_info >= (3, 34, 0)


def backend() -> str:
    """'fts5', 'pg_trgm' or 'scan', from the database in use."""
    if connection.vendor == "sqlite" and sqlite_has_trigram():
        return "fts5"
    if connection.vendor == "postgresql":
        return "pg_trgm"
    return "scan"


# Keeping the index current ---------------------------------------------------


def index_disclosure(disclosure: Disclosure) -> None:
    _store(
        {"disclosure": disclosure},
        title=disclosure.title,
        # The index number (索引号) is searchable too, as on government sites.
        body="\n\n".join(p for p in [disclosure.body, disclosure.index_number] if p),
        date=disclosure.published_at or disclosure.created_at,
    )


def index_submission(submission: Submission) -> None:
    # The question and, once answered, the answer: what the wall may show.
    # Never the submitter's name or phone, nor the internal hiding reason.
    parts = [submission.text]
    if submission.is_answered:
        parts.append(submission.answer_text)
    _store(
        {"submission": submission},
        title=submission.title,
        body="\n\n".join(p for p in parts if p),
        date=submission.answered_at or submission.received_at,
    )


def _store(source: dict, *, title: str, body: str, date) -> None:
    entry, _ = SearchEntry.objects.update_or_create(
        **source, defaults={"title": title, "body": body, "date": date}
    )
    if backend() == "fts5":
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {FTS_TABLE} WHERE rowid = %s", [entry.pk])
            cursor.execute(
                f"INSERT INTO {FTS_TABLE} (rowid, title, body) VALUES (%s, %s, %s)",
                [entry.pk, title, body],
            )


def forget_entry(entry_id: int) -> None:
    """Drop an entry's FTS copy (the entry row goes with its source's CASCADE)."""
    if backend() == "fts5":
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {FTS_TABLE} WHERE rowid = %s", [entry_id])


def rebuild() -> int:
    """Index every disclosure and submission again; returns the entries made."""
    SearchEntry.objects.all().delete()
    if backend() == "fts5":
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {FTS_TABLE}")
    for disclosure in Disclosure.objects.iterator(chunk_size=500):
        index_disclosure(disclosure)
    for submission in Submission.objects.iterator(chunk_size=500):
        index_submission(submission)
    return SearchEntry.objects.count()


def on_disclosure_saved(sender, instance, **kwargs) -> None:
    index_disclosure(instance)


def on_submission_saved(sender, instance, **kwargs) -> None:
    index_submission(instance)


def on_entry_deleted(sender, instance, **kwargs) -> None:
    forget_entry(instance.pk)


# Querying --------------------------------------------------------------------


@dataclass
class Results:
    entries: QuerySet
    terms: list[str]
    limited_scan: bool  # a short word: only the most recent items were scanned


def parse_terms(query: str) -> list[str]:
    """Words separated by spaces; quotes and operators are plain characters."""
    return list(dict.fromkeys(query.split()))[:MAX_TERMS]


def visible_entries(user) -> QuerySet:
    return SearchEntry.objects.filter(
        Q(disclosure__in=Disclosure.objects.visible_to(user))
        | Q(submission__in=Submission.objects.published())
    )


def search(query: str, *, user, unit=None, kind: str = "") -> Results:
    terms = parse_terms(query)
    entries = visible_entries(user)
    if unit is not None:
        entries = entries.filter(Q(disclosure__unit=unit) | Q(submission__unit=unit))
    if kind == "feedback":
        entries = entries.filter(submission__isnull=False)
    elif kind:
        entries = entries.filter(disclosure__item__category__catalog__kind=kind)
    limited_scan = any(len(term) < TRIGRAM for term in terms)
    if limited_scan:
        recent = entries.order_by("-date", "-id").values("pk")[:SHORT_QUERY_SCAN]
        entries = entries.filter(pk__in=recent)
    elif backend() == "fts5":
        entries = entries.filter(pk__in=_fts_rowids(terms))
    # The exact match is always checked (the trigram index only narrows it).
    for term in terms:
        entries = entries.filter(Q(title__icontains=term) | Q(body__icontains=term))
    entries = entries.annotate(rank=_title_rank(query.strip(), terms)).order_by(
        "rank", "-date", "-id"
    )
    return Results(entries=entries, terms=terms, limited_scan=limited_scan)


def _fts_rowids(terms: list[str]):
    # Each word becomes a quoted FTS5 string ("" escapes a quote inside it), so
    # no user text is ever read as FTS syntax (NEAR, *, AND, column filters).
    match = " ".join('"' + term.replace('"', '""') + '"' for term in terms)
    return RawSQL(f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s", [match])


def _title_rank(phrase: str, terms: list[str]) -> Case:
    """0: the exact phrase in the title; 1: every word in the title; 2: the rest.

    Words typed with spaces count as a phrase written without them too
    (抗旱 救灾 → 抗旱救灾), as Chinese titles are.
    """
    exact = Q(title__icontains=phrase) | Q(title__icontains="".join(terms))
    every_word = Q()
    for term in terms:
        every_word &= Q(title__icontains=term)
    return Case(
        When(exact, then=Value(0)),
        When(every_word, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )


# Highlighting ----------------------------------------------------------------


def _matches(text: str, terms: list[str]) -> list[tuple[int, int]]:
    if not terms:
        return []
    pattern = re.compile(
        "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True)),
        re.IGNORECASE,
    )
    return [m.span() for m in pattern.finditer(text)]


def highlight(text: str, terms: list[str]) -> SafeString:
    """Escape the text, then wrap each match in <mark>: user text stays inert."""
    pieces = []
    last = 0
    for start, end in _matches(text, terms):
        pieces.append(escape(text[last:start]))
        pieces.append(f"<mark>{escape(text[start:end])}</mark>")
        last = end
    pieces.append(escape(text[last:]))
    return mark_safe("".join(pieces))  # every piece above was escaped


def snippet(text: str, terms: list[str], size: int = SNIPPET_CHARS) -> SafeString:
    """A window of the text around the first match, highlighted."""
    text = " ".join(text.split())
    spans = _matches(text, terms)
    start = max(0, spans[0][0] - size // 3) if spans else 0
    window = text[start : start + size]
    prefix = "…" if start > 0 else ""
    suffix = "…" if start + size < len(text) else ""
    return mark_safe(prefix + highlight(window, terms) + suffix)
