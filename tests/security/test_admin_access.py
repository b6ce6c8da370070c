"""Every admin view of every registered model, for every role.

The URL patterns are read from the admin site, so a new model, a new custom
view or a history page is walked without editing this file (a pattern whose
parameters the walk cannot fill fails and asks for a filler). For each role
each page is fetched, then posted back twice: the page's own form as a
browser would send it, and that form with hostile values added (superuser
status, a status, an index number, a received time…); on a list, each bulk
action is run on every row. What is expected comes from the roles and the
services, not from the admin's code:

- nothing answers 500;
- anonymous visitors and party members are sent to the log-in page;
- a page about an object out of the role's reach (another unit's; a model the
  role has no permission on) is refused and shows nothing of it;
- what a role may not read (another unit's records, submitters' names and
  phones without the 回音壁 permission) is on no page;
- after a POST: a disclosure's workflow state moved only by a step
  `services.allowed_transitions` gives that user, its content only where
  `services.can_edit_content` allows; a submission's workflow state only by a
  workflow step; no account gained superuser status, single permissions or a
  group beyond the roles; nothing else changed without the permission.
"""

import json
from dataclasses import dataclass
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import connection, transaction
from simple_history.admin import SimpleHistoryAdmin

from catalog.models import Scope
from core.history_admin import ReadOnlyHistoryAdmin
from disclosure import inspection_rules, roles, services
from disclosure.admin import TRANSITION_CALLS
from disclosure.models import (
    ArchiveExport,
    ClosedYear,
    Disclosure,
    DisclosureEvent,
    Inspection,
    InspectionPhoto,
    Rectification,
    Unit,
)
from feedback import services as feedback_services
from feedback.models import OPEN_STATUSES, Submission, SubmissionEvent
from tests.factories import (
    AnswerTemplateFactory,
    DepartmentFactory,
    DisclosureFactory,
    ItemFactory,
    NoticeBoardFactory,
    PartyMemberFactory,
    SubmissionFactory,
    SuperuserFactory,
    TagFactory,
    TownFactory,
    UnitFactory,
    review_and_approve,
    role_group,
    staff_user,
)
from tests.module_db import fresh, rows_for_the_module

from .admin_walk import (
    AdminUrl,
    WriteWatch,
    changes,
    form_data,
    model_urls,
    snapshot,
    watched_models,
)

pytestmark = pytest.mark.django_db

User = get_user_model()
Status = Disclosure.Status
ROLES = [
    "anonymous",
    "party_member",
    "wenli_editor",
    "maoshan_editor",
    "wenli_supervisor",
    "wenli_approver",
    "reviewer",
    "inspector",
    "town_admin",
    "superuser",
]
STAFF_ROLES = ROLES[2:]
FORM = "application/x-www-form-urlencoded"
TARGET_STATUS = {
    "submit": Status.SUBMITTED,
    "review": Status.REVIEWED,
    "approve": Status.APPROVED,
    "return": Status.DRAFT,
    "publish": Status.PUBLISHED,
    "withdraw": Status.WITHDRAWN,
}
DISCLOSURE_WORKFLOW = {
    "status",
    "published_at",
    "index_number",
    "withdrawn_at",
    "withdrawal_reason",
    "submitted_by_id",
}
DISCLOSURE_DERIVED = {"period_start", "period_end", "corrected_at"}
SUBMISSION_WORKFLOW = {
    "status",
    "tracking_code",
    "received_at",
    "accepted_at",
    "answered_at",
    "closed_at",
    "extension_reason",
    "refusal_reason",
    "hidden_reason",
    "rating",
    "rating_comment",
    "rated_at",
    "client_key",
    "form_token",
    "created_by_id",
    "created_at",
}
SUBMISSION_DECIDED = {
    "kind",
    "unit_id",
    "answer_text",
    "answered_by_id",
    "fulfilled_by_id",
    "due_date",
    "decision_due",
}

