"""`flask consult ask "TEXT"`: the answers the consult page would give, as JSON (nothing is recorded)."""
from __future__ import annotations

import json

import click
from flask.cli import AppGroup

consult_cli = AppGroup("consult", help="Ask the consult knowledge base.")


@consult_cli.command("ask")
@click.argument("text")
@click.option("--top", default=3, show_default=True, help="How many answers to print.")
def ask_command(text: str, top: int) -> None:
    """Print the best answers to TEXT as a JSON list (question, answer, citations, score, id, category)."""
    from app.consult.operations import find_answers

    hits, _category = find_answers(text, k=top)
    out = []
    for hit in hits:
        data = hit.entry.as_dict()
        out.append({"id": data["id"], "category": data["category"], "question": data["question"],
                    "answer": data["answer"], "citations": data["citations"], "next_step": data["next_step"],
                    "score": hit.score})
    click.echo(json.dumps(out, ensure_ascii=False, indent=2))
