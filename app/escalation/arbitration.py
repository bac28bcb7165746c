"""The arbitration agreement signed online (仲裁协议, 《仲裁法》第十六条), and what the arbitration panel needs.

Categories whose arbitration rests on an agreement (arbitration: agreement) may get one on the platform: a party
proposes it, the text comes from mediation_rules/arbitration_clause.yaml and names the commission the case would go to; every
party with an account signs it with their name and password. The last signature gives the case its arbitration
agreement. Family categories (arbitration: none) and labour ones (statutory: no agreement needed) never see any of
this. Operations flush, never commit.
"""
from __future__ import annotations

import hashlib

import sqlalchemy as sa

from app.accounts.models import Organisation, User
from app.cases import facts
from app.cases.models import Case, CaseParty, CaseStatus, PartyRole, Stage
from app.cases.operations import _arbitration_body, append_event
from app.cases.rules import Rules
from app.core.errors import DomainError
from app.core.i18n import gettext
from app.core.time import utcnow
from app.escalation.clause_rules import current_template
from app.escalation.models import ArbitrationClause, ArbitrationClauseSignature
from app.extensions import db

# Where request_arbitration could be taken but for the missing agreement.
CLAUSE_STATES = ((Stage.assess, CaseStatus.assessed), (Stage.mediate, CaseStatus.failed))


class ClauseRefused(DomainError):
    status_code = 409


def agreement_category(case: Case, rules: Rules) -> bool:
    """Whether arbitration of this case rests on an agreement of the parties (never family, never labour)."""
    cat = rules.category(case.category)
    return cat is not None and cat.arbitration == "agreement"


def commission_for(case: Case, rules: Rules) -> Organisation | None:
    return case.arbitration_body or _arbitration_body(case, rules)


def current_clause(case: Case) -> ArbitrationClause | None:
    """The latest clause that is being signed or was signed."""
    if not facts.may_have(case, "arbitration_clauses"):
        return None
    return db.session.scalar(sa.select(ArbitrationClause).where(
        ArbitrationClause.case_id == case.id, ArbitrationClause.status != "withdrawn")
        .order_by(ArbitrationClause.id.desc()).limit(1))


# --- who signs -------------------------------------------------------------------------------------
def signer_parties(case: Case) -> list[CaseParty]:
    """Every party linked to a user, applicants first, each user once."""
    seen, out = set(), []
    for p in sorted(case.parties, key=lambda p: (p.role != PartyRole.applicant, p.id)):
        if p.user_id and p.user_id not in seen:
            seen.add(p.user_id)
            out.append(p)
    return out


def signer_users(case: Case) -> list[tuple[User, str, str]]:
    """(user, role, name to type) for every signer: the parties with an account, and the filer for the applicant side
    when no applicant party has one (a grid worker filing for a resident signs as the applicant's agent)."""
    out = [(p.user, p.role.value, p.name) for p in signer_parties(case)]
    if not any(role == "applicant" for _, role, _ in out) and case.filed_by is not None:
        out.insert(0, (case.filed_by, "applicant", case.filed_by.display_name))
    return out


def signer_entry(case: Case, user: User) -> tuple[User, str, str] | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return next((s for s in signer_users(case) if s[0].id == user.id), None)


def has_signed(clause: ArbitrationClause | None, user: User) -> bool:
    return clause is not None and any(s.user_id == user.id for s in clause.signatures)


def waiting_for(case: Case, clause: ArbitrationClause) -> list[str]:
    signed = {s.user_id for s in clause.signatures}
    return [name for user, _, name in signer_users(case) if user.id not in signed]


def expected_names(case: Case, user: User) -> set[str]:
    entry = signer_entry(case, user)
    names = {user.display_name}
    if entry is not None:
        names.add(entry[2])
    return {"".join(n.split()) for n in names if n}


def name_matches(case: Case, user: User, typed: str) -> bool:
    return "".join((typed or "").split()) in expected_names(case, user)


