"""Load a catalog from the JSON shape of catalog/data/*.json.

Adds what is missing and leaves existing rows alone, so that loading twice
changes nothing and edits made in the admin survive a reload. Each new row
passes its fields' checks, as in the admin (no control characters in a name,
lengths): a file with a bad value loads nothing and says which.
"""

import functools
import json
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import models, transaction

from .models import (
    Catalog,
    Category,
    Department,
    DisclosureForm,
    Item,
    ProcedureRule,
    ScheduleRule,
    Scope,
    Timing,
)

DATA_DIR = Path(__file__).resolve().parent / "data"

FREQUENCIES = {
    "immediately": Item.Frequency.IMMEDIATELY,
    "monthly": Item.Frequency.MONTHLY,
    "quarterly": Item.Frequency.QUARTERLY,
    "half-yearly": Item.Frequency.HALF_YEARLY,
    "yearly": Item.Frequency.YEARLY,
}
SCOPES = {
    "public": Scope.PUBLIC,
    "inner-party": Scope.INNER_PARTY,
    "branch": Scope.BRANCH,
}


def default_timing(frequency: str) -> str:
    """A catalog file without timings: as-needed items by event, the rest
    after the period ends."""
    return Timing.EVENT if frequency == "immediately" else Timing.PERIOD_END


def read(name: str) -> dict:
    return json.loads((DATA_DIR / name).read_text(encoding="utf-8"))


def checked(row: models.Model, created: bool) -> models.Model:
    """A row just added passes its fields' validators, or the load (atomic)
    is undone with the validators' message. Relations are left out: they were
    just looked up."""
    if not created:
        return row
    try:
        row.clean_fields(
            exclude=[f.name for f in row._meta.concrete_fields if f.is_relation]
        )
    except ValidationError as error:
        problems = "; ".join(
            f"{name}: {message}"
            for name, messages in error.message_dict.items()
            for message in messages
        )
        raise ValidationError(
            f"{row._meta.label} {str(row)[:40]!r}: {problems}"
        ) from None
    return row


def add_procedure(catalog: Catalog, procedure: dict) -> None:
    """The catalog's ProcedureRule per level, as a catalog file gives it
    ("procedure": {"town": {...}, "village": {...}}); edits are kept."""
    for level, rule in procedure.items():
        checked(
            *ProcedureRule.objects.get_or_create(
                catalog=catalog,
                level=level,
                defaults={
                    "draft_body": rule["draft"],
                    "review_body": rule["review"],
                    "review_by_town": rule["review_by_town"],
                    "approve_body": rule["approve"],
                    "approve_by_town": rule["approve_by_town"],
                    "publish_body": rule["publish"],
                    "publish_by_town": rule["publish_by_town"],
                },
            )
        )


@functools.cache
def standard_procedure(kind: str) -> dict:
    """The procedure shipped for a kind of catalog (its data file's)."""
    return read(f"{kind}_catalog.json").get("procedure", {})


@transaction.atomic
def load_catalog(
    data: dict,
    *,
    kind: str,
    name: str,
    document: str = "",
    note: str = "",
    order: int = 0,
) -> Catalog:
    catalog = checked(
        *Catalog.objects.get_or_create(
            kind=kind,
            defaults={
                "name": name,
                "document": document,
                "note": note,
                "order": order,
            },
        )
    )
    ScheduleRule.objects.get_or_create(catalog=catalog)
    add_procedure(catalog, data.get("procedure", {}))
    for cat_order, cat in enumerate(data["categories"], start=1):
        category = checked(
            *Category.objects.get_or_create(
                catalog=catalog,
                code=cat["code"],
                defaults={
                    "name": cat["name"],
                    "description": cat.get("content_area_2011", ""),
                    "order": cat_order,
                },
            )
        )
        for item_order, raw in enumerate(cat["items"], start=1):
            department = checked(
                *Department.objects.get_or_create(name=raw["department"])
            )
            item, created = Item.objects.get_or_create(
                code=raw["code"],
                defaults={
                    "category": category,
                    "name": raw["name"],
                    "frequency": FREQUENCIES[raw["frequency"]],
                    "scope": SCOPES[raw["scope"]],
                    "party_first_allowed": raw.get("party_first", False),
                    "branch_scope_allowed": raw.get("branch_scope", False),
                    "department": department,
                    "timing": raw.get("timing", default_timing(raw["frequency"])),
                    "nil_allowed": raw.get("nil_allowed", True),
                    # Only a real 公示 (发展对象, 任前 …) has a notice period,
                    # in working days; "公示" among the forms is not one.
                    "notice_days": raw.get("notice_days"),
                    "for_town": "town" in raw["levels"],
                    "for_village": "village" in raw["levels"],
                    "order": item_order,
                },
            )
            if created:
                checked(item, created)
                item.forms.set(
                    checked(*DisclosureForm.objects.get_or_create(name=form))
                    for form in raw["forms"]
                )
    return catalog
