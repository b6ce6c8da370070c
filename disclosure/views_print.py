"""The printable unified board (统一规格、统一样式、统一栏目、统一色彩).

The print page and its PDF show a unit's current board, through the same
visibility rule and the same unified columns as the board page, on a fixed
page size (settings.BOARD_PRINT_PAGE_SIZE), with QR codes to the online board
and to the unit's feedback form. A paper board carries the full text: what does
not fit on the board sheet (a long body's rest, a column's entries beyond the
board's) follows on continuation sheets (续页), numbered from the board sheet.
"""

import mimetypes
import re
from pathlib import Path
from urllib.parse import urlsplit

import qrcode
from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.exceptions import ImproperlyConfigured
from django.db.models import F
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from catalog import periods

from .models import Disclosure, Unit
from .views import COLUMN_SIZE, board_columns

# "A3 landscape", "A4 portrait", "420mm 297mm": letters, digits, spaces, dots.
PAGE_SIZE_RE = re.compile(r"^[A-Za-z0-9. ]{1,40}$")


def page_size() -> str:
    size = getattr(settings, "BOARD_PRINT_PAGE_SIZE", "A3 landscape")
    if not PAGE_SIZE_RE.match(size):
        raise ImproperlyConfigured(f"BOARD_PRINT_PAGE_SIZE {size!r} is not a size.")
    return size


# How much of a body the board sheet shows before its 续页 takes over.
SHEET_CHARS = 160
SENTENCE_ENDS = "。！？；\n"
ORIENTATIONS = {"landscape": _lazy("横向"), "portrait": _lazy("纵向")}
UNITS = {"mm": _lazy("毫米"), "cm": _lazy("厘米"), "in": _lazy("英寸")}
LENGTH_RE = re.compile(r"^(\d+(?:\.\d+)?)(mm|cm|in)$")


def page_size_label(size: str) -> str:
    """The paper in Chinese: "A3 landscape" is "A3 横向", "420mm 297mm" is
    "420×297 毫米" (the setting is CSS, the page says it to residents)."""
    lengths, unit, words = [], "", []
    for word in size.split():
        length = LENGTH_RE.match(word.lower())
        if length:
            lengths.append(length[1])
            unit = str(UNITS[length[2]])
        elif word.lower() in ORIENTATIONS:
            words.append(str(ORIENTATIONS[word.lower()]))
        else:
            words.insert(0, word.upper())
    if lengths:
        words.insert(0, "×".join(lengths) + " " + unit)
    return " ".join(words)


def split_body(text: str, limit: int = SHEET_CHARS) -> tuple[str, str]:
    """The part of `text` the board sheet shows and the rest for its 续页: cut
    after the last sentence end within `limit`, else at `limit`; nothing is
    dropped (head + rest is the text, but for the spaces at the cut)."""
    text = text.strip()
    if len(text) <= limit:
        return text, ""
    cut = max(text.rfind(end, 0, limit) for end in SENTENCE_ENDS) + 1
    if cut < limit // 2:
        cut = limit
    return text[:cut].rstrip(), text[cut:].strip()


def print_sheets(columns: list[dict]) -> tuple[list[dict], list[dict]]:
    """The board sheet's columns (each entry with the head of its body) and
    the 续页 pieces, numbered in the board's order: the rest of a long body,
    then a column's entries beyond the board's COLUMN_SIZE, in full."""
    sheet, continued = [], []

    def add(disclosure, text: str, *, first_part: bool) -> int:
        piece = {"number": len(continued) + 1, "disclosure": disclosure}
        continued.append({**piece, "text": text, "first_part": first_part})
        return piece["number"]

    for column in columns:
        entries = []
        for disclosure in column["disclosures"][:COLUMN_SIZE]:
            head, rest = split_body(disclosure.body)
            number = add(disclosure, rest, first_part=False) if rest else None
            entries.append({"disclosure": disclosure, "head": head, "number": number})
        more = [
            add(disclosure, disclosure.body.strip(), first_part=True)
            for disclosure in column["disclosures"][COLUMN_SIZE:]
        ]
        sheet.append({**column, "entries": entries, "more": more})
    return sheet, continued


def page_css() -> str:
    return f"@page {{ size: {page_size()}; }}\n"


