"""The case, its parties, evidence and hash-chained history."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column, query_expression, relationship

from app.accounts.models import Organisation, Role, User
from app.cases import facts
from app.core.audit import GENESIS, chain_hash, commit_text, text_digest
from app.core.crypto import EncryptedString, blind_index_or_none
from app.core.enums import LabelledEnum, enum_column
from app.core.masking import mask_id_number, mask_phone
from app.core.time import utcnow
from app.extensions import db


class Stage(LabelledEnum):
    consult = ("consult", "在线咨询", "Consult")
    assess = ("assess", "在线评估", "Assess")
    mediate = ("mediate", "在线调解", "Mediate")
    arbitrate = ("arbitrate", "在线仲裁", "Arbitrate")
    litigate = ("litigate", "在线诉讼", "Litigate")
    closed = ("closed", "已结束", "Closed")


class CaseStatus(LabelledEnum):
    open = ("open", "咨询中", "Open question")
    assessed = ("assessed", "已评估，待选择途径", "Assessed")
    awaiting_assignment = ("awaiting_assignment", "待分派调解员", "Awaiting a mediator")
    in_progress = ("in_progress", "调解中", "Mediation in progress")
    failed = ("failed", "调解未成", "Mediation failed")
    filed = ("filed", "已提交，待受理", "Filed, awaiting acceptance")
    accepted = ("accepted", "已受理", "Accepted")
    awarded = ("awarded", "已裁决", "Award issued")
    returned = ("returned", "被退回，待补正", "Returned for correction")
    resolved = ("resolved", "咨询后已解决", "Resolved at consult")
    settled = ("settled", "调解成功", "Settled")
    withdrawn = ("withdrawn", "已撤回", "Withdrawn")
    concluded = ("concluded", "仲裁结案", "Concluded by award")


STATUSES_BY_STAGE: dict[Stage, tuple[CaseStatus, ...]] = {
    Stage.consult: (CaseStatus.open,),
    Stage.assess: (CaseStatus.assessed,),
    Stage.mediate: (CaseStatus.awaiting_assignment, CaseStatus.in_progress, CaseStatus.failed),
    Stage.arbitrate: (CaseStatus.filed, CaseStatus.accepted, CaseStatus.awarded),
    Stage.litigate: (CaseStatus.filed, CaseStatus.returned, CaseStatus.accepted),
    Stage.closed: (CaseStatus.resolved, CaseStatus.settled, CaseStatus.withdrawn, CaseStatus.concluded),
}


class PartyRole(LabelledEnum):
    applicant = ("applicant", "申请人", "Applicant")
    respondent = ("respondent", "被申请人", "Respondent")


class PartyKind(LabelledEnum):
    person = ("person", "个人", "Person")
    organisation = ("organisation", "单位（公司、商户等）", "Organisation (company, shop…)")


def _stage_status_check() -> str:
    clauses = [
        f"(stage = '{stage.value}' AND status IN ({', '.join(repr(s.value) for s in statuses)}))"
        for stage, statuses in STATUSES_BY_STAGE.items()
    ]
    return " OR ".join(clauses)


class Case(db.Model):
    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(120))
    stage: Mapped[Stage] = mapped_column(enum_column(Stage, "case_stage"), index=True)
    status: Mapped[CaseStatus] = mapped_column(enum_column(CaseStatus, "case_status"))
    category: Mapped[str | None] = mapped_column(sa.String(40), index=True)
    amount: Mapped[Decimal | None] = mapped_column(sa.Numeric(14, 2))
    description: Mapped[str] = mapped_column(sa.Text)
    desired_outcome: Mapped[str | None] = mapped_column(sa.Text)
    began_on: Mapped[date | None] = mapped_column()    # when the dispute began
    learned_on: Mapped[date | None] = mapped_column()  # when the applicant knew of the harm: limitation runs from here
    region_code: Mapped[str | None] = mapped_column(sa.String(12), index=True)
    has_arbitration_agreement: Mapped[bool] = mapped_column(default=False)
    filed_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    organisation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    mediator_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    arbitration_body_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    arbitrator_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)  # who accepted the case
    court_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    court_case_number: Mapped[str | None] = mapped_column(sa.String(60))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column()
    mediation_started_at: Mapped[datetime | None] = mapped_column()  # when a mediator took the case
    mediation_due_on: Mapped[date | None] = mapped_column(index=True)  # one month (labour: 15 days), extended only by consent
    version: Mapped[int] = mapped_column(default=1)
    # Search tokens (PostgreSQL only; NULL on SQLite): character bigrams of the title, description and party names
    # with positions, kept by app/cases/search.py. Deferred: no page loads it with the case.
    search_vector: Mapped[str | None] = mapped_column(TSVECTOR().with_variant(sa.Text(), "sqlite"), deferred=True)

    filed_by: Mapped[User] = relationship(foreign_keys=[filed_by_id])
    organisation: Mapped[Organisation | None] = relationship(foreign_keys=[organisation_id])
    mediator: Mapped[User | None] = relationship(foreign_keys=[mediator_id])
    arbitration_body: Mapped[Organisation | None] = relationship(foreign_keys=[arbitration_body_id])
    arbitrator: Mapped[User | None] = relationship(foreign_keys=[arbitrator_id])
    court: Mapped[Organisation | None] = relationship(foreign_keys=[court_id])
    parties: Mapped[list[CaseParty]] = relationship(
        back_populates="case", order_by="CaseParty.id", cascade="all, delete-orphan")
    events: Mapped[list[CaseEvent]] = relationship(
        back_populates="case", order_by="CaseEvent.seq", cascade="all, delete-orphan")
    evidence: Mapped[list[EvidenceFile]] = relationship(
        back_populates="case", order_by="EvidenceFile.id", cascade="all, delete-orphan")
    routing_decisions: Mapped[list[RoutingDecision]] = relationship(
        order_by="RoutingDecision.id", cascade="all, delete-orphan")

    # Which panel tables hold rows for this case, a bit each: loaded by read-only case pages only (app/cases/facts.py).
    panel_facts: Mapped[int | None] = query_expression()

    @property
    def routing(self) -> RoutingDecision | None:
        """The latest routing decision (the explanation shown on the case page)."""
        if "routing_decisions" not in self.__dict__ and not facts.may_have(self, "routing"):
            return None
        return self.routing_decisions[-1] if self.routing_decisions else None

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        sa.CheckConstraint(_stage_status_check(), name="stage_status"),
        # A dispute may close (resolved, withdrawn) while still a question without a category.
        sa.CheckConstraint("stage IN ('consult', 'closed') OR category IS NOT NULL", name="category_after_consult"),
        sa.CheckConstraint("stage <> 'mediate' OR organisation_id IS NOT NULL", name="mediation_org"),
        sa.CheckConstraint("NOT (stage = 'mediate' AND status IN ('in_progress', 'failed')) "
                           "OR mediator_id IS NOT NULL", name="mediator_assigned"),
        sa.CheckConstraint("stage <> 'arbitrate' OR arbitration_body_id IS NOT NULL", name="arbitration_body"),
        sa.CheckConstraint("stage <> 'litigate' OR court_id IS NOT NULL", name="court"),
        sa.CheckConstraint("NOT (stage = 'litigate' AND status = 'accepted') OR court_case_number IS NOT NULL",
                           name="court_case_number"),
        sa.CheckConstraint("(stage = 'closed') = (closed_at IS NOT NULL)", name="closed_at"),
        sa.CheckConstraint("amount IS NULL OR amount >= 0", name="amount_non_negative"),
        sa.CheckConstraint("learned_on IS NULL OR began_on IS NULL OR learned_on >= began_on", name="learned_after_began"),
    )

    @property
    def visited_stages(self) -> set[str]:
        """Stages this case has actually been in; every dispute starts as a question (consult)."""
        return {e.to_stage for e in self.events} | {self.stage.value, Stage.consult.value}

    # --- who is who -----------------------------------------------------------------
    @property
    def applicants(self) -> list[CaseParty]:
        return [p for p in self.parties if p.role == PartyRole.applicant]

    @property
    def respondents(self) -> list[CaseParty]:
        return [p for p in self.parties if p.role == PartyRole.respondent]

    def is_applicant_side(self, user: User) -> bool:
        """The applicant, or whoever filed on their behalf (a grid worker)."""
        return user.id == self.filed_by_id or any(p.user_id == user.id for p in self.applicants)

    def is_party(self, user: User) -> bool:
        return self.is_applicant_side(user) or any(p.user_id == user.id for p in self.respondents)

    # --- permissions ----------------------------------------------------------------
    def can_view(self, user: User) -> bool:
        """Whether user may see this case at all (otherwise: 404)."""
        if not user.is_authenticated:
            return False
        role = user.role
        if role == Role.admin:
            return True
        if role in (Role.resident, Role.grid_worker):
            return self.is_party(user)
        if role == Role.mediator:
            return self.mediator_id == user.id
        if role == Role.org_admin:
            return self.organisation_id is not None and self.organisation_id == user.organisation_id
        if role == Role.arbitrator:
            return self.arbitration_body_id is not None and self.arbitration_body_id == user.organisation_id
        if role == Role.court_clerk:
            if self.court_id is not None and self.court_id == user.organisation_id:
                return True
            return db.session.scalar(sa.select(_confirmation_at_court(user.organisation_id)
                                               .where(sa.literal_column("case_id") == self.id).exists()))
        return False

    def can_edit(self, user: User) -> bool:
        """The applicant side may correct the intake before mediation, or after a court return."""
        editable = self.stage in (Stage.consult, Stage.assess) or (
            self.stage == Stage.litigate and self.status == CaseStatus.returned)
        return editable and self.is_applicant_side(user)

    def can_add_evidence(self, user: User) -> bool:
        return self.stage != Stage.closed and self.is_party(user)

    def administers(self, user: User) -> bool:
        """The platform admin, or an admin of the organisation handling the mediation."""
        return user.role == Role.admin or (
            user.role == Role.org_admin and self.organisation_id is not None
            and user.organisation_id == self.organisation_id)

    def can_reveal_numbers(self, user: User) -> bool:
        """Staff handling the case (its mediator, the organisation's admin, the admin, a clerk or arbitrator of its
        court or commission) may have a party's full phone or ID number shown, with a reason, audited."""
        staff = (Role.mediator, Role.org_admin, Role.admin, Role.court_clerk, Role.arbitrator)
        return user.is_authenticated and user.role in staff and self.can_view(user)

    def can_assign(self, user: User) -> bool:
        """Assign from the triage queue, or reassign (with a reason) while mediation runs."""
        return (self.stage == Stage.mediate and self.status in (CaseStatus.awaiting_assignment, CaseStatus.in_progress)
                and self.administers(user))

    @staticmethod
    def visible_to(user: User):
        """SQL criterion matching can_view, for lists."""
        role = user.role
        if role == Role.admin:
            return sa.true()
        if role in (Role.resident, Role.grid_worker):
            party_case_ids = sa.select(CaseParty.case_id).where(CaseParty.user_id == user.id)
            return sa.or_(Case.filed_by_id == user.id, Case.id.in_(party_case_ids))
        if role == Role.mediator:
            return Case.mediator_id == user.id
        if role == Role.org_admin:
            return Case.organisation_id == user.organisation_id
        if role == Role.arbitrator:
            return Case.arbitration_body_id == user.organisation_id
        if role == Role.court_clerk:
            return sa.or_(Case.court_id == user.organisation_id,
                          Case.id.in_(_confirmation_at_court(user.organisation_id)))
        return sa.false()


