"""Vocabularies from the real OncoTree and HGNC files, and downloads from a real HTTP server."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from sqlalchemy import func, select

from kb.errors import VocabularyError
from kb.model.enums import ALL_LIQUID, ALL_SOLID, ALL_TUMOURS
from kb.model.orm import HgncGene, TumourType
from kb.storage.db import Kb
from kb.vocab import fetch as vocab_fetch
from kb.vocab import hgnc as vocab_hgnc
from kb.vocab import oncotree as vocab_oncotree
from kb.vocab import releases as vocab_releases
from tests.conftest import DOID_DIR, HGNC_FILE, ONCOTREE_FILE, require_shared, vocabulary_file


def test_load_oncotree_release(kb: Kb) -> None:
    with kb.unit_of_work() as session:
        result = vocab_oncotree.load_oncotree(session, vocabulary_file(ONCOTREE_FILE))
    assert result.version == "oncotree_2025_10_03"
    assert result.entries == 898
    with kb.read() as session:
        assert session.scalar(select(func.count()).select_from(TumourType)) == 898
        assert vocab_releases.vocabulary_versions(session) == {"oncotree": "oncotree_2025_10_03"}
        luad = session.get(TumourType, "LUAD")
        assert luad is not None and luad.path == "/TISSUE/LUNG/NSCLC/LUAD/"
        nsclc_children = vocab_oncotree.descendant_codes(session, "NSCLC")
        assert "LUAD" in nsclc_children and "LUSC" in nsclc_children
        assert "NSCLC" not in nsclc_children and "SCLC" not in nsclc_children
        tree = vocab_oncotree.TumourTree.from_session(session)
    assert tree.ancestors("LUAD") == ["NSCLC", "LUNG", "TISSUE"]
    assert set(vocab_descendants := tree.descendants("NSCLC")) == set(nsclc_children)
    assert "LUAD" in vocab_descendants
    assert tree.is_within("LUAD", "NSCLC") and not tree.is_within("SCLC", "NSCLC")
    assert tree.is_within("AML", ALL_LIQUID) and not tree.is_within("AML", ALL_SOLID)
    assert tree.is_within("LUAD", ALL_SOLID) and tree.is_within("AML", ALL_TUMOURS)
    # Codes renamed in OncoTree's history point at their successor.
    assert tree.revoked.get("MFT") == "FT"


def test_reloading_a_release_replaces_it(kb: Kb) -> None:
    with kb.unit_of_work() as session:
        vocab_oncotree.load_oncotree(session, vocabulary_file(ONCOTREE_FILE))
    with kb.unit_of_work() as session:
        vocab_oncotree.load_oncotree(
            session, vocabulary_file(ONCOTREE_FILE), version="oncotree_custom"
        )
    with kb.read() as session:
        assert session.scalar(select(func.count()).select_from(TumourType)) == 898
        assert vocab_releases.vocabulary_versions(session) == {"oncotree": "oncotree_custom"}


def test_ancestry_queries_are_fast(kb: Kb) -> None:
    with kb.unit_of_work() as session:
        vocab_oncotree.load_oncotree(session, vocabulary_file(ONCOTREE_FILE))
    with kb.read() as session:
        tree = vocab_oncotree.TumourTree.from_session(session)
    codes = list(tree.parent)
    started = time.perf_counter()
    hits = sum(tree.is_within(code, "NSCLC") for code in codes * 20)
    per_query = (time.perf_counter() - started) / (len(codes) * 20)
    assert hits == 20 * (len(tree.descendants("NSCLC")) + 1)
    assert per_query < 1e-4  # a patient-matching loop can afford millions


def test_load_hgnc_export_and_suggest_symbols(kb: Kb) -> None:
    with kb.unit_of_work() as session:
        result = vocab_hgnc.load_hgnc(session, vocabulary_file(HGNC_FILE), version="hgnc-2022")
    assert result.entries == 39824
    with kb.read() as session:
        assert session.scalar(select(func.count()).select_from(HgncGene)) == 39824
        assert vocab_hgnc.lookup_symbol(session, "ERBB2").hgnc_id == "HGNC:3430"
        her2 = vocab_hgnc.lookup_symbol(session, "HER2")
        assert her2.hgnc_id is None and her2.suggestion == "ERBB2"
        assert vocab_hgnc.lookup_symbol(session, "NOTAGENE1").suggestion is None
        assert vocab_releases.vocabulary_versions(session)["hgnc"] == "hgnc-2022"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "empty"),
        ("gene\tsymbol\n", "missing HGNC column"),
        ("HGNC ID\tApproved Symbol\tApproved Name\nnot-an-id\tX\tx\n", "line 2"),
    ],
)
def test_bad_hgnc_file_is_refused_and_changes_nothing(
    kb: Kb, tmp_path: Path, content: str, message: str
) -> None:
    bad = tmp_path / "genes.tsv"
    bad.write_text(content)
    with kb.unit_of_work() as session:
        vocab_hgnc.load_hgnc_rows(
            session,
            [({"hgnc_id": "HGNC:1", "symbol": "A", "name": "a", "entrez_id": None}, [], [])],
            version="v1",
            source="test",
        )
    with pytest.raises(VocabularyError, match=message), kb.unit_of_work() as session:
        vocab_hgnc.load_hgnc(session, bad)
    with kb.read() as session:
        assert session.scalars(select(HgncGene.symbol)).all() == ["A"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not readable as OncoTree JSON"),
        ('{"TISSUE": {"name": "Tissue"}}', "lacks a 'code'"),
        ("[1, 2]", "expected an OncoTree tree"),
    ],
)
def test_bad_oncotree_file_is_refused(kb: Kb, tmp_path: Path, content: str, message: str) -> None:
    bad = tmp_path / "oncotree_2025_01_01.json"
    bad.write_text(content)
    with pytest.raises(VocabularyError, match=message), kb.unit_of_work() as session:
        vocab_oncotree.load_oncotree(session, bad)


# --- downloads from a real server on 127.0.0.1 ----------------------------------------------


class _Handler(http.server.BaseHTTPRequestHandler):
    routes: ClassVar[dict[str, tuple[int, bytes, float]]] = {}

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        status, body, delay = self.routes.get(path, (404, b"not found", 0.0))
        if delay:
            time.sleep(delay)
        try:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client timed out first, as the timeout test intends
        type(self).last_query = self.path  # type: ignore[attr-defined]

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_fetch_oncotree_from_a_server(kb: Kb, server: str, tmp_path: Path) -> None:
    _Handler.routes = {"/api/tumorTypes/tree": (200, require_shared(ONCOTREE_FILE).read_bytes(), 0)}
    with kb.unit_of_work() as session:
        result = vocab_fetch.fetch_oncotree(
            session, tmp_path, version="oncotree_2025_10_03", url=f"{server}/api/tumorTypes/tree"
        )
    assert result.entries == 898 and result.version == "oncotree_2025_10_03"
    assert "version=oncotree_2025_10_03" in _Handler.last_query  # type: ignore[attr-defined]


def test_fetch_hgnc_from_a_server(kb: Kb, server: str, tmp_path: Path) -> None:
    _Handler.routes = {"/hgnc.txt": (200, require_shared(HGNC_FILE).read_bytes(), 0)}
    with kb.unit_of_work() as session:
        result = vocab_fetch.fetch_hgnc(session, tmp_path, url=f"{server}/hgnc.txt")
    assert result.entries == 39824


def test_fetch_errors_are_clear_and_leave_nothing(kb: Kb, server: str, tmp_path: Path) -> None:
    _Handler.routes = {"/broken": (500, b"oops", 0), "/garbage": (200, b"<html>", 0)}
    with pytest.raises(VocabularyError, match="HTTP 500"), kb.unit_of_work() as session:
        vocab_fetch.fetch_oncotree(session, tmp_path, version="v", url=f"{server}/broken")
    with pytest.raises(VocabularyError, match="not readable"), kb.unit_of_work() as session:
        vocab_fetch.fetch_oncotree(session, tmp_path, version="v", url=f"{server}/garbage")
    with pytest.raises(VocabularyError, match="cannot connect"), kb.unit_of_work() as session:
        vocab_fetch.fetch_oncotree(session, tmp_path, version="v", url="http://127.0.0.1:9/x")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no partial files
    with kb.read() as session:
        assert session.scalar(select(func.count()).select_from(TumourType)) == 0


def test_fetch_times_out(monkeypatch: pytest.MonkeyPatch, server: str, tmp_path: Path) -> None:
    _Handler.routes = {"/slow": (200, b"{}", 2.0)}
    monkeypatch.setattr(vocab_fetch, "TIMEOUT", (1, 0.5))
    with pytest.raises(VocabularyError, match="no answer"):
        vocab_fetch.download(f"{server}/slow", tmp_path / "x.json")
    assert list(tmp_path.iterdir()) == []


def test_bundled_vocabularies_are_the_real_releases() -> None:
    """The package ships OncoTree, HGNC and DO unchanged (gzip only), for the demo and offline."""
    import gzip

    from kb.vocab import bundled

    for packed, real in (
        (bundled.ONCOTREE, ONCOTREE_FILE),
        (bundled.HGNC, HGNC_FILE),
        (bundled.FOLDER / "HumanDO.tsv.gz", DOID_DIR / "HumanDO.tsv"),
        (bundled.FOLDER / "allXREFinDO.tsv.gz", DOID_DIR / "allXREFinDO.tsv"),
    ):
        assert gzip.decompress(packed.read_bytes()) == require_shared(real).read_bytes(), packed
    notice = (bundled.FOLDER / "NOTICE.md").read_text()
    assert "CC BY 4.0" in notice and notice.count("CC0") >= 2
