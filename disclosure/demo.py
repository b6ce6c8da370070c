"""Load the demo town (disclosure/data/demo_town.json): its units, boards,
notices, 本期无 filings, attachments and tables.

The file holds the literal records; what is computed (workflow trails, index
numbers, the filings due, the files drawn by demo_files) is done here.
Get-or-create throughout: loading twice changes nothing.
"""

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from catalog.models import DisclosureForm, Item, Scope
from catalog.periods import InvalidPeriod, Period
from core.datafiles import (
    DataFileError,
    entries,
    iso_date,
    one_of,
    read_json,
    require,
    source_name,
)

from . import demo_files, procedure, tables
from . import inspections as inspection_figures
from .models import (
    Attachment,
    Disclosure,
    DisclosureEvent,
    DisclosureTable,
    Inspection,
    NoticeBoard,
    ObligationEvent,
    Rectification,
    Unit,
)
from .services import next_index_number

# What the demo's reviewers recorded on each 保密审查 (a record's content).
SECRECY_CONCLUSION = "经保密审查，不涉及国家秘密、工作秘密和个人隐私，同意公开。"
TOWN_FILE = Path(__file__).resolve().parent / "data" / "demo_town.json"

# The functions of demo_files an attachment entry may name as "drawn_by".
DRAWINGS: dict[str, Callable[[], bytes]] = {
    make.__name__: make
    for make in [
        demo_files.notice_board_photo,
        demo_files.water_delivery_photo,
        demo_files.finance_statement_pdf,
    ]
}


def read_town(path: Path | None = None) -> dict:
    """The demo town's file, checked: each entry has its keys, dates are dates,
    kinds are known and names refer to entries that exist."""
    path = path or TOWN_FILE
    data = read_json(path)
    source = source_name(path)
    units: set[str] = set()
    for where, unit in entries(
        data,
        "units",
        source=source,
        required=["name", "kind", "parent", "boards", "description"],
        optional=["liaison", "placeholder"],
        label="name",
    ):
        require(unit["name"] not in units, where, "name used twice")
        one_of(unit["kind"], Unit.Kind.values, where, "kind")
        require(
            unit["parent"] is None or unit["parent"] in units,
            where,
            f"parent {unit['parent']!r} is not a unit listed before it",
        )
        require(
            isinstance(unit["boards"], list)
            and all(
                isinstance(board, list)
                and len(board) == 2
                and isinstance(board[0], str)
                and isinstance(board[1], int)
                for board in unit["boards"]
            ),
            where,
            "boards must be a list of [location, count]",
        )
        units.add(unit["name"])
    data["disclosures"] = [
        *data.get("disclosures", []),
        *routine_disclosures(data, source, units),
    ]
    titles: set[str] = set()
    for where, spec in entries(
        data,
        "disclosures",
        source=source,
        required=["unit", "item", "period", "published", "title", "body", "forms"],
        optional=["display_until", "event_date", "scope", "public_from"],
    ):
        require(spec["unit"] in units, where, f"unknown unit {spec['unit']!r}")
        if "scope" in spec:
            one_of(spec["scope"], Scope.values, where, "scope")
        try:
            Period.parse(str(spec["period"]))
        except InvalidPeriod:
            raise DataFileError(
                f"{where}: period {spec['period']!r} is not a period key"
            ) from None
        iso_date(spec["published"], where, "published")
        for key in ["display_until", "event_date", "public_from"]:
            if spec.get(key) is not None:
                iso_date(spec[key], where, key)
        require(
            isinstance(spec["forms"], list) and bool(spec["forms"]),
            where,
            "forms must be a non-empty list of form names",
        )
        titles.add(spec["title"])
    where = f"{source}: nil_returns"
    plan = data.get("nil_returns")
    require(isinstance(plan, dict), where, "must be an object")
    iso_date(plan.get("as_of"), where, "as_of")
    require(
        isinstance(plan.get("filed_until"), dict),
        where,
        "filed_until must be an object",
    )
    for name, until in plan["filed_until"].items():
        require(name in units, where, f"unknown unit {name!r}")
        iso_date(until, where, f"filed_until[{name!r}]")
    for late_where, late in entries(
        plan,
        "late",
        source=where,
        required=["unit", "item", "period", "filed"],
        label="item",
    ):
        require(late["unit"] in units, late_where, f"unknown unit {late['unit']!r}")
        iso_date(late["filed"], late_where, "filed")
    for where, spec in entries(
        data,
        "events",
        source=source,
        required=["unit", "item", "event_date", "description"],
        label="description",
    ):
        require(spec["unit"] in units, where, f"unknown unit {spec['unit']!r}")
        iso_date(spec["event_date"], where, "event_date")
    for where, spec in entries(
        data,
        "attachments",
        source=source,
        required=["disclosure", "kind", "caption", "file_name", "drawn_by"],
        label="caption",
    ):
        require(
            spec["disclosure"] in titles,
            where,
            f"no disclosure titled {spec['disclosure']!r}",
        )
        one_of(spec["kind"], Attachment.Kind.values, where, "kind")
        one_of(spec["drawn_by"], DRAWINGS, where, "drawn_by")
    for where, spec in entries(
        data,
        "tables",
        source=source,
        required=["disclosure", "title", "rows"],
        label="title",
    ):
        require(
            spec["disclosure"] in titles,
            where,
            f"no disclosure titled {spec['disclosure']!r}",
        )
        require(
            isinstance(spec["rows"], list)
            and all(isinstance(r, list) and len(r) == 7 for r in spec["rows"]),
            where,
            "rows must be lists of the template's 7 columns",
        )
    return data


