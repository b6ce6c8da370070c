"""Every back-office page each role uses, in the demo town, read as the staff
member reads it: no English words and no "Django" in the visible text, the
tooltips, labels, placeholders, alternative texts or buttons (issue 18).

The pages are found by following the links of each role's pages from the
admin's index (changelists, add pages, an object's change page, its history
and a version, the workflow's pages), as the person would click through."""

import re
from html.parser import HTMLParser
from urllib.parse import urldefrag, urlsplit

import pytest
from django.contrib.auth import get_user_model

from disclosure.models import Disclosure, Unit
from tests.factories import DisclosureFactory

pytestmark = pytest.mark.django_db

ROLES = [
    "wenli_editor",  # 村务管理员
    "wenli_supervisor",  # 村务监督委员
    "wenli_approver",  # 村级审批人
    "reviewer",  # 审核人, acts for the 镇纪委
    "town_approver",  # 审核人 for the 镇党委 and 镇人民政府
    "town_admin",  # 镇管理员
    "inspector",  # 督查员
]
# Latin words staff may meet that are names: file types, the feeds, office
# software (Excel, WPS).
ALLOWED = {
    "pdf",
    "jpg",
    "jpeg",
    "png",
    "webp",
    "csv",
    "xlsx",
    "xls",
    "zip",
    "atom",
    "excel",
    "wps",
}
# An object's own data (usernames, file names, e-mail addresses, codes) is not
# the interface's language.
DATA = re.compile(
    r"[\w.+-]+@[\w.-]+"  # e-mail addresses
    r"|\b[\w-]+\.(?:jpe?g|png|pdf|zip|xlsx|csv)\b"  # file names
    r"|\b[a-z]+_[a-z_]+\d*\b"  # usernames, field codes
    r"|(?<![A-Za-z])[A-Z0-9]+(?:-[A-Z0-9]+)*(?![A-Za-z])"  # CW01, index numbers, HTML
    r"|算法\s*:\s*\S+|\S*\*{4,}"  # a password hash's summary, masked
    r"|https?://\S+"
    r"|\b\d{4}-(?:Q[1-4]|H[12]|\d{2})\b"  # periods
)
WORD = re.compile(r"[A-Za-z]{2,}")
SKIP = re.compile(
    r"/delete/|/logout/|/jsi18n/|/autocomplete/|/download/|\.(?:pdf|xlsx|csv|zip)$|/r/\d+/"
)
OBJECT_PAGE = re.compile(r"^(/admin/\w+/\w+/)([^/]+)/")
# How many objects of one model are opened (their pages are alike).
OBJECTS_PER_MODEL = 2


class VisibleText(HTMLParser):
    """The text a person sees or hears: element text outside scripts, styles
    and templates, and the attributes read out or shown on hover."""

    HIDDEN = {"script", "style", "template", "noscript"}
    SPOKEN = ("title", "aria-label", "placeholder", "alt")

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden_depth = 0
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in self.HIDDEN:
            self.hidden_depth += 1
        for name in self.SPOKEN:
            if attrs.get(name):
                self.parts.append(attrs[name])
        if tag == "button" or (
            tag == "input" and attrs.get("type") in {"submit", "button", "reset"}
        ):
            self.parts.append(attrs.get("value") or "")
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])

    def handle_endtag(self, tag):
        if tag in self.HIDDEN and self.hidden_depth:
            self.hidden_depth -= 1

    def handle_data(self, data):
        if not self.hidden_depth:
            self.parts.append(data)


def read(html: str) -> VisibleText:
    parser = VisibleText()
    parser.feed(html)
    return parser


def data_words() -> set[str]:
    """Names in the demo's rows that are Latin letters: usernames, unit slugs."""
    users = get_user_model().objects.values_list("username", flat=True)
    slugs = Unit.objects.values_list("slug", flat=True)
    return {part.lower() for name in [*users, *slugs] for part in WORD.findall(name)}


def foreign_words(html: str, allowed: frozenset[str] = frozenset()) -> set[str]:
    """Each English word (or "Django") with the words around it."""
    text = " ".join(" ".join(read(html).parts).split())
    text = DATA.sub(" ", text)
    return {
        f"{m[0]} in «{text[max(m.start() - 12, 0) : m.end() + 12]}»"
        for m in WORD.finditer(text)
        if m[0].lower() not in ALLOWED | allowed
    }


