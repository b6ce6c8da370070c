from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from core.loaded import KeepsLoaded

from ..slugs import candidate_slugs, is_reserved


class UnitQuerySet(models.QuerySet):
    def choice_rows(self) -> list[tuple[str, str, str]]:
        """(town, slug, name) for a select: each town, then its villages."""
        # A county has no board or records of its own: not a choice.
        rows = list(
            self.exclude(kind=Unit.Kind.COUNTY).values_list(
                "pk", "slug", "name", "kind", "parent_id"
            )
        )
        towns = {pk: name for pk, _, name, kind, _ in rows if kind == Unit.Kind.TOWN}
        order = {pk: n for n, pk in enumerate(towns)}
        unplaced = len(order)

        def place(row):
            pk, _, _, kind, parent_id = row
            if kind == Unit.Kind.TOWN:
                return (order[pk], 0)
            return (order.get(parent_id, unplaced), 1)

        return [
            (towns.get(pk) or towns.get(parent_id, ""), slug, name)
            for pk, slug, name, kind, parent_id in sorted(rows, key=place)
        ]

    def boards(self) -> "UnitQuerySet":
        """Villages and communities: the units with a village-level notice board."""
        return self.exclude(kind__in=[Unit.Kind.TOWN, Unit.Kind.COUNTY])

    def towns(self) -> "UnitQuerySet":
        return self.filter(kind=Unit.Kind.TOWN)

    def counties(self) -> "UnitQuerySet":
        return self.filter(kind=Unit.Kind.COUNTY)

    def with_boards(self) -> "UnitQuerySet":
        """Towns, villages and communities: a county has no notice board."""
        return self.exclude(kind=Unit.Kind.COUNTY)

    def of_town(self, town: "Unit | int") -> "UnitQuerySet":
        """The town (a unit or its id) and the villages and communities under
        it."""
        pk = town if isinstance(town, int) else town.pk
        return self.filter(models.Q(pk=pk) | models.Q(parent_id=pk))

    def ordered_towns(self) -> "UnitQuerySet":
        """Towns in the order of the town choices: the first is the default."""
        return self.towns().order_by("parent_id", "order", "id")


class Unit(KeepsLoaded, models.Model):
    """A county, town, village or community: a tree. A county (合江县) sits
    above its towns and compares them (/county/); it has no notice board or
    disclosures of its own."""

    # Its place in the tree as loaded or last saved: a change's page cache
    # scopes name its old place too (page_scopes.unit_change_scopes).
    kept_as_loaded = ("slug", "parent_id", "kind")

    class Kind(models.TextChoices):
        COUNTY = "county", _("县")
        TOWN = "town", _("镇")
        VILLAGE = "village", _("村")
        COMMUNITY = "community", _("社区")

    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("上级单位"),
    )
    name = models.CharField(_("名称"), max_length=50)
    slug = models.SlugField(
        _("网址名"),
        max_length=60,
        unique=True,
        blank=True,
        help_text=_("留空则按名称拼音自动生成，如 文理村 → wenli。"),
    )
    kind = models.CharField(_("类型"), max_length=20, choices=Kind.choices)
    is_liaison_point = models.BooleanField(_("党务公开联系点"), default=False)
    description = models.TextField(_("简介"), blank=True)
    order = models.PositiveSmallIntegerField(_("排序"), default=0)
    editors = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="edited_units",
        verbose_name=_("村务管理员"),
        help_text=_("可为本单位起草、提交公开内容的工作人员。"),
    )
    # The 回音壁's people of a village (feedback/services.py): a case may be
    # assigned (交办) to its 包村干部, and one past its deadline is escalated
    # (督办) to its 联系领导. Staff only: the public pages name bodies, never them.
    contact_leader = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="led_units",
        verbose_name=_("联系领导"),
        help_text=_("联系本村（社区）的镇领导：超期未答复的意见建议向其督办。"),
    )
    village_cadre = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="cadre_units",
        verbose_name=_("包村干部"),
        help_text=_("负责本村（社区）的镇干部：意见建议可交办给其办理。"),
    )

    objects = UnitQuerySet.as_manager()

    class Meta:
        ordering = ["order", "id"]
        verbose_name = _("单位")
        verbose_name_plural = _("单位")
        constraints = [
            models.UniqueConstraint(
                fields=["parent", "name"], name="unit_name_unique_in_parent"
            )
        ]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = self._free_slug()
        adding = self._state.adding
        super().save(*args, **kwargs)
        if adding:  # a new village has its committees by law, from its first day
            from .organisations import add_standard_bodies

            add_standard_bodies(self)

    def get_absolute_url(self):
        if self.kind == self.Kind.COUNTY:
            return reverse("portal:county")
        return reverse("disclosure:board", args=[self.slug])

    def clean(self):
        if self.slug and is_reserved(self.slug):
            raise ValidationError(
                {
                    "slug": _("“%(slug)s”是网站地址的保留词，请换一个网址名。")
                    % {"slug": self.slug}
                }
            )

    @property
    def has_board(self) -> bool:
        return self.kind != self.Kind.COUNTY

    @property
    def feedback_url(self) -> str:
        """The 回音壁 form preset with this unit: linked from the board page,
        and the printed board's QR code."""
        return reverse("feedback:create") + "?" + urlencode({"unit": self.slug})

    def _free_slug(self) -> str:
        taken = Unit.objects.exclude(pk=self.pk)
        parent_slug = self.parent.slug if self.parent_id else ""
        for slug in candidate_slugs(self.name, parent_slug):
            if not taken.filter(slug=slug).exists():
                return slug
        raise AssertionError("unreachable")  # candidate_slugs never ends

    @property
    def board_level(self) -> str:
        """Which catalog level applies: the town's, or the village one."""
        return "town" if self.kind == self.Kind.TOWN else "village"


class NoticeBoard(models.Model):
    """A physical notice board (公开栏) of a unit."""

    unit = models.ForeignKey(
        Unit,
        on_delete=models.CASCADE,
        related_name="notice_boards",
        verbose_name=_("单位"),
    )
    location = models.CharField(_("位置"), max_length=100)
    count = models.PositiveSmallIntegerField(_("块数"), default=1)

    class Meta:
        ordering = ["unit", "id"]
        verbose_name = _("公开栏")
        verbose_name_plural = _("公开栏")

    def __str__(self):
        return f"{self.unit.name} · {self.location}"


class KeptForUnit(KeepsLoaded):
    """A row kept for a unit that pages count beside its disclosures (an
    obligation event, an inspection, a rectification): its unit as loaded
    or last saved (page_scopes.unit_row_scopes)."""

    kept_as_loaded = ("unit_id",)


class KeptForDisclosure(KeepsLoaded):
    """A part of a disclosure (an attachment, a table, a trail event): its
    disclosure as loaded or last saved (page_scopes.part_scopes)."""

    kept_as_loaded = ("disclosure_id",)
