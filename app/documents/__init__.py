"""ONE pipeline for every document the platform issues: an HTML template fed plain data -> WeasyPrint with
a URL fetcher that allows only data: URLs and our static files -> PDF (A4, "第 N 页 共 M 页", a CJK font
embedded; no CJK font: DocumentError) -> stored by its SHA-256 and registered as a Document.

Imports core only, never a capability. Nothing is cached across documents except the font check."""
from app.documents.errors import DocumentError
from app.documents.models import Document
from app.documents.operations import IssuedDocument, issue
from app.documents.render import check_plain, html_to_pdf, render, render_html

__all__ = ["Document", "DocumentError", "IssuedDocument", "check_plain", "html_to_pdf", "issue", "render",
           "render_html"]
