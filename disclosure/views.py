from django.conf import settings
from django.db.models import F, Window
from django.db.models.functions import RowNumber
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import condition

from catalog import periods
from catalog.models import Category, DisclosureForm, Item, Scope
from catalog.page_scopes import CATALOG, CATEGORIES, COUNTED, GROUPED
from core import caching, compiled, fragments
from core.content import NAMES
from core.pagination import BadPage, paginate

from . import board_extras, page_scopes, roles
from .filters import DisclosureFilter
from .models import (
    Attachment,
    Disclosure,
    DisclosureEvent,
    InspectionPhoto,
    Reader,
    Unit,
)
from .templatetags.disclosure_tags import ENTRY_FIELDS, kept_entries

# How many notices a board column shows before pointing to the full list.
COLUMN_SIZE = 8


def board_list(request):
    units = (
        Unit.objects.with_boards()
        .select_related("parent")
        .prefetch_related("notice_boards")
    )
    return render(request, "disclosure/unit_list.html", {"units": units})


def board_etag(request, slug) -> str | None:
    """Conditional GET for anonymous visitors, with no query of its own.

    The cache version in every ETag (`caching.etag`) moves with any public
    change; what the clock changes on a board is a scheduled publication or
    public date coming due (the board's next scheduled change after now
    moves then: the one its body's lifetime asks for, kept) and what comes
    off display (the date). An unknown board is a 404 here (no scope
    version left behind).
    """
    if request.user.is_authenticated:
        return None
    unit, _boards = _board_unit(slug)
    due = _board_due(request, unit)
    return caching.etag(request, due.at(), timezone.localdate())


def _board_due(request, unit: Unit) -> caching.Due:
    """The next scheduled change on this board, shared by the ETag's figures
    and the kept columns of one request."""
    due = getattr(request, "_board_due", None)
    if due is None:
        due = request._board_due = unit_due(unit)
    return due


def unit_due(unit: Unit) -> caching.Due:
    """The next scheduled change in a unit's scope ("unit:<slug>")."""
    due = caching.Due([f"unit:{unit.slug}"])
    # What content.next_change finds for "unit:<slug>", read by the unit's
    # key in one query (both kinds of time): the two by slug planned a join
    # each, on every miss after the unit's publication.
    due.read_from(
        lambda after: (
            Disclosure.objects.filter(unit=unit.pk)
            .next_scheduled_by_unit(after, shape=("unit", unit.pk))
            .get(unit.pk)
        )
    )
    return due


def _board_unit(slug: str) -> tuple[Unit, list]:
    """The unit of a board and its notice boards (404 if none), kept until a
    unit or notice board changes (NAMES: such a change names it, with the
    unit's own scopes)."""

    def look_up() -> tuple[Unit, list]:
        unit = get_object_or_404(
            Unit.objects.with_boards().select_related("parent"), slug=slug
        )
        return unit, list(unit.notice_boards.all())

    return caching.cached(f"board-unit:{slug}", look_up, scopes=[caching.NAMES])


@condition(etag_func=board_etag)
def board(request, slug):
    unit, notice_boards = _board_unit(slug)
    # Read as the reader of this board: one copy for every branch but the
    # unit's own (Reader.on_board_of, page_scopes.board_audience).
    reader = Reader.of(request.user).on_board_of(unit)
    if reader.branch_id:
        # Read as the unit's own branch (its 党组织内部 rows): never kept in the
        # copy every branch shares, whatever the key was narrowed from (the
        # session's slug; a rename may have come in between).
        request.page_own_audience_only = True
    period_key = request.GET.get("period", "")
    period = None
    status = 200
    error = ""
    if period_key:
        try:
            period = periods.Period.parse(period_key)
        except periods.InvalidPeriod:
            error = _("期间“%(key)s”无效，已显示当前在栏内容。") % {
                "key": period_key[:20]
            }
            status = 400
    today = timezone.localdate()
    due = _board_due(request, unit)
    scopes = due.scopes
    # The columns and the archive, kept until the unit's scope changes, a
    # scheduled publication in it comes due or the day ends (core/fragments.py);
    # per audience: a party member's board shows 党内 notices.
    # The head (the unit, its notice boards and links) is the same for every
    # reader and day: what it shows names NAMES (a unit, a notice board).
    head = f"board-head:{unit.slug}:{get_language()}"
    body = (
        f"board:{unit.slug}:{period.key if period else ''}:{reader.key}:"
        f"{today}:{get_language()}"
    )

    def render_parts(names: list[str]) -> dict[str, str]:
        made = {}
        if head in names:
            made[head] = render_to_string(
                "disclosure/includes/board_head.html",
                {"unit": unit, "notice_boards": notice_boards},
            )
        if body in names:
            made[body] = render_to_string(
                "disclosure/includes/board_body.html",
                board_body_context(unit, reader, period, today),
            )
        return made

    parts = fragments.kept_many(
        {head: [*scopes, NAMES], body: [*scopes, *body_names(unit)]},
        render_parts,
        lifetime=lambda names: due.fragment_seconds(),
        names_listed=True,
    )
    context = {
        "unit": unit,
        "period": period,
        "error": error,
        "board_head": parts[head],
        "board_body": parts[body],
    }
    return render(request, "disclosure/unit_board.html", context, status=status)


