"""gunicorn's settings for the web role, read from the environment:
`gunicorn -c python:zimage_site.gunicorn_conf zimage_site.wsgi` (Dockerfile,
docker-compose.yml and README all run it so).

`POST /v1/images/generations` keeps its request open while the image is made
(up to PROVIDER_TIMEOUT for the provider call, OPENAI_WAIT_TIMEOUT in all),
so the workers are threaded ("gthread"): a worker's main loop keeps telling
the arbiter it is alive while a thread waits, and a long request is never
killed as a hung worker, as a sync worker's would be after `timeout`. The
threads are also what serves every other request meanwhile (WEB_THREADS;
the OpenAI endpoint lets OPENAI_MAX_WAITING of them wait at once).

This file is read by gunicorn's master before Django is imported, so it reads
the environment itself, with the same defaults as zimage_site/settings.py.
"""

import os


def _seconds(name: str, default: str) -> float:
    return float(os.environ.get(name, default))


# The longest a request of this site waits on purpose, as settings.py reads it.
_LONGEST_WAIT = max(_seconds("PROVIDER_TIMEOUT", "120"), _seconds("OPENAI_WAIT_TIMEOUT", "120"))

wsgi_app = "zimage_site.wsgi"
bind = os.environ.get("WEB_BIND") or f"0.0.0.0:{os.environ.get('PORT') or 8000}"
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY") or 2)
threads = int(os.environ.get("WEB_THREADS") or 16)
# A worker silent this long is killed and replaced. A gthread worker stays
# silent only if it hangs, but the limit still covers the longest wait (plus
# storing the image) so that a worker class without threads would not cut
# requests the site means to answer.
timeout = int(os.environ.get("WEB_TIMEOUT") or _LONGEST_WAIT + 60)
# On a stop or reload, requests in flight (an image being made) may finish.
graceful_timeout = int(os.environ.get("WEB_GRACEFUL_TIMEOUT") or _LONGEST_WAIT + 10)
# Longer than a load balancer's idle timeout (often 60 s), so that the
# balancer, not gunicorn, closes an idle connection and never sends a request
# on one gunicorn has just closed. An idle connection holds no thread.
keepalive = int(os.environ.get("WEB_KEEPALIVE") or 75)
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("WEB_LOG_LEVEL") or "info"
# The workers' heartbeat files go to memory: on a container's overlay
# filesystem a write can stall long enough to look like a hung worker.
if os.path.isdir("/dev/shm"):
    worker_tmp_dir = "/dev/shm"


def metrics_dir() -> str:
    """Where every process writes its metrics (prometheus_client's
    multiprocess mode): PROMETHEUS_MULTIPROC_DIR, else VAR_DIR/metrics as
    zimage_site/settings.py chooses it."""
    base = os.environ.get("VAR_DIR") or os.path.join(os.path.dirname(os.path.dirname(__file__)), "var")
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.path.join(base, "metrics")


def metrics_dir_reset(path: str) -> None:
    """Empty the metrics folder: the files of an earlier run's processes
    would otherwise be summed into this run's counters forever."""
    os.makedirs(path, exist_ok=True)
    for name in os.listdir(path):
        if name.endswith(".db"):
            os.remove(os.path.join(path, name))


def on_starting(server):
    """In the master, before any worker forks: the workers inherit the folder."""
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir()
    metrics_dir_reset(os.environ["PROMETHEUS_MULTIPROC_DIR"])


def child_exit(server, worker):
    """A worker gone: its live gauges must stop counting (its counters stay)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
