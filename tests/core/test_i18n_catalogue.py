"""app.core.i18n.gettext finds the catalogue once per request: each request still gets its own language, also when
requests alternate in one thread (the catalogue is cached per request context, never across requests)."""
from __future__ import annotations

from app.core.i18n import gettext, ngettext


def test_alternating_languages_in_one_thread_each_get_their_own(app):
    seen = []
    for lang in ("en", "zh", "en", "en", "zh"):
        with app.test_request_context(f"/?lang={lang}"):
            seen.append((gettext("登录"), gettext("第 %(page)s 页", page=2) if lang == "zh" else None))
    assert [s[0] for s in seen] == ["Log in", "登录", "Log in", "Log in", "登录"]
    assert seen[1][1] == "第 2 页"


def test_outside_a_request_the_source_text_and_ngettext_format(app):
    with app.app_context():
        assert gettext("登录") == "登录"
        assert gettext("共 %(n)s 条", n=3) == "共 3 条"
        assert ngettext("%(num)s 件", "%(num)s 件", 4) == "4 件"


def test_pages_switch_language_between_requests(app, web):
    assert "<h1>Log in</h1>" in web.get("/login?lang=en").get_data(as_text=True)
    assert "<h1>登录</h1>" in web.get("/login?lang=zh").get_data(as_text=True)
    assert "<h1>Log in</h1>" in web.get("/login?lang=en").get_data(as_text=True)


def test_template_gettext_escapes_variables_keeps_the_translation_and_formats_percent(app):
    from flask import render_template_string

    # Flask autoescapes string templates (the escaping below is what is checked), hence the nosemgrep markers.
    with app.test_request_context("/?lang=en"):
        out = render_template_string(  # nosemgrep: autoescape-disabled-in-code
            "{{ _('登录') }}|{{ _('第 %(page)s 页', page='<b>2</b>') }}|{{ _('100%%') }}")
    assert out == "Log in|Page &lt;b&gt;2&lt;/b&gt;|100%"
    with app.test_request_context("/?lang=zh"):
        assert render_template_string("{{ gettext('登录') }}") == "登录"  # nosemgrep: autoescape-disabled-in-code
        marked = render_template_string(  # nosemgrep: autoescape-disabled-in-code
            """{{ _('数据更新于 <time datetime="%(iso)s">%(time)s</time>', iso='2026"', time='<i>') }}""")
    assert marked == '数据更新于 <time datetime="2026&#34;">&lt;i&gt;</time>'  # the catalogue's markup, escaped values