def body_names(unit: Unit) -> list[str]:
    """The scopes of the names a board's body shows: the catalog's as its
    columns read it (the categories, named, ordered and of a kind:
    CATEGORIES; those with items for the unit's level: COUNTED; the column
    of each row's item: GROUPED) and those of what other apps add
    (`board_extras.names_shown`; NAMES if one does not say). Its unit's own
    change (a kind: the columns its level has) names "unit:<slug>", which
    the body reads already. Its entries show no name (`kept_entries`); its
    head, the unit and its notice boards, follows NAMES. A unit renamed
    elsewhere, a notice board, a body or an item renamed leave it kept."""
    extra = board_extras.names_shown(unit)
    return [CATEGORIES, COUNTED, GROUPED, *(extra if extra is not None else [NAMES])]


def board_body_context(unit: Unit, reader: Reader, period, today) -> dict:
    """What a board's columns and archive show (includes/board_body.html),
    for `reader` (narrowed to the board: `Reader.on_board_of`)."""

    def visible(at):
        return Disclosure.objects.published(at).for_reader(reader, at).for_unit(unit)

    def shown(at):
        rows = visible(at)
        rows = rows.filter(period=period.key) if period else rows.on_display(today)
        # Only what the columns show (and one more, for their "more" link),
        # ranked in the database: a unit's ten years are hundreds of rows.
        rows = rows.annotate(
            rank_in_column=Window(
                RowNumber(),
                partition_by=F("item__category"),
                order_by=[F("published_at").desc(), F("id").desc()],
            )
        ).filter(rank_in_column__lte=COLUMN_SIZE + 1)
        # A board shows about 130 rows: only what an entry needs, and the
        # column from the item without loading items, categories and catalogs.
        return rows.only(*ENTRY_FIELDS).annotate(column=F("item__category_id"))

    def archive(at):
        return (
            visible(at)
            .order_by("-period_start", "period")
            .values_list("period", flat=True)
            .distinct()
        )

    # Made again after every publication in the unit: the two queries'
    # SQL kept per board, audience and day (building and compiling the
    # ranked rows was two thirds of their cost), run at this moment.
    shape = (unit.pk, reader.key)
    columns = board_columns(
        unit,
        compiled.rows(
            Disclosure,
            # A past period is a request's choice (any month of ten years):
            # kept apart from the boards' own plans (compiled.CHOSEN).
            (
                "board",
                *shape,
                *((compiled.CHOSEN, period.key) if period else ("",)),
                today,
                COLUMN_SIZE,
            ),
            shown,
        ),
    )
    # Each entry kept apart (their posting photos read for those not kept):
    # a publication here makes this body again, not the entries it still shows.
    rows = [d for column in columns for d in column["disclosures"]]
    entries = dict(
        zip(
            (d.pk for d in rows),
            kept_entries(rows, thumbnails=True, loaded=True),
            strict=True,
        )
    )
    for column in columns:
        # One string a column: the template's loop over some 130 entries was
        # a fifth of writing the body.
        column["entries"] = SafeString(
            "".join(entries[d.pk] for d in column["disclosures"])
        )
    return {
        "unit": unit,
        "period": period,
        "columns": columns,
        "archive": periods.labelled(
            compiled.rows(Disclosure, ("board-archive", *shape), archive)
        ),
        # What other apps add (the 回音壁's latest answers): the current board only.
        "extra_columns": [] if period else board_extras.columns(unit),
    }


