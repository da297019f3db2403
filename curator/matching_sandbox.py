"""Tools ▸ Matching sandbox (issue 6 item 7): what a matching service would answer for a patient.

The curator enters a patient (a form for the common fields, or the JSON itself), chooses what to
match against — the KB's main line, optionally with their own draft applied on top, or a release
folder verified with a trust root — and sees the matched therapies and trial arms, and for the
selected match kb.matching's explanation tree ([+] true, [-] false, [?] unknown, with reasons).

kb.matching decides; the sandbox only shows. Building the snapshot, verifying a release and
matching run on a worker; only plain data (the MatchResult) comes back to the UI thread.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QAction, QColor, QFontDatabase, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QSpinBox,
    QSplitter,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QToolButton,
    QTreeView,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from curator.choices import KEY_ROLE, TUMOUR_KEY, ChoiceStore, ListCompleter
from curator.extension import Host, Screen
from curator.qt_compat import emit
from curator.table_model import ReadOnlyTableModel, column_title
from curator.workers import CancelToken, Task, TaskFailure, Workers
from kb.matching.matcher import (
    MAX_PATIENT_FILE_BYTES,
    Explanation,
    Matcher,
    MatchResult,
    Patient,
    PatientError,
    TherapyMatch,
    TrialMatch,
)
from kb.model.enums import SPECIAL_SCOPES, ChangeOp
from kb.release.folder import verify_release
from kb.release.signing import read_json_file
from kb.review.changes import ChangeRow, current_draft
from kb.review.users import Actor
from kb.storage.db import Kb
from kb.storage.revisions import current_version
from kb.storage.snapshot import build_snapshot

_Index = QModelIndex | QPersistentModelIndex
_MARKS = {True: "[+]", False: "[-]", None: "[?]"}
# Nodes that state what the KB requires or what to order, not a criterion judged true or false.
_NODE_MARKS = {"requirements": "[i]", "requirement": "[i]", "tests": "[>]", "test": "[>]"}
_COLOURS = {True: QColor("#2e9d5b"), False: QColor("#d64545"), None: QColor("#8a8a8a")}
_PROBLEM = "#d64545"


# --- the knowledge to match against (Qt-free; runs on a worker) ---------------------------------


def apply_draft(snapshot: Mapping[str, Any], changes: Iterable[ChangeRow]) -> dict[str, Any]:
    """The snapshot as it would be once `changes` merged: creates add records, updates merge
    their fields, deletes remove them. Returns a new dict; `snapshot` is left as it was."""
    records: dict[str, list[dict[str, Any]]] = {
        rtype: [dict(entry) for entry in entries]
        for rtype, entries in snapshot.get("records", {}).items()
    }
    for change in changes:
        entries = records.setdefault(change.record_type.value, [])
        position = next((i for i, e in enumerate(entries) if e["id"] == change.human_id), None)
        if change.op is ChangeOp.DELETE:
            if position is not None:
                del entries[position]
        elif change.op is ChangeOp.CREATE:
            entry = {"id": change.human_id, "uuid": change.record_id, "fields": dict(change.fields)}
            if position is None:
                entries.append(entry)
            else:
                entries[position] = entry
        elif position is not None:
            merged = {**entries[position]["fields"], **change.fields}
            entries[position] = {**entries[position], "fields": merged}
    for entries in records.values():
        entries.sort(key=lambda entry: entry["id"])
    return {**snapshot, "records": records}


@dataclass(frozen=True, slots=True)
class KbSource:
    """The KB's main line, with the signed-in curator's newest draft on top if asked."""

    include_draft: bool = False


@dataclass(frozen=True, slots=True)
class ReleaseSource:
    """A release folder, verified against a pinned trust root before anything is read."""

    folder: Path
    root: Path


Source = KbSource | ReleaseSource


@dataclass(frozen=True, slots=True)
class Knowledge:
    """A built matcher, what it was built from (for the UI) and a key to reuse it by."""

    key: tuple[Any, ...]
    matcher: Matcher
    against: str


@dataclass(frozen=True, slots=True)
class SandboxResult:
    result: MatchResult
    knowledge: Knowledge


def kb_knowledge(
    kb: Kb, actor: Actor | None, *, include_draft: bool, cached: Knowledge | None = None
) -> Knowledge:
    """A matcher over the KB's newest version (plus the actor's draft): rebuilt only when the
    version or the draft changed, because a large KB's snapshot takes seconds to build."""
    with kb.read() as session:
        version = current_version(session)
        draft = current_draft(session, actor) if include_draft and actor is not None else None
        fingerprint = None
        if draft is not None:
            text = json.dumps([c.as_json() for c in draft.changes], sort_keys=True, default=str)
            fingerprint = (draft.human_id, hashlib.sha256(text.encode()).hexdigest())
        key = ("kb", kb.url, version, fingerprint)
        if cached is not None and cached.key == key:
            return cached
        snapshot = build_snapshot(session).as_json()
    against = f"KB version {version} (main line)"
    if draft is not None:
        snapshot = apply_draft(snapshot, draft.changes)
        count = len(draft.changes)
        against += f" + your draft {draft.human_id} ({count} change{'s' if count != 1 else ''})"
    elif include_draft:
        against += " — you have no draft"
    return Knowledge(key, Matcher.from_snapshot(snapshot), against)


