"""`make lint` can fail: our semgrep rules, bandit and ruff report planted bugs in small files made here."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.prefix) / "bin"
SEMGREP = Path(os.environ.get("SEMGREP", Path(sys.prefix) / "lint" / "bin" / "semgrep"))

UNSAFE_TEMPLATE = """{% extends "base.html" %}
{% block content %}
<p>{{ case.title }}</p>
<div class="statement">{{ case.statement|safe }}</div>
<div class="note">{{ note | safe }}</div>
{% autoescape false %}{{ case.respondent_name }}{% endautoescape %}
{% endblock %}
"""
SAFE_TEMPLATE = """<p>{{ case.statement }}</p><style>body { font-family: {{ pdf.font|safe }}; }</style>
<p>{{ "safe"|upper }}</p>
"""
UNSAFE_CODE = '''
import sqlalchemy as sa
from markupsafe import Markup


def search(conn, title):
    return conn.execute(sa.text(f"SELECT id FROM cases WHERE title = '{title}'")).all()


def by_status(conn, status):
    sql = "SELECT id FROM cases WHERE status = '%s'" % status
    return conn.execute(sa.text(sql)).all()


def raw(cursor, name):
    cursor.execute("SELECT id FROM users WHERE username = '" + name + "'")


def ordered(conn, column):
    return conn.exec_driver_sql("SELECT id FROM cases ORDER BY {}".format(column)).all()


def greeting(user):
    return Markup(f"<b>{user.display_name}</b>")
'''
SAFE_CODE = '''
import sqlalchemy as sa
from markupsafe import Markup, escape


def search(conn, title):
    return conn.execute(sa.text("SELECT id FROM cases WHERE title = :t"), {"t": title}).all()


def by_status(conn, cases, status):
    return conn.execute(sa.select(cases.c.id).where(cases.c.status == "x" + status)).all()


def greeting(user):
    return Markup("<b>{}</b>").format(user.display_name), Markup("<br>"), escape(user.display_name)


def drop(conn, name):
    conn.execute(sa.text(f"DROP TRIGGER {name}"))  # nosemgrep: sql-built-from-strings -- vetted
'''


def _semgrep(target: Path) -> list[tuple[str, int, str]]:
    """(file name, line, rule) of every semgrep finding under target, with the rules in .semgrep/."""
    proc = subprocess.run(
        [str(SEMGREP), "scan", "--metrics=off", "--disable-version-check", "--strict", "--config",
         str(ROOT / ".semgrep"), "--json", "-q", str(target)],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "SEMGREP_ENABLE_VERSION_CHECK": "0", "SEMGREP_SEND_METRICS": "off"})
    assert proc.returncode in (0, 1), proc.stderr
    report = json.loads(proc.stdout)
    assert report["errors"] == []
    return sorted((Path(r["path"]).name, r["start"]["line"], r["check_id"].rsplit(".", 1)[-1])
                  for r in report["results"])


def test_semgrep_reports_safe_filter_markup_and_built_sql(tmp_path):
    assert SEMGREP.exists(), f"{SEMGREP} is missing: `make lint` installs it (.semgrep/requirements.txt)"
    (tmp_path / "unsafe.html").write_text(UNSAFE_TEMPLATE)
    (tmp_path / "safe.html").write_text(SAFE_TEMPLATE)
    (tmp_path / "unsafe_views.py").write_text(UNSAFE_CODE)
    (tmp_path / "safe_views.py").write_text(SAFE_CODE)

    assert _semgrep(tmp_path) == [
        ("unsafe.html", 4, "jinja-safe-filter"),
        ("unsafe.html", 5, "jinja-safe-filter"),
        ("unsafe.html", 6, "jinja-autoescape-off"),
        ("unsafe_views.py", 7, "sql-built-from-strings"),
        ("unsafe_views.py", 12, "sql-built-from-strings"),
        ("unsafe_views.py", 16, "sql-built-from-strings"),
        ("unsafe_views.py", 20, "sql-built-from-strings"),
        ("unsafe_views.py", 24, "markup-from-non-literal"),
    ]


def test_bandit_fails_on_high_severity(tmp_path):
    (tmp_path / "job.py").write_text("import subprocess\n\n\ndef run(name):\n"
                                     "    subprocess.call('pg_dump ' + name, shell=True)\n")
    proc = subprocess.run([str(VENV_BIN / "bandit"), "-q", "--severity-level", "high", "-f", "json",
                           str(tmp_path / "job.py")], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 1
    assert [(r["test_id"], r["issue_severity"]) for r in json.loads(proc.stdout)["results"]] == [("B602", "HIGH")]


def test_ruff_reports_a_bug(tmp_path):
    (tmp_path / "views.py").write_text("def total(rows, seen=[]):\n    return sum(rows) + undefined_name\n")
    proc = subprocess.run([str(VENV_BIN / "ruff"), "check", "--config", str(ROOT / "ruff.toml"),
                           "--output-format", "concise", "--no-cache", str(tmp_path / "views.py")],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 1
    assert "B006" in proc.stdout and "F821" in proc.stdout
