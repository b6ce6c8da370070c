"""A county-sized data set for query budgets, EXPLAIN and the benchmark.

    python manage.py seed_scale --towns 30 --units-per-town 16 --years 10

30 towns of 16 villages/communities each, 10 years of disclosures (about
300,000, with periods that follow each item's frequency) and 回音壁
submissions (about 200,000, most answered), bulk-inserted with their search
index entries. The names are invented (样例01镇 …); the demo town is left alone.
Idempotent: a unit that already has disclosures is skipped, so a second run
(or a run after an interruption) only fills in what is missing. Rows are made
with bulk_create: no history versions, workflow events or post_save hooks.
"""

import random
from datetime import date, datetime, time, timedelta

from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.utils import timezone
from tqdm import tqdm

from catalog import periods
from catalog.loading import load_catalog, read
from catalog.models import Catalog, Department, Item
from composition import search
from composition.models import SearchEntry
from core import caching
from disclosure.models import Disclosure, Unit
from feedback import kept_counts
from feedback.models import (
    TRACKING_ALPHABET,
    TRACKING_LENGTH,
    Channel,
    Kind,
    Rating,
    Status,
    Submission,
    Tag,
)
from feedback.services import deadlines

CATALOGS = [
    (Catalog.Kind.PARTY, "party_catalog.json", "党务公开目录"),
    (Catalog.Kind.GOVERNMENT, "government_catalog.json", "政务公开目录"),
    (Catalog.Kind.VILLAGE, "village_catalog.json", "村务公开目录"),
]
# Share of a unit's periodic obligations it filed (the rest are gaps), and
# events a year per 随时 item: together about 59 disclosures per unit-year
# (the catalogs hold 66 village and 75 town items, so not all are filed).
FILED_SHARE = 0.3
EVENTS_PER_YEAR = 2
SUBMISSIONS_PER_UNIT_YEAR = 39
BATCH = 2000
TOPICS = ["森林防火", "抗旱救灾", "村道维护", "低保评定", "集体资金", "危房改造"]
BODY = (
    "根据{catalog}要求，现将{unit}{period}“{item}”有关情况公开如下：\n\n"
    "一、基本情况。本期共涉及事项{n}项，资金{money}元，已按程序经村（居）民"
    "代表会议讨论通过。\n\n二、办理结果。各项工作均已落实，相关凭证存档备查。\n\n"
    "如有疑问，请于公示期内向{unit}或镇纪委反映，也可在回音壁留言。"
)
QUESTIONS = [
    ("{topic}的补助什么时候发放？", "请问{topic}的补助标准是多少，什么时候发放？"),
    ("关于{topic}的建议", "建议在{unit}公开栏张贴{topic}的办理进度，方便群众监督。"),
    ("反映{topic}问题", "{unit}的{topic}工作还有遗漏，希望尽快处理。"),
]
ANSWER = "您反映的{topic}事项已由{dept}核实办理，结果已在{unit}公开栏公布，欢迎监督。"


