"""Templates' url_for remembers URLs (app/core/urls.py): every remembered URL must be the one Flask would build."""
from __future__ import annotations

import re

from flask import render_template_string

from app.core import urls

HREF_RE = re.compile(r'href="([^"]+)"')


def render(app, source: str, base_url: str = "http://localhost/") -> str:
    with app.test_request_context("/", base_url=base_url):
        return render_template_string(source)  # nosemgrep: autoescape-disabled-in-code


def test_a_page_mounted_under_a_prefix_and_then_at_the_root_links_to_each(app):
    prefixed = app.test_client().get("/", base_url="http://localhost/jiefen").get_data(as_text=True)
    plain = app.test_client().get("/").get_data(as_text=True)
    assert "/jiefen/login" in HREF_RE.findall(prefixed)
    assert all(link.startswith(("/jiefen/", "data:", "#")) for link in HREF_RE.findall(prefixed)
               if not link.startswith("http")), HREF_RE.findall(prefixed)
    assert "/login" in HREF_RE.findall(plain)
    assert not any("/jiefen" in link for link in HREF_RE.findall(plain))


def test_arguments_values_and_their_types_each_get_their_own_url(app):
    source = ("{{ url_for('core.set_language', code='zh', next='/a') }}|{{ url_for('core.set_language', code='zh', "
              "next='/b') }}|{{ url_for('core.home', x=True) }}|{{ url_for('core.home', x=1) }}|"
              "{{ url_for('core.home', x=True) }}")
    for _ in range(2):  # the second time from the memo
        assert render(app, source).split("|") == ["/lang/zh?next=/a", "/lang/zh?next=/b", "/?x=True",
                                                  "/?x=1", "/?x=True"]


def test_external_relative_and_unhashable_arguments_are_built_each_time(app):
    source = ("{{ url_for('core.home', _external=True) }}|{{ url_for('core.home', _anchor='top') }}|"
              "{{ url_for('core.home', tag=['a', 'b']) }}")
    assert render(app, source).split("|") == ["http://localhost/", "/#top", "/?tag=a&amp;tag=b"]
    assert render(app, source, "http://jiefen.example.cn/").split("|")[0] == "http://jiefen.example.cn/"
    assert render(app, "{{ url_for('.home') }}") == "/"  # relative: the blueprint of the request's page (core)


def test_a_full_memo_is_emptied_and_urls_stay_right(app, monkeypatch):
    monkeypatch.setattr(urls, "MEMO_SIZE", 2)
    source = "|".join(f"{{{{ url_for('core.home', n={n}) }}}}" for n in range(7))
    for _ in range(2):
        assert render(app, source).split("|") == [f"/?n={n}" for n in range(7)]
