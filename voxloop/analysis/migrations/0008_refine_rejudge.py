from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("analysis", "0007_refine_lane")]

    operations = [
        migrations.AddField(
            "feedbackanalysis", "refined_kind_from", models.CharField(blank=True, default="", max_length=20)
        ),
        migrations.AddField(
            "feedbackanalysis", "refined_urgency_from", models.CharField(blank=True, default="", max_length=10)
        ),
    ]
