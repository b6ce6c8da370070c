"""factory_boy factories: each builds a valid row with sensible defaults."""

from datetime import timedelta

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from catalog.models import Catalog, Category, Department, DisclosureForm, Item, Scope
from disclosure.models import Disclosure, NoticeBoard, Unit


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

    kind = Catalog.Kind.PARTY
    name = factory.LazyAttribute(lambda o: f"{o.kind}目录")


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


class PartyMemberFactory(UserFactory):
    username = "party_member"

    @factory.post_generation
    def party_group(self, create, extracted, **kwargs):
        if create:
            self.groups.add(Group.objects.get(name="党员"))


class SuperuserFactory(UserFactory):
    username = "admin"
    is_staff = True
    is_superuser = True
