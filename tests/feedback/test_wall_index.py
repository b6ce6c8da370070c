"""The wall's first page is read in index order on SQLite (migration 0003)."""

import pytest
from django.db import connection

from feedback.models import Submission

pytestmark = pytest.mark.django_db


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's plan")
def test_the_walls_order_is_read_from_its_index():
    query = Submission.objects.on_wall().newest_answered_first()[:20].query
    sql, params = query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        plan = " ".join(str(row) for row in cursor.fetchall())
    assert "feedback_wall_order_idx" in plan
    assert "TEMP B-TREE" not in plan
