"""督查 records: the photos of a check (cleaned, served only to the staff who
may read the check) and who may change which record and field
(disclosure/inspection_rules.py), over the admin's URLs."""

import io
import os
from datetime import date

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from disclosure import inspection_rules as rules
from disclosure import roles
from disclosure.models import Inspection, InspectionPhoto, Rectification
from tests.factories import (
    PartyMemberFactory,
    SuperuserFactory,
    TownFactory,
    UnitFactory,
    staff_user,
)

pytestmark = pytest.mark.django_db

INSPECTIONS = "/admin/disclosure/inspection/"
RECTIFICATIONS = "/admin/disclosure/rectification/"


def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (64, 48), "red")
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {1: "N", 2: (28.0, 48.0, 0.0), 3: "E", 4: (105.0, 50.0, 0.0)}
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


@pytest.fixture
def w(db):
    town = TownFactory(name="凤鸣镇")
    wenli = UnitFactory(name="文理村", parent=town)
    maoshan = UnitFactory(name="茅山村", parent=town)
    users = {
        "inspector": staff_user(username="inspector", group=roles.INSPECTOR),
        "other_inspector": staff_user(username="inspector2", group=roles.INSPECTOR),
        "town_admin": staff_user(username="town_admin", group=roles.TOWN_ADMIN),
        "reviewer": staff_user(username="reviewer", group=roles.REVIEWER),
        "wenli_editor": staff_user(
            username="wenli_editor", group=roles.UNIT_EDITOR, units=[wenli]
        ),
        "maoshan_editor": staff_user(
            username="maoshan_editor", group=roles.UNIT_EDITOR, units=[maoshan]
        ),
        "superuser": SuperuserFactory(),
    }
    check = Inspection.objects.create(
        unit=wenli,
        inspector=users["inspector"],
        inspected_on=date(2011, 11, 15),
        findings="十月收支未上墙",
        score_form=80,
    )
    fix = Rectification.objects.create(
        unit=wenli,
        inspection=check,
        issue="补公开十月收支明细",
        deadline=date(2011, 11, 30),
    )
    return {
        "town": town,
        "wenli": wenli,
        "maoshan": maoshan,
        "check": check,
        "fix": fix,
    } | users


def inspection_form(check, **changes) -> dict:
    data = {
        "unit": check.unit_id,
        "inspected_on": f"{check.inspected_on:%Y-%m-%d}",
        "findings": check.findings,
        "score_complete": "",
        "score_form": check.score_form or "",
        "score_procedure": "",
        "score_timeliness": "",
        "score_feedback": "",
        "photos-TOTAL_FORMS": "0",
        "photos-INITIAL_FORMS": str(check.photos.count()),
    }
    return data | changes


def with_photo(data: dict, content: bytes, name="board.jpg", caption="公开栏全景"):
    return data | {
        "photos-TOTAL_FORMS": "1",
        "photos-INITIAL_FORMS": "0",
        "photos-0-image": SimpleUploadedFile(name, content, "image/jpeg"),
        "photos-0-caption": caption,
    }


def rectification_form(fix, **changes) -> dict:
    data = {
        "inspection": fix.inspection_id,
        "unit": fix.unit_id,
        "issue": fix.issue,
        "deadline": f"{fix.deadline:%Y-%m-%d}",
        "completed_on": "",
        "completion_note": "",
    }
    return data | changes


