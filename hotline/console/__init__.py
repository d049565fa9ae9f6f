"""The operator console.

- `queue`: shifts, the waiting calls, taking a call and giving it back
- `handling`: the caller card, who is responsible, the appeal, connecting the caller
- `carrier`: the actions that ask the carrier, committed before and after the ask
- `control`: the control list of open appeals, timelines, the search
- `services`: re-exports the four above for the views
- `views`: the shift, queue and call pages; `appeal_views`: control, appeals and search pages
- `voice`: the webhooks of the caller's leg to the operator (TwiML from `twiml`); `jobs`
"""
