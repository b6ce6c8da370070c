"""Search entries of disclosures made 党内 by disclosure/0008 carry the fact too
(and any other entry whose disclosure is 党内 but whose fact says otherwise)."""

from django.db import migrations


def mark(apps, schema_editor):
    SearchEntry = apps.get_model("portal", "SearchEntry")
    SearchEntry.objects.filter(disclosure__scope="inner", inner_party=False).update(
        inner_party=True
    )


class Migration(migrations.Migration):
    dependencies = [
        ("disclosure", "0008_inner_party_items_disclosures"),
        ("portal", "0003_search_entry_visibility"),
    ]

    operations = [migrations.RunPython(mark, migrations.RunPython.noop)]
