"""The signed agreement's PDF: progress while a job renders and signs it, the download, and /verify."""
from __future__ import annotations

import logging

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.agreements import pdf as pdf_ops
from app.agreements import verify as verify_ops
from app.agreements.models import Agreement, AgreementPdf
from app.cases.models import Case
from app.cases.views import load_case
from app.core.errors import DomainError
from app.core.i18n import gettext
from app.documents.operations import pdf_download
from app.extensions import db, limiter
from app.privacy.reveal import record_document_download

log = logging.getLogger(__name__)
bp = Blueprint("agreement_pdf", __name__)


# --- what the pages show ---------------------------------------------------------------------------
def signed_agreement(case: Case) -> Agreement | None:
    """The case's current agreement when it is fully signed (the only kind that gets a PDF)."""
    agreement = pdf_ops.content_module().current_agreement(case)
    return agreement if agreement is not None and agreement.signed_at is not None else None


def _is_mediator(case: Case) -> bool:
    return current_user.is_authenticated and case.mediator_id is not None and case.mediator_id == current_user.id


def pdf_state(case: Case) -> dict:
    """{status: none|queued|running|done|failed, message, attempts, may_retry, ...} for the page, panel and JSON."""
    agreement = signed_agreement(case)
    row: AgreementPdf | None = pdf_ops.pdf_row(agreement.id) if agreement else None
    status = row.status if row else "none"
    message = None
    if row is not None and row.error:
        message = gettext(row.error, n=row.attempts)
    return {"agreement": agreement, "row": row, "status": status, "message": message,
            "attempts": row.attempts if row else 0, "is_mediator": _is_mediator(case),
            "may_retry": agreement is not None and _is_mediator(case) and pdf_ops.may_retry(row),
            "sha256": row.sha256 if row and row.status == "done" else None}


@bp.app_template_global()
def agreement_pdf_panel(case: Case) -> dict | None:
    """The PDF panel on the case page: only once the current agreement is fully signed."""
    state = pdf_state(case)
    return state if state["agreement"] is not None else None


# --- the case's PDF ----------------------------------------------------------------------------------
@bp.route("/cases/<int:case_id>/agreement/pdf")
@login_required
def progress(case_id: int):
    """Queued / running / done / failed; the page polls the status and reloads itself when it changes."""
    case = load_case(case_id)
    state = pdf_state(case)
    if state["agreement"] is not None and state["row"] is None:  # signed before the PDF step existed: ask now
        pdf_ops.request_pdf(state["agreement"].id)
        db.session.commit()
        state = pdf_state(case)
    return render_template("agreements/pdf_progress.html", case=case, state=state)


@bp.route("/cases/<int:case_id>/agreement/pdf/status")
@login_required
def status(case_id: int):
    case = load_case(case_id)
    state = pdf_state(case)
    body = {"status": state["status"], "message": state["message"], "attempts": state["attempts"],
            "sha256": state["sha256"]}
    if state["status"] == "done":
        body["download_url"] = url_for("agreement_pdf.download", case_id=case.id)
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/cases/<int:case_id>/agreement/pdf/retry", methods=["POST"])
@login_required
def retry(case_id: int):
    """The mediator asks for another attempt after a failure (or a worker that vanished)."""
    case = load_case(case_id)
    if not _is_mediator(case):
        abort(403)
    agreement = signed_agreement(case)
    if agreement is None:
        raise DomainError(gettext("协议尚未全部签署，签署完毕后才会生成 PDF。"), 409)
    row = pdf_ops.pdf_row(agreement.id)
    if row is not None and not pdf_ops.may_retry(row):
        flash(gettext("协议 PDF 已生成或正在生成，无需重试。"), "info")
    else:
        pdf_ops.request_pdf(agreement.id, again=True)
        db.session.commit()
        flash(gettext("已重新开始生成协议 PDF。"), "success")
    return redirect(url_for("agreement_pdf.progress", case_id=case.id))


@bp.route("/cases/<int:case_id>/agreement.pdf")
@login_required
def download(case_id: int):
    """The signed PDF as an attachment; 409 with a page saying why while it is not ready."""
    case = load_case(case_id)
    agreement = signed_agreement(case)
    if agreement is None:
        raise DomainError(gettext("协议尚未全部签署，暂无可下载的协议 PDF。"), 409)
    data = pdf_ops.signed_pdf_bytes(agreement)
    if data is None:
        raise DomainError(gettext("协议 PDF 尚未生成完毕，请稍后在协议 PDF 页面查看进度。"), 409)
    filename = f"jiefen-agreement-{case.id}-v{agreement.version}.pdf"
    record_document_download(case, current_user, f"调解协议书 {filename}", request.remote_addr)
    db.session.commit()
    return pdf_download(data, filename, pdf_ops.pdf_row(agreement.id).sha256)


# --- /verify (no login) -------------------------------------------------------------------------------
def _verify_rate_limit() -> str:
    return current_app.config.get("VERIFY_RATE_LIMIT", "20/minute")


@bp.route("/verify", methods=["GET"])
def verify_form():
    return render_template("agreements/verify.html", verdict=None, error=None)


@bp.route("/verify", methods=["POST"])
@limiter.limit(_verify_rate_limit)
def verify_upload():
    """Check an uploaded PDF: signature intact and trusted, who signed and when, and whether we issued it."""
    upload = request.files.get("file")
    limit = int(current_app.config.get("VERIFY_MAX_BYTES", 10 * 1024 * 1024))
    data = b""
    if upload:
        try:
            data = upload.stream.read(limit + 1)
        finally:
            upload.close()  # a large upload is spooled to a temporary file
    error = None
    if not data:
        error = gettext("请选择要核验的 PDF 文件。")
    elif len(data) > limit:
        error = gettext("文件超过 %(mb)s MB，无法核验。", mb=limit // (1024 * 1024))
    elif not data.lstrip()[:5].startswith(b"%PDF-"):
        error = gettext("这不是 PDF 文件，请上传协议的 PDF 文件。")
    if error:
        return render_template("agreements/verify.html", verdict=None, error=error), 422
    verdict = verify_ops.verify_pdf(data)
    return render_template("agreements/verify.html", verdict=verdict, error=None)


@bp.route("/verify/<int:agreement_id>")
def verify_link(agreement_id: int):
    """Where the PDF's QR code leads: does this agreement exist with this content hash?"""
    check = verify_ops.check_link(agreement_id, request.args.get("c", ""))
    return render_template("agreements/verify_link.html", check=check, agreement_id=agreement_id)
