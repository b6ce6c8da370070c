from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The shared layer: mechanisms every app uses (page cache, security,
    throttling, widgets, dates, the admin site). It imports no app of ours;
    apps register with it in their own `ready()`."""

    name = "core"
    verbose_name = "凤鸣镇公开网"

    def ready(self):
        from axes.signals import user_locked_out
        from django.contrib.auth.signals import user_login_failed
        from django.core.signals import (
            request_finished,
            request_started,
            setting_changed,
        )

        from . import caching, checks, events, security  # noqa: F401 (checks registers itself)

        user_login_failed.connect(security.log_login_failed)
        request_started.connect(
            caching.request_began, dispatch_uid="core.caching.began"
        )
        request_finished.connect(
            caching.request_ended, dispatch_uid="core.caching.ended"
        )
        user_locked_out.connect(security.log_lockout)
        setting_changed.connect(
            security.PolicyMiddleware.forget, dispatch_uid="core.security.policy"
        )
        setting_changed.connect(
            caching.forget_resolved, dispatch_uid="core.caching.resolved"
        )
        events.listen(caching.on_event, uid="core.caching")
        # What every form and the admin accept: auth's text and date fields
        # here; each app guards its own models in its ready().
        from django.apps import apps

        security.guard_model_fields(apps.get_app_config("auth"))
