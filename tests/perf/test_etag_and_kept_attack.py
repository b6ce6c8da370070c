"""Attacks on the board's ETag made of versions alone (disclosure.views.
board_etag), the home page's kept units, the kept overdue 回音壁 count
(feedback.summary.summary_by_unit) and the board's kept columns
(disclosure.views.board_categories). Each asserts what a visitor must see."""

import re
import zoneinfo
from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from catalog.models import Catalog, Category, Item
from disclosure import services as disclosure_services
from disclosure.models import Attachment, Disclosure, NoticeBoard, Unit
from feedback.models import CONFIDENTIAL_KINDS, Submission
from tests.factories import (
    CatalogFactory,
    CategoryFactory,
    DepartmentFactory,
    DisclosureFactory,
    ItemFactory,
    NoticeBoardFactory,
    SubmissionFactory,
    TownFactory,
    UnitFactory,
    UserFactory,
    acting_for,
    staff_user,
)

pytestmark = [pytest.mark.django_db]

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
MODES = ["values_only", "page_cache"]


def noon() -> datetime:
    return timezone.localtime().replace(hour=12, minute=0, second=0, microsecond=0)


@pytest.fixture(params=MODES)
def mode(request):
    request.getfixturevalue(request.param)
    return request.param


@pytest.fixture
def world(db):
    town = TownFactory(name="凤鸣镇", slug="fengming")
    wenli = UnitFactory(name="文理村", slug="wenli", parent=town)
    finance = CategoryFactory(name="财务公开栏目")
    item = ItemFactory(category=finance, name="财务收支", for_village=True)
    row = DisclosureFactory(unit=wenli, item=item, title="村务公开财务收支")
    return {"town": town, "wenli": wenli, "finance": finance, "item": item, "row": row}


URL = "/boards/wenli/"


def notice(world, **fields):
    """A notice of 文理村 under the board's one item."""
    return DisclosureFactory(unit=world["wenli"], item=world["item"], **fields)


def again(client, etag, url=URL, **extra):
    return client.get(url, HTTP_IF_NONE_MATCH=etag, **extra)


def first_etag(client, url=URL, **extra) -> str:
    response = client.get(url, **extra)
    assert response.status_code == 200
    etag = response["ETag"]
    assert again(client, etag, url, **extra).status_code == 304
    return etag


# 1. The board's ETag ----------------------------------------------------------


def test_etag_follows_an_answered_case_in_the_boards_feedback_column(
    world, mode, changed
):
    visitor = Client()
    with time_machine.travel(noon(), tick=False):
        etag = first_etag(visitor)
        with changed():
            SubmissionFactory(
                unit=world["wenli"],
                title="路灯什么时候修好",
                status="answered",
                accepted_at=timezone.now() - timedelta(days=1),
                answered_at=timezone.now(),
                answer_text="已修好。",
                answered_by=DepartmentFactory(name="镇党政办"),
            )
        response = again(visitor, etag)
        assert response.status_code == 200
        assert "路灯什么时候修好" in response.text


def test_etag_follows_an_answered_case_changed_in_place(world, mode, changed):
    """A case already in the column: its title edited in the admin (a save)."""
    case = SubmissionFactory(
        unit=world["wenli"],
        title="路灯什么时候修好",
        status="answered",
        accepted_at=timezone.now() - timedelta(days=1),
        answered_at=timezone.now() - timedelta(hours=1),
        answer_text="已修好。",
        answered_by=DepartmentFactory(name="镇党政办"),
    )
    visitor = Client()
    with time_machine.travel(noon(), tick=False):
        etag = first_etag(visitor)
        assert "路灯什么时候修好" in visitor.get(URL).text
        case = Submission.objects.get(pk=case.pk)
        with changed():
            case.title = "村口路灯的维修"
            case.save()
        response = again(visitor, etag)
        assert response.status_code == 200
        assert "村口路灯的维修" in response.text