WENLI_CONTACT = ["王私密", "13911112222"]
MAOSHAN_CONTACT = ["李私密", "13933334444"]
WENLI_TEXT = ["文理草稿", "党内标题甲乙丙", "文理来信", *WENLI_CONTACT]
MAOSHAN_TEXT = ["茅山草稿甲乙丙", "茅山来信甲乙丙", *MAOSHAN_CONTACT]
FORBIDDEN = {
    "anonymous": WENLI_TEXT + MAOSHAN_TEXT,
    "party_member": WENLI_TEXT + MAOSHAN_TEXT,
    "wenli_editor": MAOSHAN_TEXT,
    "maoshan_editor": WENLI_TEXT,
    # Not a party member: the 党内 notice is not theirs to read.
    "wenli_supervisor": MAOSHAN_TEXT + WENLI_CONTACT + ["党内标题甲乙丙"],
    "wenli_approver": MAOSHAN_TEXT + WENLI_CONTACT,
    "reviewer": WENLI_CONTACT + MAOSHAN_CONTACT,
    # Reads every unit's records (drafts, 党内), never the 回音壁's.
    "inspector": WENLI_CONTACT + MAOSHAN_CONTACT + ["文理来信", "茅山来信甲乙丙"],
    "town_admin": [],
    "superuser": [],
}


@dataclass
class World:
    users: dict
    disclosures: dict
    wenli: Unit
    maoshan: Unit
    beyond_roles: Group


@pytest.fixture(scope="module")
def _world(request, django_db_setup, django_db_blocker):
    # Every role walks the same rows: built once for the module.
    yield from rows_for_the_module(request, django_db_blocker, build_world)


@pytest.fixture
def world(_world, db) -> World:
    return fresh(_world)


def build_world() -> World:
    town = TownFactory()
    wenli = UnitFactory(name="文理村", parent=town)
    maoshan = UnitFactory(name="茅山村", parent=town)
    NoticeBoardFactory(unit=wenli)
    users = {
        "superuser": SuperuserFactory(),
        "town_admin": staff_user(username="town_admin", group=roles.TOWN_ADMIN),
        "reviewer": staff_user(username="reviewer", group=roles.REVIEWER),
        "inspector": staff_user(username="inspector", group=roles.INSPECTOR),
        "wenli_editor": staff_user(
            username="wenli_editor", group=roles.UNIT_EDITOR, units=[wenli]
        ),
        "maoshan_editor": staff_user(
            username="maoshan_editor", group=roles.UNIT_EDITOR, units=[maoshan]
        ),
        "party_member": PartyMemberFactory(),
        # Village bodies: they review or approve 文理村's records, nothing else.
        "wenli_supervisor": staff_user(
            username="wenli_supervisor", group=roles.SUPERVISOR
        ),
        "wenli_approver": staff_user(
            username="wenli_approver", group=roles.VILLAGE_APPROVER
        ),
    }
    wenli.organisations.get(name="村务监督委员会").members.add(
        users["wenli_supervisor"]
    )
    wenli.organisations.get(name="村党支部").members.add(users["wenli_approver"])
    wenli.organisations.get(name="村两委").members.add(users["wenli_approver"])
    editor, reviewer = users["wenli_editor"], users["reviewer"]
    item = ItemFactory(code="A09")
    inner_item = ItemFactory(code="P99", scope=Scope.INNER_PARTY)

    def draft(**kwargs):
        kwargs.setdefault("unit", wenli)
        kwargs.setdefault("item", item)
        return DisclosureFactory(status=Status.DRAFT, published_at=None, **kwargs)

    def published(**kwargs):
        disclosure = draft(**kwargs)
        services.submit(disclosure, by=editor)
        review_and_approve(disclosure, reviewer=reviewer)
        services.publish(disclosure, by=users["town_admin"])
        return disclosure

    first = draft(title="文理草稿旧版")
    first.title = "文理草稿"
    first.save()
    submitted = draft(title="文理草稿待审")
    services.submit(submitted, by=editor)
    withdrawn = published(title="文理草稿已撤回")
    services.withdraw(withdrawn, by=users["town_admin"], reason="数据有误")
    disclosures = {
        "draft": first,
        "submitted": submitted,
        "published": published(title="文理草稿已发布"),
        "withdrawn": withdrawn,
        "inner": published(item=inner_item, title="党内标题甲乙丙"),
        "sealed": draft(title="文理草稿2010", period="2010-09"),
        "maoshan": draft(unit=maoshan, title="茅山草稿甲乙丙"),
    }
    ClosedYear.objects.create(year=2010, closed_by=users["town_admin"])
    ArchiveExport.objects.create(
        year=2010,
        unit=wenli,
        filename="wenli-2010.zip",
        manifest_sha256="0" * 64,
        created_by=users["town_admin"],
    )
    check = Inspection.objects.create(
        unit=wenli, inspector=users["inspector"], findings="栏目统一", score_form=80
    )
    Rectification.objects.create(
        unit=wenli, inspection=check, issue="补公开收支", deadline="2011-11-30"
    )
    InspectionPhoto.objects.create(
        inspection=check, image="inspections/walk.jpg", caption="公开栏全景"
    )
    TagFactory()
    AnswerTemplateFactory()
    department = DepartmentFactory()
    SubmissionFactory(unit=wenli, title="文理来信", name="王私密", phone="13911112222")
    answered = SubmissionFactory(
        unit=wenli, title="文理来信已答复", name="王私密", phone="13911112222"
    )
    feedback_services.answer(answered, by=editor, department=department, text="答复")
    SubmissionFactory(
        unit=maoshan, title="茅山来信甲乙丙", name="李私密", phone="13933334444"
    )
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    attempt = {
        "username": "wenli_editor",
        "ip_address": "10.0.0.9",
        "user_agent": "walk",
        "http_accept": "*/*",
        "path_info": "/admin/login/",
    }
    AccessAttempt.objects.create(
        **attempt, get_data="", post_data="", failures_since_start=1
    )
    AccessLog.objects.create(**attempt)
    AccessFailureLog.objects.create(**attempt)
    beyond = Group.objects.create(name="系统维护")
    beyond.permissions.set(Permission.objects.all())
    return World(users, disclosures, wenli, maoshan, beyond)