def release_knowledge(source: ReleaseSource) -> Knowledge:
    """A matcher over a release folder that verified against the trust root (raises otherwise).

    Verified on every run, never cached: the point is to see what a consumer who verifies
    would see, files as they are now.
    """
    root = read_json_file(source.root, "trust root")
    verified = verify_release(source.folder, trusted_root=root)
    matcher = Matcher.from_snapshot(verified.kb_json)
    matcher.release_version = verified.version
    against = (
        f"release {verified.version} (#{verified.release_sequence}) of KB {verified.kb_id}, "
        f"verified: {len(verified.signers)} trusted signature(s)"
    )
    return Knowledge(("release", str(source.folder), str(source.root)), matcher, against)


def patient_from_text(text: str) -> dict[str, Any]:
    """Parse the JSON tab; a syntax error is a PatientError at "$" like a file's would be."""
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise PatientError(
            "$", f"not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}", "a JSON object"
        ) from None
    except ValueError as exc:
        raise PatientError("$", str(exc), "finite numbers") from None
    if not isinstance(data, dict):
        raise PatientError("$", "not an object", "a JSON object")
    return data


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not a number JSON allows")


# --- models -------------------------------------------------------------------------------------


class _ResultTable(ReadOnlyTableModel):
    HEADERS: tuple[str, ...] = ()

    def _count(self) -> int:
        return 0

    def _cell(self, row: int, column: int) -> str:
        return ""

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._count()

    def _valid(self, index: _Index) -> bool:
        return (
            index.isValid()
            and 0 <= index.row() < self._count()
            and 0 <= index.column() < len(self.HEADERS)
        )

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not self._valid(index):
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            text = self._cell(index.row(), index.column())
            return text if role == Qt.ItemDataRole.DisplayRole or len(text) > 40 else None
        return None


class _TherapyTable(_ResultTable):
    """A table of therapy matches (matched or possible), one per row."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._matches: tuple[TherapyMatch, ...] = ()

    def set_matches(self, matches: Sequence[TherapyMatch]) -> None:
        self.beginResetModel()
        self._matches = tuple(matches)
        self.endResetModel()

    def match_at(self, row: int) -> TherapyMatch | None:
        return self._matches[row] if 0 <= row < len(self._matches) else None

    def _count(self) -> int:
        return len(self._matches)


class TherapyMatchModel(_TherapyTable):
    HEADERS = ("Assertion", "Therapy", "Level", "Implication", "Line of therapy")

    def _cell(self, row: int, column: int) -> str:
        match = self._matches[row]
        therapy = match.therapy.name if match.therapy else "(no therapy)"
        values = (
            match.assertion_id,
            therapy,
            match.level_text.removeprefix("level "),
            match.implication_text,
            (match.line_of_therapy or "any").replace("_", " "),
        )
        return values[column]


class PossibleTherapyModel(_TherapyTable):
    """Assertions that tests the patient never had could make a match, with those tests."""

    HEADERS = ("Assertion", "Therapy", "Level", "Tests to order")

    def _cell(self, row: int, column: int) -> str:
        match = self._matches[row]
        tests = "; ".join(f"{t.name} ({t.needed})" for t in match.tests_to_order)
        values = (
            match.assertion_id,
            match.therapy.name if match.therapy else "(no therapy)",
            match.level_text.removeprefix("level "),
            tests,
        )
        return values[column]


class TrialMatchModel(_ResultTable):
    """Matched open arms, then the arms to review (only age or sex left unknown)."""

    HEADERS = ("NCT", "Arm", "Trial", "Match")

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._matches: tuple[tuple[TrialMatch, bool], ...] = ()

    def set_matches(self, matches: Sequence[TrialMatch], review: Sequence[TrialMatch]) -> None:
        self.beginResetModel()
        self._matches = tuple((m, True) for m in matches) + tuple((m, False) for m in review)
        self.endResetModel()

    def match_at(self, row: int) -> TrialMatch | None:
        return self._matches[row][0] if 0 <= row < len(self._matches) else None

    def _count(self) -> int:
        return len(self._matches)

    def _cell(self, row: int, column: int) -> str:
        match, matched = self._matches[row]
        values = (
            match.trial_key,
            f"{match.arm_code} — {match.arm_name}" if match.arm_name else match.arm_code,
            match.title,
            "matches" if matched else "to review (a criterion is unknown)",
        )
        return values[column]

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.ForegroundRole and self._valid(index):
            return None if self._matches[index.row()][1] else _COLOURS[None]
        return super().data(index, role)


class _Node:
    __slots__ = ("children", "explanation", "parent", "row")

    def __init__(self, explanation: Explanation, parent: _Node | None, row: int) -> None:
        self.explanation = explanation
        self.parent = parent
        self.row = row
        self.children = [_Node(arg, self, i) for i, arg in enumerate(explanation.args)]


class ExplanationModel(QAbstractItemModel):
    """kb.matching's explanation tree: "[+] text" and the reason, coloured by the result."""

    HEADERS = ("Criterion", "Reason")

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._roots: list[_Node] = []

    def set_roots(self, roots: Sequence[Explanation]) -> None:
        self.beginResetModel()
        self._roots = [_Node(root, None, i) for i, root in enumerate(roots)]
        self.endResetModel()

    def _node(self, index: _Index) -> _Node | None:
        if not index.isValid():
            return None
        node = index.internalPointer()
        return node if isinstance(node, _Node) else None

    def _children(self, parent: _Index) -> list[_Node]:
        node = self._node(parent)
        return node.children if node is not None else self._roots

    def index(self, row: int, column: int, parent: _Index = QModelIndex()) -> QModelIndex:  # noqa: B008
        if parent.isValid() and parent.column() != 0:
            return QModelIndex()
        children = self._children(parent)
        if not 0 <= row < len(children) or not 0 <= column < len(self.HEADERS):
            return QModelIndex()
        return self.createIndex(row, column, children[row])

    def parent(self, index: _Index = QModelIndex()) -> QModelIndex:  # type: ignore[override]  # noqa: B008
        node = self._node(index)
        if node is None or node.parent is None:
            return QModelIndex()
        return self.createIndex(node.parent.row, 0, node.parent)

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        if parent.isValid() and parent.column() != 0:
            return 0
        return len(self._children(parent))

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return len(self.HEADERS)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        node = self._node(index)
        if node is None:
            return None
        explanation = node.explanation
        if role == Qt.ItemDataRole.DisplayRole:
            if index.column() == 0:
                mark = _NODE_MARKS.get(explanation.node) or _MARKS[explanation.result]
                return f"{mark} {explanation.text}"
            return explanation.reason
        if role == Qt.ItemDataRole.ForegroundRole and index.column() == 0:
            return _COLOURS[explanation.result]
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{explanation.text}: {explanation.reason}"
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        return column_title(self.HEADERS, section, orientation, role)