def test_etag_follows_the_answering_department_renamed(world, mode, changed):
    department = DepartmentFactory(name="镇党政办")
    SubmissionFactory(
        unit=world["wenli"],
        title="路灯什么时候修好",
        status="answered",
        accepted_at=timezone.now() - timedelta(days=1),
        answered_at=timezone.now() - timedelta(hours=1),
        answer_text="已修好。",
        answered_by=department,
    )
    visitor = Client()
    with time_machine.travel(noon(), tick=False):
        etag = first_etag(visitor)
        assert "镇党政办" in visitor.get(URL).text
        with changed():
            department.name = "镇综合办"
            department.save()
        response = again(visitor, etag)
        assert response.status_code == 200
        assert "镇综合办" in response.text


def test_etag_follows_a_notice_board_moved(world, mode, changed):
    board = NoticeBoardFactory(unit=world["wenli"], location="村委会门前")
    visitor = Client()
    with time_machine.travel(noon(), tick=False):
        etag = first_etag(visitor)
        board = NoticeBoard.objects.get(pk=board.pk)
        with changed():
            board.location = "文化广场东侧"
            board.save()
        response = again(visitor, etag)
        assert response.status_code == 200 and "文化广场东侧" in response.text
        etag = response["ETag"]
        with changed():
            NoticeBoard.objects.get(pk=board.pk).delete()
        response = again(visitor, etag)
        assert response.status_code == 200 and "文化广场东侧" not in response.text


def test_etag_follows_the_unit_renamed(world, mode, changed):
    visitor = Client()
    with time_machine.travel(noon(), tick=False):
        etag = first_etag(visitor)
        unit = Unit.objects.get(pk=world["wenli"].pk)
        with changed():
            unit.name = "文理社区"
            unit.save()
        response = again(visitor, etag)
        assert response.status_code == 200 and "文理社区" in response.text


def test_etag_follows_category_and_catalog_renamed(world, mode, changed):
    visitor = Client()
    with time_machine.travel(noon(), tick=False):
        etag = first_etag(visitor)
        category = Category.objects.get(pk=world["finance"].pk)
        with changed():
            category.name = "财务收支栏目"
            category.save()
        response = again(visitor, etag)
        assert response.status_code == 200 and "财务收支栏目" in response.text
        etag = response["ETag"]
        # The catalog's kind shown beside the column's title.
        catalog = Catalog.objects.get(pk=category.catalog_id)
        before = catalog.get_kind_display()
        other = next(k for k in Catalog.Kind if k != catalog.kind)
        if not Catalog.objects.filter(kind=other).exists():
            with changed():
                catalog.kind = other
                catalog.save()
            response = again(visitor, etag)
            assert response.status_code == 200
            assert f'<span class="kind">{other.label}</span>' in response.text
            assert f'<span class="kind">{before}</span>' not in response.text


def test_etag_follows_an_item_leaving_the_village_level(world, mode, changed):
    visitor = Client()
    with time_machine.travel(noon(), tick=False):
        etag = first_etag(visitor)
        assert 'board-column-title">财务公开栏目<' in visitor.get(URL).text
        item = Item.objects.get(pk=world["item"].pk)
        with changed():
            item.for_village = False
            item.for_town = True
            item.save()
        response = again(visitor, etag)
        assert response.status_code == 200
        assert 'board-column-title">财务公开栏目<' not in response.text


def test_etag_follows_a_category_moved_to_another_catalog(world, mode, changed):
    visitor = Client()
    with time_machine.travel(noon(), tick=False):
        etag = first_etag(visitor)
        category = Category.objects.get(pk=world["finance"].pk)
        other = CatalogFactory(kind=Catalog.Kind.VILLAGE)
        if other.pk == category.catalog_id:
            other = CatalogFactory(kind=Catalog.Kind.GOVERNMENT)
        with changed():
            category.catalog = other
            category.save()
        response = again(visitor, etag)
        assert response.status_code == 200
        assert f'<span class="kind">{other.get_kind_display()}</span>' in response.text