def qr_svg(url: str, *, label: str) -> str:
    """A QR code as inline SVG markup: one path of dark modules, no style."""
    code = qrcode.QRCode(
        border=2, error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=1
    )
    code.add_data(url)
    code.make(fit=True)
    matrix = code.get_matrix()
    path = "".join(
        f"M{x} {y}h1v1h-1z"
        for y, row in enumerate(matrix)
        for x, dark in enumerate(row)
        if dark
    )
    return format_html(
        '<svg class="qr" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {n} {n}" '
        'role="img" aria-label="{label}" shape-rendering="crispEdges" '
        'data-url="{url}"><rect width="{n}" height="{n}" fill="#fff"/>'
        '<path d="{path}" fill="#000"/></svg>',
        n=len(matrix),
        label=label,
        url=url,
        path=path,
    )


def board_print_context(request, unit: Unit) -> dict:
    shown = (
        Disclosure.objects.visible_to(request.user)
        .for_unit(unit)
        .on_display()
        .with_related()
        .prefetch_related("tables")
        .annotate(column=F("item__category_id"))
    )
    disclosures = list(shown[:500])
    on_board = {periods.Period.parse(d.period) for d in disclosures}
    period_labels = [p.label for p in sorted(on_board, key=lambda p: (p.start, p.end))]
    board_url = request.build_absolute_uri(unit.get_absolute_url())
    feedback_url = request.build_absolute_uri(unit.feedback_url)
    board = board_columns(unit, disclosures, size=None)
    columns, continued = print_sheets(board)
    return {
        "unit": unit,
        "columns": columns,
        "continued": continued,
        # Tables are printed in full after the sheet, too wide for a column.
        "with_tables": [
            d for column in board for d in column["disclosures"] if d.tables.all()
        ],
        "period_labels": period_labels,
        "printed_on": timezone.localdate(),
        "board_url": board_url,
        "feedback_url": feedback_url,
        "board_qr": qr_svg(board_url, label=_("扫码查看网上公开栏")),
        "feedback_qr": qr_svg(feedback_url, label=_("扫码提意见建议")),
        "page_size_label": page_size_label(page_size()),
    }


def board_print(request, slug):
    unit = get_object_or_404(
        Unit.objects.with_boards().select_related("parent"), slug=slug
    )
    response = render(
        request, "disclosure/board_print.html", board_print_context(request, unit)
    )
    _set_cache(request, response)
    return response


def board_print_page_css(request):
    """The @page size from settings, as a stylesheet (CSP forbids inline style)."""
    response = HttpResponse(page_css(), content_type="text/css; charset=utf-8")
    response["Cache-Control"] = "public, max-age=3600"
    return response


def board_print_pdf(request, slug):
    unit = get_object_or_404(
        Unit.objects.with_boards().select_related("parent"), slug=slug
    )
    context = board_print_context(request, unit)
    html = render_to_string("disclosure/board_print.html", context, request=request)
    pdf = render_pdf(html, base_url=request.build_absolute_uri("/"))
    response = HttpResponse(pdf, content_type="application/pdf")
    filename = f"{unit.slug}-board-{context['printed_on']:%Y%m%d}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    _set_cache(request, response)
    return response


def _set_cache(request, response) -> None:
    # A logged-in party member's print carries 党内 items: never cache it shared.
    if request.user.is_authenticated:
        response["Cache-Control"] = "private, no-store"


def render_pdf(html: str, *, base_url: str) -> bytes:
    # Imported here: WeasyPrint loads pango when imported, and only this needs it.
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class LocalFetcher(URLFetcher):
        """Resources from disk only: the server never fetches from itself."""

        def fetch(self, url, headers=None):
            if url.startswith("data:"):
                return super().fetch(url, headers)
            found = local_resource(url)
            if found is None:
                raise ValueError(f"not fetched for the PDF: {url}")
            body, content_type = found
            return URLFetcherResponse(url, body, {"Content-Type": content_type})

    return HTML(string=html, base_url=base_url, url_fetcher=LocalFetcher()).write_pdf()


def local_resource(url: str) -> tuple[bytes | str, str] | None:
    """The page-size stylesheet and static files, read from disk."""
    path = urlsplit(url).path
    if path == reverse("disclosure:board_print_page_css"):
        return page_css(), "text/css"
    static_prefix = "/" + urlsplit(settings.STATIC_URL).path.lstrip("/")
    if not path.startswith(static_prefix):
        return None
    name = path.removeprefix(static_prefix)
    found = finders.find(name)
    if not found and staticfiles_storage.exists(name):
        found = staticfiles_storage.path(name)
    if not found:
        return None
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return Path(found).read_bytes(), content_type