# --- proposing --------------------------------------------------------------------------------------
def proposal_refusal(case: Case, user: User, rules: Rules) -> str | None:
    """Why this user cannot propose an agreement now, or None."""
    if not agreement_category(case, rules):
        return gettext("此类纠纷不适用仲裁协议。")
    if not case.is_party(user):
        return gettext("只有案件当事人可以提出仲裁协议。")
    if case.has_arbitration_agreement:
        return gettext("本案已有仲裁协议。")
    if (case.stage, case.status) not in CLAUSE_STATES:
        return gettext("案件当前阶段不能签订仲裁协议。")
    if current_clause(case) is not None:
        return gettext("仲裁协议已提出，正在等待各方签署。")
    if commission_for(case, rules) is None:
        return gettext("暂无可受理本案的仲裁机构。")
    return None


def clause_text(case: Case, commission: Organisation, rules: Rules) -> str:
    cat = rules.category(case.category)
    names = lambda parties: "、".join(p.name for p in parties) or "—"  # noqa: E731
    return current_template().fill(commission=commission.name, applicants=names(case.applicants),
                                   respondents=names(case.respondents), dispute=case.title,
                                   category=cat.zh if cat else "")


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def propose(case: Case, user: User, rules: Rules) -> ArbitrationClause:
    why = proposal_refusal(case, user, rules)
    if why:
        raise ClauseRefused(why, 403 if not case.is_party(user) else 409)
    commission = commission_for(case, rules)
    text = clause_text(case, commission, rules)
    clause = ArbitrationClause(case_id=case.id, commission_id=commission.id, text=text, content_hash=content_hash(text),
                               status="signing", proposed_by_id=user.id, created_at=utcnow())
    db.session.add(clause)
    db.session.flush()
    _tell_signers(case, user, gettext("仲裁协议待签署"),
                  gettext("案件 #%(id)s 的当事人提出签订仲裁协议，约定将纠纷提交%(body)s仲裁。请登录解纷平台阅读并签署。",
                          id=case.id, body=commission.name))
    return clause


# --- signing ----------------------------------------------------------------------------------------
def check_sign(case: Case, clause: ArbitrationClause | None, user: User, seen_hash: str) -> None:
    if signer_entry(case, user) is None:
        raise ClauseRefused(gettext("您不是本仲裁协议的签署人。"), 403)
    if clause is None or clause.status == "withdrawn":
        raise ClauseRefused(gettext("还没有待签署的仲裁协议。"))
    if has_signed(clause, user):
        raise ClauseRefused(gettext("您已签署本仲裁协议。"))
    if clause.status == "signed":
        raise ClauseRefused(gettext("仲裁协议已签署完毕。"))
    if seen_hash != clause.content_hash:
        raise ClauseRefused(gettext("仲裁协议内容已变化，请阅读最新内容后再签署。"))


def sign(case: Case, clause: ArbitrationClause, user: User, typed_name: str, seen_hash: str,
         ip_address: str | None) -> ArbitrationClauseSignature:
    """Store one signature (the caller checked the typed name and the password); the last one completes it."""
    check_sign(case, clause, user, seen_hash)
    _, role, _ = signer_entry(case, user)
    now = utcnow()
    signature = ArbitrationClauseSignature(clause_id=clause.id, user_id=user.id, role=role,
                                           typed_name=typed_name.strip(), content_hash=clause.content_hash,
                                           ip_address=ip_address, signed_at=now)
    db.session.add(signature)
    db.session.flush()
    db.session.refresh(clause)
    if not waiting_for(case, clause):
        _complete(case, clause, user, now)
    return signature


def _complete(case: Case, clause: ArbitrationClause, user: User, now) -> None:
    clause.status, clause.completed_at = "signed", now
    case.has_arbitration_agreement = True
    case.updated_at = now
    db.session.flush()
    append_event(case, user, "arbitration_agreement_signed", (case.stage, case.status))
    _tell_signers(case, None, gettext("仲裁协议已签署完毕"),
                  gettext("案件 #%(id)s 的仲裁协议已由各方签署完毕，约定提交%(body)s仲裁。申请人现在可以申请仲裁。",
                          id=case.id, body=clause.commission.name))


def _tell_signers(case: Case, except_user: User | None, subject: str, body: str) -> None:
    from app.mediation.operations import notify_user

    for user, _, _ in signer_users(case):
        if except_user is None or user.id != except_user.id:
            notify_user(user, subject, body, case)


facts.register_case_fact("arbitration_clauses",
                        lambda: sa.exists().where(ArbitrationClause.case_id == Case.id))