def admin_links(html: str, base: str) -> list[str]:
    links = []
    for href in read(html).links:
        href = urldefrag(href).url
        if href.startswith("?") or not href:
            continue
        parts = urlsplit(href)
        path = parts.path if parts.path.startswith("/") else None
        if path is None or not path.startswith("/admin/") or parts.query:
            continue
        if SKIP.search(path):
            continue
        links.append(path)
    return links


def crawl(client, start: list[str]) -> dict[str, set[str]]:
    """The foreign words of every admin page reached from `start`."""
    allowed = frozenset(data_words())
    found: dict[str, set[str]] = {}
    seen: set[str] = set()
    objects: dict[str, set[str]] = {}
    queue = list(start)
    while queue:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        match = OBJECT_PAGE.match(url)
        if match and match[2] not in {"add"}:
            opened = objects.setdefault(match[1], set())
            if match[2] not in opened and len(opened) >= OBJECTS_PER_MODEL:
                continue
            opened.add(match[2])
        response = client.get(url)
        if response.status_code != 200:
            continue
        if not response.get("Content-Type", "").startswith("text/html"):
            continue
        html = response.content.decode()
        words = foreign_words(html, allowed)
        if words:
            found[url] = words
        queue.extend(admin_links(html, url))
    return found


def work_in_progress() -> list[str]:
    """A draft of 文理村's and one submitted for review: their change pages
    (with the attachments' inline) and their workflow steps' pages."""
    from catalog.models import Item
    from disclosure import services

    editor = get_user_model().objects.get(username="wenli_editor")
    pages = []
    for title, submitted in [("草稿", False), ("待审核", True)]:
        draft = DisclosureFactory(
            unit=Unit.objects.get(slug="wenli"),
            item=Item.objects.get(code="CW01"),
            title=f"文理村2011年10月村级财务收支明细（{title}）",
            period="2011-10",
            status=Disclosure.Status.DRAFT,
            published_at=None,
        )
        if submitted:
            services.submit(draft, by=editor)
        pages.append(f"/admin/disclosure/disclosure/{draft.pk}/change/")
    return pages


@pytest.mark.parametrize("username", ROLES)
def test_every_admin_page_of_the_role_speaks_chinese(demo, client, username):
    start = [
        "/admin/",
        *work_in_progress(),
        "/admin/disclosure/disclosure/add/",
        "/admin/feedback/submission/add/",
        "/admin/password_change/",
    ]
    client.force_login(get_user_model().objects.get(username=username))
    assert crawl(client, start) == {}


def test_the_login_page_and_logging_out_speak_chinese(demo, client):
    assert foreign_words(client.get("/admin/login/").text) == set()
    client.force_login(get_user_model().objects.get(username="wenli_editor"))
    response = client.post("/admin/logout/", follow=True)
    assert foreign_words(response.text, frozenset(data_words())) == set()


