"""The voice flow's services, one idea a module; this module re-exports them for callers.

- `hotline.calls`: lookup, the incoming call, refusals (blocked, rate limit), the queue
- `hotline.menu`: the voice menu of municipalities and topics
- `hotline.appeals`: registering appeals, deadlines, the registration SMS, status, moves
- `hotline.chain`: the duty chain and the call's next step
- `hotline.endings`: status callbacks and closing what a call's end left open
"""

from hotline.appeals import (
    DEFAULT_CALLBACK_MINUTES,
    DEFAULT_RESOLUTION_DAYS,
    appeal_deadlines,
    move_appeal,
    queue_registration_sms,
    register_appeal,
    set_appeal_status,
    store_recording,
)
from hotline.calls import (
    FINAL_STATUSES,
    enter_operators_queue,
    find_call,
    leave_operators_queue,
    load_call,
    lock_call,
    municipality_by_duty_number,
    operators_on_shift,
    record_incoming_call,
    refusal_reason,
    refuse_call,
    set_call_outcome,
)
from hotline.chain import (
    begin_attempt,
    caller_gone,
    chain_step,
    connect_call,
    exhaust_chain,
    finish_attempt,
    get_attempt,
    may_bridge,
    record_key_press,
    record_machine_answer,
    start_chain,
    whisper_subject,
)
from hotline.endings import (
    apply_status,
    finalise_ended_call,
    finalise_from_carrier,
)
from hotline.menu import (
    choose_category,
    choose_municipality,
    menu_categories,
    menu_municipalities,
    note_menu_retry,
    spoken_name_key,
)

__all__ = [
    "FINAL_STATUSES",
    "find_call",
    "load_call",
    "lock_call",
    "record_incoming_call",
    "municipality_by_duty_number",
    "refusal_reason",
    "refuse_call",
    "operators_on_shift",
    "enter_operators_queue",
    "leave_operators_queue",
    "set_call_outcome",
    "menu_municipalities",
    "menu_categories",
    "spoken_name_key",
    "choose_municipality",
    "choose_category",
    "note_menu_retry",
    "DEFAULT_CALLBACK_MINUTES",
    "DEFAULT_RESOLUTION_DAYS",
    "appeal_deadlines",
    "register_appeal",
    "queue_registration_sms",
    "store_recording",
    "set_appeal_status",
    "move_appeal",
    "whisper_subject",
    "start_chain",
    "chain_step",
    "begin_attempt",
    "get_attempt",
    "record_key_press",
    "finish_attempt",
    "record_machine_answer",
    "caller_gone",
    "may_bridge",
    "connect_call",
    "exhaust_chain",
    "apply_status",
    "finalise_ended_call",
    "finalise_from_carrier",
]
