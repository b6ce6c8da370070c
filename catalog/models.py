from datetime import date

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models, transaction
from django.utils.translation import gettext_lazy as _

from . import periods


class SavedRowByRow(models.QuerySet):
    """An update or insert in bulk saved row by row: the page cache and the
    compliance engine's kept counts follow each row's change
    (page_scopes.py), as other apps' receivers follow an item's scope. The
    catalog has a few hundred rows. Every catalog model's base manager too
    (`base_manager_name`): Django's related managers (`category.items.add`)
    update through it."""

    def update(self, **kwargs) -> int:
        with transaction.atomic(using=self.db):
            rows = list(self.order_by("pk").select_for_update())
            for row in rows:
                for name, value in kwargs.items():
                    setattr(row, name, value)
                row.save(update_fields=list(kwargs))
        return len(rows)

    def bulk_update(self, objs, fields, batch_size=None) -> int:
        with transaction.atomic(using=self.db):
            for row in objs:
                row.save(update_fields=list(fields))
        return len(objs)

    def bulk_create(
        self,
        objs,
        batch_size=None,
        ignore_conflicts=False,
        update_conflicts=False,
        update_fields=None,
        unique_fields=None,
    ) -> list:
        """Inserted row by row; a row that clashes on `unique_fields` is
        skipped (`ignore_conflicts`) or has `update_fields` saved over it
        (`update_conflicts`), as the database would, each save announced."""
        objs = list(objs)
        with transaction.atomic(using=self.db):
            for row in objs:
                clash = None
                if (ignore_conflicts or update_conflicts) and unique_fields:
                    found = {f: getattr(row, f) for f in unique_fields}
                    clash = self.select_for_update().filter(**found).first()
                if clash is None:
                    row.save(force_insert=True, using=self.db)
                elif update_conflicts:
                    for name in update_fields or ():
                        setattr(clash, name, getattr(row, name))
                    clash.save(update_fields=list(update_fields or ()))
                    row.pk = clash.pk
        return objs


class SavedInOneTransaction:
    """A save whose read before it (page_scopes.note_counted_change) and
    write are one transaction: the read locks the row, so a save beside
    this one is seen or comes after. A mixin before `models.Model`."""

    def save(self, *args, **kwargs):
        with transaction.atomic(using=kwargs.get("using"), savepoint=False):
            super().save(*args, **kwargs)


class Scope(models.TextChoices):
    """Who may read (党务公开条例 2017, art. 8)."""

    PUBLIC = "public", _("社会公开")
    INNER_PARTY = "inner", _("党内公开")  # every party member of the town
    BRANCH = "branch", _("党组织内部公开")  # the members of one organisation


# From widest to narrowest: a disclosure's scope is never wider than its item's.
SCOPE_WIDTH = {Scope.PUBLIC: 0, Scope.INNER_PARTY: 1, Scope.BRANCH: 2}


class BodyKind(models.TextChoices):
    """The kinds of body that draft, review, approve and publish: each unit
    has its own (disclosure.Organisation); a catalog's procedure names kinds."""

    PARTY_COMMITTEE = "party_committee", _("党委")
    DISCIPLINE = "discipline", _("纪委")
    OFFICE = "office", _("党政办")
    GOVERNMENT = "government", _("人民政府")
    PARTY_BRANCH = "party_branch", _("党支部")
    VILLAGE_COMMITTEE = "village_committee", _("村（居）民委员会")
    SUPERVISION = "supervision", _("村（居）务监督委员会")
    JOINT_MEETING = "joint_meeting", _("两委联席会议")


class Department(models.Model):
    """A town office responsible for catalog items (党政办, 组织办 …)."""

    name = models.CharField(_("名称"), max_length=50, unique=True)
    order = models.PositiveSmallIntegerField(_("排序"), default=0)

    objects = SavedRowByRow.as_manager()

    class Meta:
        base_manager_name = "objects"
        ordering = ["order", "name"]
        verbose_name = _("责任部门")
        verbose_name_plural = _("责任部门")

    def __str__(self):
        return self.name


