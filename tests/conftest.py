import pytest


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):
    from django.core.cache import cache

    from core import caching

    # The page cache's per-process copies outlive a test's cache.clear().
    caching.reset_local()
    # Every test starts with clean counts (rate limits, throttles, pages).
    cache.clear()
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def party_member(db):
    from tests.factories import PartyMemberFactory

    return PartyMemberFactory()


@pytest.fixture
def party_client(client, party_member):
    client.force_login(party_member)
    return client
