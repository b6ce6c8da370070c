"""The demo 回音壁: the article's figures and a few open cases.

At the two liaison points, during the 2011 drought and fire season, 5 反映 and
15 咨询 were received and all answered (文理村 3 + 8, 茅山村 2 + 7, as in the
demo's monthly 回音壁 notices). The submitters are obviously invented.
Get-or-create throughout: loading twice changes nothing.
"""

from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from catalog.models import Department
from disclosure.models import Disclosure, Unit

from . import services
from .models import AnswerTemplate, Channel, Kind, Rating, Status, Submission, Tag

FIRE, DROUGHT = "森林防火", "抗旱救灾"

# (unit, kind, tag, channel, received, answered, department, title, text, answer)
ANSWERED = [
    (
        "文理村",
        Kind.REPORT,
        DROUGHT,
        Channel.BOX,
        "2011-08-03",
        "2011-08-05",
        "社会事务办",
        "三组人畜饮水困难",
        "三组十多户的水井干了，老人挑水要走两里路。",
        "村两委已协调送水车每天上午定时送水到三组，并组织清淤蓄水池。",
    ),
    (
        "文理村",
        Kind.REPORT,
        DROUGHT,
        Channel.RECEPTION,
        "2011-08-08",
        "2011-08-11",
        "党政办",
        "提灌站抽水机损坏",
        "五组提灌站抽水机坏了，田里缺水。",
        "镇里已派人维修，修好前由村统一调配的抽水机轮流使用。",
    ),
    (
        "文理村",
        Kind.REPORT,
        FIRE,
        Channel.PHONE,
        "2011-08-15",
        "2011-08-16",
        "综治办",
        "山上有人烧荒",
        "后山有人烧田坎，风大容易引起山火。",
        "护林员已到现场制止并宣传森林防火规定，防火期严禁野外用火。",
    ),
    (
        "文理村",
        Kind.QUESTION,
        DROUGHT,
        Channel.WEBSITE,
        "2011-08-04",
        "2011-08-08",
        "社会事务办",
        "抽水设备怎么安排",
        "村里的抽水机按什么顺序使用？",
        "按受旱程度轮流使用，使用安排已在公开栏张贴。",
    ),
    (
        "文理村",
        Kind.QUESTION,
        DROUGHT,
        Channel.RECEPTION,
        "2011-08-09",
        "2011-08-12",
        "社会事务办",
        "救灾物资发给哪些人",
        "这次救灾物资的发放对象和标准是什么？",
        "按户申请、村评议、镇审核的程序确定，名单已在公开栏公示。",
    ),
    (
        "文理村",
        Kind.QUESTION,
        DROUGHT,
        Channel.BOX,
        "2011-08-10",
        "2011-08-15",
        "党政办",
        "送水车几点到",
        "送水车每天什么时候到二组？",
        "每天上午九点左右到二组村民活动室门前。",
    ),
    (
        "文理村",
        Kind.QUESTION,
        DROUGHT,
        Channel.MEETING,
        "2011-08-12",
        "2011-08-16",
        "社会事务办",
        "受旱庄稼有没有补助",
        "玉米旱死了，能不能申请补助？",
        "镇里正在统计受灾情况，补助标准确定后在公开栏公示。",
    ),
    (
        "文理村",
        Kind.QUESTION,
        FIRE,
        Channel.PHONE,
        "2011-08-16",
        "2011-08-17",
        "综治办",
        "防火期能不能上坟烧纸",
        "防火期间上坟能不能烧纸放鞭炮？",
        "防火期内林区禁止烧纸、燃放鞭炮，提倡文明祭扫。",
    ),
    (
        "文理村",
        Kind.QUESTION,
        FIRE,
        Channel.RECEPTION,
        "2011-08-18",
        "2011-08-22",
        "综治办",
        "发现火情打什么电话",
        "山上发现火情应该找谁？",
        "立即拨打护林员电话或村委会值班电话，号码已在公开栏公布。",
    ),
    (
        "文理村",
        Kind.QUESTION,
        DROUGHT,
        Channel.WEBSITE,
        "2011-08-22",
        "2011-08-24",
        "党政办",
        "蓄水池清淤要不要出钱",
        "清淤蓄水池要村民出钱吗？",
        "本次清淤由村集体组织，党员带头义务投工，不向村民收费。",
    ),
    (
        "文理村",
        Kind.QUESTION,
        DROUGHT,
        Channel.BOX,
        "2011-08-25",
        "2011-08-30",
        "社会事务办",
        "饮水困难户怎么登记",
        "家里井水不够吃，去哪里登记？",
        "到村委会值班室登记，村干部会上门核实。",
    ),
    (
        "茅山村",
        Kind.REPORT,
        DROUGHT,
        Channel.RECEPTION,
        "2011-08-05",
        "2011-08-09",
        "社会事务办",
        "高处村民组抽水距离远",
        "七组地势高，抽水要走很远，用水很难。",
        "村里已协调增设临时抽水点，党员志愿服务队为行动不便的农户送水。",
    ),
    (
        "茅山村",
        Kind.REPORT,
        FIRE,
        Channel.PHONE,
        "2011-08-17",
        "2011-08-18",
        "综治办",
        "林区路口无人值守",
        "进山路口没有人看守，外来人员随意进山。",
        "已在进山路口设防火检查点，由护林员和党员轮流值守。",
    ),
    (
        "茅山村",
        Kind.QUESTION,
        DROUGHT,
        Channel.MEETING,
        "2011-08-06",
        "2011-08-10",
        "社会事务办",
        "旱灾损失能否补助",
        "旱灾损失能得到补助吗？",
        "镇里正在核实受灾情况，补助对象和标准确定后在公开栏公示。",
    ),
    (
        "茅山村",
        Kind.QUESTION,
        DROUGHT,
        Channel.WEBSITE,
        "2011-08-08",
        "2011-08-11",
        "党政办",
        "送水安排",
        "送水车会到四组吗？",
        "会，每两天一次，具体时间由组长通知。",
    ),
    (
        "茅山村",
        Kind.QUESTION,
        FIRE,
        Channel.BOX,
        "2011-08-11",
        "2011-08-15",
        "综治办",
        "防火期多长",
        "今年森林防火期到什么时候结束？",
        "按县里通知执行，结束时间将在公开栏公布。",
    ),
    (
        "茅山村",
        Kind.QUESTION,
        FIRE,
        Channel.RECEPTION,
        "2011-08-15",
        "2011-08-18",
        "综治办",
        "能不能在地里烧秸秆",
        "收完玉米能不能在地里烧秸秆？",
        "防火期内禁止野外焚烧秸秆，可以堆沤还田。",
    ),
    (
        "茅山村",
        Kind.QUESTION,
        DROUGHT,
        Channel.PHONE,
        "2011-08-19",
        "2011-08-23",
        "社会事务办",
        "打井有没有补贴",
        "自家打井有没有补贴？",
        "目前没有个人打井补贴，村里正在申报应急水源工程。",
    ),
    (
        "茅山村",
        Kind.QUESTION,
        DROUGHT,
        Channel.WEBSITE,
        "2011-08-23",
        "2011-08-26",
        "党政办",
        "志愿服务队怎么联系",
        "家里缺劳力，怎么请党员志愿服务队帮忙送水？",
        "可直接联系村党支部，志愿服务队会安排结对帮扶。",
    ),
    (
        "茅山村",
        Kind.QUESTION,
        DROUGHT,
        Channel.MEETING,
        "2011-08-26",
        "2011-08-31",
        "社会事务办",
        "应急水源工程什么时候开工",
        "应急水源工程筹资后什么时候动工？",
        "筹资方案公示期满后即组织施工，进度在公开栏公布。",
    ),
]

