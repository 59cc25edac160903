from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SearchConfig(AppConfig):
    name = "voxloop.search"
    label = "search"
    verbose_name = _("Search")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The search app subscribes to what the lower layers announce; they never import it.
        from voxloop.search import subscriptions

        subscriptions.connect()
