"""Domain errors that views turn into readable 4xx pages, and the error handlers."""
from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from app.core import security_log
from app.core.i18n import N_, gettext
from app.core.request_id import request_id
from app.extensions import db


class DomainError(Exception):
    """A refused request with a message for the user (Chinese first) and an HTTP status."""

    status_code = 400

    def __init__(self, message: str, status_code: int | None = None):
        super().__init__(message)
        self.message = message
        if status_code is not None:
            self.status_code = status_code


class TransitionRefused(DomainError):
    """The funnel does not allow this step now; the message says why."""

    status_code = 409


class EditConflict(DomainError):
    """Someone else changed the record since this form was loaded."""

    status_code = 409


# Constants are marked with N_ (kept in Chinese) and translated where they are shown: gettext(CONSTANT).
CONFLICT_MESSAGE = N_("保存失败：此案件已被他人修改（您看到的是旧版本）。请刷新页面查看最新内容后再操作，您的修改未被保存。")

_TITLES = {
    400: N_("请求有误"), 403: N_("无权访问"), 404: N_("未找到"), 405: N_("不允许的操作"), 409: N_("操作冲突"),
    413: N_("文件过大"), 422: N_("无法处理"), 429: N_("请求过于频繁"), 500: N_("服务器错误"),
}
_DEFAULT_MESSAGES = {
    400: N_("请求格式有误或表单已过期，请返回上一页刷新后重试。"),
    403: N_("您没有权限执行此操作。"),
    404: N_("您要找的页面不存在，或您无权查看。"),
    405: N_("不支持此操作方式。"),
    413: N_("上传的文件太大（每个文件最多 20 MB）。"),
    429: N_("操作过于频繁，请稍后再试。"),
    500: N_("服务器出了点问题，我们已记录，请稍后再试。"),
}


def _render(status: int, message: str, exc: BaseException | None = None):
    from app.api.errors import http_error_response, is_api_path

    if is_api_path(request.path):  # the court API answers in its own JSON error format, Allow kept on a 405
        return http_error_response(status, exc)
    if request.accept_mimetypes.best == "application/json" or request.path.startswith("/api/"):
        return jsonify(error=message, status=status), status
    title = gettext(_TITLES.get(status, N_("出错了")))
    return render_template("core/error.html", status=status, title=title, message=message), status


# Flask-WTF's reasons (CSRFError.description) as tokens for the security log; any other is "other".
_CSRF_REASONS = {
    "The CSRF token is missing.": "token_missing", "The CSRF session token is missing.": "session_token_missing",
    "The CSRF token has expired.": "token_expired", "The CSRF token is invalid.": "token_invalid",
    "The CSRF tokens do not match.": "token_mismatch", "The referrer header is missing.": "referrer_missing",
    "The referrer does not match the host.": "referrer_mismatch",
}


def _log_refusal(status: int) -> None:
    """A 403 or 404 answered to a logged-in user is a security event. Not logged: static files, URLs that match no
    route (a browser's /favicon.ico, scanners) and anonymous visitors, who would flood the log."""
    if status in (403, 404) and request.url_rule is not None and request.endpoint != "static" \
            and current_user.is_authenticated:
        security_log.security_event("access_denied", "refused", status=status)


def register_error_handlers(app: Flask) -> None:
    """Roll back on every error and answer with a page in the visitor's language (Chinese by default)."""
    security_log.install()

    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        db.session.rollback()
        _log_refusal(exc.status_code)
        return _render(exc.status_code, exc.message)

    @app.errorhandler(StaleDataError)
    def stale(exc: StaleDataError):
        db.session.rollback()
        return _render(409, gettext(CONFLICT_MESSAGE))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        db.session.rollback()
        default = _DEFAULT_MESSAGES.get(exc.code or 500)
        message = gettext(default) if default else (exc.description or "")
        if exc.code == 400 and getattr(exc, "description", "") and "CSRF" in exc.description:
            message = gettext("表单已过期或缺少安全令牌（CSRF），请刷新页面后重新提交。")
        if isinstance(exc, CSRFError):
            security_log.security_event("csrf_failed", "refused", reason=_CSRF_REASONS.get(exc.description, "other"))
        else:
            _log_refusal(exc.code or 500)
        return _render(exc.code or 500, message, exc)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        db.session.rollback()
        if app.testing:
            raise exc
        app.logger.error("Unhandled error on %s %s (request_id=%s)", request.method, request.path, request_id(),
                         exc_info=exc)
        return _render(500, gettext(_DEFAULT_MESSAGES[500]), exc)
