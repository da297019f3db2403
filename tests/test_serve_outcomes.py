"""`POST /outcomes` on `kb serve`, over real HTTP on 127.0.0.1: report-backs are checked at the
door, pseudonymised with the KB's outcomes key and spooled; `kb outcomes drain` takes the spool
into the KB, all or nothing per file. Identifier probes get 422 and nothing is spooled."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from kb.cli.main import main
from kb.model.orm import OutcomeEpisode
from kb.outcomes.keys import ENV_KEY_FILE
from kb.serve.config import token_digest
from kb.storage.db import open_kb
from tests.serve_support import TOKEN, Service, demo_release, write_config
from tests.test_outcomes import KEY, _fhir_bundle

STUDY_ID = "STUDY-4471-zq"  # a site's patient id: must reach neither the spool nor the log


@pytest.fixture(scope="module")
def service(
    demo_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("serve-outcomes")
    release = demo_release(demo_template, tmp)
    KEY.write(tmp / "outcomes.key")
    config = write_config(
        tmp / "serve.toml",
        release=str(release),
        root=str(tmp / "root.json"),
        state=str(tmp / "state.json"),
        match_token_sha256=[token_digest(TOKEN)],
        outcomes_spool=str(tmp / "spool"),
        outcomes_key_file=str(tmp / "outcomes.key"),
    )
    running = Service(config, tmp)
    try:
        yield {"url": running.url, "spool": tmp / "spool", "key_file": tmp / "outcomes.key",
               "service": running}  # fmt: skip
    finally:
        running.stop()


@pytest.fixture
def spool(service: dict[str, Any]) -> Iterator[Path]:
    yield service["spool"]
    shutil.rmtree(service["spool"], ignore_errors=True)


def post(service: dict[str, Any], body: Any, *, token: str | None = TOKEN, **params: str) -> Any:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.post(f"{service['url']}/outcomes", content=json.dumps(body), headers=headers,
                      params=params, timeout=30)  # fmt: skip


def _record(**changes: Any) -> dict[str, Any]:
    record = {"patient": STUDY_ID, "tumour_type": "NSCLC", "biomarkers": "EGFR L858R",
              "therapy": "Osimertinib", "line": "1", "start_date": "2025-01-10",
              "stop_date": "2025-06-01", "best_response": "PR", "reason_stopped": "toxicity",
              "assertions": "AS-00001", "free text": "kept out of the spool"}  # fmt: skip
    record.update(changes)
    return record


def _waiting(spool: Path) -> list[Path]:
    return sorted(spool.glob("*")) if spool.exists() else []


def test_an_accepted_report_is_spooled_pseudonymised_and_drained_into_the_kb(
    service: dict[str, Any], spool: Path, demo_url: str,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    answer = post(service, _fhir_bundle(), site="SITE-F")
    assert answer.status_code == 202, answer.text
    assert answer.json()["episodes"] == 1 and answer.json()["key_fingerprint"] == KEY.fingerprint
    records = post(service, {"site": "SITE-A", "records": [_record()]})
    assert records.status_code == 202, records.text
    bad = post(service, {"site": "SITE-A", "records": [_record(tumour_type="NOSUCH")]})
    assert bad.status_code == 202  # checked against the KB when drained, not at the door
    files = _waiting(spool)
    assert [f.name for f in files] == sorted(r.json()["spool_file"] for r in (answer, records, bad))
    assert all(f.stat().st_mode & 0o077 == 0 for f in files)
    spooled = json.loads((spool / records.json()["spool_file"]).read_text())
    text = json.dumps(spooled)
    assert STUDY_ID not in text and "pt-1" not in text and "kept out" not in text
    (record,) = spooled["records"]
    assert record["patient"] == KEY.patient_key("SITE-A", STUDY_ID)
    shift = KEY.date_shift("SITE-A", STUDY_ID)
    assert record["start_date"] == (dt.date(2025, 1, 10) + shift).isoformat()
    assert STUDY_ID not in service["service"].log.read_text()

    monkeypatch.setenv(ENV_KEY_FILE, str(service["key_file"]))
    monkeypatch.setenv("KB_PASSWORD", "demo-curator")
    db = ["--db", demo_url, "--user", "curator"]
    assert main([*db, "outcomes", "drain", str(spool)]) == 1  # one file failed
    out = capsys.readouterr().out
    assert "3 spool file(s): 2 taken in, 1 failed" in out and "NOSUCH" in out
    assert sorted(p.name for p in (spool / "imported").iterdir()) == sorted(
        [answer.json()["spool_file"], records.json()["spool_file"]]
    )
    failed = spool / "failed" / bad.json()["spool_file"]
    assert (
        failed.exists()
        and "tumour_type" in failed.with_name(failed.name + ".errors.json").read_text()
    )
    kb = open_kb(demo_url)
    with kb.read() as session:
        rows = session.execute(
            select(
                OutcomeEpisode.site,
                OutcomeEpisode.patient_key,
                OutcomeEpisode.start_date,
                OutcomeEpisode.days_on_treatment,
            )
        )
        episodes = {row.site: row for row in rows}
    kb.close()
    assert set(episodes) == {"SITE-A", "SITE-F"}
    # The same keys and the same shifted dates as importing at the KB would give.
    assert episodes["SITE-F"].patient_key == KEY.patient_key("SITE-F", "pt-1")
    assert episodes["SITE-F"].days_on_treatment == 241
    assert episodes["SITE-A"].patient_key == KEY.patient_key("SITE-A", STUDY_ID)
    assert episodes["SITE-A"].start_date == dt.date(2025, 1, 10) + shift
    assert episodes["SITE-A"].days_on_treatment == 142
    # Draining again takes nothing twice (kb outcomes import SPOOL_DIR is the same command).
    assert main([*db, "outcomes", "import", str(spool)]) == 0
    assert "0 spool file(s)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("body", "params", "where"),
    [
        ({"site": "SITE-A", "records": [_record(MRN="00123456")]}, {}, (1, "MRN")),
        (
            {"site": "SITE-A", "records": [_record(), _record(notes="mail dr.no@example.org")]},
            {},
            (2, "notes"),
        ),
        (
            _fhir_bundle(patient_details=True),
            {"site": "SITE-F"},
            (None, "$.entry[0].resource.birthDate"),
        ),
        ({"records": [_record()]}, {}, (1, "site")),
    ],
    ids=["record-number-key", "email-in-text", "fhir-birth-date", "no-site"],
)
def test_identifier_probes_get_422_and_nothing_is_spooled(
    service: dict[str, Any], spool: Path, body: Any, params: dict[str, str], where: Any
) -> None:
    answer = post(service, body, **params)
    assert answer.status_code == 422, answer.text
    data = answer.json()
    assert "nothing was stored" in data["error"]
    assert [(e["row"], e["column"]) for e in data["errors"]] == [where]
    assert "00123456" not in answer.text and "dr.no" not in answer.text
    assert "1961" not in answer.text and STUDY_ID not in answer.text
    assert _waiting(spool) == []


def test_no_token_gets_401_and_nothing_is_spooled(service: dict[str, Any], spool: Path) -> None:
    for token in (None, "not-the-token"):
        answer = post(service, {"site": "SITE-A", "records": [_record()]}, token=token)
        assert answer.status_code == 401 and answer.headers["WWW-Authenticate"] == "Bearer"
    assert _waiting(spool) == []


def test_a_spool_without_the_key_is_a_configuration_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kb.outcomes.keys import ENV_KEY
    from kb.serve.config import ConfigError, ServeConfig
    from kb.serve.outcomes_route import service_key

    monkeypatch.delenv(ENV_KEY, raising=False)
    monkeypatch.delenv(ENV_KEY_FILE, raising=False)
    config = ServeConfig(root="r", state="s", release="x", outcomes_spool=str(tmp_path))
    with pytest.raises(ConfigError, match="needs the KB's outcomes key"):
        service_key(config)
    loose = tmp_path / "loose.key"
    loose.write_text(KEY.secret.hex())
    loose.chmod(0o644)
    with pytest.raises(ConfigError, match="may be read by others"):
        service_key(ServeConfig(root="r", state="s", release="x", outcomes_spool=str(tmp_path),
                                outcomes_key_file=str(loose)))  # fmt: skip
