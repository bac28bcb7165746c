"""The document pipeline: the safe URL fetcher, the CJK font check, A4 with "第 N 页 共 M 页", plain data only."""
from __future__ import annotations

import base64
import io
import logging
import subprocess
from pathlib import Path

import pytest

from app.documents import DocumentError, check_plain, fonts, html_to_pdf
from app.documents.fetcher import STATIC_ORIGIN, RefusedURL, SafeURLFetcher
from app.documents.render import page_counter_content

STATIC = Path(__file__).resolve().parents[2] / "app" / "static"


def _png() -> str:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (4, 4), (179, 38, 30)).save(out, "PNG")
    return base64.b64encode(out.getvalue()).decode()


PNG_DATA = _png()
PAGE = '<html><body style="font-family: \'WenQuanYi Micro Hei\', \'Noto Sans CJK SC\'">{}</body></html>'


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "out.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-raw", str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_the_fetcher_serves_only_data_urls_and_our_static_files():
    fetcher = SafeURLFetcher(STATIC)
    assert fetcher.fetch(f"{STATIC_ORIGIN}/static/css/app.css").read() == (STATIC / "css" / "app.css").read_bytes()
    assert fetcher.static_path(f"{STATIC_ORIGIN}/static/css/app.css") == (STATIC / "css" / "app.css").resolve()
    assert fetcher.fetch(f"data:image/png;base64,{PNG_DATA}").read().startswith(b"\x89PNG")
    for url in ("file:///etc/passwd", "FILE:///etc/passwd", "http://127.0.0.1/x.png", "https://example.com/a.css",
                f"{STATIC_ORIGIN}/static/../../../../etc/passwd", f"{STATIC_ORIGIN}/static/%2e%2e/%2e%2e/app/config.py",
                f"{STATIC_ORIGIN}/static/css/app.css?x=1", f"{STATIC_ORIGIN}/etc/passwd",
                "https://documents.jiefen.invalid.evil.example/static/css/app.css", f"{STATIC_ORIGIN}/static/css/",
                "ftp://127.0.0.1/x", "jar:file:///etc/passwd!/"):
        with pytest.raises(RefusedURL):
            fetcher.fetch(url)
    assert len(fetcher.refused) == 12


def test_a_document_with_file_and_network_urls_renders_with_nothing_read_or_fetched(app, tripwire, tmp_path, caplog):
    base, hits = tripwire
    body = (f'<p>协议正文</p><img src="file:///etc/passwd"><img src="{base}/img.png">'
            f'<link rel="stylesheet" href="{base}/style.css"><link rel="attachment" href="file:///etc/passwd">'
            f'<div style="background: url(file:///etc/hostname)">背景</div><style>@import url("{base}/i.css");</style>'
            f'<object data="file:///etc/passwd"></object><iframe src="{base}/frame"></iframe>'
            f'<a href="{base}/link">链接</a>')
    with app.test_request_context("/"), caplog.at_level(logging.WARNING, logger="app.documents"):
        pdf = html_to_pdf(PAGE.format(body))
    assert hits == []
    assert b"root:x:0:0" not in pdf and b"/EmbeddedFile" not in pdf
    assert "协议正文" in pdf_text(pdf, tmp_path)
    refused = " ".join(r.getMessage() for r in caplog.records)
    assert "file:///etc/passwd" in refused and f"{base}/img.png" in refused


def test_data_urls_and_static_files_are_used(app, tmp_path):
    body = f'<p>印章</p><img src="data:image/png;base64,{PNG_DATA}" style="width:20mm">'
    with app.test_request_context("/"):
        pdf = html_to_pdf(PAGE.format(body) + '<link rel="stylesheet" href="/static/css/assessment.css">')
    assert b"/Image" in pdf


def test_page_footer_counters():
    assert page_counter_content("第 {page} 页 共 {pages} 页") == '"第 " counter(page) " 页 共 " counter(pages) " 页"'
    assert page_counter_content("Page {page} of {pages}") == '"Page " counter(page) " of " counter(pages)'
    assert page_counter_content('say "</style>') == '"say \\"\\3C /style>"'


def test_documents_take_plain_data_only():
    from datetime import date
    from decimal import Decimal

    check_plain({"a": [1, "二", Decimal("3.5"), date(2026, 1, 1), None, {"b": True}]})

    class Case:
        pass

    with pytest.raises(TypeError, match=r"data\['case'\] is a Case"):
        check_plain({"case": Case()})


def test_fc_list_finds_the_installed_cjk_font():
    assert fonts.choose_family(fonts.cjk_font_families()) in fonts.PREFERRED_FAMILIES


def test_no_cjk_font_under_an_empty_fontconfig(tmp_path, monkeypatch):
    empty = tmp_path / "fonts.conf"
    empty.write_text('<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig></fontconfig>\n')
    monkeypatch.setenv("FONTCONFIG_FILE", str(empty))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert fonts.cjk_font_families() == []
    assert fonts.choose_family([]) is None


def test_rendering_refuses_without_a_cjk_font_and_names_the_package(app, monkeypatch):
    monkeypatch.setattr(fonts, "cjk_font_families", list)  # the system boundary: what fontconfig lists
    fonts.forget()
    try:
        with app.test_request_context("/"), pytest.raises(DocumentError) as refused:
            html_to_pdf(PAGE.format("<p>中文</p>"))
        assert "fonts-wqy-microhei" in str(refused.value) and "fonts-noto-cjk" in str(refused.value)
    finally:
        fonts.forget()
