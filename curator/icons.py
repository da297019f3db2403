"""Icons from resources/icons (simple SVGs we drew ourselves), cached per name."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from PySide6.QtGui import QIcon

from kb.model.enums import RecordType

ICON_DIR = Path(__file__).resolve().parent.parent / "resources" / "icons"

RECORD_ICONS: dict[RecordType, str] = {
    RecordType.GENE: "gene",
    RecordType.BIOMARKER: "biomarker",
    RecordType.THRESHOLD: "threshold",
    RecordType.EXPRESSION: "expression",
    RecordType.DRUG: "drug",
    RecordType.THERAPY: "therapy",
    RecordType.CITATION: "citation",
    RecordType.APPROVAL: "approval",
    RecordType.ASSERTION: "assertion",
    RecordType.TRIAL: "trial",
    RecordType.TRIAL_ARM: "trial_arm",
    RecordType.EXON_MAP: "exon_map",
    RecordType.EVIDENCE_ITEM: "evidence_item",
    RecordType.ONCOGENICITY: "oncogenicity",
    RecordType.LEVEL_SCHEME: "level_scheme",
    RecordType.LEVEL_CROSSWALK: "level_crosswalk",
}


@cache
def icon(name: str) -> QIcon:
    """The icon `name` (e.g. "save"); an empty icon if the file is missing, never an error:
    an installation without resources/ still works, only plainer."""
    path = ICON_DIR / f"{name}.svg"
    return QIcon(str(path)) if path.is_file() else QIcon()


def record_icon(rtype: RecordType) -> QIcon:
    return icon(RECORD_ICONS[rtype])