TEMPLATES = [
    (Kind.QUESTION, "已在公开栏公布", "您咨询的事项已在本单位公开栏公布，欢迎查阅。"),
    (
        Kind.REPORT,
        "已转承办部门",
        "您反映的问题已转交承办部门核实处理，处理结果将在回音壁公开。",
    ),
    (
        Kind.REQUEST,
        "点题公开已公开",
        "您提出的点题公开事项已经公开，详见所附公开内容。",
    ),
]


def aware(day: str, hour: int = 10) -> datetime:
    return timezone.make_aware(datetime.combine(date.fromisoformat(day), time(hour)))


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
def seed_feedback() -> int:
    """Create the demo submissions; returns how many were new."""
    tags = {}
    for order, name in enumerate([FIRE, DROUGHT, "村务管理", "党员服务"], start=1):
        tags[name], _ = Tag.objects.get_or_create(name=name, defaults={"order": order})
    for kind, title, text in TEMPLATES:
        AnswerTemplate.objects.get_or_create(
            kind=kind, title=title, defaults={"text": text}
        )
    units = {u.name: u for u in Unit.objects.filter(name__in=["文理村", "茅山村"])}
    departments = {d.name: d for d in Department.objects.all()}
    created_count = 0
    for number, row in enumerate(ANSWERED, start=1):
        unit, kind, tag, channel, received, answered, dept, title, text, answer = row
        created = _get_or_create(
            unit=units[unit],
            title=title,
            defaults={
                "kind": kind,
                "channel": channel,
                "tag": tags[tag],
                "text": text,
                "name": f"示例村民{number:02d}",
                "phone": "13800000000" if number % 7 == 0 else "",
                "consent_to_publish": number % 5 != 0,
                "is_party_member": number % 4 == 0,
                "status": Status.CLOSED,
                "received_at": aware(received),
                "accepted_at": aware(received, 15),
                "department": departments.get(dept),
                "answered_by": departments.get(dept),
                "answer_text": answer,
                "answered_at": aware(answered, 16),
                "closed_at": aware(answered, 17),
                "rating": [Rating.SATISFIED, Rating.SATISFIED, Rating.FAIRLY, ""][
                    number % 4
                ],
            },
        )
        created_count += created
    created_count += _seed_request(units, departments)
    created_count += _seed_open(units, tags, departments)
    return created_count


