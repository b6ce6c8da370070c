"""Load the demo town (disclosure/demo_data.py): its units, boards and notices.

Get-or-create throughout: loading twice changes nothing.
"""

from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from catalog.models import DisclosureForm, Item

from . import demo_files
from .models import Attachment, Disclosure, DisclosureEvent, NoticeBoard, Unit
from .services import approval_body, next_index_number

NOTICE_OBJECTIONS = {
    "文理村抗旱救灾物资发放情况公示": (
        "公示期间收到村民反映 1 条，称个别缺水困难户未列入发放名单。"
        "经村两委入户核实，已补充列入并重新张榜公示。"
    ),
}


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
            disclosure.posted_on = disclosure.published_at.date()
            disclosure.taken_down_on = disclosure.display_until
            disclosure.index_number = next_index_number(disclosure)
            disclosure.save(
                update_fields=["posted_on", "taken_down_on", "index_number"]
            )
            add_demo_trail(disclosure)
            created_count += 1
    return created_count


def add_demo_trail(disclosure: Disclosure) -> None:
    """The 提出 → 审核审批 → 发布 steps a 2011 notice would have gone through."""
    Status, Action = Disclosure.Status, DisclosureEvent.Action
    published = disclosure.published_at
    steps = [
        (Action.SUBMITTED, Status.DRAFT, Status.SUBMITTED, disclosure.unit.name, 3),
        (
            Action.APPROVED,
            Status.SUBMITTED,
            Status.APPROVED,
            approval_body(),
            1,
        ),
        (
            Action.PUBLISHED,
            Status.APPROVED,
            Status.PUBLISHED,
            settings.DISCLOSURE_APPROVAL_BODY,
            0,
        ),
    ]
    DisclosureEvent.objects.bulk_create(
        DisclosureEvent(
            disclosure=disclosure,
            action=action,
            from_status=old,
            to_status=new,
            acting_body=body,
            at=published - timedelta(days=days_before),
        )
        for action, old, new, body, days_before in steps
    )


# The demo's compliance picture on 2011-10-01: the two liaison points
# filed everything due, two villages kept up until mid-year, the rest are behind.
# What a village had nothing to disclose for is filed as 本期无此事项, as real
# boards do; these filings are not counted among the article's 50 notices.
NIL_RETURNS_AS_OF = date(2011, 10, 1)
NIL_RETURNS_UNTIL = {
    "文理村": date(2011, 10, 1),
    "茅山村": date(2011, 10, 1),
    "凤凰村": date(2011, 7, 1),
    "金龙湖村": date(2011, 7, 1),
}


@transaction.atomic
def seed_nil_returns(units: dict[str, Unit]) -> int:
    from . import compliance

    chosen = [units[name] for name in NIL_RETURNS_UNTIL]
    obligations, items = compliance.load(
        units=chosen, year=NIL_RETURNS_AS_OF.year, as_of=NIL_RETURNS_AS_OF
    )
    item_by_id = {item.pk: item for item in items}
    unit_by_id = {unit.pk: unit for unit in chosen}
    created_count = 0
    for obligation in obligations:
        unit = unit_by_id[obligation.unit_id]
        if obligation.state != compliance.State.MISSING:
            continue
        if obligation.due >= NIL_RETURNS_UNTIL[unit.name]:
            continue
        item = item_by_id[obligation.item_id]
        period = obligation.period
        disclosure, created = Disclosure.objects.get_or_create(
            unit=unit,
            item=item,
            period=period.key,
            is_nil_return=True,
            defaults={
                "title": f"{unit.name}{period.label}“{item.name}”：本期无此事项",
                "body": "本期无此事项，特此说明。",
                "status": Disclosure.Status.PUBLISHED,
                "published_at": aware((obligation.due - timedelta(days=2)).isoformat()),
                # Posted for a month, then kept in the archive by period.
                "display_until": obligation.due + timedelta(days=28),
            },
        )
        if created:
            disclosure.index_number = next_index_number(disclosure)
            disclosure.save(update_fields=["index_number"])
            add_demo_trail(disclosure)
            created_count += 1
    return created_count


# Photos and a PDF on a few notices, so that a visitor can try attachments.
# (disclosure title, kind, caption, file name, how the file is made)
ATTACHMENTS = [
    (
        "文理村抗旱救灾物资发放情况公示",
        Attachment.Kind.POSTING_PHOTO,
        "公示张贴照片（文理村村务公开栏）",
        "board.jpg",
        demo_files.notice_board_photo,
    ),
    (
        "茅山村党员志愿服务队抗旱送水帮扶情况",
        Attachment.Kind.PHOTO,
        "送水现场",
        "water.jpg",
        demo_files.water_delivery_photo,
    ),
    (
        "文理村2011年6月村级财务收支情况公开",
        Attachment.Kind.DOCUMENT,
        "2011年6月村级财务收支明细表",
        "statement.pdf",
        demo_files.finance_statement_pdf,
    ),
]


def seed_attachments() -> int:
    """Attach the demo files through the admin's upload form, so that they are
    checked and cleaned exactly as an uploaded file; returns how many were new."""
    from .forms import AttachmentForm

    created_count = 0
    for title, kind, caption, filename, make in ATTACHMENTS:
        disclosure = Disclosure.objects.filter(title=title).first()
        if disclosure is None or disclosure.attachments.filter(title=caption).exists():
            continue
        form = AttachmentForm(
            data={"kind": kind, "title": caption},
            files={"file": SimpleUploadedFile(filename, make())},
            instance=Attachment(disclosure=disclosure),
        )
        if not form.is_valid():
            raise ValueError(f"demo attachment {filename}: {form.errors.as_text()}")
        form.save()
        created_count += 1
    return created_count
