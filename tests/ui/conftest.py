"""Browser fixtures live in tests/browser.py (loaded for the whole suite from tests/conftest.py)."""

from tests.browser import Page

__all__ = ["Page"]
