"""The page cache's scope of the catalog (core.content, core.caching).

Every catalog row (a catalog, category, item, schedule rule, department,
form) is shown on pages of every scope (an item's name on each of its
disclosures) and read by the figures that count against the catalog (the
compliance matrix, the statistics, the home page's counts by kind, a list
filtered by category or item, the choice lists): a change names CATALOG,
and the pages follow it through NAMES (`content.public(...,
shown_everywhere=True)`). Figures that read no catalog row (the 回音壁's
counts, a unit's list count) stay kept.
"""

CATALOG = "catalog"


def catalog_scopes(event) -> list[str]:
    return [CATALOG]