def _confirmation_at_court(court_id: int | None):
    """Ids of cases whose application for judicial confirmation reached this court (submitted or decided): its clerks
    see those cases too. The table belongs to app.agreements, which builds on cases; hence the late import."""
    from app.agreements.models import ConfirmationApplication as Application

    return sa.select(Application.case_id).where(Application.court_id == court_id,
                                                Application.status.in_(("submitted", "confirmed", "rejected")))


class CaseParty(db.Model):
    __tablename__ = "case_parties"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    role: Mapped[PartyRole] = mapped_column(enum_column(PartyRole, "party_role"))
    kind: Mapped[PartyKind] = mapped_column(enum_column(PartyKind, "party_kind"))
    name: Mapped[str] = mapped_column(sa.String(120))
    # Encrypted at rest (app/core/crypto.py); the blind indexes (HMAC of the normalised number) serve look-ups and
    # follow the attributes by the "set" listeners below. Writers that bypass the ORM (COPY) compute them themselves.
    phone: Mapped[str | None] = mapped_column(EncryptedString("case_parties.phone"))
    id_number: Mapped[str | None] = mapped_column(EncryptedString("case_parties.id_number"))
    phone_bidx: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    id_number_bidx: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    region_code: Mapped[str | None] = mapped_column(sa.String(12))
    address: Mapped[str | None] = mapped_column(sa.String(200))
    email: Mapped[str | None] = mapped_column(sa.String(120))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)

    case: Mapped[Case] = relationship(back_populates="parties")
    user: Mapped[User | None] = relationship()

    def is_own(self, user: User) -> bool:
        """The party themself, or the one who filed on their behalf (for the applicant's details)."""
        return (self.user_id is not None and self.user_id == user.id) or (
            self.role == PartyRole.applicant and self.case is not None and self.case.filed_by_id == user.id)

    def phone_for(self, user: User) -> str:
        """The phone number as this user may see it: whole for its owner, masked for everyone else."""
        return (self.phone or "") if self.is_own(user) else self.masked_phone

    def id_number_for(self, user: User) -> str:
        """The ID number as this user may see it: whole for its owner, masked for everyone else."""
        return (self.id_number or "") if self.is_own(user) else self.masked_id_number

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)

    @property
    def masked_id_number(self) -> str:
        return mask_id_number(self.id_number)