class DisclosureForm(models.Model):
    """A way of disclosing (公开栏, 会议通报, 党内情况通报会 …)."""

    name = models.CharField(_("名称"), max_length=30, unique=True)
    order = models.PositiveSmallIntegerField(_("排序"), default=0)

    objects = SavedRowByRow.as_manager()

    class Meta:
        base_manager_name = "objects"
        ordering = ["order", "name"]
        verbose_name = _("公开形式")
        verbose_name_plural = _("公开形式")

    def __str__(self):
        return self.name


class Catalog(SavedInOneTransaction, models.Model):
    # `counted_fields` (here, on Category and on Item): those the compliance
    # engine reads (disclosure.compliance: item_spec, load_rules). A change
    # of one may change what is owed and counted (page_scopes.COUNTED); of
    # another (a name, an order, a note), only what pages show.
    # `grouping_fields`: those of them that say under which kind and category
    # a disclosure is counted (page_scopes.GROUPED); `filed_fields` (Item's
    # only): those the engine's loaders read, which rows count as filed
    # (page_scopes.FILED).
    counted_fields = ("kind", "adopted_on")
    grouping_fields = ("kind",)

    class Kind(models.TextChoices):
        PARTY = "party", _("党务公开")
        GOVERNMENT = "government", _("政务公开")
        VILLAGE = "village", _("村务公开")

    name = models.CharField(_("名称"), max_length=100)
    kind = models.CharField(_("类别"), max_length=20, choices=Kind.choices, unique=True)
    document = models.CharField(
        _("印发文件"), max_length=100, blank=True, help_text=_("如：凤委发[2011]119号")
    )
    adopted_on = models.DateField(_("印发日期"), null=True, blank=True)
    note = models.TextField(_("说明"), blank=True)
    order = models.PositiveSmallIntegerField(_("排序"), default=0)

    objects = SavedRowByRow.as_manager()

    class Meta:
        base_manager_name = "objects"
        ordering = ["order", "kind"]
        verbose_name = _("公开目录")
        verbose_name_plural = _("公开目录")

    def __str__(self):
        return self.name


class Category(SavedInOneTransaction, models.Model):
    counted_fields = ("catalog_id",)
    grouping_fields = ("catalog_id",)

    catalog = models.ForeignKey(
        Catalog,
        on_delete=models.PROTECT,
        related_name="categories",
        verbose_name=_("目录"),
    )
    code = models.CharField(_("编号"), max_length=10)
    name = models.CharField(_("名称"), max_length=50)
    description = models.TextField(_("说明"), blank=True)
    order = models.PositiveSmallIntegerField(_("排序"), default=0)

    objects = SavedRowByRow.as_manager()

    class Meta:
        base_manager_name = "objects"
        ordering = ["catalog__order", "order", "code"]
        verbose_name = _("公开类别")
        verbose_name_plural = _("公开类别")
        constraints = [
            models.UniqueConstraint(
                fields=["catalog", "code"], name="category_code_unique_in_catalog"
            )
        ]

    def __str__(self):
        return f"{self.code} {self.name}"


class ItemQuerySet(SavedRowByRow):
    # Saved row by row (SavedRowByRow): what follows an item's scope (other
    # apps' post_save receivers: a 党内 item's disclosures become 党内) sees
    # every change of it.

    def for_unit_kind(self, unit_kind: str) -> "ItemQuerySet":
        """Items that apply to a unit of this kind (town, village, community)."""
        if unit_kind == "town":
            return self.filter(for_town=True)
        return self.filter(for_village=True)

    def with_related(self) -> "ItemQuerySet":
        return self.select_related("category__catalog", "department").prefetch_related(
            "forms"
        )


