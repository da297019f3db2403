"""The record editor: a form generated from `kb.model.records.SPECS`, checked as the curator types.

Each field is checked with kb's own `coerce` (and, for thresholds, `kb.model.metrics.check_value`),
so the message beside a field is the one kb would give on saving — the GUI adds no rules of its
own. Errors kb reports on saving (a field kb names, or a cross-field rule) land beside that
field, or in the banner.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from curator.choices import TUMOUR_KEY, ChoiceStore
from curator.expression_editor import ExpressionEditor
from curator.expression_text import LeafNames
from curator.fields import (
    BoolField,
    DateField,
    EnumField,
    FieldWidget,
    IntField,
    LinesField,
    LongTextField,
    RefField,
    StringsField,
    TextField,
    ThresholdValueField,
)
from curator.icons import icon
from curator.qt_compat import emit
from curator.record_detail import RecordDetail
from curator.record_view import field_label, type_label
from curator.theme import ERROR_COLOUR
from curator.workers import TaskFailure
from kb.model.enums import Operator, RecordType
from kb.model.metrics import METRICS, Metric, ThresholdValueError, check_value
from kb.model.protein import ProteinChangeError, parse_protein_change
from kb.model.records import SPECS, FieldError, FieldSpec, coerce, marked_keys


@dataclass(frozen=True, slots=True)
class EditRequest:
    """What Save asks for: a new record (human_id None) or new values for some fields."""

    rtype: RecordType
    human_id: str | None
    fields: Mapping[str, Any] = field(default_factory=dict)


def field_message(exc: FieldError) -> str:
    """A FieldError in the words shown beside its field (the field is the row's label)."""
    if exc.problem.startswith("a value is required"):
        return f"a value is required; expected {exc.expected}"
    return f"{exc.problem} {exc.value!r}; expected {exc.expected}"


def _blank(value: Any) -> bool:
    return value is None or value in ("", [], {})


def same_value(a: Any, b: Any) -> bool:
    """Whether a widget's value equals a stored one (blank forms and int-as-text compare equal)."""
    if _blank(a) and _blank(b):
        return True
    if isinstance(a, int | str) and isinstance(b, int | str) and not isinstance(a, bool):
        return str(a).strip() == str(b).strip()
    return bool(a == b)


# List fields whose items may hold commas: edited one item a line.
LINE_LISTS = frozenset({"levels", "entries"})


def widget_for(
    spec: FieldSpec, store: ChoiceStore, rtype: RecordType | None, leaf_names: LeafNames
) -> FieldWidget | ExpressionEditor:
    """The input widget for one field of `rtype` (shared by the editor and "Set field…")."""
    match spec.kind:
        case "enum":
            return EnumField(spec)
        case "bool":
            return BoolField(spec)
        case "int":
            return IntField(spec)
        case "date":
            return DateField(spec)
        case "text":
            return LongTextField(spec)
        case "ref" | "refs":
            assert spec.ref is not None
            return RefField(spec, store, spec.ref.value)
        case "codes":
            return RefField(spec, store, TUMOUR_KEY)
        case "strings" if spec.name in LINE_LISTS:
            return LinesField(spec)
        case "strings":
            return StringsField(spec)
        case "tree":
            editor = ExpressionEditor(store)
            editor.set_names(leaf_names)
            return editor
    if rtype is RecordType.THRESHOLD and spec.name == "value":
        return ThresholdValueField(spec)
    return TextField(spec)


class RecordEditor(QWidget):
    save_requested = Signal(object)  # EditRequest
    cancel_requested = Signal()
    validity_changed = Signal(bool)

    def __init__(self, store: ChoiceStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("record_editor")
        self.store = store
        self.rtype: RecordType | None = None
        self.human_id: str | None = None
        self.original: dict[str, Any] = {}
        self.widgets: dict[str, FieldWidget | ExpressionEditor] = {}
        self.messages: dict[str, QLabel] = {}
        self.hints: dict[str, QLabel] = {}
        self._server_errors: dict[str, str] = {}
        self._busy = False
        self._valid = False
        self._leaf_names = LeafNames()

        self.heading = QLabel()
        self.heading.setObjectName("editor_heading")
        self.heading.setWordWrap(True)
        font = self.heading.font()
        font.setPointSizeF(font.pointSizeF() * 1.15)
        font.setBold(True)
        self.heading.setFont(font)
        self.banner = QLabel()
        self.banner.setObjectName("editor_banner")
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet(f"color: {ERROR_COLOUR};")
        self.banner.hide()
        self.scroller = QScrollArea()
        self.scroller.setWidgetResizable(True)
        self.scroller.setFrameShape(QScrollArea.Shape.NoFrame)
        self.buttons = QDialogButtonBox()
        self.save_button = QPushButton(icon("save"), "Save to draft")
        self.save_button.setObjectName("save_button")
        self.save_button.setToolTip("Stage these values in your draft change set (Ctrl+S)")
        self.cancel_button = QPushButton("Cancel")
        self.buttons.addButton(self.save_button, QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.RejectRole)
        self.save_button.clicked.connect(self.request_save)
        self.cancel_button.clicked.connect(self.cancel_requested)
        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.banner)
        layout.addWidget(self.scroller, 1)
        layout.addWidget(self.buttons)

    # --- starting -------------------------------------------------------------------------

    def start_new(self, rtype: RecordType, fields: Mapping[str, Any] | None = None) -> None:
        self._build(rtype, None, dict(fields or {}))
        self.heading.setText(f"New {type_label(rtype)}")

    def start_edit(self, detail: RecordDetail, *, cloned_from: str | None = None) -> None:
        """Edit a record; `cloned_from` names the record a new one was copied from."""
        self._build(detail.rtype, detail.human_id, dict(detail.fields))
        title = detail.title if detail.title and detail.title != detail.human_id else ""
        if detail.new:
            # Only the draft has it: "Edit AS-00128 — AS-00128" said nothing.
            heading = f"New {type_label(detail.rtype)} {detail.human_id}"
            if cloned_from:
                heading += f" (clone of {cloned_from})"
        else:
            heading = f"Edit {detail.human_id}"
        self.heading.setText(f"{heading} — {title}" if title else heading)
        # A clone's unique key still carries its source's value, marked: ask for its own.
        kind = type_label(detail.rtype).lower()
        for name in marked_keys(detail.rtype, detail.fields):
            label = field_label(name)
            if not label[:2].isupper():  # "Symbol" reads "symbol"; "HGNC id" stays
                label = label[:1].lower() + label[1:]
            self._server_errors[name] = (
                f"a copy's placeholder: no two {kind}s share a {label}; give this one its own"
            )
        if self._server_errors:
            self.revalidate()

    def set_leaf_names(self, names: LeafNames) -> None:
        self._leaf_names = names
        for widget in self.widgets.values():
            if isinstance(widget, ExpressionEditor):
                widget.set_names(names)

    def _widget_for(self, spec: FieldSpec) -> FieldWidget | ExpressionEditor:
        return widget_for(spec, self.store, self.rtype, self._leaf_names)

    def _build(self, rtype: RecordType, human_id: str | None, values: dict[str, Any]) -> None:
        self.rtype, self.human_id = rtype, human_id
        self.original = dict(values) if human_id else {}
        self.widgets, self.messages, self.hints, self._server_errors = {}, {}, {}, {}
        self.banner.hide()
        form_widget = QWidget()
        form = QFormLayout(form_widget)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        for spec in SPECS[rtype]:
            widget = self._widget_for(spec)
            if spec.name in values:
                widget.set_value(values[spec.name])
            message = QLabel()
            message.setObjectName(f"message_{spec.name}")
            message.setWordWrap(True)
            message.setStyleSheet(f"color: {ERROR_COLOUR};")
            message.hide()
            hint = QLabel()
            hint.setObjectName(f"hint_{spec.name}")
            hint.setWordWrap(True)
            hint.setEnabled(False)
            hint.hide()
            cell = QWidget()
            box = QVBoxLayout(cell)
            box.setContentsMargins(0, 0, 0, 0)
            box.setSpacing(2)
            box.addWidget(widget)
            box.addWidget(hint)
            box.addWidget(message)
            label = QLabel(field_label(spec.name) + (" *" if spec.required else ""))
            label.setToolTip(
                (spec.help + "\n" if spec.help else "") + f"Expected: {spec.expected()}"
            )
            if spec.kind == "tree":
                # The tree needs the pane's whole width: its label goes above it.
                form.addRow(label)
                form.addRow(cell)
            else:
                form.addRow(label, cell)
            self.widgets[spec.name] = widget
            self.messages[spec.name] = message
            self.hints[spec.name] = hint
            widget.changed.connect(lambda name=spec.name: self._field_changed(name))
        self.scroller.setWidget(form_widget)
        if rtype is RecordType.THRESHOLD:
            self._configure_threshold(initial=True)
        self.revalidate()
        first = next(iter(self.widgets.values()), None)
        if isinstance(first, FieldWidget):
            first.focus_widget().setFocus()

    # --- thresholds ---------------------------------------------------------------------------

    def _metric(self) -> Metric | None:
        widget = self.widgets.get("metric")
        value = widget.value() if widget is not None else None
        try:
            return Metric(str(value)) if value else None
        except ValueError:
            return None

    def _configure_threshold(self, *, initial: bool = False) -> None:
        metric = self._metric()
        operator = self.widgets["operator"].value()
        value_widget = self.widgets["value"]
        if isinstance(value_widget, ThresholdValueField):
            value_widget.configure(metric, str(operator) if operator else None)
        unit = self.widgets["unit"]
        if isinstance(unit, TextField):
            # The unit belongs to the metric (kb refuses any other): set it, don't ask for it.
            expected = METRICS[metric].unit if metric is not None else None
            if not initial or not unit.value():
                unit.set_value(expected or "")
            unit.edit.setEnabled(False)
            unit.edit.setToolTip("Set by the metric")
            self._show_hint(
                "metric",
                f"{METRICS[metric].label}: {METRICS[metric].describe_values()}"
                + (f"; unit {expected}" if expected else "; no unit")
                if metric is not None
                else "",
            )

    # --- validation -------------------------------------------------------------------------

    @property
    def label(self) -> str:
        if self.rtype is None:
            return "record"
        return f"{self.rtype} {self.human_id}" if self.human_id else f"new {self.rtype}"

    def check_field(self, name: str) -> str | None:
        """The message for field `name`, or None if kb would accept it."""
        assert self.rtype is not None
        if name in self._server_errors:
            return self._server_errors[name]
        spec = next(s for s in SPECS[self.rtype] if s.name == name)
        widget = self.widgets[name]
        if isinstance(widget, ExpressionEditor):
            return widget.problem()
        value = widget.value()
        try:
            coerce(self.rtype, spec, value, record=self.label)
        except FieldError as exc:
            return field_message(exc)
        if isinstance(widget, RefField):
            unknown = widget.unknown()
            if unknown:
                if widget.key == TUMOUR_KEY:
                    return f"not in the loaded OncoTree: {', '.join(unknown)}"
                return f"no {spec.ref} {', '.join(unknown)}; expected {spec.expected()}"
        if self.rtype is RecordType.THRESHOLD and name == "value":
            return self._check_threshold_value()
        return None

    def _check_threshold_value(self) -> str | None:
        metric = self._metric()
        operator = self.widgets["operator"].value()
        if metric is None or not operator:
            return None
        try:
            unit = self.widgets["unit"].value()
            check_value(
                metric, Operator(str(operator)), str(self.widgets["value"].value() or ""),
                str(unit) if unit else None,
            )  # fmt: skip
        except ThresholdValueError as exc:
            return f"{exc.message}; expected {exc.expected}"
        return None

    def _show_hint(self, name: str, text: str) -> None:
        hint = self.hints.get(name)
        if hint is not None:
            hint.setText(text)
            hint.setVisible(bool(text))

    def _protein_hint(self) -> None:
        widget = self.widgets.get("protein_change")
        if widget is None:
            return
        text = str(widget.value() or "")
        try:
            parsed = parse_protein_change(text) if text else None
        except ProteinChangeError:
            parsed = None
        self._show_hint(
            "protein_change", f"stored as {parsed.hgvs} (shown as {parsed.short})" if parsed else ""
        )

    def _field_changed(self, name: str) -> None:
        self._server_errors.pop(name, None)
        if self.rtype is RecordType.THRESHOLD and name in ("metric", "operator"):
            self._configure_threshold()
        self.revalidate()

    def revalidate(self) -> None:
        if self.rtype is None:
            return
        self._protein_hint()
        for name, label in self.messages.items():
            message = self.check_field(name)
            label.setText(message or "")
            label.setVisible(bool(message))
        expression = self.widgets.get("tree")
        if isinstance(expression, ExpressionEditor):
            self._show_hint("tree", "")
        self._update_save()

    def errors(self) -> dict[str, str]:
        """Messages of the fields that Save would send."""
        sending = set(self.pending_fields()) if self.human_id else set(self.widgets)
        out = {}
        for name in self.widgets:
            text = self.messages[name].text()
            if text and (name in sending or name in self._server_errors):
                out[name] = text
        return out

    def pending_fields(self) -> dict[str, Any]:
        """New: every non-blank field. Edit: the fields whose value differs from the record's."""
        values = {name: widget.value() for name, widget in self.widgets.items()}
        if self.human_id is None:
            return {name: value for name, value in values.items() if not _blank(value)}
        return {
            name: value
            for name, value in values.items()
            if not same_value(value, self.original.get(name))
        }

    def can_save(self) -> bool:
        if self.rtype is None or self._busy:
            return False
        if self.human_id is not None and not self.pending_fields():
            return False
        return not self.errors()

    def _update_save(self) -> None:
        valid = self.can_save()
        self.save_button.setEnabled(valid)
        if valid != self._valid:
            self._valid = valid
            emit(self.validity_changed, valid)
        errors = self.errors()
        if errors:
            names = ", ".join(field_label(name).lower() for name in errors)
            self.save_button.setToolTip(f"Fix first: {names}")
        elif self.human_id is not None and not self.pending_fields():
            self.save_button.setToolTip("Nothing changed yet")
        else:
            self.save_button.setToolTip("Stage these values in your draft change set (Ctrl+S)")

    # --- saving -------------------------------------------------------------------------------

    def request_save(self) -> None:
        if not self.can_save() or self.rtype is None:
            return
        emit(self.save_requested, EditRequest(self.rtype, self.human_id, self.pending_fields()))

    def set_busy(self, busy: bool) -> None:
        self._busy = busy
        self.save_button.setText("Saving…" if busy else "Save to draft")
        self._update_save()

    def show_failure(self, failure: TaskFailure) -> None:
        """Put kb's refusal where it belongs: beside the field it names, else in the banner."""
        self.set_busy(False)
        if failure.field and failure.field in self.widgets:
            message = failure.message.split(": ", 2)[-1] if ": " in failure.message else ""
            self._server_errors[failure.field] = message or failure.message
            self.revalidate()
            self.banner.setText(f"Not saved: see {field_label(failure.field).lower()}.")
        else:
            self.banner.setText(f"Not saved: {failure.message}")
        self.banner.show()

    def saved(self, human_id: str | None) -> None:
        self.set_busy(False)
        self.banner.hide()
