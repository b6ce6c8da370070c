from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction

from catalog.loading import load_catalog, read
from catalog.models import Catalog
from composition import demo as report_demo
from core.roles import sync_role_groups
from disclosure import demo, roles
from disclosure.models import Organisation, PartyMembership, Unit
from feedback import demo as feedback_demo
from govinfo import demo as govinfo_demo

# Demo-only credentials, also listed in the README. Never use them in production.
DEMO_USERS = [
    {"username": "admin", "password": "fengming-admin-2011", "superuser": True},
    {
        "username": "town_admin",
        "password": "fengming-town-2011",
        "group": roles.TOWN_ADMIN,
    },
    # Who acts for which body ("acts_for": (unit, body name)) decides who may
    # review (审核) and approve (审批) what (disclosure/procedure.py).
    {
        "username": "reviewer",
        "password": "fengming-review-2011",
        "group": roles.REVIEWER,
        "acts_for": [("凤鸣镇", "镇纪委"), ("凤鸣镇", "党政办")],
    },
    {
        "username": "town_approver",
        "password": "fengming-approve-2011",
        "group": roles.REVIEWER,
        "acts_for": [("凤鸣镇", "镇党委"), ("凤鸣镇", "镇人民政府")],
        # The town leader linked to the liaison points: 督办 goes to them.
        "leads": ["文理村", "茅山村"],
    },
    {
        "username": "wenli_supervisor",
        "password": "fengming-wenli-supervise-2011",
        "group": roles.SUPERVISOR,
        "acts_for": [("文理村", "村务监督委员会")],
    },
    {
        "username": "wenli_approver",
        "password": "fengming-wenli-approve-2011",
        "group": roles.VILLAGE_APPROVER,
        "acts_for": [("文理村", "村两委"), ("文理村", "村党支部")],
    },
    {
        "username": "wenli_editor",
        "password": "fengming-wenli-2011",
        "group": roles.UNIT_EDITOR,
        "unit": "文理村",
    },
    {
        "username": "maoshan_editor",
        "password": "fengming-maoshan-2011",
        "group": roles.UNIT_EDITOR,
        "unit": "茅山村",
    },
    # The county's 督查 (县纪委): reads every unit's records, keeps the 督查 records.
    {
        "username": "inspector",
        "password": "fengming-inspect-2011",
        "group": roles.INSPECTOR,
        "acts_for": [("合江县", "县纪委")],
    },
    {
        "username": "party_member",
        "password": "fengming-party-2011",
        "group": roles.PARTY_MEMBER,
        "branch": "文理村",
    },
    {
        "username": "maoshan_member",
        "password": "fengming-maoshan-member-2011",
        "group": roles.PARTY_MEMBER,
        "branch": "茅山村",
    },
]

PARTY_NOTE = (
    "据2011年报道重建的目录模板（7类64项），并非凤委发[2011]119号文件原文；"
    "可在后台修改。"
)


class Command(BaseCommand):
    help = "Load the demo town of 凤鸣镇 (idempotent: a second run changes nothing)."

    @transaction.atomic
    def handle(self, *args, **options):
        # Both files are checked before anything is written.
        town = demo.read_town()
        cases = feedback_demo.read_feedback()
        checks = demo.read_inspections()
        applications = govinfo_demo.read_demo()
        load_catalog(
            read("party_catalog.json"),
            kind=Catalog.Kind.PARTY,
            name="凤鸣镇党务公开目录",
            document="凤委发[2011]119号",
            note=PARTY_NOTE,
            order=1,
        )
        for order, (kind, filename) in enumerate(
            [
                (Catalog.Kind.GOVERNMENT, "government_catalog.json"),
                (Catalog.Kind.VILLAGE, "village_catalog.json"),
            ],
            start=2,
        ):
            data = read(filename)
            load_catalog(
                data,
                kind=kind,
                name=data["name"],
                document=data.get("document", ""),
                note="示例目录，可在后台修改。",
                order=order,
            )
        sync_role_groups()
        units = demo.seed_units(town["units"])
        new = demo.seed_disclosures(town["disclosures"], units)
        demo.seed_events(town["events"], units)
        nil = demo.seed_nil_returns(units, town["nil_returns"])
        attached = demo.seed_attachments(town["attachments"])
        demo.seed_tables(town["tables"])
        feedback_demo.seed_feedback(cases)
        applied = govinfo_demo.seed_govinfo(applications)
        report_demo.seed_report()
        report_demo.seed_government_report()
        self.stdout.write(
            f"Catalogs: {Catalog.objects.count()}, units: {len(units)}, "
            f"new disclosures: {new}, new 本期无 filings: {nil}, "
            f"new attachments: {attached}, new 依申请公开 applications: {applied}"
        )
        self.create_users()
        feedback_demo.link_member_cases()  # /feedback/mine/ of the demo members
        inspector = get_user_model().objects.get(username="inspector")
        checked = demo.seed_inspections(checks, inspector=inspector)
        self.stdout.write(f"New 督查 records: {checked}")
        escalated = feedback_demo.seed_escalations()
        self.stdout.write(f"回音壁 cases escalated (督办): {escalated}")

    def create_users(self):
        User = get_user_model()
        self.stdout.write("Demo accounts (demo only, never in production):")
        for spec in DEMO_USERS:
            user, created = User.objects.get_or_create(
                username=spec["username"],
                defaults={
                    "email": f"{spec['username']}@example.org",
                    "is_staff": spec.get("group") != roles.PARTY_MEMBER,
                    "is_superuser": spec.get("superuser", False),
                },
            )
            if created:
                user.set_password(spec["password"])
                user.save(update_fields=["password"])
            if spec.get("group"):
                user.groups.add(Group.objects.get(name=spec["group"]))
            if spec.get("unit"):
                Unit.objects.get(name=spec["unit"]).editors.add(user)
            # Set only where none is: the town administrator may change it.
            for unit in Unit.objects.filter(
                name__in=spec.get("leads", []), contact_leader=None
            ):
                unit.contact_leader = user
                unit.save(update_fields=["contact_leader"])
            for unit_name, body_name in spec.get("acts_for", []):
                Organisation.objects.get(
                    unit__name=unit_name, name=body_name
                ).members.add(user)
            if spec.get("branch"):
                # Set once: the town administrator may move the member later.
                PartyMembership.objects.get_or_create(
                    user=user,
                    defaults={
                        "branch": Unit.objects.get(name=spec["branch"])
                        .organisations.branches()
                        .get()
                    },
                )
            self.stdout.write(f"  {spec['username']} / {spec['password']}")
