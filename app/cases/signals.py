"""Signals the funnel emits so that stage packages can react without being imported by cases."""
from blinker import Namespace

_signals = Namespace()

# sender: the Case; kwargs: transition (Transition), actor (User), event (CaseEvent)
case_transitioned = _signals.signal("case-transitioned")
