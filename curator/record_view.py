"""The record pane: every field of one record; references are links that navigate.

References read "BM-00042 — EGFR L858R"; OncoTree codes read "NSCLC — Non-Small Cell Lung
Cancer" and open the tumour-type tree. Fields the curator's draft changes are marked, with the
main-line value beside them.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import QEvent, QUrl, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QTextBrowser, QWidget

from curator.qt_compat import emit
from curator.record_detail import RecordDetail
from curator.theme import is_dark
from kb.model.enums import ChangeOp, RecordType
from kb.model.records import SPECS, FieldSpec

RECORD_SCHEME = "record"
TUMOUR_SCHEME = "tumour"


def type_label(rtype: RecordType) -> str:
    return rtype.value.replace("_", " ")


_LABELS = {
    "cdx": "CDx",
    "hgnc_id": "HGNC id",
    "ncit_code": "NCIt code",
    "nct_id": "NCT id",
    "partner_5": "5′ partner",
    "partner_3": "3′ partner",
    "protein_change": "Protein change (HGVS)",
    "min_age": "Minimum age",
    "max_age": "Maximum age",
    "tree": "Expression",
}


def field_label(name: str) -> str:
    return _LABELS.get(name) or name.replace("_", " ").capitalize()


class RecordView(QTextBrowser):
    """Read-only HTML view of a `RecordDetail`; emits `navigate` for record links."""

    navigate = Signal(str)
    navigate_tumour = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("record_view")
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self.anchorClicked.connect(self._clicked)
        self.detail: RecordDetail | None = None
        self.show_message("Select a record to see all its fields.")

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        # Light or dark: the HTML carries its own colours, so draw it again in the new ones.
        if event.type() == QEvent.Type.PaletteChange and self.detail is not None:
            self.setHtml(self.to_html(self.detail))

    def _clicked(self, url: QUrl) -> None:
        if url.scheme() == RECORD_SCHEME:
            emit(self.navigate, url.path())
        elif url.scheme() == TUMOUR_SCHEME:
            emit(self.navigate_tumour, url.path())

    def _colours(self) -> dict[str, str]:
        dark = is_dark(self.palette())
        return {
            "muted": "#9aa5b1" if dark else "#616e7c",
            "changed": "#3b3220" if dark else "#fff4d6",
            "new": "#1f3a2a" if dark else "#e3f6ea",
            "deleted": "#3d2224" if dark else "#fde8e8",
            "link": self.palette().color(QPalette.ColorRole.Link).name(),
        }

    def show_message(self, text: str) -> None:
        self.detail = None
        colours = self._colours()
        self.setHtml(f"<p style='color:{colours['muted']}'>{html.escape(text)}</p>")

    def show_detail(self, detail: RecordDetail) -> None:
        self.detail = detail
        self.setHtml(self.to_html(detail))

    # --- HTML -----------------------------------------------------------------------------

    def _link(self, human_id: str, titles: Mapping[str, str]) -> str:
        title = titles.get(human_id)
        if human_id.startswith("missing:"):
            return f"<span style='color:#d64545'>{html.escape(human_id)} (missing)</span>"
        text = f"{human_id} — {title}" if title else human_id
        return f"<a href='{RECORD_SCHEME}:{html.escape(human_id)}'>{html.escape(text)}</a>"

    def _code(self, code: str, names: Mapping[str, str]) -> str:
        name = names.get(code)
        text = f"{code} — {name}" if name else code
        return f"<a href='{TUMOUR_SCHEME}:{html.escape(code)}'>{html.escape(text)}</a>"

    def _tree(self, tree: Any, detail: RecordDetail) -> str:
        if not isinstance(tree, dict):
            return html.escape(str(tree))
        if "op" in tree:
            items = "".join(f"<li>{self._tree(arg, detail)}</li>" for arg in tree["args"])
            return f"<b>{html.escape(tree['op'])}</b><ul style='margin:0'>{items}</ul>"
        text = self._link(str(tree.get("biomarker")), detail.titles)
        if tree.get("threshold"):
            text += " with " + self._link(str(tree["threshold"]), detail.titles)
        return text

    def value_html(self, spec: FieldSpec, value: Any, detail: RecordDetail) -> str:
        muted = self._colours()["muted"]
        if value is None or value in ("", []):
            return f"<span style='color:{muted}'>—</span>"
        match spec.kind:
            case "ref":
                return self._link(str(value), detail.titles)
            case "refs":
                return "<br>".join(self._link(str(item), detail.titles) for item in value)
            case "codes":
                return "<br>".join(self._code(str(code), detail.tumour_names) for code in value)
            case "tree":
                return self._tree(value, detail)
            case "strings":
                return html.escape(", ".join(str(item) for item in value))
            case "bool":
                return "yes" if value else "no"
            case "enum":
                return html.escape(str(value).replace("_", " "))
            case "text":
                return html.escape(str(value)).replace("\n", "<br>")
        return html.escape(str(value))

    def to_html(self, detail: RecordDetail) -> str:
        colours = self._colours()
        staged = detail.staged
        changed = set(staged.fields) if staged and staged.op is ChangeOp.UPDATE else set()
        parts = [
            f"<h3 style='margin-bottom:2px'>{html.escape(detail.title)}</h3>",
            f"<p style='color:{colours['muted']};margin-top:0'>{detail.human_id} · "
            f"{type_label(detail.rtype)}"
            + (f" · KB version {detail.kb_version}" if detail.kb_version is not None else "")
            + "</p>",
        ]
        if staged is not None:
            badge = {
                ChangeOp.CREATE: ("new", f"New in your draft {staged.change_set}"),
                ChangeOp.UPDATE: ("changed", f"Changed in your draft {staged.change_set}"),
                ChangeOp.DELETE: ("deleted", f"Deleted in your draft {staged.change_set}"),
            }[staged.op]
            parts.append(f"<p style='background:{colours[badge[0]]};padding:4px'>{badge[1]}</p>")
        if detail.rtype is RecordType.EXPRESSION:
            parts.append(f"<p><i>{html.escape(detail.title)}</i></p>")
        rows = []
        for spec in SPECS[detail.rtype]:
            value = detail.fields.get(spec.name)
            cell = self.value_html(spec, value, detail)
            style = ""
            if spec.name in changed:
                style = f" style='background:{colours['changed']}'"
                was = staged.before.get(spec.name) if staged else None
                cell += (
                    f"<br><span style='color:{colours['muted']}'>was: "
                    f"{self.value_html(spec, was, detail)}</span>"
                )
            required = " *" if spec.required else ""
            rows.append(
                f"<tr{style}><td style='color:{colours['muted']};padding-right:12px;"
                f"vertical-align:top;white-space:nowrap'>{field_label(spec.name)}{required}</td>"
                f"<td style='vertical-align:top'>{cell}</td></tr>"
            )
        parts.append("<table cellspacing='0' cellpadding='3'>" + "".join(rows) + "</table>")
        if detail.used_by_total:
            shown = "<br>".join(
                self._link(human_id, {human_id: title}) for human_id, title in detail.used_by
            )
            more = detail.used_by_total - len(detail.used_by)
            if more > 0:
                shown += f"<br><span style='color:{colours['muted']}'>… and {more} more</span>"
            parts.append(f"<h4>Used by {detail.used_by_total}</h4><p>{shown}</p>")
        return "".join(parts)
