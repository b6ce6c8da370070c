"""Load the demo 回音壁 (feedback/data/demo_feedback.json): the article's
figures and a few open cases.

The file holds the literal cases: "answered" the closed 反映 and 咨询 of the
2011 drought and fire season, "requests" the 点题公开 answered by a demo notice
(found by a part of its title), "open" the cases still open, received some days
before the seeding day and accepted (受理) by a department or not yet, "loop"
the rest of the practice (a 建议 partly adopted with its reason, a 接待日 case
rated by staff after a 电话回访, a 举报 that never reaches the wall). What
varies from case to case without being a fact of it (invented submitters,
ratings, the hours of each step) is computed here.
Get-or-create throughout: loading twice changes nothing.
"""

from datetime import date, datetime, time, timedelta
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from catalog.models import Department
from core.datafiles import (
    DataFileError,
    entries,
    iso_date,
    one_of,
    read_json,
    require,
    source_name,
)
from disclosure.models import Disclosure, Organisation, Unit
from disclosure.models.organisations import STANDARD_BODIES

from . import services
from .models import (
    CONFIDENTIAL_KINDS,
    OUTCOME_KINDS,
    AnswerRound,
    AnswerTemplate,
    Channel,
    Kind,
    Outcome,
    Rating,
    RatingChannel,
    Status,
    Submission,
    Tag,
)

FEEDBACK_FILE = Path(__file__).resolve().parent / "data" / "demo_feedback.json"


def read_feedback(path: Path | None = None) -> dict:
    """The demo 回音壁's file, checked: each entry has its keys, kinds, channels
    and tags are known, dates and times are written as the file writes them."""
    path = path or FEEDBACK_FILE
    data = read_json(path)
    source = source_name(path)
    tags = data.get("tags")
    require(
        isinstance(tags, list)
        and all(isinstance(tag, str) for tag in tags)
        and len(set(tags)) == len(tags),
        f"{source}: tags",
        "must be a list of distinct names",
    )
    for where, template in entries(
        data, "answer_templates", source=source, required=["kind", "title", "text"]
    ):
        one_of(template["kind"], Kind.values, where, "kind")
    case = ["unit", "channel", "title", "text"]
    for where, row in entries(
        data,
        "answered",
        source=source,
        required=[*case, "kind", "tag", "received", "answered", "department", "answer"],
        optional=["answered_by_body", "assigned_to_body", "second_round"],
    ):
        _check_body(row, where)
        if "assigned_to_body" in row:
            one_of(row["assigned_to_body"], VILLAGE_BODIES, where, "assigned_to_body")
        if "second_round" in row:
            _check_second_round(row, where)
        one_of(row["kind"], Kind.values, where, "kind")
        one_of(row["tag"], tags, where, "tag")
        one_of(row["channel"], Channel.values, where, "channel")
        iso_date(row["received"], where, "received")
        iso_date(row["answered"], where, "answered")
    steps = ["received_at", "accepted_at", "answered_at", "closed_at"]
    for where, row in entries(
        data,
        "requests",
        source=source,
        required=[
            *case,
            *steps,
            "name",
            "is_party_member",
            "consent_to_publish",
            "department",
            "answer",
            "fulfilled_by_title_containing",
        ],
        optional=["answered_by_body"],
    ):
        _check_body(row, where)
        one_of(row["channel"], Channel.values, where, "channel")
        for key in steps:
            local_time(row[key], where, key)
    for where, row in entries(
        data,
        "loop",
        source=source,
        required=[*case, "kind", "tag", "received", "answered", "department", "answer"],
        optional=[
            "outcome",
            "outcome_reason",
            "rating",
            "rating_channel",
            "rated",
            "rating_comment",
        ],
    ):
        one_of(row["kind"], Kind.values, where, "kind")
        one_of(row["tag"], tags, where, "tag")
        one_of(row["channel"], Channel.values, where, "channel")
        iso_date(row["received"], where, "received")
        iso_date(row["answered"], where, "answered")
        if "outcome" in row:
            one_of(row["outcome"], Outcome.values, where, "outcome")
            require(
                row["kind"] in OUTCOME_KINDS,
                where,
                "an outcome is for an opinion or a suggestion",
            )
            require(
                row["outcome"] == Outcome.ADOPTED or bool(row.get("outcome_reason")),
                where,
                "outcome_reason is required unless adopted",
            )
        if "rating" in row:
            one_of(row["rating"], Rating.values, where, "rating")
            one_of(
                row.get("rating_channel"), RatingChannel.values, where, "rating_channel"
            )
            iso_date(row.get("rated"), where, "rated")
    for where, row in entries(
        data,
        "open",
        source=source,
        required=[*case, "kind", "tag", "received_days_ago", "accepted_by"],
    ):
        one_of(row["kind"], Kind.values, where, "kind")
        one_of(row["tag"], tags, where, "tag")
        one_of(row["channel"], Channel.values, where, "channel")
        require(
            isinstance(row["received_days_ago"], int) and row["received_days_ago"] >= 0,
            where,
            "received_days_ago must be a whole number of days",
        )
    return data


