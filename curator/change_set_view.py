"""One change set, side by side: record by record and field by field, before | after.

Before is the main line at the change set's base (the values the curator saw when staging);
after is what approving would write. New records show every field in green, deleted ones every
last field struck through in red. Below, "Effects on saved test patients" runs the matcher on the
main line and on the main line with the change set applied (kb.review.effects), off the UI thread.

The actions — submit, withdraw, approve, reject (with a reason), rebase — run through
curator/workers.py. kb enforces roles and four-eyes; this view also disables what the signed-in
user may not do and says why in the tooltip. A conflict or a validation refusal comes back as
plain data and is shown as a table (record, field, base / theirs / ours or message).
"""

from __future__ import annotations

import difflib
import html
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QEvent,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QAction, QColor, QFont, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QGroupBox,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QTableView,
    QTabWidget,
    QTextBrowser,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)
from sqlalchemy.orm import Session

from curator.icons import icon
from curator.qt_compat import emit
from curator.record_detail import referenced_ids
from curator.record_view import field_label
from curator.table_model import ReadOnlyTableModel
from curator.theme import ERROR_COLOUR, is_dark
from curator.workers import CancelToken, Task, TaskFailure, Workers
from kb.matching.matcher import Patient
from kb.model import expression as exprs
from kb.model.enums import ChangeOp, ChangeSetStatus, RecordType
from kb.model.records import SPECS, Ids, Titles, field_spec
from kb.review.changes import (
    ChangeRow,
    ChangeSetRow,
    Conflict,
    ConflictError,
    MergeResult,
    RebaseResult,
    ValidationFailed,
    approve_change_set,
    get_change_set,
    main_line_fields,
    rebase_change_set,
    reject_change_set,
    submit_change_set,
    withdraw_change_set,
)
from kb.review.comments import CommentRow, add_comment, list_comments
from kb.review.effects import PatientEffect, load_patients, match_effects
from kb.review.users import Actor, Permission, why_not
from kb.storage.db import Kb
from kb.storage.revisions import current_version
from kb.storage.rows import reference_titles
from kb.validation.checks import Problem

_Index = QModelIndex | QPersistentModelIndex
HUMAN_ID_ROLE = Qt.ItemDataRole.UserRole + 1
KIND_ROLE = Qt.ItemDataRole.UserRole + 2  # "header" | "changed" | "same" | "created" | "deleted"
PATIENT_DIR = Path(__file__).resolve().parent.parent / "resources" / "patients"
_OP_WORDS = {ChangeOp.CREATE: "new", ChangeOp.UPDATE: "changed", ChangeOp.DELETE: "deleted"}
# Rows sized to their wrapped text, at most this many (sizing is per row, on the UI thread).
_SIZED_ROWS = 400
# A 100,000-row import is one change set: side by side, the first few thousand records say what
# it does, and building rows (and table spans) for all of them would stall the UI thread.
MAX_SHOWN_CHANGES = 2000
CONFLICT_HEADERS = (
    "Record",
    "Field",
    "Base (when drafted)",
    "Theirs (main line now)",
    "Ours (this change set)",
)
PROBLEM_HEADERS = ("Record", "Field", "Message")
_PAST = {
    "submit": "submitted",
    "approve": "approved",
    "reject": "rejected",
    "withdraw": "withdrawn",
    "rebase": "rebased",
}


def colours(dark: bool) -> dict[str, str]:
    """Row tints for the side-by-side view, readable in both palettes."""
    return {
        "changed": "#3b3220" if dark else "#fff4d6",
        "created": "#1f3a2a" if dark else "#e3f6ea",
        "deleted": "#3d2224" if dark else "#fde8e8",
        "header": "#2b3440" if dark else "#e8edf3",
        "muted": "#9aa5b1" if dark else "#616e7c",
        "gained": "#5fd08a" if dark else "#1e7a45",
        "lost": "#ff7b7b" if dark else "#b42318",
    }


# --- plain data, read on a worker thread ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChangeSetDetail:
    """A change set with what its view needs: titles of every record it touches or names, and
    the main-line fields of the records it updates (for the unchanged fields around a change)."""

    change_set: ChangeSetRow
    titles: Mapping[str, str]
    main_fields: Mapping[str, Mapping[str, Any]]
    current_version: int
    comments: tuple[CommentRow, ...] = ()


def record_titles(
    session: Session, records: Mapping[str, tuple[RecordType, Mapping[str, Any]]]
) -> dict[str, str]:
    """Titles for records by human id: from the main line where they are there, else derived
    from the fields given (records a change set creates, or versions have since removed)."""
    titles = reference_titles(session, records)
    missing = {hid: rf for hid, rf in records.items() if hid not in titles}
    if missing:
        derive = Titles(session, Ids(session))
        for human_id, (rtype, fields) in missing.items():
            try:
                titles[human_id] = derive.title(rtype, fields)
            except (KeyError, TypeError, ValueError):
                continue  # a half-filled record: its id alone will do
    return titles


def load_change_set_detail(session: Session, key: str) -> ChangeSetDetail:
    change_set = get_change_set(session, key)
    shown = change_set.changes[:MAX_SHOWN_CHANGES]
    named: dict[str, tuple[RecordType, Mapping[str, Any]]] = {}
    references: set[str] = set()
    for change in shown:
        fields = change.before if change.op is ChangeOp.DELETE else change.fields
        named[change.human_id] = (change.record_type, fields)
        references.update(referenced_ids(change.record_type, change.fields))
        references.update(referenced_ids(change.record_type, change.before))
    updated = [c.human_id for c in shown if c.op is ChangeOp.UPDATE]
    main = {hid: fields for hid, (_uuid, fields) in main_line_fields(session, updated).items()}
    for change in shown:
        if change.op is ChangeOp.UPDATE and change.human_id in main:
            references.update(referenced_ids(change.record_type, main[change.human_id]))
    titles = record_titles(session, named)
    titles.update(reference_titles(session, references - titles.keys()))
    comments = tuple(list_comments(session, change_set.id))
    return ChangeSetDetail(change_set, titles, main, current_version(session), comments)