class PatientCodeFilter(QSortFilterProxyModel):
    """OncoTree codes a patient can have: the special scopes (all solid …) are for rules."""

    def filterAcceptsRow(self, source_row: int, source_parent: _Index) -> bool:
        key = self.sourceModel().index(source_row, 0, source_parent).data(KEY_ROLE)
        return key not in SPECIAL_SCOPES


def requirements_node(match: TherapyMatch) -> Explanation | None:
    """What the KB says a result must be validated with (None when it names nothing)."""
    lines = match.requirement_lines()
    if not lines:
        return None
    items = tuple(
        Explanation("requirement", head, True, rest)
        for head, _space, rest in (line.partition(" ") for line in lines)
    )
    return Explanation(
        "requirements", "validation requirements", True, f"{len(items)} named by the KB", items
    )


def therapy_tree(match: TherapyMatch) -> Explanation:
    name = match.therapy.name if match.therapy else "no therapy"
    requirements = requirements_node(match)
    return Explanation(
        "AND",
        f"assertion {match.assertion_id} — {name}, {match.level_text}",
        True,
        "the tumour type and the biomarker expression hold",
        (match.tumour, match.explanation, *([requirements] if requirements else [])),
    )


def possible_tree(match: TherapyMatch) -> Explanation:
    """A possible therapy: the tests to order first, then why, then the KB's requirements."""
    name = match.therapy.name if match.therapy else "no therapy"
    tests = tuple(
        Explanation("test", test.criterion, None, test.phrase().partition(": ")[2])
        for test in match.tests_to_order
    )
    parts = [
        Explanation(
            "tests", "tests to order", None, f"{len(tests)} untested criteria decide it", tests
        ),
        match.tumour,
        match.explanation,
    ]
    requirements = requirements_node(match)
    if requirements is not None:
        parts.append(requirements)
    return Explanation(
        "AND",
        f"assertion {match.assertion_id} — {name}, {match.level_text}",
        None,
        "possible: holds if the tests the patient never had come back as needed",
        tuple(parts),
    )


def trial_tree(match: TrialMatch) -> Explanation:
    parts = [match.tumour]
    if match.explanation is not None:
        parts.append(match.explanation)
    parts.extend(match.criteria)
    demographics = any(part.result is None for part in match.criteria)
    # Age or sex not given, or a mutational signature the arm names not reported.
    unknown = demographics or (match.explanation is not None and match.explanation.result is None)
    reason = "age or sex is unknown" if demographics else "a signature result is unknown"
    return Explanation(
        "AND",
        f"{match.trial_key} arm {match.arm_code} ({match.arm_id})",
        None if unknown else True,
        f"to review: {reason}" if unknown else "every criterion holds",
        tuple(parts),
    )


# --- the patient form -----------------------------------------------------------------------


_EXTRA_ROLE = Qt.ItemDataRole.UserRole + 7


