from django.db import migrations, models
from django.db.models import Q


class Migration(migrations.Migration):
    dependencies = [("analysis", "0006_topic_aspect_sentiment")]

    operations = [
        migrations.AddField("feedbackanalysis", "fast_margin", models.FloatField(blank=True, null=True)),
        migrations.AddField("feedbackanalysis", "refined_at", models.DateTimeField(blank=True, null=True)),
        migrations.AddField(
            "feedbackanalysis", "refine_version", models.CharField(blank=True, default="", max_length=40)
        ),
        migrations.AddField(
            "feedbackanalysis", "refined_from", models.CharField(blank=True, default="", max_length=10)
        ),
        migrations.AddIndex(
            "feedbackanalysis",
            models.Index(fields=["fast_margin"], condition=Q(refined_at__isnull=True), name="analysis_unrefined"),
        ),
    ]
