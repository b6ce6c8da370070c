"""factory_boy factories: each builds a valid row with sensible defaults."""

from datetime import timedelta

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from catalog.loading import add_procedure, standard_procedure
from catalog.models import Catalog, Category, Department, DisclosureForm, Item, Scope
from disclosure.models import Disclosure, NoticeBoard, PartyMembership, Unit


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department
        django_get_or_create = ["name"]

    name = "党政办"


class DisclosureFormFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DisclosureForm
        django_get_or_create = ["name"]

    name = "党务公开栏"


class CatalogFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Catalog
        django_get_or_create = ["kind"]
        skip_postgeneration_save = True

    kind = Catalog.Kind.PARTY
    name = factory.LazyAttribute(lambda o: f"{o.kind}目录")

    @factory.post_generation
    def procedure(self, create, extracted, **kwargs):
        # The procedure its data file ships: who reviews and approves.
        if create:
            add_procedure(self, standard_procedure(self.kind))


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    catalog = factory.SubFactory(CatalogFactory)
    code = factory.Sequence(lambda n: f"K{n}")
    name = factory.Sequence(lambda n: f"栏目{n}")
    order = factory.Sequence(lambda n: n)


class ItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Item
        skip_postgeneration_save = True

    category = factory.SubFactory(CategoryFactory)
    code = factory.Sequence(lambda n: f"T{n:03d}")
    name = factory.Sequence(lambda n: f"公开事项{n}")
    frequency = Item.Frequency.MONTHLY
    scope = Scope.PUBLIC
    department = factory.SubFactory(DepartmentFactory)

    @factory.post_generation
    def forms(self, create, extracted, **kwargs):
        if create:
            self.forms.set(extracted or [DisclosureFormFactory()])


class UnitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Unit

    name = factory.Sequence(lambda n: f"测试{n}村")
    kind = Unit.Kind.VILLAGE


class TownFactory(UnitFactory):
    name = "凤鸣镇"
    kind = Unit.Kind.TOWN


class NoticeBoardFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = NoticeBoard

    unit = factory.SubFactory(UnitFactory)
    location = "村委会门前"


class DisclosureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Disclosure

    unit = factory.SubFactory(UnitFactory)
    item = factory.SubFactory(ItemFactory)
    title = factory.Sequence(lambda n: f"公开内容{n}")
    body = "第一段。\n\n第二段。"
    period = "2011-09"
    status = Disclosure.Status.PUBLISHED
    published_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("pw-for-tests")


def role_group(name: str) -> Group:
    """A role group. The test database starts with them, and they are made
    again after a transactional test's flush (tests/conftest.py); made here
    too if missing, for a test that flushed inside itself."""
    from core.roles import sync_role_groups

    if not Group.objects.filter(name=name).exists():
        sync_role_groups()
    return Group.objects.get(name=name)


class PartyMemberFactory(UserFactory):
    username = "party_member"

    @factory.post_generation
    def party_group(self, create, extracted, **kwargs):
        if create:
            self.groups.add(role_group("党员"))

    @factory.post_generation
    def branch_of(self, create, extracted, **kwargs):
        """`branch_of=unit`: a member of that unit's party branch."""
        if create and extracted is not None:
            PartyMembership.objects.update_or_create(
                user=self,
                defaults={"branch": extracted.organisations.branches().get()},
            )


class SuperuserFactory(UserFactory):
    username = "admin"
    is_staff = True
    is_superuser = True


def staff_user(*, username: str, group: str, units=()):
    """A back-office user in one role group, bound to the given units."""
    user = UserFactory(username=username, is_staff=True)
    user.groups.add(role_group(group))
    for unit in units:
        unit.editors.add(user)
    return user


# 回音壁 (feedback) ------------------------------------------------------------


class TagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "feedback.Tag"
        django_get_or_create = ["name"]

    name = "森林防火"


class SubmissionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "feedback.Submission"

    kind = "question"
    channel = "website"
    unit = factory.SubFactory(UnitFactory)
    title = factory.Sequence(lambda n: f"咨询事项{n}")
    text = "请问抗旱救灾物资什么时候发放？"
    consent_to_publish = True

    class Params:
        # Read and accepted (受理) by staff: listed on the public wall.
        accepted = factory.Trait(
            status="accepted", accepted_at=factory.LazyFunction(timezone.now)
        )

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        # The deadlines, as the workflow fills them when a case is entered.
        from feedback.services import set_deadlines

        submission = model_class(*args, **kwargs)
        if "due_date" not in kwargs:
            set_deadlines(submission)
        submission.save()
        return submission


class AnswerTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "feedback.AnswerTemplate"

    kind = "question"
    title = "已在公开栏公布"
    text = "您咨询的事项已在公开栏公布，欢迎查阅。"


# Following by email ---------------------------------------------------------


class SubscriptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "portal.Subscription"

    email = factory.Sequence(lambda n: f"resident{n}@example.org")
    unit = None
    confirmed_at = factory.LazyFunction(timezone.now)
    last_sent_on = factory.LazyFunction(
        lambda: timezone.localdate() - timedelta(days=1)
    )


def acting_for(user, disclosure, *steps: str):
    """Make `user` a member of the bodies that take these steps of the
    disclosure's procedure ("review", "approve", "publish", "draft")."""
    from disclosure import procedure

    bodies = procedure.bodies_for(disclosure)
    for step in steps:
        getattr(bodies, step).members.add(user)
    return user


def review_and_approve(disclosure, *, reviewer, approver=None, publish_at=None):
    """审核 (with its 保密审查) by `reviewer`, then 审批 by `approver` (another
    person, made if not given), each acting for the procedure's body; the
    reviewer also acts for the publishing body, so may publish it next."""
    from disclosure import services

    if approver is None:
        approver = staff_user(
            username=f"approver_of_{reviewer.username}", group="审核人"
        )
    acting_for(reviewer, disclosure, "review", "publish")
    acting_for(approver, disclosure, "approve")
    services.review(
        disclosure,
        by=reviewer,
        secrecy_checked=True,
        secrecy_conclusion="不涉及秘密和个人隐私，同意公开。",
    )
    return services.approve(disclosure, by=approver, publish_at=publish_at)
