"""The screens the main window installs, and their order.

Each entry is a screen module's `SCREEN` (curator/extension.py). Their navigator pages and the
actions they share a menu with follow this order; the menus themselves keep MENU_ORDER. A new
screen is one module with a `SCREEN` and one line here.
"""

from __future__ import annotations

from curator import (
    about_dialog,
    audit_view,
    help_view,
    home_page,
    import_wizard,
    keys_dialog,
    live_state,
    matching_sandbox,
    outcomes_page,
    releases_view,
    review_view,
    trials_check,
    users_dialog,
)
from curator.extension import Screen

SCREENS: tuple[Screen, ...] = (
    home_page.SCREEN,  # Home: first in the navigator, shown on a first start
    review_view.SCREEN,  # Change sets; Review ▸ queue, record history, compare versions
    releases_view.SCREEN,  # Releases; Release ▸ sign off, cut a release
    keys_dialog.SCREEN,  # Release ▸ Create signing key…
    audit_view.SCREEN,  # Audit log; Review ▸ Audit log
    outcomes_page.SCREEN,  # Outcomes: response by assertion, Kaplan-Meier, the alerts queue
    import_wizard.SCREEN,  # File ▸ Import…
    trials_check.SCREEN,  # Tools ▸ Check trials against the registry…
    matching_sandbox.SCREEN,  # Tools ▸ Matching sandbox…
    users_dialog.SCREEN,  # File ▸ Users…
    help_view.SCREEN,  # Help ▸ KB Curator help (F1), Take the tour
    about_dialog.SCREEN,  # Help ▸ About KB Curator, About Qt
    live_state.SCREEN,  # other users' submits, merges and releases, shown without F5
)
