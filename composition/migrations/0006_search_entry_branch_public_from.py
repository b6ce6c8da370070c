from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def backfill(apps, schema_editor):
    """The new facts of entries whose disclosure has them (set-based; none
    before disclosure 0014 added the scope's parts, so usually no row)."""
    SearchEntry = apps.get_model("portal", "SearchEntry")
    Disclosure = apps.get_model("disclosure", "Disclosure")
    db = schema_editor.connection.alias
    entries = SearchEntry.objects.using(db)
    disclosures = Disclosure.objects.using(db)
    of_entry = disclosures.filter(pk=OuterRef("disclosure_id"))
    entries.filter(disclosure__in=disclosures.filter(scope="branch")).update(
        inner_party=True, branch=Subquery(of_entry.values("branch_id"))
    )
    party_first = disclosures.filter(scope="public", public_from__isnull=False)
    entries.filter(disclosure__in=party_first).update(
        public_from=Subquery(of_entry.values("public_from"))
    )


class Migration(migrations.Migration):
    dependencies = [
        ("disclosure", "0014_branch_scope_party_first"),
        ("portal", "0005_submission_entries_follow_the_wall"),
    ]

    operations = [
        migrations.AddField(
            model_name="searchentry",
            name="branch",
            field=models.PositiveIntegerField(
                blank=True, null=True, verbose_name="所属党组织"
            ),
        ),
        migrations.AddField(
            model_name="searchentry",
            name="public_from",
            field=models.DateTimeField(
                blank=True, null=True, verbose_name="社会公开时间"
            ),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
