# The town-level items of the 政府信息公开条例 (2019) arts. 20–21 that the
# shipped 政务 catalog lacked (catalog/data/government_catalog.json on the day
# of this migration), for databases whose 政务 catalog was loaded before:
# added where missing (by code), edits to existing rows kept. Every one is a
# public, town-level 随时 item (the event decides the obligation), so a past
# year owes nothing new. Without a 政务 catalog there is nothing to add to.

from django.db import IntegrityError, migrations, transaction
from django.db.models import ProtectedError

CATEGORIES = {"ZD": "农业农村", "ZE": "社会救助"}
# (category code, order, item code, name, timing, department, forms)
ITEMS = [
    ("ZA", 6, "ZW15", "本镇制发的行政规范性文件及其废止情况", "event", "党政办", ("文件", "政务公开栏", "互联网站")),
    ("ZA", 7, "ZW16", "行政许可和其他对外管理服务事项的办理结果", "event", "党政办", ("政务公开栏", "互联网站")),
    ("ZA", 8, "ZW17", "行政处罚决定", "event", "综治办", ("政务公开栏", "互联网站")),
    ("ZA", 9, "ZW18", "行政事业性收费项目及其依据、标准", "event", "财政所", ("政务公开栏", "互联网站")),
    ("ZA", 10, "ZW19", "乡镇国土空间规划及村庄规划", "event", "国土所", ("公示", "政务公开栏", "互联网站")),
    ("ZD", 1, "ZW20", "贯彻落实农业农村政策及乡村振兴工作情况", "event", "农业服务中心", ("政务公开栏", "互联网站", "板报")),
    ("ZD", 2, "ZW21", "农田水利工程建设运营情况", "phase", "农业服务中心", ("公示", "政务公开栏")),
    ("ZD", 3, "ZW22", "农村土地承包经营权流转情况", "event", "农业服务中心", ("公示", "政务公开栏")),
    ("ZD", 4, "ZW23", "宅基地使用情况审核（农村宅基地审批）", "event", "国土所", ("公示", "政务公开栏")),
    ("ZD", 5, "ZW24", "筹资筹劳（一事一议）情况", "event", "财政所", ("公示", "政务公开栏")),
    ("ZD", 6, "ZW25", "房屋征收及补偿情况", "event", "国土所", ("公示", "政务公开栏")),
    ("ZE", 1, "ZW26", "临时救助审批及发放情况", "event", "社会事务办", ("公示", "政务公开栏")),
    ("ZE", 2, "ZW27", "社会救助政策及申请指南（最低生活保障、特困人员救助供养、临时救助）", "event", "社会事务办", ("政务公开栏", "互联网站", "板报")),
]


def add_items(apps, schema_editor):
    Catalog = apps.get_model("catalog", "Catalog")
    Category = apps.get_model("catalog", "Category")
    Department = apps.get_model("catalog", "Department")
    DisclosureForm = apps.get_model("catalog", "DisclosureForm")
    Item = apps.get_model("catalog", "Item")
    catalog = Catalog.objects.filter(kind="government").first()
    if catalog is None:
        return
    last = max(catalog.categories.values_list("order", flat=True), default=0)
    for n, (code, name) in enumerate(CATEGORIES.items(), start=1):
        Category.objects.get_or_create(
            catalog=catalog, code=code, defaults={"name": name, "order": last + n}
        )
    for category_code, order, code, name, timing, department, forms in ITEMS:
        if Item.objects.filter(code=code).exists():
            continue
        category = Category.objects.filter(catalog=catalog, code=category_code).first()
        if category is None:  # a category renamed or removed in the admin
            continue
        item = Item.objects.create(
            category=category,
            code=code,
            name=name,
            frequency="immediately",
            scope="public",
            timing=timing,
            nil_allowed=True,
            department=Department.objects.get_or_create(name=department)[0],
            for_town=True,
            for_village=False,
            order=order,
        )
        item.forms.set(
            DisclosureForm.objects.get_or_create(name=form)[0] for form in forms
        )


def remove_items(apps, schema_editor):
    Category = apps.get_model("catalog", "Category")
    Item = apps.get_model("catalog", "Item")
    # An item something refers to (a disclosure, an event, a 回音壁 case:
    # PROTECT) stays, since the record names it.
    for item in Item.objects.filter(
        code__in=[row[2] for row in ITEMS], category__catalog__kind="government"
    ):
        try:
            with transaction.atomic():
                item.delete()
        except (ProtectedError, IntegrityError):
            pass
    Category.objects.filter(
        catalog__kind="government", code__in=list(CATEGORIES), items__isnull=True
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("catalog", "0010_annual_exercises_never_nil")]

    operations = [migrations.RunPython(add_items, remove_items)]