@dataclass(frozen=True, slots=True)
class ActionOutcome:
    """What an action came to, as plain data: the new state, or why nothing was written."""

    action: str
    change_set: ChangeSetRow | None = None
    merge: MergeResult | None = None
    rebase: RebaseResult | None = None
    conflicts: tuple[Conflict, ...] = ()
    problems: tuple[Problem, ...] = ()

    @property
    def ok(self) -> bool:
        return not (self.conflicts or self.problems)


def run_action(
    kb: Kb,
    actor: Actor,
    action: str,
    key: str,
    reason: str = "",
    *,
    returned: Mapping[str, str] | None = None,
) -> ActionOutcome:
    """One review action in one unit of work. Conflicts and validation problems come back as
    data (the transaction rolled back); any other refusal raises its KbError. `returned`
    (record -> reason) approves in part: those changes go back to the author."""
    try:
        with kb.unit_of_work() as session:
            match action:
                case "submit":
                    row = submit_change_set(session, actor=actor, change_set_id=key)
                    return ActionOutcome(action, row)
                case "withdraw":
                    row = withdraw_change_set(session, actor=actor, change_set_id=key)
                    return ActionOutcome(action, row)
                case "reject":
                    row = reject_change_set(session, actor=actor, change_set_id=key, reason=reason)
                    return ActionOutcome(action, row)
                case "approve":
                    merge = approve_change_set(
                        session, actor=actor, change_set_id=key, reason=reason, returned=returned
                    )
                    return ActionOutcome(action, merge=merge)
                case "rebase":
                    rebase = rebase_change_set(session, actor=actor, change_set_id=key)
                    return ActionOutcome(action, rebase=rebase)
        raise ValueError(f"unknown action {action}")
    except ConflictError as exc:
        return ActionOutcome(action, conflicts=tuple(exc.conflicts))
    except ValidationFailed as exc:
        return ActionOutcome(action, problems=tuple(exc.problems))


def refusals(change_set: ChangeSetRow, actor: Actor | None) -> dict[str, str | None]:
    """Per action, None if `actor` may take it now, else why not (for the button's tooltip).
    kb checks all of it again; this only spares the user a refused click."""
    name, status = change_set.human_id, change_set.status
    if actor is None:
        return dict.fromkeys(("submit", "withdraw", "approve", "reject", "rebase"), "sign in first")
    author = actor.name == change_set.author
    not_author = f"only {change_set.author}, its author, can do that"
    draft, submitted = ChangeSetStatus.DRAFT, ChangeSetStatus.SUBMITTED

    def when(wanted: ChangeSetStatus, refusal: str) -> str | None:
        return None if status is wanted else f"{name} is {status.value}; {refusal}"

    out: dict[str, str | None] = {}
    out["submit"] = (
        why_not(actor, Permission.EDIT)
        or (None if author else not_author)
        or when(draft, "only a draft can be submitted")
        or (None if change_set.changes else f"{name} has no changes")
    )
    out["withdraw"] = (None if author else not_author) or when(
        submitted, "only a submitted one can be withdrawn"
    )
    out["rebase"] = (None if author else not_author) or when(draft, "withdraw it to a draft first")
    decide = why_not(actor, Permission.APPROVE) or when(
        submitted, "only a submitted change set can be decided"
    )
    if decide is None and actor.name in change_set.authors:
        decide = f"you authored changes in {name}: another reviewer must decide it (four-eyes rule)"
    out["approve"] = out["reject"] = decide
    return out


# --- formatting ------------------------------------------------------------------------------


_WORDS = re.compile(r"\s+|\w+|[^\w\s]")


def word_diff_html(before: str, after: str, tints: Mapping[str, str]) -> str:
    """Before and after as one wrapped text, word by word: words taken out struck through on
    the deleted tint, words put in on the created tint, the rest as it was."""
    old, new = _WORDS.findall(before), _WORDS.findall(after)
    parts: list[str] = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            parts.append(html.escape("".join(old[i1:i2])))
            continue
        if i2 > i1:
            parts.append(
                f'<span style="background-color:{tints["deleted"]};color:{tints["lost"]};'
                f'text-decoration:line-through">{html.escape("".join(old[i1:i2]))}</span>'
            )
        if j2 > j1:
            parts.append(
                f'<span style="background-color:{tints["created"]};color:{tints["gained"]}">'
                f"{html.escape(''.join(new[j1:j2]))}</span>"
            )
    return "".join(parts)


def display_value(rtype: RecordType, name: str, value: Any, titles: Mapping[str, str]) -> str:
    """A field's value as a reviewer reads it: references with their titles, trees as text."""
    if value is None or value in ("", []):
        return "—"
    try:
        spec = field_spec(rtype, name)
    except Exception:
        return (
            json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else str(value)
        )

    def ref(human_id: Any) -> str:
        title = titles.get(str(human_id))
        return f"{human_id} — {title}" if title else str(human_id)

    match spec.kind:
        case "ref":
            return ref(value)
        case "refs":
            return "; ".join(ref(item) for item in value)
        case "codes" | "strings":
            return ", ".join(str(item) for item in value)
        case "bool":
            return "yes" if value else "no"
        case "enum":
            return str(value).replace("_", " ") if name != "evidence_level" else str(value)
        case "tree" if isinstance(value, dict):

            def leaf(node: Mapping[str, Any]) -> str:
                text = titles.get(str(node.get("biomarker")), str(node.get("biomarker")))
                if node.get("threshold"):
                    text += f" [{titles.get(node['threshold'], node['threshold'])}]"
                return text

            try:
                return exprs.render(value, leaf)
            except (KeyError, TypeError):
                return json.dumps(value, ensure_ascii=False)
    return str(value)


@dataclass(frozen=True, slots=True)
class DiffRow:
    """One line of the side-by-side view: a record header or one field of it."""

    kind: str  # "header" | "changed" | "same" | "created" | "deleted"
    human_id: str
    label: str
    before: str = ""
    after: str = ""
    op: ChangeOp = ChangeOp.UPDATE


def _field_names(rtype: RecordType, *dicts: Mapping[str, Any]) -> list[str]:
    # In the order the record editor shows them; anything unknown at the end.
    known = [spec.name for spec in SPECS[rtype]]
    extra = sorted({name for d in dicts for name in d} - set(known))
    return known + extra