def add_photo(client, w) -> InspectionPhoto:
    client.force_login(w["inspector"])
    check = w["check"]
    response = client.post(
        f"{INSPECTIONS}{check.pk}/change/",
        with_photo(inspection_form(check), jpeg_with_gps()),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    return InspectionPhoto.objects.get()


# Photos --------------------------------------------------------------------------


def test_a_photo_is_cleaned_of_its_gps_and_kept_with_a_thumbnail(client, w):
    photo = add_photo(client, w)
    assert photo.inspection == w["check"] and photo.caption == "公开栏全景"
    assert photo.content_type == "image/jpeg" and photo.thumbnail
    stored = photo.image.read()
    assert b"PhoneMaker" not in stored
    with Image.open(io.BytesIO(stored)) as image:
        assert not image.getexif()
    # Random file names: the uploader's name is not kept.
    assert "board" not in photo.image.name


@pytest.mark.parametrize(
    "role", ["inspector", "other_inspector", "town_admin", "reviewer", "wenli_editor"]
)
def test_staff_who_read_the_check_see_its_photos(client, w, role):
    photo = add_photo(client, w)
    client.force_login(w[role])
    page = client.get(f"{INSPECTIONS}{w['check'].pk}/change/")
    assert page.status_code == 200
    assert photo.thumbnail_url in page.text
    assert "/media/" not in page.text  # never the file's own path
    for url in (photo.get_absolute_url(), photo.thumbnail_url):
        response = client.get(url)
        assert response.status_code == 200, (role, url)
        assert response["Cache-Control"] == "private, no-store"
        assert response["Content-Type"] == "image/jpeg"
        assert b"PhoneMaker" not in b"".join(response.streaming_content)


@pytest.mark.parametrize("who", ["anonymous", "party_member", "maoshan_editor"])
def test_no_one_else_gets_a_photo(client, w, who):
    photo = add_photo(client, w)
    client.logout()
    if who == "party_member":
        client.force_login(PartyMemberFactory())
    elif who != "anonymous":
        client.force_login(w[who])
    assert client.get(photo.get_absolute_url()).status_code == 404
    assert client.get(photo.thumbnail_url).status_code == 404


def test_the_public_summary_stays_counts_only(client, w):
    photo = add_photo(client, w)
    client.logout()
    page = client.get(f"/compliance/{w['wenli'].slug}/?year=2011&as_of=2011-12-31")
    assert page.status_code == 200
    assert "本年度督查 1 次" in page.text
    assert photo.get_absolute_url() not in page.text
    assert "公开栏全景" not in page.text


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("board.jpg", b"not a picture at all"),
        ("board.jpg", b"%PDF-1.4\n%%EOF\n"),
        ("board.gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"),
        ("board.jpg", jpeg_with_gps()[:200]),  # cut short
    ],
)
def test_a_bad_file_is_refused_with_a_chinese_message(client, w, name, content):
    client.force_login(w["inspector"])
    check = w["check"]
    response = client.post(
        f"{INSPECTIONS}{check.pk}/change/",
        with_photo(inspection_form(check), content, name=name),
    )
    assert response.status_code == 200
    assert "只能上传 JPEG、PNG 或 WebP 格式的照片" in response.text
    assert not InspectionPhoto.objects.exists()


def test_a_file_too_large_is_refused_with_a_message(client, w, settings):
    settings.ATTACHMENT_MAX_MB = 0
    client.force_login(w["inspector"])
    check = w["check"]
    response = client.post(
        f"{INSPECTIONS}{check.pk}/change/",
        with_photo(inspection_form(check), jpeg_with_gps()),
    )
    assert response.status_code == 200
    assert "文件过大" in response.text
    assert not InspectionPhoto.objects.exists()


def test_only_the_checks_author_recaptions_or_removes_a_photo(
    client, w, django_capture_on_commit_callbacks
):
    photo = add_photo(client, w)
    check = w["check"]
    url = f"{INSPECTIONS}{check.pk}/change/"

    def form(**row):
        return inspection_form(check) | {
            "photos-TOTAL_FORMS": "1",
            "photos-INITIAL_FORMS": "1",
            "photos-0-id": str(photo.pk),
            "photos-0-inspection": str(check.pk),
            "photos-0-caption": "改过的说明",
            **row,
        }

    client.force_login(w["other_inspector"])
    assert client.post(url, form(**{"photos-0-DELETE": "on"})).status_code == 403
    assert InspectionPhoto.objects.get().caption == "公开栏全景"
    client.force_login(w["inspector"])
    assert client.post(url, form()).status_code == 302
    assert InspectionPhoto.objects.get().caption == "改过的说明"
    stored = [photo.image.path, photo.thumbnail.path]
    assert all(os.path.exists(path) for path in stored)
    with django_capture_on_commit_callbacks(execute=True):
        removed = client.post(url, form(**{"photos-0-DELETE": "on"}))
    assert removed.status_code == 302
    assert not InspectionPhoto.objects.exists()
    assert not any(os.path.exists(path) for path in stored)  # no file left behind