def targets_for(world: World):
    chosen = {
        Disclosure: list(world.disclosures.values()),
        User: [world.users[r] for r in ("superuser", "town_admin", "wenli_editor")],
        Group: [role_group(roles.TOWN_ADMIN), world.beyond_roles],
    }

    queue = [world.disclosures[k] for k in ("submitted", "published", "maoshan")]

    def targets(model):
        concrete = model._meta.concrete_model
        if model._meta.proxy and concrete is Disclosure:
            return queue  # the same rows as the concrete model's pages
        if concrete in chosen:
            return chosen[concrete]
        return list(concrete._default_manager.order_by("pk")[:2])

    return targets


def version_of(obj):
    history = getattr(obj._meta.concrete_model, "history", None)
    first = (
        history.filter(id=obj.pk).order_by("history_id").first() if history else None
    )
    return first and first.history_id


def all_admin_urls(world: World) -> list[AdminUrl]:
    urls = model_urls(targets_for(world), list(TRANSITION_CALLS), version_of)
    urls += query_urls(world, urls)
    site = [
        "/admin/",
        "/admin/jsi18n/",
        "/admin/password_change/",
        *{f"/admin/{m._meta.app_label}/" for m in admin.site._registry},
        *autocomplete_urls(),
    ]
    for disclosure in world.disclosures.values():
        site.append(f"/admin/r/{content_type_id(Disclosure)}/{disclosure.pk}/")
    return urls + [AdminUrl(url, None, "site") for url in site]


