from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from catalog.models import EVENT_TIMINGS, Item

from .disclosures import Disclosure
from .units import KeptForUnit, Unit


class ObligationEvent(KeptForUnit, models.Model):
    """事项登记: something happened that a 随时, 事前 or 逐段 item must be
    disclosed for (a decision taken, a project phase, a candidate for
    发展对象). Registered by staff, so that a disclosure never made shows as
    逾期未公开 rather than being invisible (disclosure/compliance.py)."""

    unit = models.ForeignKey(
        Unit,
        on_delete=models.PROTECT,
        related_name="obligation_events",
        verbose_name=_("单位"),
    )
    item = models.ForeignKey(
        Item,
        on_delete=models.PROTECT,
        related_name="obligation_events",
        verbose_name=_("公开事项"),
        limit_choices_to={"frequency": Item.Frequency.IMMEDIATELY},
    )
    event_date = models.DateField(
        _("事项日期"),
        help_text=_(
            "决定作出、项目阶段开始或事项发生的日期；事前公开的事项为决定日期。"
        ),
    )
    description = models.CharField(_("事项简述"), max_length=200)
    disclosure = models.ForeignKey(
        Disclosure,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="obligation_events",
        verbose_name=_("对应的公开内容"),
        help_text=_("公开后选择对应的公开内容；留空则按事项和日期自动对应。"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("登记人"),
        editable=False,
    )
    created_at = models.DateTimeField(_("登记时间"), auto_now_add=True)

    class Meta:
        ordering = ["-event_date", "-id"]
        verbose_name = _("事项登记")
        verbose_name_plural = _("事项登记")
        indexes = [
            models.Index(fields=["unit", "event_date"], name="oblig_event_unit_idx")
        ]

    def __str__(self):
        return f"{self.event_date} {self.description}"

    def clean(self):
        errors = {}
        if self.item_id and self.item.timing not in EVENT_TIMINGS:
            errors["item"] = _("只有随时、事前、逐段公开的事项需要登记事项。")
        if self.item_id and self.unit_id:
            level_ok = (
                self.item.for_town
                if self.unit.board_level == "town"
                else self.item.for_village
            )
            if not level_ok:
                errors["item"] = _("该事项不适用于本单位。")
        if self.disclosure_id and (
            self.disclosure.unit_id != self.unit_id
            or self.disclosure.item_id != self.item_id
        ):
            errors["disclosure"] = _("对应的公开内容须为本单位同一事项的内容。")
        if errors:
            raise ValidationError(errors)
