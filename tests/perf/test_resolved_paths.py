"""The page caches' URL match kept per path (core.caching._resolved): the
same as Django's, forgotten with the URLconf, never kept for a long path."""

from django.test import override_settings
from django.urls import path, resolve

from core import caching


def nothing(request):
    return None


urlpatterns = [path("boards/<slug:slug>/", nothing, name="elsewhere")]


def test_a_kept_match_is_djangos():
    caching.forget_resolved()
    for url in ("/boards/wenli/", "/disclosures/12/", "/feedback/", "/search/"):
        kept = caching._resolved(url)
        assert kept is not None
        assert (kept.view_name, kept.kwargs) == (
            resolve(url).view_name,
            resolve(url).kwargs,
        )
        assert caching._resolved(url) is kept  # the second time: kept
    # Not a cached page, or no page at all.
    assert caching._resolved("/admin/") is None
    assert caching._resolved("/no/such/page/") is None


def test_another_urlconf_forgets_the_kept_matches():
    assert caching._resolved("/boards/wenli/").view_name == "disclosure:board"
    with override_settings(ROOT_URLCONF=__name__):
        assert caching._resolved("/boards/wenli/") is None  # not a cached view
        assert resolve("/boards/wenli/").view_name == "elsewhere"
    assert caching._resolved("/boards/wenli/").view_name == "disclosure:board"


def test_a_long_path_is_resolved_not_kept():
    caching.forget_resolved()
    slug = "a" * (caching.RESOLVED_PATH_LIMIT + 1)
    assert caching._resolved(f"/boards/{slug}/").view_name == "disclosure:board"
    for n in range(50):
        caching._resolved(f"/no/{n}/{slug}")
    assert caching._resolved_path.cache_info().currsize == 0
