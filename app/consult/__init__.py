"""Consult: answer residents' questions before a case exists. knowledge.py loads and validates
mediation_rules/knowledge/*.yaml; retrieval.py ranks its entries (pure: jieba, bm25s, rapidfuzz);
operations.py, models.py and views.py are the page and the resolved-at-consult record; cli.py is
`flask consult ask`."""
