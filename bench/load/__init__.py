"""The pieces of the whole-system load run (`bench/load_run.py`).

`stack` starts and stops the run's own processes (Redis, gunicorn, RQ workers, the scheduler,
PostgreSQL when it is its own) and breaks them on purpose; `scenario` is what the citizens and
the heads do (the carrier's transport, the calls, the callbacks); `checks` counts from the
database and the queue what went missing or was doubled.
"""
