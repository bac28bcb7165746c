"""Template + plain data -> HTML -> PDF with WeasyPrint, the safe URL fetcher and a CJK font named in the CSS."""
from __future__ import annotations

import logging
import time
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from flask import current_app
from markupsafe import Markup

from app.core.i18n import gettext, is_english
from app.documents.fetcher import STATIC_ORIGIN, SafeURLFetcher
from app.documents.fonts import PREFERRED_FAMILIES, require_cjk_font

log = logging.getLogger("app.documents")
LATIN_FAMILIES = ("DejaVu Sans", "Liberation Sans")  # used when installed; fontconfig skips missing ones
PLAIN_SCALARS = (str, int, float, bool, Decimal, date, datetime, type(None))


def check_plain(value, where: str = "data") -> None:
    """Raise TypeError unless value is plain data (dicts, lists, text, numbers, dates): no ORM objects."""
    if isinstance(value, PLAIN_SCALARS):
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"document {where}: keys must be text, not {type(key).__name__}")
            check_plain(item, f"{where}[{key!r}]")
        return
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            check_plain(item, f"{where}[{i}]")
        return
    raise TypeError(f"document {where} is a {type(value).__name__}: pass plain data (dicts, lists, text, numbers)")


def css_string(text: str) -> str:
    """text as a quoted CSS string."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ").replace("<", "\\3C ")
    return '"' + escaped + '"'


def page_counter_content(template: str) -> str:
    """'第 {page} 页 共 {pages} 页' as a CSS content value with the page and pages counters."""
    parts: list[str] = []
    rest = template
    while rest:
        at = [(rest.find(tag), tag) for tag in ("{page}", "{pages}") if rest.find(tag) >= 0]
        if not at:
            parts.append(css_string(rest))
            break
        pos, tag = min(at)
        if pos:
            parts.append(css_string(rest[:pos]))
        parts.append(f"counter({tag[1:-1]})")
        rest = rest[pos + len(tag):]
    return " ".join(parts)


def font_stack(family: str, latin_first: bool = False) -> str:
    """The CSS font-family value: the installed CJK family first, then the other preferred ones.

    English documents name a Latin font first: CJK fonts draw quotes and apostrophes full-width."""
    names = [*(LATIN_FAMILIES if latin_first else ()), family] + [f for f in PREFERRED_FAMILIES if f != family]
    return ", ".join(css_string(n) for n in names) + ", sans-serif"


def static_url(filename: str) -> str:
    """A static file as documents refer to it (the safe fetcher serves exactly these)."""
    return f"{STATIC_ORIGIN}{current_app.static_url_path}/{filename.lstrip('/')}"


def render_html(template_name: str, data: dict) -> str:
    """The document's HTML: the template fed plain data, plus `pdf` (font stack, page footer, static_url)."""
    check_plain(data)
    family = require_cjk_font()
    # CSS values built here (quoted and escaped by css_string), so the template inserts them unescaped.
    lang = "en" if is_english() else "zh"
    # Vetted: font family names (fontconfig and our constants) and our own translated strings, quoted by css_string.
    font = Markup(font_stack(family, latin_first=lang == "en"))  # nosemgrep: markup-from-non-literal
    header = Markup(css_string(gettext("解纷 · 在线矛盾纠纷多元化解平台")))  # nosemgrep: markup-from-non-literal
    footer = Markup(page_counter_content(gettext("第 {page} 页 共 {pages} 页")))  # nosemgrep: markup-from-non-literal
    pdf = {"font": font, "font_family": family, "lang": lang, "static_url": static_url, "header": header,
           "page_footer": footer}
    return current_app.jinja_env.get_template(template_name).render(**data, pdf=pdf)


def html_to_pdf(html: str, static_root: Path | None = None) -> bytes:
    """PDF bytes for html; only data: URLs and our static files are fetched."""
    require_cjk_font()
    fetcher = SafeURLFetcher(Path(static_root or current_app.static_folder), current_app.static_url_path)
    from weasyprint import HTML  # imported late: it loads Pango and fontconfig (~0.3 s)

    started = time.perf_counter()
    pdf = HTML(string=html, base_url=STATIC_ORIGIN + "/", url_fetcher=fetcher).write_pdf()
    log.info("rendered a %d-byte PDF in %.0f ms", len(pdf), (time.perf_counter() - started) * 1000)
    return pdf


def render(template_name: str, data: dict) -> bytes:
    """PDF bytes of templates/<template_name> fed data (plain data only; see check_plain)."""
    return html_to_pdf(render_html(template_name, data))