def _seed_request(units: dict[str, Unit], departments: dict) -> int:
    """The 点题公开 request answered by 文理村's F02 notice of 19 May 2011."""
    fulfilment = Disclosure.objects.filter(
        unit=units["文理村"], title__contains="点题公开答复"
    ).first()
    created = _get_or_create(
        unit=units["文理村"],
        title="请公开去年村道维护资金使用情况",
        defaults={
            "kind": Kind.REQUEST,
            "channel": Channel.BOX,
            "text": "希望公开去年村道维护资金的来源和开支明细。",
            "name": "示例党员甲",
            "is_party_member": True,
            "consent_to_publish": True,
            "status": Status.CLOSED,
            "received_at": aware("2011-05-16"),
            "accepted_at": aware("2011-05-17"),
            "department": departments.get("党政办"),
            "answered_by": departments.get("党政办"),
            "answer_text": "经村两委研究，已在公开栏公开村道维护资金使用情况。",
            "answered_at": aware("2011-05-19", 9),
            "closed_at": aware("2011-05-20"),
            "fulfilled_by": fulfilment,
            "item": fulfilment.item if fulfilment else None,
        },
    )
    return int(created)


def _seed_open(units: dict[str, Unit], tags: dict[str, Tag], departments) -> int:
    """Two recent open cases and two overdue ones, relative to the seeding day:
    one of each accepted (受理, so on the wall), one of each still waiting for
    staff to read it (counted on the wall, not listed)."""
    now = timezone.now()
    accepted_by = {1: "党政办", 2: "组织办"}  # by row number below
    rows = [
        (
            "文理村",
            Kind.SUGGESTION,
            "村务管理",
            now - timedelta(days=1),
            "建议公开栏增加夜间照明",
            "晚上看不清公开栏，建议装一盏灯。",
        ),
        (
            "茅山村",
            Kind.OPINION,
            "党员服务",
            now - timedelta(days=2),
            "党员活动日能否改到周末",
            "外出务工党员平时回不来，建议活动日放在周末。",
        ),
        (
            "文理村",
            Kind.QUESTION,
            FIRE,
            now - timedelta(days=40),
            "护林员补贴标准",
            "护林员的补贴标准是多少？",
        ),
        (
            "茅山村",
            Kind.REQUEST,
            "村务管理",
            now - timedelta(days=30),
            "请公开应急水源工程筹资使用情况",
            "希望公开应急水源工程筹资的使用明细。",
        ),
    ]
    created_count = 0
    for number, (unit, kind, tag, received_at, title, text) in enumerate(rows):
        department = departments.get(accepted_by.get(number, ""))
        created = _get_or_create(
            unit=units[unit],
            title=title,
            defaults={
                "kind": kind,
                "channel": Channel.WEBSITE,
                "tag": tags[tag],
                "text": text,
                "consent_to_publish": True,
                "received_at": received_at,
                "status": Status.ACCEPTED if department else Status.RECEIVED,
                "department": department,
                "accepted_at": received_at + timedelta(hours=5) if department else None,
            },
        )
        created_count += created
    return created_count