def test_etag_follows_display_until_edited_to_yesterday(world, mode, changed):
    visitor = Client()
    with time_machine.travel(noon(), tick=False):
        etag = first_etag(visitor)
        row = Disclosure.objects.get(pk=world["row"].pk)
        with changed():
            row.display_until = timezone.localdate() - timedelta(days=1)
            row.save()
        response = again(visitor, etag)
        assert response.status_code == 200
        assert "村务公开财务收支" not in response.text


def test_etag_follows_the_default_display_ending_at_midnight(world, mode, changed):
    """A monthly item without 展示至: off the board once its months pass."""
    at = noon()
    months = Disclosure.DISPLAY_MONTHS[Item.Frequency.MONTHLY]
    visitor = Client()
    with time_machine.travel(at, tick=False):
        with changed():
            row = notice(
                world, title="按期展示的月度公开", published_at=at - timedelta(days=1)
            )
        assert row.display_until is None or True
        etag = first_etag(visitor)
        assert "按期展示的月度公开" in visitor.get(URL).text
    # Walk forward a day at a time until it leaves; every day with a 304
    # must still show it.
    shown_until = None
    for day in range(1, 31 * months + 40):
        with time_machine.travel(at + timedelta(days=day), tick=False):
            response = again(visitor, etag)
            if response.status_code == 200:
                etag = response["ETag"]
                if "按期展示的月度公开" not in response.text:
                    shown_until = day
                    break
            else:
                fresh = Client(HTTP_COOKIE="").get(URL)
                assert "按期展示的月度公开" in fresh.text, day
    assert shown_until is not None


def test_etag_follows_a_posting_photo_added(world, mode, changed, settings):
    visitor = Client()
    with time_machine.travel(noon(), tick=False):
        etag = first_etag(visitor)
        with changed():
            Attachment.objects.create(
                disclosure=Disclosure.objects.get(pk=world["row"].pk),
                kind=Attachment.Kind.POSTING_PHOTO,
                file="attachments/p.jpg",
                thumbnail="thumbnails/p.jpg",
                content_type="image/jpeg",
            )
        response = again(visitor, etag)
        assert response.status_code == 200 and "board-thumb" in response.text


def test_etag_follows_a_withdrawal(world, mode, changed):
    row = world["row"]
    officer = staff_user(username="reviewer", group="审核人")
    acting_for(officer, row, "approve", "publish", "review")
    visitor = Client()
    with time_machine.travel(noon(), tick=False):
        etag = first_etag(visitor)
        with changed():
            disclosure_services.withdraw(
                Disclosure.objects.get(pk=row.pk), by=officer, reason="数据有误"
            )
        response = again(visitor, etag)
        assert response.status_code == 200
        assert "村务公开财务收支" not in response.text


def test_etag_follows_scheduled_publications_coming_due_one_after_another(
    world, mode, changed
):
    at = noon()
    visitor = Client()
    with time_machine.travel(at, tick=False):
        with changed():
            notice(world, title="一点发布", published_at=at + timedelta(hours=1))
            notice(world, title="两点发布", published_at=at + timedelta(hours=2))
            notice(world, title="三点发布", published_at=at + timedelta(hours=3))
        etag = first_etag(visitor)
    for hours, title in [(1, "一点发布"), (2, "两点发布"), (3, "三点发布")]:
        with time_machine.travel(at + timedelta(hours=hours, seconds=1), tick=False):
            response = again(visitor, etag)
            assert response.status_code == 200, title
            assert title in response.text
            etag = response["ETag"]
            assert again(visitor, etag).status_code == 304


