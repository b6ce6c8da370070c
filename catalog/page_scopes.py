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
some of it: the rules and the fields `Catalog`, `Category` and `Item` keep
as loaded. A change that may touch them names COUNTED too; a name, an
order, a description, a department or a form changed names CATALOG only,
and the engine's counts (kept under COUNTED, not CATALOG) stay kept: the
matrix and the statistics put the new names on them without counting
again.
"""

from .models import Catalog, Category, Item

CATALOG = "catalog"
COUNTED = "catalog-counted"

# Read by the engine whole (every field is a rule), or not at all.
_ALL_COUNTED = {"catalog.ScheduleRule"}
_NONE_COUNTED = {"catalog.Department", "catalog.DisclosureForm"}


def catalog_scopes(event) -> list[str]:
    return [CATALOG, COUNTED] if may_change_counts(event) else [CATALOG]


def may_change_counts(event) -> bool:
    """Whether this change may change what the engine counts: yes unless a
    row loaded (or last saved) through this instance is saved with the
    fields the engine reads unchanged, or the row is one the engine never
    reads. A new or deleted row, a raw save, a row saved over one it was
    not loaded from: yes."""
    if event.model in _NONE_COUNTED:
        return False
    if event.model in _ALL_COUNTED:
        return True
    if event.name == "linked":
        # Item.forms, the catalog's only many-to-many (a test holds it so).
        return False
    row = event.instance
    if event.name != "saved" or event.created or event.raw:
        return True
    if not isinstance(row, (Catalog, Category, Item)):
        return True
    for name in type(row).kept_as_loaded:
        marker = f"_loaded_{name}"
        if not hasattr(row, marker) or getattr(row, marker) != row.__dict__.get(name):
            return True
    return False
