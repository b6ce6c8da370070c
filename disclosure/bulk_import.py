"""Importing a period's routine disclosures from one spreadsheet, as drafts.

One row per disclosure: 单位, 事项编号, 所属期间, 标题, 正文 (and 本期无此事项
是/否). Each row goes through the admin form's checks (DisclosureAdminForm:
the item's period and level, markup, control characters, a closed year), for
the units the importer works on (roles.units_for); all rows or none are
saved, and every problem is named by row and column. The drafts then follow
the workflow like any other (submit, review, approve, publish).
"""

from datetime import date, datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from catalog.models import Item

from . import roles, tables
from .forms import DisclosureAdminForm
from .models import Disclosure, Unit

MAX_ROWS = 500
COLUMNS = {
    "单位": "unit",
    "事项编号": "item",
    "所属期间": "period",
    "标题": "title",
    "正文": "body",
    "本期无此事项": "is_nil_return",
}
REQUIRED = ["单位", "事项编号", "所属期间", "标题", "正文"]
YES = {"是", "1", "true", "yes", "y", "√"}
NO = {"", "否", "0", "false", "no", "n"}


def template_workbook() -> bytes:
    """The import sheet: its header and one example row."""
    import io

    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = _("批量导入")
    sheet.append(list(COLUMNS))
    sheet.append(
        [
            _("文理村"),
            "CW01",
            "2011-06",
            _("文理村2011年6月村级财务收支情况公开"),
            _("经村民主理财小组审核，现将本月村级财务收支情况予以公开。"),
            _("否"),
        ]
    )
    # 所属期间 as text: a spreadsheet would turn 2011-06 into a date.
    for row in sheet.iter_rows(min_col=3, max_col=3):
        for cell in row:
            cell.number_format = "@"
    for column, width in zip("ABCDEF", (12, 10, 10, 36, 60, 12), strict=True):
        sheet.column_dimensions[column].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _period(value) -> str:
    if isinstance(value, datetime | date):  # "2011-06" typed into a date cell
        return f"{value:%Y-%m}"
    return tables.cell_text(value)


def _header(cells, errors) -> tuple[int, dict[str, int]]:
    rows = [(number, row) for number, row in cells if tables.filled(row)]
    if not rows:
        raise ValidationError(_("表格中没有内容。"))
    number, header = rows[0]
    positions: dict[str, int] = {}
    for index in tables.filled(header):
        name = tables.cell_text(header[index]).replace(" ", "")
        if name not in COLUMNS:
            errors.add(
                _("第%(row)d行（表头）第%(column)d列“%(name)s”不是导入表的列名。")
                % {"row": number, "column": index + 1, "name": name[:20]}
            )
        elif name in positions:
            errors.add(_("表头中“%(name)s”列出现了两次。") % {"name": name})
        else:
            positions[name] = index
    missing = [name for name in REQUIRED if name not in positions]
    if missing:
        errors.add(_("表头缺少列：%(names)s。") % {"names": "、".join(missing)})
    errors.raise_any()
    return number, positions


def import_disclosures(upload, *, by) -> list[Disclosure]:
    """Create a draft per row, or raise ValidationError naming each problem."""
    units = roles.units_for(by).with_boards()
    if not units.exists():
        raise PermissionDenied
    errors = tables.TableErrors()
    try:
        cells = tables.read_cells(upload, errors)
        errors.raise_any()
        header_number, positions = _header(cells, errors)
        rows = [
            (number, row)
            for number, row in cells
            if number > header_number and tables.filled(row)
        ]
        if not rows:
            raise ValidationError(_("表格只有表头，没有要导入的行。"))
        if len(rows) > MAX_ROWS:
            raise ValidationError(
                _("一次最多导入 %(max)d 条，请分几次导入。") % {"max": MAX_ROWS}
            )
        forms = [
            (number, _row_form(number, row, positions, units, by, errors))
            for number, row in rows
        ]
        _refuse_repeats(forms, errors)
        errors.raise_any()
        with transaction.atomic():
            # The units' rows locked: a second click on 导入 (or a second tab)
            # waits here, then finds the first one's drafts as repeats.
            list(
                Unit.objects.select_for_update()
                .filter(pk__in={form.instance.unit_id for _n, form in forms})
                .order_by("pk")
                .values_list("pk", flat=True)
            )
            _refuse_repeats(forms, errors)  # again, under the lock
            errors.raise_any()
            return [form.save() for _number, form in forms]
    except tables.TableErrors as exc:
        raise ValidationError(exc.messages) from None


def _row_form(number, row, positions, units, by, errors):
    def value(name):
        index = positions.get(name)
        return row[index] if index is not None and index < len(row) else None

    data = {
        "title": tables.cell_text(value("标题")),
        "body": tables.cell_text(value("正文")),
        "period": _period(value("所属期间")),
    }
    unit_name = tables.cell_text(value("单位"))
    found = list(units.filter(name=unit_name)[:2]) or list(
        units.filter(slug=unit_name)[:2]
    )
    if len(found) != 1:
        errors.add(
            _("第%(row)d行“单位”列：“%(unit)s”不是您负责的单位。")
            % {"row": number, "unit": unit_name[:20]}
            if not found
            else _("第%(row)d行“单位”列：有两个“%(unit)s”，请填写单位代码。")
            % {"row": number, "unit": unit_name[:20]}
        )
        return None
    data["unit"] = found[0].pk
    code = tables.cell_text(value("事项编号")).upper()
    item = Item.objects.filter(code=code).first()
    if item is None:
        errors.add(
            _("第%(row)d行“事项编号”列：没有编号为“%(code)s”的公开事项。")
            % {"row": number, "code": code[:20]}
        )
        return None
    data["item"] = item.pk
    nil = tables.cell_text(value("本期无此事项")).lower()
    if nil not in YES | NO:
        errors.add(
            _("第%(row)d行“本期无此事项”列：请填写“是”或“否”。") % {"row": number}
        )
        return None
    instance = Disclosure(created_by=by, is_nil_return=nil in YES)
    form = DisclosureAdminForm(data, instance=instance)
    form.fields["unit"].queryset = units
    if not form.is_valid():
        names = {field: name for name, field in COLUMNS.items()}
        for field, messages in form.errors.items():
            for message in messages:
                if field in names:
                    errors.add(
                        _("第%(row)d行“%(column)s”列：%(message)s")
                        % {"row": number, "column": names[field], "message": message}
                    )
                else:
                    errors.add(
                        _("第%(row)d行：%(message)s")
                        % {"row": number, "message": message}
                    )
        return None
    return form


def _refuse_repeats(forms, errors) -> None:
    """The same notice twice, in the file or already in the portal (a file
    imported a second time), is refused."""
    seen: dict[tuple, int] = {}
    for number, form in forms:
        if form is None:
            continue
        d = form.instance
        key = (d.unit_id, d.item_id, d.period, d.title)
        if key in seen:
            errors.add(
                _("第%(row)d行与第%(first)d行重复。")
                % {"row": number, "first": seen[key]}
            )
            continue
        seen[key] = number
        if (
            Disclosure.objects.filter(
                unit_id=d.unit_id, item_id=d.item_id, period=d.period, title=d.title
            )
            .exclude(status=Disclosure.Status.WITHDRAWN)
            .exists()
        ):
            errors.add(
                _("第%(row)d行：“%(title)s”已经在系统中，未重复导入。")
                % {"row": number, "title": d.title[:30]}
            )
