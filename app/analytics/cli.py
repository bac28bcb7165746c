"""`flask dashboard refresh` (the rollups behind the governance dashboard) and `flask seed-bulk` (synthetic data)."""
from __future__ import annotations

import time
from datetime import datetime

import click
from flask.cli import AppGroup, with_appcontext

from app.analytics import rollups

dashboard_cli = AppGroup("dashboard", help="The governance dashboard's rollup tables.")


@dashboard_cli.command("refresh")
@click.option("--full", is_flag=True, help="Rebuild every month (after cases were deleted by hand).")
@click.option("--since", type=click.DateTime(), default=None, help="Recompute the months of cases changed since then.")
@with_appcontext
def refresh_command(full: bool, since: datetime | None) -> None:
    """Recompute the months whose cases changed since the last refresh (all of them the first time)."""
    started = time.perf_counter()
    result = rollups.refresh(since, full=full)
    click.echo(f"Dashboard rollups refreshed ({result['months']} month(s)) in {time.perf_counter() - started:.2f} s.")


@dashboard_cli.command("warnings")
@click.option("--org", "org_id", type=int, default=None, help="Only this organisation's cases.")
@with_appcontext
def warnings_command(org_id: int | None) -> None:
    """Print the current early warnings (spikes, mass disputes)."""
    from app.analytics.queries import Scope
    from app.analytics.warnings import print_warnings

    print_warnings(Scope(organisation_id=org_id))


@click.command("seed-bulk")
@click.option("--cases", "count", type=click.IntRange(1), required=True, help="How many cases to add.")
@click.option("--seed", type=int, default=1, show_default=True, help="Random seed (same seed, same data).")
@with_appcontext
def seed_bulk_command(count: int, seed: int) -> None:
    """Add N realistic synthetic cases (parties, hash-chained events, ratings) fast, then refresh the dashboard."""
    from app.analytics.bulk import seed_bulk

    stats = seed_bulk(count, seed)
    click.echo(f"Inserted {stats['cases']} cases, {stats['parties']} parties, {stats['events']} events, "
               f"{stats['ratings']} ratings in {stats['seconds']:.2f} s: {stats['rate']:,.0f} cases/s "
               f"({stats['backend']}; from start to data committed, indexed and analysed"
               + (f"; phases: {stats['phases']}" if stats.get("phases") else "") + ").")
    started = time.perf_counter()
    rollups.refresh()
    refreshed = time.perf_counter() - started
    click.echo(f"Dashboard rollups refreshed in {refreshed:.2f} s; with them, "
               f"{stats['cases'] / (stats['seconds'] + refreshed):,.0f} cases/s.")


def register(app) -> None:
    """Add this package's commands to the app's CLI."""
    app.cli.add_command(dashboard_cli)
    app.cli.add_command(seed_bulk_command)
