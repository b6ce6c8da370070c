from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DisclosureConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "disclosure"
    verbose_name = _("公开栏与公开内容")

    def ready(self):
        # A disclosure of a 党内 item is 党内: also those made before the item
        # became 党内, whichever way it was changed (admin, loader, shell).
        # Registered here because catalog knows nothing of disclosures.
        from django.db.models.signals import post_save

        from . import services

        post_save.connect(
            services.on_item_saved,
            sender="catalog.Item",
            dispatch_uid="disclosure.follow_item_scope",
        )