class RowsEditor(QWidget):
    """A small editable list (variants, copy-number calls, fusions) with a "tested" box: an
    unticked box means unknown, a ticked empty list means "tested, nothing found"."""

    changed = Signal()

    def __init__(
        self,
        columns: Sequence[tuple[str, str, Sequence[str] | None]],
        *,
        tested: str,
        name: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.columns = tuple(columns)
        self.setObjectName(name)
        self.tested = QCheckBox(tested)
        self.tested.setObjectName(f"{name}_tested")
        self.tested.setToolTip(
            "Unticked: not tested, so unknown. Ticked: tested, and the rows below are what was "
            "found (none listed means none found)."
        )
        self.table = QTableWidget(0, len(self.columns))
        self.table.setObjectName(f"{name}_table")
        self.table.setHorizontalHeaderLabels([title for _key, title, _choices in self.columns])
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 10)
        self.table.setMinimumHeight(self.fontMetrics().height() * 5)
        self.table.setMaximumHeight(self.fontMetrics().height() * 9)
        add = QToolButton()
        add.setText("+")
        add.setToolTip("Add a row")
        add.clicked.connect(lambda: self.add_row({}))
        remove = QToolButton()
        remove.setText("−")
        remove.setToolTip("Remove the selected row")
        remove.clicked.connect(self.remove_row)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.tested, 1)
        top.addWidget(add)
        top.addWidget(remove)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(top)
        layout.addWidget(self.table)
        self.tested.toggled.connect(lambda _on: emit(self.changed))
        self.table.itemChanged.connect(lambda _item: emit(self.changed))

    def add_row(self, values: Mapping[str, Any]) -> None:
        row = self.table.rowCount()
        self.table.insertRow(row)
        known = {key for key, _title, _choices in self.columns}
        for column, (key, _title, choices) in enumerate(self.columns):
            value = values.get(key)
            if choices is not None:
                combo = QComboBox()
                combo.addItems(list(choices))
                if value is not None and str(value) in choices:
                    combo.setCurrentText(str(value))
                combo.currentIndexChanged.connect(lambda _i: emit(self.changed))
                self.table.setCellWidget(row, column, combo)
            else:
                item = QTableWidgetItem("" if value is None else str(value))
                if column == 0:
                    # Fields the form has no column for (exon, vaf, origin …) ride along.
                    item.setData(_EXTRA_ROLE, {k: v for k, v in values.items() if k not in known})
                self.table.setItem(row, column, item)
        self.tested.setChecked(True)

    def remove_row(self) -> None:
        row = self.table.currentRow()
        if row >= 0:
            self.table.removeRow(row)
            emit(self.changed)

    def items(self) -> list[dict[str, Any]] | None:
        """The rows as JSON objects (blank cells left out), or None when not tested."""
        if not self.tested.isChecked():
            return None
        out: list[dict[str, Any]] = []
        for row in range(self.table.rowCount()):
            entry: dict[str, Any] = {}
            first = self.table.item(row, 0)
            extra = first.data(_EXTRA_ROLE) if first is not None else None
            if isinstance(extra, dict):
                entry.update(extra)
            for column, (key, _title, choices) in enumerate(self.columns):
                if choices is not None:
                    widget = self.table.cellWidget(row, column)
                    text = widget.currentText() if isinstance(widget, QComboBox) else ""
                else:
                    item = self.table.item(row, column)
                    text = item.text().strip() if item is not None else ""
                if text:
                    entry[key] = text
            if any(entry.get(key) for key, _title, choices in self.columns if choices is None):
                out.append(entry)
        return out

    def set_items(self, items: Sequence[Mapping[str, Any]] | None) -> None:
        self.table.setRowCount(0)
        for values in items or ():
            self.add_row(values)
        self.tested.setChecked(items is not None)


def _spin(maximum: float, *, decimals: int = 1, suffix: str = "") -> QDoubleSpinBox:
    # The minimum stands for "unknown": a field left out is unknown, never zero.
    box = QDoubleSpinBox()
    box.setDecimals(decimals)
    box.setRange(-1, maximum)
    box.setSpecialValueText("unknown")
    box.setValue(-1)
    box.setSuffix(suffix)
    box.setKeyboardTracking(False)
    return box


def _choice(values: Sequence[str]) -> QComboBox:
    box = QComboBox()
    box.addItem("unknown", None)
    for value in values:
        box.addItem(value, value)
    return box