def board_columns(
    unit: Unit, disclosures, size: int | None = COLUMN_SIZE
) -> list[dict]:
    """The unified columns (统一栏目): every category at the unit's level, in order.

    Each disclosure carries its category's id as `column` (an annotation);
    a column holds `size` of them (None: all)."""
    categories = board_categories(unit.board_level)
    by_category: dict[int, list] = {}
    for disclosure in disclosures:
        by_category.setdefault(disclosure.column, []).append(disclosure)
    return [
        {
            "category": category,
            "disclosures": by_category.get(category.pk, [])[:size],
            "more": size is not None and len(by_category.get(category.pk, [])) > size,
        }
        for category in categories
    ]


def board_categories(level: str) -> list[Category]:
    """The unified columns of a level's boards ("town", "village"): the
    categories with an item for that level, in the catalog's order, kept
    until the catalog changes (a board made again after a publication does
    not read them again)."""
    return caching.cached(
        f"board-categories:{level}",
        lambda: list(
            Category.objects.select_related("catalog")
            .filter(**{f"items__for_{level}": True})
            .distinct()
        ),
        scopes=[CATALOG],
    )


# The list's filters that read the catalog (an item's category, its kind).
CATALOG_FILTERS = ("kind", "category", "item")


def count_scopes(chosen: dict) -> list[str] | None:
    """What a list's count reads: one unit's rows ("unit:<slug>"), or one
    period's (its year's: a disclosure names its period's year), or any;
    and the catalog when filtered by kind, category or item (an item moved
    to another category)."""
    catalog = [CATALOG] if any(chosen.get(f) for f in CATALOG_FILTERS) else []
    if chosen.get("unit"):
        return [f"unit:{chosen['unit'].slug}", *catalog]
    period = chosen.get("period") or ""
    return [f"year:{period[:4]}", *catalog] if period[:4].isdigit() else None


def count_lifetime(chosen: dict):
    """A list's count lives until what it counts changes (`count_scopes`: every
    change names one) or the next publication comes due in it: the page is
    made again then, and must not read the count from before it. One unit's:
    that unit's rows (an index read); else the county's (kept,
    core.caching.next_due). Past a quiet minute and midnight, a day at most
    (`caching.until_scheduled`)."""
    if chosen.get("unit"):
        return unit_due(chosen["unit"]).kept_seconds
    return caching.until_scheduled(None)


def disclosure_list(request):
    reader = Reader.of(request.user)
    if unit_slug := page_scopes.listed_unit(request):
        # Filtered to one unit: read as its board is (page_scopes.list_audience).
        reader = reader.on_list_of(unit_slug)
    if reader.branch_id:
        # The own branch's 党组织内部 rows may be listed: never kept in the copy
        # every branch shares, whatever the key was narrowed from.
        request.page_own_audience_only = True

    def visible(at=None):
        return Disclosure.objects.published(at).for_reader(reader, at)

    f = DisclosureFilter(
        request.GET, queryset=visible(), user=request.user, reader=reader
    )
    context = {"filter": f, "page": None, "bad_page": False}
    if not f.is_valid():
        return render(request, "disclosure/disclosure_list.html", context, status=400)

    def listed(at):
        # The selection as the form chose it, of the rows visible at `at`.
        return f.filter_queryset(visible(at))

    # What the selection is a function of: its page's keys and its entries'
    # rows from SQL kept per audience and filter selection (core.compiled).
    # A unit's list is linked from its board: a page of its own, not chosen.
    cleaned = f.form.cleaned_data
    shape = (
        reader.key,
        *compiled.form_shape(
            "list", cleaned, linked=compiled.linked(request.GET, "unit")
        ),
    )
    context["entries_source"] = compiled.Source(("list", *shape), listed)
    try:
        context["page"] = paginate(
            request,
            # Which rows, in order: their entries are kept (disclosure_entries).
            compiled.Sliced(
                Disclosure,
                ("list-page", *shape),
                # And the unit, whose name its entry follows (kept_entries).
                lambda at: listed(at).only("id", "unit_id"),
            ),
            20,
            count=lambda: caching.cached(
                f"list-count:{reader.key}:{caching.selection(request)}",
                f.qs.count,
                scopes=count_scopes(f.form.cleaned_data),
                seconds=count_lifetime(f.form.cleaned_data),
            ),
        )
    except BadPage:
        context["bad_page"] = True
        return render(request, "disclosure/disclosure_list.html", context, status=400)
    return render(request, "disclosure/disclosure_list.html", context)


