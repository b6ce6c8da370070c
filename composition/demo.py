"""The demo town's yearly report text (its figures are computed, never here)."""

from datetime import datetime

from django.utils import timezone

from disclosure.models import Unit

from . import gov_report
from .models import AnnualReport, DisclosureGuide, GovernmentReport

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


# The 政府信息公开 report's words and the figures staff enter (the portal has
# no record of them); published on a January day before the deadline.
DEMO_GOVERNMENT_REPORT = {
    "overview": (
        "本年度，镇人民政府按照《中华人民共和国政府信息公开条例》的要求，"
        "通过本网站和政务公开栏主动公开政府信息，依法办理政府信息公开申请。"
        "政务公开与党务、村务公开由全镇党务政务、村务公开工作领导小组统一部署，"
        "领导小组办公室具体负责。"
    ),
    "problems": (
        "部分主动公开事项的公开时效有待提高，依申请公开答复的规范化水平需进一步提升。"
        "下一年度将完善公开目录，加强对经办人员的培训。"
    ),
    "other_matters": "本年度未收取信息处理费。",
    "rules_issued": 0,
    "rules_repealed": 0,
    "rules_in_force": 0,
    "normative_repealed": 0,
    "normative_in_force": 0,
    "coercion_decisions": 0,
    "fees_amount": 0,
}
DEMO_GOVERNMENT_REPORT_PUBLISHED = (1, 20)  # 20 January of the next year, 10:00

# The article's leading group; the contact facts are not known (left empty,
# the guide says so).
DEMO_GUIDE = {
    "leading_group": (
        "全镇党务政务、村务公开工作领导小组，由镇纪委、组织、宣传、党政办等部门组成，"
        "下设办公室，具体负责全镇党务政务、村务公开工作。"
    ),
}


def seed_government_report(town_name: str = "凤鸣镇", year: int = 2011) -> int:
    """The demo's published 政府信息公开 report of 2011 and the town's guide
    facts, once (a second seed keeps any edit)."""
    town = Unit.objects.towns().get(name=town_name)
    month, day = DEMO_GOVERNMENT_REPORT_PUBLISHED
    published = datetime(
        year + 1, month, day, 10, tzinfo=timezone.get_current_timezone()
    )
    created = not GovernmentReport.objects.filter(town=town, year=year).exists()
    if created:
        # Published as staff publish it: its figures frozen from the demo's
        # records (seeded before it).
        gov_report.save(
            GovernmentReport(
                town=town,
                year=year,
                published_at=published,
                **DEMO_GOVERNMENT_REPORT,
            )
        )
    DisclosureGuide.objects.get_or_create(town=town, defaults=DEMO_GUIDE)
    return int(created)
