"""The signed agreement's PDF: rendered from plain data through app/documents, then signed (PAdES B-B, or B-T
when AGREEMENT_TSA_URL names a timestamp server) with the organisation's key, invisibly: the seal and the
handwritten signatures are images in the HTML.

A job renders and signs it outside the request (RQ with Redis, inline without), each attempt under a time limit
(AGREEMENT_PDF_TIMEOUT), up to AGREEMENT_PDF_ATTEMPTS attempts; then the row says `failed` with a message people
can read. The signed bytes are stored by their SHA-256 (FileStorage) and registered as a Document."""
from __future__ import annotations

import asyncio
import gc
import hashlib
import io
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from urllib.parse import quote

import sqlalchemy as sa
from flask import Flask, current_app

from app.agreements.models import Agreement, AgreementPdf
from app.agreements.pki import PkiError, signer_for
from app.cases.models import Case
from app.core import jobs
from app.core.i18n import N_
from app.core.storage import storage
from app.core.time import utcnow
from app.documents import Document, DocumentError, render
from app.extensions import db

log = logging.getLogger(__name__)
TEMPLATE = "documents/agreement.html"
FIELD_NAME = "JiefenAgreementSeal"
STALE_AFTER = timedelta(minutes=10)  # a queued or running row this old lost its worker: it may be retried

NO_FONT = N_("服务器缺少中文字体，暂时无法生成协议 PDF。已通知管理员安装字体后重试。")
NO_KEYS = N_("服务器的签名证书不可用，暂时无法对协议 PDF 进行数字签名。已通知管理员。")
TIMED_OUT = N_("生成协议 PDF 超时，已尝试 %(n)s 次。请稍后由调解员点击“重新生成”。")
FAILED = N_("生成协议 PDF 时出错，已尝试 %(n)s 次。请稍后由调解员点击“重新生成”；如仍失败，请联系管理员。")


class RenderTimeout(RuntimeError):
    """One attempt took longer than AGREEMENT_PDF_TIMEOUT."""


# --- the data and the unsigned PDF -------------------------------------------------------------------
def content_module():
    """app.agreements.content (current_agreement, pdf_data); imported late: it imports signing, which imports us."""
    from app.agreements import content

    return content


def verify_url(agreement_id: int, content_hash: str) -> str:
    """Where the QR code leads: the agreement's check page, with its content hash."""
    base = current_app.config.get("BASE_URL", "").rstrip("/")
    return f"{base}/verify/{agreement_id}?c={quote(content_hash or '')}"


def qr_data_uri(text: str) -> str:
    """A PNG QR code of text as a data: URI (the only kind of image the documents' fetcher serves)."""
    import segno

    return segno.make(text, error="m", micro=False).png_data_uri(scale=4, border=2)


def document_data(content: dict) -> dict:
    """pdf_data() plus what the page adds: the verification URL and its QR code."""
    url = verify_url(content["agreement_id"], content["content_hash"])
    return {**content, "verify_url": url, "qr": qr_data_uri(url)}


def render_content(content: dict) -> bytes:
    """The unsigned PDF of an agreement's plain data (as pdf_data() returns it)."""
    pdf = render(TEMPLATE, document_data(content))
    collect_layout_garbage()
    return pdf


_frozen = False


def collect_layout_garbage() -> None:
    """WeasyPrint's layout leaves reference cycles behind: left to the automatic collector, a worker's peak memory
    climbs ~80 MB over a few renders (measured: 280 MB after 30 renders, 200 MB collecting after each). A full
    collection walks the whole heap (jieba's dictionary, the knowledge base: ~100 ms), so the first call moves
    what is alive then (the app, loaded once per process) out of the collector's way with gc.freeze(), as one does
    before forking workers; afterwards a collection costs ~3 ms."""
    global _frozen
    if not _frozen:
        gc.collect()
        gc.freeze()
        _frozen = True
    gc.collect()


def render_unsigned(agreement: Agreement) -> bytes:
    """The unsigned PDF of an agreement."""
    return render_content(content_module().pdf_data(agreement))


