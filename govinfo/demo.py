"""Load the demo year's applications (govinfo/data/demo_govinfo.json): a
handful of each answer type of 2011, with invented applicants, their steps
(补正, 征求意见, 延期) and two remedies. Each row's clock is computed by
govinfo/clock.py from its steps, as a live case's would be.
Get-or-create by the 受理编号: loading twice changes nothing."""

from datetime import datetime, time
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from core.datafiles import entries, iso_date, one_of, read_json, require, source_name
from disclosure.models import Unit

from . import clock
from .models import (
    GROUNDS,
    ApplicantKind,
    Channel,
    Delivery,
    InfoRequest,
    InfoRequestEvent,
    Remedy,
    Result,
)

DEMO_FILE = Path(__file__).resolve().parent / "data" / "demo_govinfo.json"
Kind = InfoRequestEvent.Kind
Status = InfoRequest.Status
APPLICATION_KEYS = ["code", "kind", "name", "channel", "received", "description"]
OPTIONAL_KEYS = [
    "id_number",
    "credit_code",
    "contact_person",
    "phone",
    "delivery",
    "document_number",
    "result",
    "ground",
    "answered",
    "answer",
    "steps",
]


def read_demo(path: Path | None = None) -> dict:
    path = path or DEMO_FILE
    data = read_json(path)
    source = source_name(path)
    for where, row in entries(
        data,
        "applications",
        source=source,
        required=APPLICATION_KEYS,
        optional=OPTIONAL_KEYS,
        label="code",
    ):
        one_of(row["kind"], ApplicantKind.values, where, "kind")
        one_of(row["channel"], Channel.values, where, "channel")
        one_of(row.get("delivery", "online"), Delivery.values, where, "delivery")
        received = iso_date(row["received"], where, "received")
        if "result" in row:
            one_of(row["result"], Result.values, where, "result")
            grounds = [g.value for g in GROUNDS[row["result"]]]
            one_of(row.get("ground", ""), grounds or [""], where, "ground")
            answered = iso_date(row.get("answered"), where, "answered")
            require(answered >= received, where, "answered before received")
        for step in row.get("steps", []):
            one_of(step.get("kind"), clock.CLOCK_STEPS, where, "steps.kind")
            iso_date(step.get("on"), where, "steps.on")
    for where, row in entries(
        data,
        "remedies",
        source=source,
        required=["kind", "request", "filed", "outcome"],
        optional=["decided"],
        label="request",
    ):
        one_of(row["kind"], Remedy.Kind.values, where, "kind")
        one_of(row["outcome"], Remedy.Outcome.values, where, "outcome")
    return data


def _at(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(10)))


@transaction.atomic
def seed_govinfo(data: dict) -> int:
    """The applications to the demo town's government; returns how many are new."""
    town = Unit.objects.towns().order_by("order", "id").first()
    if town is None:
        return 0
    new = 0
    for row in data["applications"]:
        if InfoRequest.objects.filter(code=row["code"]).exists():
            continue
        new += 1
        received = iso_date(row["received"], row["code"], "received")
        steps = [
            clock.Step(
                s["kind"], iso_date(s["on"], row["code"], "on"), s.get("days", 0)
            )
            for s in row.get("steps", [])
        ]
        state = clock.run(received, steps)
        answered = (
            iso_date(row["answered"], row["code"], "answered")
            if "answered" in row
            else None
        )
        info = InfoRequest(
            unit=town,
            code=row["code"],
            channel=row["channel"],
            applicant_kind=row["kind"],
            name=row["name"],
            id_number=row.get("id_number", ""),
            credit_code=row.get("credit_code", ""),
            contact_person=row.get("contact_person", ""),
            phone=row.get("phone", ""),
            description=row["description"],
            document_number=row.get("document_number", ""),
            delivery=row.get("delivery", Delivery.ONLINE),
            consent=True,
            submitted_at=_at(received),
            received_on=received,
            due_on=state.due_on,
            extended_days=state.extended_days,
            extension_reason=next(
                (
                    s.get("note", "")
                    for s in row.get("steps", [])
                    if s["kind"] == "extend"
                ),
                "",
            ),
            result=row.get("result", ""),
            ground=row.get("ground", ""),
            answer_text=row.get("answer", ""),
            answered_on=answered,
            status=InfoRequest.Status.ANSWERED
            if answered
            else InfoRequest.Status.RECEIVED,
        )
        info.full_clean(exclude=["code"])
        info.save()
        events = [(Kind.RECEIVED, received, 0, info.get_channel_display())]
        events += [
            (
                s["kind"],
                iso_date(s["on"], row["code"], "on"),
                s.get("days", 0),
                s.get("note", ""),
            )
            for s in row.get("steps", [])
        ]
        if answered:
            closing = (
                Kind.ABANDONED
                if row.get("ground") == "no_correction"
                else Kind.ANSWERED
            )
            if closing == Kind.ANSWERED:
                events.append((Kind.DRAFTED, answered, 0, info.get_result_display()))
            events.append((closing, answered, 0, info.get_result_display()))
        InfoRequestEvent.objects.bulk_create(
            InfoRequestEvent(
                request=info, kind=kind, on=on, days=days, note=note, at=_at(on)
            )
            for kind, on, days, note in events
        )
    for row in data["remedies"]:
        info = InfoRequest.objects.get(code=row["request"])
        filed = iso_date(row["filed"], row["request"], "filed")
        Remedy.objects.get_or_create(
            request=info,
            kind=row["kind"],
            filed_on=filed,
            defaults={
                "unit": info.unit,
                "outcome": row["outcome"],
                "decided_on": (
                    iso_date(row["decided"], row["request"], "decided")
                    if row.get("decided")
                    else None
                ),
            },
        )
    return new