class Command(BaseCommand):
    help = "Build a county-sized data set (towns, villages, disclosures, 回音壁)."

    def add_arguments(self, parser):
        parser.add_argument("--towns", type=int, default=30)
        parser.add_argument("--units-per-town", type=int, default=16)
        parser.add_argument("--years", type=int, default=10)
        parser.add_argument(
            "--last-year", type=int, default=None, help="default: this year"
        )
        parser.add_argument(
            "--scale",
            type=float,
            default=1.0,
            help="multiply disclosures and submissions per unit-year (0.1: a tenth)",
        )
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **opts):
        self.today = timezone.localdate()
        self.now = timezone.now()
        self.scale = opts["scale"]
        last_year = opts["last_year"] or self.today.year
        self.years = list(range(last_year - opts["years"] + 1, last_year + 1))
        self.load_catalogs()
        self.items = list(Item.objects.select_related("category__catalog"))
        self.departments = list(Department.objects.all()) or [
            Department.objects.create(name="党政办")
        ]
        self.tags = [Tag.objects.get_or_create(name=name)[0] for name in TOPICS]
        self.taken_codes = set(
            Submission.objects.values_list("tracking_code", flat=True)
        )
        units = self.units(opts["towns"], opts["units_per_town"])
        done = set(
            Disclosure.objects.filter(unit__in=units)
            .values_list("unit_id", flat=True)
            .distinct()
        )
        todo = [unit for unit in units if unit.pk not in done]
        made = {"disclosures": 0, "submissions": 0}
        for unit in tqdm(todo, desc="units", unit="unit", disable=opts["no_progress"]):
            rng = random.Random(f"{opts['seed']}-{unit.slug}")
            with transaction.atomic():
                made["disclosures"] += self.seed_disclosures(unit, rng)
                made["submissions"] += self.seed_submissions(unit, rng)
        caching.bump_version()  # bulk inserts send no post_save
        # Nor do they raise the units' kept counts of cases: counted again.
        kept_counts.changed_units(None)
        if todo and connection.vendor == "postgresql":
            self.in_order_of_time()
            # Fresh statistics, or the planner keeps the empty tables' plans.
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        self.stdout.write(
            f"{len(units)} units ({len(units) - len(todo)} already seeded); "
            f"new disclosures: {made['disclosures']}, "
            f"new submissions: {made['submissions']}; "
            f"totals: {Disclosure.objects.count()} disclosures, "
            f"{Submission.objects.count()} submissions, "
            f"{SearchEntry.objects.count()} search entries"
        )

    def in_order_of_time(self) -> None:
        """The disclosures and cases stored in order of publication and of
        receipt, every unit's mixed, as a county's tables grow; seeded unit
        by unit, they followed the unit's index so closely that the planner
        preferred it, and its plans were not a county's (docs/PERFORMANCE.md,
        "The engine's rows planned with their values")."""
        inside = connection.in_atomic_block
        with connection.cursor() as cursor:
            if inside:
                # A transaction (a test): its deferred foreign key checks
                # first (a table with pending ones cannot be indexed), then
                # deferred again for the rest of it.
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for model, column in (
                (Disclosure, "published_at"),
                (Submission, "received_at"),
            ):
                table = connection.ops.quote_name(model._meta.db_table)
                index = connection.ops.quote_name(f"{model._meta.db_table}_seeded")
                cursor.execute(f"CREATE INDEX {index} ON {table} ({column}, id)")
                cursor.execute(f"CLUSTER {table} USING {index}")
                cursor.execute(f"DROP INDEX {index}")
            if inside:
                cursor.execute("SET CONSTRAINTS ALL DEFERRED")

    # Set-up -----------------------------------------------------------------

    def load_catalogs(self):
        for order, (kind, filename, name) in enumerate(CATALOGS, start=1):
            if not Catalog.objects.filter(kind=kind).exists():
                data = read(filename)
                load_catalog(data, kind=kind, name=data.get("name", name), order=order)

    def units(self, towns: int, per_town: int) -> list[Unit]:
        """The towns under one county, and their villages (the last one a
        community), by slug. The county has no board: it is not returned."""
        county, _ = Unit.objects.get_or_create(
            slug="scale-county",
            defaults={"name": "样例县", "kind": Unit.Kind.COUNTY, "order": 100},
        )
        units = []
        for t in range(1, towns + 1):
            town, _ = Unit.objects.get_or_create(
                slug=f"scale-t{t:02d}",
                defaults={
                    "parent": county,
                    "name": f"样例{t:02d}镇",
                    "kind": Unit.Kind.TOWN,
                    "order": 100 + t,
                },
            )
            if town.parent_id is None:  # seeded before the county existed
                town.parent = county
                town.save(update_fields=["parent"])
            units.append(town)
            for v in range(1, per_town + 1):
                community = v == per_town
                child, _ = Unit.objects.get_or_create(
                    slug=f"scale-t{t:02d}-v{v:02d}",
                    defaults={
                        "parent": town,
                        "name": f"样例{t:02d}镇{'第一社区' if community else f'{v}村'}",
                        "kind": Unit.Kind.COMMUNITY if community else Unit.Kind.VILLAGE,
                        "order": v,
                        "is_liaison_point": v in (3, 7),
                    },
                )
                units.append(child)
        return units

    # Disclosures ---------------------------------------------------------------

    def obligations(self, unit: Unit, rng: random.Random):
        level = unit.board_level
        for item in self.items:
            if not getattr(item, f"for_{level}"):
                continue
            for year in self.years:
                kind = item.period_kind
                if kind is None:  # 随时: a few events a year, each in its month
                    for _ in range(EVENTS_PER_YEAR):
                        event = date(year, rng.randint(1, 12), rng.randint(1, 28))
                        if event < self.today:
                            yield item, periods.Period.containing(event, "month"), event
                    continue
                count = {"year": 1, "half": 2, "quarter": 4, "month": 12}[kind]
                for number in range(1, count + 1):
                    period = periods.Period(year, kind, number)
                    if period.start <= self.today:
                        yield item, period, None

    def seed_disclosures(self, unit: Unit, rng: random.Random) -> int:
        rows = []
        seq: dict[tuple, int] = {}
        share = FILED_SHARE * self.scale
        for item, period, event in self.obligations(unit, rng):
            if rng.random() >= share:
                continue
            day = event or period.end
            published = self.at(day + timedelta(days=rng.randint(0, 20)), rng)
            status = Disclosure.Status.PUBLISHED
            reason = ""
            roll = rng.random()
            if published > self.now:
                # The current period: some already out, some scheduled, some drafts.
                status = rng.choice(
                    [Disclosure.Status.PUBLISHED, Disclosure.Status.DRAFT]
                )
            elif roll < 0.01:
                status, reason = Disclosure.Status.WITHDRAWN, "内容有误，已撤回重发。"
            elif roll < 0.02:
                status = Disclosure.Status.SUBMITTED
            year = published.astimezone(timezone.get_current_timezone()).year
            index = None
            if status in (Disclosure.Status.PUBLISHED, Disclosure.Status.WITHDRAWN):
                key = (year, item.code)
                seq[key] = seq.get(key, 0) + 1
                index = f"{unit.slug.upper()}-{year}-{item.code}-{seq[key]:03d}"
            nil = rng.random() < 0.03
            title = f"{unit.name}{period.label}{item.name}"
            rows.append(
                Disclosure(
                    unit=unit,
                    item=item,
                    title=("本期无此事项：" if nil else "") + title[:180],
                    body=BODY.format(
                        catalog=item.category.catalog.name,
                        unit=unit.name,
                        period=period.label,
                        item=item.name,
                        n=rng.randint(1, 30),
                        money=rng.randint(1_000, 900_000),
                    ),
                    period=period.key,
                    period_start=period.start,
                    period_end=period.end,
                    event_date=event,
                    scope=item.scope,
                    status=status,
                    published_at=None if status == "draft" else published,
                    index_number=index,
                    is_nil_return=nil,
                    withdrawn_at=published + timedelta(days=3) if reason else None,
                    withdrawal_reason=reason,
                )
            )
        created = Disclosure.objects.bulk_create(rows, batch_size=BATCH)
        # The same fields, visibility facts included, as the post_save hook.
        self.index(
            [SearchEntry(disclosure_id=d.pk, **d.search_document()) for d in created]
        )
        return len(created)

    # 回音壁 ----------------------------------------------------------------------

    def seed_submissions(self, unit: Unit, rng: random.Random) -> int:
        count = round(SUBMISSIONS_PER_UNIT_YEAR * self.scale)
        rows = []
        for year in self.years:
            for _ in range(count):
                received_on = date(year, rng.randint(1, 12), rng.randint(1, 28))
                if received_on >= self.today:
                    continue
                rows.append(self.submission(unit, received_on, rng))
        created = Submission.objects.bulk_create(rows, batch_size=BATCH)
        # Only what the wall publishes (the hook indexes the rest too, hidden).
        fields = [s.search_document() for s in created]
        self.index(
            [
                SearchEntry(submission_id=s.pk, **f)
                for s, f in zip(created, fields, strict=True)
                if f["live"]
            ]
        )
        return len(created)

    def submission(self, unit: Unit, received_on: date, rng) -> Submission:
        topic = rng.choice(self.tags)
        kind = rng.choices(
            [Kind.QUESTION, Kind.SUGGESTION, Kind.REPORT, Kind.OPINION, Kind.REQUEST],
            weights=[40, 25, 20, 10, 5],
        )[0]
        title, text = rng.choice(QUESTIONS)
        received = self.at(received_on, rng)
        due, decision_due = deadlines(received_on, kind=kind)
        answered_at = None
        status = Status.RECEIVED
        department = rng.choice(self.departments)
        roll = rng.random()
        if received_on < self.today - timedelta(days=30) or roll < 0.5:
            days = rng.choice([1, 2, 3, 5, 8, 9, 12, 15])
            answered_at = min(received + timedelta(days=days), self.now)
            status = Status.CLOSED if rng.random() < 0.6 else Status.ANSWERED
        hidden = status != Status.RECEIVED and rng.random() < 0.02
        return Submission(
            kind=kind,
            channel=rng.choice(Channel.values),
            unit=unit,
            tag=topic,
            title=title.format(topic=topic.name)[:100],
            text=text.format(topic=topic.name, unit=unit.name),
            name="示例村民",
            consent_to_publish=rng.random() < 0.8,
            tracking_code=self.tracking_code(rng),
            status=Status.NOT_PUBLISHED if hidden else status,
            hidden_reason="涉及个人隐私。" if hidden else "",
            received_at=received,
            due_date=due,
            decision_due=decision_due,
            department=department if answered_at else None,
            accepted_at=received + timedelta(hours=4) if answered_at else None,
            answered_by=department if answered_at else None,
            answer_text=ANSWER.format(
                topic=topic.name, dept=department.name, unit=unit.name
            )
            if answered_at
            else "",
            answered_at=answered_at,
            closed_at=answered_at if status == Status.CLOSED else None,
            rating=rng.choice(Rating.values) if status == Status.CLOSED else "",
        )

    # Helpers -------------------------------------------------------------------

    def at(self, day: date, rng) -> datetime:
        moment = datetime.combine(day, time(rng.randint(8, 17), rng.randint(0, 59)))
        return timezone.make_aware(moment)

    def tracking_code(self, rng) -> str:
        while True:
            code = "".join(rng.choices(TRACKING_ALPHABET, k=TRACKING_LENGTH))
            if code not in self.taken_codes:
                self.taken_codes.add(code)
                return code

    def index(self, entries: list[SearchEntry]) -> None:
        """Search entries in bulk, and their FTS5 copies on SQLite."""
        created = SearchEntry.objects.bulk_create(entries, batch_size=BATCH)
        if search.backend() == "fts5" and created:
            with connection.cursor() as cursor:
                cursor.executemany(
                    f"INSERT INTO {search.FTS_TABLE} (rowid, title, body) "
                    "VALUES (%s, %s, %s)",
                    [(e.pk, e.title, e.body) for e in created],
                )
