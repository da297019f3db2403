"""The biomarker-expression editor: an AND / OR / NOT tree whose leaves are a biomarker with an
optional threshold, and its canonical text rendered live as it changes.

The tree is plain data (the `kb.model.expression` form) held here; the QTreeWidget is redrawn
from it after each change, so what is shown and what is saved cannot drift apart. Nodes are
addressed by their path of child positions from the root.
"""

from __future__ import annotations

import copy
import html
from typing import Any

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from curator.choices import ChoiceStore
from curator.expression_text import LeafNames, canonical_text, leaf_text
from curator.qt_compat import emit
from curator.ref_picker import attach_picker
from kb.model import expression as exprs
from kb.model.enums import RecordType

Path = tuple[int, ...]
Tree = dict[str, Any]
_PATH_ROLE = Qt.ItemDataRole.UserRole + 1


def node_at(tree: Tree, path: Path) -> Tree:
    node = tree
    for index in path:
        node = node["args"][index]
    return node


def _replace(tree: Tree | None, path: Path, new: Tree | None) -> Tree | None:
    """A copy of `tree` with the node at `path` replaced by `new` (None removes it)."""
    if not path:
        return new
    root = copy.deepcopy(tree)
    assert root is not None
    parent = node_at(root, path[:-1])
    if new is None:
        del parent["args"][path[-1]]
    else:
        parent["args"][path[-1]] = new
    return root


def _collapse(tree: Tree | None, path: Path) -> Tree | None:
    """After a removal under `path`: an AND/OR left with one argument becomes that argument; a
    NOT left with none disappears."""
    if tree is None:
        return None
    node = node_at(tree, path)
    if "op" not in node:
        return tree
    args = node["args"]
    if node["op"] == "NOT" and not args:
        removed = _replace(tree, path, None)
        return _collapse(removed, path[:-1]) if path else None
    if node["op"] != "NOT" and len(args) == 1:
        return _replace(tree, path, args[0])
    if not args:
        removed = _replace(tree, path, None)
        return _collapse(removed, path[:-1]) if path else None
    return tree


def remove_node(tree: Tree | None, path: Path) -> tuple[Tree | None, Path | None]:
    """Remove the node at `path`; returns the new tree and a sensible node to select."""
    if tree is None or not path:
        return None, None
    removed = _replace(tree, path, None)
    collapsed = _collapse(removed, path[:-1])
    parent = path[:-1]
    try:
        if collapsed is not None:
            node_at(collapsed, parent)
            return collapsed, parent
    except (KeyError, IndexError):
        pass
    return collapsed, () if collapsed is not None else None


def add_leaf(tree: Tree | None, path: Path | None, leaf: Tree) -> tuple[Tree, Path]:
    """Add a condition next to the selection: into a selected AND/OR, beside a selected leaf
    inside one, or — when the tree is a single leaf — join it with AND."""
    if tree is None:
        return leaf, ()
    path = path or ()
    node = node_at(tree, path)
    if "op" in node and node["op"] != "NOT":
        new = copy.deepcopy(tree)
        node_at(new, path)["args"].append(leaf)
        return new, (*path, len(node["args"]))
    if path:
        parent_path = path[:-1]
        parent = node_at(tree, parent_path)
        if parent["op"] != "NOT":
            new = copy.deepcopy(tree)
            node_at(new, parent_path)["args"].insert(path[-1] + 1, leaf)
            return new, (*parent_path, path[-1] + 1)
    wrapped = {"op": "AND", "args": [copy.deepcopy(node), leaf]}
    new_tree = _replace(tree, path, wrapped)
    assert new_tree is not None
    return new_tree, (*path, 1)


def group(tree: Tree, path: Path, op: str, leaf: Tree) -> tuple[Tree, Path]:
    """Wrap the selected node in a new AND / OR group together with a new condition."""
    node = copy.deepcopy(node_at(tree, path))
    new = _replace(tree, path, {"op": op, "args": [node, leaf]})
    assert new is not None
    return new, (*path, 1)


