from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FeedbackConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "feedback"
    verbose_name = _("回音壁")

    def ready(self):
        # A case about something that becomes 党内 later (its item, whichever
        # way it is changed, or its disclosure alone) leaves the wall like a
        # case that was 党内 from the start. Item.save() is atomic, and the
        # bulk ways of changing an item's scope save item by item.
        from django.db.models.signals import post_save

        from . import services

        post_save.connect(
            services.on_item_saved,
            sender="catalog.Item",
            dispatch_uid="feedback.hold_back_on_item",
        )
        post_save.connect(
            services.on_disclosure_saved,
            sender="disclosure.Disclosure",
            dispatch_uid="feedback.hold_back_on_disclosure",
        )
