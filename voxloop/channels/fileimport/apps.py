from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChannelsFileimportConfig(AppConfig):
    name = "voxloop.channels.fileimport"
    label = "channels_fileimport"
    verbose_name = _("File import")
