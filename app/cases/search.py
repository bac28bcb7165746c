"""Case search: one organisation's cases (or the platform's, for the admin) by words of the title, description, court
case number or a party's name, newest first.

Chinese has no spaces, so words are not what gets indexed: on PostgreSQL every run of letters and digits is cut into
overlapping character bigrams (the CJK approach of Lucene's and Elasticsearch's cjk analyser), stored with their
positions in `cases.search_vector` (a tsvector) under a GIN index together with the organisation id (btree_gin), and
a query becomes a phrase of its bigrams: 拖欠工资 -> '拖欠' <-> '欠工' <-> '工资', which matches that string exactly
where it occurs, in one index lookup scoped to the organisation. Single characters are indexed too (without
positions), for a one-character query such as a surname (王). SQLite (small, embedded installations) uses LIKE and
leaves search_vector NULL.

The vector is kept by a before_flush listener whenever a case's title, description or court case number changes or
a party is added, renamed or removed; `flask seed-bulk` writes it directly (`tsvector_literal`).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.orm import Session
from sqlalchemy.sql.util import ClauseAdapter

from app.cases.models import Case, CaseParty
from app.extensions import db

PAGE_SIZE = 20
MAX_PAGE = 250
MAX_QUERY = 100
MAX_POSITIONS = 255   # PostgreSQL keeps at most 256 positions per lexeme
MAX_POSITION = 16383  # and positions above this are clamped
_RUN = re.compile(r"[^\W_]+")  # letters and digits of any script (CJK characters are letters)

# Organisation, stage and tokens in one GIN index (btree_gin makes the plain columns indexable by GIN), so "this
# organisation's cases in mediation mentioning 工资" is one index lookup; SQLite gets a plain index of the same name
# so models and migrations agree on both.
sa.Index("ix_cases_search", Case.organisation_id, Case.stage, Case.search_vector, postgresql_using="gin")


def runs(text: str | None) -> list[str]:
    """The runs of letters and digits of a text, NFKC-normalised (full-width -> half-width) and lower case."""
    return _RUN.findall(unicodedata.normalize("NFKC", text or "").lower())


def tsvector_literal(*texts: str | None, start: int = 1) -> str:
    """The bigrams of the texts with their positions from `start`, in tsvector input syntax ('ab':1 'bc':2,9 ...).
    Runs are one position apart, so a phrase never matches across punctuation or from one text into the next.
    (PostgreSQL merges a lexeme given twice, so literals of consecutive texts may simply be joined with a space:
    `next_position` tells where the next one starts.)"""
    positions: dict[str, list[int]] = {}
    characters: set[str] = set()
    pos = start
    for text in texts:
        for run in runs(text):
            characters.update(run)
            for i in range(len(run) - 1):
                if pos <= MAX_POSITION:
                    found = positions.setdefault(run[i:i + 2], [])
                    if len(found) < MAX_POSITIONS:
                        found.append(pos)
                pos += 1
            pos += 1
    bigrams = " ".join(f"'{lexeme}':{','.join(map(str, p))}" for lexeme, p in positions.items())
    # Single characters too, without positions (only ever asked for alone): a search for 王 uses the index.
    return " ".join((bigrams, *(f"'{c}'" for c in sorted(characters)))) if bigrams else " ".join(
        f"'{c}'" for c in sorted(characters))


def next_position(*texts: str | None, start: int = 1) -> int:
    """The position after the texts' bigrams in tsvector_literal(*texts, start=start)."""
    return start + sum(len(run) for text in texts for run in runs(text))


def tsquery_text(query: str) -> str | None:
    """The query as a tsquery: each run a phrase of its bigrams (a single character: itself), AND between runs;
    None when the query has no letter or digit."""
    phrases = [" <-> ".join(f"'{run[i:i + 2]}'" for i in range(len(run) - 1)) if len(run) > 1 else f"'{run}'"
               for run in runs(query)]
    return " & ".join(f"({p})" for p in phrases) or None


# --- keeping search_vector current --------------------------------------------------------------------------
def _changed(obj, *names: str) -> bool:
    state = sa.inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in names)


@event.listens_for(Session, "before_flush")
def _reindex_cases(session: Session, _context, _instances) -> None:
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        return
    touched: set[Case] = set()
    with session.no_autoflush:
        for obj in session.new:
            if isinstance(obj, Case):
                touched.add(obj)
            elif isinstance(obj, CaseParty):
                touched.add(obj.case or session.get(Case, obj.case_id))
        for obj in session.dirty:
            if isinstance(obj, Case) and _changed(obj, "title", "description", "court_case_number"):
                touched.add(obj)
            elif isinstance(obj, CaseParty) and _changed(obj, "name"):
                touched.add(obj.case)
        for obj in session.deleted:
            if isinstance(obj, CaseParty) and obj.case is not None and obj.case not in session.deleted:
                touched.add(obj.case)
        for case in touched - {None}:
            names = [p.name for p in case.parties if p not in session.deleted]
            names += [p.name for p in session.new
                      if isinstance(p, CaseParty) and p.case_id == case.id and p.case is None and case.id]
            case.search_vector = tsvector_literal(case.title, case.description, case.court_case_number, *names)


