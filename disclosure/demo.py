"""Load the demo town (disclosure/demo_data.py): its units, boards and notices.

Get-or-create throughout: loading twice changes nothing.
"""

from datetime import date, datetime, time

from django.db import transaction
from django.utils import timezone

from catalog.models import DisclosureForm, Item

from .models import Disclosure, NoticeBoard, Unit


def aware(day: str) -> datetime:
    # Notices went up in the morning; 09:00 local time keeps the date stable.
    return timezone.make_aware(datetime.combine(date.fromisoformat(day), time(9, 0)))


@transaction.atomic
def seed_units(specs: list[dict]) -> dict[str, Unit]:
    units: dict[str, Unit] = {}
    for order, spec in enumerate(specs, start=1):
        unit, created = Unit.objects.get_or_create(
            name=spec["name"],
            parent=units.get(spec["parent"]) if spec.get("parent") else None,
            defaults={
                "kind": spec["kind"],
                "is_liaison_point": spec.get("liaison", False),
                "description": spec.get("description", ""),
                "order": order,
            },
        )
        if created:
            for location, count in spec.get("boards", []):
                NoticeBoard.objects.create(unit=unit, location=location, count=count)
        units[unit.name] = unit
    return units


@transaction.atomic
def seed_disclosures(specs: list[dict], units: dict[str, Unit]) -> int:
    """Create the published demo notices; returns how many were new."""
    items = {item.code: item for item in Item.objects.all()}
    forms = {form.name: form for form in DisclosureForm.objects.all()}
    created_count = 0
    for spec in specs:
        disclosure, created = Disclosure.objects.get_or_create(
            unit=units[spec["unit"]],
            item=items[spec["item"]],
            period=spec["period"],
            title=spec["title"],
            defaults={
                "body": spec["body"],
                "status": Disclosure.Status.PUBLISHED,
                "published_at": aware(spec["published"]),
                "display_until": (
                    date.fromisoformat(spec["display_until"])
                    if spec.get("display_until")
                    else None
                ),
                "event_date": (
                    date.fromisoformat(spec["event_date"])
                    if spec.get("event_date")
                    else None
                ),
            },
        )
        if created:
            disclosure.full_clean()
            disclosure.forms.set(forms[name] for name in spec["forms"])
            created_count += 1
    return created_count