def disclosure_detail(request, pk):
    # The next scheduled change in it: the kept row's and article's lifetime.
    due = caching.Due([f"disclosure:{pk}"])
    disclosure = _visible_disclosure(request.user, pk, due)
    if disclosure is None and request.user.is_staff:
        # 在站点上查看 a draft or one under review: staff who may open it in
        # the back office preview it as it will look, marked as a preview.
        Status = Disclosure.Status
        preview = (
            roles.staff_disclosures(request.user)
            .exclude(status=Status.WITHDRAWN)
            .exclude(status=Status.PUBLISHED, published_at__lte=timezone.now())
            .with_related()
            .filter(pk=pk)
            .first()
        )
        if preview is not None:
            response = render(
                request,
                "disclosure/disclosure_detail.html",
                {**detail_context(preview), "preview": True},
            )
            response["Cache-Control"] = "private, no-store"
            response["X-Robots-Tag"] = "noindex"
            return response
    if disclosure is None:
        withdrawn = (
            Disclosure.objects.once_public()
            .within_scope(request.user)
            .filter(pk=pk)
            .first()
        )
        if withdrawn is None:
            raise Http404(_("没有找到该公开内容。"))
        return render(
            request,
            "disclosure/disclosure_withdrawn.html",
            {"disclosure": withdrawn},
            status=410,
        )
    if disclosure.scope == Scope.BRANCH:
        # Its branch's alone: never a copy shared by every branch's members
        # (page_scopes.detail_audience decided before the row was read).
        request.page_own_audience_only = True
    scopes = due.scopes
    # The article (forms, tables, attachments, trail, the requests it
    # answered: five queries) kept until the disclosure's scope changes,
    # something in it comes due or the day ends (公示 days left), per audience
    # (every branch's members share it: Reader.on_page_of); its querysets
    # are made only when it is rendered.
    reader = Reader.of(request.user).on_page_of(disclosure)
    article = fragments.kept(
        f"article:{disclosure.pk}:{reader.key}:{timezone.localdate()}:{get_language()}",
        scopes,
        lambda: render_to_string(
            "disclosure/includes/disclosure_article.html",
            detail_context(disclosure, kept_sql=True),
        ),
        lifetime=due.fragment_seconds,
    )
    return render(
        request,
        "disclosure/disclosure_detail.html",
        {"disclosure": disclosure, "article": article},
    )


def _visible_disclosure(user, pk: int, due: caching.Due) -> Disclosure | None:
    """The disclosure with what its page shows, if this user may read it.

    Kept per reader as its article is (below): until its scope changes (an
    edit, withdrawal, a narrower scope), something in it comes due (its
    publication or public date) or a name it shows changes (its unit, item
    or catalog renamed: NAMES)."""

    reader = Reader.of(user)
    found = []

    def build(at, key):
        # No ORDER BY for one row by its key (first() would order it).
        return (
            Disclosure.objects.visible_to(user, at)  # the audience: reader.key
            .with_related()
            .with_article_flags()
            .filter(pk=key)
            .order_by()[:1]
        )

    def look_up() -> Disclosure | None:
        # From SQL kept per audience (core.compiled): its six tables and
        # three EXISTS took longer to build and compile than to run.
        rows = compiled.rows(Disclosure, ("detail-row", reader.key), build, keys=(pk,))
        row = next(iter(rows), None)
        found.append(row is not None)
        if row is not None:
            # The scope's one row, just read: its next scheduled change
            # (the lifetime of what is kept of it) needs no query.
            due.read_from(row.scheduled_after)
        return row

    def seconds() -> float:
        # None (a made-up number, a withdrawn or unpublished row) is not kept.
        return due.value_seconds() if found[0] else 0.0

    return caching.cached(
        f"detail-row:{pk}:{reader.key}",
        look_up,
        # With its unit, item and catalog: their names (NAMES).
        scopes=[*due.scopes, caching.NAMES],
        seconds=seconds,
    )


# What the public trail shows of an event (never who acted, or a comment).
TRAIL_FIELDS = ("action", "acting_body", "secrecy_reviewed", "migrated", "at")


def _trail(at, key):
    return DisclosureEvent.objects.filter(
        disclosure=key, action__in=DisclosureEvent.PUBLIC_ACTIONS
    ).only(*TRAIL_FIELDS)


def _forms(at, key):
    return DisclosureForm.objects.filter(disclosures=key)


