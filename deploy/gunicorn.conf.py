"""gunicorn settings for production: `gunicorn -c deploy/gunicorn.conf.py wsgi:app`."""

import gc
import os
import shutil
import tempfile

#: Every worker writes its metric files here; /metrics adds them up. prometheus_client reads it
#: when first imported, so it is set before anything imports it (the app is preloaded below).
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="hotline-metrics-"))

bind = os.environ.get("BIND", "127.0.0.1:8000")
#: Webhooks are short and mostly wait on PostgreSQL: a process per CPU (two at least, so one
#: keeps answering while another restarts), a few threads each. On 2 vCPUs, 2 processes served
#: 7 % more webhooks a second than 4 and 25 % more than 8 (bench/README.md).
workers = int(os.environ.get("WEB_CONCURRENCY", max(2, os.cpu_count() or 1)))
threads = int(os.environ.get("WEB_THREADS", 4))
#: One pooled database connection per thread: a thread beyond the pool would open and close
#: a connection of its own for every request.
os.environ.setdefault("DATABASE_POOL_SIZE", str(threads))
worker_class = "gthread"
#: Twilio gives a webhook 15 s; answer or fail well before.
timeout = 10
graceful_timeout = 20
#: Behind nginx: keep its upstream connections open.
keepalive = 75
preload_app = True
control_socket_disable = True
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = "-"
#: Leaves out the requests pages repeat on a timer (the console's queue, a chain's progress).
logger_class = "core.access_log.QuietPollingLogger"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms rid=%({x-request-id}i)s'


def on_starting(server):
    """Start each run with an empty metrics folder."""
    folder = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder, exist_ok=True)


def pre_fork(server, worker):
    """Hide the preloaded app from the garbage collector before forking a worker."""
    # Forked workers keep sharing its memory, and their full collections walk only what they
    # allocate themselves: a collection over the whole app paused every thread for ~50 ms.
    gc.freeze()


def child_exit(server, worker):
    """Forget the live gauges of a worker that exited."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
