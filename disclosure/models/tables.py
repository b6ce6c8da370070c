import uuid
from dataclasses import dataclass
from pathlib import PurePath

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from .disclosures import Disclosure
from .units import KeptForDisclosure


def table_path(instance, filename: str) -> str:
    # Random names, as for attachments: a file name may carry personal data.
    suffix = PurePath(filename).suffix.lower()[:8]
    return f"tables/{timezone.now():%Y/%m}/{uuid.uuid4().hex}{suffix}"


@dataclass(frozen=True)
class Cell:
    text: str
    is_amount: bool = False
    is_label: bool = False


class DisclosureTable(KeptForDisclosure, models.Model):
    """A table of a disclosure (村级财务收支明细表), read from an uploaded
    spreadsheet by disclosure.tables.parse_table: the checked cells as JSON,
    the original file kept for the record (the archive), never served."""

    disclosure = models.ForeignKey(
        Disclosure,
        on_delete=models.CASCADE,
        related_name="tables",
        verbose_name=_("公开内容"),
    )
    caption = models.CharField(
        _("表名"),
        max_length=100,
        blank=True,
        help_text=_("留空则用表格第一行的标题，或公开内容的标题。"),
    )
    file = models.FileField(_("表格文件"), upload_to=table_path)
    data = models.JSONField(_("表格内容"), default=dict, editable=False)
    size = models.PositiveIntegerField(_("大小（字节）"), default=0, editable=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        verbose_name=_("上传人"),
    )
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now=True)
    # A table replaced after publication is a correction: the earlier one is
    # kept here (its file stays in storage, Django never deletes it).
    history = HistoricalRecords(verbose_name=_("表格历史版本"))

    class Meta:
        ordering = ["id"]
        verbose_name = _("表格")
        verbose_name_plural = _("表格（收支明细表等）")

    def __str__(self):
        return self.caption_text

    @property
    def caption_text(self) -> str:
        lines = self.data.get("title_lines") or []
        return self.caption or (lines[0] if lines else "") or self.disclosure.title

    @property
    def row_count(self) -> int:
        return len(self.data.get("rows") or [])

    def _amounts(self) -> list[bool]:
        return [c["kind"] == "amount" for c in self.data.get("columns") or []]

    @property
    def header(self) -> list[Cell]:
        return [
            Cell(c["label"], c["kind"] == "amount")
            for c in self.data.get("columns") or []
        ]

    @property
    def body_rows(self) -> list[list[Cell]]:
        from ..tables import format_amount

        amounts = self._amounts()
        return [
            [
                Cell(format_amount(v) if a else v, a)
                for v, a in zip(row, amounts, strict=False)
            ]
            for row in self.data.get("rows") or []
        ]

    @property
    def totals(self) -> list[Cell]:
        from ..tables import TOTAL_LABELS, format_amount

        values = self.data.get("totals")
        if not values:
            return []
        cells, labelled = [], False
        for value, amount in zip(values, self._amounts(), strict=False):
            label = (
                not labelled and not amount and value.replace(" ", "") in TOTAL_LABELS
            )
            labelled = labelled or label
            cells.append(Cell(format_amount(value) if amount else value, amount, label))
        return cells

    @property
    def notes(self) -> list[str]:
        return [n for n in self.data.get("notes") or [] if n]
