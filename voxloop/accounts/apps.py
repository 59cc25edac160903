from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "voxloop.accounts"
    verbose_name = _("Accounts")

    def ready(self) -> None:
        # Imported here: the module reaches other apps' models, loaded only once the registry is ready.
        from voxloop.accounts import config_audit

        config_audit.connect()
