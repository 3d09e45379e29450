"""Without a browser the browser tests skip, saying how to install one; CI requires them."""

from __future__ import annotations

import pytest

from tests.browser import conftest


def test_a_missing_browser_skips_naming_how_to_install_chromium(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(conftest, "REQUIRE_BROWSER", False)

    with pytest.raises(pytest.skip.Exception, match="apt-get install -y chromium"):
        conftest.unavailable("no Chromium at /nowhere")


def test_a_missing_browser_fails_where_the_browser_is_required(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(conftest, "REQUIRE_BROWSER", True)

    with pytest.raises(pytest.fail.Exception, match="CME_TEST_REQUIRE_BROWSER=1"):
        conftest.unavailable("no Chromium at /nowhere")