# --- searching ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CaseRow:
    id: int
    title: str
    stage: str
    status: str
    category: str | None
    organisation_id: int | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class SearchPage:
    rows: list[CaseRow]
    page: int
    has_next: bool


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _like_match(words: list[str]):
    """Every word in the title, description, court case number or a party's name (SQLite; one-character queries)."""
    clauses = []
    for word in words:
        pattern = _like(word)
        party = sa.select(CaseParty.id).where(CaseParty.case_id == Case.id,
                                              CaseParty.name.ilike(pattern, escape="\\")).exists()
        clauses.append(sa.or_(Case.title.ilike(pattern, escape="\\"), Case.description.ilike(pattern, escape="\\"),
                              Case.court_case_number.ilike(pattern, escape="\\"), party))
    return sa.and_(*clauses)


def _text_match(query: str, dialect: str):
    words = runs(query)
    if not words:
        return None
    tsq = tsquery_text(query) if dialect == "postgresql" else None
    match = Case.search_vector.op("@@")(sa.cast(tsq, TSQUERY)) if tsq else _like_match(words)
    if query.strip().isdigit() and len(query.strip()) <= 9:  # a case number as shown on its page (#123)
        match = sa.or_(match, Case.id == int(query.strip()))
    return match


def search_cases(*, organisation_id: int | None, query: str = "", stage: str | None = None,
                 page: int = 1) -> SearchPage:
    """One page of cases, newest first: those of `organisation_id` (None: every case), in `stage` when given,
    matching every word of `query` when given (see the module's doc)."""
    page = max(1, min(page, MAX_PAGE))
    query = (query or "").strip().lstrip("#")[:MAX_QUERY]
    cols = (Case.id, Case.title, Case.stage, Case.status, Case.category, Case.organisation_id, Case.created_at,
            Case.updated_at)
    dialect = db.session.get_bind().dialect.name
    match = _text_match(query, dialect) if query else None
    window = dict(limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
    if match is not None and dialect == "postgresql":
        rows = _newest_matches(cols, organisation_id, stage, match, **window)
    else:
        where = [match] if match is not None else []
        if organisation_id is not None:
            where.append(Case.organisation_id == organisation_id)
        if stage:
            where.append(Case.stage == stage)
        stmt = (sa.select(*cols).where(*where).order_by(Case.created_at.desc(), Case.id.desc())
                .limit(window["limit"]).offset(window["offset"]))
        rows = db.session.execute(stmt).all()
    return SearchPage(rows=[CaseRow(r.id, r.title, _value(r.stage), _value(r.status), r.category,
                                    r.organisation_id, r.created_at, r.updated_at) for r in rows[:PAGE_SIZE]],
                      page=page, has_next=len(rows) > PAGE_SIZE)


RECENT_WINDOW = 600  # cases looked at newest first before asking the index for every match


def _newest_matches(cols, organisation_id: int | None, stage: str | None, match, *, limit: int,
                    offset: int) -> list:
    """The newest matching cases in two tries. A common word is found among the organisation's newest RECENT_WINDOW
    cases (by its created_at index, a few milliseconds); a rarer one is fetched whole from the GIN index and the
    newest kept. Both steps are MATERIALIZED so the planner cannot trade them for a walk over every case of the
    organisation testing each (what it does when it guesses a word is common and it is not), and the GIN step only
    runs when matches are rare, so it stays small."""
    need = offset + limit
    org = [Case.organisation_id == organisation_id] if organisation_id is not None else []
    in_stage = [Case.stage == stage] if stage else []
    order = (Case.created_at.desc(), Case.id.desc())
    # The match is tested on the window's own rows (the whole row is in the CTE, the statement rewritten onto it):
    # joined back to `cases` instead, the planner could run the match through the GIN index over every case and
    # hash-join, which took 350 ms for a phrase found in 33,000 cases of other organisations and none of this one.
    recent = (sa.select(Case.__table__).where(*org).order_by(*order).limit(max(RECENT_WINDOW, 4 * need))
              .cte("recent").prefix_with("MATERIALIZED"))
    on_window = ClauseAdapter(recent).traverse(sa.select(*cols).where(*in_stage, match).order_by(*order).limit(need))
    rows = db.session.execute(on_window).all()
    if len(rows) == need:
        return rows[offset:]
    hits = sa.select(Case.id, Case.created_at).where(*org, *in_stage, match).cte("hits").prefix_with("MATERIALIZED")
    top = (sa.select(hits.c.id, hits.c.created_at).order_by(hits.c.created_at.desc(), hits.c.id.desc())
           .limit(limit).offset(offset).subquery())
    return db.session.execute(sa.select(*cols).join(top, top.c.id == Case.id)
                              .order_by(top.c.created_at.desc(), top.c.id.desc())).all()


def _value(enum_or_text) -> str:
    return getattr(enum_or_text, "value", enum_or_text)
