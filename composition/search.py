"""Full-text search over disclosures and published 回音壁 submissions.

Chinese has no spaces between words, so the index works on character
trigrams, with the database's own machinery picked by vendor:

- SQLite (3.34+): an FTS5 table with the trigram tokenizer, `portal_search_fts`,
  holding a copy of `SearchEntry`'s title and body under the same rowid;
- PostgreSQL: pg_trgm GIN indexes on `SearchEntry` (`UPPER(title)`,
  `UPPER(body)`), which serve Django's `icontains` (``UPPER(..) LIKE``);
- anything else: a plain scan.

Both are made in `portal/migrations/0002_search_backend.py`. Trigrams need 3
characters, so a query with a shorter word scans only the most recent
`SHORT_QUERY_SCAN` visible items, and the page says so.

Who may see a hit: each entry carries its source's visibility facts (`live`,
`visible_from`, `inner_party`, `branch`, `public_from`), written with its
text on every save of the document from its `search_document()`
(registered in its app's ready(), core/documents.py), whose facts sit next
to the querysets whose rule they mirror (`published()`, `within_scope()`).
`visible_entries(user)` reads them, and `disclosure.models.Reader` (as
`within_scope`) decides who sees 党内, 党组织内部 and 先党内后党外 entries. A
scheduled publication is stored as its time, so it shows by itself. The unit
and kind filters read the source rows, from the small side (a unit's few
hundred rows; the item of each match), never a join over every disclosure.

What a search returns: the newest `MAX_RESULTS` visible matches,
best first (the exact phrase in the title, then every word in the title, then
the rest; newest first within each), and whether there were more. A resident
typing a frequent topic (危房改造 matches 26,000 entries at county scale)
wants the recent notices and answers, not page 1,300, and ranking and
counting every match cost a second a request. So the newest matches are
looked for in the last `RECENT_WINDOW` first, where the trigram and date
indexes together leave the database a thousand or two rows to check, and in
the whole index only when the window holds too few, which means the word is
rare enough to check every match. With more than `MAX_RESULTS`, the page says
so, lists the newest, and suggests narrowing by unit, kind or another word.
"""

import hashlib
import re
import sqlite3
import unicodedata
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape

from django.conf import settings
from django.db import connection, transaction
from django.db.models import (
    Case,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from catalog.models import Item
from catalog.page_scopes import CATALOG
from core import caching, documents, events
from core.content import ANY, OwnDue
from disclosure.models import Disclosure, Reader
from disclosure.services import MADE_INNER_PARTY
from feedback import kept_counts

from .models import SearchEntry

MAX_QUERY_LENGTH = 100
MAX_TERMS = 8
TRIGRAM = 3  # characters a trigram index needs in every word
SHORT_QUERY_SCAN = 1000  # recent items scanned for a 1–2 character word
MAX_RESULTS = 1000  # matches ranked and listed: the newest ones
RECENT_WINDOW = timedelta(days=180)  # looked at first for the newest matches
FTS_TABLE = "portal_search_fts"
SNIPPET_CHARS = 120
SCOPE_BUCKETS = 1 << 16  # "search:0000" … "search:ffff" (page_scope)
# Named by every search page and kept list of matches beside its word's
# bucket: a change to the facts of thousands of entries at once (an item
# made 党内) stales the search pages alone, not every kept figure of the
# county as the global version would (the 回音壁's recount of every town:
# about half a second at county scale).
INDEX = "search"


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


def source_field(model) -> str:
    """The SearchEntry field naming a document of `model`: one per registered
    document model (tests/core/test_registries.py checks they match)."""
    return model._meta.model_name


def index(instance, *, created: bool = False) -> None:
    model = type(instance)._meta.concrete_model
    _store({source_field(model): instance}, instance.search_document(), created)


def _store(source: dict, fields: dict, created: bool) -> None:
    # A row just inserted has no entry yet: a plain INSERT, not update_or_create's
    # savepoint, locking SELECT and INSERT (a third of a 回音壁 POST's queries).
    before = None
    if created:
        entry = SearchEntry.objects.create(**source, **fields)
    else:
        # update_or_create's steps, keeping the text as it was: the search
        # pages that found it before must follow too (bump_text_scopes).
        with transaction.atomic():
            entry = SearchEntry.objects.select_for_update().filter(**source).first()
            if entry is None:
                entry = SearchEntry.objects.create(**source, **fields)
            else:
                before = (entry.live, entry.title, entry.body)
                for name, value in fields.items():
                    setattr(entry, name, value)
                entry.save(update_fields=list(fields))
    bump_text_scopes([before, (entry.live, entry.title, entry.body)])
    if backend() == "fts5":
        with connection.cursor() as cursor:
            if not created:
                cursor.execute(f"DELETE FROM {FTS_TABLE} WHERE rowid = %s", [entry.pk])
            cursor.execute(
                f"INSERT INTO {FTS_TABLE} (rowid, title, body) VALUES (%s, %s, %s)",
                [entry.pk, entry.title, entry.body],
            )


def bump_text_scopes(versions) -> None:
    """The search pages that may show an entry with these texts go stale:
    `versions` are (live, title, body) as it was and as it is (None: not
    there). One that no reader could find, before nor after (a draft), none."""
    if not _bumping[0]:
        return
    scopes = set()
    for version in versions:
        if version is not None and version[0]:
            scopes.update(text_scopes(version[1], version[2]))
    if scopes:
        caching.bump_scopes(sorted(scopes))


def forget_entry(entry_id: int) -> None:
    """Drop an entry's FTS copy (the entry row goes with its source's CASCADE)."""
    if backend() == "fts5":
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {FTS_TABLE} WHERE rowid = %s", [entry_id])


# Whether a write of the index bumps its search pages' scopes (not while the
# whole index is rebuilt: every page is made stale once, at the end).
_bumping = [True]


def rebuild() -> int:
    """Index every disclosure and submission again; returns the entries made."""
    _bumping[0] = False
    try:
        SearchEntry.objects.all().delete()
        if backend() == "fts5":
            with connection.cursor() as cursor:
                cursor.execute(f"DELETE FROM {FTS_TABLE}")
        for model in documents.document_models.values():
            for instance in model.objects.iterator(chunk_size=500):
                index(instance)
        # Nor the units' counts of cases kept in the database: counted again
        # now, not by the first visitor.
        kept_counts.refresh()
    finally:
        _bumping[0] = True
        # The global version, not INDEX alone: a rebuild follows a bulk load
        # or a restore (README), after which no kept page or figure is of
        # the data there is.
        caching.bump_version()
    return SearchEntry.objects.count()


def on_event(event: events.Event) -> None:
    """Keep the index as the documents change (listens to core.events)."""
    if event.model in documents.document_parts:
        _on_part_event(event)
        return
    model = documents.document_models.get(event.model)
    if model is None:
        return
    if event.name == "saved":
        index(event.instance, created=event.created)
    elif event.name == MADE_INNER_PARTY:
        # Set-based like the change it follows (follow_item_scope): of the
        # facts, only the scope's changed, to what visibility_facts() says.
        # Thousands of rows at once, seldom: every search page goes stale
        # rather than reading every text for its scopes (the disclosures'
        # own scopes follow the event: core.caching.on_event).
        caching.bump_scopes([INDEX])
        SearchEntry.objects.filter(
            **{f"{source_field(model)}_id__in": event.ids}
        ).update(
            inner_party=True,
            branch=Subquery(
                Disclosure.objects.filter(
                    pk=OuterRef(f"{source_field(model)}_id")
                ).values("branch_id")[:1]
            ),
            public_from=None,
        )


def _on_part_event(event: events.Event) -> None:
    """A part of a document (a case's earlier round) changed: write its
    document again. A part deleted may go with its document (a CASCADE):
    written again after the commit, if the document is still there."""
    if event.instance is None or event.name not in ("saved", "deleted"):
        return
    fk = documents.document_parts[event.model]
    field = type(event.instance)._meta.get_field(fk)
    document_id = getattr(event.instance, field.attname)
    model = field.related_model

    def write() -> None:
        if document := model.objects.filter(pk=document_id).first():
            index(document)

    if event.name == "saved":
        write()
    else:
        transaction.on_commit(write)


def on_entry_deleted(sender, instance, **kwargs) -> None:
    forget_entry(instance.pk)
    bump_text_scopes([(instance.live, instance.title, instance.body)])


# The search page's scopes -----------------------------------------------------
#
# A search page lists the entries matching its words (each word in the title
# or the body, whatever the case), so only a change to an entry holding its
# words, before or after the change, changes it (the rest it shows, units and
# catalog kinds, names NAMES, which every page reads). Such an entry holds every trigram
# of every word: the page names one of them ("search:<bucket>", a hash of the
# trigram: a bounded number of versions), and a write of an entry that a
# reader could find, before or after, bumps the buckets of every trigram of
# its texts as they were and as they are (`bump_text_scopes`). Every such
# page names INDEX too, which a change to many entries at once bumps.
#
# Case: the databases fold case when they compare (PostgreSQL's UPPER, SQLite's
# LIKE for ASCII). A trigram is named only if its characters are ASCII (folded
# with upper()) or letters with no case (Chinese: category Lo); an entry's
# text is folded whole with upper(), which maps at least what the databases
# map to such a character (ſ to S, ı to I). A word of one or two characters
# scans the newest items (SHORT_QUERY_SCAN), which any publication shifts, and
# a query with no such trigram (an accented word): every change ("any").


def _namable(char: str) -> bool:
    return (char.isascii() and char.isprintable()) or unicodedata.category(char) == "Lo"


def _bucket(trigram: str) -> str:
    number = zlib.crc32(trigram.encode()) % SCOPE_BUCKETS
    return f"search:{number:04x}"


def text_scopes(*texts: str) -> set[str]:
    """The buckets of every namable trigram of these texts, folded."""
    scopes = set()
    for text in texts:
        folded = text.upper()
        namable = [_namable(c) for c in folded]
        for start in range(len(folded) - TRIGRAM + 1):
            if all(namable[start : start + TRIGRAM]):
                scopes.add(_bucket(folded[start : start + TRIGRAM]))
    return scopes


def query_scopes(query: str) -> list[str]:
    """The scopes of the search page for this query (see above): none if it
    lists nothing (no word: the form alone)."""
    if len(query) > MAX_QUERY_LENGTH:
        return [ANY]  # refused by the form (400): not kept
    terms = parse_terms(query)
    if not terms:
        return []
    if any(len(term) < TRIGRAM for term in terms):
        return [ANY]
    for term in sorted(terms, key=len, reverse=True):
        for start in range(len(term) - TRIGRAM + 1):
            trigram = term[start : start + TRIGRAM]
            if all(_namable(c) for c in trigram):
                return [_bucket(trigram.upper()), INDEX]
    return [ANY]


def page_scope(request, kwargs) -> list[str]:
    """The search page's scopes (core.content.cached_views): those of its
    query (the form's `q`: the last one given)."""
    return query_scopes(request.GET.get("q", ""))


# When a search page changes by the clock ------------------------------------
#
# Its words' bucket is a county-wide scope: by it alone a page would live
# until the county's next scheduled publication (some 25 a day at county
# scale). A page lists only the entries holding its words, so it changes by
# the clock only when one of those comes due: its own next change is the
# first time after now that such an entry turns visible to anyone (`live`,
# its `visible_from` or `public_from` ahead; for every reader at once: a
# reader's own moment is never earlier). A save of a scheduled entry holding
# the words bumps the bucket that keeps this time (bump_text_scopes), so a
# new one is seen; a short word or a query with no namable trigram names
# "any" and keeps the county's.


def next_visible(terms: list[str], after: datetime) -> datetime | None:
    """The first time after `after` that an entry holding every term turns
    visible to a reader, looked for within PAGE_CACHE_MAX_SECONDS (no page
    lives longer): the end of that span if none does. An index read of the
    day's few scheduled entries (some 25 at county scale), not of the
    thousands a frequent word matches nor of every scheduled one."""
    end = after + timedelta(seconds=settings.PAGE_CACHE_MAX_SECONDS)
    ahead = Q(visible_from__gt=after, visible_from__lte=end) | Q(
        public_from__gt=after, public_from__lte=end
    )
    rows = SearchEntry.objects.filter(ahead, live=True)
    for term in terms:
        rows = rows.filter(Q(title__icontains=term) | Q(body__icontains=term))
    times = rows.values_list("visible_from", "public_from")
    found = [t for row in times for t in row if t is not None and after < t <= end]
    return min(found, default=end)


def own_due(query: str) -> OwnDue | None:
    """A search page's own next change (see above), or None for a query
    whose scopes are the county's or none."""
    scopes = query_scopes(query)
    if not scopes or scopes == [ANY]:
        return None
    terms = parse_terms(query)
    digest = hashlib.sha256("\x00".join(terms).encode()).hexdigest()[:32]
    return OwnDue(
        f"next-due:search-words:{digest}",
        lambda after: next_visible(terms, after),
    )


def page_due(request, kwargs) -> OwnDue | None:
    """The search page's own next change (core.content.cached_views)."""
    return own_due(request.GET.get("q", ""))


# Querying --------------------------------------------------------------------


@dataclass
class Results:
    entries: QuerySet  # every visible match, unordered
    terms: list[str]
    limited_scan: bool  # a short word: only the most recent items were scanned
    ids: list[int]  # the newest MAX_RESULTS matches, best first
    capped: bool  # there are more matches than `ids`


def parse_terms(query: str) -> list[str]:
    """Words separated by spaces; quotes and operators are plain characters."""
    return list(dict.fromkeys(query.split()))[:MAX_TERMS]


def visible_entries(user) -> QuerySet:
    """The entries this user may find: `visible_to` / `published()` as stored."""
    entries = SearchEntry.objects.filter(
        Q(visible_from__isnull=True) | Q(visible_from__lte=timezone.now()),
        live=True,
    )
    # As DisclosureQuerySet.within_scope, on the facts stored.
    reader = Reader.of(user)
    if reader.every_branch:
        return entries
    if reader.party_member:
        return entries.filter(Q(branch__isnull=True) | Q(branch=reader.branch_id))
    return entries.filter(
        Q(public_from__isnull=True) | Q(public_from__lte=timezone.now()),
        inner_party=False,
    )


def search(query: str, *, user, unit=None, kind: str = "") -> Results:
    terms = parse_terms(query)
    entries = visible_entries(user)
    if unit is not None:
        entries = entries.filter(pk__in=_unit_entries(unit))
    if kind == "feedback":
        entries = entries.filter(submission__isnull=False)
    elif kind:
        entries = entries.alias(item=_item_of_disclosure()).filter(
            item__in=Item.objects.filter(category__catalog__kind=kind).values("pk")
        )
    limited_scan = any(len(term) < TRIGRAM for term in terms)
    if limited_scan:
        recent = entries.order_by("-date", "-id").values("pk")[:SHORT_QUERY_SCAN]
        entries = entries.filter(pk__in=recent)
    elif backend() == "fts5":
        entries = entries.filter(pk__in=_fts_rowids(terms))
    # The exact match is always checked (the trigram index only narrows it).
    for term in terms:
        entries = entries.filter(Q(title__icontains=term) | Q(body__icontains=term))

    def find() -> tuple[list[int], bool]:
        newest = _newest_matches(
            entries.annotate(rank=_title_rank(query.strip(), terms)),
            # A short word's matches are at most SHORT_QUERY_SCAN recent items,
            # a unit's are found from its few hundred rows: no need to narrow.
            recent_first=not limited_scan and unit is None,
        )
        # Best first; sorted() is stable, so each rank stays newest first.
        ranked = sorted(newest[:MAX_RESULTS], key=lambda row: row[1])
        return [pk for pk, _ in ranked], len(newest) > MAX_RESULTS

    ids, capped = _kept_matches(query, user, unit, kind, find)
    return Results(
        entries=entries,
        terms=terms,
        limited_scan=limited_scan,
        ids=ids,
        capped=capped,
    )


def _kept_matches(query, user, unit, kind, find):
    """`find()`'s ids, kept per query, filters and audience (`Reader.key`:
    what a reader may find) under the search page's scopes (`query_scopes`:
    a change to an entry holding the words, "any" for a short word), until
    the next entry holding the words comes due (`own_due`: visible_from,
    public_from; a short word: the county's next), past a quiet
    minute and midnight (`caching.until_scheduled`: what is found does not
    depend on the day), a day at most: every page of the results reads them,
    and the page made after a change reads them anew. Filtered by a catalog
    kind, the catalog's too (CATALOG: an item moved to another catalog, a
    catalog's kind changed), which no entry's write names."""
    scopes = query_scopes(query)
    if scopes == [ANY]:
        scopes = None  # `cached`'s "may read anything"
    elif kind and kind != "feedback":
        scopes = [*scopes, CATALOG]
    facts = f"{Reader.of(user).key}|{unit.pk if unit else ''}|{kind}|{query}"
    digest = hashlib.sha256(facts.encode()).hexdigest()[:32]
    return caching.cached(
        f"search-matches:{digest}",
        find,
        scopes=scopes,
        seconds=caching.until_scheduled(scopes, own=own_due(query)),
    )


def _unit_entries(unit) -> QuerySet:
    """A unit's entries, found from its disclosures and submissions: a few
    hundred rows by their unit indexes, whatever the search term."""
    return (
        SearchEntry.objects.filter(disclosure__unit=unit)
        .values("pk")
        .union(SearchEntry.objects.filter(submission__unit=unit).values("pk"), all=True)
    )


def _item_of_disclosure() -> Subquery:
    """The entry's catalog item, looked up row by row: unlike a join, the
    database cannot turn this into a plan that reads the disclosures first, so
    the matches still come from the trigram index and only they are looked up.
    It reads only the item of entries `visible_entries` already admitted."""
    disclosure = Disclosure.objects.filter(pk=OuterRef("disclosure_id"))
    return Subquery(disclosure.values("item_id"))


def _newest_matches(matches: QuerySet, *, recent_first: bool) -> list[tuple]:
    """(pk, rank) of the newest MAX_RESULTS + 1 matches, newest first.

    The last RECENT_WINDOW first: a frequent word has more than enough matches
    there, and the database checks only those (the trigram index and the date
    index together). The whole index only when the window holds too few.
    """
    # NULLS LAST is not the date index's order, so the database never walks
    # that index hoping to meet the matches soon (a filter the planner thinks
    # common, such as a kind, made that a scan of the whole table); it takes
    # the matches from the trigram index and sorts them.
    newest_first = (F("date").desc(nulls_last=True), "-id")
    rows = matches.order_by(*newest_first).values_list("pk", "rank")
    if recent_first:
        since = timezone.now() - RECENT_WINDOW
        recent = list(rows.filter(date__gte=since)[: MAX_RESULTS + 1])
        if len(recent) > MAX_RESULTS:
            return recent
    return list(rows[: MAX_RESULTS + 1])


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
    """Escape the text, then wrap each match in <mark>: user text stays inert.
    The standard library's escape, as Django's but without its check of
    every argument for lazy text: a page of hits escapes some 250 pieces."""
    pieces = []
    last = 0
    for start, end in _matches(text, terms):
        pieces.append(escape(text[last:start]))
        pieces.append(f"<mark>{escape(text[start:end])}</mark>")
        last = end
    pieces.append(escape(text[last:]))
    return mark_safe("".join(pieces))  # every piece above was escaped


def shown_body(entry: SearchEntry) -> str:
    """The text a hit's snippet is cut from: the source's own text, without
    the index number that `disclosure_fields` appends to a disclosure's body so
    that it can be searched (a hit shows the number on its own line)."""
    number = entry.disclosure.index_number if entry.disclosure_id else ""
    if number:
        return entry.body.removesuffix(number).rstrip()
    return entry.body


def snippet(text: str, terms: list[str], size: int = SNIPPET_CHARS) -> SafeString:
    """A window of the text around the first match, highlighted."""
    text = " ".join(text.split())
    spans = _matches(text, terms)
    start = max(0, spans[0][0] - size // 3) if spans else 0
    window = text[start : start + size]
    prefix = "…" if start > 0 else ""
    suffix = "…" if start + size < len(text) else ""
    return mark_safe(prefix + highlight(window, terms) + suffix)