class PatientForm(QWidget):
    """The common patient fields; JSON fields it has no widget for are kept as they were."""

    FIELDS = (
        "id", "oncotree_code", "age", "sex", "variants", "copy_number", "fusions", "tmb",
        "msi", "pdl1_tps", "pdl1_cps", "her2_ihc", "her2_ish_ratio",
    )  # fmt: skip

    def __init__(self, store: ChoiceStore | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._extra: dict[str, Any] = {}
        self.patient_id = QLineEdit("patient-1")
        self.patient_id.setObjectName("patient_id")
        self.code = QLineEdit()
        self.code.setObjectName("oncotree_code")
        self.code.setPlaceholderText("e.g. NSCLC, LUAD, BRCA (completes from the KB's OncoTree)")
        if store is not None:
            completer = ListCompleter(store.model(TUMOUR_KEY), multiple=False, parent=self.code)
            self.code_filter = PatientCodeFilter(self)
            self.code_filter.setSourceModel(store.model(TUMOUR_KEY))
            completer.setModel(self.code_filter)
            completer.setWidget(self.code)
            self.code.setCompleter(completer)
        self.age = QSpinBox()
        self.age.setObjectName("age")
        self.age.setRange(-1, 150)
        self.age.setSpecialValueText("unknown")
        self.age.setValue(-1)
        self.age.setSuffix(" years")
        self.sex = _choice(("female", "male"))
        self.sex.setObjectName("sex")
        self.variants = RowsEditor(
            (("gene", "Gene", None), ("protein_change", "Protein change", None)),
            tested="Sequenced",
            name="variants",
        )
        self.copy_number = RowsEditor(
            (
                ("gene", "Gene", None),
                ("call", "Call", ("amplification", "deletion", "gain", "loss", "neutral")),
            ),
            tested="Tested",
            name="copy_number",
        )
        self.fusions = RowsEditor(
            (("five_prime", "5′ partner", None), ("three_prime", "3′ partner", None)),
            tested="Tested",
            name="fusions",
        )
        self.tmb = _spin(10_000, suffix=" mut/Mb")
        self.tmb.setObjectName("tmb")
        self.msi = _choice(("MSI-H", "MSI-L", "MSS"))
        self.msi.setObjectName("msi")
        self.pdl1_tps = _spin(100, suffix=" %")
        self.pdl1_tps.setObjectName("pdl1_tps")
        self.pdl1_cps = _spin(1000)
        self.pdl1_cps.setObjectName("pdl1_cps")
        self.her2_ihc = _choice(("0", "1+", "2+", "3+"))
        self.her2_ihc.setObjectName("her2_ihc")
        self.her2_ish = _spin(100, decimals=2)
        self.her2_ish.setObjectName("her2_ish_ratio")

        form = QFormLayout()
        form.addRow("Patient id:", self.patient_id)
        form.addRow("OncoTree code:", self.code)
        demographics = QHBoxLayout()
        demographics.addWidget(self.age)
        demographics.addWidget(QLabel("Sex:"))
        demographics.addWidget(self.sex, 1)
        form.addRow("Age:", demographics)
        form.addRow("Variants:", self.variants)
        form.addRow("Copy number:", self.copy_number)
        form.addRow("Fusions:", self.fusions)
        measures = QGridLayout()
        for row, (label, widget, label2, widget2) in enumerate(
            (
                ("TMB", self.tmb, "MSI", self.msi),
                ("PD-L1 TPS", self.pdl1_tps, "PD-L1 CPS", self.pdl1_cps),
                ("HER2 IHC", self.her2_ihc, "HER2 ISH ratio", self.her2_ish),
            )
        ):
            measures.addWidget(QLabel(label), row, 0)
            measures.addWidget(widget, row, 1)
            measures.addWidget(QLabel(label2), row, 2)
            measures.addWidget(widget2, row, 3)
        form.addRow("Measured:", measures)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(form)
        layout.addStretch(1)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = dict(self._extra)
        data["id"] = self.patient_id.text().strip() or "patient"
        code = self.code.text().strip()
        if code:
            data["oncotree_code"] = code
        if self.age.value() >= 0:
            data["age"] = self.age.value()
        for key, box in (("sex", self.sex), ("msi", self.msi), ("her2_ihc", self.her2_ihc)):
            if box.currentData() is not None:
                data[key] = box.currentData()
        for key, editor in (
            ("variants", self.variants),
            ("copy_number", self.copy_number),
            ("fusions", self.fusions),
        ):
            items = editor.items()
            if items is not None:
                data[key] = items
        for key, spin in (
            ("tmb", self.tmb),
            ("pdl1_tps", self.pdl1_tps),
            ("pdl1_cps", self.pdl1_cps),
            ("her2_ish_ratio", self.her2_ish),
        ):
            if spin.value() >= 0:
                value = round(spin.value(), spin.decimals())
                data[key] = int(value) if value == int(value) else value
        return data

    def set_json(self, data: Mapping[str, Any]) -> None:
        """Fill the form from a profile that Patient.from_json accepted."""
        self._extra = {k: v for k, v in data.items() if k not in self.FIELDS}
        self.patient_id.setText(str(data.get("id") or ""))
        self.code.setText(str(data.get("oncotree_code") or ""))
        age = data.get("age")
        self.age.setValue(int(age) if isinstance(age, int | float) else -1)
        for key, box in (("sex", self.sex), ("msi", self.msi), ("her2_ihc", self.her2_ihc)):
            found = box.findData(data.get(key))
            box.setCurrentIndex(found if found >= 0 else 0)
        self.variants.set_items(data.get("variants"))
        self.copy_number.set_items(data.get("copy_number"))
        self.fusions.set_items(data.get("fusions"))
        for key, spin in (
            ("tmb", self.tmb),
            ("pdl1_tps", self.pdl1_tps),
            ("pdl1_cps", self.pdl1_cps),
            ("her2_ish_ratio", self.her2_ish),
        ):
            value = data.get(key)
            spin.setValue(float(value) if isinstance(value, int | float) else -1)


# --- the sandbox ------------------------------------------------------------------------------


def _view(model: QAbstractItemModel, name: str) -> QTableView:
    view = QTableView()
    view.setObjectName(name)
    view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setAlternatingRowColors(True)
    view.setWordWrap(False)
    view.verticalHeader().hide()
    view.verticalHeader().setDefaultSectionSize(view.fontMetrics().height() + 6)
    view.horizontalHeader().setStretchLastSection(True)
    return view


class MatchingSandbox(QDialog):
    """A patient, what to match against, and what a matching service would answer."""

    matched = Signal()
    match_failed = Signal(str)

    def __init__(
        self,
        kb: Kb,
        actor: Actor | None,
        workers: Workers,
        parent: QWidget | None = None,
        *,
        store: ChoiceStore | None = None,
        start_folder: Path | None = None,
    ) -> None:
        super().__init__(parent)
        self.kb = kb
        self.actor = actor
        self.workers = workers
        self.start_folder = start_folder or Path.home()
        self.match_result: MatchResult | None = None
        self.error: str | None = None
        self._knowledge: Knowledge | None = None
        self._task: Task | None = None
        self.setObjectName("matching_sandbox")
        self.setWindowTitle("Matching sandbox")
        self.setWindowFlag(Qt.WindowType.WindowMaximizeButtonHint, True)

        # -- the patient
        self.form = PatientForm(store)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.form)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        # The form fits the pane's width; only a long form scrolls, and only down.
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.json_edit = QPlainTextEdit()
        self.json_edit.setObjectName("patient_json")
        self.json_edit.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.tabs = QTabWidget()
        self.tabs.setObjectName("patient_tabs")
        self.tabs.addTab(scroll, "Form")
        self.tabs.addTab(self.json_edit, "JSON")
        self.tabs.currentChanged.connect(self._tab_changed)
        load = QPushButton("Load JSON…")
        load.clicked.connect(self.load_dialog)
        save = QPushButton("Save JSON…")
        save.clicked.connect(self.save_dialog)
        clear = QPushButton("Clear")
        clear.clicked.connect(self.clear_patient)
        files = QHBoxLayout()
        files.addWidget(load)
        files.addWidget(save)
        files.addStretch(1)
        files.addWidget(clear)

        # -- what to match against
        self.use_kb = QRadioButton("The KB's main line")
        self.use_kb.setObjectName("use_kb")
        self.use_kb.setChecked(True)
        self.include_draft = QCheckBox("include my draft")
        self.include_draft.setObjectName("include_draft")
        self.include_draft.setEnabled(actor is not None)
        self.include_draft.setToolTip(
            "Apply your draft change set's changes on top, as if it were merged"
            if actor is not None
            else "Sign in to have a draft"
        )
        self.use_release = QRadioButton("A release folder")
        self.use_release.setObjectName("use_release")
        group = QButtonGroup(self)
        group.addButton(self.use_kb)
        group.addButton(self.use_release)
        self.release_edit = QLineEdit()
        self.release_edit.setObjectName("release_folder")
        self.release_edit.setPlaceholderText("kb-release-… folder")
        self.root_edit = QLineEdit()
        self.root_edit.setObjectName("trust_root")
        self.root_edit.setPlaceholderText("The trust root you pin (root.json)")
        browse_release = QPushButton("Browse…")
        browse_release.clicked.connect(self._browse_release)
        browse_root = QPushButton("Browse…")
        browse_root.clicked.connect(self._browse_root)
        for edit in (self.release_edit, self.root_edit):
            edit.textChanged.connect(lambda _text: self.use_release.setChecked(True))
        against = QGridLayout()
        against.addWidget(self.use_kb, 0, 0)
        against.addWidget(self.include_draft, 0, 1, 1, 2)
        against.addWidget(self.use_release, 1, 0)
        against.addWidget(self.release_edit, 1, 1)
        against.addWidget(browse_release, 1, 2)
        against.addWidget(QLabel("verified with"), 2, 0, Qt.AlignmentFlag.AlignRight)
        against.addWidget(self.root_edit, 2, 1)
        against.addWidget(browse_root, 2, 2)
        against.setColumnStretch(1, 1)
        against_box = QGroupBox("Match against")
        against_box.setLayout(against)
        self.match_button = QPushButton("Match")
        self.match_button.setObjectName("match_button")
        self.match_button.setDefault(True)
        self.match_button.setToolTip("Match the patient (Ctrl+Return)")
        self.match_button.clicked.connect(self.run_match)
        shortcut = QAction(self)
        shortcut.setShortcut(QKeySequence("Ctrl+Return"))
        shortcut.triggered.connect(lambda _checked=False: self.run_match())
        self.addAction(shortcut)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(QLabel("<b>Patient</b>"))
        left_layout.addWidget(self.tabs, 1)
        left_layout.addLayout(files)
        left_layout.addWidget(against_box)
        left_layout.addWidget(self.match_button)

        # -- results
        self.status = QLabel("Enter a patient and press Match.")
        self.status.setObjectName("sandbox_status")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.therapy_model = TherapyMatchModel(self)
        self.therapy_view = _view(self.therapy_model, "therapies")
        self.possible_model = PossibleTherapyModel(self)
        self.possible_view = _view(self.possible_model, "possible_therapies")
        self.trial_model = TrialMatchModel(self)
        self.trial_view = _view(self.trial_model, "trials")
        self.explanation_model = ExplanationModel(self)
        self.explanation_view = QTreeView()
        self.explanation_view.setObjectName("explanation")
        self.explanation_view.setModel(self.explanation_model)
        self.explanation_view.setAlternatingRowColors(True)
        self.explanation_view.setUniformRowHeights(True)
        self.explanation_view.header().setSectionResizeMode(
            0, QHeaderView.ResizeMode.ResizeToContents
        )
        self.explanation_view.header().setStretchLastSection(True)
        self.therapy_view.selectionModel().currentRowChanged.connect(self._therapy_selected)
        self.trial_view.selectionModel().currentRowChanged.connect(self._trial_selected)
        self.possible_view.selectionModel().currentRowChanged.connect(self._possible_selected)
        self.therapy_label = QLabel("<b>Therapies</b>")
        self.possible_label = QLabel("<b>Possible with tests</b>")
        self.trial_label = QLabel("<b>Trial arms</b>")
        results = QSplitter(Qt.Orientation.Vertical)
        for label, widget in (
            (self.therapy_label, self.therapy_view),
            (self.possible_label, self.possible_view),
            (self.trial_label, self.trial_view),
            (QLabel("<b>Why</b> — the selected match's explanation"), self.explanation_view),
        ):
            pane = QWidget()
            pane_layout = QVBoxLayout(pane)
            pane_layout.setContentsMargins(0, 0, 0, 0)
            pane_layout.addWidget(label)
            pane_layout.addWidget(widget)
            results.addWidget(pane)
        results.setSizes([200, 140, 120, 260])
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.status)
        right_layout.addWidget(results, 1)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([500, 740])
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)
        self.resize(1240, 820)

    # -- the patient ------------------------------------------------------------------------

    def patient_data(self) -> dict[str, Any]:
        """The patient as JSON data from the tab in front (PatientError for bad JSON text)."""
        if self.tabs.currentWidget() is self.json_edit:
            return patient_from_text(self.json_edit.toPlainText())
        return self.form.to_json()

    def set_patient(self, data: Mapping[str, Any]) -> None:
        """Show a profile in both tabs (the form only if the profile is valid)."""
        self.json_edit.setPlainText(json.dumps(data, indent=2, ensure_ascii=False))
        try:
            Patient.from_json(dict(data))
        except PatientError as exc:
            self.tabs.setCurrentWidget(self.json_edit)
            self._show_error(str(exc))
            return
        self.form.set_json(data)

    def clear_patient(self) -> None:
        self.form.set_json({"id": "patient-1"})
        self.json_edit.setPlainText(json.dumps(self.form.to_json(), indent=2))

    def _tab_changed(self, index: int) -> None:
        if self.tabs.widget(index) is self.json_edit:
            self.json_edit.setPlainText(
                json.dumps(self.form.to_json(), indent=2, ensure_ascii=False)
            )
            return
        try:
            data = patient_from_text(self.json_edit.toPlainText())
            Patient.from_json(data)
        except PatientError as exc:
            # The form cannot show what the JSON does not say: stay with the JSON until fixed.
            self.tabs.blockSignals(True)
            self.tabs.setCurrentWidget(self.json_edit)
            self.tabs.blockSignals(False)
            self._show_error(str(exc))
            return
        self.form.set_json(data)

    def load_file(self, path: Path) -> None:
        try:
            if path.stat().st_size > MAX_PATIENT_FILE_BYTES:
                self._show_error(f"{path}: larger than {MAX_PATIENT_FILE_BYTES} bytes")
                return
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            self._show_error(f"{path}: cannot read the patient file: {exc}")
            return
        try:
            data = patient_from_text(text)
            Patient.from_json(data)
        except PatientError as exc:
            self.tabs.setCurrentWidget(self.json_edit)
            self.json_edit.setPlainText(text)
            self._show_error(str(exc.located(str(path))))
            return
        self.form.set_json(data)
        self.json_edit.setPlainText(text)
        self.status.setText(f"Loaded {path.name}. Press Match.")

    def save_file(self, path: Path) -> bool:
        try:
            data = self.patient_data()
            Patient.from_json(data)
        except PatientError as exc:
            self._show_error(str(exc))
            return False
        try:
            path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", "utf-8")
        except OSError as exc:
            self._show_error(f"{path}: cannot write: {exc}")
            return False
        self.status.setText(f"Saved {path.name}.")
        return True

    def load_dialog(self) -> None:
        chosen, _ = QFileDialog.getOpenFileName(
            self, "Load a patient", str(self.start_folder), "Patient JSON (*.json);;All files (*)"
        )
        if chosen:
            self.load_file(Path(chosen))

    def save_dialog(self) -> None:
        chosen, _ = QFileDialog.getSaveFileName(
            self, "Save the patient", str(self.start_folder / "patient.json"), "JSON (*.json)"
        )
        if chosen:
            self.save_file(Path(chosen))

    def _browse_release(self) -> None:
        chosen = QFileDialog.getExistingDirectory(self, "Release folder", str(self.start_folder))
        if chosen:
            self.release_edit.setText(chosen)

    def _browse_root(self) -> None:
        chosen, _ = QFileDialog.getOpenFileName(
            self, "Trust root", str(self.start_folder), "Trust root (*.json);;All files (*)"
        )
        if chosen:
            self.root_edit.setText(chosen)

    # -- matching ----------------------------------------------------------------------------

    def source(self) -> Source | None:
        if self.use_kb.isChecked():
            return KbSource(self.include_draft.isChecked() and self.actor is not None)
        folder, root = self.release_edit.text().strip(), self.root_edit.text().strip()
        if not folder or not root:
            self._show_error("Choose a release folder and the trust root to verify it with.")
            return None
        return ReleaseSource(Path(folder).expanduser(), Path(root).expanduser())

    def run_match(self) -> None:
        try:
            data = self.patient_data()
        except PatientError as exc:
            self._show_error(str(exc))
            return
        source = self.source()
        if source is None:
            return
        if self._task is not None and not self._task.is_done:
            self._task.cancel()
        kb, actor, cached = self.kb, self.actor, self._knowledge

        def work(_progress: Callable[[int, int], None], cancel: CancelToken) -> SandboxResult:
            patient = Patient.from_json(data)
            if isinstance(source, ReleaseSource):
                knowledge = release_knowledge(source)
            else:
                knowledge = kb_knowledge(
                    kb, actor, include_draft=source.include_draft, cached=cached
                )
            cancel.check()
            return SandboxResult(knowledge.matcher.match(patient), knowledge)

        self.status.setText("Matching…")
        self.match_button.setEnabled(False)
        task = self.workers.read("matching sandbox", work)
        task.finished.connect(lambda outcome, t=task: self._matched(t, outcome))
        task.failed.connect(lambda failure, t=task: self._failed(t, failure))
        task.cancelled.connect(lambda t=task: self._done(t))
        self._task = task

    def _done(self, task: Task) -> bool:
        # The sandbox may have been closed and deleted before the worker answered.
        if not isValid(self) or task is not self._task:
            return False
        self._task = None
        self.match_button.setEnabled(True)
        return True

    def _matched(self, task: Task, outcome: SandboxResult) -> None:
        if not self._done(task):
            return
        self.error = None
        if outcome.knowledge.key[0] == "kb":
            self._knowledge = outcome.knowledge
        result = self.match_result = outcome.result
        self.therapy_model.set_matches(result.therapies)
        self.trial_model.set_matches(result.trials, result.trials_to_review)
        self.possible_model.set_matches(result.possible_therapies)
        self.explanation_model.set_roots([])
        for view in (self.therapy_view, self.possible_view, self.trial_view):
            view.resizeColumnsToContents()
            # Long arm names and trial titles are elided (full text in the tooltip) so that
            # every column stays in view.
            for column in range(view.model().columnCount()):
                view.setColumnWidth(column, min(view.columnWidth(column), 300))
            view.horizontalHeader().setStretchLastSection(True)
        self.therapy_label.setText(f"<b>Therapies</b> ({len(result.therapies)})")
        self.possible_label.setText(
            f"<b>Possible with tests</b> ({len(result.possible_therapies)}) — "
            "blocked only by tests the patient never had"
        )
        review = f", {len(result.trials_to_review)} to review" if result.trials_to_review else ""
        self.trial_label.setText(f"<b>Trial arms</b> ({len(result.trials)} open{review})")
        warnings = "".join(
            f"<br><span style='color:{_PROBLEM}'>warning: {w}</span>" for w in result.warnings
        )
        self.status.setText(
            f"Patient <b>{result.patient.id}</b> against {outcome.knowledge.against}: "
            f"{len(result.therapies)} therapies, {len(result.possible_therapies)} possible with "
            f"tests, {len(result.trials)} open trial arms.{warnings}"
        )
        if result.therapies:
            self.therapy_view.selectRow(0)
        elif self.possible_model.rowCount():
            self.possible_view.selectRow(0)
        elif self.trial_model.rowCount():
            self.trial_view.selectRow(0)
        emit(self.matched)

    def _failed(self, task: Task, failure: TaskFailure) -> None:
        if not self._done(task):
            return
        self._show_error(failure.message)

    def _show_error(self, message: str) -> None:
        self.error = message
        self.status.setText(f"<span style='color:{_PROBLEM}'>{_escape(message)}</span>")
        emit(self.match_failed, message)

    def _therapy_selected(self, current: QModelIndex, _previous: QModelIndex) -> None:
        match = self.therapy_model.match_at(current.row()) if current.isValid() else None
        if match is not None:
            self.trial_view.clearSelection()
            self.possible_view.clearSelection()
            self._explain(therapy_tree(match))

    def _possible_selected(self, current: QModelIndex, _previous: QModelIndex) -> None:
        match = self.possible_model.match_at(current.row()) if current.isValid() else None
        if match is not None:
            self.therapy_view.clearSelection()
            self.trial_view.clearSelection()
            self._explain(possible_tree(match))

    def _trial_selected(self, current: QModelIndex, _previous: QModelIndex) -> None:
        match = self.trial_model.match_at(current.row()) if current.isValid() else None
        if match is not None:
            self.therapy_view.clearSelection()
            self.possible_view.clearSelection()
            self._explain(trial_tree(match))

    def _explain(self, tree: Explanation) -> None:
        self.explanation_model.set_roots([tree])
        self.explanation_view.expandAll()

    def done(self, result: int) -> None:
        if self._task is not None:
            self._task.cancel()
        super().done(result)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# --- the main window's hook ----------------------------------------------------------------


def install_matching_sandbox(host: Host) -> QAction:
    """Add Tools ▸ Matching sandbox… (Ctrl+Shift+M) to the main window."""
    action = QAction("Matching sandbox…", host.as_widget())
    action.setObjectName("matching_sandbox")
    action.setShortcut(QKeySequence("Ctrl+Shift+M"))
    action.setStatusTip("See what a matching service would return for a patient (Ctrl+Shift+M)")
    action.triggered.connect(lambda _checked=False: open_matching_sandbox(host))
    return host.add_action(action, menu="Tools")


def open_matching_sandbox(host: Host) -> MatchingSandbox:
    """Open the sandbox (non-modal), completing codes and records from the window's lists."""
    sandbox = MatchingSandbox(host.kb, host.actor, host.workers, host.as_widget(), store=host.store)
    sandbox.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    sandbox.show()
    return sandbox


SCREEN = Screen("matching_sandbox", install_matching_sandbox)