def query_urls(world: World, urls: list[AdminUrl]) -> list[AdminUrl]:
    """Lists searched and filtered towards what a role may not read, opened
    as a pop-up for a raw-id field (with a field no relation points to), and
    object pages carrying another unit's list filters (fetched only)."""
    other = world.maoshan.pk
    out = []
    for url in urls:
        if url.kind == "changelist":
            text_field = next(
                f.name
                for f in url.model._meta.concrete_fields
                if not f.primary_key and not f.is_relation
            )
            for query in (
                "q=甲乙丙",
                "q=139",
                f"unit={other}",
                "_popup=1&_to_field=id",
                f"_popup=1&_to_field={text_field}",
            ):
                out.append(AdminUrl(f"{url.url}?{query}", url.model, "query"))
        elif url.kind == "change":
            query = f"_changelist_filters=unit%3D{other}"
            out.append(AdminUrl(f"{url.url}?{query}", url.model, "query", url.obj))
    return out


def content_type_id(model) -> int:
    from django.contrib.contenttypes.models import ContentType

    return ContentType.objects.get_for_model(model).pk


def autocomplete_urls() -> list[str]:
    """Every relation of every model to a registered model with a search box,
    asked for everything and for the words no one outside may read."""
    from django.apps import apps

    urls = []
    for model in apps.get_models():
        for field in model._meta.get_fields():
            remote = getattr(field, "remote_field", None)
            if not (field.concrete or field.many_to_many) or remote is None:
                continue
            model_admin = admin.site._registry.get(remote.model)
            if model_admin is None or not model_admin.search_fields:
                continue
            base = (
                f"/admin/autocomplete/?app_label={model._meta.app_label}"
                f"&model_name={model._meta.model_name}&field_name={field.name}"
            )
            urls += [base, f"{base}&term=甲乙丙", f"{base}&term=139"]
    return urls


# Reach: what each role may work on, from the roles ---------------------------------


def in_reach(user, url: AdminUrl) -> bool:
    if not user.is_staff:
        return False
    if url.model is None:
        return True
    opts = url.model._meta
    actions = ("view", "change", "add", "delete")
    if not any(
        user.has_perm(f"{opts.app_label}.{a}_{opts.model_name}") for a in actions
    ):
        return False
    return url.obj is None or object_in_reach(user, url.obj)


def object_in_reach(user, obj) -> bool:
    if isinstance(obj, Unit):
        unit_id = obj.pk
    elif hasattr(obj, "unit_id"):
        unit_id = obj.unit_id
    else:
        return True
    if isinstance(obj, Disclosure):
        return roles.units_overseen(user).filter(pk=unit_id).exists()
    if isinstance(obj, INSPECTION_MODELS):
        return roles.units_inspected(user).filter(pk=unit_id).exists()
    return unit_id is None or roles.units_for(user).filter(pk=unit_id).exists()


# The 督查 records: read by the town, the units' editors and the inspector
# (roles.units_inspected); changed as disclosure/inspection_rules.py says.
INSPECTION_MODELS = (Inspection, Rectification)


# Judging a POST's effect -------------------------------------------------------------


@dataclass
class Facts:
    """What the services allow this user on each disclosure, before the POST."""

    targets: dict
    editable: dict
    deletable: dict
    units: set
    inspected: set


def facts_for(user) -> Facts:
    targets, editable, deletable = {}, {}, {}
    for disclosure in Disclosure.objects.all():
        names = services.allowed_transitions(disclosure, user)
        targets[disclosure.pk] = {TARGET_STATUS[n] for n in names}
        editable[disclosure.pk] = services.can_edit_content(disclosure, user)
        deletable[disclosure.pk] = services.can_delete(disclosure, user)
    units = set(roles.units_for(user).values_list("pk", flat=True))
    inspected = set(roles.units_inspected(user).values_list("pk", flat=True))
    return Facts(targets, editable, deletable, units, inspected)


def has_model_perm(user, model, action) -> bool:
    opts = model._meta
    return user.has_perm(f"{opts.app_label}.{action}_{opts.model_name}")


