"""Developer sessions: ``nox -s tests``, ``nox -s lint``, ``nox -s bench``."""

import nox

nox.options.sessions = ["tests", "lint"]
nox.options.reuse_existing_virtualenvs = True


@nox.session
def tests(session: nox.Session) -> None:
    """Install the package (not editable, as a user gets it) and run the test suite."""
    session.install(".[test]")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Ruff lint and format check."""
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks (scripts, not tests): batched engine against PySD on the same model."""
    session.install(".")
    session.run("python", "benchmarks/engine_vs_pysd.py", *session.posargs)
