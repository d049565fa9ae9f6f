"""Cards, callbacks and appeal tracking: the services views, webhooks and jobs call.

What lives where (each name is also importable from `callbacks.services`):
- `common`: `CardError`, the clock (`now`), card links, the duty of a card and who is on it.
- `tracking`: the appeal's tracking row, the check-in schedule and the check-in SMS.
- `cards`: opening a card and its follow-up jobs; acknowledging it and adding notes.
- `forwarding`: moving a wrongly routed card to another municipality.
- `notifying`: the opening SMS to the duty, the reminder, the escalation, the deadline.
- `callbacks`: click-to-call: ringing the official, retries, the citizen's leg, reconciliation.
- `outcomes`: recording what was done, closing an appeal, taking it back into work.
- `confirmation`: asking the citizen whether it is solved and taking the answer.
- `replies`: incoming SMS (a citizen's confirmation or an official's status reply).
- `reading`: the cabinet's card query, one visible card, its SMS and its timeline.
- `photos`: the before/after photos of a card.

Services never import `callbacks.jobs` (which imports them): they enqueue a job by its
dotted path, e.g. `"callbacks.jobs.remind_card"`.
"""

from callbacks.services.callbacks import (
    CALLBACK_LOST_AGE,
    CALLBACK_NEVER_PLACED,
    CALLBACK_RESULT_LOST,
    CALLBACK_UNKNOWN,
    CALLBACK_UNKNOWN_AGE,
    MACHINE,
    callable_officials,
    callback_not_placed,
    callback_retry_job_id,
    claim_callback_try,
    close_callback_duty,
    due_callback_retries,
    fail_callback,
    finish_callback,
    finish_unaccepted_callback,
    note_callback_sid,
    place_callback,
    reconcile_callback,
    record_callback_key,
    ring_official,
    start_callback,
    unfinished_callbacks,
)
from callbacks.services.cards import (
    DEFAULT_CALLBACK,
    REMINDER_AFTER,
    RESTRICTED_NOTE_READERS,
    acknowledge_card,
    add_card_note,
    card_job_ids,
    open_card,
    open_registered_card,
    schedule_card_jobs,
)
from callbacks.services.common import (
    DUTY_ROLES,
    CardError,
    appeal_topic,
    card_link,
    card_path,
    duty_from_routing,
    duty_recipients,
    now,
    stamp,
)
from callbacks.services.confirmation import (
    answer_confirmation,
    ask_citizen,
    close_unconfirmed,
    confirmation_text,
)
from callbacks.services.forwarding import forward_card
from callbacks.services.notifying import (
    card_opened_text,
    escalate_card,
    mark_card_overdue,
    mark_notified,
    remind_card,
    send_card_sms,
)
from callbacks.services.outcomes import (
    CONFIRMATION_WINDOW,
    FORMAL_PHRASES,
    MIN_UNCODED_TEXT,
    RESOLUTION_CODES,
    close_appeal,
    close_card,
    looks_formal,
    record_outcome,
    reopen_card,
    resolve_appeal,
    take_appeal_into_work,
)
from callbacks.services.photos import photo_path, save_photo
from callbacks.services.reading import card_messages, card_timeline, cards_query, get_visible_card
from callbacks.services.replies import take_incoming_sms
from callbacks.services.telling import send_head_digests
from callbacks.services.tracking import (
    CHECKIN_BY_URGENCY,
    DEFAULT_CHECKIN,
    TRACKED_STATUSES,
    checkin_interval,
    checkin_job_id,
    checkin_job_id_of,
    due_checkins,
    ensure_tracking,
    next_checkins,
    responsible_phone,
    run_checkin,
    run_checkins,
    track_new_appeals,
)

__all__ = [
    "send_head_digests",
    "CALLBACK_LOST_AGE",
    "CALLBACK_NEVER_PLACED",
    "CALLBACK_RESULT_LOST",
    "CALLBACK_UNKNOWN",
    "CALLBACK_UNKNOWN_AGE",
    "CHECKIN_BY_URGENCY",
    "CONFIRMATION_WINDOW",
    "CardError",
    "DEFAULT_CALLBACK",
    "DEFAULT_CHECKIN",
    "DUTY_ROLES",
    "FORMAL_PHRASES",
    "MACHINE",
    "MIN_UNCODED_TEXT",
    "REMINDER_AFTER",
    "RESOLUTION_CODES",
    "RESTRICTED_NOTE_READERS",
    "TRACKED_STATUSES",
    "acknowledge_card",
    "add_card_note",
    "answer_confirmation",
    "appeal_topic",
    "ask_citizen",
    "callable_officials",
    "callback_not_placed",
    "callback_retry_job_id",
    "card_job_ids",
    "card_link",
    "card_messages",
    "card_opened_text",
    "card_path",
    "card_timeline",
    "cards_query",
    "checkin_interval",
    "checkin_job_id",
    "checkin_job_id_of",
    "claim_callback_try",
    "close_appeal",
    "close_callback_duty",
    "close_card",
    "close_unconfirmed",
    "confirmation_text",
    "due_callback_retries",
    "due_checkins",
    "duty_from_routing",
    "duty_recipients",
    "ensure_tracking",
    "escalate_card",
    "fail_callback",
    "finish_callback",
    "finish_unaccepted_callback",
    "forward_card",
    "get_visible_card",
    "looks_formal",
    "mark_card_overdue",
    "mark_notified",
    "next_checkins",
    "note_callback_sid",
    "now",
    "open_card",
    "open_registered_card",
    "photo_path",
    "place_callback",
    "reconcile_callback",
    "record_callback_key",
    "record_outcome",
    "remind_card",
    "reopen_card",
    "resolve_appeal",
    "responsible_phone",
    "ring_official",
    "run_checkin",
    "run_checkins",
    "save_photo",
    "schedule_card_jobs",
    "send_card_sms",
    "stamp",
    "start_callback",
    "take_appeal_into_work",
    "take_incoming_sms",
    "track_new_appeals",
    "unfinished_callbacks",
]
