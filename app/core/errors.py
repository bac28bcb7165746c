"""Domain errors that views turn into readable 4xx pages, and the error handlers."""
from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

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


CONFLICT_MESSAGE = "保存失败：此案件已被他人修改（您看到的是旧版本）。请刷新页面查看最新内容后再操作，您的修改未被保存。"

_TITLES = {
    400: "请求有误", 403: "无权访问", 404: "未找到", 405: "不允许的操作", 409: "操作冲突",
    413: "文件过大", 422: "无法处理", 429: "请求过于频繁", 500: "服务器错误",
}
_DEFAULT_MESSAGES = {
    400: "请求格式有误或表单已过期，请返回上一页刷新后重试。",
    403: "您没有权限执行此操作。",
    404: "您要找的页面不存在，或您无权查看。",
    405: "不支持此操作方式。",
    413: "上传的文件太大（每个文件最多 20 MB）。",
    429: "操作过于频繁，请稍后再试。",
    500: "服务器出了点问题，我们已记录，请稍后再试。",
}


def _render(status: int, message: str):
    if request.accept_mimetypes.best == "application/json" or request.path.startswith("/api/"):
        return jsonify(error=message, status=status), status
    title = _TITLES.get(status, "出错了")
    return render_template("core/error.html", status=status, title=title, message=message), status


def register_error_handlers(app: Flask) -> None:
    """Roll back on every error and answer with a page in Chinese."""

    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        db.session.rollback()
        return _render(exc.status_code, exc.message)

    @app.errorhandler(StaleDataError)
    def stale(exc: StaleDataError):
        db.session.rollback()
        return _render(409, CONFLICT_MESSAGE)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        db.session.rollback()
        message = _DEFAULT_MESSAGES.get(exc.code or 500, exc.description or "")
        if exc.code == 400 and getattr(exc, "description", "") and "CSRF" in exc.description:
            message = "表单已过期或缺少安全令牌（CSRF），请刷新页面后重新提交。"
        return _render(exc.code or 500, message)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        db.session.rollback()
        if app.testing:
            raise exc
        app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        return _render(500, _DEFAULT_MESSAGES[500])
