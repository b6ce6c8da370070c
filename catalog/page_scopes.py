"""The page cache's scopes of the catalog (core.content, core.caching).

Every catalog row (a catalog, category, item, schedule rule, department,
form) is shown on pages of every scope (an item's name on each of its
disclosures) and read by the figures that count against the catalog (the
compliance matrix, the statistics, the home page's counts by kind, a list
filtered by category or item, the choice lists): a change names CATALOG,
and the pages follow it through NAMES (`content.public(...,
shown_everywhere=True)`). Figures that read no catalog row (the 回音壁's
counts, a unit's list count) stay kept.

What the compliance engine counts (what is owed, when, by whom) reads only
some of it: the rules and the `counted_fields` of `Catalog`, `Category` and
`Item`. A change that may touch them names COUNTED too; a name, an order, a
description, a department or a form changed names CATALOG only, and the
engine's counts (kept under COUNTED, not CATALOG) stay kept: the matrix and
the statistics put the new names on them without counting again. Whether a
save changes a counted field is read from the row in the database just
before it (`note_counted_change`), not from what the instance remembers:
another instance may have saved since, a save may have rolled back, a
field may not have been loaded. A catalog save is rare; one query more.
"""

CATALOG = "catalog"
COUNTED = "catalog-counted"

# Read by the engine whole (every field is a rule), or not at all.
_ALL_COUNTED = {"catalog.ScheduleRule"}
_NONE_COUNTED = {"catalog.Department", "catalog.DisclosureForm"}


def catalog_scopes(event) -> list[str]:
    return [CATALOG, COUNTED] if may_change_counts(event) else [CATALOG]


def may_change_counts(event) -> bool:
    """Whether this change may change what the engine counts: yes unless a
    save found the counted fields it writes unchanged in the database
    (`note_counted_change`), or the row is one the engine never reads."""
    if event.model in _NONE_COUNTED:
        return False
    if event.model in _ALL_COUNTED:
        return True
    if event.name == "linked":
        # Item.forms, the catalog's only many-to-many (a test holds it so).
        return False
    if event.name != "saved" or event.raw:
        return True
    return getattr(event.instance, "_counts_may_change", True)


def note_counted_change(sender, instance, raw=False, update_fields=None, **kwargs):
    """pre_save of Catalog, Category and Item: whether this save writes a
    counted field other than it is in the database, kept on the instance
    for the save's event."""
    instance._counts_may_change = _writes_counted_change(
        sender._meta.concrete_model, instance, raw, update_fields
    )


def _writes_counted_change(model, row, raw, update_fields) -> bool:
    if raw or row._state.adding or row.pk is None:
        return True  # new, loaded as it is, or built by hand over a row
    fields = [
        name
        for name in model.counted_fields
        if update_fields is None
        or name in update_fields
        or name.removesuffix("_id") in update_fields
    ]
    # A field not loaded is not written (Django saves what it loaded).
    fields = [name for name in fields if name not in row.get_deferred_fields()]
    if not fields:
        return False
    before = model._base_manager.filter(pk=row.pk).values(*fields).first()
    if before is None:
        return True
    return any(before[name] != getattr(row, name) for name in fields)
