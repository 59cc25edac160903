"""Which case a customer's email answers, and the Message-IDs that let us tell.

Every message we send a customer about a case carries a Message-ID we make and store (``outgoing_message_id``);
mail clients put it in the reply's In-Reply-To and References. A stored message is matched to a case, first
match wins:

1. In-Reply-To / References name one of our Message-IDs: that message's case (from any sender: customers
   answer from another address, and the ID is not guessable);
2. In-Reply-To / References name an earlier customer email that belongs to a case: that case;
3. the subject carries a case number (``C0002375``; full-width characters and brackets are folded first, so
   "回复：（工单 Ｃ０００２３７５）" works): that case, but only when the sender is the case's customer, because a
   number is easy to guess and must not let a stranger write into someone else's case;
4. the body quotes a tracking link (``/t/<token>/``) of a case whose link is still valid.

Automatic replies (out-of-office, RFC 3834 ``Auto-Submitted``) join nothing: they would reopen cases.
What joining does to the case (reopen, follow-up case) is decided by ``voxloop.cases.replies``.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from email.utils import make_msgid
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from voxloop.cases.guards import CaseError
from voxloop.cases.models import Case, CaseFeedback
from voxloop.cases.replies import ReplyOutcome, receive_customer_reply
from voxloop.channels.email.models import SentMessageId
from voxloop.channels.email.parsing import ParsedMail
from voxloop.feedback.models import Channel, Feedback

# A case number as services.open_case writes it (C + at least seven digits), not inside a longer word or number.
CASE_NUMBER = re.compile(r"(?<![A-Za-z0-9])C\d{7,12}(?![0-9])", re.IGNORECASE)
# The tracking page's path (cases/public_urls.py); tokens are secrets.token_urlsafe(24), 32 characters.
TRACKING_PATH = re.compile(r"/t/([A-Za-z0-9_-]{20,64})(?=[/\"'<>\s]|$)")
REPLY_TEXT_LIMIT = 5000
logger = logging.getLogger(__name__)  # what the case timeline shows of the message; the feedback keeps all of it


@dataclass(frozen=True)
class Joined:
    feedback_id: int
    how: str  # "message_id", "thread", "subject_number", "tracking_link"
    outcome: ReplyOutcome


def _domain() -> str:
    sender = settings.DEFAULT_FROM_EMAIL.rsplit("<", 1)[-1].rstrip(">").strip()
    if "@" in sender:
        return sender.rsplit("@", 1)[1]
    return urlsplit(settings.SITE_URL).hostname or "voxloop.invalid"


def outgoing_message_id(case_id: int, outgoing_id: int) -> str:
    """The Message-ID header (with angle brackets) of an outgoing message about a case; made on first use and
    stored, so every retry of the message sends the same one."""
    found = SentMessageId.objects.filter(outgoing_id=outgoing_id).values_list("message_id", flat=True).first()
    if found is None:
        made = make_msgid(idstring=f"case{case_id}", domain=_domain()).strip("<>")
        found = SentMessageId.objects.get_or_create(
            outgoing_id=outgoing_id, defaults={"message_id": made, "case_id": case_id}
        )[0].message_id
    return f"<{found}>"


def _folded(text: str) -> str:
    """Full-width letters, digits and brackets to their ASCII forms (NFKC): "（工单 Ｃ０００２３７５）"."""
    return unicodedata.normalize("NFKC", text or "")


def _references(mail: ParsedMail) -> list[str]:
    return [ref for ref in dict.fromkeys([mail.in_reply_to, *reversed(mail.references)]) if ref]


def find_cases(items: Sequence[tuple[ParsedMail, int]]) -> dict[int, tuple[int, str]]:
    """feedback id -> (case id, how it was found) for the stored messages that answer a case; a few queries for
    the whole chunk, whatever its size."""
    wanted = [(mail, fid) for mail, fid in items if not mail.auto_reply]
    found: dict[int, tuple[int, str]] = {}
    refs = {ref for mail, _fid in wanted for ref in _references(mail)}
    ours = dict(SentMessageId.objects.filter(message_id__in=refs).values_list("message_id", "case_id")) if refs else {}
    own_ids = [fid for _mail, fid in wanted]
    earlier: dict[str, int] = {}
    if refs - set(ours):
        # An earlier message of the customer's own thread that a case already answers (newest link wins).
        rows = (
            CaseFeedback.objects.filter(feedback__channel=Channel.EMAIL, feedback__external_id__in=refs - set(ours))
            .exclude(feedback_id__in=own_ids)
            .order_by("linked_at", "id")
            .values_list("feedback__external_id", "case_id")
        )
        earlier = dict(rows)
    numbers = {}
    tokens = {}
    for mail, fid in wanted:
        number = CASE_NUMBER.search(_folded(mail.subject))
        if number:
            numbers[fid] = number.group(0).upper()
        token = TRACKING_PATH.search(mail.body_text) or TRACKING_PATH.search(mail.body_html)
        if token:
            tokens[fid] = token.group(1)
    by_number = dict(
        Case.objects.filter(number__in=set(numbers.values())).values_list("number", "pk")
    ) if numbers else {}  # fmt: skip
    case_customer = dict(Case.objects.filter(pk__in=by_number.values()).values_list("pk", "customer_id"))
    sender = dict(Feedback.objects.filter(pk__in=list(numbers)).values_list("pk", "customer_id")) if numbers else {}
    now = timezone.now()
    by_token = (
        dict(
            Case.objects.filter(tracking_token__in=set(tokens.values()))
            .filter(Q(tracking_expires_at__isnull=True) | Q(tracking_expires_at__gt=now))
            .values_list("tracking_token", "pk")
        )
        if tokens
        else {}
    )
    for mail, fid in wanted:
        refs_of = _references(mail)
        ours_hit = next((ours[r] for r in refs_of if r in ours), None)
        thread_hit = next((earlier[r] for r in refs_of if r in earlier), None)
        number_case = by_number.get(numbers.get(fid, ""))
        if ours_hit:
            found[fid] = (ours_hit, "message_id")
        elif thread_hit:
            found[fid] = (thread_hit, "thread")
        elif number_case and sender.get(fid) and case_customer.get(number_case) == sender.get(fid):
            found[fid] = (number_case, "subject_number")
        elif tokens.get(fid) in by_token:
            found[fid] = (by_token[tokens[fid]], "tracking_link")
    return found


def join_replies(items: Sequence[tuple[ParsedMail, int]]) -> list[Joined]:
    """Put each stored message that answers a case on that case (cases.replies decides how). Runs inside the
    storing transaction, so the rules, which run after it commits, find the message already in its case."""
    found = find_cases(items)
    joined = []
    for mail, fid in items:
        if fid in found:
            case_id, how = found[fid]
            text = (mail.text or mail.subject)[:REPLY_TEXT_LIMIT]
            try:
                with transaction.atomic():  # a savepoint: a reply the case refuses leaves the others alone
                    outcome = receive_customer_reply(case_id, fid, text=text, via="email")
            except CaseError as exc:
                # E.g. no SLA policy for a follow-up case: the message stays stored, unjoined, and goes through
                # the rules like any new feedback; the mailbox keeps being read.
                logger.warning("email %s answers case %s but could not join it: %s", fid, case_id, exc.message)
                continue
            joined.append(Joined(fid, how, outcome))
    return joined
