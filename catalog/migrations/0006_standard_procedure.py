# The shipped procedure for catalogs loaded before, in a migration of its own
# (PostgreSQL defers the new table's foreign key index to the migration's end).

from django.db import migrations



# The procedure of catalog/data/*_catalog.json on the day of this migration,
# for catalogs loaded before it: (draft, review, by town, approve, by town,
# publish, by town) per kind of catalog and level.
TOWN_OFFICE = ("office", "office", True, "government", True, "government", True)
VILLAGE_SELF = (
    "village_committee",
    "supervision",
    False,
    "joint_meeting",
    False,
    "village_committee",
    False,
)
RULES = {
    "party": {
        "town": (
            "office",
            "discipline",
            True,
            "party_committee",
            True,
            "party_committee",
            True,
        ),
        "village": (
            "party_branch",
            "party_committee",
            True,
            "party_branch",
            False,
            "party_branch",
            False,
        ),
    },
    "government": {"town": TOWN_OFFICE, "village": VILLAGE_SELF},
    "village": {"town": TOWN_OFFICE, "village": VILLAGE_SELF},
}


def add_rules(apps, schema_editor):
    Catalog = apps.get_model("catalog", "Catalog")
    ProcedureRule = apps.get_model("catalog", "ProcedureRule")
    for catalog in Catalog.objects.all():
        for level, rule in RULES.get(catalog.kind, {}).items():
            draft, review, review_town, approve, approve_town, publish, pub_town = rule
            ProcedureRule.objects.get_or_create(
                catalog=catalog,
                level=level,
                defaults={
                    "draft_body": draft,
                    "review_body": review,
                    "review_by_town": review_town,
                    "approve_body": approve,
                    "approve_by_town": approve_town,
                    "publish_body": publish,
                    "publish_by_town": pub_town,
                },
            )


class Migration(migrations.Migration):
    dependencies = [("catalog", "0005_procedure_rules")]

    operations = [migrations.RunPython(add_rules, migrations.RunPython.noop)]