# The bodies a village answers through (村务: its own, not a town office).
VILLAGE_BODIES = [name for _kind, name in STANDARD_BODIES[Unit.Kind.VILLAGE]]
SECOND_ROUND_KEYS = {"unsatisfied_on", "comment", "answered", "answer"}


def _check_second_round(row: dict, where: str) -> None:
    second = row["second_round"]
    require(
        isinstance(second, dict) and set(second) == SECOND_ROUND_KEYS,
        where,
        f"second_round must have exactly {sorted(SECOND_ROUND_KEYS)}",
    )
    days = [
        iso_date(row["answered"], where, "answered"),
        iso_date(second["unsatisfied_on"], where, "second_round.unsatisfied_on"),
        iso_date(second["answered"], where, "second_round.answered"),
    ]
    require(days == sorted(days), where, "second_round must follow the first answer")


def _check_body(row: dict, where: str) -> None:
    if "answered_by_body" in row:
        one_of(row["answered_by_body"], VILLAGE_BODIES, where, "answered_by_body")


def answering_body(
    unit: Unit, row: dict, key: str = "answered_by_body"
) -> Organisation | None:
    """The village body named by the case, of the case's own village."""
    name = row.get(key)
    if not name:
        return None
    body = Organisation.objects.filter(unit=unit, name=name).first()
    if body is None:
        raise DataFileError(f"{row['title']}: {unit.name} has no body {name!r}")
    return body


def local_time(value: object, where: str, key: str) -> datetime:
    """A YYYY-MM-DDTHH:MM string, in the portal's time zone."""
    try:
        day, _, hour = value.partition("T")  # type: ignore[union-attr]
        return timezone.make_aware(
            datetime.combine(date.fromisoformat(day), time.fromisoformat(hour))
        )
    except (AttributeError, ValueError):
        raise DataFileError(
            f"{where}: {key} must be a time as YYYY-MM-DDTHH:MM, not {value!r}"
        ) from None


def aware(day: str, hour: int = 10) -> datetime:
    return timezone.make_aware(datetime.combine(date.fromisoformat(day), time(hour)))


def lookup(names: dict, name: str, what: str, where: str):
    """A unit or department the file names: the demo town and the catalogs are
    loaded before, so one missing is the file's mistake."""
    if name not in names:
        raise DataFileError(f"demo 回音壁 {where!r}: no {what} {name!r}")
    return names[name]


def _get_or_create(*, unit: Unit, title: str, defaults: dict) -> bool:
    """A case by its unit and title, else created with its deadlines filled as
    the workflow fills them; True if it was created."""
    if Submission.objects.filter(unit=unit, title=title).exists():
        return False
    submission = Submission(unit=unit, title=title, **defaults)
    services.set_deadlines(submission)
    submission.save()
    return True