def diff_rows(detail: ChangeSetDetail, *, unchanged: bool = False) -> list[DiffRow]:
    """The side-by-side rows of a change set; `unchanged` adds an update's other fields."""
    rows: list[DiffRow] = []
    titles = detail.titles
    for change in detail.change_set.changes[:MAX_SHOWN_CHANGES]:
        rtype, hid = change.record_type, change.human_id
        title = titles.get(hid)
        rows.append(DiffRow("header", hid, f"{hid} — {title}" if title else hid, op=change.op))

        def show(name: str, value: Any, rtype: RecordType = rtype) -> str:
            return display_value(rtype, name, value, titles)

        if change.op is ChangeOp.CREATE:
            for name in _field_names(rtype, change.fields):
                after = show(name, change.fields.get(name))
                rows.append(DiffRow("created", hid, field_label(name), "", after, change.op))
        elif change.op is ChangeOp.DELETE:
            for name in _field_names(rtype, change.before):
                before = show(name, change.before.get(name))
                rows.append(DiffRow("deleted", hid, field_label(name), before, "", change.op))
        else:
            main = detail.main_fields.get(hid, {})
            for name in _field_names(rtype, change.fields, main if unchanged else {}):
                if name in change.fields:
                    before = show(name, change.before.get(name))
                    after = show(name, change.fields[name])
                    label = field_label(name)
                    rows.append(DiffRow("changed", hid, label, before, after, change.op))
                elif unchanged and name in main:
                    text = show(name, main.get(name))
                    rows.append(DiffRow("same", hid, field_label(name), text, text, change.op))
    return rows


def change_counts(changes: Iterable[ChangeRow]) -> str:
    """E.g. `2 changed, 1 new, 1 deleted`."""
    counts = dict.fromkeys(ChangeOp, 0)
    for change in changes:
        counts[change.op] += 1
    return counts_text(counts)


def counts_text(counts: Mapping[ChangeOp, int]) -> str:
    parts = [
        f"{counts.get(op, 0)} {_OP_WORDS[op]}"
        for op in (ChangeOp.UPDATE, ChangeOp.CREATE, ChangeOp.DELETE)
        if counts.get(op)
    ]
    return ", ".join(parts) if parts else "no changes"


# --- models ----------------------------------------------------------------------------------


class ChangeSetDiffModel(ReadOnlyTableModel):
    """Rows from `diff_rows`: record headers (spanning the row) and their fields."""

    HEADERS = ("Field", "Before", "After")

    decisions_changed = Signal()  # a change was ticked (accepted) or unticked (turned down)

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.rows: list[DiffRow] = []
        self.base_version: int | None = None
        self.merged_version: int | None = None
        self.status: ChangeSetStatus | None = None
        # While a reviewer may decide: each change's header carries a tick, on by default.
        self.decidable = False
        self.turned_down: set[str] = set()
        self.colours = colours(False)

    def set_rows(
        self,
        rows: Sequence[DiffRow],
        base_version: int | None,
        *,
        status: ChangeSetStatus | None = None,
        merged_version: int | None = None,
        decidable: bool = False,
    ) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.base_version = base_version
        self.status, self.merged_version = status, merged_version
        if not decidable:
            self.turned_down = set()
        else:
            self.turned_down &= {row.human_id for row in self.rows}
        self.decidable = decidable
        self.endResetModel()
        emit(self.headerDataChanged, Qt.Orientation.Horizontal, 0, 2)

    def changes_shown(self) -> list[str]:
        return [row.human_id for row in self.rows if row.kind == "header"]

    def flags(self, index: _Index) -> Qt.ItemFlag:
        flags = super().flags(index)
        if (
            self.decidable
            and index.isValid()
            and index.column() == 0
            and self.rows[index.row()].kind == "header"
        ):
            flags |= Qt.ItemFlag.ItemIsUserCheckable
        return flags

    def setData(self, index: _Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.CheckStateRole or not self.decidable or not index.isValid():
            return False
        row = self.rows[index.row()]
        if row.kind != "header" or index.column() != 0:
            return False
        accepted = Qt.CheckState(value) == Qt.CheckState.Checked
        if accepted:
            self.turned_down.discard(row.human_id)
        else:
            self.turned_down.add(row.human_id)
        emit(self.dataChanged, index, index)
        emit(self.decisions_changed)
        return True

    def set_dark(self, dark: bool) -> None:
        self.colours = colours(dark)
        if self.rows:
            emit(self.dataChanged, self.index(0, 0), self.index(len(self.rows) - 1, 2))

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.rows):
            return None
        row, column = self.rows[index.row()], index.column()
        if role == HUMAN_ID_ROLE:
            return row.human_id
        if role == KIND_ROLE:
            return row.kind
        if role == Qt.ItemDataRole.CheckStateRole:
            if not (self.decidable and row.kind == "header" and column == 0):
                return None
            turned_down = row.human_id in self.turned_down
            return Qt.CheckState.Unchecked if turned_down else Qt.CheckState.Checked
        if role == Qt.ItemDataRole.ToolTipRole and row.kind == "header" and self.decidable:
            return (
                "Ticked: accepted with the rest. Untick to turn this change down: it goes back "
                "to the author in a new draft, with your reason."
            )
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            if row.kind == "header":
                if column != 0:
                    return None
                down = "   (turned down)" if row.human_id in self.turned_down else ""
                return f"{_OP_WORDS[row.op]}   {row.label}{down}"
            text = (row.label, row.before, row.after)[column]
            if row.kind == "deleted" and column == 2:
                text = "deleted"
            # Whole, never cut: long text wraps in its row, and the pane below diffs it by word.
            return text
        if role == Qt.ItemDataRole.BackgroundRole:
            if row.kind == "header":
                return QColor(self.colours["header"])
            if row.kind == "changed":
                return QColor(self.colours["changed"]) if column == 2 else None
            if row.kind in ("created", "deleted"):
                return QColor(self.colours[row.kind])
            return None
        if role == Qt.ItemDataRole.ForegroundRole:
            if row.kind == "same" or (row.kind == "created" and column == 1):
                return QColor(self.colours["muted"])
            if row.kind == "deleted":
                return QColor(ERROR_COLOUR) if column != 0 else None
            if row.kind == "header":
                return QColor(
                    {"new": self.colours["gained"], "deleted": self.colours["lost"]}.get(
                        _OP_WORDS[row.op], "#d9822b"
                    )
                )
            return None
        if role == Qt.ItemDataRole.FontRole:
            if row.kind == "header":
                font = QFont()
                font.setBold(True)
                return font
            if row.kind == "deleted" and column == 1:
                font = QFont()
                font.setStrikeOut(True)
                return font
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or role != Qt.ItemDataRole.DisplayRole:
            return None
        if not 0 <= section < len(self.HEADERS):
            return None
        if section == 1 and self.base_version is not None:
            return f"Before (main line at version {self.base_version})"
        if section == 2:
            if self.merged_version is not None:
                return f"After (merged in version {self.merged_version})"
            if self.status in (ChangeSetStatus.REJECTED, ChangeSetStatus.WITHDRAWN):
                return f"After (proposed; {self.status.value}, never merged)"
            return "After (if approved)"
        return self.HEADERS[section]


