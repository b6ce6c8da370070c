"""A disclosure of a 党内 item is 党内: also the ones made before their item
became 党内, which the rule, copied only when a disclosure was saved, missed.

Each such row becomes 党内 with a history version saying why, like
`services.follow_item_scope` does from now on. Not reversed: publishing them
again is a decision for the workflow.
"""

from django.db import migrations
from django.utils import timezone

BATCH = 1000
REASON = "公开事项为党内公开，其公开内容随之改为党内公开（数据修正）。"


def narrow(apps, schema_editor):
    Disclosure = apps.get_model("disclosure", "Disclosure")
    History = apps.get_model("disclosure", "HistoricalDisclosure")
    tracked = [
        f.attname
        for f in History._meta.concrete_fields
        if not f.attname.startswith("history_")
    ]
    ids = list(
        Disclosure.objects.filter(item__scope="inner")
        .exclude(scope="inner")
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    now = timezone.now()
    for start in range(0, len(ids), BATCH):
        rows = Disclosure.objects.filter(pk__in=ids[start : start + BATCH])
        rows.update(scope="inner", updated_at=now)
        History.objects.bulk_create(
            History(
                **{name: getattr(row, name) for name in tracked},
                history_date=now,
                history_type="~",
                history_change_reason=REASON,
            )
            for row in rows
        )


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0003_notice_days"),
        ("disclosure", "0007_add_recent_index"),
    ]

    operations = [migrations.RunPython(narrow, migrations.RunPython.noop)]
