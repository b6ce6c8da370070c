"""Search entries of 回音壁 cases follow the wall's new rule: a case is found
only once staff have accepted or answered it, and a case about 党内 matters
only once cleared (`Submission.visibility_facts()`)."""

from django.db import migrations
from django.db.models import Q


def hide_unlisted_cases(apps, schema_editor):
    SearchEntry = apps.get_model("portal", "SearchEntry")
    Submission = apps.get_model("feedback", "Submission")
    db = schema_editor.connection.alias
    unlisted = Submission.objects.using(db).filter(
        Q(status="received")
        | Q(concerns_inner_party=True, inner_party_cleared_at__isnull=True)
    )
    SearchEntry.objects.using(db).filter(submission__in=unlisted).update(live=False)


class Migration(migrations.Migration):
    dependencies = [
        ("feedback", "0004_hold_new_and_inner_party_cases"),
        ("portal", "0004_inner_party_disclosure_entries"),
    ]

    operations = [
        migrations.RunPython(hide_unlisted_cases, migrations.RunPython.noop),
    ]
