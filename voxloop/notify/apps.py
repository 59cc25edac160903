from django.apps import AppConfig
from django.core.checks import register
from django.utils.translation import gettext_lazy as _


class NotifyConfig(AppConfig):
    name = "voxloop.notify"
    label = "notify"
    verbose_name = _("Notifications")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here: models can only be imported once the app registry is ready.
        from voxloop.actions.hooks import action_overdue, action_reopened, register_notice_sender
        from voxloop.alerts.hooks import register_alert_announcer
        from voxloop.cases import followup
        from voxloop.cases.delivery import register_customer_router, register_reply_delivery
        from voxloop.cases.outbox import register_event_handler
        from voxloop.cases.queries import register_reason_labels
        from voxloop.notify import inbox
        from voxloop.notify.checks import check_escalation_chain
        from voxloop.notify.models import DeliveryChannel, NotSentReason
        from voxloop.notify.routing import route_customer
        from voxloop.notify.services import handle_case_event, reply_preview, reply_route
        from voxloop.notify.staff import queue_alert_emails
        from voxloop.notify.surveys import send_fix_notice, send_survey_email
        from voxloop.surveys.delivery import register_survey_mailer

        # Why a message was not sent reads as words on the case timeline ("no email address"), not as a code.
        register_reason_labels(dict(NotSentReason.choices))
        # Case events become outgoing messages (stored in the outbox transaction, sent after commit).
        register_event_handler(handle_case_event)
        # ... and in-app notifications (the bell), for the same colleagues plus assignees and @mentions.
        register_event_handler(inbox.handle_case_event)
        # The case page's reply composer asks notify where a reply would go before the agent sends it.
        register_reply_delivery(reply_route, reply_preview)
        # ... and every message to a customer (replies, fix notices, incident replies) asks one routing rule.
        register_customer_router(route_customer)
        # A new or worse early-warning alert is e-mailed to its subscribers through the same outbox.
        register_alert_announcer("emails", queue_alert_emails)
        # Survey invitations and reminders go out through the outbox too (all outbound e-mail is notify's).
        register_survey_mailer(send_survey_email)
        # Bad follow-up / auto-close settings stop start-up with a clear message instead of failing on resolve.
        register(followup.check_settings)
        # An escalation level that names nobody for a team falls back to the administrators: say so at start-up.
        register(check_escalation_chain)
        # Late improvement actions: a reminder to the owner, then an escalation to the department's manager.
        action_overdue.register(inbox.handle_action_overdue)
        # A closed action reopened by a new alert on its scope: its owner is told.
        action_reopened.register(inbox.handle_action_reopened)
        # "You told us, we fixed it" notices go out through the outbox by the customer's channel, logged like
        # every message.
        for channel in DeliveryChannel.values:
            register_notice_sender(channel, send_fix_notice)
