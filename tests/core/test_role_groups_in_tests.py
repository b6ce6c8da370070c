"""A role group is looked up in tests through `tests.factories.role_group`.

The test database starts with the role groups, but a transactional test's
flush removes them for the tests that follow it on the same worker; which
tests follow one depends on how xdist shares the files out. A bare
`Group.objects.get(name=...)` then fails on one CI run and not on the next
(it did, on PostgreSQL: test_rights_given_by_sql_never_reach_the_residents_copy).
Taking a group away from a user who was just given it is safe: the group
exists then.
"""

import re
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
BARE_LOOKUP = re.compile(r"Group\.objects\.get\(")
SAFE = re.compile(r"\.groups\.remove\(Group\.objects\.get\(")


def test_no_test_looks_a_role_group_up_bare():
    found = [
        f"{path.relative_to(TESTS)}:{number}"
        for path in sorted(TESTS.rglob("*.py"))
        if path.name != "factories.py" and path != Path(__file__).resolve()
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if BARE_LOOKUP.search(line) and not SAFE.search(line)
    ]
    assert not found, f"use tests.factories.role_group: {found}"