def routine_disclosures(data: dict, source: str, units: set[str]) -> list[dict]:
    """The liaison points' routine 村务 notices (monthly finance statements,
    quarterly allowances, the village rules kept on the board), written once
    as a pattern per item: one notice per unit and period, on the day the
    pattern gives, unless the file lists that unit's notice for the period
    itself. 村务, so outside the article's 50 党务 notices."""
    listed = {
        (spec.get("unit"), spec.get("item"), str(spec.get("period")))
        for spec in data.get("disclosures", [])
        if isinstance(spec, dict)
    }
    made = []
    for where, spec in entries(
        data,
        "routine",
        source=source,
        required=["units", "item", "published", "title", "body", "forms"],
        optional=["display_until"],
        label="item",
    ):
        require(
            isinstance(spec["units"], list) and bool(spec["units"]),
            where,
            "units must be a non-empty list of unit names",
        )
        require(
            isinstance(spec["published"], dict) and bool(spec["published"]),
            where,
            "published must map period keys to publication days",
        )
        for name in spec["units"]:
            require(name in units, where, f"unknown unit {name!r}")
            for key, day in spec["published"].items():
                try:
                    period = Period.parse(key)
                except InvalidPeriod:
                    raise DataFileError(
                        f"{where}: period {key!r} is not a period key"
                    ) from None
                if (name, spec["item"], key) in listed:
                    continue
                words = {"unit": name, "period": period.label}
                made.append(
                    {
                        "unit": name,
                        "item": spec["item"],
                        "period": key,
                        "published": day,
                        "title": spec["title"].format(**words),
                        "body": spec["body"].format(**words),
                        "forms": spec["forms"],
                        "display_until": spec.get("display_until"),
                    }
                )
    return made


def aware(day: str) -> datetime:
    # Notices went up in the morning; 09:00 local time keeps the date stable.
    return timezone.make_aware(datetime.combine(date.fromisoformat(day), time(9, 0)))


@transaction.atomic
def seed_units(specs: list[dict]) -> dict[str, Unit]:
    units: dict[str, Unit] = {}
    for order, spec in enumerate(specs, start=1):
        parent = units.get(spec["parent"]) if spec.get("parent") else None
        if parent is not None:
            # A demo seeded before the county existed: its town moves under it.
            Unit.objects.filter(
                name=spec["name"], kind=spec["kind"], parent__isnull=True
            ).update(parent=parent)
        unit, created = Unit.objects.get_or_create(
            name=spec["name"],
            parent=parent,
            defaults={
                "kind": spec["kind"],
                "is_liaison_point": spec.get("liaison", False),
                "description": spec["description"],
                "order": order,
            },
        )
        if created:
            for location, count in spec["boards"]:
                NoticeBoard.objects.create(unit=unit, location=location, count=count)
        units[unit.name] = unit
    return units


