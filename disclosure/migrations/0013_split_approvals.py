# Data after schema, in a migration of its own (PostgreSQL defers the new
# foreign keys' indexes to the end of the migration that adds them).

from django.db import migrations



OLD_SEPARATOR = "审核、"  # "镇纪委审核、镇党委审批", the one-step record before


def split_approvals(apps, schema_editor):
    """Each old 审核审批 event becomes a 审核 by the body it named first and a
    审批 by the body it named second, both marked as migrated: the records
    never said a secrecy review was made, so none is claimed."""
    Event = apps.get_model("disclosure", "DisclosureEvent")
    Organisation = apps.get_model("disclosure", "Organisation")
    Disclosure = apps.get_model("disclosure", "Disclosure")
    bodies = {}
    for org in Organisation.objects.filter(unit__parent__isnull=True):
        bodies.setdefault(org.name, org.pk)
    approvals = Event.objects.filter(action="approved").order_by("pk")
    for event in approvals.iterator():
        named = event.acting_body
        if OLD_SEPARATOR in named:
            review, approve = named.split(OLD_SEPARATOR, 1)
            approve = approve.removesuffix("审批")
        else:
            review = approve = named
        Event.objects.create(
            disclosure_id=event.disclosure_id,
            action="approved",
            from_status="reviewed",
            to_status=event.to_status,
            actor_id=event.actor_id,
            body_id=bodies.get(approve),
            acting_body=approve[:50],
            comment=event.comment,
            at=event.at,
            migrated=True,
        )
        event.action = "reviewed"
        event.to_status = "reviewed"
        event.body_id = bodies.get(review)
        event.acting_body = review[:50]
        event.comment = ""
        event.migrated = True
        event.save()
    # Who reviewed: the one who approved in one step, for an open approval.
    for disclosure in Disclosure.objects.filter(status="approved"):
        last = (
            Event.objects.filter(disclosure=disclosure, action="reviewed")
            .order_by("-at", "-pk")
            .first()
        )
        if last and last.actor_id:
            disclosure.reviewed_by_id = last.actor_id
            disclosure.save(update_fields=["reviewed_by"])


class Migration(migrations.Migration):
    dependencies = [("disclosure", "0012_review_and_approval")]

    operations = [migrations.RunPython(split_approvals, migrations.RunPython.noop)]
