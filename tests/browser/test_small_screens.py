"""At 360 px wide (a small phone) no console page needs sideways scrolling of the whole page."""

from __future__ import annotations

import pytest

from tests.browser.conftest import start_browser

pytestmark = pytest.mark.browser
PAGES = ["/", "/login", "/about"]


@pytest.fixture(scope="module")
def phone(tmp_path_factory):
    driver = start_browser(tmp_path_factory.mktemp("chromium-phone"), width=360, height=740)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.mark.parametrize("path", PAGES)
def test_page_fits_a_360px_screen(phone, gateway, path):
    phone.get(f"{gateway}{path}")
    width = phone.execute_script("return window.innerWidth")
    assert width == 360
    scroll = phone.execute_script("return document.documentElement.scrollWidth")
    assert scroll <= width, f"{path} is {scroll}px wide on a {width}px screen"
