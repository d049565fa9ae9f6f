"""Queues on the simulated carrier: `<Enqueue>` parks a call until a redirect or `<Dial><Queue>`."""

from core.telephony.sim.records import Call, new_sid
from core.telephony.sim.twiml import Next


class QueueSwitch:
    """The carrier's named queues of parked calls (mixed into `SimCarrier`)."""

    def queue_sid(self, name: str) -> str:
        """Return the QueueSid of the queue `name` (created on first use)."""
        with self._lock:
            return self._queue_sids.setdefault(name, new_sid("QU"))

    def park(self, call: Call, name: str, enqueue: dict) -> tuple[int, int]:
        """Put `call` at the end of the queue `name`; return its position and the queue size."""
        with self._lock:
            queue = self._queues.setdefault(name, [])
            queue.append(call)
            call.queue = name
            call.enqueue = enqueue
            return len(queue), len(queue)

    def take_front(self, name: str) -> tuple[Call, dict] | None:
        """Remove the first call waiting in `name`; return it with its Enqueue details."""
        with self._lock:
            for call in list(self._queues.get(name) or []):
                taken = self._unpark(call)
                if taken is not None:
                    return call, taken[1]
            return None

    def _unpark(self, call: Call) -> tuple[str, dict] | None:
        with self._lock:
            if call.queue is None:
                return None
            name, enqueue = call.queue, call.enqueue
            self._queues[name].remove(call)
            call.queue = call.enqueue = None
            return name, enqueue

    def leave_queue(self, call: Call, result: str, post: bool) -> Next | None:
        """Take `call` out of its queue; return the Enqueue action request (posted when `post`)."""
        taken = self._unpark(call)
        if taken is None:
            return None
        return self.enqueue_result(call, *taken, result, post)

    def enqueue_result(
        self, call: Call, name: str, enqueue: dict, result: str, post: bool
    ) -> Next | None:
        """Build (and with `post`, send ignoring its answer) the Enqueue action request."""
        if not enqueue.get("action"):
            return None
        params = {
            "QueueResult": result,
            "QueueSid": self.queue_sid(name),
            "QueueTime": str(round(call.elapsed - enqueue["since"])),
        }
        nxt = Next(enqueue["action"], enqueue["method"], params, context="call")
        if post:
            self._post_ignoring_answer(call, nxt)
        return nxt

    def _resume_parked(self, call: Call, url: str) -> None:
        taken = self._unpark(call)
        if taken is None:
            self.errors.append(f"redirect of {call.sid}: it is no longer queued")
            return
        self.enqueue_result(call, *taken, "redirected", post=True)
        self._finish(call, self._run(call, Next(url, context="call"), "call"))

    def _hang_up_parked(self, call: Call) -> None:
        taken = self._unpark(call)
        self._end(call, "completed")
        if taken is not None:
            self.enqueue_result(call, *taken, "hangup", post=True)

    def continue_later(self, call: Call, nxt: Next | None) -> None:
        """Resume `call` with `nxt` (or end it) as a pending action of its own."""
        self._queue_action(("continue", call.sid, nxt))

    def _continue(self, call: Call, nxt: Next | None) -> None:
        if nxt is None:
            self._end(call, "completed")
        else:
            self._finish(call, self._run(call, nxt, "call"))