def toggle_not(tree: Tree, path: Path) -> tuple[Tree, Path]:
    """Negate the selected node, or remove the NOT if it already is one."""
    node = node_at(tree, path)
    if node.get("op") == "NOT":
        new = _replace(tree, path, copy.deepcopy(node["args"][0]))
        assert new is not None
        return new, path
    new = _replace(tree, path, {"op": "NOT", "args": [copy.deepcopy(node)]})
    assert new is not None
    return new, path


class ExpressionEditor(QWidget):
    """Edits one expression tree; `changed` fires on every edit, `text` is its canonical form."""

    changed = Signal()

    def __init__(self, store: ChoiceStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("expression_editor")
        self._store = store
        self._tree: Tree | None = None
        self._names = LeafNames()
        self._updating = False

        self.tree_widget = QTreeWidget()
        self.tree_widget.setObjectName("expression_tree")
        self.tree_widget.setHeaderHidden(True)
        self.tree_widget.setMinimumHeight(120)
        # Long leaf labels scroll inside the tree instead of widening the whole editor.
        self.tree_widget.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.tree_widget.setMinimumWidth(200)
        self.tree_widget.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Expanding)
        self.tree_widget.currentItemChanged.connect(self._selection_changed)

        self.add_button = QToolButton()
        self.add_button.setText("+ Condition")
        self.and_button = QToolButton()
        self.and_button.setText("AND group")
        self.or_button = QToolButton()
        self.or_button.setText("OR group")
        self.not_button = QToolButton()
        self.not_button.setText("NOT")
        self.remove_button = QToolButton()
        self.remove_button.setText("Remove")
        self.add_button.setToolTip("Add a biomarker condition beside the selected one")
        self.and_button.setToolTip("Put the selected node in an AND group with a new condition")
        self.or_button.setToolTip("Put the selected node in an OR group with a new condition")
        self.not_button.setToolTip("Negate the selected node (or remove its NOT)")
        buttons = QHBoxLayout()
        for button in (
            self.add_button, self.and_button, self.or_button, self.not_button, self.remove_button
        ):  # fmt: skip
            buttons.addWidget(button)
        buttons.addStretch(1)
        self.add_button.clicked.connect(self.add_condition)
        self.and_button.clicked.connect(lambda: self.group_selected("AND"))
        self.or_button.clicked.connect(lambda: self.group_selected("OR"))
        self.not_button.clicked.connect(self.negate_selected)
        self.remove_button.clicked.connect(self.remove_selected)

        # The selected node's editor: an operator combo, or biomarker + threshold.
        self.op_combo = QComboBox()
        self.op_combo.addItems(["AND", "OR", "NOT"])
        self.op_combo.currentTextChanged.connect(self._op_edited)
        self.biomarker_edit = QLineEdit()
        self.biomarker_edit.setObjectName("leaf_biomarker")
        self.biomarker_edit.setPlaceholderText("biomarker id or name, e.g. BM-00001 or L858R")
        attach_picker(self.biomarker_edit, store, RecordType.BIOMARKER.value, multiple=False)
        self.threshold_edit = QLineEdit()
        self.threshold_edit.setObjectName("leaf_threshold")
        self.threshold_edit.setPlaceholderText("optional threshold id, e.g. TH-00003")
        attach_picker(self.threshold_edit, store, RecordType.THRESHOLD.value, multiple=False)
        # textChanged, not textEdited: a completion inserted by the completer counts too.
        self.biomarker_edit.textChanged.connect(self._leaf_edited)
        self.threshold_edit.textChanged.connect(self._leaf_edited)
        self.node_form = QFormLayout()
        self.node_form.addRow("Operator", self.op_combo)
        self.node_form.addRow("Biomarker", self.biomarker_edit)
        self.node_form.addRow("Threshold", self.threshold_edit)

        self.text_label = QLabel()
        self.text_label.setObjectName("canonical_text")
        self.text_label.setWordWrap(True)
        self.text_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.text_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text_label.setToolTip("The canonical text, as the KB will store and show it")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.tree_widget)
        layout.addLayout(buttons)
        layout.addLayout(self.node_form)
        layout.addWidget(self.text_label)
        store.updated.connect(self._store_updated)
        self._refresh()

    # --- data ---------------------------------------------------------------------------------

    def value(self) -> Tree | None:
        return copy.deepcopy(self._tree) if self._tree is not None else None

    def set_value(self, tree: Any) -> None:
        self._tree = copy.deepcopy(tree) if isinstance(tree, dict) and tree else None
        self._refresh(select=() if self._tree is not None else None)

    def set_names(self, names: LeafNames) -> None:
        self._names = names
        self._refresh(select=self.selected_path())

    @property
    def text(self) -> str:
        return canonical_text(self._tree, self._names_with_titles())

    def _names_with_titles(self) -> LeafNames:
        # Biomarkers or thresholds new since the names were loaded fall back to their titles.
        if not self._tree:
            return self._names
        biomarkers = dict(self._names.biomarkers)
        for leaf in exprs.leaves(self._tree):
            key = str(leaf.get("biomarker") or "")
            if key and key not in biomarkers:
                title = self._store.title(RecordType.BIOMARKER.value, key)
                if title:
                    biomarkers[key] = (title, "")
        return LeafNames(biomarkers, self._names.thresholds)

    def problem(self) -> str | None:
        """Why the tree cannot be saved, in kb's words (or None)."""
        if self._tree is None:
            return "an expression needs at least one biomarker"
        try:
            exprs.check_tree(self._tree)
        except exprs.TreeError as exc:
            return str(exc)
        return None

    # --- selection ------------------------------------------------------------------------

    def selected_path(self) -> Path | None:
        item = self.tree_widget.currentItem()
        if item is None:
            return None
        return tuple(item.data(0, _PATH_ROLE))

    def select_path(self, path: Path | None) -> None:
        if path is None:
            self.tree_widget.clearSelection()
            self.tree_widget.setCurrentIndex(QModelIndex())
            return
        item = self.tree_widget.topLevelItem(0)
        for index in path:
            if item is None:
                return
            item = item.child(index)
        if item is not None:
            self.tree_widget.setCurrentItem(item)

    # --- edits ------------------------------------------------------------------------------

    def _commit(self, tree: Tree | None, select: Path | None) -> None:
        self._tree = tree
        self._refresh(select)
        emit(self.changed)

    def add_condition(self) -> None:
        tree, path = add_leaf(self._tree, self.selected_path(), {"biomarker": ""})
        self._commit(tree, path)
        self.biomarker_edit.setFocus()

    def group_selected(self, op: str) -> None:
        path = self.selected_path()
        if self._tree is None or path is None:
            self.add_condition()
            return
        tree, new_path = group(self._tree, path, op, {"biomarker": ""})
        self._commit(tree, new_path)
        self.biomarker_edit.setFocus()

    def negate_selected(self) -> None:
        path = self.selected_path()
        if self._tree is None or path is None:
            return
        tree, new_path = toggle_not(self._tree, path)
        self._commit(tree, new_path)

    def remove_selected(self) -> None:
        path = self.selected_path()
        if self._tree is None or path is None:
            return
        tree, new_path = remove_node(self._tree, path)
        self._commit(tree, new_path)

    def _op_edited(self, op: str) -> None:
        path = self.selected_path()
        if self._updating or self._tree is None or path is None:
            return
        node = copy.deepcopy(node_at(self._tree, path))
        if "op" not in node or node["op"] == op:
            return
        if op == "NOT":
            # NOT takes one argument: negate the whole group rather than drop arguments.
            new = {"op": "NOT", "args": [node]}
        elif node["op"] == "NOT":
            new = {"op": op, "args": [*node["args"], {"biomarker": ""}]}
        else:
            new = {"op": op, "args": node["args"]}
        self._commit(_replace(self._tree, path, new), path)

    def _leaf_edited(self, *_args: object) -> None:
        path = self.selected_path()
        if self._updating or self._tree is None or path is None:
            return
        if "op" in node_at(self._tree, path):
            return
        biomarker_text = self.biomarker_edit.text().strip()
        biomarker = (
            self._store.find(RecordType.BIOMARKER.value, biomarker_text) or biomarker_text.upper()
        )
        leaf: Tree = {"biomarker": biomarker}
        threshold_text = self.threshold_edit.text().strip()
        if threshold_text:
            leaf["threshold"] = (
                self._store.find(RecordType.THRESHOLD.value, threshold_text)
                or threshold_text.upper()
            )
        self._tree = _replace(self._tree, path, leaf)
        item = self.tree_widget.currentItem()
        if item is not None:
            item.setText(0, self._leaf_label(leaf))
        self._update_text()
        emit(self.changed)

    # --- drawing ----------------------------------------------------------------------------

    def _leaf_label(self, leaf: Tree) -> str:
        if not leaf.get("biomarker"):
            return "(choose a biomarker)"
        text = leaf_text(leaf, self._names_with_titles())
        ids = leaf["biomarker"] + (f" + {leaf['threshold']}" if leaf.get("threshold") else "")
        return f"{text}   [{ids}]"

    def _store_updated(self, key: str) -> None:
        if key in (RecordType.BIOMARKER.value, RecordType.THRESHOLD.value):
            self._refresh(self.selected_path())

    def _refresh(self, select: Path | None = None) -> None:
        self._updating = True
        try:
            self.tree_widget.clear()
            if self._tree is not None:
                root = self._item(self._tree, ())
                self.tree_widget.addTopLevelItem(root)
                self.tree_widget.expandAll()
            self.select_path(select)
        finally:
            self._updating = False
        self._selection_changed()
        self._update_text()

    def _item(self, node: Tree, path: Path) -> QTreeWidgetItem:
        item = QTreeWidgetItem()
        item.setData(0, _PATH_ROLE, list(path))
        if "op" in node:
            item.setText(0, node["op"])
            font = item.font(0)
            font.setBold(True)
            item.setFont(0, font)
            for index, arg in enumerate(node["args"]):
                item.addChild(self._item(arg, (*path, index)))
        else:
            item.setText(0, self._leaf_label(node))
        return item

    def _selection_changed(self, *_args: object) -> None:
        path = self.selected_path()
        node = node_at(self._tree, path) if self._tree is not None and path is not None else None
        is_op = node is not None and "op" in node
        is_leaf = node is not None and not is_op
        self._updating = True
        try:
            self.op_combo.setEnabled(is_op)
            self.biomarker_edit.setEnabled(is_leaf)
            self.threshold_edit.setEnabled(is_leaf)
            if is_op and node is not None:
                self.op_combo.setCurrentText(node["op"])
            if is_leaf and node is not None:
                self.biomarker_edit.setText(str(node.get("biomarker") or ""))
                self.threshold_edit.setText(str(node.get("threshold") or ""))
            elif not is_leaf:
                self.biomarker_edit.clear()
                self.threshold_edit.clear()
        finally:
            self._updating = False
        has_node = node is not None
        self.and_button.setEnabled(has_node)
        self.or_button.setEnabled(has_node)
        self.not_button.setEnabled(has_node)
        self.remove_button.setEnabled(has_node)

    def _update_text(self) -> None:
        text = self.text
        self.text_label.setText(
            f"Canonical text: <b>{html.escape(text)}</b>"
            if text
            else "<i>Add a condition to start the expression.</i>"
        )
