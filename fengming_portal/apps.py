from django.apps import AppConfig


class FengmingPortalConfig(AppConfig):
    """The project package as an app: the security log and our deploy checks."""

    name = "fengming_portal"
    verbose_name = "凤鸣镇公开网"

    def ready(self):
        from axes.signals import user_locked_out
        from django.contrib.auth.signals import user_login_failed

        from . import checks, security  # noqa: F401 (checks registers itself)

        user_login_failed.connect(security.log_login_failed)
        user_locked_out.connect(security.log_lockout)