def detail_context(disclosure: Disclosure, *, kept_sql: bool = False) -> dict:
    """What the article shows. `kept_sql`: its forms and trail from SQL kept
    by the row's key (core.compiled: building and compiling the two queries
    was a third of a published article's miss); a preview reads Django's."""

    def if_any(flag: str, rows):
        # A row read `with_article_flags()` says which it has; one read
        # without them (a preview) asks for each.
        return rows if getattr(disclosure, flag, True) else ()

    if kept_sql:
        key = (disclosure.pk,)
        forms = compiled.rows(DisclosureForm, ("article-forms",), _forms, keys=key)
        trail = compiled.rows(DisclosureEvent, ("article-trail",), _trail, keys=key)
    else:
        forms = disclosure.forms.all()
        trail = _trail(None, disclosure.pk)
    return {
        "disclosure": disclosure,
        "forms": forms,
        "attachments": if_any("has_attachments", disclosure.attachments.all()),
        "tables": if_any("has_tables", disclosure.tables.all()),
        "trail": trail,
        # 点题公开 requests this disclosure answered (reverse FK from feedback).
        "answered_requests": if_any(
            "has_answers", disclosure.fulfilled_requests.on_wall()
        ),
    }


def attachment(request, pk, thumbnail=False):
    """Serve an attachment to whoever may see its disclosure, and no one else."""
    # Staff open unpublished ones (previews) as in the admin.
    staff = Disclosure.objects.none()
    if request.user.is_staff:
        staff = roles.staff_disclosures(request.user)
    found = (
        Attachment.objects.filter(
            pk=pk, disclosure__in=Disclosure.objects.visible_to(request.user)
        ).first()
        or Attachment.objects.filter(pk=pk, disclosure__in=staff.values("pk")).first()
    )
    if found is None:
        raise Http404(_("没有找到该附件。"))
    field = found.thumbnail if thumbnail else found.file
    if not field:
        raise Http404(_("没有找到该附件。"))
    content_type = "image/jpeg" if thumbnail else found.content_type
    response = _file_response(field, content_type)
    response["Content-Disposition"] = "inline"
    if not request.user.is_authenticated:
        # The visitor's browser keeps it an hour; a shared cache no longer than
        # a page (PAGE_CACHE_SECONDS), since a file can stop being public
        # (withdrawn, its item made 党内).
        response["Cache-Control"] = (
            f"public, max-age=3600, s-maxage={settings.PAGE_CACHE_SECONDS}"
        )
    else:
        response["Cache-Control"] = "private, no-store"
    return response


def _file_response(field, content_type: str) -> HttpResponse:
    if settings.ATTACHMENT_X_ACCEL_PREFIX:
        response = HttpResponse(content_type=content_type)
        response["X-Accel-Redirect"] = settings.ATTACHMENT_X_ACCEL_PREFIX + field.name
    else:
        try:
            response = FileResponse(field.open("rb"), content_type=content_type)
        except FileNotFoundError:
            raise Http404(_("没有找到该文件。")) from None
    response["X-Content-Type-Options"] = "nosniff"
    return response


def inspection_photo(request, pk, thumbnail=False):
    """A 督查 photo, to the staff who may read its check (roles.inspections_seen)
    and no one else: never public, never kept by a shared cache."""
    found = InspectionPhoto.objects.filter(
        pk=pk, inspection__in=roles.inspections_seen(request.user)
    ).first()
    field = None if found is None else found.thumbnail if thumbnail else found.image
    if not field:
        raise Http404(_("没有找到该照片。"))
    response = _file_response(field, "image/jpeg" if thumbnail else found.content_type)
    response["Content-Disposition"] = "inline"
    response["Cache-Control"] = "private, no-store"
    return response


def catalog_item(request, code):
    """A catalog item's page: what it asks for, and what each unit it applies
    to has published under it."""
    item = get_object_or_404(Item.objects.with_related(), code=code)
    hidden = not item.is_public and not Reader.of(request.user).party_member
    units = Unit.objects.none()
    if item.for_town:
        units = units | Unit.objects.towns()
    if item.for_village:
        units = units | Unit.objects.boards()
    rows = {
        unit.pk: {"unit": unit, "disclosures": []}
        for unit in units.order_by("order", "id")
    }
    if not hidden:
        for disclosure in Disclosure.objects.visible_to(request.user).filter(item=item):
            if disclosure.unit_id in rows:
                rows[disclosure.unit_id]["disclosures"].append(disclosure)
    context = {
        "item": item,
        "hidden": hidden,
        "rows": list(rows.values()),
        "forms": item.forms.all(),
    }
    return render(request, "catalog/item_detail.html", context)
