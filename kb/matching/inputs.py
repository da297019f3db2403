"""A patient from a clinical JSON plus real data files, and many patients in one go.

`assemble_patient` merges what the readers found (MAF or VCF variants, copy-number calls,
fusions) into a clinical profile (kb/matching/patient.schema.json without the data those files
carry); a file given is a test done, so an empty result is "tested, nothing found". Lines the
readers could not read come back beside the patient, to be reported with the result.

`match_many` matches a stream of patients with one matcher and yields one JSON-ready dict per
patient; a patient that cannot be read or matched yields an error entry and the batch goes on.
Neither logs anything: patient and sample ids stay in the results the caller asked for.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from kb.errors import KbError
from kb.matching.lines import PatientFileError, ReadResult, SkippedLine, check_size
from kb.matching.matcher import Matcher, Patient, PatientError

__all__ = ["PatientSource", "assemble_patient", "match_many", "read_clinical_table"]

PatientSource = Callable[[], tuple[Patient, list[SkippedLine]]]
"""Reads one patient when called (so that one bad patient fails alone)."""

_NUMBERS = frozenset(
    {"age", "tmb", "hrd_score", "pdl1_tps", "pdl1_cps", "pdl1_ic", "her2_ish_ratio"}
)


def assemble_patient(
    clinical: Mapping[str, Any],
    *,
    source: str,
    variants: Iterable[ReadResult] = (),
    copy_number: Iterable[ReadResult] = (),
    fusions: Iterable[ReadResult] = (),
) -> tuple[Patient, list[SkippedLine]]:
    """The clinical profile with the files' findings added; PatientError names `source`."""
    data = dict(clinical)
    skipped: list[SkippedLine] = []
    for name, results in (
        ("variants", list(variants)),
        ("copy_number", list(copy_number)),
        ("fusions", list(fusions)),
    ):
        if not results:
            continue
        items = list(data.get(name) or [])
        for result in results:
            items.extend(getattr(result, name))
            skipped.extend(result.skipped)
        data[name] = items
    try:
        return Patient.from_json(data), skipped
    except PatientError as exc:
        raise exc.located(source) from None


def read_clinical_table(path: Path | str) -> list[dict[str, Any]]:
    """Clinical profiles, one per sample: a JSON list of objects, or a TSV whose header names
    patient fields (id, sample, oncotree_code, age, sex, tmb, msi, pdl1_tps …)."""
    path = Path(path)
    check_size(path, 64 * 1024 * 1024)
    try:
        text = path.read_text("utf-8")
    except UnicodeDecodeError as exc:
        raise PatientFileError(str(path), f"not UTF-8 text (byte {exc.start})") from None
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as exc:
            raise PatientFileError(str(path), f"not JSON: {exc}") from None
        if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
            raise PatientFileError(str(path), "expected a JSON list of clinical objects")
        return data
    rows = []
    reader = csv.DictReader(
        (line for line in text.splitlines() if line.strip() and not line.startswith("#")),
        delimiter="\t",
    )
    for row in reader:
        entry: dict[str, Any] = {}
        for raw_key, raw_value in row.items():
            if raw_key is None or raw_value is None or not raw_value.strip():
                continue
            key, value = raw_key.strip(), raw_value.strip()
            if key in _NUMBERS:
                try:
                    entry[key] = int(value) if value.lstrip("-").isdigit() else float(value)
                except ValueError:
                    entry[key] = value  # the schema check names the field
            else:
                entry[key] = value
        rows.append(entry)
    return rows


def match_many(
    matcher: Matcher, sources: Iterable[tuple[str, PatientSource]]
) -> Iterator[dict[str, Any]]:
    """One entry per patient: `{"ok": true, …the result…}` or `{"ok": false, "input": …,
    "error": …}`; a failing patient never stops the ones after it."""
    for label, read in sources:
        try:
            patient, skipped = read()
            result = replace(matcher.match(patient), skipped=skipped)
        except (KbError, RecursionError) as exc:
            message = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
            yield {"ok": False, "input": label, "error": message}
            continue
        yield {"ok": True, "input": label, **result.as_json()}
