"""What the app remembers between runs: recent KBs, last user per KB, window state, theme,
and each user's list columns and saved filters.

QSettings lives here and nowhere in kb/ (TagStudio's core imports it; we keep it out).
Passwords are never stored; a URL's password is removed before it is remembered.
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import QByteArray, QSettings
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

MAX_RECENT = 8
THEMES = ("system", "light", "dark")


def without_password(url: str) -> str:
    try:
        parsed = make_url(url)
    except ArgumentError:
        return url
    if parsed.password is None:
        return url
    # URL.set(password=None) means "leave it"; the tuple's own replace really drops it.
    return parsed._replace(password=None).render_as_string(hide_password=False)


class Settings:
    """Typed access to the app's QSettings (a fresh QSettings per call is cheap and safe)."""

    def __init__(self, settings: QSettings | None = None) -> None:
        self._settings = settings or QSettings()

    # --- recent KBs ---------------------------------------------------------------------

    def recent_kbs(self) -> list[str]:
        value = self._settings.value("recent/kbs", [])
        if isinstance(value, str):  # QSettings returns a lone entry as a string
            value = [value]
        if not isinstance(value, list):
            return []
        return [str(item) for item in value if item]

    def add_recent_kb(self, url: str) -> None:
        url = without_password(url)
        recent = [url, *(item for item in self.recent_kbs() if item != url)][:MAX_RECENT]
        self._settings.setValue("recent/kbs", recent)

    def remove_recent_kb(self, url: str) -> None:
        self._settings.setValue("recent/kbs", [u for u in self.recent_kbs() if u != url])

    # --- users ------------------------------------------------------------------------------

    def last_user(self, url: str) -> str:
        users = self._settings.value("signin/last_user", {})
        if not isinstance(users, dict):
            return ""
        return str(users.get(without_password(url), ""))

    def set_last_user(self, url: str, name: str) -> None:
        users = self._settings.value("signin/last_user", {})
        users = dict(users) if isinstance(users, dict) else {}
        users[without_password(url)] = name
        self._settings.setValue("signin/last_user", users)

    # --- window -----------------------------------------------------------------------------

    def window_geometry(self) -> QByteArray | None:
        value = self._settings.value("window/geometry")
        return value if isinstance(value, QByteArray) else None

    def window_state(self) -> QByteArray | None:
        value = self._settings.value("window/state")
        return value if isinstance(value, QByteArray) else None

    def splitter_state(self) -> QByteArray | None:
        value = self._settings.value("window/splitter")
        return value if isinstance(value, QByteArray) else None

    def save_window(self, geometry: QByteArray, state: QByteArray, splitter: QByteArray) -> None:
        self._settings.setValue("window/geometry", geometry)
        self._settings.setValue("window/state", state)
        self._settings.setValue("window/splitter", splitter)

    def last_view(self) -> str:
        return str(self._settings.value("window/view", "home"))

    def set_last_view(self, key: str) -> None:
        self._settings.setValue("window/view", key)

    # --- lists, per user and record type ----------------------------------------------------

    def _list_key(self, user: str, rtype: str, what: str) -> str:
        # One group per user: curators sharing a desktop account keep their own lists.
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in user or "anonymous")
        return f"lists/{safe}/{rtype}/{what}"

    def _json(self, key: str) -> Any:
        value = self._settings.value(key)
        if not isinstance(value, str):
            return None
        try:
            return json.loads(value)
        except ValueError:
            return None  # a hand-edited settings file: start from the defaults

    def list_columns(self, user: str, rtype: str) -> list[str] | None:
        """The column keys the user shows for `rtype`, in their order (None: the defaults)."""
        value = self._json(self._list_key(user, rtype, "columns"))
        if not isinstance(value, list):
            return None
        return [str(item) for item in value]

    def set_list_columns(self, user: str, rtype: str, keys: list[str]) -> None:
        self._settings.setValue(self._list_key(user, rtype, "columns"), json.dumps(keys))

    def clear_list_columns(self, user: str, rtype: str) -> None:
        self._settings.remove(self._list_key(user, rtype, "columns"))

    def saved_filters(self, user: str, rtype: str) -> dict[str, dict[str, Any]]:
        """The user's named filters for `rtype`: name -> {"search": …, "columns": {key: text}}."""
        value = self._json(self._list_key(user, rtype, "filters"))
        if not isinstance(value, dict):
            return {}
        return {str(k): v for k, v in value.items() if isinstance(v, dict)}

    def set_saved_filters(self, user: str, rtype: str, filters: dict[str, dict[str, Any]]) -> None:
        self._settings.setValue(self._list_key(user, rtype, "filters"), json.dumps(filters))

    # --- theme ------------------------------------------------------------------------------

    def theme(self) -> str:
        value = str(self._settings.value("appearance/theme", "system"))
        return value if value in THEMES else "system"

    def set_theme(self, theme: str) -> None:
        self._settings.setValue("appearance/theme", theme if theme in THEMES else "system")

    # --- the first-run tour (curator/help_view.py), once per user ----------------------------

    def tour_seen(self, user: str) -> bool:
        seen = self._settings.value("help/tour_seen", [])
        return user in (seen if isinstance(seen, list) else [seen])

    def set_tour_seen(self, user: str) -> None:
        seen = self._settings.value("help/tour_seen", [])
        seen = seen if isinstance(seen, list) else [seen]
        if user not in seen:
            self._settings.setValue("help/tour_seen", [*seen, user])

    def sync(self) -> None:
        self._settings.sync()
