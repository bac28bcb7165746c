"""`routing` commands (click only; the app registers the group as `flask routing ...`)."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import click

from app.routing.engine import load_engine
from app.routing.evaluate import choose_label_map, evaluate, read_rows
from app.routing.rules import RoutingRulesError

DEFAULT_RULES = Path(__file__).resolve().parents[2] / "mediation_rules"

rules_option = click.option("--rules", "rules_dir", type=click.Path(file_okay=False, path_type=Path),
                            default=DEFAULT_RULES, show_default=True, help="Directory of the rules.")


def _engine(rules_dir: Path):
    try:
        return load_engine(rules_dir)
    except RoutingRulesError as exc:
        raise click.ClickException(str(exc)) from exc


@click.group("routing")
def routing() -> None:
    """Classify dispute texts and evaluate the routing rules."""


@routing.command("classify")
@click.argument("text")
@rules_option
@click.option("--top", default=3, show_default=True, help="How many categories to print.")
def classify_command(text: str, rules_dir: Path, top: int) -> None:
    """Print the classification of TEXT as JSON."""
    result = _engine(rules_dir).classify(text)
    data = dataclasses.asdict(result)
    data["ranked"] = data["ranked"][:top]
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


@routing.command("evaluate")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--labels", "labels", default=None, help="Label map name in mediation_rules/label_maps/.")
@rules_option
def evaluate_command(file: Path, labels: str | None, rules_dir: Path) -> None:
    """Score the rules on FILE (id<TAB>label<TAB>text); the last line is one JSON object."""
    engine = _engine(rules_dir)
    rows = read_rows(file)
    try:
        label_map = choose_label_map(rules_dir, labels, {r[1] for r in rows}, set(engine.categories))
    except RoutingRulesError as exc:
        raise click.ClickException(str(exc)) from exc
    report = evaluate(engine, rows, label_map)
    click.echo(f"label map: {label_map.name}")
    click.echo(f"{'label':<24}{'n':>5}{'precision':>11}{'recall':>8}")
    for label, s in report["per_label"].items():
        click.echo(f"{label:<24}{s['n']:>5}{s['precision']:>11.2f}{s['recall']:>8.2f}")
    click.echo("main confusions (label -> predicted):")
    for (label, predicted), count in report["confusions"]:
        click.echo(f"  {count:>3}  {label} -> {predicted}")
    click.echo(json.dumps(report["summary"], ensure_ascii=False))
