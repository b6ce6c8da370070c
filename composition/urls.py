from django.contrib.sitemaps.views import sitemap
from django.urls import path
from django.views.decorators.http import condition

from core import elder

from . import (
    county_views,
    feeds,
    follow_views,
    report_views,
    search_views,
    stats_views,
    views,
)
from .sitemaps import SITEMAPS, robots_txt

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
    # Search, feeds, following, statistics
    path("search/", search_views.search_page, name="search"),
    # Feeds answer conditional GETs (ETag) without building the feed.
    path(
        "feeds/latest/",
        condition(etag_func=feeds.latest_etag)(feeds.LatestDisclosuresFeed()),
        name="feed_latest",
    ),
    path(
        "feeds/boards/<slug:slug>/",
        condition(etag_func=feeds.board_etag)(feeds.BoardFeed()),
        name="feed_board",
    ),
    path(
        "feeds/feedback/",
        condition(etag_func=feeds.feedback_etag)(feeds.FeedbackFeed()),
        name="feed_feedback",
    ),
    path("sitemap.xml", sitemap, {"sitemaps": SITEMAPS}, name="sitemap"),
    path("robots.txt", robots_txt, name="robots"),
    path("follow/", follow_views.follow, name="follow"),
    path("follow/confirm/<str:token>/", follow_views.confirm, name="follow_confirm"),
    path("follow/unsubscribe/<str:token>/", follow_views.unfollow, name="unfollow"),
    path("county/", county_views.county, name="county"),
    path("stats/", stats_views.stats_page, name="stats"),
    path("stats/csv/", stats_views.stats_csv, name="stats_csv"),
    path("elder/", elder.switch, name="elder"),
    # The yearly 党务公开 report of each town
    path("reports/", report_views.report_list, name="reports"),
    path("reports/<int:year>/", report_views.report_year, name="report"),
    path(
        "reports/<slug:town>/<int:year>/",
        report_views.report_town,
        name="report_town",
    ),
    path(
        "reports/<slug:town>/<int:year>/pdf/",
        report_views.report_pdf,
        name="report_pdf",
    ),  # 长辈模式 on/off
]
