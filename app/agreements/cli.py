"""`flask agreements ...` and `flask pki ...`."""
from __future__ import annotations

from flask.cli import AppGroup

agreements_cli = AppGroup("agreements", help="Settlement agreements: list, export the signed PDF.")
pki_cli = AppGroup("pki", help="Development CA and organisation signing certificates (instance/pki/).")
