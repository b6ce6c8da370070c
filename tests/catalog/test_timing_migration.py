"""Migration catalog/0009 gives catalogs loaded before it the shipped timings
by item code, drops the 5 days the loader gave every item with 公示 among its
forms, and keeps values set by hand."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("catalog", "0008_item_timing")]
AFTER = [("catalog", "0009_item_timings_data")]


@pytest.fixture
def back_to_the_latest_afterwards(transactional_db):
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def test_existing_items_get_the_shipped_timings(back_to_the_latest_afterwards):
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    Catalog = old.get_model("catalog", "Catalog")
    Category = old.get_model("catalog", "Category")
    Department = old.get_model("catalog", "Department")
    Item = old.get_model("catalog", "Item")
    category = Category.objects.create(
        catalog=Catalog.objects.create(name="村务", kind="village"), code="C", name="C"
    )
    department = Department.objects.create(name="财政所")

    def item(code, frequency, notice_days=None):
        return Item.objects.create(
            category=category,
            code=code,
            name=code,
            frequency=frequency,
            department=department,
            notice_days=notice_days,
        )

    item("CW01", "monthly", notice_days=5)  # the loader's guess from 公示
    item("CW07", "immediately")
    item("CW14", "immediately", notice_days=10)  # set by hand
    item("C05", "immediately")
    item("X99", "immediately")  # added in the admin

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps
    rows = {
        code: (timing, nil_allowed, notice_days)
        for code, timing, nil_allowed, notice_days in new.get_model(
            "catalog", "Item"
        ).objects.values_list("code", "timing", "nil_allowed", "notice_days")
    }
    assert rows == {
        "CW01": ("period_end", False, None),
        "CW07": ("standing", False, None),
        "CW14": ("before", True, 10),
        "C05": ("before", True, 5),
        "X99": ("event", True, None),
    }


def test_yearly_exercises_the_rules_require_are_never_nil(
    back_to_the_latest_afterwards,
):
    """catalog/0010: 民主评议党员, 民主生活会, 年度考核 … always have a result."""
    before = [("catalog", "0009_item_timings_data")]
    after = [("catalog", "0010_annual_exercises_never_nil")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    Catalog = old.get_model("catalog", "Catalog")
    Category = old.get_model("catalog", "Category")
    Department = old.get_model("catalog", "Department")
    Item = old.get_model("catalog", "Item")
    department = Department.objects.create(name="组织办")
    category = Category.objects.create(
        catalog=Catalog.objects.create(name="党务", kind="party"), code="C", name="C"
    )
    for code in ("C09", "D05", "C08"):
        Item.objects.create(
            category=category,
            code=code,
            name=code,
            frequency="yearly",
            department=department,
        )
    executor = MigrationExecutor(connection)
    executor.migrate(after)
    new = executor.loader.project_state(after).apps
    never = set(
        new.get_model("catalog", "Item")
        .objects.filter(nil_allowed=False)
        .values_list("code", flat=True)
    )
    assert never == {"C09", "D05"}