class PlainTableModel(ReadOnlyTableModel):
    """Read-only rows of text under fixed headers (conflicts, validation problems)."""

    def __init__(self, headers: Sequence[str], parent: Any = None) -> None:
        super().__init__(parent)
        self.HEADERS = tuple(headers)
        self.rows: list[tuple[str, ...]] = []

    def set_rows(
        self, rows: Iterable[Sequence[Any]], *, headers: Sequence[str] | None = None
    ) -> None:
        self.beginResetModel()
        if headers is not None:
            self.HEADERS = tuple(headers)
        self.rows = [tuple(_cell(value) for value in row) for row in rows]
        self.endResetModel()

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.rows):
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return self.rows[index.row()][index.column()]
        return None


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


class EffectsModel(ReadOnlyTableModel):
    """Per saved test patient: what the change set gains, loses and changes for them."""

    HEADERS = ("Patient", "Gained", "Lost", "Changed")

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.effects: list[PatientEffect] = []
        self.colours = colours(False)

    def set_effects(self, effects: Sequence[PatientEffect]) -> None:
        self.beginResetModel()
        # Patients the change set touches first; the rest keep their saved order.
        self.effects = sorted(effects, key=lambda effect: not effect.affected)
        self.endResetModel()

    def set_dark(self, dark: bool) -> None:
        self.colours = colours(dark)

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.effects)

    def _texts(self, effect: PatientEffect, column: int) -> list[str]:
        match column:
            case 1:
                return [item.label() for item in effect.gained]
            case 2:
                return [item.label() for item in effect.lost]
            case 3:
                return [change.label() for change in effect.changed]
        return [effect.patient]

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.effects):
            return None
        effect, column = self.effects[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            texts = self._texts(effect, column)
            if column == 0:
                return texts[0]
            return "; ".join(texts) if texts else "—"
        if role == Qt.ItemDataRole.ToolTipRole:
            lines = self._texts(effect, column) if column else [effect.patient]
            if column == 0:
                lines += list(effect.warnings)
                if not effect.affected:
                    lines.append("matches the same therapies and trial arms as before")
            return "\n".join(lines) or None
        if role == Qt.ItemDataRole.ForegroundRole:
            if not effect.affected:
                return QColor(self.colours["muted"])
            if column == 1 and effect.gained:
                return QColor(self.colours["gained"])
            if column == 2 and effect.lost:
                return QColor(self.colours["lost"])
        return None


# --- dialogs ---------------------------------------------------------------------------------


class RejectDialog(QDialog):
    """Asks for the reason a rejection needs; OK stays disabled until there is one."""

    def __init__(self, change_set: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("reject_dialog")
        self.setWindowTitle(f"Reject {change_set}")
        self.reason = QPlainTextEdit()
        self.reason.setObjectName("reason")
        self.reason.setPlaceholderText("Why? The author reads this (required).")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText("Reject")
        self.ok.setEnabled(False)
        self.ok.setToolTip("A rejection needs a reason")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.reason.textChanged.connect(
            lambda: self.ok.setEnabled(bool(self.reason.toPlainText().strip()))
        )
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"Reject {change_set} and send it back to its author:"))
        layout.addWidget(self.reason)
        layout.addWidget(self.buttons)
        self.resize(460, 220)

    def text(self) -> str:
        return self.reason.toPlainText().strip()


