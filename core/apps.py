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

        from . import checks, security  # noqa: F401 (checks registers itself)

        user_login_failed.connect(security.log_login_failed)
        user_locked_out.connect(security.log_lockout)
