"""Sessions: tests, notebooks, reports, lint, bench, lab.

Every session builds its own virtualenv on Python 3.12 (PyMC 6 needs >= 3.12) and installs the
package with the dependency groups of pyproject.toml, so nothing has to be installed by hand.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nox

nox.options.sessions = ["tests", "lint"]
nox.options.reuse_existing_virtualenvs = True
nox.options.default_venv_backend = "venv"

PYTHON = os.environ.get("INSIGHTS_PYTHON", "3.12")
ROOT = Path(__file__).parent


def _python() -> str:
    """pyenv's 3.12 interpreter when there is one (its shims may point elsewhere), else 3.12."""
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    found = sorted(pyenv_root.glob(f"versions/{PYTHON}*/bin/python{PYTHON}"))
    return str(found[-1]) if found else PYTHON


PY = _python()


def _install(session: nox.Session, *groups: str) -> None:
    session.install("--upgrade", "pip")
    args = ["-e", "."]
    for g in groups:
        args += ["--group", g]
    session.install(*args)


def _kernel(session: nox.Session) -> None:
    """Register this venv's interpreter as the 'insights' Jupyter kernel, inside the venv."""
    session.run("python", "-m", "ipykernel", "install", "--sys-prefix", "--name", "insights",
                "--display-name", "Python (insights)", silent=True)


@nox.session(python=PY)
def tests(session: nox.Session) -> None:
    """The test suite (the README's test command)."""
    _install(session, "test")
    _kernel(session)
    n = "2" if (os.cpu_count() or 1) >= 2 else "1"
    args = session.posargs or ["-n", n, "--dist", "loadfile"]
    session.run("python", "-m", "pytest", *args)


@nox.session(python=PY)
def notebooks(session: nox.Session) -> None:
    """Execute every notebook with nbval (outputs are not compared: --nbval-lax)."""
    _install(session, "test")
    _kernel(session)
    session.run("python", "-m", "pytest", "--nbval-lax", "--nbval-kernel-name", "insights",
                "-p", "no:randomly", "notebooks/", *session.posargs)


@nox.session(python=PY)
def reports(session: nox.Session) -> None:
    """Render one HTML report per market plus reports/index.html."""
    _install(session, "reports")
    _kernel(session)
    session.run("insights", "report", *session.posargs)


@nox.session(python=PY)
def lint(session: nox.Session) -> None:
    """ruff on the package, tests, benchmarks and notebook scripts."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", "src", "tests", "benchmarks", "notebooks", "noxfile.py")


@nox.session(python=PY)
def bench(session: nox.Session) -> None:
    """Benchmarks against crowd-kit (needs scikit-learn<1.8, hence its own environment)."""
    _install(session, "bench")
    scripts = session.posargs or ["benchmarks/aggregators.py"]
    for script in scripts:
        session.run("python", script)


@nox.session(python=PY)
def lab(session: nox.Session) -> None:
    """JupyterLab with the package installed and jupytext pairing on."""
    _install(session, "lab")
    _kernel(session)
    session.run("jupyter", "lab", "--notebook-dir", str(ROOT / "notebooks"), *session.posargs,
                external=False)


if __name__ == "__main__":  # pragma: no cover
    sys.exit("run with: nox -s <session>")
