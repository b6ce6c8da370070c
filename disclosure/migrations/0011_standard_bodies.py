# The standard bodies of the units that exist, in a migration of its own: on
# PostgreSQL, rows written in the migration that creates a table would hold
# back the deferred CREATE INDEX of its foreign keys ("pending trigger events").

from django.db import migrations



# As disclosure/models/organisations.py STANDARD_BODIES on the day of this
# migration (a migration must not import the live module).
STANDARD_BODIES = {
    "town": [
        ("party_committee", "镇党委"),
        ("discipline", "镇纪委"),
        ("office", "党政办"),
        ("government", "镇人民政府"),
        ("party_branch", "机关党支部"),
    ],
    "village": [
        ("party_branch", "村党支部"),
        ("village_committee", "村民委员会"),
        ("supervision", "村务监督委员会"),
        ("joint_meeting", "村两委"),
    ],
    "community": [
        ("party_branch", "社区党支部"),
        ("village_committee", "社区居民委员会"),
        ("supervision", "社区居务监督委员会"),
        ("joint_meeting", "社区两委"),
    ],
}


def add_bodies(apps, schema_editor):
    Unit = apps.get_model("disclosure", "Unit")
    Organisation = apps.get_model("disclosure", "Organisation")
    Organisation.objects.bulk_create(
        Organisation(unit=unit, kind=kind, name=name, order=n)
        for unit in Unit.objects.all()
        for n, (kind, name) in enumerate(STANDARD_BODIES.get(unit.kind, []))
    )


class Migration(migrations.Migration):
    dependencies = [("disclosure", "0010_organisations")]

    operations = [migrations.RunPython(add_bodies, migrations.RunPython.noop)]
