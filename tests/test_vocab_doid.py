"""The Disease Ontology and the DOID -> OncoTree crosswalk derived from the real releases."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from kb.errors import VocabularyError
from kb.model.enums import CrosswalkKind
from kb.model.orm import DoidOncotree, DoidTerm
from kb.storage.db import Kb
from kb.vocab import bundled
from kb.vocab.doid import DoidCrosswalk, load_doid
from kb.vocab.oncotree import load_oncotree
from kb.vocab.releases import vocabulary_versions
from tests.conftest import DOID_DIR, ONCOTREE_FILE, require_shared, vocabulary_file


@pytest.fixture
def crosswalk(kb: Kb) -> DoidCrosswalk:
    with kb.unit_of_work() as session:
        load_oncotree(session, vocabulary_file(ONCOTREE_FILE))
        result = load_doid(session, vocabulary_file(DOID_DIR), version="doid-2026-07-31")
    assert result.entries == 12_246
    with kb.read() as session:
        return DoidCrosswalk.from_session(session)


@pytest.mark.parametrize(
    ("doid", "codes", "kind"),
    [
        ("DOID:3910", ("LUAD",), CrosswalkKind.EXACT),  # lung adenocarcinoma, NCI:C3512
        ("3908", ("NSCLC",), CrosswalkKind.EXACT),  # sources drop the prefix
        ("DOID:3068", ("GB",), CrosswalkKind.EXACT),  # glioblastoma, through UMLS
        ("DOID:1324", ("LUNG",), CrosswalkKind.NAME),  # lung cancer: OncoTree's main type
        ("DOID:1612", ("BREAST",), CrosswalkKind.NAME),
        ("50929", ("MEL",), CrosswalkKind.BROADER),  # mucosal melanoma -> melanoma
    ],
)
def test_dois_land_in_oncotree_with_how_they_were_found(
    crosswalk: DoidCrosswalk, doid: str, codes: tuple[str, ...], kind: CrosswalkKind
) -> None:
    mapping = crosswalk.get(doid)
    assert mapping is not None
    assert (mapping.codes, mapping.kind) == (codes, kind)
    assert mapping.doid in mapping.describe() and codes[0] in mapping.describe()


def test_a_broader_mapping_names_the_ancestor_it_came_through(crosswalk: DoidCrosswalk) -> None:
    mapping = crosswalk.get("DOID:0050929")
    assert mapping is not None and mapping.via.startswith("DOID:1909 ")  # melanoma


def test_cancer_itself_is_too_general_to_derive(crosswalk: DoidCrosswalk) -> None:
    # NCI C9305 is both "cancer" in DO and OncoTree's brain-tumour node MT: no derivation.
    assert crosswalk.get("DOID:162") is None
    assert crosswalk.label("DOID:162") == "cancer" and crosswalk.known(162)
    assert all("MT" not in m.codes for m in (crosswalk.get(d) for d in ("1324", "1612")) if m)


def test_reloading_oncotree_derives_the_crosswalk_again(kb: Kb) -> None:
    with kb.unit_of_work() as session:
        load_doid(session, vocabulary_file(DOID_DIR))
        # DO alone: nothing to map to yet.
        assert session.scalar(select(func.count()).select_from(DoidOncotree)) == 0
        load_oncotree(session, vocabulary_file(ONCOTREE_FILE))
        assert session.scalar(select(func.count()).select_from(DoidOncotree)) > 1000
        assert set(vocabulary_versions(session)) == {"oncotree", "doid"}


@pytest.mark.parametrize(
    ("terms", "message"),
    [
        ("name\tlabel\n", "expected the columns id, label, subclassof"),
        ('id\tlabel\tsubClassOf\n"D:1"\t"x"\t""\n', "'D:1' is not a DOID"),
        ("", "the file is empty"),
    ],
)
def test_bad_do_files_are_refused_and_change_nothing(
    kb: Kb, tmp_path: Path, terms: str, message: str
) -> None:
    (tmp_path / "HumanDO.tsv").write_text(terms)
    (tmp_path / "allXREFinDO.tsv").write_text("id\tlabel\txref\n")
    with pytest.raises(VocabularyError, match=message), kb.unit_of_work() as session:
        load_doid(session, tmp_path)
    with kb.read() as session:
        assert session.scalar(select(func.count()).select_from(DoidTerm)) == 0


def test_a_folder_without_the_cross_references_is_refused(kb: Kb, tmp_path: Path) -> None:
    shutil.copy(require_shared(DOID_DIR / "HumanDO.tsv"), tmp_path)
    with pytest.raises(VocabularyError, match=r"no allXREFinDO\.tsv"), kb.unit_of_work() as s:
        load_doid(s, tmp_path)


def test_kb_vocab_loads_do_from_its_folder_and_from_the_bundle(tmp_path: Path) -> None:
    db = tmp_path / "kb.sqlite"

    def kb(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "kb", "--db", str(db), *args],
            capture_output=True,
            text=True,
            check=False,
        )

    assert kb("init", "--admin", "admin").returncode in (0, 1)  # a password prompt may refuse
    loaded = kb("vocab", "load", "doid", str(require_shared(DOID_DIR)))
    assert loaded.returncode == 0, loaded.stderr
    assert "loaded doid" in loaded.stdout and "12246 entries" in loaded.stdout
    bundled_run = kb("vocab", "load", "oncotree", "--bundled")
    assert bundled_run.returncode == 0, bundled_run.stderr
    assert bundled.ONCOTREE_RELEASE in bundled_run.stdout
    neither = kb("vocab", "load", "hgnc")
    assert neither.returncode == 2 and "FILE or --bundled" in neither.stderr
