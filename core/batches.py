"""Due work in batches: one job per batch of ids, rows claimed with `FOR UPDATE SKIP LOCKED`.

A feature's sweep finds the ids of its due rows and calls `enqueue_batches(job, found)`; the
batch job opens with `claim_rows(query)` and does all of them in one transaction, so two
workers never take the same row and a worker killed mid-batch leaves every row as it was.
An item that fails inside a batch is handed to its single-item job (`enqueue_alone`), so it
is retried alone and its batch goes on.
"""

import hashlib
import logging
from collections.abc import Iterable, Sequence

from sqlalchemy import Select

from core.extensions import db
from core.queue import enqueue_after_commit, enqueue_due_jobs

log = logging.getLogger(__name__)

#: Items one batch job takes.
BATCH_SIZE = 200


def chunks(items: Sequence, size: int) -> list[list]:
    """Split `items` into lists of at most `size`, in order."""
    return [list(items[start : start + size]) for start in range(0, len(items), size)]


def batch_job_id(prefix: str, keys: Iterable) -> str:
    """Return a job id naming exactly these items (the same due items give the same id)."""
    digest = hashlib.sha1(",".join(str(key) for key in keys).encode()).hexdigest()[:20]
    return f"{prefix}-batch-{digest}"


def enqueue_batches(
    func, due: Sequence[tuple[int, object]], prefix: str, size: int | None = None
) -> int:
    """Enqueue `func(ids)` for each batch of due (id, version) pairs; return items enqueued.

    `version` (e.g. the due moment) goes into the job id, so a sweep that finds the same items
    due again leaves a batch that waits or runs alone. Two Redis round trips for all batches.
    """
    batches = {
        batch_job_id(prefix, batch): batch for batch in chunks(list(due), size or BATCH_SIZE)
    }
    jobs = [(([item_id for item_id, _ in batch],), job_id) for job_id, batch in batches.items()]
    return sum(len(batches[job_id]) for job_id in enqueue_due_jobs(func, jobs))


def claim_rows(query: Select, of=None) -> list:
    """Run `query` locking its rows; rows another transaction holds are skipped, not awaited.

    PostgreSQL: `FOR UPDATE SKIP LOCKED` (`of`: the model whose rows are locked). SQLite has
    one writer at a time, so there the rows are read as they are, and a second writer waits
    for the first's commit.
    """
    return db.session.execute(query.with_for_update(skip_locked=True, of=of)).all()


def enqueue_alone(func, item_ids: Iterable[int], job_id) -> None:
    """Hand each item to its single-item job after the commit (`job_id(item_id)` names it)."""
    for item_id in item_ids:
        log.warning("%s: item %s left its batch, retried alone", _name(func), item_id)
        enqueue_after_commit(func, item_id, job_id=job_id(item_id))


def _name(func) -> str:
    return func if isinstance(func, str) else f"{func.__module__}.{func.__qualname__}"
