"""The monthly 回音壁 sheet of a unit, printed and posted on its notice board
(the villages that added a 回音壁 column to their boards): every public case
of the month with its full answer, and the board page's 回音壁 column.

Public means what the wall shows with the question: `published()` (accepted,
consented, not hidden, not held back); a sheet is the same whoever prints it,
so a disclosure that answered a 点题 is named only if the public may see it.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime, time

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db.models import Count, Q
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from core import caching, fragments
from core.content import name_scope
from core.dates import FIRST_YEAR, LAST_YEAR
from core.security import without_control_characters
from disclosure.models import Disclosure, Unit

from .models import ON_WALL, Status, Submission
from .page_scopes import answerer_names

# ASCII digits only (\d also matches ٢٠٢٦ and ２０２６), the whole text (a "$"
# lets a trailing newline through): one URL per month's sheet.
MONTH_RE = re.compile(r"([0-9]{4})-([0-9]{2})")
# Paper sizes of the sheet: A4 portrait in one column, A3 portrait in two.
SIZES = {"a4": "A4", "a3": "A3"}
# A month of a village has a handful of cases; a sheet longer than this points
# to the online wall for the rest.
SHEET_LIMIT = 120
# The board page's 回音壁 column: the latest answered public cases.
COLUMN_SIZE = 5
ANSWERED = [Status.ANSWERED, Status.CLOSED]


class BadSheet(ValueError):
    """A month or paper size the sheet cannot be printed for (a 400)."""


@dataclass(frozen=True)
class Month:
    first: date

    @property
    def key(self) -> str:
        return f"{self.first:%Y-%m}"

    @property
    def label(self) -> str:
        return _("%(year)d年%(month)d月") % {
            "year": self.first.year,
            "month": self.first.month,
        }

    @property
    def next(self) -> "Month":
        y, m = self.first.year, self.first.month
        return Month(date(y + m // 12, m % 12 + 1, 1))

    @property
    def previous(self) -> "Month":
        y, m = self.first.year, self.first.month
        return Month(date(y - (m == 1), (m - 2) % 12 + 1, 1))

    def bounds(self) -> tuple[datetime, datetime]:
        """The month's first and the next month's first moment, local time."""
        return _local_midnight(self.first), _local_midnight(self.next.first)

    @classmethod
    def current(cls) -> "Month":
        return cls(timezone.localdate().replace(day=1))


def _local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def parse_month(text: str) -> Month:
    """`2026-11` → the month; not begun yet, out of 1949–2100 or not a month:
    BadSheet with the reason in Chinese."""
    match = MONTH_RE.fullmatch(text)
    if not match or not 1 <= int(match[2]) <= 12:
        # Echoed without control characters (a bidi override would turn the
        # message around).
        raise BadSheet(
            _("月份“%(value)s”无效：请按“年-月”的格式填写，如 2026-11。")
            % {"value": without_control_characters(text)[:20]}
        )
    year = int(match[1])
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise BadSheet(
            _("年份超出范围：请填写 %(first)s 至 %(last)s 之间的年份。")
            % {"first": FIRST_YEAR, "last": LAST_YEAR}
        )
    month = Month(date(year, int(match[2]), 1))
    if month.first > Month.current().first:
        raise BadSheet(_("%(label)s还没有到，无法打印。") % {"label": month.label})
    return month


def parse_size(value: str | None) -> str:
    """`?size=a3` → "a3"; none → "a4"; anything else BadSheet."""
    size = (value or "a4").lower()
    if size not in SIZES:
        raise BadSheet(_("纸张规格只能是 A4 或 A3（?size=a4 或 ?size=a3）。"))
    return size


def month_cases(unit: Unit, month: Month) -> dict:
    """The public cases of `unit` received in `month`, those received before and
    answered in it, and the month's figures (every case received counts, but
    only the consented ones are printed)."""
    start, end = month.bounds()
    in_month = Q(received_at__gte=start, received_at__lt=end)
    answered_in_month = Q(answered_at__gte=start, answered_at__lt=end)
    shown = list(
        Submission.objects.published()
        .filter(unit=unit)
        .filter(in_month | (answered_in_month & Q(status__in=ANSWERED)))
        .with_related()
        .order_by("received_at", "id")[: SHEET_LIMIT + 1]
    )
    more = len(shown) > SHEET_LIMIT
    shown = shown[:SHEET_LIMIT]
    _name_public_fulfilments(shown)
    figures = (
        Submission.objects.on_record()
        .filter(unit=unit)
        .aggregate(
            received=Count("id", filter=in_month),
            published=Count(
                "id", filter=in_month & ON_WALL & Q(consent_to_publish=True)
            ),
            answered=Count("id", filter=answered_in_month & Q(status__in=ANSWERED)),
        )
    )
    return {
        "received": [s for s in shown if start <= s.received_at < end],
        "answered_earlier": [s for s in shown if s.received_at < start],
        "more": more,
        "figures": figures,
    }


def _name_public_fulfilments(cases: list[Submission]) -> None:
    """`public_fulfilment`: the disclosure that answered a 点题, if the public
    may see it (one query; a party member's print is the public's sheet)."""
    ids = [s.fulfilled_by_id for s in cases if s.fulfilled_by_id]
    visible = (
        set(
            Disclosure.objects.visible_to(AnonymousUser())
            .filter(pk__in=ids)
            .values_list("pk", flat=True)
        )
        if ids
        else set()
    )
    for case in cases:
        case.public_fulfilment = (
            case.fulfilled_by if case.fulfilled_by_id in visible else None
        )


# What the board's 回音壁 column shows of a case (board_column.html: its
# title, kind, answer time and `answerer`, which reads the answering body's
# unit and the case's town).
COLUMN_RELATED = ("unit__parent", "answered_by", "answering_body__unit")
COLUMN_FIELDS = (
    "title",
    "kind",
    "answered_at",
    "assigned_cadre_id",
    "unit__name",
    "unit__kind",
    "unit__parent__name",
    "answered_by__name",
    "answering_body__name",
    "answering_body__unit__name",
    "answering_body__unit__kind",
)


def latest_answered(unit: Unit, limit: int = COLUMN_SIZE) -> list[Submission]:
    """The board's 回音壁 column: the newest answers on the wall, in one
    query (on PostgreSQL by the unit's wall order index, feedback_unit_wall_idx,
    not the county's, read past every other unit's answers).

    Kept under its unit's cases' scope ("cases-unit:<slug>", which every
    change of one of its cases or their rounds names; a publication there,
    which makes the board again, does not) and NAMES (a body's, an
    office's or a unit's name it shows)."""

    def newest() -> list[Submission]:
        return list(
            Submission.objects.published()
            .filter(unit=unit, status__in=ANSWERED)
            .select_related(*COLUMN_RELATED)
            .only(*COLUMN_FIELDS)
            .newest_answered_first()[:limit]
        )

    return caching.cached(
        f"feedback:board-column:{unit.pk}:{limit}",
        newest,
        scopes=[f"cases-unit:{unit.slug}", caching.NAMES],
    )


def column_names(unit: Unit) -> list[str]:
    """The name scopes of what the column shows (`answerer_names` of each
    of its cases, and its unit's), read from the column's cases
    (`latest_answered`) and kept as long as the column, under its unit's
    cases' scope alone: which cases it lists changes only with them. The
    board's body that holds the column follows them too (its own scope,
    "unit:<slug>", follows the cases: disclosure.board_extras). None with
    nothing kept (`fragments.enabled`): no key to make, no query."""
    if not fragments.enabled():
        return []
    return caching.cached(
        f"feedback:board-column-names:{unit.pk}",
        lambda: sorted(
            {
                name_scope("unit", unit.pk),
                *(s for case in latest_answered(unit) for s in answerer_names(case)),
            }
        ),
        scopes=[f"cases-unit:{unit.slug}"],
        seconds=settings.PAGE_CACHE_MAX_SECONDS,
    )


def board_column_html(unit: Unit) -> SafeString:
    """The column feedback adds to a unit's board page (disclosure.board_extras),
    kept as HTML per unit, month and language under its unit's cases' scope
    and the names it shows (`column_names`): a publication there makes the
    board's body again, which neither reads its cases nor renders it (4.4 ms
    of a board's miss at county scale: the kept cases unpickled, the
    template), and so does a unit's, a body's or the catalog's change
    elsewhere (NAMES: the column was 40 % of a board made again after a
    village of another town was renamed)."""
    name = f"board-feedback:{unit.pk}:{Month.current().key}:{get_language()}"
    return fragments.kept_many(
        {name: [f"cases-unit:{unit.slug}", *column_names(unit)]},
        lambda names: {
            name: render_to_string(
                "feedback/board_column.html", {"column": board_column(unit)}
            )
        },
        names_listed=True,
    )[name]


def board_column(unit: Unit) -> dict:
    """What the board's 回音壁 column shows (feedback/board_column.html)."""
    current = Month.current()
    cases = latest_answered(unit)
    months = [current, current.previous]
    if cases:  # and the month of the latest answer, if an older one
        latest = Month(timezone.localdate(cases[0].answered_at).replace(day=1))
        if latest not in months:
            months.append(latest)
    return {
        "template": "feedback/board_column.html",
        "unit": unit,
        "cases": cases,
        "months": months,
    }
