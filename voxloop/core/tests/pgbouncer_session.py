"""Run by test_pgbouncer.py in a process of its own whose DATABASE_URL points at a transaction-pooling PgBouncer
(DB_TRANSACTION_POOLING=1): the database paths that use server state beyond one statement, each taken through it.

Prints one JSON object on its last line with what it saw; the test judges it.
"""

from __future__ import annotations

import json
import os
import threading
from datetime import timedelta
from typing import Any

import django


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "voxloop.settings")
    django.setup()
    from django.db import connection, connections
    from django.db.models import Sum
    from django.utils import timezone

    from voxloop.analysis.services import analyze_feedback
    from voxloop.doctor import check_analysis, check_rollups, check_tables
    from voxloop.feedback import bulk
    from voxloop.feedback.ingest import ingest_feedback, prepare_feedback
    from voxloop.feedback.models import Feedback
    from voxloop.metrics import services
    from voxloop.metrics.models import MetricDaily

    out: dict[str, Any] = {"server_side_cursors_off": bool(connection.settings_dict["DISABLE_SERVER_SIDE_CURSORS"])}
    now = timezone.now()
    ids: list[int] = []
    # The import's COPY path (server-side binding on a raw psycopg cursor), eight times the same statements:
    # more than psycopg's prepare threshold (5), after which a prepared statement would be missing on the next
    # server connection.
    for chunk in range(8):
        inputs = [
            prepare_feedback({"channel": "webform", "text": f"快递太慢了，包装也破了 {chunk}-{i}",
                              "received_at": (now - timedelta(days=chunk * 40 + i)).isoformat()}, source="bouncer")
            for i in range(5)
        ]  # fmt: skip
        ids += ingest_feedback(inputs, expect_new=True).created
    out["ingested"] = len(ids)
    # The staging-table path (a key repeated within one call), called outside any transaction of the caller.
    rows = [{"source": "bouncer-staging", "external_id": key, "channel": "webform", "text": "物流很快，点赞",
             "received_at": now} for key in ("a", "b", "a")]  # fmt: skip
    out["staged"] = len(bulk.insert_feedback(rows))
    ids += list(Feedback.objects.filter(source="bouncer-staging").values_list("pk", flat=True))

    # Analysis, a full roll-up rebuild (advisory transaction locks), then a re-analysis folded in by deltas.
    analyze_feedback(ids)
    services.rebuild()
    changed = ids[::2]
    Feedback.objects.filter(pk__in=changed).update(text="客服态度很好，问题很快解决了")
    analyze_feedback(changed)
    services.catch_up()
    services.refresh_dirty()
    out["feedback_rows"] = Feedback.objects.count()
    out["rolled_up"] = MetricDaily.objects.filter(source="feedback", dimension="").aggregate(n=Sum("n"))["n"]
    negative = MetricDaily.objects.filter(source="feedback", dimension="").values_list("sums", flat=True)
    out["rolled_up_negative"] = sum(int(s.get("negative", 0)) for s in negative)
    out["negative"] = Feedback.objects.filter(sentiment="negative").count()

    # QuerySet.iterator() in four threads at once over a pool of two server connections, each step interleaved
    # with another query: a server-side cursor would be looked for on the wrong server connection.
    seen: list[int] = []
    errors: list[str] = []

    def walk() -> None:
        try:
            count = 0
            for item in Feedback.objects.order_by("pk").iterator(chunk_size=3):
                count += Feedback.objects.filter(pk=item.pk).exists()
            seen.append(count)
        except Exception as exc:  # noqa: BLE001 - reported to the test, which names it
            errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=walk) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    out["iterated"], out["errors"] = sorted(seen), errors

    # The doctor's database checks (its others read the cache and the broker, not the database).
    out["doctor_checks"] = len([*check_tables(), *check_rollups(timezone.now()), *check_analysis(timezone.now())])
    print(json.dumps(out))


if __name__ == "__main__":
    main()
