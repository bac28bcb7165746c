"""gunicorn server hooks for the benches: each request's CPU time in its worker, one line per request in
$JIEFEN_BENCH_CPU_LOG ("METHOD /path status cpu_us"), for bench/load_server.server_cpu_by_page().

The clock starts once gunicorn has parsed the request and stops once the response is written (the socket's close
and the accept of the next connection are not in it). Only the benches load this file (gunicorn -c)."""
import os
import time

_log = None


def post_fork(server, worker):
    global _log
    path = os.environ.get("JIEFEN_BENCH_CPU_LOG")
    # Line-buffered appends: each line is one short write, so the workers' lines do not interleave.
    # Open for the worker's life.
    _log = open(path, "a", buffering=1, encoding="utf-8") if path else None


def pre_request(worker, req):
    req.cpu_started = time.process_time()


def post_request(worker, req, environ, resp):
    if _log is not None:
        spent = time.process_time() - getattr(req, "cpu_started", time.process_time())
        _log.write(f"{req.method} {req.path} {resp.status_code if resp else 0} {int(spent * 1e6)}\n")
