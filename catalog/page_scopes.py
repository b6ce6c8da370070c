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

What counts of disclosures read of the catalog is less again: which
category an item is in, which catalog a category is in, a catalog's kind
(`grouping_fields`, a part of the counted ones). A change of one of them, a
deletion or a row loaded as it is names GROUPED; the counts of disclosures
by kind and category (the statistics, the home page's figures) are kept
under it, with the names put on them afresh, so that neither a rename nor a
rule changed counts the disclosures again. A new row names it not: no
disclosure can be filed under a row that was not there.

What the engine's loaders read of it, which rows of a unit count as filed
(`compliance.load_inputs`: an earlier year's row while on display for a 长期
item, an item's `timing`; the 点题 item found by its `code`), is the least:
an item's `filed_fields` changed, a new item (it may be the 点题 one), a
deletion or a row loaded as it is names FILED. The rows loaded are kept
under it and their units' scopes, so that a rule, a frequency or a new
catalog's adoption counts them again without reading them again.

The catalogs and their categories themselves (a name, an order, a kind: a
board's columns, CATEGORIES) are read apart as well: a board's body follows
them, what is counted (COUNTED: which categories have items for its level)
and where each item is (GROUPED), not an item's name, description,
department or forms.

An office's name (a `Department`: who answered a 回音壁 case, as its card
shows) is read apart too: any change of a department names DEPARTMENTS as
well, and the wall's cards follow it, not CATALOG, so that an item renamed
or a rule changed leaves every answered case's card kept.
"""

from core.loaded import row_before

CATALOG = "catalog"
COUNTED = "catalog-counted"
GROUPED = "catalog-grouped"
FILED = "catalog-filed"
DEPARTMENTS = "catalog-departments"
CATEGORIES = "catalog-categories"

# Read by the engine whole (every field is a rule), or not at all.
_ALL_COUNTED = {"catalog.ScheduleRule"}
_NONE_COUNTED = {"catalog.Department", "catalog.DisclosureForm"}


def catalog_scopes(event) -> list[str]:
    scopes = [CATALOG]
    if may_change_counts(event):
        scopes.append(COUNTED)
    if may_change_groups(event):
        scopes.append(GROUPED)
    if may_change_filed(event):
        scopes.append(FILED)
    if event.model == "catalog.Department":
        scopes.append(DEPARTMENTS)
    if event.model in ("catalog.Catalog", "catalog.Category"):
        scopes.append(CATEGORIES)
    return scopes


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


def may_change_groups(event) -> bool:
    """Whether this change may move disclosures to another kind or category
    (`grouping_fields`): yes unless a save found them unchanged in the
    database, or added the row, or the row is not one of those three."""
    if event.model in _ALL_COUNTED or event.model in _NONE_COUNTED:
        return False
    if event.name == "linked":
        return False
    if event.name != "saved" or event.raw:
        return True
    return getattr(event.instance, "_groups_may_change", True)


def may_change_filed(event) -> bool:
    """Whether this change may change which rows the engine's loaders read
    (`filed_fields`): only an item's, and not a save that found them
    unchanged in the database."""
    if event.model != "catalog.Item" or event.name == "linked":
        return False
    if event.name != "saved" or event.raw:
        return True
    return getattr(event.instance, "_filed_may_change", True)


def note_counted_change(sender, instance, raw=False, update_fields=None, **kwargs):
    """pre_save of Catalog, Category and Item: whether this save writes a
    counted field, or a grouping one, other than it is in the database,
    kept on the instance for the save's event."""
    model = sender._meta.concrete_model
    changed = _changed_counted_fields(model, instance, raw, update_fields)
    instance._counts_may_change = changed is None or bool(changed)
    # A new item may be the 点题 one: named as a row of unknown fields.
    filed = set(getattr(model, "filed_fields", ()))
    instance._filed_may_change = changed is None or bool(changed & filed)
    if raw:
        instance._groups_may_change = True
    elif instance._state.adding and (
        instance.pk is None or not model._base_manager.filter(pk=instance.pk).exists()
    ):
        instance._groups_may_change = False  # nothing is filed under it yet
    else:
        instance._groups_may_change = changed is None or bool(
            changed & set(model.grouping_fields)
        )


def _changed_counted_fields(model, row, raw, update_fields) -> set[str] | None:
    """The counted fields this save writes with another value than the row
    holds; None: not known (a new row, one loaded as it is, built by hand
    over a row, or gone)."""
    if raw or row._state.adding or row.pk is None:
        return None
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
        return set()
    before = row_before(model, row.pk, fields)
    if before is None:
        return None
    return {name for name in fields if before[name] != getattr(row, name)}
