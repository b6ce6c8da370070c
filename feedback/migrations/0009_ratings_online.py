from django.db import migrations


def mark_online(apps, schema_editor):
    # Every rating before staff could record one on a 回访 was given online.
    Submission = apps.get_model("feedback", "Submission")
    Submission.objects.exclude(rating="").filter(rating_channel="").update(
        rating_channel="online"
    )


def unmark(apps, schema_editor):
    Submission = apps.get_model("feedback", "Submission")
    Submission.objects.filter(rating_channel="online").update(rating_channel="")


class Migration(migrations.Migration):
    dependencies = [("feedback", "0008_outcomes_channels")]

    operations = [migrations.RunPython(mark_online, unmark)]