class Timing(models.TextChoices):
    """When an item's disclosure is due (domain.md "Timing in practice")."""

    PERIOD_END = "period_end", _("期末（期间结束后）")
    YEAR_START = "year_start", _("年初（计划类）")
    STANDING = "standing", _("长期（常设，每年确认）")
    EVENT = "event", _("随时（事项发生后）")
    BEFORE = "before", _("事前（决定之前）")
    PHASE = "phase", _("逐段（项目各阶段）")


# Timings whose obligations come from events (a decision, a project phase).
EVENT_TIMINGS = (Timing.EVENT, Timing.BEFORE, Timing.PHASE)


class Item(models.Model):
    counted_fields = (
        "category_id",
        "code",
        "frequency",
        "timing",
        "nil_allowed",
        "notice_days",
        "for_town",
        "for_village",
    )
    grouping_fields = ("category_id",)
    # An earlier year's row counts while on display for a 长期 item
    # (compliance.load_filings); the 点题 item is found by its code
    # (feedback.obligations).
    filed_fields = ("code", "timing")

    class Frequency(models.TextChoices):
        IMMEDIATELY = "immediately", _("随时")
        MONTHLY = "monthly", _("每月")
        QUARTERLY = "quarterly", _("每季度")
        HALF_YEARLY = "half_yearly", _("每半年")
        YEARLY = "yearly", _("每年")

    # The period kind a disclosure of this item covers; None: any kind.
    PERIOD_KIND = {
        Frequency.IMMEDIATELY: None,
        Frequency.MONTHLY: periods.MONTH,
        Frequency.QUARTERLY: periods.QUARTER,
        Frequency.HALF_YEARLY: periods.HALF,
        Frequency.YEARLY: periods.YEAR,
    }

    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="items", verbose_name=_("类别")
    )
    code = models.CharField(
        _("编号"),
        max_length=10,
        unique=True,
        help_text=_("全部目录内唯一，如 A01、ZW01。"),
    )
    name = models.CharField(_("名称"), max_length=200)
    description = models.TextField(_("说明"), blank=True)
    frequency = models.CharField(
        _("公开时限"), max_length=20, choices=Frequency.choices
    )
    scope = models.CharField(
        _("公开范围"), max_length=10, choices=Scope.choices, default=Scope.PUBLIC
    )
    # The two exceptions an item may allow to "scope comes from the item"
    # (Disclosure.clean): 先党内后党外 (2010 opinion) for a public item, and
    # 党组织内部 (条例 art. 8) for a 党内 one.
    party_first_allowed = models.BooleanField(
        _("可先党内后党外"),
        default=False,
        help_text=_("社会公开事项：可先在党内公开，到指定日期再向社会公开。"),
    )
    branch_scope_allowed = models.BooleanField(
        _("可在党组织内部公开"),
        default=False,
        help_text=_(
            "党内公开事项：可仅在本党支部内部公开（如党费收缴、民主评议党员）。"
        ),
    )
    forms = models.ManyToManyField(
        DisclosureForm, related_name="items", verbose_name=_("公开形式"), blank=True
    )
    department = models.ForeignKey(
        Department,
        on_delete=models.PROTECT,
        related_name="items",
        verbose_name=_("责任部门"),
    )
    timing = models.CharField(
        _("公开时机"),
        max_length=20,
        choices=Timing.choices,
        default=Timing.PERIOD_END,
        help_text=_(
            "期末：期间结束后按统一时限公开；年初：计划类，一季度内公开；"
            "长期：常设内容须一直在公开栏展示，每年确认；随时：事项发生后几个工作日内；"
            "事前：须在决定之前公开；逐段：项目每个阶段公开。"
        ),
    )
    nil_allowed = models.BooleanField(
        _("可报“本期无此事项”"),
        default=True,
        help_text=_("按其性质每期必有内容的事项（如每月村级财务收支）不勾选。"),
    )
    notice_days = models.PositiveSmallIntegerField(
        _("公示期（工作日）"),
        null=True,
        blank=True,
        validators=[MinValueValidator(3)],
        help_text=_(
            "仅公示类事项填写（如发展对象公示、任前公示），至少 3 个工作日，"
            "从张贴日起算；公示期内群众可提出异议，期满后公布结果。"
        ),
    )
    for_town = models.BooleanField(_("适用于镇"), default=True)
    for_village = models.BooleanField(_("适用于村（社区）"), default=True)
    order = models.PositiveSmallIntegerField(_("排序"), default=0)

    objects = ItemQuerySet.as_manager()

    class Meta:
        base_manager_name = "objects"
        ordering = ["category__catalog__order", "category__order", "order", "code"]
        verbose_name = _("公开事项")
        verbose_name_plural = _("公开事项")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(for_town=True) | models.Q(for_village=True),
                name="item_applies_to_some_level",
            )
        ]

    def __str__(self):
        return f"{self.code} {self.name}"

    def save(self, *args, **kwargs):
        # post_save receivers that follow the item (a 党内 item's disclosures
        # become 党内) commit or roll back with the item's own change.
        with transaction.atomic(using=kwargs.get("using")):
            super().save(*args, **kwargs)

    def clean(self):
        errors = {}
        if self.party_first_allowed and self.scope != Scope.PUBLIC:
            errors["party_first_allowed"] = _("只有社会公开事项可以先党内后党外。")
        if self.branch_scope_allowed and self.scope != Scope.INNER_PARTY:
            errors["branch_scope_allowed"] = _(
                "只有党内公开事项可以允许党组织内部公开。"
            )
        # Event-driven timings owe a disclosure per event, periodic ones per
        # period: the frequency must say the same.
        immediate = self.frequency == self.Frequency.IMMEDIATELY
        if self.timing in EVENT_TIMINGS and not immediate:
            errors["timing"] = _("随时、事前、逐段事项的公开时限应为“随时”。")
        if self.timing in (Timing.PERIOD_END, Timing.YEAR_START) and immediate:
            errors["timing"] = _(
                "公开时限为“随时”的事项，公开时机应为随时、事前、逐段或长期。"
            )
        if errors:
            raise ValidationError(errors)

    @property
    def is_inner_party(self) -> bool:
        return self.scope == Scope.INNER_PARTY

    @property
    def is_public(self) -> bool:
        return self.scope == Scope.PUBLIC

    def allowed_scopes(self) -> list[str]:
        """The scopes a disclosure of this item may have: the item's own, and
        党组织内部 where the item allows it. Editors never choose a wider one."""
        if self.scope == Scope.INNER_PARTY and self.branch_scope_allowed:
            return [Scope.INNER_PARTY, Scope.BRANCH]
        return [self.scope]

    @property
    def period_kind(self) -> str | None:
        return self.PERIOD_KIND[self.frequency]

    def current_period(self, today: date) -> periods.Period | None:
        """The period a disclosure of this item is most likely entered for
        today, offered first: the one just ended for an item disclosed after
        its period (last month's finances, early this month), the one under
        way for a plan (年初) or a standing item; none for a 随时 item, whose
        period is the event's."""
        kind = self.period_kind
        if kind is None:
            return None
        current = periods.Period.containing(today, kind)
        if self.timing in (Timing.YEAR_START, Timing.STANDING):
            return current
        return current.previous()

    @property
    def levels_label(self) -> str:
        levels = []
        if self.for_town:
            levels.append(str(_("镇")))
        if self.for_village:
            levels.append(str(_("村（社区）")))
        return "、".join(levels)


