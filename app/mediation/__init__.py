"""Mediation: the mediator's inbox and the organisation's assignment board."""
