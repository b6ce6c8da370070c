from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from catalog.models import BodyKind

from .units import Unit

# The bodies every unit of a kind has by law (村民委员会组织法 arts. 2, 32;
# the party's branch), created with the unit and editable in the admin.
# Names are short, as the trail shows them; `full_name` adds the unit.
STANDARD_BODIES = {
    # The county's bodies that inspect the towns' disclosure (督查考核).
    Unit.Kind.COUNTY: [
        (BodyKind.PARTY_COMMITTEE, "县委"),
        (BodyKind.DISCIPLINE, "县纪委"),
    ],
    Unit.Kind.TOWN: [
        (BodyKind.PARTY_COMMITTEE, "镇党委"),
        (BodyKind.DISCIPLINE, "镇纪委"),
        (BodyKind.OFFICE, "党政办"),
        (BodyKind.GOVERNMENT, "镇人民政府"),
        (BodyKind.PARTY_BRANCH, "机关党支部"),
    ],
    Unit.Kind.VILLAGE: [
        (BodyKind.PARTY_BRANCH, "村党支部"),
        (BodyKind.VILLAGE_COMMITTEE, "村民委员会"),
        (BodyKind.SUPERVISION, "村务监督委员会"),
        (BodyKind.JOINT_MEETING, "村两委"),
    ],
    Unit.Kind.COMMUNITY: [
        (BodyKind.PARTY_BRANCH, "社区党支部"),
        (BodyKind.VILLAGE_COMMITTEE, "社区居民委员会"),
        (BodyKind.SUPERVISION, "社区居务监督委员会"),
        (BodyKind.JOINT_MEETING, "社区两委"),
    ],
}
LEVEL_PREFIX = {
    Unit.Kind.COUNTY: "县",
    Unit.Kind.TOWN: "镇",
    Unit.Kind.VILLAGE: "村",
    Unit.Kind.COMMUNITY: "社区",
}


class OrganisationQuerySet(models.QuerySet):
    def of_kind(self, kind: str) -> "OrganisationQuerySet":
        return self.filter(kind=kind)

    def branches(self) -> "OrganisationQuerySet":
        return self.filter(kind=BodyKind.PARTY_BRANCH)


class Organisation(models.Model):
    """A body of a unit: 村党支部, 村民委员会, 村务监督委员会, 镇党委, 镇纪委 …

    Its members are the staff who act for it in the back office (a 审核 or
    审批 is recorded as the body's act, never a person's, on the public
    trail). Party members' own branch is `PartyMembership`.
    """

    unit = models.ForeignKey(
        Unit,
        on_delete=models.PROTECT,
        related_name="organisations",
        verbose_name=_("单位"),
    )
    kind = models.CharField(_("类型"), max_length=20, choices=BodyKind.choices)
    name = models.CharField(
        _("名称"), max_length=50, help_text=_("公开页面办理记录上显示，如 村民委员会。")
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="organisations",
        verbose_name=_("经办人员"),
        help_text=_("代表本组织在后台审核、审批的工作人员。"),
    )
    order = models.PositiveSmallIntegerField(_("排序"), default=0)

    objects = OrganisationQuerySet.as_manager()

    class Meta:
        ordering = ["unit", "order", "id"]
        verbose_name = _("组织")
        verbose_name_plural = _("组织")
        constraints = [
            models.UniqueConstraint(
                fields=["unit", "name"], name="organisation_name_unique_in_unit"
            )
        ]

    def __str__(self):
        return self.full_name

    @property
    def full_name(self) -> str:
        """文理村 + 村党支部 → 文理村党支部; 凤鸣镇 + 镇党委 → 凤鸣镇党委."""
        unit_name = self.unit.name
        prefix = LEVEL_PREFIX.get(self.unit.kind, "")
        if prefix and self.name.startswith(prefix) and unit_name.endswith(prefix):
            return unit_name + self.name[len(prefix) :]
        return unit_name + self.name


def add_standard_bodies(unit: Unit) -> None:
    """Create the bodies a unit of its kind has, those it lacks (by name)."""
    have = set(unit.organisations.values_list("name", flat=True))
    Organisation.objects.bulk_create(
        Organisation(unit=unit, kind=kind, name=name, order=n)
        for n, (kind, name) in enumerate(STANDARD_BODIES.get(unit.kind, []))
        if name not in have
    )


class PartyMembership(models.Model):
    """The branch a party member belongs to (one per member), set by the town
    administrator; moving a member is changing it. It decides which
    党组织内部 disclosures the member reads (DisclosureQuerySet.within_scope)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="party_membership",
        verbose_name=_("党员"),
    )
    branch = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="party_members",
        limit_choices_to={"kind": BodyKind.PARTY_BRANCH},
        verbose_name=_("所在党支部"),
    )
    # When the member joined or was last moved (a move is an edit of this row).
    updated_at = models.DateTimeField(_("变更时间"), auto_now=True)

    class Meta:
        verbose_name = _("党员组织关系")
        verbose_name_plural = _("党员组织关系")

    def __str__(self):
        return f"{self.user} · {self.branch}"

    def clean(self):
        if self.branch_id and self.branch.kind != BodyKind.PARTY_BRANCH:
            raise ValidationError({"branch": _("党员只能隶属于党支部。")})
