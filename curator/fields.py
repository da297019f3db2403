"""One input widget per field kind of `kb.model.records.SPECS`, all with the same small interface:
`value()`, `set_value(v)`, and a `changed` signal.

Values are plain data in the form kb's writers accept (ids as text, lists as lists, dates as
ISO text, ints as int when they parse — else the text, so validation can say what is wrong).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from PySide6.QtCore import QDate, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateEdit,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from curator.choices import TUMOUR_KEY, ChoiceStore
from curator.qt_compat import emit
from curator.ref_picker import attach_picker
from kb.model.metrics import METRICS, Metric
from kb.model.records import FieldSpec

_NO_DATE = QDate(1900, 1, 1)


class FieldWidget(QWidget):
    changed = Signal()

    def __init__(self, spec: FieldSpec, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spec = spec
        self.setObjectName(f"field_{spec.name}")
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)

    def value(self) -> Any:
        raise NotImplementedError

    def set_value(self, value: Any) -> None:
        raise NotImplementedError

    def focus_widget(self) -> QWidget:
        return self


class TextField(FieldWidget):
    def __init__(self, spec: FieldSpec, parent: QWidget | None = None) -> None:
        super().__init__(spec, parent)
        self.edit = QLineEdit()
        self.edit.setObjectName(f"edit_{spec.name}")
        self.edit.setPlaceholderText(spec.help or "")
        self.edit.textChanged.connect(self.changed)
        self._layout.addWidget(self.edit)

    def value(self) -> Any:
        return self.edit.text().strip()

    def set_value(self, value: Any) -> None:
        self.edit.setText("" if value is None else str(value))

    def focus_widget(self) -> QWidget:
        return self.edit


class IntField(TextField):
    def value(self) -> Any:
        text = self.edit.text().strip()
        try:
            return int(text)
        except ValueError:
            return text


class LongTextField(FieldWidget):
    def __init__(self, spec: FieldSpec, parent: QWidget | None = None) -> None:
        super().__init__(spec, parent)
        self.edit = QPlainTextEdit()
        self.edit.setObjectName(f"edit_{spec.name}")
        self.edit.setTabChangesFocus(True)
        self.edit.setFixedHeight(64)
        self.edit.textChanged.connect(self.changed)
        self._layout.addWidget(self.edit)

    def value(self) -> Any:
        return self.edit.toPlainText().strip()

    def set_value(self, value: Any) -> None:
        self.edit.setPlainText("" if value is None else str(value))

    def focus_widget(self) -> QWidget:
        return self.edit


class BoolField(FieldWidget):
    def __init__(self, spec: FieldSpec, parent: QWidget | None = None) -> None:
        super().__init__(spec, parent)
        self.box = QCheckBox()
        self.box.setObjectName(f"edit_{spec.name}")
        self.box.toggled.connect(self.changed)
        self._layout.addWidget(self.box)
        self._layout.addStretch(1)

    def value(self) -> Any:
        return self.box.isChecked()

    def set_value(self, value: Any) -> None:
        self.box.setChecked(bool(value))

    def focus_widget(self) -> QWidget:
        return self.box


class EnumField(FieldWidget):
    def __init__(self, spec: FieldSpec, parent: QWidget | None = None) -> None:
        super().__init__(spec, parent)
        assert spec.enum is not None
        self.combo = QComboBox()
        self.combo.setObjectName(f"edit_{spec.name}")
        if not spec.required:
            self.combo.addItem("—", None)
        for member in spec.enum:
            label = member.value.replace("_", " ")
            if isinstance(member, Metric):
                label = f"{member.value} — {METRICS[member].label}"
            self.combo.addItem(label, member.value)
        self.combo.currentIndexChanged.connect(self.changed)
        self._layout.addWidget(self.combo)
        self._layout.addStretch(1)

    def value(self) -> Any:
        return self.combo.currentData()

    def set_value(self, value: Any) -> None:
        index = self.combo.findData(value)
        if index < 0 and value in (None, ""):
            index = 0
        self.combo.setCurrentIndex(max(index, 0))

    def focus_widget(self) -> QWidget:
        return self.combo


class DateField(FieldWidget):
    def __init__(self, spec: FieldSpec, parent: QWidget | None = None) -> None:
        super().__init__(spec, parent)
        self.edit = QDateEdit()
        self.edit.setObjectName(f"edit_{spec.name}")
        self.edit.setCalendarPopup(True)
        self.edit.setDisplayFormat("yyyy-MM-dd")
        # QDateEdit cannot be empty: its minimum date stands for "not set".
        self.edit.setMinimumDate(_NO_DATE)
        self.edit.setSpecialValueText("not set")
        self.edit.setDate(_NO_DATE)
        self.edit.dateChanged.connect(self.changed)
        self._layout.addWidget(self.edit)
        self._layout.addStretch(1)

    def value(self) -> Any:
        date = self.edit.date()
        return None if date == _NO_DATE else date.toString("yyyy-MM-dd")

    def set_value(self, value: Any) -> None:
        if isinstance(value, dt.date):
            value = value.isoformat()
        date = QDate.fromString(str(value), "yyyy-MM-dd") if value else _NO_DATE
        self.edit.setDate(date if date.isValid() else _NO_DATE)

    def focus_widget(self) -> QWidget:
        return self.edit


class RefField(FieldWidget):
    """A record id with a completer over the target type's ids and titles; the title of what
    is entered shows beneath it."""

    def __init__(
        self, spec: FieldSpec, store: ChoiceStore, key: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(spec, parent)
        self.store = store
        self.key = key
        self.multiple = spec.kind in ("refs", "codes")
        box = QVBoxLayout()
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(1)
        self.edit = QLineEdit()
        self.edit.setObjectName(f"edit_{spec.name}")
        self.edit.setPlaceholderText(
            "comma-separated; type to search" if self.multiple else "type a name or an id to search"
        )
        self.completer = attach_picker(self.edit, store, key, multiple=self.multiple)
        self.title = QLabel()
        self.title.setObjectName(f"title_{spec.name}")
        self.title.setWordWrap(True)
        self.title.setEnabled(False)  # drawn in the palette's muted text colour
        box.addWidget(self.edit)
        box.addWidget(self.title)
        self._layout.addLayout(box)
        self.edit.textChanged.connect(self._text_changed)
        store.updated.connect(self._store_updated)

    def items(self) -> list[str]:
        text = self.edit.text()
        if not self.multiple:
            return [text.strip()] if text.strip() else []
        return [part.strip() for part in text.split(",") if part.strip()]

    def resolved(self, item: str) -> str:
        found = self.store.find(self.key, item) if self.key != TUMOUR_KEY else None
        if self.key == TUMOUR_KEY:
            return item.upper()
        return found or item

    def value(self) -> Any:
        items = [self.resolved(item) for item in self.items()]
        if self.multiple:
            return items
        return items[0] if items else None

    def set_value(self, value: Any) -> None:
        if isinstance(value, list | tuple):
            self.edit.setText(", ".join(str(item) for item in value))
        else:
            self.edit.setText("" if value is None else str(value))

    def unknown(self) -> list[str]:
        """Entered items the loaded choices do not know (empty while they are loading)."""
        if not self.store.loaded(self.key):
            return []
        return [
            item for item in self.items() if self.store.title(self.key, self.resolved(item)) is None
        ]

    def _describe(self) -> str:
        titles = []
        for item in self.items():
            key = self.resolved(item)
            title = self.store.title(self.key, key)
            if title:
                titles.append(title if self.key == TUMOUR_KEY else f"{key}: {title}")
        return "; ".join(titles)

    def _text_changed(self) -> None:
        self.title.setText(self._describe())
        emit(self.changed)

    def _store_updated(self, key: str) -> None:
        if key == self.key:
            self.title.setText(self._describe())
            emit(self.changed)

    def focus_widget(self) -> QWidget:
        return self.edit


class StringsField(TextField):
    def value(self) -> Any:
        return [part.strip() for part in self.edit.text().split(",") if part.strip()]

    def set_value(self, value: Any) -> None:
        if isinstance(value, list | tuple):
            value = ", ".join(str(item) for item in value)
        super().set_value(value)


class LinesField(LongTextField):
    """A list whose items are sentences (a scheme's levels, "3A: …, …"): one item a line, so
    that commas stay inside their item."""

    def value(self) -> Any:
        return [line.strip() for line in self.edit.toPlainText().splitlines() if line.strip()]

    def set_value(self, value: Any) -> None:
        if isinstance(value, list | tuple):
            value = "\n".join(str(item) for item in value)
        super().set_value(value)


class ThresholdValueField(FieldWidget):
    """A threshold's value: the metric's ordinal scale as a list (HER2 IHC 0, 1+, 2+, 3+), or
    a number typed with the metric's range as the hint."""

    def __init__(self, spec: FieldSpec, parent: QWidget | None = None) -> None:
        super().__init__(spec, parent)
        self.edit = QLineEdit()
        self.edit.setObjectName("edit_value")
        self.scale = QComboBox()
        self.scale.setObjectName("scale_value")
        self.scale.hide()
        self._layout.addWidget(self.edit)
        self._layout.addWidget(self.scale)
        self._layout.addStretch(1)
        self.edit.textChanged.connect(self.changed)
        self.scale.currentIndexChanged.connect(self.changed)
        self.current_metric: Metric | None = None
        self.operator = ">="

    @property
    def uses_scale(self) -> bool:
        return not self.scale.isHidden()

    def configure(self, metric: Metric | None, operator: str | None) -> None:
        """Show the input that fits the metric (keeping the value when it still fits)."""
        current = self.value()
        self.current_metric, self.operator = metric, operator or ">="
        spec = METRICS[metric] if metric is not None else None
        if spec is not None and spec.ordinal and self.operator != "in":
            self.scale.blockSignals(True)
            self.scale.clear()
            self.scale.addItems(list(spec.scale))
            self.scale.blockSignals(False)
            index = self.scale.findText(str(current or ""))
            self.scale.setCurrentIndex(max(index, 0))
            self.edit.hide()
            self.scale.show()
        else:
            if self.uses_scale:
                self.edit.setText(str(current or ""))
            hint = spec.describe_values() if spec else "a number"
            if self.operator == "in":
                hint = f"comma-separated; each {hint}"
            self.edit.setPlaceholderText(hint)
            self.scale.hide()
            self.edit.show()
        emit(self.changed)

    def value(self) -> Any:
        if self.uses_scale:
            return self.scale.currentText()
        return self.edit.text().strip()

    def set_value(self, value: Any) -> None:
        text = "" if value is None else str(value)
        self.edit.setText(text)
        index = self.scale.findText(text)
        if index >= 0:
            self.scale.setCurrentIndex(index)

    def focus_widget(self) -> QWidget:
        return self.scale if self.uses_scale else self.edit