def test_etag_follows_a_scheduled_publication_seen_just_before_it(world, mode, changed):
    """The ETag read a second before the publication, then a second after."""
    at = noon()
    visitor = Client()
    with time_machine.travel(at, tick=False):
        with changed():
            notice(world, title="定时发布甲", published_at=at + timedelta(minutes=10))
        first_etag(visitor)
    with time_machine.travel(at + timedelta(minutes=10, seconds=-1), tick=False):
        etag = first_etag(visitor)
        assert "定时发布甲" not in visitor.get(URL).text
    with time_machine.travel(at + timedelta(minutes=10, seconds=1), tick=False):
        response = again(visitor, etag)
        assert response.status_code == 200 and "定时发布甲" in response.text


def test_etag_follows_a_public_date_with_a_scheduled_row_behind_it(
    world, mode, changed
):
    at = noon()
    visitor = Client()
    with time_machine.travel(at, tick=False):
        with changed():
            notice(
                world,
                title="先党内后党外甲",
                published_at=at - timedelta(days=1),
                public_from=at + timedelta(hours=1),
            )
            notice(world, title="定时发布乙", published_at=at + timedelta(hours=2))
        etag = first_etag(visitor)
        assert "先党内后党外甲" not in visitor.get(URL).text
    with time_machine.travel(at + timedelta(hours=1, seconds=1), tick=False):
        response = again(visitor, etag)
        assert response.status_code == 200 and "先党内后党外甲" in response.text
        assert "定时发布乙" not in response.text
        etag = response["ETag"]
    with time_machine.travel(at + timedelta(hours=2, seconds=1), tick=False):
        response = again(visitor, etag)
        assert response.status_code == 200 and "定时发布乙" in response.text


def test_etag_follows_a_rescheduled_publication_brought_forward(world, mode, changed):
    """A row scheduled for 3 pm brought forward to 1 pm by an edit."""
    at = noon()
    visitor = Client()
    with time_machine.travel(at, tick=False):
        with changed():
            row = notice(world, title="改期发布", published_at=at + timedelta(hours=3))
        etag = first_etag(visitor)
        row = Disclosure.objects.get(pk=row.pk)
        with changed():
            row.published_at = at + timedelta(hours=1)
            row.save()
        etag = first_etag(visitor) if again(visitor, etag).status_code == 200 else etag
    with time_machine.travel(at + timedelta(hours=1, seconds=1), tick=False):
        response = again(visitor, etag)
        assert response.status_code == 200 and "改期发布" in response.text


def test_head_request_after_a_change_is_not_304(world, mode, changed):
    visitor = Client()
    with time_machine.travel(noon(), tick=False):
        etag = first_etag(visitor)
        with changed():
            notice(world, title="新公开")
        assert visitor.head(URL, HTTP_IF_NONE_MATCH=etag).status_code == 200


def test_etag_differs_by_text_size(world, mode):
    with time_machine.travel(noon(), tick=False):
        standard = Client()
        etag = first_etag(standard)
        elder = Client()
        elder.cookies["elder"] = "2"
        response = again(elder, etag)
        assert response.status_code == 200
        assert response["ETag"] != etag
        assert again(elder, response["ETag"]).status_code == 304
        assert again(standard, response["ETag"]).status_code == 200


def test_etag_for_a_period_view_differs_from_the_current_one(world, mode):
    with time_machine.travel(noon(), tick=False):
        visitor = Client()
        etag = first_etag(visitor)
        response = again(visitor, etag, url=URL + "?period=2011-09")
        assert response.status_code == 200


def test_page_cache_hit_answers_a_stale_etag_with_the_new_page(
    world, page_cache, changed
):
    """The copy kept by the page cache and its ETag: a change in another
    unit leaves the copy (and a 304 is right); a change here does not."""
    other = UnitFactory(name="茅山村", slug="maoshan", parent=world["town"])
    visitor = Client()
    with time_machine.travel(noon(), tick=False):
        etag = first_etag(visitor)
        assert visitor.get(URL)["X-Page-Cache"] == "hit"
        with changed():
            DisclosureFactory(unit=other, item=world["item"], title="茅山村公开")
        assert again(visitor, etag).status_code == 304
        with changed():
            notice(world, title="文理新公开")
        response = again(visitor, etag)
        assert response.status_code == 200 and "文理新公开" in response.text
        new = response["ETag"]
        assert again(visitor, new).status_code == 304
        # And after a change elsewhere made the copy's ETag differ from what
        # the view would compute now, the copy still answers the client's.
        with changed():
            DisclosureFactory(unit=other, item=world["item"], title="茅山村又一条")
        hit = again(visitor, new)
        assert hit.status_code == 304


