"""/insights/: the analyst's workspace. One module per page under views/ (early warning is its own app)."""

from django.urls import path

from voxloop.insights.views import (
    drivers,
    emerging,
    emotions,
    journey,
    overview,
    quality,
    root_causes,
    segments,
    trends,
)

app_name = "dashboards"
urlpatterns = [
    path("", overview.overview_page, name="overview"),
    path("trends/", trends.trends_page, name="trends"),
    path("root-causes/", root_causes.root_causes_page, name="root_causes"),
    path("drivers/", drivers.drivers_page, name="drivers"),
    path("drivers/responses/", drivers.drivers_responses, name="drivers_responses"),
    path("emerging/", emerging.emerging, name="emerging"),
    path("emerging/runs/<int:pk>/", emerging.emerging_run, name="emerging_run"),
    path("emerging/clusters/<int:pk>/", emerging.emerging_cluster, name="emerging_cluster"),
    path("emerging/clusters/<int:pk>/adopt/", emerging.emerging_adopt, name="emerging_adopt"),
    path("journey/", journey.journey_page, name="journey"),
    path("journey/edit/", journey.journey_edit, name="journey_edit"),
    path("segments/", segments.segments, name="segments"),
    path("segments/recompute/", segments.recompute, name="segments_recompute"),
    path("segments/<slug:segment>/", segments.segment_customers, name="segment_customers"),
    path("segments/<slug:segment>/recovery/", segments.open_recovery_cases, name="segment_recovery"),
    path("emotions/", emotions.emotions, name="emotions"),
    path("quality/", quality.quality_page, name="analysis_quality"),
]
