"""Queues by urgency and which task goes to which (docs/operations.md, "Queues"): the one routing table.

A flood of bulk work (an import, a re-analysis) must never delay the SLA sweep or a notification, so each queue
has its own consumer (voxloop.core.workers). voxloop/celery.py hands this table to Celery.
"""

URGENT, DEFAULT, BULK = "urgent", "default", "bulk"
#: The refine lane (a slower sentiment model re-judging analysed items, least certain first): its own queue, so its
#: ~50 ms per item never delays the fast lane's analysis of new items, and its worker's memory (the encoder) is
#: paid by one process only.
REFINE = "refine"
#: Consumed in this order of priority; `voxloop worker` without --queues starts one consumer for each.
QUEUES = (URGENT, DEFAULT, BULK, REFINE)
#: Tasks queued before queues existed wait in Celery's own default queue; the default consumer drains it too.
LEGACY_QUEUE = "celery"

#: The one place that says which queue a task goes to. A task missing here fails a test
#: (voxloop/core/tests/test_queues.py) instead of silently landing in `default`.
TASK_QUEUES: dict[str, str] = {
    # urgent: clocks that customers and agents are promised, and messages they wait for.
    "voxloop.cases.tasks.sla_sweep_task": URGENT,
    "voxloop.cases.tasks.process_case_events_task": URGENT,  # escalations, notifications, webhooks out of events
    "voxloop.notify.tasks.send_outgoing_messages_task": URGENT,
    "voxloop.webhooks.tasks.deliver_webhooks_task": URGENT,
    "voxloop.core.tasks.ping_task": URGENT,  # a health check answers even while the other queues are busy
    # default: the live path of one item (ingest hand-off, analysis, rules) and the daily-cadence sweeps.
    "voxloop.analysis.tasks.analyze_feedback_task": DEFAULT,
    "voxloop.analysis.tasks.analyze_pending_task": DEFAULT,
    "voxloop.automation.tasks.apply_pending_rules_task": DEFAULT,  # rules of analysed items whose run died
    "voxloop.channels.email.tasks.poll_mailbox_task": DEFAULT,
    "voxloop.channels.email.tasks.poll_all_mailboxes_task": DEFAULT,
    "voxloop.cases.tasks.follow_up_sweep_task": DEFAULT,
    "voxloop.cases.tasks.auto_close_task": DEFAULT,
    "voxloop.surveys.tasks.send_invitation_task": DEFAULT,
    "voxloop.surveys.tasks.sweep_invitations_task": DEFAULT,
    "voxloop.surveys.tasks.close_loop_task": DEFAULT,
    "voxloop.metrics.tasks.refresh_rollups_task": DEFAULT,  # folds recent changes in: small when run often
    "voxloop.alerts.tasks.detect_alerts_task": DEFAULT,
    # a report's e-mails composed per recipient (their scope and masking), then sent by the urgent outbox sender
    "voxloop.reports.tasks.deliver_report_task": DEFAULT,
    "voxloop.actions.tasks.overdue_actions_task": DEFAULT,  # reminders and escalations of late actions
    "voxloop.core.tasks.ensure_partitions_task": DEFAULT,  # the coming months' partitions, daily (PostgreSQL)
    # bulk: long runs over many rows (imports, re-analysis, retraining, clustering, segment rebuilds).
    "voxloop.channels.fileimport.tasks.run_import_task": BULK,
    "voxloop.channels.fileimport.tasks.resume_stalled_imports_task": BULK,
    "voxloop.channels.email.tasks.import_mail_file_task": BULK,
    "voxloop.channels.email.tasks.resume_stalled_mail_imports_task": BULK,
    "voxloop.analysis.tasks.run_job_task": BULK,
    "voxloop.analysis.tasks.find_emerging_topics_task": BULK,
    "voxloop.analysis.tasks.adapt_fast_lane_task": BULK,  # self-training on the installation's own feedback
    "voxloop.insights.tasks.assign_segments_task": BULK,
    "voxloop.cases.tasks.fill_holidays_task": BULK,  # next year's holidays from the library, once a day
    # batches of over 50 items only: smaller ones are indexed in the storing transaction itself.
    "voxloop.search.tasks.index_feedback_task": BULK,
    "voxloop.privacy.tasks.apply_retention_task": BULK,  # nightly retention
    "voxloop.actions.tasks.measure_effects_task": BULK,  # effect of improvement actions at 14/30/60/90 days
    "voxloop.actions.tasks.measure_action_task": BULK,  # the same on demand
    "voxloop.reports.tasks.generate_report_task": BULK,  # a service-quality report: snapshot, PDF, workbook
    "voxloop.reports.tasks.generate_due_reports_task": BULK,  # daily, after the roll-ups: the scheduled reports
    # refine: the refine lane's periodic drain (a bounded batch of the least certain unrefined items).
    "voxloop.analysis.tasks.refine_drain_task": REFINE,
}
