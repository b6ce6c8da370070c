from django.contrib.sitemaps.views import sitemap
from django.urls import path
from django.views.decorators.http import condition

from core import elder

from . import (
    county_views,
    feeds,
    follow_views,
    gov_report_views,
    guide_views,
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
    # The 政府信息公开工作年度报告 (before the town's: "gov" is no town)
    path(
        "reports/gov/<int:year>/", gov_report_views.gov_report_year, name="gov_report"
    ),
    path(
        "reports/gov/<slug:town>/<int:year>/",
        gov_report_views.gov_report_town,
        name="gov_report_town",
    ),
    path(
        "reports/gov/<slug:town>/<int:year>/pdf/",
        gov_report_views.gov_report_pdf,
        name="gov_report_pdf",
    ),
    path(
        "reports/<slug:town>/<int:year>/",
        report_views.report_town,
        name="report_town",
    ),
    path(
        "reports/<slug:town>/<int:year>/pdf/",
        report_views.report_pdf,
        name="report_pdf",
    ),
    # 公开指南: 政府信息公开 (依申请公开), and 党务、村务
    path("guide/", guide_views.gov_guide, name="gov_guide"),
    path("guide/affairs/", guide_views.affairs_guide, name="affairs_guide"),
]