@transaction.atomic
def seed_disclosures(specs: list[dict], units: dict[str, Unit]) -> int:
    """Create the published demo notices; returns how many were new."""
    items = {item.code: item for item in Item.objects.all()}
    forms = {form.name: form for form in DisclosureForm.objects.all()}
    for spec in specs:
        # The catalogs are loaded before: a code or form they lack is the file's.
        if spec["item"] not in items:
            raise DataFileError(
                f"demo disclosure {spec['title']!r}: no catalog item {spec['item']!r}"
            )
        if unknown := [name for name in spec["forms"] if name not in forms]:
            raise DataFileError(
                f"demo disclosure {spec['title']!r}: no disclosure form {unknown[0]!r}"
            )
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
                # 党组织内部 where the item allows it; otherwise the item's
                # scope (Disclosure.derive_scope); 先党内后党外 from a later day.
                "scope": spec.get("scope", Scope.PUBLIC),
                "public_from": (
                    aware(spec["public_from"]) if spec.get("public_from") else None
                ),
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
    """The 提出 → 审核 (with the 保密审查) → 审批 → 发布 steps a 2011 notice
    would have gone through, by the bodies its catalog's procedure names for
    its unit: the same resolution the workflow uses, no name written here."""
    Status, Action = Disclosure.Status, DisclosureEvent.Action
    published = disclosure.published_at
    bodies = procedure.bodies_for(disclosure)
    steps = [
        (Action.SUBMITTED, Status.DRAFT, Status.SUBMITTED, bodies.draft, 3),
        (Action.REVIEWED, Status.SUBMITTED, Status.REVIEWED, bodies.review, 2),
        (Action.APPROVED, Status.REVIEWED, Status.APPROVED, bodies.approve, 1),
        (Action.PUBLISHED, Status.APPROVED, Status.PUBLISHED, bodies.publish, 0),
    ]
    DisclosureEvent.objects.bulk_create(
        DisclosureEvent(
            disclosure=disclosure,
            action=action,
            from_status=old,
            to_status=new,
            body=body,
            acting_body=body.name,
            secrecy_reviewed=action == Action.REVIEWED,
            secrecy_conclusion=SECRECY_CONCLUSION if action == Action.REVIEWED else "",
            at=published - timedelta(days=days_before),
        )
        for action, old, new, body, days_before in steps
    )


@transaction.atomic
def seed_nil_returns(units: dict[str, Unit], plan: dict) -> int:
    """File 本期无此事项 for what each unit of `plan` had nothing to disclose,
    up to its "filed_until" day, as real boards do.

    The demo's compliance picture on plan's "as_of" day: the two liaison points
    filed a 本期无 for everything due that may be nil (not for what always has
    content, such as the monthly finances), plan's "late" ones months late;
    two villages kept up until mid-year, the rest are behind. These filings
    are not counted among the article's 50 notices.
    """
    from . import compliance

    as_of = date.fromisoformat(plan["as_of"])
    until = {name: date.fromisoformat(day) for name, day in plan["filed_until"].items()}
    # A few filed months late, as inspectors find them: 逾期公开, not 按时.
    late = {
        (spec["unit"], spec["item"], spec["period"]): date.fromisoformat(spec["filed"])
        for spec in plan["late"]
    }
    chosen = [units[name] for name in until]
    obligations, items = compliance.load(units=chosen, year=as_of.year, as_of=as_of)
    item_by_id = {item.pk: item for item in items}
    unit_by_id = {unit.pk: unit for unit in chosen}
    created_count = 0
    for obligation in obligations:
        unit = unit_by_id[obligation.unit_id]
        if obligation.state != compliance.State.MISSING or obligation.period is None:
            continue
        item = item_by_id[obligation.item_id]
        period = obligation.period
        # Items that always have content (monthly finances, 三会一课) are
        # never nil: left 逾期未公开 where nothing was published.
        if not item.nil_allowed:
            continue
        filed = late.get((unit.name, item.code, period.key))
        if filed is None:
            if obligation.due >= until[unit.name]:
                continue
            filed = obligation.due - timedelta(days=2)
        disclosure, created = Disclosure.objects.get_or_create(
            unit=unit,
            item=item,
            period=period.key,
            is_nil_return=True,
            defaults={
                "title": f"{unit.name}{period.label}“{item.name}”：本期无此事项",
                "body": f"{period.label}本单位未发生“{item.name}”相关事项，"
                "无应公开内容，特此说明。",
                "status": Disclosure.Status.PUBLISHED,
                "published_at": aware(filed.isoformat()),
                # Posted for a month, then kept in the archive by period.
                "display_until": filed + timedelta(days=30),
            },
        )
        if created:
            disclosure.index_number = next_index_number(disclosure)
            disclosure.save(update_fields=["index_number"])
            add_demo_trail(disclosure)
            created_count += 1
    return created_count


@transaction.atomic
def seed_events(specs: list[dict], units: dict[str, Unit]) -> int:
    """Register the demo's events (事项登记) that 随时 or 事前 items owe a
    disclosure for; one with nothing published shows as 逾期未公开."""
    created_count = 0
    for spec in specs:
        _event, created = ObligationEvent.objects.get_or_create(
            unit=units[spec["unit"]],
            item=Item.objects.get(code=spec["item"]),
            event_date=date.fromisoformat(spec["event_date"]),
            defaults={"description": spec["description"]},
        )
        created_count += created
    return created_count


