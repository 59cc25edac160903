"""On PostgreSQL the case timeline becomes a table partitioned by month, its rows copied over (voxloop.core
.partitions; docs/operations.md, "Monthly partitions"). SQLite is left as it is. The state of the models does not
change: the primary key becomes (id, created_at) and the foreign keys that point at case events (notifications,
outgoing messages, webhook deliveries) are kept by the application, since a partitioned table's keys must contain
its partition column."""

from django.db import migrations

from voxloop.core import partitions


def forward(apps, schema_editor):
    partitions.convert("cases_caseevent", conn=schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0006_inbox_queues_saved_views"),
        # Every foreign key to case events exists before its constraint is given up for the partitions.
        ("notify", "0003_in_app_notifications"),
        ("webhooks", "0001_endpoints_and_deliveries"),
    ]

    # Backwards leaves the partitioned table in place: its columns are the same as the plain table's.
    operations = [migrations.RunPython(forward, migrations.RunPython.noop, elidable=False)]