def test_page_cache_copy_made_with_a_stale_etag_after_a_public_date(
    world, page_cache, changed
):
    """A copy kept just before a 先党内后党外 public date: after it, neither
    the copy nor its ETag is served."""
    at = noon()
    with time_machine.travel(at, tick=False):
        with changed():
            notice(
                world,
                title="先党内后党外乙",
                published_at=at - timedelta(days=1),
                public_from=at + timedelta(minutes=5),
            )
    visitor = Client()
    with time_machine.travel(at + timedelta(minutes=4, seconds=30), tick=False):
        etag = first_etag(visitor)
    with time_machine.travel(at + timedelta(minutes=5, seconds=1), tick=False):
        response = again(visitor, etag)
        assert response.status_code == 200 and "先党内后党外乙" in response.text


# 2. The home page's kept units ------------------------------------------------


def test_home_follows_a_village_added_renamed_and_made_a_liaison_point(
    world, mode, changed, settings
):
    settings.PORTAL_HOME_UNIT_SLUG = "fengming"
    visitor = Client()
    with time_machine.travel(noon(), tick=False):
        first = visitor.get("/")
        boards = first.context["home_figures"] if first.context else None
        assert first.status_code == 200
        with changed():
            UnitFactory(name="茅山村", slug="maoshan", parent=world["town"])
        home = visitor.get("/").text
        assert "茅山村" in home
        wenli = Unit.objects.get(pk=world["wenli"].pk)
        with changed():
            wenli.is_liaison_point = True
            wenli.save()
        home_after = visitor.get("/").text
        assert home_after != home or boards is None


def test_home_latest_follows_a_village_moved_out_of_the_town(
    world, mode, changed, settings
):
    settings.PORTAL_HOME_UNIT_SLUG = "fengming"
    other_town = TownFactory(name="白鹿镇", slug="bailu")
    visitor = Client()
    with time_machine.travel(noon(), tick=False):
        assert "村务公开财务收支" in visitor.get("/").text
        wenli = Unit.objects.get(pk=world["wenli"].pk)
        with changed():
            wenli.parent = other_town
            wenli.save()
        assert "村务公开财务收支" not in visitor.get("/").text


# 3. The kept overdue count ----------------------------------------------------

LATE_EVENING = datetime(2026, 12, 10, 23, 0, tzinfo=SHANGHAI)
MORNING = LATE_EVENING + timedelta(hours=10)


@pytest.fixture
def late(db):
    town = TownFactory(name="凤鸣镇", slug="fengming")
    wenli = UnitFactory(name="文理村", slug="wenli", parent=town)
    maoshan = UnitFactory(name="茅山村", slug="maoshan", parent=town)
    with time_machine.travel(LATE_EVENING - timedelta(days=30), tick=False):
        # Waiting (not read yet), past its deadline in the morning.
        case = SubmissionFactory(unit=wenli, due_date=date(2026, 12, 1))
    return {"town": town, "wenli": wenli, "maoshan": maoshan, "case": case}


def wall_overdue(client, slug: str) -> int:
    """What the wall filtered to the unit says (the page, kept or not)."""
    text = client.get(f"/feedback/?unit={slug}").text
    found = re.search(r"待受理的来信中有 (\d+) 条已超过答复期限", text)
    return int(found[1]) if found else 0


def truth(slug: str) -> int:
    return (
        Submission.objects.on_record()
        .exclude(kind__in=CONFIDENTIAL_KINDS)
        .filter(unit__slug=slug)
        .overdue()
        .filter(status="received")
        .count()
    )