@transaction.atomic
def seed_feedback(data: dict) -> int:
    """Create the demo submissions of `data` (as read by read_feedback);
    returns how many were new."""
    tags = {}
    for order, name in enumerate(data["tags"], start=1):
        tags[name], _ = Tag.objects.get_or_create(name=name, defaults={"order": order})
    for template in data["answer_templates"]:
        AnswerTemplate.objects.get_or_create(
            kind=template["kind"],
            title=template["title"],
            defaults={"text": template["text"]},
        )
    cases = [*data["answered"], *data["requests"], *data["open"], *data["loop"]]
    units = {
        u.name: u
        for u in Unit.objects.filter(name__in={case["unit"] for case in cases})
    }
    departments = {d.name: d for d in Department.objects.all()}
    created_count = 0
    for number, row in enumerate(data["answered"], start=1):
        department = lookup(departments, row["department"], "department", row["title"])
        unit = lookup(units, row["unit"], "unit", row["title"])
        created = _get_or_create(
            unit=unit,
            title=row["title"],
            defaults={
                "kind": row["kind"],
                "channel": row["channel"],
                "tag": tags[row["tag"]],
                "text": row["text"],
                "name": f"示例村民{number:02d}",
                "phone": "13800000000" if number % 7 == 0 else "",
                "consent_to_publish": number % 5 != 0,
                "is_party_member": number % 4 == 0,
                "status": Status.CLOSED,
                "received_at": aware(row["received"]),
                "accepted_at": aware(row["received"], 15),
                "department": department,
                "answered_by": department,
                "answering_body": answering_body(unit, row),
                "answer_text": row["answer"],
                "answered_at": aware(row["answered"], 16),
                "closed_at": aware(row["answered"], 17),
                "rating": [Rating.SATISFIED, Rating.SATISFIED, Rating.FAIRLY, ""][
                    number % 4
                ],
                "rating_channel": RatingChannel.ONLINE if number % 4 != 3 else "",
                "assigned_body": answering_body(unit, row, "assigned_to_body"),
                "assigned_at": aware(row["received"], 15)
                if row.get("assigned_to_body")
                else None,
            },
        )
        if created and "second_round" in row:
            _second_round(Submission.objects.get(unit=unit, title=row["title"]), row)
        created_count += created
    for row in data["loop"]:
        created_count += _seed_loop(row, units, tags, departments)
    for row in data["requests"]:
        created_count += _seed_request(row, units, departments)
    created_count += _seed_open(data["open"], units, tags, departments)
    return created_count


def _second_round(submission: Submission, row: dict) -> None:
    """A case rated 不满意 after its first answer: that round kept, a new
    deadline from the day it was reopened, a second answer, rated again."""
    second = row["second_round"]
    reopened_on = date.fromisoformat(second["unsatisfied_on"])
    AnswerRound.objects.create(
        submission=submission,
        number=1,
        due_date=submission.due_date,
        answer_text=submission.answer_text,
        answerer=submission.answerer,
        answered_at=submission.answered_at,
        rating=Rating.UNSATISFIED,
        rating_comment=second["comment"],
        rated_at=aware(second["unsatisfied_on"], 9),
        rating_channel=RatingChannel.ONLINE,
    )
    submission.round = 2
    submission.deadline_from = reopened_on
    services.set_deadlines(submission)
    submission.answer_text = second["answer"]
    submission.answered_at = aware(second["answered"], 16)
    submission.closed_at = aware(second["answered"], 17)
    submission.rating = Rating.SATISFIED
    submission.rated_at = aware(second["answered"], 20)
    submission.rating_channel = RatingChannel.ONLINE
    submission.save()


def seed_escalations() -> int:
    """督办 the demo's open cases past their deadline (once the 联系领导 are
    set: operations' seed_demo, after the accounts); get-or-create too."""
    return len(services.escalate_overdue())


def _seed_request(row: dict, units: dict[str, Unit], departments: dict) -> int:
    """A 点题公开 request, answered by the demo notice that fulfils it."""
    unit = lookup(units, row["unit"], "unit", row["title"])
    department = lookup(departments, row["department"], "department", row["title"])
    fulfilment = Disclosure.objects.filter(
        unit=unit, title__contains=row["fulfilled_by_title_containing"]
    ).first()
    created = _get_or_create(
        unit=unit,
        title=row["title"],
        defaults={
            "kind": Kind.REQUEST,
            "channel": row["channel"],
            "text": row["text"],
            "name": row["name"],
            "is_party_member": row["is_party_member"],
            "consent_to_publish": row["consent_to_publish"],
            "status": Status.CLOSED,
            "received_at": local_time(row["received_at"], row["title"], "received_at"),
            "accepted_at": local_time(row["accepted_at"], row["title"], "accepted_at"),
            "department": department,
            "answered_by": department,
            "answering_body": answering_body(unit, row),
            "answer_text": row["answer"],
            "answered_at": local_time(row["answered_at"], row["title"], "answered_at"),
            "closed_at": local_time(row["closed_at"], row["title"], "closed_at"),
            "fulfilled_by": fulfilment,
            "item": fulfilment.item if fulfilment else None,
        },
    )
    return int(created)


