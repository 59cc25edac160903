"""On PostgreSQL the audit log becomes a table partitioned by month, its rows copied over (voxloop.core.partitions;
docs/operations.md, "Monthly partitions"), so retention drops whole months. SQLite is left as it is; the state of
the models does not change (the primary key becomes (id, at))."""

from django.db import migrations

from voxloop.core import partitions


def forward(apps, schema_editor):
    partitions.convert("accounts_auditlog", conn=schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0004_audit_actions_for_privacy_requests")]

    # Backwards leaves the partitioned table in place: its columns are the same as the plain table's.
    operations = [migrations.RunPython(forward, migrations.RunPython.noop, elidable=False)]
