"""Shared fixtures: real databases (a SQLite file and, where available, a PostgreSQL server).

The schema is migrated once per test session into a template, and each test gets a copy: a file
copy for SQLite, `CREATE DATABASE … TEMPLATE` for PostgreSQL.

PostgreSQL comes from KB_TEST_POSTGRES_URL (an admin URL such as
postgresql://postgres@127.0.0.1:54329/postgres; `.ci/run` starts one on a free port). Without it the
PostgreSQL leg is skipped with that reason — except in CI, where a missing server is a failure.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from kb.review.users import Actor
from kb.storage.db import Kb, make_engine, migrate, open_kb

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parent.parent
# Third-party reference files (CIViC, CTML, full vocabularies) beside the checkout; tests that
# need them skip without them. KB_TEST_SHARED_DATA points elsewhere (a missing folder shows
# what a fresh clone runs).
SHARED_DATA = Path(os.environ.get("KB_TEST_SHARED_DATA") or REPO.parent / "shared" / "data")
ONCOTREE_FILE = SHARED_DATA / "oncotree" / "oncotree_2025_10_03.json"
HGNC_FILE = SHARED_DATA / "hgnc" / "hgnc_genes.tsv"
DOID_DIR = SHARED_DATA / "doid"
PG_ENV = "KB_TEST_POSTGRES_URL"
_counter = itertools.count()


def pytest_report_header() -> str:
    url = os.environ.get(PG_ENV)
    if url:
        return f"PostgreSQL: {make_url(url).render_as_string(hide_password=True)}"
    return f"PostgreSQL: not configured ({PG_ENV} unset); PostgreSQL tests are skipped"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.sqlite"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine, backup=False)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        if os.environ.get("CI"):
            pytest.fail(f"{PG_ENV} is not set in CI: the PostgreSQL leg must run")
        pytest.skip(f"no PostgreSQL server: set {PG_ENV} (see .ci/run) to run this leg")
    return url


@pytest.fixture(scope="session")
def postgres_template(postgres_admin_url: str) -> Iterator[str]:
    admin = create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    name = f"kbtest_template_{os.getpid()}"
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(postgres_admin_url).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    migrate(engine, backup=False)
    engine.dispose()
    yield name
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _new_postgres_database(admin_url: str, template: str) -> tuple[str, str]:
    name = f"kbtest_{os.getpid()}_{next(_counter)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    admin.dispose()
    return name, make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def _drop_postgres_database(admin_url: str, name: str) -> None:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A freshly migrated, empty KB database URL: once on SQLite, once on PostgreSQL."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "kb.sqlite"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"
        return
    admin_url: str = request.getfixturevalue("postgres_admin_url")
    template_name: str = request.getfixturevalue("postgres_template")
    name, url = _new_postgres_database(admin_url, template_name)
    yield url
    _drop_postgres_database(admin_url, name)


@pytest.fixture
def kb(db_url: str) -> Iterator[Kb]:
    """An open, empty KB on each backend."""
    opened = open_kb(db_url)
    yield opened
    opened.close()


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    path = tmp_path / "kb.sqlite"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


def _build_demo(url: str) -> None:
    from kb.demo.loader import build_demo
    from kb.storage.meta import initialise

    opened = open_kb(url)
    with opened.unit_of_work() as session:
        initialise(session, name="demo")
        build_demo(session)
    opened.close()


@pytest.fixture(scope="session")
def demo_template(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite KB holding the demo, built once per session."""
    path = tmp_path_factory.mktemp("demo") / "demo.sqlite"
    shutil.copyfile(sqlite_template, path)
    _build_demo(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_demo_template(postgres_admin_url: str, postgres_template: str) -> Iterator[str]:
    """A PostgreSQL database holding the demo, built once per session, copied per test."""
    name, url = _new_postgres_database(postgres_admin_url, postgres_template)
    _build_demo(url)
    yield name
    _drop_postgres_database(postgres_admin_url, name)


@pytest.fixture
def demo_url(tmp_path: Path, demo_template: Path) -> str:
    path = tmp_path / "demo.sqlite"
    shutil.copyfile(demo_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def demo_kb(request: pytest.FixtureRequest, db_url: str) -> Iterator[Kb]:
    """The demo KB on each backend, at `db_url` (built once per backend, copied per test)."""
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        assert url.database is not None
        shutil.copyfile(request.getfixturevalue("demo_template"), url.database)
    else:
        template: str = request.getfixturevalue("postgres_demo_template")
        admin = create_engine(
            request.getfixturevalue("postgres_admin_url"), isolation_level="AUTOCOMMIT"
        )
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{url.database}"'))
            connection.execute(text(f'CREATE DATABASE "{url.database}" TEMPLATE "{template}"'))
        admin.dispose()
    opened = open_kb(db_url)
    yield opened
    opened.close()


def demo_admin(session: Session) -> Actor:
    """The demo KB's admin (the demo is built by its own team of accounts)."""
    from kb.demo.loader import DEMO_USERS
    from kb.review.users import authenticate

    name, _, password = DEMO_USERS[0]
    return authenticate(session, name=name, password=password)


def vocabulary_file(path: Path) -> Path:
    """A vocabulary file from shared/data, else the same release bundled in the package
    (tests/test_vocab.py checks they hold the same rows), so vocabulary tests run anywhere."""
    if path.exists():
        return path
    from kb.vocab import bundled

    return {ONCOTREE_FILE: bundled.ONCOTREE, HGNC_FILE: bundled.HGNC, DOID_DIR: bundled.FOLDER}[
        path
    ]


def require_shared(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"reference file {path} is missing (shared/data sits beside the checkout)")
    return path


def load_full_vocabularies(kb: Kb, *, hgnc: bool = True) -> None:
    """Load the full OncoTree (and HGNC) files from shared/data into a demo KB, as its admin
    does (into a new version: the demo's version 1 is signed off)."""
    from kb.review.vocabulary import load_vocabulary
    from kb.vocab.hgnc import load_hgnc
    from kb.vocab.oncotree import load_oncotree

    oncotree, hgnc = vocabulary_file(ONCOTREE_FILE), vocabulary_file(HGNC_FILE)
    with kb.unit_of_work() as session:
        admin = demo_admin(session)
        load_vocabulary(
            session, actor=admin, kind="oncotree", load=lambda s: load_oncotree(s, oncotree)
        )
        if not hgnc:
            return
        load_vocabulary(
            session,
            actor=admin,
            kind="hgnc",
            load=lambda s: load_hgnc(s, hgnc, version="hgnc-2022"),
        )
