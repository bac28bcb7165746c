"""The court API's error format, {"error": {"code": ..., "message": ...}}, for every error under /api/v1.

The API blueprint's own handlers use it; app.core.errors delegates here for what never reaches the blueprint
(unknown paths: 404, a wrong method: 405 with its Allow header, unexpected exceptions: 500), so a court's
system never gets an HTML page from /api/v1."""
from __future__ import annotations

from flask import jsonify
from werkzeug.exceptions import HTTPException

API_PREFIX = "/api/v1"
ERROR_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 409: "conflict", 410: "gone", 413: "too_large", 415: "unsupported_media_type",
               422: "invalid_request", 429: "too_many_requests", 500: "server_error", 503: "unavailable"}
MESSAGES = {400: "Malformed request.", 404: "No such resource (or it is not escalated to this court).",
            405: "Method not allowed.", 409: "The record was changed meanwhile: fetch it again and retry.",
            413: "The request body is too large (at most 64 KB).",
            500: "Internal error; it has been logged. Please try again later.",
            503: "The service is unavailable right now."}
KEPT_HEADERS = ("Allow", "Retry-After")  # what a client needs from the original exception


class ApiError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None):
        super().__init__(message)
        self.status, self.message, self.code = status, message, code or ERROR_CODES.get(status, "error")


def is_api_path(path: str) -> bool:
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")


def error_response(status: int, message: str, code: str | None = None):
    resp = jsonify(error={"code": code or ERROR_CODES.get(status, "error"), "message": message})
    resp.status_code = status
    if status == 401:
        resp.headers["WWW-Authenticate"] = 'Bearer realm="jiefen-court-api"'
    resp.headers["Cache-Control"] = "no-store"
    return resp


def http_error_response(status: int, exc: BaseException | None = None):
    """The JSON answer for an HTTP error (or an unexpected exception: 500), keeping Allow on a 405."""
    if status >= 500 and not isinstance(exc, HTTPException):
        status = 500  # never echo an exception's text
    message = MESSAGES.get(status) or (exc.description if isinstance(exc, HTTPException) else None) or "Error."
    resp = error_response(status, message)
    if isinstance(exc, HTTPException):
        for name, value in exc.get_headers():
            if name in KEPT_HEADERS:
                resp.headers[name] = value
    return resp
