"""Schema, migrations and the basics of storage, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from kb.db import Kb, alembic_config, current_revision, head_revision, make_engine, open_kb
from kb.enums import RecordType
from kb.errors import SchemaError
from kb.model import Base
from kb.records import Writer


def test_schema_matches_models_alembic_check(kb: Kb) -> None:
    # The migrations build exactly what the models declare (what `alembic check` verifies).
    with kb.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []
    command.check(alembic_config(kb.engine))


def test_upgrade_downgrade_round_trip(db_url: str) -> None:
    engine = make_engine(db_url)
    config = alembic_config(engine)
    command.downgrade(config, "base")
    assert current_revision(engine) is None
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    command.upgrade(config, "head")
    assert current_revision(engine) == head_revision()
    assert "assertion" in inspect(engine).get_table_names()
    engine.dispose()


def test_foreign_keys_are_enforced(kb: Kb) -> None:
    with pytest.raises(IntegrityError), kb.unit_of_work() as session:
        session.execute(
            text(
                "INSERT INTO biomarker (id, human_id, row_version, kb_version, kind, gene_id,"
                " origin, label, protein_change) VALUES ('x', 'BM-99999', 1, 0,"
                " 'sequence_variant', 'no-such-gene', 'somatic', '', 'p.Val600Glu')"
            )
        )


def test_check_constraints_refuse_unsound_rows(kb: Kb) -> None:
    # A sequence variant without a protein change is refused by the database itself.
    with pytest.raises(IntegrityError), kb.unit_of_work() as session:
        session.execute(
            text(
                "INSERT INTO biomarker (id, human_id, row_version, kb_version, kind, origin,"
                " label) VALUES ('x', 'BM-99999', 1, 0, 'sequence_variant', 'somatic', '')"
            )
        )
    with pytest.raises(IntegrityError), kb.unit_of_work() as session:
        session.execute(
            text(
                "INSERT INTO drug (id, human_id, row_version, kb_version, name)"
                " VALUES ('a', 'DR-1', 1, 0, 'x'), ('b', 'DR-1', 1, 0, 'y')"
            )
        )


def test_enum_values_are_checked(kb: Kb) -> None:
    with pytest.raises(IntegrityError), kb.unit_of_work() as session:
        session.execute(
            text(
                "INSERT INTO gene (id, human_id, row_version, kb_version, symbol, hgnc_id, name,"
                " aliases, role) VALUES ('g', 'GN-1', 1, 0, 'EGFR', 'HGNC:3236', '', '[]', 'bogus')"
            )
        )


def test_unit_of_work_rolls_back_on_error(kb: Kb) -> None:
    with pytest.raises(RuntimeError), kb.unit_of_work() as session:
        Writer(session, kb_version=1).create(RecordType.DRUG, {"name": "osimertinib"})
        raise RuntimeError("crash mid-write")
    with kb.read() as session:
        assert session.execute(text("SELECT count(*) FROM drug")).scalar() == 0


def test_sqlite_file_is_backed_up_before_a_migration(tmp_path: Path) -> None:
    path = tmp_path / "kb.sqlite"
    engine = make_engine(f"sqlite:///{path}")
    command.upgrade(alembic_config(engine), "base")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE precious (x INTEGER)"))
        connection.execute(text("INSERT INTO precious VALUES (42)"))
    engine.dispose()
    opened = open_kb(f"sqlite:///{path}")
    assert opened.backup_path is not None and opened.backup_path.exists()
    with sqlite3.connect(opened.backup_path) as copy:
        assert copy.execute("SELECT x FROM precious").fetchall() == [(42,)]
    opened.close()
    # Opening again changes nothing, so no second backup.
    again = open_kb(f"sqlite:///{path}")
    assert again.backup_path is None
    again.close()


def test_a_newer_schema_is_refused_with_a_reason(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'from_the_future'"))
    engine.dispose()
    with pytest.raises(SchemaError, match="newer than this version"):
        open_kb(sqlite_url)


def test_url_resolution(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from kb.db import resolve_url

    monkeypatch.delenv("KB_DATABASE_URL", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert resolve_url(None).startswith("sqlite:///")
    assert resolve_url(None).endswith("kb.sqlite")
    monkeypatch.setenv("KB_DATABASE_URL", "postgresql://u@h/db")
    assert resolve_url(None) == "postgresql+psycopg://u@h/db"
    assert resolve_url(str(tmp_path / "x.sqlite")) == f"sqlite:///{tmp_path / 'x.sqlite'}"