@sa.event.listens_for(CaseParty.phone, "set")
def _party_phone_set(target: CaseParty, value: str | None, oldvalue, initiator) -> None:
    target.phone_bidx = blind_index_or_none("phone", value)


@sa.event.listens_for(CaseParty.id_number, "set")
def _party_id_number_set(target: CaseParty, value: str | None, oldvalue, initiator) -> None:
    target.id_number_bidx = blind_index_or_none("id_number", value)


class CaseEvent(db.Model):
    """One step in a case's history; each links to the one before by a SHA-256 hash."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column()
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(sa.String(40))
    from_stage: Mapped[str | None] = mapped_column(sa.String(32))
    from_status: Mapped[str | None] = mapped_column(sa.String(32))
    to_stage: Mapped[str] = mapped_column(sa.String(32))
    to_status: Mapped[str] = mapped_column(sa.String(32))
    reason: Mapped[str | None] = mapped_column(sa.Text)
    # The chain covers sha256(salt, reason) rather than the reason (app.core.audit.commit_text), so the retention
    # purge can clear reason and salt while the chain still verifies. NULL digest: an event without a reason, or
    # one recorded before the digest existed (its reason is in the payload itself and stays).
    reason_salt: Mapped[str | None] = mapped_column(sa.String(32))
    reason_digest: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64))

    case: Mapped[Case] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()

    __table_args__ = (sa.UniqueConstraint("case_id", "seq", name="uq_case_events_case_seq"),)

    def set_reason(self, reason: str | None) -> None:
        """The reason and the salted digest that the chain covers in its place."""
        self.reason = reason or None
        self.reason_salt, self.reason_digest = commit_text(reason) if reason else (None, None)

    @property
    def reason_purged(self) -> bool:
        """The reason was cleared by the retention purge (its digest stays in the chain)."""
        return self.reason is None and self.reason_digest is not None

    def payload(self) -> dict:
        """The canonical content that the hash covers."""
        return event_payload(self)

    def compute_hash(self) -> str:
        return chain_hash(self.prev_hash, self.payload())

    @property
    def action_label(self) -> str:
        from app.cases.funnel import action_label

        return action_label(self.action)

    @property
    def to_stage_label(self) -> str:
        return Stage(self.to_stage).label

    @property
    def to_status_label(self) -> str:
        return CaseStatus(self.to_status).label


GENESIS_HASH = GENESIS


def event_payload(row) -> dict:
    """What a case event's hash covers, from anything with CaseEvent's attributes (an event, a plain row)."""
    payload = {
        "case_id": row.case_id, "seq": row.seq, "actor_id": row.actor_id, "action": row.action,
        "from_stage": row.from_stage, "from_status": row.from_status, "to_stage": row.to_stage,
        "to_status": row.to_status, "created_at": row.created_at,
    }
    if row.reason_digest is None:
        payload["reason"] = row.reason          # no reason, or an event from before the digest: the text itself
    else:
        payload["reason_digest"] = row.reason_digest
    return payload


def reason_problem(row) -> str | None:
    """Why a stored reason does not match the digest its chain covers, or None when it does (or was purged)."""
    if row.reason_digest is None or (row.reason is None and row.reason_salt is None):
        return None
    if row.reason is None or row.reason_salt is None or text_digest(row.reason_salt, row.reason) != row.reason_digest:
        return "reason does not match its digest (altered)"
    return None


class EvidenceFile(db.Model):
    __tablename__ = "evidence_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    uploaded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    original_name: Mapped[str] = mapped_column(sa.String(200))
    content_type: Mapped[str] = mapped_column(sa.String(60))
    size_bytes: Mapped[int] = mapped_column()
    sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    # The random name the file is stored under (never derived from its name or content).
    storage_key: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    description: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    case: Mapped[Case] = relationship(back_populates="evidence")
    uploaded_by: Mapped[User] = relationship()


class RoutingDecision(db.Model):
    """Why a case went to a mediator (or to the triage queue): the explanation residents and admins see."""

    __tablename__ = "routing_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(20))      # auto | triage | resident_request | override
    category: Mapped[str | None] = mapped_column(sa.String(40))
    classified_as: Mapped[str | None] = mapped_column(sa.String(40))
    confidence: Mapped[float | None] = mapped_column()
    matched_words: Mapped[list] = mapped_column(sa.JSON, default=list)
    mediator_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    organisation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id"))
    tier: Mapped[str | None] = mapped_column(sa.String(20))
    score: Mapped[float | None] = mapped_column()
    breakdown: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    related: Mapped[list] = mapped_column(sa.JSON, default=list)
    reason: Mapped[str | None] = mapped_column(sa.Text)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    mediator: Mapped[User | None] = relationship(foreign_keys=[mediator_id])
    organisation: Mapped[Organisation | None] = relationship(foreign_keys=[organisation_id])

    __table_args__ = (sa.CheckConstraint("kind IN ('auto', 'triage', 'resident_request', 'override')",
                                         name="routing_kind"),)


facts.register_case_fact("routing", lambda: sa.exists().where(RoutingDecision.case_id == Case.id))
