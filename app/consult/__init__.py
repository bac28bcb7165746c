"""Consult: answer questions before a case exists (the knowledge base comes in its own issue)."""
