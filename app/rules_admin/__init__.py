"""Admin pages that read and edit the routing rules (mediation_rules/categories.yaml) safely."""
