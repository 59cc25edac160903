from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from voxloop.api.api import api

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="feedback:inbox", permanent=False)),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("voxloop.accounts.urls")),
    path("feedback/", include("voxloop.feedback.urls")),
    path("imports/", include("voxloop.channels.fileimport.urls")),
    path("email/", include("voxloop.channels.email.urls")),
    path("f/", include("voxloop.channels.webform.urls")),
    path("t/", include("voxloop.cases.public_urls")),
    path("s/", include("voxloop.surveys.public_urls")),
    path("surveys/", include("voxloop.surveys.urls")),
    path("analysis/", include("voxloop.analysis.urls")),
    path("cases/", include("voxloop.cases.urls")),
    path("search/", include("voxloop.search.urls")),
    path("notifications/", include("voxloop.notify.urls")),
    path("metrics/", include("voxloop.metrics.urls")),
    path("actions/", include("voxloop.actions.urls")),
    path("reports/", include("voxloop.reports.urls")),
    path("insights/alerts/", include("voxloop.alerts.urls")),
    path("insights/", include("voxloop.insights.urls")),
    path("settings/people/", include("voxloop.accounts.people_urls")),
    path("settings/checklist/", include("voxloop.cases.checklist_urls")),
    path("settings/outgoing-mail/", include("voxloop.notify.mail_urls")),
    path("settings/rules/sla/", include("voxloop.cases.sla_urls")),
    path("settings/rules/", include("voxloop.automation.urls")),
    path("api/", api.urls),
    path("settings/api-tokens/", include("voxloop.api.urls")),
    path("settings/webhooks/", include("voxloop.webhooks.urls")),
    path("privacy/", include("voxloop.privacy.urls")),
    path("admin/", admin.site.urls),
    path("", include("voxloop.core.urls")),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