def phone_journey_draft(client) -> tuple[Disclosure, list[tuple[str, str]]]:
    """The editor's part of tests/e2e/test_admin_phone.py by the test client:
    the start page, the add page (the table inline and its template link),
    the template downloaded through that link and filled in, the draft saved
    with a photo and the table, its change page. Returns the draft and the
    (URL, HTML) of each page."""
    import io

    import openpyxl
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils import timezone
    from PIL import Image

    from catalog.models import Item

    item = Item.objects.get(code="CW01")
    period = item.current_period(timezone.localdate())
    title = f"文理村{period.label}村级财务收支明细"
    seen = [("/admin/", client.get("/admin/").text)]
    add = "/admin/disclosure/disclosure/add/"
    seen.append((add, client.get(add).text))
    template = re.search(
        r'<a href="([^"]+)" download>下载村级财务收支明细表模板（\.xlsx）</a>',
        seen[-1][1],
    )
    assert template, "the table inline links the template"
    book = openpyxl.load_workbook(io.BytesIO(client.get(template[1]).content))
    sheet = book.active
    sheet["A1"] = f"{title}表"
    sheet["A3"], sheet["C3"], sheet["D3"] = period.start, "收到上级转移支付", 12000
    sheet["A4"], sheet["C4"], sheet["E4"] = period.start, "村道维修材料费", 8000
    sheet["D6"], sheet["E6"] = 12000, 8000
    spreadsheet, photo = io.BytesIO(), io.BytesIO()
    book.save(spreadsheet)
    Image.new("RGB", (80, 60), (90, 140, 60)).save(photo, "JPEG")
    year, part = period.key.split("-")
    response = client.post(
        add,
        {
            "unit": Unit.objects.get(slug="wenli").pk,
            "item": item.pk,
            "title": title,
            "body": "现将本月村级财务收支明细公开如下。",
            "period_0": year,
            "period_1": part,
            "scope": item.scope,
            "forms": list(item.forms.values_list("pk", flat=True)),
            "attachments-TOTAL_FORMS": 1,
            "attachments-INITIAL_FORMS": 0,
            "attachments-0-kind": "photo",
            "attachments-0-title": "村道维修现场",
            "attachments-0-file": SimpleUploadedFile("IMG_0001.jpg", photo.getvalue()),
            "tables-TOTAL_FORMS": 1,
            "tables-INITIAL_FORMS": 0,
            "tables-0-caption": "",
            "tables-0-file": SimpleUploadedFile("明细.xlsx", spreadsheet.getvalue()),
            "events-TOTAL_FORMS": 0,
            "events-INITIAL_FORMS": 0,
            "_continue": "1",
        },
        follow=True,
    )
    draft = Disclosure.objects.get(title=title)
    assert response.redirect_chain[-1][0].endswith(f"/{draft.pk}/change/")
    assert draft.tables.get().row_count == 2
    assert draft.attachments.filter(kind="photo").count() == 1
    # The change page: the table's summary, the photo, the template link.
    assert "2 行；收入（元） 12,000.00；支出（元） 8,000.00" in response.text
    assert "下载村级财务收支明细表模板（.xlsx）" in response.text
    # The photo named by its type, not by "attachments/2026/12/<random>.jpg".
    assert "已上传的文件（JPG）" in response.text
    seen.append((response.redirect_chain[-1][0], response.text))
    return draft, seen


def take_step(client, draft, name: str, data=None) -> list[tuple[str, str]]:
    """A workflow step's page, then the record's page with its message."""
    url = f"/admin/disclosure/disclosure/{draft.pk}/transition/{name}/"
    seen = [(url, client.get(url).text)]
    response = client.post(url, data or {}, follow=True)
    assert response.status_code == 200
    assert "已完成" in response.text, name
    seen.append((f"{url} (done)", response.text))
    return seen


def from_start_page(client, draft, count: str) -> list[tuple[str, str]]:
    """The start page's count, the list it opens, the record from the list."""
    index = client.get("/admin/").text
    link = re.search(rf'<a href="([^"]+)">{count} 1 条</a>', index)
    assert link, count
    listed = client.get(link[1].replace("&amp;", "&")).text
    assert draft.title in listed
    change = f"/admin/disclosure/disclosure/{draft.pk}/change/"
    return [("/admin/", index), (link[1], listed), (change, client.get(change).text)]


def test_the_phone_journeys_pages_speak_chinese(demo, client):
    """Every back-office page tests/e2e/test_admin_phone.py walks, each as its
    person sees it at that step, scanned as the crawl above scans (the crawl
    does not follow the start page's counts: their lists have a query)."""
    users = get_user_model().objects.in_bulk(
        ["wenli_editor", "wenli_supervisor", "wenli_approver"], field_name="username"
    )
    client.force_login(users["wenli_editor"])
    draft, seen = phone_journey_draft(client)
    seen += take_step(client, draft, "submit")
    client.force_login(users["wenli_supervisor"])
    seen += from_start_page(client, draft, "待我审核")
    seen += take_step(
        client,
        draft,
        "review",
        {"secrecy_checked": "on", "secrecy_conclusion": "经保密审查，同意公开。"},
    )
    client.force_login(users["wenli_approver"])
    seen += from_start_page(client, draft, "待我审批")
    seen += take_step(client, draft, "approve")
    client.force_login(users["wenli_editor"])
    seen += take_step(client, draft, "publish")
    draft.refresh_from_db()
    assert draft.status == Disclosure.Status.PUBLISHED
    allowed = frozenset(data_words())
    found = {
        url: words for url, html in seen if (words := foreign_words(html, allowed))
    }
    assert found == {}
    assert len(seen) == 17
