"""On PostgreSQL feedback becomes a table partitioned by month of its received time, its rows copied over
(voxloop.core.partitions, voxloop.feedback.keys; docs/operations.md, "Monthly partitions"). SQLite is left as it is.

The state of the models does not change. In the database the primary key becomes (id, received_at); the unique
(source, external_id) that makes imports idempotent moves, under the same name, to a table of its own
(feedback_feedbackkey) that triggers keep in step; the foreign keys that point at feedback (analysis, topics,
corrections, tags, rule firings, case links, improvement actions, survey responses, fix notices) are kept by the
application. Irreversible in effect: backwards leaves the partitioned table, whose columns are the same."""

from django.db import migrations

from voxloop.feedback import keys


def forward(apps, schema_editor):
    keys.partition(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("feedback", "0006_import_lease_and_row_lines"),
        # Every foreign key to feedback exists before its constraint is given up for the partitions.
        ("analysis", "0006_topic_aspect_sentiment"),
        ("cases", "0007_caseevent_monthly_partitions"),
        ("automation", "0003_default_teams_and_routing"),
        ("surveys", "0006_survey_name_en"),
        ("actions", "0004_public_note_in_english"),
    ]

    operations = [migrations.RunPython(forward, migrations.RunPython.noop, elidable=False)]
