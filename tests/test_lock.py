"""The hash-locked installs (ASVS 5.0 V15: components known, pinned and checked): requirements*.txt hold the pins
we choose; requirements*.lock, written by `make lock`, hold every package they pull in with the sha256 of its files,
and the Makefile installs only from the locks with --require-hashes. These tests fail when a pin is changed without
running `make lock`, or when the SBOM no longer describes what is installed."""
from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PIN_RE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;#\\]+)", re.M)


def normalise(name: str) -> str:
    """PEP 503: Flask-SQLAlchemy, flask_sqlalchemy and flask.sqlalchemy are one package."""
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(path: Path) -> dict[str, str]:
    """name -> version of every `name==version` line."""
    return {normalise(n): v for n, v in PIN_RE.findall(path.read_text(encoding="utf-8"))}


def lock_entries(path: Path) -> dict[str, tuple[str, list[str]]]:
    """name -> (version, sha256 hashes) of a pip-compile --generate-hashes file."""
    entries: dict[str, tuple[str, list[str]]] = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", path.read_text(encoding="utf-8")):
        found = PIN_RE.match(block)
        if found:
            entries[normalise(found.group(1))] = (found.group(2), re.findall(r"--hash=sha256:([0-9a-f]{64})", block))
    return entries


def test_every_chosen_pin_is_locked_at_the_same_version():
    for chosen, lock in (("requirements.txt", "requirements.lock"), ("requirements-dev.txt", "requirements-dev.lock")):
        locked = lock_entries(ROOT / lock)
        for name, version in pins(ROOT / chosen).items():
            assert name in locked, f"{name} is pinned in {chosen} but not in {lock}: run `make lock`"
            assert locked[name][0] == version, (f"{name} is {version} in {chosen} but {locked[name][0]} in {lock}: "
                                                "run `make lock`")


def test_every_locked_package_has_hashes_and_both_locks_agree():
    runtime, dev = lock_entries(ROOT / "requirements.lock"), lock_entries(ROOT / "requirements-dev.lock")
    assert len(runtime) > 40 and len(dev) > len(runtime)  # the transitive packages are there, not only our pins
    for lock, entries in (("requirements.lock", runtime), ("requirements-dev.lock", dev)):
        unhashed = sorted(name for name, (_, hashes) in entries.items() if not hashes)
        assert not unhashed, f"{lock}: no hashes for {unhashed}"
    differing = {name: (version, dev[name][0]) for name, (version, _) in runtime.items()
                 if name in dev and dev[name][0] != version}
    assert not differing, f"make run and make test would install different versions: {differing}"
    assert set(runtime) <= set(dev), "requirements-dev.lock must hold everything requirements.lock does"


def test_the_makefile_installs_only_from_the_locks_with_hashes_required():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    installs = re.findall(r"\$\(PIP\) install[^\n]*", makefile)
    assert installs and all("--require-hashes" in line and ".lock" in line for line in installs), installs


def test_the_sbom_lists_exactly_the_runtime_lock():
    sbom = json.loads((ROOT / "sbom.cdx.json").read_text(encoding="utf-8"))
    assert sbom["bomFormat"] == "CycloneDX"
    listed = {normalise(c["name"]): c["version"] for c in sbom["components"]}
    locked = {name: version for name, (version, _) in lock_entries(ROOT / "requirements.lock").items()}
    assert listed == locked, "sbom.cdx.json is stale: run `make lock`"
    for component in sbom["components"]:  # package URLs that scanners (e.g. OSV, Dependency-Track) look up
        assert component["purl"] == f"pkg:pypi/{normalise(component['name'])}@{component['version']}", component