def judge(change, user, url: AdminUrl, facts: Facts) -> str | None:
    """None if the roles allow this change through this URL, else why not."""
    model = change.model
    if model is Disclosure:
        return judge_disclosure(change, user, url, facts)
    if model is Submission:
        return judge_submission(change, user, url, facts)
    if model is User:
        return judge_user(change, user)
    if model in (DisclosureEvent, SubmissionEvent):
        # A step writes its row; rows are never edited or removed.
        return None if change.kind == "created" else "an event row was altered"
    if model in (*INSPECTION_MODELS, InspectionPhoto):
        return judge_inspection_record(change, user)
    action = {"created": "add", "changed": "change", "deleted": "delete"}[change.kind]
    if not has_model_perm(user, model, action):
        return f"no {action} permission"
    row = change.after or change.before
    unit_id = row.get("unit_id", row["id"] if model is Unit else None)
    reach = facts.inspected if model in INSPECTION_MODELS else facts.units
    if unit_id is not None and not user.is_superuser and unit_id not in reach:
        return "another unit's row"
    if "disclosure_id" in row and not facts.editable.get(row["disclosure_id"], True):
        return "a row of a disclosure this user may not edit"
    return None


def judge_inspection_record(change, user) -> str | None:
    """A 督查 record changed only as inspection_rules allows: checks and notices
    by their inspector (the town: a notice's completion), deleted by a
    superuser; photos by whoever may change their check."""
    model = change.model
    before = change.before and model(**change.before)
    after = change.after and model(**change.after)
    if model is InspectionPhoto:
        check = Inspection.objects.get(pk=(before or after).inspection_id)
        ok = inspection_rules.may_change_photos(user, check)
        return None if ok else "a photo of a check this user may not change"
    if change.kind == "deleted":
        return None if inspection_rules.may_delete(user) else "deleted"
    if change.kind == "created":
        if not inspection_rules.may_issue(user):
            return "created by a user who may not issue"
        if model is Rectification and not inspection_rules.may_choose_inspection(
            user, after.inspection
        ):
            return "a notice on another inspector's check"
        return None
    fields = {model._meta.get_field(f).name for f in change.fields}
    if model is Inspection:
        allowed = inspection_rules.inspection_fields(user, before)
    else:
        allowed = inspection_rules.rectification_fields(user, before)
    if fields - allowed:
        return f"fields {sorted(fields - allowed)} changed against inspection_rules"
    return None


def judge_disclosure(change, user, url, facts) -> str | None:
    pk = change.pk
    if change.kind == "deleted":
        return None if facts.deletable[pk] else "deleted without services.can_delete"
    if change.kind == "created":
        after = change.after
        if url.kind != "add" or not has_model_perm(user, Disclosure, "add"):
            return "created outside the add page"
        if after["status"] != Status.DRAFT or after["index_number"]:
            return "created in a workflow state other than draft"
        if after["unit_id"] not in facts.units:
            return "created for a unit this user does not work on"
        return None
    fields = change.fields
    workflow = fields & DISCLOSURE_WORKFLOW
    content = fields - DISCLOSURE_WORKFLOW - DISCLOSURE_DERIVED
    if workflow:
        if url.kind not in ("transition", "action"):
            return f"workflow fields {sorted(workflow)} changed outside a workflow step"
        if change.after["status"] not in facts.targets[pk]:
            return "a status the services do not allow this user"
        if change.before["index_number"] and "index_number" in fields:
            return "an index number changed"
    if content:
        if not facts.editable[pk]:
            return f"content {sorted(content)} changed without can_edit_content"
        if url.kind == "version" and content - set(services.RESTORABLE_FIELDS):
            return f"a version gave back {sorted(content)}"
        if url.kind not in ("change", "version"):
            return "content changed outside the change page"
        if change.after["unit_id"] not in facts.units:
            return "moved to a unit this user does not work on"
    if "corrected_at" in fields and not (
        content and change.before["status"] == Status.PUBLISHED
    ):
        return "a correction recorded without a content change"
    return None


