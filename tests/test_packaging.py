"""`pip install .` (not editable) gives a working digestbot: seeds and migrations included."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(REPO),
        ],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("digestbot-*.whl")
    return built


def test_wheel_carries_seeds_migrations_and_the_command(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    seeds = [n for n in names if n.startswith("digestbot/_seeds/") and n.endswith(".txt")]
    assert len(seeds) == len(list((REPO / "seeds").glob("*.txt"))) >= 20
    assert "digestbot/store/migrations/env.py" in names
    assert "digestbot/store/migrations/script.py.mako" in names
    assert any(n.startswith("digestbot/store/migrations/versions/0001_") for n in names)
    # the compiled catalogs: without them an installed bot speaks only English
    assert "digestbot/locales/hi/LC_MESSAGES/digestbot.mo" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "digestbot = digestbot.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_wheel_says_who_made_it_where_it_lives_and_under_what_licence(wheel):
    archive = zipfile.ZipFile(wheel)
    names = archive.namelist()
    metadata = archive.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "License-Expression: MIT" in metadata
    assert "Author: digestbot authors" in metadata
    assert "Project-URL: Source, https://github.com/digestbot/digestbot" in metadata
    assert "Classifier: Programming Language :: Python :: 3.11" in metadata
    assert "Requires-Dist: prompt-toolkit" in metadata.replace("prompt_toolkit", "prompt-toolkit")
    licence = next(n for n in names if n.endswith(".dist-info/licenses/LICENSE"))
    assert "MIT License" in archive.read(licence).decode()
    assert "Copyright (c) 2026 digestbot authors" in archive.read(licence).decode()


def test_installed_wheel_runs_from_anywhere(wheel, tmp_path):
    site = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(site),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    env = {**os.environ, "PYTHONPATH": str(site), "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    where = subprocess.run(
        [
            sys.executable,
            "-c",
            "import digestbot.briefs.ingest as i; print(i.__file__); print(i.seeds_dir());"
            "from digestbot import i18n; i18n.set_current('hi');"
            "print(i18n.gettext('Admin') != 'Admin')",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=True,
    ).stdout.split()
    assert where[0].startswith(str(site)) and where[1].startswith(str(site))
    assert where[2] == "True", "the installed wheel has no Hindi"

    result = subprocess.run(
        [sys.executable, "-m", "digestbot", "ingest", where[1]],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{len(list((REPO / 'seeds').glob('*.txt')))} added")


def test_the_lock_pins_every_dependency_within_its_range():
    """requirements.lock (pip-compile) must satisfy pyproject.toml, or installs drift."""
    import tomllib

    from packaging.requirements import Requirement

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = [Requirement(r) for r in project["dependencies"]]
    wanted += [Requirement(r) for r in project["optional-dependencies"]["test"]]
    pins = {}
    for line in (REPO / "requirements.lock").read_text().splitlines():
        if line and not line.startswith((" ", "#", "-")):
            name, _, version = line.partition("==")
            pins[name.strip().lower().replace("_", "-")] = version.strip()
    problems = []
    for req in wanted:
        name = req.name.lower().replace("_", "-")
        if name not in pins:
            problems.append(f"{req.name} is not in the lock")
        elif not req.specifier.contains(pins[name], prereleases=True):
            problems.append(f"{req.name}=={pins[name]} is outside {req.specifier}")
    assert problems == []