def test_photos_can_be_added_with_a_new_check(client, w):
    client.force_login(w["inspector"])
    data = with_photo(
        inspection_form(w["check"], inspected_on="2011-12-20"), jpeg_with_gps()
    )
    response = client.post(f"{INSPECTIONS}add/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    new = Inspection.objects.get(inspected_on=date(2011, 12, 20))
    assert new.inspector == w["inspector"] and new.photos.count() == 1


# Who may change what ----------------------------------------------------------


def test_another_inspectors_check_is_read_only_then_its_author_changes_it(client, w):
    check = w["check"]
    url = f"{INSPECTIONS}{check.pk}/change/"
    client.force_login(w["other_inspector"])
    page = client.get(url)
    assert page.status_code == 200
    assert not page.context["has_change_permission"]
    assert 'name="findings"' not in page.text
    refused = client.post(url, inspection_form(check, findings="改了", score_form=10))
    assert refused.status_code == 403
    photo = client.post(url, with_photo(inspection_form(check), jpeg_with_gps()))
    assert photo.status_code == 403
    assert client.get(f"{INSPECTIONS}{check.pk}/history/").status_code == 200
    assert client.get(f"{INSPECTIONS}{check.pk}/delete/").status_code == 403
    check.refresh_from_db()
    assert (check.findings, check.score_form) == ("十月收支未上墙", 80)
    assert not InspectionPhoto.objects.exists()
    # Its author may.
    client.force_login(w["inspector"])
    done = client.post(url, inspection_form(check, findings="已核实", score_form=90))
    assert done.status_code == 302
    check.refresh_from_db()
    assert (check.findings, check.score_form) == ("已核实", 90)


@pytest.mark.parametrize("role", ["town_admin", "wenli_editor", "reviewer"])
def test_the_town_never_changes_a_check_or_its_scores(client, w, role):
    check = w["check"]
    url = f"{INSPECTIONS}{check.pk}/change/"
    client.force_login(w[role])
    assert client.get(url).status_code == 200
    assert client.post(url, inspection_form(check, score_form=100)).status_code == 403
    assert client.get(f"{INSPECTIONS}{check.pk}/history/").status_code == 200
    assert client.get(f"{INSPECTIONS}{check.pk}/delete/").status_code == 403
    assert (
        client.post(f"{INSPECTIONS}{check.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert client.get(f"{INSPECTIONS}add/").status_code == 403
    assert client.get(f"{RECTIFICATIONS}add/").status_code == 403
    check.refresh_from_db()
    assert check.score_form == 80
    assert Inspection.objects.filter(pk=check.pk).exists()


@pytest.mark.parametrize("role", ["town_admin", "inspector", "other_inspector"])
def test_no_bulk_deletion_but_the_superusers(client, w, role):
    client.force_login(w[role])
    for url, model in ((INSPECTIONS, Inspection), (RECTIFICATIONS, Rectification)):
        listing = client.get(url)
        assert listing.status_code == 200
        form = listing.context["action_form"]
        actions = form.fields["action"].choices if form else []
        assert "delete_selected" not in [name for name, _label in actions]
        client.post(
            url,
            {
                "action": "delete_selected",
                "_selected_action": [o.pk for o in model.objects.all()],
                "post": "yes",
            },
        )
        assert model.objects.exists()


def test_a_superuser_may_delete_a_photo_less_check(client, w):
    w["fix"].delete()
    client.force_login(w["superuser"])
    url = f"{INSPECTIONS}{w['check'].pk}/delete/"
    assert client.get(url).status_code == 200
    assert client.post(url, {"post": "yes"}).status_code == 302
    assert not Inspection.objects.exists()


@pytest.mark.parametrize("role", ["town_admin", "wenli_editor"])
def test_the_town_records_a_completion_only(client, w, role):
    fix = w["fix"]
    url = f"{RECTIFICATIONS}{fix.pk}/change/"
    client.force_login(w[role])
    page = client.get(url)
    assert page.status_code == 200
    assert 'name="completed_on"' in page.text
    assert 'name="issue"' not in page.text and 'name="deadline"' not in page.text
    # The issue and deadline sent along are not taken; the completion is.
    response = client.post(
        url,
        rectification_form(
            fix,
            issue="改成别的",
            deadline="2012-06-30",
            completed_on="2011-12-05",
            completion_note="已补贴",
        ),
    )
    assert response.status_code == 302
    fix.refresh_from_db()
    assert fix.issue == "补公开十月收支明细"
    assert fix.deadline == date(2011, 11, 30)
    assert (fix.completed_on, fix.completion_note) == (date(2011, 12, 5), "已补贴")
    assert client.get(f"{RECTIFICATIONS}{fix.pk}/history/").status_code == 200
    assert client.get(f"{RECTIFICATIONS}{fix.pk}/delete/").status_code == 403


def test_another_units_editor_cannot_reach_the_notice(client, w):
    fix = w["fix"]
    url = f"{RECTIFICATIONS}{fix.pk}/change/"
    client.force_login(w["maoshan_editor"])
    assert client.get(url).status_code != 200
    client.post(url, rectification_form(fix, completed_on="2011-12-05"))
    fix.refresh_from_db()
    assert fix.completed_on is None
    listing = client.get(RECTIFICATIONS)
    assert "补公开十月收支明细" not in listing.text


def test_another_inspectors_notice_is_read_only_then_its_author_changes_it(client, w):
    fix = w["fix"]
    url = f"{RECTIFICATIONS}{fix.pk}/change/"
    client.force_login(w["other_inspector"])
    assert client.get(url).status_code == 200
    refused = client.post(
        url, rectification_form(fix, deadline="2012-01-31", completed_on="2011-12-01")
    )
    assert refused.status_code == 403
    fix.refresh_from_db()
    assert fix.deadline == date(2011, 11, 30) and fix.completed_on is None
    client.force_login(w["inspector"])
    done = client.post(url, rectification_form(fix, deadline="2011-12-31"))
    assert done.status_code == 302
    fix.refresh_from_db()
    assert fix.deadline == date(2011, 12, 31)


def test_a_notice_is_issued_on_ones_own_check(client, w):
    client.force_login(w["other_inspector"])
    data = rectification_form(w["fix"], issue="补公开十一月")
    response = client.post(f"{RECTIFICATIONS}add/", data)
    assert response.status_code == 200  # not a choice: another's check
    assert "inspection" in response.context["adminform"].form.errors
    assert not Rectification.objects.filter(issue="补公开十一月").exists()
    own = Inspection.objects.create(
        unit=w["wenli"], inspector=w["other_inspector"], inspected_on=date(2011, 12, 1)
    )
    response = client.post(f"{RECTIFICATIONS}add/", data | {"inspection": own.pk})
    assert response.status_code == 302
    assert Rectification.objects.get(issue="补公开十一月").inspection == own


# The rule itself, for paths other than the admin ---------------------------------


def test_the_rule_refuses_what_the_admin_hides(w):
    fix, check = w["fix"], w["check"]
    fix.issue = "改了"
    for role in ("town_admin", "wenli_editor", "other_inspector", "reviewer"):
        with pytest.raises(PermissionDenied):
            rules.check_rectification(w[role], fix)
    rules.check_rectification(w["inspector"], fix)
    fix.refresh_from_db()
    fix.completed_on = date(2011, 12, 1)
    for role in ("town_admin", "wenli_editor", "inspector", "superuser"):
        rules.check_rectification(w[role], fix)
    for role in ("maoshan_editor", "other_inspector", "reviewer"):
        with pytest.raises(PermissionDenied):
            rules.check_rectification(w[role], fix)
    check.score_form = 100
    for role in ("town_admin", "wenli_editor", "other_inspector", "maoshan_editor"):
        with pytest.raises(PermissionDenied):
            rules.check_inspection(w[role], check)
        with pytest.raises(PermissionDenied):
            rules.check_photos(w[role], check)
    rules.check_inspection(w["inspector"], check)
    rules.check_photos(w["inspector"], check)
    assert rules.may_delete(w["superuser"])
    assert not any(rules.may_delete(w[r]) for r in ("town_admin", "inspector"))
    assert rules.may_issue(w["inspector"]) and not rules.may_issue(w["town_admin"])


# The yearly report's figures (composition/report.py) -----------------------------


def test_the_inspection_figures_count_the_records(db, settings):
    from django.contrib.auth import get_user_model

    from disclosure import inspections

    settings.COMPLIANCE_CRITERIA_WEIGHTS = {
        "complete": 1,
        "form": 1,
        "procedure": 1,
        "timeliness": 1,
        "feedback": 1,
    }
    fengming = TownFactory()
    wenli = UnitFactory(parent=fengming)
    elsewhere = UnitFactory(parent=TownFactory(name="白米镇"))
    who = get_user_model().objects.create(username="insp")
    scored = Inspection.objects.create(
        unit=wenli, inspector=who, inspected_on=date(2011, 5, 1), score_form=80
    )
    Inspection.objects.create(
        unit=fengming, inspector=who, inspected_on=date(2011, 9, 1), score_form=60
    )
    unscored = Inspection.objects.create(
        unit=wenli, inspector=who, inspected_on=date(2011, 10, 1)
    )
    Inspection.objects.create(  # another year, another town: not counted
        unit=wenli, inspector=who, inspected_on=date(2010, 5, 1), score_form=10
    )
    Inspection.objects.create(
        unit=elsewhere, inspector=who, inspected_on=date(2011, 5, 1), score_form=10
    )

    def fix(check, deadline, done=None):
        Rectification.objects.create(
            unit=wenli,
            inspection=check,
            issue="x",
            deadline=deadline,
            completed_on=done,
        )

    fix(scored, date(2011, 6, 1), date(2011, 5, 20))  # on time
    fix(scored, date(2011, 6, 1), date(2011, 7, 1))  # late
    fix(unscored, date(2011, 11, 1))  # open, overdue
    fix(unscored, date(2012, 3, 1))  # open, not yet due
    fix(unscored, date(2011, 11, 1), date(2012, 6, 1))  # done late, after the window
    figures = inspections.year_figures(
        [fengming, wenli], year=2011, as_of=date(2012, 1, 31)
    )
    assert figures == {
        "inspections": 3,
        "scored": 2,
        "average": 70.0,
        "issued": 5,
        "completed": 3,
        "completed_late": 2,
        "open": 2,
        "overdue": 1,
    }


def test_a_reviewer_reads_only_and_a_superuser_changes_anything(client, w):
    fix, check = w["fix"], w["check"]
    client.force_login(w["reviewer"])
    url = f"{RECTIFICATIONS}{fix.pk}/change/"
    assert client.get(url).status_code == 200
    assert (
        client.post(url, rectification_form(fix, completed_on="2011-12-01")).status_code
        == 403
    )
    fix.refresh_from_db()
    assert fix.completed_on is None
    client.force_login(w["superuser"])
    response = client.post(
        url, rectification_form(fix, issue="改写", deadline="2011-12-15")
    )
    assert response.status_code == 302
    response = client.post(
        f"{INSPECTIONS}{check.pk}/change/", inspection_form(check, score_form=70)
    )
    assert response.status_code == 302
    fix.refresh_from_db()
    check.refresh_from_db()
    assert (fix.issue, fix.deadline, check.score_form) == (
        "改写",
        date(2011, 12, 15),
        70,
    )