def judge_submission(change, user, url, facts) -> str | None:
    if change.kind == "deleted":
        return "a submission was deleted"
    row = change.after or change.before
    if row["unit_id"] not in facts.units:
        return "another unit's submission"
    if change.kind == "created":
        ok = url.kind == "add" and has_model_perm(user, Submission, "add")
        return None if ok else "created outside the add page"
    if not has_model_perm(user, Submission, "change"):
        return "changed without the change permission"
    fields = change.fields
    closing = (
        url.kind == "action"
        and url.extra == "close_selected"
        and change.before["status"] == "answered"
        and change.after["status"] == "closed"
        and fields <= {"status", "closed_at"}
    )
    if fields & SUBMISSION_WORKFLOW and not closing:
        return f"workflow fields {sorted(fields & SUBMISSION_WORKFLOW)} changed"
    if fields & SUBMISSION_DECIDED and change.before["status"] not in OPEN_STATUSES:
        return f"the answer's fields {sorted(fields & SUBMISSION_DECIDED)} changed"
    return None


def judge_user(change, user) -> str | None:
    if user.is_superuser:
        return None
    action = {"created": "add", "changed": "change", "deleted": "delete"}[change.kind]
    if not has_model_perm(user, User, action):
        return f"no {action}_user permission"
    before, after = change.before, change.after
    if before and (before["is_superuser"] or before["user_permissions"]):
        return "an account beyond the roles was touched"
    if after is None:
        return None
    if after["is_superuser"] or after["user_permissions"]:
        return "superuser status or a single permission was given"
    role_groups = set(
        Group.objects.filter(name__in=roles.ROLE_NAMES).values_list("pk", flat=True)
    )
    if set(after["groups"]) - role_groups:
        return "a group beyond the roles was given"
    return None


def hostile(world: World) -> dict:
    return {
        "status": "published",
        "scope": "public",
        "index_number": "HACK-2011-A09-999",
        "published_at_0": "2011-09-01",
        "published_at_1": "10:00:00",
        "withdrawal_reason": "",
        "submitted_by": str(world.users["superuser"].pk),
        "is_superuser": "on",
        "is_staff": "on",
        "user_permissions": [
            str(p) for p in Permission.objects.values_list("pk", flat=True)
        ],
        "groups": [str(world.beyond_roles.pk)],
        "password1": "Walk-pass-2011!",
        "password2": "Walk-pass-2011!",
        "received_at_0": "2030-01-01",
        "received_at_1": "10:00:00",
        "answer_text": "篡改的答复",
        "rating": "satisfied",
        "tracking_code": "HACKED00",
        "comment": "走查",
        "_restore": "1",
        "post": "yes",
    }


def text_of(response) -> str:
    body = response.content.decode("utf-8", "replace")
    if response.get("Content-Type", "").startswith("application/json"):
        return json.dumps(json.loads(body), ensure_ascii=False)
    return body


# The walk -------------------------------------------------------------------------


def test_every_simple_history_admin_is_read_only():
    for model, model_admin in admin.site._registry.items():
        if isinstance(model_admin, SimpleHistoryAdmin):
            assert isinstance(model_admin, ReadOnlyHistoryAdmin), model


def test_every_admin_pattern_can_be_walked(world):
    urls = all_admin_urls(world)
    kinds = {u.kind for u in urls}
    assert {"changelist", "add", "change", "delete", "history", "version"} <= kinds
    assert {"transition", "password", "download", "redirect"} <= kinds


@pytest.mark.parametrize("role", ROLES)
def test_admin_walk(client, world, role):
    client.raise_request_exception = False
    user = world.users.get(role)
    if user is not None:
        client.force_login(user)
    session = client.cookies.get(settings.SESSION_COOKIE_NAME)
    # Each POST is rolled back: every one starts from this state.
    watched = watched_models()
    base, facts = snapshot(watched), facts_for(user) if user else None
    problems = []
    for url in all_admin_urls(world):
        response = client.get(url.url)
        status, body = response.status_code, text_of(response)
        problem = get_problem(role, user, url, status, response, body)
        if problem:
            problems.append(f"GET {url.url} ({status}): {problem}")
        if role not in STAFF_ROLES or url.model is None or url.kind == "query":
            continue
        for payload in payloads(world, url, response, body):
            watch = WriteWatch()
            with transaction.atomic(), connection.execute_wrapper(watch):
                # Form-encoded: request.POST is the same as with multipart,
                # and a hostile payload carries every permission's id.
                response = client.post(
                    url.url, urlencode(payload, doseq=True), content_type=FORM
                )
                after = snapshot(watched) if watch.wrote else base
                transaction.set_rollback(True)
            # A password change moves the session to a new key, rolled back too.
            client.cookies[settings.SESSION_COOKIE_NAME] = session.value
            action = payload.get("action", "")
            if response.status_code >= 500:
                problems.append(f"POST {url.url} {action}: server error")
            posted = AdminUrl(
                url.url,
                url.model,
                "action" if action else url.kind,
                url.obj,
                action or url.extra,
            )
            found = changes(base, after)
            deleted = {(c.model, c.pk) for c in found if c.kind == "deleted"}
            for change in found:
                if emptied_by_deletion(change, deleted):
                    continue  # judged as part of the deletion itself
                why = judge(change, user, posted, facts)
                if why:
                    problems.append(f"POST {url.url} {action}: {change}: {why}")
    assert not problems, "\n".join(problems[:200])