def home_overdue(client) -> int:
    response = client.get("/")
    text = response.text
    return text


def reload(case) -> Submission:
    return Submission.objects.get(pk=case.pk)


def test_overdue_follows_a_case_moved_to_another_unit(late, mode, changed):
    visitor = Client()
    with time_machine.travel(MORNING, tick=False):
        assert wall_overdue(visitor, "wenli") == 1 == truth("wenli")
        assert wall_overdue(visitor, "maoshan") == 0
        case = reload(late["case"])
        with changed():
            case.unit = late["maoshan"]
            case.save()
        assert wall_overdue(visitor, "wenli") == truth("wenli") == 0
        assert wall_overdue(visitor, "maoshan") == truth("maoshan") == 1


def test_overdue_follows_a_deadline_changed(late, mode, changed):
    visitor = Client()
    with time_machine.travel(MORNING, tick=False):
        assert wall_overdue(visitor, "wenli") == 1
        case = reload(late["case"])
        with changed():
            case.due_date = date(2026, 12, 31)
            case.save()
        assert wall_overdue(visitor, "wenli") == truth("wenli") == 0
        case = reload(case)
        with changed():
            case.due_date = date(2026, 12, 2)
            case.save()
        assert wall_overdue(visitor, "wenli") == truth("wenli") == 1


def test_overdue_follows_a_case_deleted(late, mode, changed):
    visitor = Client()
    with time_machine.travel(MORNING, tick=False):
        assert wall_overdue(visitor, "wenli") == 1
        with changed():
            reload(late["case"]).delete()
        assert wall_overdue(visitor, "wenli") == truth("wenli") == 0


def test_overdue_follows_a_case_made_a_denunciation(late, mode, changed):
    visitor = Client()
    with time_machine.travel(MORNING, tick=False):
        assert wall_overdue(visitor, "wenli") == 1
        case = reload(late["case"])
        with changed():
            case.kind = CONFIDENTIAL_KINDS[0]
            case.save()
        assert wall_overdue(visitor, "wenli") == truth("wenli") == 0


def test_overdue_follows_a_case_made_not_public(late, mode, changed):
    visitor = Client()
    with time_machine.travel(MORNING, tick=False):
        assert wall_overdue(visitor, "wenli") == 1
        case = reload(late["case"])
        with changed():
            case.status = "not_published"
            case.hidden_reason = "涉及个人隐私"
            case.save()
        assert wall_overdue(visitor, "wenli") == truth("wenli") == 0


def test_overdue_follows_a_unit_slug_renamed_and_reused(late, mode, changed):
    visitor = Client()
    with time_machine.travel(MORNING, tick=False):
        assert wall_overdue(visitor, "wenli") == 1
        assert wall_overdue(visitor, "maoshan") == 0
        wenli = Unit.objects.get(pk=late["wenli"].pk)
        with changed():
            wenli.slug = "wenli-old"
            wenli.save()
        maoshan = Unit.objects.get(pk=late["maoshan"].pk)
        with changed():
            maoshan.slug = "wenli"
            maoshan.save()
        assert wall_overdue(visitor, "wenli") == truth("wenli") == 0
        assert wall_overdue(visitor, "wenli-old") == truth("wenli-old") == 1


def test_overdue_follows_a_bulk_admin_accept(late, mode, changed):
    """Cases accepted in the admin's change list (its action, if any), else
    one by one through the service."""
    from feedback import services

    visitor = Client()
    with time_machine.travel(MORNING, tick=False):
        assert wall_overdue(visitor, "wenli") == 1
        with changed():
            services.accept(
                reload(late["case"]),
                by=UserFactory(username="office"),
                department=DepartmentFactory(),
            )
        assert wall_overdue(visitor, "wenli") == truth("wenli") == 0