class ScheduleRule(models.Model):
    """统一公开时间 and 统一公开时限 for one catalog: when each period's
    disclosure is due. Edited by the town administrator in the admin."""

    catalog = models.OneToOneField(
        Catalog,
        on_delete=models.CASCADE,
        related_name="schedule",
        verbose_name=_("目录"),
    )
    monthly_due_day = models.PositiveSmallIntegerField(
        _("每月事项截止日"), default=5, help_text=_("次月几日前公开上月内容。")
    )
    quarterly_due_day = models.PositiveSmallIntegerField(
        _("每季度事项截止日"), default=10, help_text=_("季度结束后次月几日前公开。")
    )
    half_yearly_due_day = models.PositiveSmallIntegerField(
        _("每半年事项截止日"), default=15, help_text=_("半年结束后次月几日前公开。")
    )
    yearly_due_day = models.PositiveSmallIntegerField(
        _("每年事项截止日"), default=31, help_text=_("次年1月几日前公开上年内容。")
    )
    immediate_workdays = models.PositiveSmallIntegerField(
        _("随时事项时限（工作日）"),
        default=5,
        help_text=_("事项发生后几个工作日内公开（节假日和调休按国家安排计算）。"),
    )
    plan_due_month = models.PositiveSmallIntegerField(
        _("年初事项截止月份"),
        default=3,
        help_text=_("计划类（年初）事项当年几月底前公开，1 至 3 月。"),
    )
    outcome_workdays = models.PositiveSmallIntegerField(
        _("公示结果时限（工作日）"),
        default=5,
        help_text=_("公示期满后几个工作日内公布结果。"),
    )

    objects = SavedRowByRow.as_manager()

    class Meta:
        base_manager_name = "objects"
        verbose_name = _("公开时限规则")
        verbose_name_plural = _("公开时限规则")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(monthly_due_day__gte=1, monthly_due_day__lte=28)
                & models.Q(quarterly_due_day__gte=1, quarterly_due_day__lte=28)
                & models.Q(half_yearly_due_day__gte=1, half_yearly_due_day__lte=28)
                & models.Q(yearly_due_day__gte=1, yearly_due_day__lte=31)
                & models.Q(plan_due_month__gte=1, plan_due_month__lte=3),
                name="schedule_due_days_in_month",
            )
        ]

    def __str__(self):
        return str(self.catalog)


