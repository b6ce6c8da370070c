from django.db import migrations

GROUP = "党员"


def create_group(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    ContentType = apps.get_model("contenttypes", "ContentType")
    # Permissions are normally created after all migrations; make this one now so
    # the group is complete on a fresh database.
    content_type, _ = ContentType.objects.get_or_create(
        app_label="disclosure", model="disclosure"
    )
    permission, _ = Permission.objects.get_or_create(
        codename="view_inner_party",
        content_type=content_type,
        defaults={"name": "可查看党内公开内容"},
    )
    group, _ = Group.objects.get_or_create(name=GROUP)
    group.permissions.add(permission)


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("disclosure", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_group, remove_group)]