class ApproveDialog(QDialog):
    """Approve with a reason kept with the decision (optional), or — when some changes are
    turned down — with the reason they go back to the author for (then required)."""

    def __init__(
        self,
        change_set: str,
        *,
        version: int,
        counts: str,
        turned_down: Sequence[str],
        author: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("approve_dialog")
        self.setWindowTitle(f"Approve {change_set}")
        self.turned_down = list(turned_down)
        if self.turned_down:
            shown = ", ".join(self.turned_down[:8]) + (" …" if len(self.turned_down) > 8 else "")
            question = (
                f"Merge the accepted part of {change_set} as KB version {version}, and return "
                f"{len(self.turned_down)} change(s) to {author} in a new draft: {shown}."
            )
            hint = "Why are these changes turned down? The author reads this (required)."
        else:
            question = f"Approve {change_set} and merge it as KB version {version}? ({counts})."
            hint = "Reason or remark, kept with the approval (optional)."
        self.reason = QPlainTextEdit()
        self.reason.setObjectName("reason")
        self.reason.setPlaceholderText(hint)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText("Approve and return the rest" if self.turned_down else "Approve and merge")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.reason.textChanged.connect(self._check)
        label = QLabel(question)
        label.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(label)
        layout.addWidget(self.reason)
        layout.addWidget(self.buttons)
        self.resize(520, 240)
        self._check()

    def _check(self) -> None:
        needed = bool(self.turned_down) and not self.text()
        self.ok.setEnabled(not needed)
        self.ok.setToolTip("Changes turned down need a reason" if needed else "")

    def text(self) -> str:
        return self.reason.toPlainText().strip()


def thread_html(comments: Sequence[CommentRow], tints: Mapping[str, str]) -> str:
    """A change set's conversation, oldest first: who, when, on what, and what they said."""
    if not comments:
        return f'<p style="color:{tints["muted"]}">No comments yet.</p>'
    words = {"approve": "approved", "reject": "rejected", "return": "turned down"}
    out = []
    for note in comments:
        on = f" on <b>{_html(note.record)}</b>" if note.record else ""
        kind = words.get(note.kind.value)
        tag = f' <span style="color:{tints["muted"]}">({kind})</span>' if kind else ""
        body = _html(note.body).replace("\n", "<br>")
        out.append(
            f"<p><b>{_html(note.author)}</b>{on}{tag} "
            f'<span style="color:{tints["muted"]}">{note.at.replace("T", " ")}</span><br>'
            f"{body}</p>"
        )
    return "".join(out)


# --- the view --------------------------------------------------------------------------------


def _table(name: str, model: QAbstractTableModel) -> QTableView:
    table = QTableView()
    table.setObjectName(name)
    table.setModel(model)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setWordWrap(False)
    table.verticalHeader().hide()
    table.horizontalHeader().setHighlightSections(False)
    return table


class ChangeSetView(QWidget):
    """A change set side by side, its actions, and its effects on the saved test patients."""

    acted = Signal(object)  # ActionOutcome, after a successful action
    conflicted = Signal()  # an approval met changes merged since: the main line moved
    merged = Signal(int)  # the KB version an approval made
    open_record = Signal(str)
    loaded = Signal(str)  # the change set now shown
    effects_loaded = Signal(str)

    commented = Signal(str)  # the change set whose thread gained a comment

    def __init__(
        self,
        kb: Kb,
        actor: Actor | None,
        workers: Workers,
        parent: QWidget | None = None,
        *,
        patient_dir: Path = PATIENT_DIR,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("change_set_view")
        self.kb = kb
        self.actor = actor
        self.workers = workers
        self.patient_dir = patient_dir
        self.detail: ChangeSetDetail | None = None
        self.key: str | None = None
        self._task: Task | None = None
        self._effects_task: Task | None = None
        self._patients: list[Patient] | None = None

        self.heading = QLabel("Select a change set to review it.")
        self.heading.setObjectName("change_set_heading")
        self.heading.setWordWrap(True)
        self.heading.setTextFormat(Qt.TextFormat.RichText)
        self.unchanged = QCheckBox("Show unchanged fields")
        self.unchanged.setObjectName("show_unchanged")
        self.unchanged.toggled.connect(lambda _on: self._show_rows())
        # A tool bar, not a row of buttons: on a narrow window the actions fold into its
        # overflow menu instead of forcing the whole main window wider.
        self.toolbar = QToolBar()
        self.toolbar.setObjectName("change_set_actions")
        self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toolbar.addWidget(self.unchanged)
        spacer = QWidget()
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.toolbar.addWidget(spacer)
        self.actions_by_name: dict[str, QAction] = {}
        self.buttons: dict[str, QToolButton] = {}
        for action, text, icon_name in (
            ("submit", "Submit", "submit"),
            ("withdraw", "Withdraw", "undo"),
            ("rebase", "Rebase", "reload"),
            ("reject", "Reject…", "delete"),
            ("approve", "Approve and merge", "approval"),
        ):
            act = QAction(icon(icon_name), text, self)
            act.setObjectName(action)
            act.setEnabled(False)
            act.triggered.connect(lambda _checked=False, a=action: self.request(a))
            self.toolbar.addAction(act)
            button = self.toolbar.widgetForAction(act)
            assert isinstance(button, QToolButton)
            button.setObjectName(f"{action}_button")
            self.actions_by_name[action] = act
            self.buttons[action] = button

        self.message = QLabel()
        self.message.setObjectName("change_set_message")
        self.message.setWordWrap(True)
        self.message.hide()
        self.issues_model = PlainTableModel(("Record", "Field", "Message"), self)
        self.issues = _table("issues", self.issues_model)
        self.issues.horizontalHeader().setStretchLastSection(True)
        self.issues.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.issues_model.modelReset.connect(self._size_issue_columns)
        self.issues_box = QGroupBox()
        self.issues_box.setObjectName("issues_box")
        issues_layout = QVBoxLayout(self.issues_box)
        issues_layout.addWidget(self.issues)
        self.issues_hint = QLabel()
        self.issues_hint.setObjectName("issues_hint")
        self.issues_hint.setWordWrap(True)
        issues_layout.addWidget(self.issues_hint)
        self.issues_box.hide()

        self.model = ChangeSetDiffModel(self)
        self.model.decisions_changed.connect(self._update_buttons)
        self.table = _table("change_set_diff", self.model)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setWordWrap(True)
        self.table.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.table.selectionModel().currentRowChanged.connect(self._show_field_diff)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        header.resizeSection(0, 170)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        self.table.doubleClicked.connect(self._open)

        self.effects_model = EffectsModel(self)
        self.effects = _table("effects", self.effects_model)
        self.effects.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        effects_header = self.effects.horizontalHeader()
        effects_header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        for column in (1, 2, 3):
            effects_header.setSectionResizeMode(column, QHeaderView.ResizeMode.Stretch)
        self.effects_status = QLabel()
        self.effects_status.setObjectName("effects_status")
        self.effects_status.setWordWrap(True)
        effects_box = QGroupBox("Effects on saved test patients")
        effects_box.setObjectName("effects_box")
        effects_layout = QVBoxLayout(effects_box)
        effects_layout.addWidget(self.effects_status)
        effects_layout.addWidget(self.effects, 1)

        # The selected field, before and after as one wrapped text diffed word by word.
        self.field_diff = QTextBrowser()
        self.field_diff.setObjectName("field_diff")
        self.field_diff.setOpenLinks(False)
        self.field_diff.setPlaceholderText(
            "Select a field to see what changed in it, word by word."
        )

        self.thread = QTextBrowser()
        self.thread.setObjectName("comment_thread")
        self.comment_on = QComboBox()
        self.comment_on.setObjectName("comment_on")
        self.comment_text = QPlainTextEdit()
        self.comment_text.setObjectName("comment_text")
        self.comment_text.setPlaceholderText("Add to the conversation…")
        self.comment_text.setFixedHeight(self.fontMetrics().height() * 3 + 12)
        self.comment_button = QPushButton("Comment")
        self.comment_button.setObjectName("comment_button")
        self.comment_button.clicked.connect(self.add_comment)
        self.comment_text.textChanged.connect(self._update_comment_button)
        conversation = QWidget()
        conversation.setObjectName("conversation")
        conversation_layout = QVBoxLayout(conversation)
        conversation_layout.addWidget(self.thread, 1)
        on_row = QToolBar()
        on_row.addWidget(QLabel("On: "))
        on_row.addWidget(self.comment_on)
        conversation_layout.addWidget(on_row)
        conversation_layout.addWidget(self.comment_text)
        conversation_layout.addWidget(self.comment_button, 0, Qt.AlignmentFlag.AlignRight)

        self.tabs = QTabWidget()
        self.tabs.setObjectName("change_set_tabs")
        self.tabs.addTab(self.field_diff, "Field, word by word")
        self.tabs.addTab(conversation, "Conversation")
        self.tabs.addTab(effects_box, "Effects on saved test patients")

        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(self.tabs)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([360, 220])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.heading)
        layout.addWidget(self.toolbar)
        layout.addWidget(self.message)
        layout.addWidget(self.issues_box)
        layout.addWidget(self.splitter, 1)
        self._apply_palette()

    # --- loading ------------------------------------------------------------------------------

    def load(self, key: str) -> None:
        """Show change set `key` (read off the UI thread)."""
        self.key = key
        kb = self.kb

        def work(_progress: Callable[[int, int], None], _cancel: CancelToken) -> ChangeSetDetail:
            with kb.read() as session:
                return load_change_set_detail(session, key)

        self.heading.setText(f"Loading {key}…")
        task = self.workers.read(f"change set {key}", work)
        task.finished.connect(lambda detail, t=task: self._arrived(t, detail))
        task.failed.connect(lambda failure, t=task: self._failed(t, failure))
        self._task = task

    def clear(self) -> None:
        self.key = None
        self.detail = None
        self.heading.setText("Select a change set to review it.")
        self.model.set_rows([], None)
        self._show_thread()
        self.effects_model.set_effects([])
        self.effects_status.clear()
        self._hide_issues()
        self._update_buttons()

    def _arrived(self, task: Task, detail: ChangeSetDetail) -> None:
        if task is not self._task:
            return  # another change set was picked while this one loaded
        same = self.detail is not None and self.detail.change_set.id == detail.change_set.id
        self.detail = detail
        if not same:
            self.model.turned_down = set()
        self._show_heading()
        self._show_rows()
        self._show_thread()
        if not same:
            self._hide_issues()
            self.field_diff.clear()
        self._update_buttons()
        self._load_effects()
        emit(self.loaded, detail.change_set.human_id)

    def _failed(self, task: Task, failure: TaskFailure) -> None:
        if task is self._task:
            self.detail = None
            self.heading.setText(f"Could not read {self.key}: {failure.message}")
            self.model.set_rows([], None)
            self._update_buttons()

    def _show_heading(self) -> None:
        assert self.detail is not None
        cs = self.detail.change_set
        status = cs.status.value
        if cs.status is ChangeSetStatus.MERGED and cs.merged_version:
            status = f"merged as version {cs.merged_version}"
        by = f"by {_html(cs.author)}"
        if cs.submitted_at:
            by += f", submitted {cs.submitted_at.replace('T', ' ')}"
        base = f"based on version {cs.base_version}"
        moved = self.detail.current_version != cs.base_version
        if moved and cs.status is not ChangeSetStatus.MERGED:
            base += f" (main line now {self.detail.current_version})"
        parts = [
            f"<b>{cs.human_id}</b> “{_html(cs.title)}” — <b>{status}</b>",
            by,
            change_counts(cs.changes),
            base,
        ]
        text = " · ".join(parts)
        if len(cs.changes) > MAX_SHOWN_CHANGES:
            text += (
                f"<br>Showing the first {MAX_SHOWN_CHANGES:,} of {len(cs.changes):,} changes "
                "(the effects below count them all)."
            )
        if cs.decided_by:
            when = (cs.decided_at or "").replace("T", " ")
            text += f"<br>Decided by {_html(cs.decided_by)} {when}"
        if cs.reason:
            text += f"<br>Reason: {_html(cs.reason)}"
        self.heading.setText(text)

    def _show_rows(self) -> None:
        if self.detail is None:
            return
        cs = self.detail.change_set
        rows = diff_rows(self.detail, unchanged=self.unchanged.isChecked())
        self.model.set_rows(
            rows,
            cs.base_version,
            status=cs.status,
            merged_version=cs.merged_version,
            decidable=refusals(cs, self.actor).get("approve") is None,
        )
        self.table.clearSpans()
        sized = 0
        width = max(self.table.columnWidth(1), 200)
        chars = max(width // max(self.fontMetrics().averageCharWidth(), 1), 20)
        for number, row in enumerate(rows):
            if row.kind == "header":
                self.table.setSpan(number, 0, 1, 3)
            elif sized < _SIZED_ROWS and max(len(row.before), len(row.after)) > chars:
                # Long text wraps in a taller row instead of being cut.
                self.table.resizeRowToContents(number)
                sized += 1

    def _show_field_diff(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not current.isValid() or not 0 <= current.row() < len(self.model.rows):
            self.field_diff.clear()
            return
        row = self.model.rows[current.row()]
        tints = self.model.colours
        title = f"<p><b>{_html(row.human_id)}</b>"
        if row.kind == "header":
            self.field_diff.setHtml(f"{title} — {_html(row.label)}</p>")
            return
        title += f" · {_html(row.label)}</p>"
        if row.kind == "changed":
            body = word_diff_html(row.before, row.after, tints)
        elif row.kind == "deleted":
            body = word_diff_html(row.before, "", tints)
        elif row.kind == "created":
            body = word_diff_html("", row.after, tints)
        else:
            body = _html(row.after)
        self.field_diff.setHtml(f'{title}<p style="white-space:pre-wrap">{body}</p>')

    # --- conversation -------------------------------------------------------------------------

    def _show_thread(self) -> None:
        comments = self.detail.comments if self.detail else ()
        self.thread.setHtml(thread_html(comments, self.model.colours))
        self.thread.verticalScrollBar().setValue(self.thread.verticalScrollBar().maximum())
        chosen = self.comment_on.currentData()
        self.comment_on.clear()
        self.comment_on.addItem("the whole change set", None)
        if self.detail is not None:
            for human_id in dict.fromkeys(
                [c.human_id for c in self.detail.change_set.changes[:MAX_SHOWN_CHANGES]]
                + [c.record for c in comments if c.record]
            ):
                self.comment_on.addItem(self._record(human_id), human_id)
        found = self.comment_on.findData(chosen)
        self.comment_on.setCurrentIndex(max(found, 0))
        count = len(comments)
        self.tabs.setTabText(1, f"Conversation ({count})" if count else "Conversation")
        self._update_comment_button()

    def _update_comment_button(self) -> None:
        reason = None
        if self.actor is None:
            reason = "sign in first"
        elif self.detail is None:
            reason = "no change set shown"
        else:
            reason = why_not(self.actor, Permission.EDIT)
        self.comment_button.setEnabled(
            reason is None and bool(self.comment_text.toPlainText().strip())
        )
        self.comment_text.setEnabled(reason is None)
        self.comment_button.setToolTip(reason or "Add this to the change set's conversation")

    def add_comment(self) -> None:
        """Post the comment box's text to the thread (of the change chosen in "On:")."""
        if self.detail is None or self.actor is None:
            return
        body = self.comment_text.toPlainText().strip()
        if not body:
            return
        kb, actor, key = self.kb, self.actor, self.detail.change_set.id
        record = self.comment_on.currentData()
        name = self.detail.change_set.human_id

        def work(_progress: Callable[[int, int], None], _cancel: CancelToken) -> CommentRow:
            with kb.unit_of_work() as session:
                return add_comment(
                    session, actor=actor, change_set_id=key, body=body, record=record
                )

        def done(_note: CommentRow) -> None:
            self.comment_text.clear()
            emit(self.commented, name)
            if self.key:
                self.load(self.key)

        self.comment_button.setEnabled(False)
        self.workers.write(f"comment on {name}", work, on_result=done, on_error=self._refused)

    # --- effects ------------------------------------------------------------------------------

    def _load_effects(self) -> None:
        if self.detail is None:
            return
        kb, key, folder = self.kb, self.detail.change_set.id, self.patient_dir
        cached = self._patients

        def work(
            progress: Callable[[int, int], None], cancel: CancelToken
        ) -> tuple[list[Patient], list[PatientEffect]]:
            patients = cached if cached is not None else load_patients(folder)
            cancel.check()
            if not patients:
                return patients, []
            with kb.read() as session:
                return patients, match_effects(session, key, patients, progress=progress)

        if self._effects_task is not None and not self._effects_task.is_done:
            self._effects_task.cancel()
        self.effects_status.setText("Matching the saved test patients before and after…")
        task = self.workers.read(f"effects of {key}", work)
        task.finished.connect(lambda result, t=task: self._effects_arrived(t, result))
        task.failed.connect(lambda failure, t=task: self._effects_failed(t, failure))
        self._effects_task = task

    def _effects_arrived(
        self, task: Task, result: tuple[list[Patient], list[PatientEffect]]
    ) -> None:
        if task is not self._effects_task or self.detail is None:
            return
        patients, effects = result
        self._patients = patients
        self.effects_model.set_effects(effects)
        affected = sum(1 for effect in effects if effect.affected)
        if not patients:
            self.effects_status.setText(f"No saved test patients in {self.patient_dir}.")
        elif affected:
            self.effects_status.setText(
                f"{affected} of {len(effects)} saved test patients would match differently."
            )
        else:
            self.effects_status.setText(
                f"None of the {len(effects)} saved test patients would match differently."
            )
        emit(self.effects_loaded, self.detail.change_set.human_id)

    def _effects_failed(self, task: Task, failure: TaskFailure) -> None:
        if task is self._effects_task:
            self.effects_model.set_effects([])
            self.effects_status.setText(f"Effects could not be computed: {failure.message}")

    # --- actions ------------------------------------------------------------------------------

    def _update_buttons(self) -> None:
        if self.detail is None:
            for act in self.actions_by_name.values():
                act.setEnabled(False)
                act.setToolTip(act.text())
            return
        cs = self.detail.change_set
        tips = {
            "submit": f"Send {cs.human_id} to a reviewer",
            "withdraw": f"Take {cs.human_id} back into draft",
            "rebase": f"Move {cs.human_id} onto the newest KB version, keeping what does "
            "not conflict",
            "reject": f"Send {cs.human_id} back to {cs.author} with a reason",
            "approve": f"Merge {cs.human_id} into the KB as a new version",
        }
        refused = refusals(cs, self.actor)
        down = len(self.model.turned_down)
        approve = self.actions_by_name["approve"]
        if down and refused["approve"] is None:
            kept = len(self.model.changes_shown()) - down
            approve.setText(f"Approve {kept}, return {down}…")
            tips["approve"] = (
                f"Merge the ticked changes; the {down} unticked go back to {cs.author} in a new "
                "draft with your reason"
            )
            if kept == 0 or len(cs.changes) > MAX_SHOWN_CHANGES:
                refused["approve"] = (
                    "every change is turned down: reject the change set instead"
                    if kept == 0
                    else "too many changes to decide one by one here: use kb changes approve "
                    "--reject-change"
                )
        else:
            approve.setText("Approve and merge")
        for action, reason in refused.items():
            act = self.actions_by_name[action]
            act.setEnabled(reason is None)
            act.setToolTip(reason or tips[action])

    def request(self, action: str, *, reason: str | None = None, confirm: bool = True) -> None:
        """Take `action` on the change set shown (asking first where it matters)."""
        if self.detail is None or self.actor is None:
            return
        cs = self.detail.change_set
        if refusals(cs, self.actor).get(action) is not None:
            return
        if action == "reject" and reason is None:
            dialog = RejectDialog(cs.human_id, self)
            if not dialog.exec() or not dialog.text():
                return
            reason = dialog.text()
        turned_down = sorted(self.model.turned_down) if action == "approve" else []
        if action == "approve" and confirm:
            dialog = ApproveDialog(
                cs.human_id,
                version=self.detail.current_version + 1,
                counts=change_counts(cs.changes),
                turned_down=turned_down,
                author=cs.author,
                parent=self,
            )
            if not dialog.exec():
                return
            reason = dialog.text()
        if turned_down and not (reason or "").strip():
            return  # kb would refuse: a change turned down needs a reason
        kb, actor, key, text = self.kb, self.actor, cs.id, reason or ""
        returned = dict.fromkeys(turned_down, text) if turned_down else None

        def work(_progress: Callable[[int, int], None], _cancel: CancelToken) -> ActionOutcome:
            return run_action(kb, actor, action, key, text, returned=returned)

        for act in self.actions_by_name.values():
            act.setEnabled(False)
        self._show_message(f"{action.capitalize()}: working…")
        self.workers.write(
            f"{action} {cs.human_id}", work, on_result=self._acted, on_error=self._refused
        )

    def _acted(self, outcome: ActionOutcome) -> None:
        if self.detail is None:
            return
        name = self.detail.change_set.human_id
        if outcome.conflicts:
            self._show_conflicts(outcome)
            emit(self.conflicted)
        elif outcome.problems:
            self._show_problems(outcome)
        else:
            self._hide_issues()
            self._show_message(_done_text(name, outcome))
            emit(self.acted, outcome)
            if outcome.merge is not None:
                emit(self.merged, outcome.merge.version)
            if outcome.rebase is not None and outcome.rebase.conflicts:
                self._show_rebase_conflicts(outcome.rebase)
        if self.key:
            self.load(self.key)

    def _refused(self, failure: TaskFailure) -> None:
        self._show_message(f"Not done: {failure.message}", error=True)
        self._update_buttons()

    def _show_message(self, text: str, *, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet(f"color: {ERROR_COLOUR};" if error else "")
        self.message.show()

    def _hide_issues(self) -> None:
        self.issues_box.hide()
        self.issues_model.set_rows([])
        self.message.hide()

    def _show_conflicts(self, outcome: ActionOutcome) -> None:
        assert self.detail is not None
        cs = self.detail.change_set
        self.issues_model.set_rows(
            ((self._record(c.human_id), c.field, c.base, c.theirs, c.ours)
             for c in outcome.conflicts),
            headers=CONFLICT_HEADERS,
        )  # fmt: skip
        self.issues_box.setTitle(
            f"{len(outcome.conflicts)} conflict(s) with changes merged since version "
            f"{cs.base_version} — nothing was written"
        )
        if self.actor is not None and self.actor.name == cs.author:
            hint = (
                f"Rebase {cs.human_id}: withdraw it, press Rebase to move it onto the newest "
                "version (conflicting fields are dropped for you to decide again), then submit "
                "it again."
            )
        else:
            hint = (
                f"Suggest a rebase: {cs.author} withdraws {cs.human_id}, rebases it onto the "
                "newest version and submits it again."
            )
        self.issues_hint.setText(hint)
        self.issues_hint.show()
        self.issues_box.show()
        self._show_message(
            f"{cs.human_id} was not merged: it conflicts with the main line.", error=True
        )

    def _show_problems(self, outcome: ActionOutcome) -> None:
        assert self.detail is not None
        self.issues_model.set_rows(
            (
                (self._record(p.record), p.field, _problem_text(p.message, p.expected))
                for p in outcome.problems
            ),
            headers=PROBLEM_HEADERS,
        )
        self.issues_box.setTitle(
            f"{len(outcome.problems)} validation problem(s) — nothing was written"
        )
        self.issues_hint.setText("Fix these in the draft (edit the records named), then try again.")
        self.issues_hint.show()
        self.issues_box.show()
        self._show_message(
            f"{self.detail.change_set.human_id} was not {_past(outcome.action)}: validation "
            "found problems.",
            error=True,
        )

    def _show_rebase_conflicts(self, result: RebaseResult) -> None:
        self.issues_model.set_rows(
            ((self._record(c.human_id), c.field, c.base, c.theirs, c.ours)
             for c in result.conflicts),
            headers=(*CONFLICT_HEADERS[:4], "Ours (dropped)"),
        )  # fmt: skip
        self.issues_box.setTitle(f"{len(result.conflicts)} conflicting field(s) were dropped")
        self.issues_hint.setText("Edit these records again if your change still applies.")
        self.issues_box.show()

    def _size_issue_columns(self) -> None:
        header = self.issues.horizontalHeader()
        widths = (280, 120, 200, 200) if self.issues_model.columnCount() == 5 else (280, 120)
        for column, width in enumerate(widths):
            header.resizeSection(column, width)
        # As tall as its rows (up to eight), so the change set itself keeps the room.
        rows = min(max(self.issues_model.rowCount(), 1), 8)
        height = self.issues.verticalHeader().defaultSectionSize()
        frame = 2 * self.issues.frameWidth()
        self.issues.setFixedHeight(header.sizeHint().height() + rows * height + frame + 2)

    def _record(self, human_id: str) -> str:
        title = self.detail.titles.get(human_id) if self.detail else None
        return f"{human_id} — {title}" if title else human_id

    def _open(self, index: QModelIndex) -> None:
        human_id = index.data(HUMAN_ID_ROLE)
        if not human_id or self.detail is None:
            return
        cs = self.detail.change_set
        unmerged = {c.human_id for c in cs.changes if c.op is ChangeOp.CREATE}
        if cs.status is ChangeSetStatus.MERGED or human_id not in unmerged:
            # A record this change set creates exists only in it until merged: nothing to open.
            emit(self.open_record, str(human_id))

    # --- palette ------------------------------------------------------------------------------

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self._apply_palette()

    def _apply_palette(self) -> None:
        dark = is_dark(self.palette())
        self.model.set_dark(dark)
        if self.detail is not None:
            self._show_thread()
        self.effects_model.set_dark(dark)
        link = self.palette().color(QPalette.ColorRole.Link).name()
        self.heading.setStyleSheet(f"QLabel a {{ color: {link}; }}")


def _past(action: str) -> str:
    return _PAST.get(action, action)


def _done_text(name: str, outcome: ActionOutcome) -> str:
    if outcome.merge is not None:
        merge = outcome.merge
        text = (
            f"{name} approved and merged as KB version {merge.version} ({merge.updated} changed, "
            f"{merge.created} new, {merge.deleted} deleted)."
        )
        if merge.returned:
            text += f" The changes turned down went back to the author as {merge.returned}."
        return text
    if outcome.rebase is not None:
        rebase = outcome.rebase
        return (
            f"{name} rebased from version {rebase.old_base} onto {rebase.new_base}: "
            f"{rebase.kept} change(s) kept, {len(rebase.conflicts)} conflicting field(s) dropped."
        )
    return f"{name} {_past(outcome.action)}."


def _problem_text(message: str, expected: str) -> str:
    return f"{message}; expected {expected}" if expected else message


def _html(text: str | None) -> str:
    return html.escape(text or "")
