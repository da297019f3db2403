"""Schema, migrations and the basics of storage, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import sqlite3
import time
import uuid
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kb.errors import SchemaError
from kb.model.enums import ChangeOp, RecordType, Role
from kb.model.orm import Base, Change, new_uuid
from kb.model.records import Writer
from kb.review.changes import _CHANGE_COLUMNS, open_draft
from kb.review.users import add_user, bootstrap_admin
from kb.storage.db import (
    Kb,
    alembic_config,
    bulk_insert,
    current_revision,
    head_revision,
    make_engine,
    migrate,
    open_kb,
)
from kb.storage.meta import initialise


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


def test_0018_adds_dbsnp_ids_and_refuses_to_drop_a_variant_known_only_by_one(kb: Kb) -> None:
    with kb.unit_of_work() as session:
        writer = Writer(session, kb_version=1)
        writer.create(RecordType.GENE, {"symbol": "SH2B3", "hgnc_id": "HGNC:29605"})
        snp = writer.create(
            RecordType.BIOMARKER,
            {"kind": "sequence_variant", "gene": "SH2B3", "dbsnp_id": "rs3184504"},
        ).human_id
    config = alembic_config(kb.engine)
    command.downgrade(config, "0018")
    # 0017 cannot hold a variant named only by its rs id: the downgrade says which, and stops.
    with pytest.raises(RuntimeError, match=f"dbSNP rs id.*{snp}"):
        command.downgrade(config, "0017")
    assert current_revision(kb.engine) == "0018"
    with kb.engine.begin() as connection:
        connection.execute(text("UPDATE biomarker SET protein_change = 'p.Trp262Arg'"))
    command.downgrade(config, "0017")
    columns = {c["name"] for c in inspect(kb.engine).get_columns("biomarker")}
    assert "dna_change" in columns and "dbsnp_id" not in columns
    with kb.engine.begin() as connection:
        kept = connection.execute(text("SELECT protein_change FROM biomarker")).scalars()
        assert list(kept) == ["p.Trp262Arg"]
    command.upgrade(config, "head")
    with kb.engine.begin() as connection:
        connection.execute(
            text("UPDATE biomarker SET protein_change = NULL, dbsnp_id = 'rs3184504'")
        )
    # And a sequence variant with neither a change nor an rs id is still refused.
    with pytest.raises(IntegrityError), kb.engine.begin() as connection:
        connection.execute(text("UPDATE biomarker SET dbsnp_id = NULL"))


def test_0019_drops_the_change_indexes_no_query_needs(kb: Kb) -> None:
    def indexes() -> set[str]:
        return {index["name"] or "" for index in inspect(kb.engine).get_indexes("change")}

    assert {"ix_change_change_set_id", "ix_change_record_id"}.isdisjoint(indexes())
    assert "ix_change_human_id" in indexes()
    config = alembic_config(kb.engine)
    command.downgrade(config, "0018")
    assert {"ix_change_change_set_id", "ix_change_record_id"} <= indexes()
    command.upgrade(config, "head")
    assert {"ix_change_change_set_id", "ix_change_record_id"}.isdisjoint(indexes())
    # A change set's changes are still found through an index: the unique one it leads.
    with kb.engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            plan = " ".join(
                str(row[-1])
                for row in connection.execute(
                    text("EXPLAIN QUERY PLAN SELECT * FROM change WHERE change_set_id = 'x'")
                )
            )
            # (SQLite names a unique constraint's index sqlite_autoindex_…)
            assert "SEARCH change USING INDEX" in plan and "change_set_id=?" in plan, plan


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
    from kb.storage.db import resolve_url

    monkeypatch.delenv("KB_DATABASE_URL", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert resolve_url(None).startswith("sqlite:///")
    assert resolve_url(None).endswith("kb.sqlite")
    monkeypatch.setenv("KB_DATABASE_URL", "postgresql://u@h/db")
    assert resolve_url(None) == "postgresql+psycopg://u@h/db"
    assert resolve_url(str(tmp_path / "x.sqlite")) == f"sqlite:///{tmp_path / 'x.sqlite'}"


def test_new_record_ids_are_time_ordered_uuid7() -> None:
    # Ids made one after another sort one after another (index-friendly bulk inserts), and
    # stay unique and well-formed even when thousands fall in one millisecond.
    ids = [new_uuid() for _ in range(20_000)]
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)
    parsed = uuid.UUID(ids[0])
    assert parsed.version == 7 and parsed.variant == uuid.RFC_4122 and str(parsed) == ids[0]
    millis = int(ids[-1].replace("-", "")[:12], 16)
    assert abs(millis - time.time() * 1000) < 60_000


def test_bulk_insert_stores_what_the_orm_reads_back(kb: Kb) -> None:
    # The fast path behind imports: values pass through each column type's processing (JSON,
    # enums, time stamps) exactly as SQLAlchemy's own insert would, on both backends.
    with kb.unit_of_work() as session:
        initialise(session, name="bulk")
        admin = bootstrap_admin(session, name="admin", password="pw-admin-123")
        curator = add_user(
            session, actor=admin, name="cara", role=Role.CURATOR, password="pw-cara-12345"
        )
        draft = open_draft(session, actor=curator, title="bulk")
        draft.flush()
        stamp = dt.datetime(2026, 11, 22, 6, 30, 15, 123456, tzinfo=dt.UTC)
        fields = {"name": "Ünïcode drug", "synonyms": ["a", "b"], "nested": {"x": [1, 2.5]}}
        rows = [
            (
                draft.change_set_id,
                n,
                ChangeOp.CREATE,
                "drug",
                new_uuid(),
                f"DR-9{n:04d}",
                {**fields, "n": n},
                {},
                curator.user_id,
                stamp,
            )
            for n in range(12_001)
        ]
        count = bulk_insert(session, Change, _CHANGE_COLUMNS, rows)
    assert count == len(rows)
    with kb.read() as session:
        stored = session.scalars(
            select(Change)
            .where(Change.change_set_id == draft.change_set_id)
            .order_by(Change.position)
        ).all()
        assert len(stored) == len(rows)
        last = stored[-1]
        assert last.op is ChangeOp.CREATE and last.human_id == "DR-912000"
        assert last.fields == {**fields, "n": 12_000} and last.before == {}
        assert last.updated_at.replace(tzinfo=dt.UTC) == stamp


def _pinned_state_before_0011(
    session: Session, _version: int
) -> tuple[dict[str, str], list[dict[str, object]]]:
    """How snapshots read the vocabularies before migration 0011 pinned them per version."""
    from kb.vocab.releases import vocabulary_versions

    rows = session.execute(
        text(
            "SELECT code, name, main_type, tissue, parent_code, level FROM tumour_type "
            "ORDER BY code"
        )
    )
    keys = ("code", "name", "main_type", "tissue", "parent", "level")
    return vocabulary_versions(session), [dict(zip(keys, row, strict=True)) for row in rows]


def test_a_populated_kb_from_before_the_knowledge_model_migrates_forward(
    demo_kb: Kb, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A KB at revision 0002 (the schema before DO, exon maps, the new biomarker forms and
    signed approvals) opens, migrates, and keeps its records, links, approvals and audit chain;
    its approvals, made before signed approvals, are reported unsigned and do not count."""
    from sqlalchemy import insert

    from kb.model.enums import ApprovalMeaning, Role
    from kb.model.orm import VersionApproval
    from kb.release.cutting import release_problems
    from kb.review.audit import record_event, verify_chain
    from kb.review.esign import ApprovalSignature
    from kb.review.users import authenticate
    from kb.review.versions import approve_version, list_approvals
    from kb.storage.drift import check_drift
    from kb.storage.snapshot import build_snapshot

    def facts(kb: Kb) -> tuple[int, int, int, str, list[bool]]:
        with kb.read() as session:
            count = session.execute(text("SELECT count(*) FROM biomarker")).scalar_one()
            links = session.execute(text("SELECT count(*) FROM biomarker_exclusion")).scalar_one()
            nodes = session.execute(text("SELECT count(*) FROM expression_node")).scalar_one()
            digest = build_snapshot(session, 1).digest()
            approved = session.execute(
                text("SELECT digest FROM version_approval WHERE kb_version = 1 ORDER BY id")
            ).scalars()
            approvals = [a != digest for a in approved]
            assert verify_chain(session).ok
        return count, links, nodes, digest, approvals

    config = alembic_config(demo_kb.engine)
    # A KB of 0002's time could not hold the biomarker forms 0005 added (the demo's FLT3 ITD: a
    # whole-gene range of a consequence 0002 lacks); the downgrade's CHECKs refuse them, so here
    # they become a form 0002 knows (an in-frame insertion at one codon).
    with demo_kb.engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE biomarker SET consequence = 'inframe_insertion', "
                "codon_start = COALESCE(codon_start, 1), codon_end = COALESCE(codon_end, 1) "
                "WHERE consequence IN ('internal_tandem_duplication', 'promoter') "
                "AND exon IS NULL"
            )
        )
    command.downgrade(config, "0002")
    assert current_revision(demo_kb.engine) == "0002"
    # Going down dropped the Disease Ontology, which version 1's sign-off covered: a KB of
    # that time is signed off without it, as that time's code did (no signature), and read as
    # it read it: its snapshot took the vocabularies loaded (no pinned state yet).
    monkeypatch.setattr("kb.storage.snapshot.pinned_state", _pinned_state_before_0011)
    with demo_kb.unit_of_work() as session:
        reviewer = authenticate(session, name="reviewer2", password="demo-reviewer2")
        digest = build_snapshot(session, 1).digest()
        table = VersionApproval.__table__
        session.execute(
            insert(table).values(
                kb_version=1,
                user_id=reviewer.user_id,
                printed_name="reviewer2",
                role=Role.REVIEWER,
                at=dt.datetime.now(dt.UTC),
                meaning=ApprovalMeaning.APPROVED,
                reason="0002",
                digest=digest,
            )
        )
        record_event(
            session,
            actor="reviewer2",
            action="version.approve",
            subject="v1",
            details={"meaning": "approved", "reason": "0002", "digest": digest},
        )
    before = facts(demo_kb)
    assert before[0] > 0 and before[2] > 0 and before[4] == [True, False]
    monkeypatch.undo()
    migrate(demo_kb.engine, backup=False)
    assert current_revision(demo_kb.engine) == head_revision()
    assert facts(demo_kb) == before
    with demo_kb.unit_of_work() as session:
        rows = list_approvals(session, 1)
        # The demo's sign-off was signed, and its audit event says so: going down to 0002 took
        # the signature off, which is reported. The one made at 0002 is merely unsigned.
        assert [a.signature for a in rows] == [
            ApprovalSignature.NOT_RECORDED.value,
            ApprovalSignature.UNSIGNED.value,
        ]
        assert "1 unsigned approval(s), made before signed approvals, do not count" in " ".join(
            release_problems(session, 1)
        )
        # The round trip through 0002 dropped rows later schemas hold (the germline assertion,
        # the new biomarker forms): drift reports them, as it should, and would refuse the
        # sign-off; what is tested here is the signature.
        assert not check_drift(session).ok
        monkeypatch.setattr("kb.review.integrity.require_intact", lambda *_a, **_k: None)
        # The account's first signature since then makes its key and signs.
        reviewer = authenticate(session, name="reviewer2", password="demo-reviewer2")
        approve_version(
            session,
            actor=reviewer,
            version=1,
            meaning=ApprovalMeaning.APPROVED,
            reason="signed now",
            password="demo-reviewer2",
        )
    with demo_kb.read() as session:
        assert list_approvals(session, 1)[-1].signature == ApprovalSignature.SIGNED.value
