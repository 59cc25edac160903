"""The agent inbox's "my team's" list: active cases of a team ordered by their next due time.

benchmarks/cases.py measured the first page over 100,000 open cases on PostgreSQL: without this index the
database reads and sorts every active case of the team (about 4,600 rows, 50-130 ms); with it, it reads the
first 31 index entries. The expression is exactly queries._next_due_expression(), so the planner matches it.
PostgreSQL only: the embedded SQLite installation never holds that many cases, and the index is raw SQL so that
the model state (and makemigrations) stays unchanged."""

from django.db import migrations

ACTIVE = "('new', 'open', 'pending_customer', 'reopened')"
NEXT_DUE = (
    "(CASE WHEN (first_responded_at IS NULL AND first_response_due_at IS NOT NULL"
    " AND first_response_due_at < resolution_due_at) THEN first_response_due_at ELSE resolution_due_at END)"
)
INDEXES = {
    "case_inbox_team_next_due": f"(team_id, {NEXT_DUE}, id) WHERE status IN {ACTIVE}",
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, spec in INDEXES.items():
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON cases_case {spec}")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("cases", "0004_loop_models")]

    operations = [migrations.RunPython(create, drop)]
