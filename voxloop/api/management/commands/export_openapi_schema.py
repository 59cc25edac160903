"""`voxloop export_openapi_schema [--output docs/api/openapi.json]`: the API's OpenAPI document."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand

from voxloop.api.api import api


def openapi_json() -> str:
    schema = api.get_openapi_schema(path_prefix="/api/")
    return json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


class Command(BaseCommand):
    help = "Print or write the OpenAPI schema (commit it as docs/api/openapi.json)."

    def add_arguments(self, parser):
        parser.add_argument("--output", default="", help="file to write (default: standard output)")

    def handle(self, *args, **options):
        text = openapi_json()
        if options["output"]:
            Path(options["output"]).write_text(text, encoding="utf-8")
        else:
            self.stdout.write(text, ending="")
