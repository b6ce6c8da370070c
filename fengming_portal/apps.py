from django.apps import AppConfig


class FengmingPortalConfig(AppConfig):
    """The project package as an app, only to connect the security log."""

    name = "fengming_portal"
    verbose_name = "凤鸣镇公开网"

    def ready(self):
        from axes.signals import user_locked_out
        from django.contrib.auth.signals import user_login_failed

        from . import security

        user_login_failed.connect(security.log_login_failed)
        user_locked_out.connect(security.log_lockout)
