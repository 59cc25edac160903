"""Labels other apps show for metrics (kept here so they are translated in this app's catalog)."""

from django.utils.translation import gettext_lazy as _

METRICS_READ_SCOPE_LABEL = _("Read metrics and their tables")