def _seed_loop(
    row: dict, units: dict[str, Unit], tags: dict[str, Tag], departments: dict
) -> int:
    """An answered case showing the rest of the practice: its 采纳 outcome, a
    rating recorded by staff on a 回访, or a 举报 (never on the wall)."""
    unit = lookup(units, row["unit"], "unit", row["title"])
    department = lookup(departments, row["department"], "department", row["title"])
    rating = row.get("rating", "")
    created = _get_or_create(
        unit=unit,
        title=row["title"],
        defaults={
            "kind": row["kind"],
            "channel": row["channel"],
            "tag": tags[row["tag"]],
            "text": row["text"],
            "name": "示例群众",
            "consent_to_publish": row["kind"] not in CONFIDENTIAL_KINDS,
            "status": Status.CLOSED,
            "received_at": aware(row["received"]),
            "accepted_at": aware(row["received"], 15),
            "department": department,
            "answered_by": department,
            "answer_text": row["answer"],
            "answered_at": aware(row["answered"], 16),
            "closed_at": aware(row["answered"], 17),
            "outcome": row.get("outcome", ""),
            "outcome_reason": row.get("outcome_reason", ""),
            "rating": rating,
            "rating_channel": row.get("rating_channel", ""),
            "rating_comment": row.get("rating_comment", ""),
            "rated_at": aware(row["rated"], 11) if rating else None,
        },
    )
    return int(created)


def _seed_open(
    rows: list[dict], units: dict[str, Unit], tags: dict[str, Tag], departments
) -> int:
    """The open cases, relative to the seeding day: the recent ones and the
    overdue ones, some accepted (受理, so on the wall), some still waiting for
    staff to read them (counted on the wall, not listed)."""
    now = timezone.now()
    created_count = 0
    for row in rows:
        department = (
            lookup(departments, row["accepted_by"], "department", row["title"])
            if row["accepted_by"]
            else None
        )
        received_at = now - timedelta(days=row["received_days_ago"])
        created = _get_or_create(
            unit=lookup(units, row["unit"], "unit", row["title"]),
            title=row["title"],
            defaults={
                "kind": row["kind"],
                "channel": row["channel"],
                "tag": tags[row["tag"]],
                "text": row["text"],
                "consent_to_publish": True,
                "received_at": received_at,
                "status": Status.ACCEPTED if department else Status.RECEIVED,
                "department": department,
                "accepted_at": received_at + timedelta(hours=5) if department else None,
            },
        )
        created_count += created
    return created_count


# The demo party members sent these from the website while logged in, so
# /feedback/mine/ shows them their own questions (an answered and an open one).
MEMBER_CASES = {
    "party_member": ("文理村", ["抽水设备怎么安排", "建议公开栏增加夜间照明"]),
    "maoshan_member": ("茅山村", ["送水安排", "党员活动日能否改到周末"]),
}


def link_member_cases() -> int:
    """Link the demo members' website cases to their accounts (after the
    accounts exist); a case already linked is left alone. Returns how many."""
    from django.contrib.auth import get_user_model

    users = get_user_model().objects.in_bulk(MEMBER_CASES, field_name="username")
    linked = 0
    for username, (unit, titles) in MEMBER_CASES.items():
        if username not in users:
            continue
        for title in titles:
            case = Submission.objects.filter(
                unit__name=unit,
                title=title,
                channel=Channel.WEBSITE,
                submitter__isnull=True,
            ).first()
            if case:
                case.submitter = users[username]
                case.save()  # a row event, like every demo change
                linked += 1
    return linked
