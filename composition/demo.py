"""The demo town's yearly report text (its figures are computed, never here)."""

from disclosure.models import Unit

from .models import AnnualReport

# Words only: no figure, so the text can never contradict the records.
DEMO_REPORT = {
    "overview": (
        "2011年，镇党委按照“五统一”要求推进党务公开，15个村和1个社区按规范设置了"
        "公开栏，文理村、茅山村作为党务公开联系点先行先试。\n\n"
        "在春季森林防火和夏季抗旱救灾中，联系点通过“回音壁”及时答复党员群众的"
        "反映和咨询，推动了抗旱救灾工作的顺利进行。"
    ),
    "problems": (
        "部分村按期公开意识不强，月度、季度事项存在逾期公开和报“本期无”较多的情况；"
        "外出务工党员参与党务公开的渠道不多。"
    ),
    "plans": (
        "在全镇推广联系点经验，落实每月公开日制度；完善“回音壁”按期答复和回访；"
        "加强对村级公开栏的督查，对逾期未公开事项限期整改。"
    ),
}


def seed_report(town_name: str = "凤鸣镇", year: int = 2011) -> int:
    """The demo's 2011 report text, once (a second seed keeps any edit)."""
    town = Unit.objects.towns().get(name=town_name)
    _, created = AnnualReport.objects.get_or_create(
        town=town, year=year, defaults=DEMO_REPORT
    )
    return int(created)
