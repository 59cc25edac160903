"""Deliveries stored before 15.12 kept up to 500 bytes of a failing receiver's answer (possibly an internal page
read through a webhook). Cut them to the short, sanitised excerpt kept from now on."""

import re

from django.db import migrations

from voxloop_nlp.components.pii import mask_pii

# The same rule as voxloop.webhooks.services.excerpt, copied: a migration must not change when the service does.
_TAG = re.compile(r"<[^>]{0,200}>")
_NOT_PRINTABLE = re.compile(r"[^\w .,:;!?()'\"/+\-]+")
LIMIT = 80


def _excerpt(text: str) -> str:
    text = " ".join(_NOT_PRINTABLE.sub(" ", _TAG.sub(" ", text)).split())
    text = mask_pii(text)
    return text if len(text) <= LIMIT else text[: LIMIT - 1] + "…"


def shorten(apps, schema_editor):
    delivery_model = apps.get_model("webhooks", "WebhookDelivery")
    rows = delivery_model.objects.exclude(last_error="").only("pk", "last_error", "last_error_i18n")
    for row in rows.iterator(chunk_size=500):
        params = (row.last_error_i18n or {}).get("params") or {}
        if len(row.last_error) <= LIMIT + 40 and len(str(params.get("error", ""))) <= LIMIT:
            continue
        if "error" in params:
            params["error"] = _excerpt(str(params["error"]))
            row.last_error_i18n["params"] = params
        row.last_error = _excerpt(row.last_error)
        row.save(update_fields=["last_error", "last_error_i18n"])


class Migration(migrations.Migration):
    dependencies = [("webhooks", "0002_messages_in_each_language")]

    operations = [migrations.RunPython(shorten, migrations.RunPython.noop)]