# --- the signature -------------------------------------------------------------------------------------
def sign_pdf(pdf: bytes, signer, reason: str = "人民调解协议书电子签章") -> bytes:
    """An invisible PAdES signature over the whole file (B-T with a timestamp when AGREEMENT_TSA_URL is set);
    `reason` is what PDF readers show as the signature's reason (the awards pass their own)."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    timestamper = None
    if current_app.config.get("AGREEMENT_TSA_URL"):
        from pyhanko.sign.timestamps import HTTPTimeStamper

        timestamper = HTTPTimeStamper(current_app.config["AGREEMENT_TSA_URL"], timeout=10)
    meta = signers.PdfSignatureMetadata(field_name=FIELD_NAME, subfilter=fields.SigSeedSubFilter.PADES,
                                        md_algorithm="sha256", reason=reason,
                                        location="解纷平台")

    def sign() -> bytes:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
        return signers.PdfSigner(meta, signer=signer, timestamper=timestamper).sign_pdf(writer).getvalue()

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return sign()
    # pyHanko's synchronous API calls asyncio.run(), which refuses to run inside a running event loop (a thread
    # that also drives an async library, e.g. Playwright's sync API under the tests): sign in a worker thread.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="pdf-sign") as pool:
        return pool.submit(sign).result()


def organisation_of(agreement: Agreement):
    case = db.session.get(Case, agreement.case_id)
    return case.organisation if case else None


def render_and_sign_now(agreement: Agreement, timeout: float | None = None) -> bytes:
    """Render and sign in a worker thread; RenderTimeout after `timeout` seconds (the thread is left to finish)."""
    content = content_module().pdf_data(agreement)
    signer = signer_for(organisation_of(agreement))
    app: Flask = current_app._get_current_object()
    result: dict = {}

    def work() -> None:
        try:
            with app.app_context():
                result["pdf"] = sign_pdf(render_content(content), signer)
        except BaseException as exc:  # noqa: BLE001  handed to the waiting thread
            result["error"] = exc

    thread = threading.Thread(target=work, name=f"agreement-pdf-{agreement.id}", daemon=True)
    thread.start()
    timeout = timeout if timeout is not None else float(current_app.config.get("AGREEMENT_PDF_TIMEOUT", 60))
    thread.join(timeout)
    if thread.is_alive():
        raise RenderTimeout(f"agreement {agreement.id}: no PDF after {timeout} s")
    if "error" in result:
        raise result["error"]
    return result["pdf"]


# --- the row and the job ---------------------------------------------------------------------------------
def pdf_row(agreement_id: int) -> AgreementPdf | None:
    return db.session.scalar(sa.select(AgreementPdf).where(AgreementPdf.agreement_id == agreement_id))


def may_retry(row: AgreementPdf | None) -> bool:
    """Failed, or queued/running for so long that its worker must have died."""
    if row is None or row.status == "failed":
        return True
    return row.status in ("queued", "running") and row.updated_at < utcnow() - STALE_AFTER


def request_pdf(agreement_id: int, *, again: bool = False) -> AgreementPdf:
    """The agreement's PDF row (one per agreement), queuing the job when it is new (or `again` after a failure).
    Flushes; the job is sent when the caller commits."""
    row = pdf_row(agreement_id)
    if row is not None and not (again and may_retry(row)):
        return row
    if row is None:
        row = AgreementPdf(agreement_id=agreement_id)
        db.session.add(row)
    row.status, row.attempts, row.error, row.updated_at = "queued", 0, None, utcnow()
    db.session.flush()
    jobs.enqueue(render_and_sign, row.id)
    return row


def failure_message(exc: BaseException) -> str:
    """The stored message (a msgid, shown through gettext) for what went wrong."""
    if isinstance(exc, DocumentError):
        return NO_FONT
    if isinstance(exc, PkiError):
        return NO_KEYS
    return TIMED_OUT if isinstance(exc, RenderTimeout) else FAILED


def _store(row: AgreementPdf, agreement: Agreement, signed: bytes) -> None:
    sha256 = storage().put(signed)
    document = Document(kind="agreement", case_id=agreement.case_id, template=TEMPLATE, sha256=sha256,
                        size_bytes=len(signed))
    db.session.add(document)
    db.session.flush()
    row.document_id, row.sha256, row.status, row.error = document.id, sha256, "done", None


@jobs.job
def render_and_sign(agreement_pdf_id: int) -> None:
    """Render and sign one agreement's PDF: up to AGREEMENT_PDF_ATTEMPTS attempts, then `failed` with a message."""
    limit = int(current_app.config.get("AGREEMENT_PDF_ATTEMPTS", 3))
    while True:
        row = db.session.get(AgreementPdf, agreement_pdf_id)
        if row is None or row.status == "done":
            return
        agreement = db.session.get(Agreement, row.agreement_id)
        if agreement is None or agreement.signed_at is None:
            row.status, row.error = "failed", FAILED
            db.session.commit()
            return
        row.status, row.attempts, row.updated_at = "running", row.attempts + 1, utcnow()
        db.session.commit()
        try:
            signed = render_and_sign_now(agreement)
        except Exception as exc:  # noqa: BLE001  every failure is recorded; the page shows it, never a 5xx
            db.session.rollback()
            log.error("agreement %s PDF, attempt %s: %s: %s", agreement.id, row.attempts, type(exc).__name__, exc)
            row = db.session.get(AgreementPdf, agreement_pdf_id)
            row.error = failure_message(exc)
            final = row.attempts >= limit or isinstance(exc, (DocumentError, PkiError))
            row.status = "failed" if final else "running"
            db.session.commit()
            if final:
                return
            continue
        _store(row, agreement, signed)
        db.session.commit()
        log.info("agreement %s: signed PDF %s (%d bytes)", agreement.id, row.sha256, len(signed))
        return


def signed_pdf_bytes(agreement: Agreement) -> bytes | None:
    """The stored signed PDF of the agreement, or None while it is not done."""
    row = pdf_row(agreement.id)
    if row is None or row.status != "done" or not row.sha256:
        return None
    with storage().open(row.sha256) as fh:
        data = fh.read()
    if hashlib.sha256(data).hexdigest() != row.sha256:  # the stored file changed on disk: never hand it out
        log.error("agreement %s: stored PDF %s does not match its hash", agreement.id, row.sha256)
        return None
    return data
