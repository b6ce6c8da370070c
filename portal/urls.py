from django.contrib.sitemaps.views import sitemap
from django.urls import path

from . import feeds, follow_views, search_views, stats_views, views
from .sitemaps import SITEMAPS, robots_txt

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    # Search, feeds, following, statistics (issue 6)
    path("search/", search_views.search_page, name="search"),
    path("feeds/latest/", feeds.LatestDisclosuresFeed(), name="feed_latest"),
    path("feeds/boards/<slug:slug>/", feeds.BoardFeed(), name="feed_board"),
    path("feeds/feedback/", feeds.FeedbackFeed(), name="feed_feedback"),
    path("sitemap.xml", sitemap, {"sitemaps": SITEMAPS}, name="sitemap"),
    path("robots.txt", robots_txt, name="robots"),
    path("follow/", follow_views.follow, name="follow"),
    path("follow/confirm/<str:token>/", follow_views.confirm, name="follow_confirm"),
    path("follow/unsubscribe/<str:token>/", follow_views.unfollow, name="unfollow"),
    path("stats/", stats_views.stats_page, name="stats"),
    path("stats/csv/", stats_views.stats_csv, name="stats_csv"),
]
