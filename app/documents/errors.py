"""Errors of the document pipeline."""
from __future__ import annotations


class DocumentError(RuntimeError):
    """A document cannot be rendered here (e.g. no CJK font); the message says what to do."""
