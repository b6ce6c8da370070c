# The timings of catalog/data/*_catalog.json on the day of this migration, for
# catalogs loaded before them (schema in 0008): (timing, nil allowed, 公示期 in
# working days) by item code. Items of other codes keep the defaults (随时
# items by event, the rest after the period ends).

from django.db import migrations

TIMINGS = {
    "A01": ("event", True, None),
    "A02": ("year_start", False, None),
    "A03": ("period_end", True, None),
    "A04": ("event", True, None),
    "A05": ("standing", False, None),
    "A06": ("period_end", False, None),
    "A07": ("before", True, None),
    "A08": ("before", True, None),
    "A09": ("period_end", True, None),
    "A10": ("period_end", True, None),
    "B01": ("year_start", False, None),
    "B02": ("period_end", True, None),
    "B03": ("year_start", False, None),
    "B04": ("period_end", False, None),
    "B05": ("event", True, None),
    "B06": ("period_end", True, None),
    "B07": ("period_end", True, None),
    "B08": ("event", True, None),
    "C01": ("standing", False, None),
    "C02": ("event", True, None),
    "C03": ("year_start", False, None),
    "C04": ("period_end", True, 5),
    "C05": ("before", True, 5),
    "C06": ("event", True, None),
    "C07": ("period_end", False, None),
    "C08": ("period_end", True, None),
    "C09": ("period_end", True, None),
    "C10": ("period_end", True, None),
    "C11": ("event", True, 5),
    "C12": ("period_end", True, None),
    "D01": ("standing", False, None),
    "D02": ("year_start", False, None),
    "D03": ("year_start", False, None),
    "D04": ("standing", False, None),
    "D05": ("period_end", True, None),
    "D06": ("period_end", True, None),
    "D07": ("period_end", True, None),
    "D08": ("period_end", False, None),
    "E01": ("standing", False, None),
    "E02": ("event", True, None),
    "E03": ("event", True, None),
    "E04": ("before", True, 5),
    "E05": ("event", True, None),
    "E06": ("period_end", True, None),
    "E07": ("period_end", True, None),
    "E08": ("period_end", True, None),
    "F01": ("period_end", True, None),
    "F02": ("event", True, None),
    "F03": ("period_end", True, None),
    "F04": ("standing", False, None),
    "F05": ("period_end", True, None),
    "F06": ("period_end", True, None),
    "F07": ("period_end", True, None),
    "F08": ("period_end", True, None),
    "F09": ("period_end", True, None),
    "G01": ("year_start", False, None),
    "G02": ("period_end", True, None),
    "G03": ("period_end", True, None),
    "G04": ("period_end", True, None),
    "G05": ("period_end", True, None),
    "G06": ("standing", False, None),
    "G07": ("event", True, None),
    "G08": ("period_end", True, None),
    "G09": ("period_end", True, None),
    "ZW01": ("standing", False, None),
    "ZW02": ("standing", False, None),
    "ZW03": ("event", True, None),
    "ZW04": ("period_end", True, None),
    "ZW05": ("standing", False, None),
    "ZW06": ("period_end", True, None),
    "ZW07": ("period_end", True, None),
    "ZW08": ("phase", True, None),
    "ZW09": ("event", True, None),
    "ZW10": ("event", True, None),
    "ZW11": ("period_end", True, 7),
    "ZW12": ("period_end", True, None),
    "ZW13": ("event", True, None),
    "ZW14": ("event", True, None),
    "CW01": ("period_end", False, None),
    "CW02": ("period_end", True, None),
    "CW03": ("event", True, None),
    "CW04": ("period_end", False, None),
    "CW05": ("event", True, None),
    "CW06": ("period_end", True, None),
    "CW07": ("standing", False, None),
    "CW08": ("period_end", True, None),
    "CW09": ("period_end", True, None),
    "CW10": ("event", True, 7),
    "CW11": ("period_end", True, None),
    "CW12": ("event", True, None),
    "CW13": ("phase", True, None),
    "CW14": ("before", True, 7),
}
# The loader used to give 5 days to every item with 公示 among its forms.
OLD_NOTICE_DAYS = 5


def set_timings(apps, schema_editor):
    Item = apps.get_model("catalog", "Item")
    for item in Item.objects.all():
        shipped = TIMINGS.get(item.code)
        if shipped is None:  # an item added in the admin: by its frequency
            immediate = item.frequency == "immediately"
            item.timing = "event" if immediate else "period_end"
        else:
            item.timing, item.nil_allowed, notice_days = shipped
            # A value other than the loader's old guess was set by hand: kept.
            if item.notice_days in (None, OLD_NOTICE_DAYS):
                item.notice_days = notice_days
        item.save(update_fields=["timing", "nil_allowed", "notice_days"])


class Migration(migrations.Migration):
    dependencies = [("catalog", "0008_item_timing")]

    operations = [migrations.RunPython(set_timings, migrations.RunPython.noop)]