def seed_attachments(specs: list[dict]) -> int:
    """Attach photos and a PDF to a few notices, so that a visitor can try
    attachments: the files are drawn by demo_files and go through the admin's
    upload form, so that they are checked and cleaned exactly as an uploaded
    file; returns how many were new."""
    from .forms import AttachmentForm

    created_count = 0
    for spec in specs:
        caption, filename = spec["caption"], spec["file_name"]
        disclosure = Disclosure.objects.filter(title=spec["disclosure"]).first()
        if disclosure is None or disclosure.attachments.filter(title=caption).exists():
            continue
        form = AttachmentForm(
            data={"kind": spec["kind"], "title": caption},
            files={"file": SimpleUploadedFile(filename, DRAWINGS[spec["drawn_by"]]())},
            instance=Attachment(disclosure=disclosure),
        )
        if not form.is_valid():
            raise ValueError(f"demo attachment {filename}: {form.errors.as_text()}")
        form.save()
        created_count += 1
    return created_count


def seed_tables(specs: list[dict]) -> int:
    """Give a few finance notices their 收支明细表: written into the template
    spreadsheet and uploaded through the admin's form, so that they are read
    and checked exactly as an editor's file; returns how many were new."""
    from .forms import DisclosureTableForm

    created_count = 0
    for spec in specs:
        disclosure = Disclosure.objects.filter(title=spec["disclosure"]).first()
        if disclosure is None or disclosure.tables.exists():
            continue
        content = tables.template_workbook(title=spec["title"], rows=spec["rows"])
        form = DisclosureTableForm(
            data={"caption": ""},
            files={"file": SimpleUploadedFile("收支明细表.xlsx", content)},
            instance=DisclosureTable(disclosure=disclosure),
        )
        if not form.is_valid():
            raise ValueError(f"demo table {spec['title']}: {form.errors.as_text()}")
        form.save()
        created_count += 1
    return created_count


INSPECTIONS_FILE = Path(__file__).resolve().parent / "data" / "demo_inspections.json"
CRITERIA_KEYS = {"complete", "form", "procedure", "timeliness", "feedback"}


def read_inspections(path: Path | None = None) -> dict:
    """The demo's 督查 records, checked like the town's file."""
    path = path or INSPECTIONS_FILE
    data = read_json(path)
    source = source_name(path)
    for where, spec in entries(
        data,
        "inspections",
        source=source,
        required=["unit", "inspected_on", "findings", "scores", "rectifications"],
        label="unit",
    ):
        iso_date(spec["inspected_on"], where, "inspected_on")
        require(
            isinstance(spec["scores"], dict)
            and set(spec["scores"]) <= CRITERIA_KEYS
            and all(
                isinstance(v, int) and 0 <= v <= 100 for v in spec["scores"].values()
            ),
            where,
            "scores must map criteria to 0–100",
        )
        for n, fix in enumerate(spec["rectifications"]):
            there = f"{where}: rectifications[{n}]"
            for key in ("unit", "issue", "deadline"):
                require(key in fix, there, f"missing {key!r}")
            iso_date(fix["deadline"], there, "deadline")
            if fix.get("completed_on"):
                iso_date(fix["completed_on"], there, "completed_on")
    return data


@transaction.atomic
def seed_inspections(data: dict, *, inspector) -> int:
    """Create the demo's checks (once: matched by unit and day); returns how
    many were new. Timeliness and feedback are computed from the data."""
    made = 0
    for spec in data["inspections"]:
        unit = Unit.objects.get(name=spec["unit"])
        day = date.fromisoformat(spec["inspected_on"])
        if Inspection.objects.filter(unit=unit, inspected_on=day).exists():
            continue
        inspection = Inspection(
            unit=unit,
            inspected_on=day,
            inspector=inspector,
            findings=spec["findings"],
            **{f"score_{k}": v for k, v in spec["scores"].items()},
        )
        inspection_figures.prefill(inspection)
        inspection.save()
        for fix in spec["rectifications"]:
            done = fix.get("completed_on")
            Rectification.objects.create(
                unit=Unit.objects.get(name=fix["unit"]),
                inspection=inspection,
                issue=fix["issue"],
                deadline=date.fromisoformat(fix["deadline"]),
                completed_on=date.fromisoformat(done) if done else None,
                completion_note=fix.get("completion_note", ""),
            )
        made += 1
    return made