def test_overdue_follows_midnight_in_both_directions(late, mode, changed):
    """Counted at 23:59:59 (not yet overdue), then at 00:00:01 (overdue)."""
    visitor = Client()
    with time_machine.travel(LATE_EVENING - timedelta(days=30), tick=False):
        with changed():
            SubmissionFactory(unit=late["maoshan"], due_date=date(2026, 12, 10))
    end = datetime(2026, 12, 10, 23, 59, 59, tzinfo=SHANGHAI)
    with time_machine.travel(end, tick=False):
        assert wall_overdue(visitor, "maoshan") == truth("maoshan") == 0
        visitor.get("/")
    with time_machine.travel(end + timedelta(seconds=2), tick=False):
        assert wall_overdue(visitor, "maoshan") == truth("maoshan") == 1


def test_overdue_for_a_home_town_is_of_its_units_only(late, mode, settings):
    """A village of another town with an overdue case is not counted."""
    settings.PORTAL_HOME_UNIT_SLUG = "fengming"
    other = TownFactory(name="白鹿镇", slug="bailu")
    far = UnitFactory(name="远村", slug="yuan", parent=other)
    SubmissionFactory(unit=far, due_date=date(2026, 11, 1))
    visitor = Client()
    with time_machine.travel(MORNING, tick=False):
        assert wall_overdue(visitor, "yuan") == 1
        assert wall_overdue(visitor, "wenli") == 1


def test_etag_follows_an_item_made_inner_party(world, mode, changed):
    """The rows of an item made 党内 leave the public board (an UPDATE and
    its event, services.follow_item_scope)."""
    from catalog.models import Scope

    visitor = Client()
    with time_machine.travel(noon(), tick=False):
        etag = first_etag(visitor)
        item = Item.objects.get(pk=world["item"].pk)
        with changed():
            item.scope = Scope.INNER_PARTY
            item.save()
        response = again(visitor, etag)
        assert response.status_code == 200
        assert "村务公开财务收支" not in response.text


def test_etag_of_a_town_board_follows_its_own_schedule(world, mode, changed):
    at = noon()
    town_item = ItemFactory(category=world["finance"], for_town=True, for_village=True)
    visitor = Client()
    url = "/boards/fengming/"
    with time_machine.travel(at, tick=False):
        with changed():
            DisclosureFactory(
                unit=world["town"],
                item=town_item,
                title="镇定时发布",
                published_at=at + timedelta(hours=1),
            )
        etag = first_etag(visitor, url)
    with time_machine.travel(at + timedelta(hours=1, seconds=1), tick=False):
        response = again(visitor, etag, url)
        assert response.status_code == 200 and "镇定时发布" in response.text


def test_overdue_follows_a_new_late_case_in_both_modes(late, mode, changed):
    visitor = Client()
    with time_machine.travel(MORNING, tick=False):
        assert wall_overdue(visitor, "maoshan") == 0
        with changed():
            SubmissionFactory(unit=late["maoshan"], due_date=date(2026, 12, 1))
        assert wall_overdue(visitor, "maoshan") == truth("maoshan") == 1


def test_a_visitors_etag_gives_a_member_who_logs_in_no_304(world, mode, changed):
    """The same browser: its anonymous copy's ETag sent once logged in as a
    party member must not keep the public copy (no 党内 rows)."""
    from catalog.models import Scope
    from tests.factories import PartyMemberFactory

    DisclosureFactory(
        unit=world["wenli"],
        item=ItemFactory(category=world["finance"], scope=Scope.INNER_PARTY),
        title="党内通报会议纪要丙",
    )
    browser = Client()
    with time_machine.travel(noon(), tick=False):
        etag = first_etag(browser)
        assert "党内通报会议纪要丙" not in browser.get(URL).text
        browser.force_login(PartyMemberFactory(username="m1", branch_of=world["wenli"]))
        response = again(browser, etag)
        assert response.status_code == 200
        assert "党内通报会议纪要丙" in response.text
