"""A person's data as a zip: one JSON and one CSV file per place the finder found it in, and a README in Chinese
and English saying what each file holds (access and portability requests, PIPL art. 45, GDPR arts. 15 and 20)."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db.models import Model
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from voxloop.core.exports import safe_cell
from voxloop.privacy.queries import PLACES, Subject

# Fields never exported: they would let the reader act as us (tokens, signing secrets) or are internal plumbing.
_SKIPPED_FIELDS = {"tracking_token", "token", "secret", "search_text", "submission_id"}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _row(obj: Model) -> dict[str, Any]:
    return {
        f.attname: _plain(getattr(obj, f.attname))
        for f in obj._meta.concrete_fields
        if f.attname not in _SKIPPED_FIELDS
    }


def _cell(value: Any) -> Any:
    # A spreadsheet must not run what a customer typed: the one export-cell rule (voxloop.core.exports).
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False)
    return safe_cell(value)


def _csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    header = list(dict.fromkeys(k for row in rows for k in row))
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(row.get(k)) for k in header])
    return out.getvalue()


def _readme(counts: dict[str, int], request_id: int | None, when: datetime) -> str:
    lines = []
    for language, heading in (("zh-hans", "说明"), ("en", "README")):
        with override(language):
            lines.append(f"== {heading} ==")
            lines.append(
                _("This archive holds the personal data VoxLoop keeps about you (request #%(number)s, %(when)s).")
                % {"number": request_id or "-", "when": when.strftime("%Y-%m-%d %H:%M UTC")}
            )
            lines.append(
                _("Each place has a JSON file (for programs) and a CSV file (for spreadsheets), with the same rows.")
            )
            for place, label in PLACES.items():
                lines.append(f"  {place}.json / {place}.csv — {label}: {counts.get(place, 0)}")
            lines.append(
                _(
                    "Attachments are listed by reference (name and address); the files themselves are kept where "
                    "they were sent from."
                )  # fmt: skip
            )
            lines.append("")
    return "\n".join(lines)


def build_zip(subject: Subject, *, request_id: int | None = None) -> bytes:
    """The zip's bytes. Built in memory: one person's data is small next to a whole export."""
    when = timezone.now()
    buffer = io.BytesIO()
    counts: dict[str, int] = {}
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for place in PLACES:
            found = getattr(subject, place)()
            rows = list(found) if isinstance(found, list) else [_row(obj) for obj in found]
            if place == "survey_responses":
                for row in rows:
                    row["answers"] = [
                        _row(a) for a in subject.survey_answers().filter(response_id=row["id"]).order_by("id")
                    ]
            counts[place] = len(rows)
            archive.writestr(f"{place}.json", json.dumps(rows, ensure_ascii=False, indent=2, default=str))
            # utf-8-sig: Excel opens the CSV with the right encoding for Chinese text.
            archive.writestr(f"{place}.csv", _csv(rows).encode("utf-8-sig"))
        archive.writestr("README.txt", _readme(counts, request_id, when))
    return buffer.getvalue()
