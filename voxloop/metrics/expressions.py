"""SQL expressions over the roll-up tables, shared by every reader of ``MetricDaily.sums`` (insights' Pareto,
drivers, journey map and emotion words)."""

from __future__ import annotations

from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import F, FloatField, Func
from django.db.models.sql.compiler import SQLCompiler


class SumsKey(Func):
    """One number out of a roll-up row's ``sums`` JSON, in SQL: ``sums ->> 'key'`` on PostgreSQL, a single
    ``JSON_EXTRACT`` on SQLite (Django's key transform parses the JSON twice there). NULL when absent."""

    output_field = FloatField()

    def __init__(self, key: str) -> None:
        super().__init__(F("sums"))
        self.key = key

    def as_sql(
        self,
        compiler: SQLCompiler,
        connection: BaseDatabaseWrapper,
        function: str | None = None,
        template: str | None = None,
        arg_joiner: str | None = None,
        **extra_context: Any,
    ) -> tuple[str, tuple[str | int, ...]]:
        column, params = compiler.compile(self.source_expressions[0])
        return f"CAST(({column} ->> %s) AS double precision)", (*params, self.key)

    def as_sqlite(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra_context: Any
    ) -> tuple[str, tuple[str | int, ...]]:
        column, params = compiler.compile(self.source_expressions[0])
        return f"JSON_EXTRACT({column}, %s)", (*params, '$."' + self.key.replace('"', "") + '"')
