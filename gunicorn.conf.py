"""Gunicorn settings for `gunicorn helpdesk.wsgi:application -c gunicorn.conf.py`.

Environment:
  HOST / PORT        bind address (default 127.0.0.1:8000); GUNICORN_BIND overrides both
  WEB_CONCURRENCY    worker processes (default 2)
  GUNICORN_THREADS   threads per worker (default 4)
"""

import os

_host = os.environ.get("HOST") or "127.0.0.1"
_port = os.environ.get("PORT") or "8000"

bind = os.environ.get("GUNICORN_BIND") or f"{_host}:{_port}"
workers = int(os.environ.get("WEB_CONCURRENCY") or 2)
threads = int(os.environ.get("GUNICORN_THREADS") or 4)
worker_class = "gthread"
timeout = 30
graceful_timeout = 20
keepalive = 5
preload_app = False
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# Recycle workers now and then so a slow leak cannot grow without bound.
max_requests = 2000
max_requests_jitter = 200
# Gunicorn >= 24 opens a control socket in ~/.gunicorn by default; two
# checkouts (or containers sharing a home) would fight over it. Not needed.
control_socket_disable = True


def post_worker_init(worker) -> None:
    """Move the loaded app out of the garbage collector's sight: fewer, shorter collections
    (and steadier response times) for objects that live as long as the worker."""
    import gc

    gc.collect()
    gc.freeze()
