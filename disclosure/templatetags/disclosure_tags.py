"""A disclosure's entry in a list, written in Python.

Boards show about 130 entries a page, lists 20, the home page 8. As an
included template each entry cost about half a millisecond (an include, two
date filters, a URL); this tag writes the same markup in a tenth of that.
The texts go through gettext as the template's did (same message ids).
"""

import html
from datetime import datetime

from django import template
from django.conf import settings
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from core import compiled, fragments
from core.content import NAMES, name_scope
from disclosure.models import Attachment, Disclosure

register = template.Library()

# What an entry shows of its row (`disclosure_entry`), with its unit's name
# when it names the unit: the columns a board or a list loads for entries.
ENTRY_FIELDS = (
    "id",
    "title",
    "scope",
    "public_from",  # the 先党内后党外 badge
    "period",
    "published_at",
    "posted_on",
    "taken_down_on",
)


@register.filter
def machine_time(value) -> str:
    """A <time datetime> value: local time to the second, with its offset.
    `|date:"c"` writes the microseconds every saved moment has, and HTML
    allows at most three decimals (the Nu checker rejects the page)."""
    if not value:
        return ""
    if isinstance(value, datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return value.isoformat(timespec="seconds")
    return value.isoformat()  # a date


def _day(value, with_year: bool) -> str:
    return (
        f"{value.year}年{value.month}月{value.day}日"
        if with_year
        else (f"{value.month}月{value.day}日")
    )


@register.simple_tag
def posting_dates(disclosure: Disclosure) -> str:
    """When the notice hung on the physical board (张贴于 … – …)."""
    start = _day(disclosure.posted_on, with_year=False)
    if disclosure.taken_down_on:
        end = _day(disclosure.taken_down_on, with_year=False)
        return _("张贴于 %(start)s – %(end)s") % {"start": start, "end": end}
    return _("%(start)s 起张贴") % {"start": start}


def disclosure_entry(
    disclosure: Disclosure,
    show_unit: bool = False,
    thumbnails: bool = False,
    photos=None,
) -> SafeString:
    """`thumbnails`: with its posting photos' (`photos`: those read already,
    in order; else its attachments')."""
    thumbs = SafeString("")
    if thumbnails:
        if photos is None:
            photos = disclosure.attachments.all()
        thumbs = format_html_join(
            "",
            '<img src="{}" alt="{}" class="board-thumb" loading="lazy" '
            'width="64" height="48">',
            (
                (attachment.thumbnail_url, _("张贴照片"))
                for attachment in photos
                if attachment.thumbnail and attachment.kind == "posting"
            ),
        )
    badge = (
        format_html(
            '<span class="badge badge-inner">{}</span>', disclosure.members_only_label
        )
        if disclosure.members_only_label
        else ""
    )
    meta = [disclosure.unit.name] if show_unit else []
    meta.append(disclosure.period_label)
    time_tag = ""
    if disclosure.published_at:
        published = timezone.localtime(disclosure.published_at)
        time_tag = format_html(
            '<time datetime="{}">{}</time>',
            machine_time(published),
            _day(published, with_year=True),
        )
    posting = (
        format_html(" · {}", posting_dates(disclosure)) if disclosure.posted_on else ""
    )
    return format_html(
        '<li class="disclosure-entry">{}<a href="{}">{}</a>{}'
        '<span class="meta">{} · {}{}</span></li>',
        thumbs,
        disclosure.get_absolute_url(),
        disclosure.title,
        format_html(" {} ", badge) if badge else " ",
        " · ".join(meta),
        time_tag,
        posting,
    )


@register.simple_tag
def board_archive(archive, period=None) -> SafeString:
    """A board's archive (往期公开): its periods, the one shown not a link.
    Written here, not in a template loop nor with format_html for each: a
    unit's ten years are some 170 periods, and the loop was half the time
    of making a board's body again."""
    shown = period.key if period else None
    # The standard library's escape, as Django's but without its check of
    # every argument for lazy text (the labels are text already): 1.3 ms of
    # a board's archive on its own.
    items = [
        f'<li class="list-inline-item"><strong aria-current="page">'
        f"{html.escape(p.label)}</strong></li>"
        if p.key == shown
        else f'<li class="list-inline-item"><a href="?period={html.escape(p.key)}">'
        f"{html.escape(p.label)}</a></li>"
        for p in archive
    ]
    return mark_safe(f'<ul class="list-inline archive-list">{"".join(items)}</ul>')


@register.simple_tag
def disclosure_entries(disclosures, source, show_unit: bool = False) -> SafeString:
    """The entries of these disclosures (a list's page, the home page's
    latest: their keys), each kept (`kept_entries`); `source`: the rows the
    reader may see, that chose them."""
    entries = kept_entries(disclosures, show_unit=show_unit, source=source)
    return SafeString("".join(entries))


def _entry_rows(source, show_unit: bool):
    """`source`'s rows as an entry reads them: its columns and, with
    `show_unit`, its unit's name. The listing's five-table join (for_listing)
    cost 6.4 ms to read one new entry's row at county scale, this 2.9."""
    if show_unit:
        return source.select_related("unit").only(*ENTRY_FIELDS, "unit__name")
    return source.only(*ENTRY_FIELDS)


def posting_photos(keys: list[int]) -> dict[int, list[Attachment]]:
    """The posting photos with a thumbnail of these disclosures (by key), in
    their attachments' order: from SQL kept per number of keys
    (core.compiled; a prefetch was built anew for each new entry)."""
    found: dict[int, list[Attachment]] = {key: [] for key in keys}
    if not keys:
        return found
    for photo in compiled.rows(
        Attachment,
        ("posting-photos",),
        lambda at, *keys: (
            Attachment.objects.filter(disclosure__in=keys, kind="posting")
            .exclude(thumbnail="")
            .only("id", "disclosure_id", "kind", "thumbnail")
        ),
        keys=keys,
    ):
        found[photo.disclosure_id].append(photo)
    return found


def kept_entries(
    disclosures,
    *,
    show_unit: bool = False,
    thumbnails: bool = False,
    loaded: bool = False,
    source=None,
) -> list[SafeString]:
    """The entries of these disclosures, in order, each kept as a fragment
    (core/fragments.py) until its disclosure's scope changes: the same for
    every reader who may see the disclosure (the page's query chose which),
    so keyed by disclosure, not by audience. A publication on a board makes
    its body again, not the thirty entries it still shows.

    `loaded`: the rows given carry what an entry shows (a board's query);
    the entries not kept are written from them (their posting photos read
    in one query, with `thumbnails`). Else only `pk` is read of them, and
    the rows of the entries not kept are loaded in one query from `source`,
    the rows the reader may see that chose them: one made 党内, withdrawn
    or deleted by another process between the two reads is left out (an
    empty entry), never written from a read that does not ask who reads.
    `source`: a queryset, or a `compiled.Source` (its SQL kept)."""
    if not loaded and source is None:
        raise ValueError("kept_entries: the rows not loaded are read from a source")
    language = get_language()
    rows = list(disclosures)
    variant = f"{int(show_unit)}:{language}" + (":thumbnails" if thumbnails else "")
    names = [f"entry:{d.pk}:{variant}" for d in rows]
    given = dict(zip(names, rows, strict=True))
    wanted = {name: _entry_scopes(d, show_unit) for name, d in given.items()}
    made_from: dict[int, Disclosure] = {}
    photos: dict[int, list] = {}

    def render(missing: list[str]) -> dict[str, str]:
        if loaded:
            made_from.update((given[n].pk, given[n]) for n in missing)
        elif isinstance(source, compiled.Source):
            # From SQL kept per source and number of rows (core.compiled):
            # after a publication its entry alone, and building the query
            # cost more than running it.
            keys = [given[n].pk for n in missing]
            found = compiled.rows(
                Disclosure,
                ("entry-rows", show_unit, *source.shape),
                lambda at, *keys: (
                    _entry_rows(source.build(at), show_unit)
                    .filter(pk__in=keys)
                    .order_by()
                ),
                keys=keys,
            )
            made_from.update((row.pk, row) for row in found)
        else:
            # By key, no order (the page's order is `rows`'): the ordering's
            # expressions cost a third of building the query.
            found = _entry_rows(source, show_unit).order_by()
            made_from.update(found.in_bulk(given[n].pk for n in missing))
        if thumbnails:  # whichever way the rows came
            photos.update(posting_photos(list(made_from)))
        return {
            name: disclosure_entry(
                made_from[given[name].pk],
                show_unit,
                thumbnails,
                photos.get(given[name].pk, ()) if thumbnails else None,
            )
            if given[name].pk in made_from
            else ""  # deleted since the page was listed
            for name in missing
        }

    def lifetime(missing: list[str]) -> float:
        # A 先党内后党外 badge goes at its public date; nothing else in an
        # entry changes without a save.
        now = timezone.now()
        coming = [
            d.public_from
            for d in made_from.values()
            if d.public_from is not None and d.public_from > now
        ]
        if not coming:
            return settings.PAGE_CACHE_MAX_SECONDS
        return (min(coming) - now).total_seconds()

    entries = fragments.kept_many(wanted, render, lifetime=lifetime, names_listed=True)
    return [entries[name] for name in names]


def _entry_scopes(disclosure, show_unit: bool) -> list[str]:
    """What an entry follows: its disclosure and, with `show_unit`, its
    unit's name (`content.name_scope`, which a change of the unit or of its
    town names), or every name (NAMES) if the key given holds no unit. An
    entry names nothing of the catalog: entries outlive a catalog's change,
    and a unit's elsewhere."""
    scopes = [f"disclosure:{disclosure.pk}"]
    if show_unit:
        unit_id = disclosure.__dict__.get("unit_id")  # not loaded: not read
        scopes.append(NAMES if unit_id is None else name_scope("unit", unit_id))
    return scopes
