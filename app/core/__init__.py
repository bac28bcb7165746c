"""Shared building blocks: labelled enums, time, errors, the audit chain, CLI helpers."""