def emptied_by_deletion(change, deleted) -> bool:
    """A reference set to NULL because what it pointed to was deleted."""
    if change.kind != "changed":
        return False
    targets = {
        f.attname: f.related_model._meta.concrete_model
        for f in change.model._meta.concrete_fields
        if f.is_relation
    }
    return all(
        f in targets
        and change.after[f] is None
        and (targets[f], change.before[f]) in deleted
        for f in change.fields
    )


def payloads(world, url, response, body) -> list[dict]:
    """The page's form posted back as is (if there is one), with hostile
    values added, and each bulk action of a list run on every row."""
    echo = form_data(body) if response.status_code == 200 else {}
    out = [echo] if echo else []
    out.append({**echo, **hostile(world)})
    every_row = [
        str(pk) for pk in url.model._default_manager.values_list("pk", flat=True)
    ]
    for action in action_names(response):
        out.append(
            {
                "action": action,
                "_selected_action": every_row,
                "index": "0",
                "post": "yes",
            }
        )
    return out


def get_problem(role, user, url, status, response, body) -> str | None:
    if status >= 500:
        return "server error"
    to_login = status == 302 and response["Location"].startswith("/admin/login/")
    if role in ("anonymous", "party_member"):
        if not to_login:
            return "not sent to the log-in page"
    elif to_login:
        return "logged out: the rest of the walk would prove nothing"
    leaked = [s for s in FORBIDDEN[role] if s in body]
    if leaked:
        return f"shows {leaked}"
    if user is not None and 200 <= status < 300 and not in_reach(user, url):
        return "answers 200 out of the role's reach"
    return None


def action_names(response) -> list[str]:
    context = getattr(response, "context", None)
    form = context.get("action_form") if context else None
    if form is None:
        return []
    choices = form.fields["action"].choices
    return [name for name, _label in choices if name]


# Failures the walk found in Django and django-axes -------------------------------


def test_autocomplete_of_a_reverse_relation_is_refused_not_a_500(client, world):
    client.force_login(world.users["town_admin"])
    response = client.get(
        "/admin/autocomplete/?app_label=catalog&model_name=disclosureform"
        "&field_name=items&term=公开"
    )
    assert response.status_code == 403


def test_unit_autocomplete_answers(client, world):
    client.force_login(world.users["wenli_editor"])
    response = client.get(
        "/admin/autocomplete/?app_label=feedback&model_name=submission"
        "&field_name=unit&term=村"
    )
    assert response.status_code == 200
    assert [r["text"] for r in response.json()["results"]] == ["文理村"]


def test_cleaning_up_expired_log_in_attempts_works_from_the_admin(client, world):
    from axes.models import AccessAttempt

    client.force_login(world.users["superuser"])
    response = client.post(
        "/admin/axes/accessattempt/",
        {
            "action": "cleanup_expired_attempts",
            "_selected_action": [a.pk for a in AccessAttempt.objects.all()],
            "index": 0,
        },
    )
    assert response.status_code == 302
    assert AccessAttempt.objects.count() == 1  # not expired yet
