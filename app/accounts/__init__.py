"""Users, roles, organisations, mediator profiles, login sessions."""
