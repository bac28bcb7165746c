"""Issue a document: render it, store the PDF by its SHA-256, register it. Flushes, never commits."""
from __future__ import annotations

from dataclasses import dataclass

from app.core.storage import FileStorage, storage
from app.documents.models import Document
from app.documents.render import render
from app.extensions import db


@dataclass
class IssuedDocument:
    document: Document
    pdf: bytes


def issue(kind: str, template_name: str, data: dict, *, case_id: int | None = None,
          user_id: int | None = None, files: FileStorage | None = None) -> IssuedDocument:
    """Render template_name with data, store the PDF and add a Document row with its hash."""
    pdf = render(template_name, data)
    sha256 = (files or storage()).put(pdf)
    document = Document(kind=kind, case_id=case_id, template=template_name, sha256=sha256, size_bytes=len(pdf),
                        created_by_id=user_id)
    db.session.add(document)
    db.session.flush()
    return IssuedDocument(document, pdf)


def pdf_download(pdf: bytes, filename: str, sha256: str | None = None):
    """A PDF as an attachment that no cache keeps (case documents hold personal data); with its SHA-256 when known."""
    from flask import Response

    headers = {"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"}
    if sha256:
        headers["X-Content-SHA256"] = sha256
    return Response(pdf, mimetype="application/pdf", headers=headers)
