"""gunicorn settings for production: `.venv/bin/gunicorn -c gunicorn.conf.py` (see README, "Running it for real").

Sync workers with --preload: each worker handles one request at a time, which on the 2-core machines measured did
better than gthread workers with keep-alive clients (bench/load.py). The mediation room's Socket.IO connections are
long-lived and need threads: serve /socket.io/ from a second gunicorn with gthread workers (README)."""
import os

wsgi_app = "app.wsgi:application"
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "4"))  # about 2 per core
worker_class = "sync"
preload_app = True          # app.wsgi warms jieba, the routing engine and the templates once, before the fork
timeout = 30
graceful_timeout = 10
backlog = 2048              # bursts wait in the kernel's queue rather than being refused
max_requests = 0            # no periodic restarts: nothing leaks per request
# Each worker's heartbeat touches a file after every request: in memory, not on the disk's journal (an os.utime on
# ext4 took up to 3 ms, 0.09 on /dev/shm; gunicorn's docs advise this).
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108  (gunicorn uses mkstemp)
logger_class = "app.privacy.logging_filter.GunicornLogger"  # ID and phone numbers redacted in gunicorn's own logs
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None    # e.g. "-" for stdout
# gunicorn's default line plus the request id the app answered (X-Request-ID: the security log's request_id=)
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" rid=%({x-request-id}o)s'
