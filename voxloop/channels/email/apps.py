from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChannelsEmailConfig(AppConfig):
    name = "voxloop.channels.email"
    label = "channels_email"
    verbose_name = _("Email")
