"""The resident's case page and case list in a bounded number of SQL statements, showing all they showed before:
the draft's facts, parties, evidence and history; the list's cards, their last steps and the button to go on filling
in a draft (also for a draft a grid worker filed naming the resident as the applicant)."""
from __future__ import annotations

import re

import sqlalchemy as sa

from app.extensions import db
from tests.conftest import sql_statements

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
CARD_RE = re.compile(r'<article class="card case-card" id="case-(\d+)">(.*?)</article>', re.S)


def _draft(app, filer: str, title: str, evidence: str | None = None) -> int:
    """A draft (consult) filed by filer with resident1 as the applicant and a named respondent; maybe a file."""
    from app.accounts.models import User
    from app.cases.evidence import add_evidence
    from app.cases.models import PartyKind, PartyRole, Stage
    from app.cases.operations import CaseData, PartyData, file_case
    from app.cases.rules import current_rules
    from app.core.storage import storage

    with app.app_context():
        users = {u.username: u for u in db.session.scalars(sa.select(User).where(
            User.username.in_([filer, "resident1"])))}
        applicant = users["resident1"]
        data = CaseData(title=title, description="邻居装修噪音，晚上十点后还在施工。", category=None, amount=None,
                        region_code=applicant.region_code)
        parties = [PartyData(role=PartyRole.applicant, kind=PartyKind.person, name=applicant.display_name,
                             user_id=applicant.id, region_code=applicant.region_code),
                   PartyData(role=PartyRole.respondent, kind=PartyKind.person, name="钱多多",
                             region_code=applicant.region_code)]
        case = file_case(users[filer], data, parties, current_rules())
        db.session.flush()
        assert case.stage == Stage.consult
        if evidence:
            add_evidence(case, users[filer], evidence, PDF, storage(), 10 * 1024 * 1024)
        db.session.commit()
        case_id = case.id
        db.session.remove()
    return case_id


def test_the_residents_draft_page_shows_everything_in_few_statements(app, demo, make_web):
    case_id = _draft(app, "resident1", "装修噪音扰民", evidence="噪音录音说明.pdf")
    web = make_web()
    web.login("resident1")
    with sql_statements(app) as statements:
        resp = web.get(f"/cases/{case_id}")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "装修噪音扰民" in html and "钱多多" in html and "王秀英" in html  # the facts and both parties
    assert "噪音录音说明.pdf" in html and 'name="file"' in html  # the evidence and the upload form
    assert "继续填写" in html and "撤回申请" in html  # the next steps
    assert "· 王秀英" in html  # the history names who filed
    # 3 today: the session, the case (parties, evidence and organisation joined), the history (actors joined).
    # One statement of slack; a lazy load coming back from the template fails here.
    assert len(statements) <= 4, "\n\n".join(statements)


def test_the_residents_page_of_a_case_in_mediation_stays_bounded(app, demo, make_web):
    from app.cases.models import Case

    with app.app_context():
        case_id = db.session.scalar(sa.select(Case.id).where(Case.title == "楼上卫生间漏水泡坏我家天花板"))
        db.session.remove()
    web = make_web()
    web.login("resident1")
    with sql_statements(app) as statements:
        resp = web.get(f"/cases/{case_id}")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "调解期限" in html and "在线调解室" in html
    # 12 today: the session, the case, the routing, the history, the mediator, and one per panel (deadline
    # extensions, slots, slot picks, record, agreement versions, arbitration clause, court filings). One of slack.
    assert len(statements) <= 13, "\n\n".join(statements)


def _drafts_of(username: str, app) -> int:
    from app.accounts.models import User
    from app.cases.models import Case, Stage

    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == username))
        found = db.session.scalar(sa.select(sa.func.count()).select_from(Case).where(
            Case.visible_to(user), Case.stage == Stage.consult))
        db.session.remove()
    return found


def test_my_cases_shows_every_card_in_few_statements(app, demo, make_web):
    own = _draft(app, "resident1", "自己填写的草稿")
    by_grid = _draft(app, "grid1", "网格员代为填写的草稿")
    web = make_web()
    web.login("resident1")
    with sql_statements(app) as statements:
        resp = web.get("/my/cases")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    cards = dict(CARD_RE.findall(html))
    assert "自己填写的草稿" in cards[str(own)] and "网格员代为填写的草稿" in cards[str(by_grid)]
    # both drafts can be continued by the applicant; cases past the draft cannot
    assert f"/cases/{own}/intake/1" in cards[str(own)] and f"/cases/{by_grid}/intake/1" in cards[str(by_grid)]
    assert sum("继续填写" in card for card in cards.values()) == _drafts_of("resident1", app)
    assert all("timeline compact" in card and "<li><time>" in card for card in cards.values())
    # 4 today: the session, the page's cases, their events, and the applicants of the one draft resident1 did not
    # file. One statement of slack; a query per card fails here.
    assert len(statements) <= 5, "\n\n".join(statements)
