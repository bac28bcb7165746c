"""Escalation: the arbitration commission's and the court's inboxes."""
