"""The role groups are there for every test, after a transactional test's
flush too (tests/conftest.py makes them again): a test that reads one does
not depend on which tests ran before it on its worker."""

import pytest
from django.contrib.auth.models import Group

from disclosure import roles
from tests.factories import UserFactory


@pytest.mark.django_db(transaction=True)
def test_a_transactional_test_flushes_the_database():
    UserFactory(username="flushed_after")
    assert Group.objects.filter(name=roles.PARTY_MEMBER).exists()


@pytest.mark.django_db(transaction=True)
def test_the_groups_are_there_after_the_flush():
    # Runs after the test above (same module, both transactional): its flush
    # took the user and, without the hook, every group.
    assert not UserFactory._meta.model.objects.filter(username="flushed_after").exists()
    names = set(Group.objects.values_list("name", flat=True))
    assert set(roles.ROLE_NAMES) <= names