class ProcedureRule(models.Model):
    """Which kind of body drafts, reviews (审核, with the 保密审查), approves
    (审批) and publishes a catalog's disclosures at one level (党务公开条例
    2017, art. 15; for 村务 the 村民委员会组织法, arts. 5, 30–32). Edited by
    the town administrator on the catalog's admin page; the bodies themselves
    are each unit's (disclosure.Organisation), or the town's where marked."""

    class Level(models.TextChoices):
        TOWN = "town", _("镇级")
        VILLAGE = "village", _("村（社区）级")

    catalog = models.ForeignKey(
        Catalog,
        on_delete=models.CASCADE,
        related_name="procedure_rules",
        verbose_name=_("目录"),
    )
    level = models.CharField(_("层级"), max_length=10, choices=Level.choices)
    draft_body = models.CharField(
        _("提出"), max_length=20, choices=BodyKind.choices, help_text=_("本单位的")
    )
    review_body = models.CharField(_("审核"), max_length=20, choices=BodyKind.choices)
    review_by_town = models.BooleanField(
        _("由镇审核"), default=False, help_text=_("不勾选则由本单位的该组织审核。")
    )
    approve_body = models.CharField(_("审批"), max_length=20, choices=BodyKind.choices)
    approve_by_town = models.BooleanField(
        _("由镇审批"), default=False, help_text=_("不勾选则由本单位的该组织审批。")
    )
    publish_body = models.CharField(_("发布"), max_length=20, choices=BodyKind.choices)
    publish_by_town = models.BooleanField(_("由镇发布"), default=False)

    class Meta:
        ordering = ["catalog", "level"]
        verbose_name = _("公开程序")
        verbose_name_plural = _("公开程序")
        constraints = [
            models.UniqueConstraint(
                fields=["catalog", "level"], name="procedure_rule_unique_level"
            )
        ]

    def __str__(self):
        return f"{self.catalog} · {self.get_level_display()}"
