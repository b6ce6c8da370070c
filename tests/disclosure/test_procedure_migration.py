"""Migration disclosure/0013 carries the one-step approvals over: each becomes
a 审核 and a 审批 by the bodies the old record named, marked as migrated, and
claims no secrecy review the records never made."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

BEFORE = [("disclosure", "0011_standard_bodies"), ("catalog", "0004_branch_scope")]
AFTER = [("disclosure", "0013_split_approvals")]


@pytest.fixture
def back_to_the_latest_afterwards(transactional_db):
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def test_old_approvals_become_a_review_and_an_approval_by_the_recorded_bodies(
    back_to_the_latest_afterwards,
):
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    User = old.get_model("auth", "User")
    Unit = old.get_model("disclosure", "Unit")
    Organisation = old.get_model("disclosure", "Organisation")
    Catalog = old.get_model("catalog", "Catalog")
    Category = old.get_model("catalog", "Category")
    Department = old.get_model("catalog", "Department")
    Item = old.get_model("catalog", "Item")
    Disclosure = old.get_model("disclosure", "Disclosure")
    Event = old.get_model("disclosure", "DisclosureEvent")

    town = Unit.objects.create(name="凤鸣镇", slug="fengming", kind="town")
    Organisation.objects.create(unit=town, kind="discipline", name="镇纪委")
    Organisation.objects.create(unit=town, kind="party_committee", name="镇党委")
    wenli = Unit.objects.create(
        name="文理村", slug="wenli", kind="village", parent=town
    )
    catalog = Catalog.objects.create(name="党务", kind="party")
    item = Item.objects.create(
        category=Category.objects.create(catalog=catalog, code="A", name="A"),
        code="A01",
        name="事项",
        frequency="monthly",
        department=Department.objects.create(name="党政办"),
    )
    reviewer = User.objects.create(username="reviewer")
    now = timezone.now()
    common = {
        "unit": wenli,
        "item": item,
        "body": "正文",
        "period": "2011-09",
        "period_start": now.date(),
        "period_end": now.date(),
    }
    published = Disclosure.objects.create(
        title="已发布", status="published", published_at=now, **common
    )
    waiting = Disclosure.objects.create(
        title="已审批待发布", status="approved", **common
    )
    for disclosure in (published, waiting):
        Event.objects.create(
            disclosure=disclosure,
            action="submitted",
            from_status="draft",
            to_status="submitted",
            acting_body="文理村",
            at=now,
        )
        Event.objects.create(
            disclosure=disclosure,
            action="approved",
            from_status="submitted",
            to_status="approved",
            actor=reviewer,
            acting_body="镇纪委审核、镇党委审批",
            comment="同意",
            at=now,
        )

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps
    Event = new.get_model("disclosure", "DisclosureEvent")
    Disclosure = new.get_model("disclosure", "Disclosure")

    steps = list(
        Event.objects.filter(disclosure_id=published.pk)
        .order_by("at", "id")
        .values_list(
            "action",
            "from_status",
            "to_status",
            "acting_body",
            "body__name",
            "migrated",
            "secrecy_reviewed",
        )
    )
    assert steps == [
        ("submitted", "draft", "submitted", "文理村", None, False, False),
        ("reviewed", "submitted", "reviewed", "镇纪委", "镇纪委", True, False),
        ("approved", "reviewed", "approved", "镇党委", "镇党委", True, False),
    ]
    approval = Event.objects.get(disclosure_id=published.pk, action="approved")
    assert approval.comment == "同意" and approval.actor_id == reviewer.pk
    # An approval still waiting to be published keeps who reviewed it.
    assert Disclosure.objects.get(pk=waiting.pk).reviewed_by_id == reviewer.pk
