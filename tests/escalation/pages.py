"""Taking the escalation steps the way a browser does: through their own pages (the bare step URL refuses them)."""
from __future__ import annotations

import html
import re

VERSION_RE = re.compile(r'<input[^>]*name="version"[^>]*value="(\d+)"')
TEXTAREA_RE = re.compile(r'<textarea[^>]*name="(\w+)"[^>]*>(.*?)</textarea>', re.S)
CHECKED_RE = re.compile(r'<input type="radio" name="(\w+)" value="([^"]*)" checked>')


def _text(raw: str) -> str:
    """A textarea's content as the browser submits it (the newline after the opening tag is not content)."""
    return re.sub(r"^\r?\n", "", html.unescape(raw))


def court_choice(page: str, court_name: str) -> str:
    """The value of the radio button for this court on the filing page."""
    found = re.search(r'name="court_id" value="(\d+)"[^>]*>\s*<span><strong>' + re.escape(court_name), page)
    assert found, f"{court_name} is not offered:\n{page[:3000]}"
    return found.group(1)


def file_with_court(web, case_id: int, court_name: str = "芜湖市镜湖区人民法院", **overrides):
    """Submit (or resubmit) the filing page as prefilled, choosing this court; returns the response."""
    page = web.get(f"/cases/{case_id}/filing").get_data(as_text=True)
    data = {name: _text(text) for name, text in TEXTAREA_RE.findall(page)}
    data.update(dict(CHECKED_RE.findall(page)))
    version = VERSION_RE.search(page)
    data.update({"version": version.group(1) if version else "", "court_id": court_choice(page, court_name),
                 "performance_region_code": ""})
    data.update(overrides)
    return web.post(f"/cases/{case_id}/filing", data, page=f"/cases/{case_id}/filing")


def issue_award(web, case_id: int, decision: str = "被申请人于本裁决生效之日起十日内支付申请人工资12000元。",
                password: str = "jiefen-demo"):
    """The arbitrator drafts the award from its prefilled page and issues it; returns the issuing response."""
    resp = web.get(f"/cases/{case_id}/award/edit")
    assert resp.status_code == 200, resp.status_code
    data = {name: _text(text) for name, text in TEXTAREA_RE.findall(resp.get_data(as_text=True))}
    data.update({"decision": decision, "reasoning": data.get("reasoning") or "申请人的请求有事实和法律依据，本委予以支持。"})
    resp = web.post(f"/cases/{case_id}/award/edit", data, page=f"/cases/{case_id}/award/edit")
    assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
    award = web.get(f"/cases/{case_id}/award").get_data(as_text=True)
    seen = re.search(r'name="seen_hash" type="hidden" value="([0-9a-f]{64})"', award).group(1)
    return web.post(f"/cases/{case_id}/award/issue", {"seen_hash": seen, "password": password},
                    page=f"/cases/{case_id}/award")
