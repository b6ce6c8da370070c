"""The demo town's data file: read and checked before anything is written."""

import io
import json

import pytest
from django.core.management import call_command

from core.datafiles import DataFileError
from disclosure import demo
from disclosure.models import Unit


def town() -> dict:
    return json.loads(demo.TOWN_FILE.read_text(encoding="utf-8"))


def write(tmp_path, data: dict):
    path = tmp_path / "demo_town.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_the_shipped_file_holds_the_articles_town():
    data = demo.read_town()
    # 合江县, 凤鸣镇, its 15 villages and 1 community.
    assert len(data["units"]) == 18
    assert [u["kind"] for u in data["units"][:2]] == ["county", "town"]
    # The article's 50 党务 items, and the town's 政务 and villages' 村务 on top.
    party = [d for d in data["disclosures"] if not d["item"].startswith(("ZW", "CW"))]
    assert len(party) == 50
    # The town's 9 政务: 4 of them under the items the 政府信息公开 report
    # counts (a normative document, a licence, a 宅基地 approval, a penalty).
    government = [d["item"] for d in data["disclosures"] if d["item"][:2] == "ZW"]
    assert len(government) == 9
    assert sorted(c for c in government if c in ("ZW15", "ZW16", "ZW17", "ZW23")) == [
        "ZW15",
        "ZW16",
        "ZW17",
        "ZW23",
    ]
    # 村务: 7 written out, 21 from the liaison points' routine patterns (the
    # June finance statement of 文理村 is written out, so not made twice).
    assert len(data["disclosures"]) == 50 + 9 + 28 == 87
    routine = [d for d in data["disclosures"] if d["item"] in ("CW01", "CW04")]
    assert {(d["unit"], d["period"]) for d in routine} >= {
        ("文理村", "2011-01"),
        ("茅山村", "2011-08"),
        ("文理村", "2011-Q2"),
    }
    assert [d["title"] for d in routine].count(
        "文理村2011年6月村级财务收支情况公开"
    ) == 1
    assert len(data["attachments"]) == 3


def test_the_shipped_inspections_file_is_checked(tmp_path):
    data = demo.read_inspections()
    assert [i["unit"] for i in data["inspections"]] == ["文理村"]
    assert len(data["inspections"][0]["rectifications"]) == 1
    data["inspections"][0]["scores"]["looks"] = 100
    path = tmp_path / "demo_inspections.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(DataFileError, match="scores"):
        demo.read_inspections(path)


def test_a_missing_key_names_the_file_and_the_entry(tmp_path):
    data = town()
    del data["disclosures"][3]["period"]
    title = data["disclosures"][3]["title"]
    with pytest.raises(DataFileError) as error:
        demo.read_town(write(tmp_path, data))
    message = str(error.value)
    assert "demo_town.json: disclosures[3]" in message
    assert title in message and "missing key 'period'" in message


def test_a_misspelt_key_is_refused_not_ignored(tmp_path):
    data = town()
    data["units"][2]["liason"] = data["units"][2].pop("liaison")
    with pytest.raises(
        DataFileError, match=r"units\[2\] '梁都坝村': unknown key 'liason'"
    ):
        demo.read_town(write(tmp_path, data))


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d["units"][1].update(parent="凤鸣县"), "parent '凤鸣县'"),
        (lambda d: d["units"][1].update(kind="city"), "kind must be one of"),
        (lambda d: d["units"][1].update(boards=[["村口", "一"]]), "boards must be"),
        (lambda d: d["disclosures"][0].update(unit="凤鸣乡"), "unknown unit '凤鸣乡'"),
        (lambda d: d["disclosures"][0].update(period="2011-13"), "period '2011-13'"),
        (lambda d: d["disclosures"][0].update(published="2011/01/27"), "published"),
        (lambda d: d["nil_returns"]["filed_until"].update(某村="2011-10-01"), "某村"),
        (lambda d: d["attachments"][0].update(drawn_by="open"), "drawn_by"),
        (lambda d: d["routine"][0].update(units=["某村"]), r"routine\[0\].*某村"),
        (
            lambda d: d["routine"][0].update(published={"2011-13": "2011-02-03"}),
            "2011-13",
        ),
        (lambda d: d["routine"][0].update(published=[]), "published must map"),
        (lambda d: d["routine"][0].update(units="文理村"), "units must be"),
        (
            lambda d: d["routine"][0]["published"].update({"2011-02": "2011/03/03"}),
            "published",
        ),
        (lambda d: d["attachments"][0].update(disclosure="无此公开"), "无此公开"),
    ],
)
def test_a_wrong_value_names_the_entry_and_the_key(tmp_path, change, expected):
    data = town()
    change(data)
    with pytest.raises(DataFileError, match=expected):
        demo.read_town(write(tmp_path, data))


def test_invalid_json_names_the_file(tmp_path):
    path = tmp_path / "demo_town.json"
    path.write_text("{", encoding="utf-8")
    with pytest.raises(DataFileError, match="demo_town.json"):
        demo.read_town(path)


@pytest.mark.django_db
def test_an_item_code_the_catalogs_lack_stops_the_seed_and_writes_nothing(
    tmp_path, monkeypatch
):
    data = town()
    data["disclosures"][5]["item"] = "ZZ99"
    monkeypatch.setattr(demo, "TOWN_FILE", write(tmp_path, data))
    with pytest.raises(DataFileError, match=r"no catalog item 'ZZ99'"):
        call_command("seed_demo", stdout=io.StringIO())
    assert not Unit.objects.exists()
