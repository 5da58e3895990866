"""At 360 px wide (a small phone) no console page needs sideways scrolling of the whole page: wide
tables scroll inside their own box."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.conftest import start_browser

pytestmark = pytest.mark.browser
PUBLIC = ["/", "/login", "/about", "/register", "/reset"]
SIGNED_IN = ["/channel", "/channel/add", "/token", "/token/add", "/redemption", "/redemption/add", "/topup", "/user",
             "/user/add", "/user/edit", "/log", "/dashboard", "/setting", "/setting/operation", "/setting/system",
             "/setting/other"]


@pytest.fixture(scope="module")
def phone(tmp_path_factory):
    driver = start_browser(tmp_path_factory.mktemp("chromium-phone"), width=360, height=740)
    try:
        yield driver
    finally:
        driver.quit()


def _fits(phone, url: str) -> None:
    phone.get(url)
    width = phone.execute_script("return window.innerWidth")
    assert width == 360
    scroll = phone.execute_script("return document.documentElement.scrollWidth")
    assert scroll <= width, f"{url} is {scroll}px wide on a {width}px screen"


@pytest.mark.parametrize("path", PUBLIC)
def test_public_page_fits_a_360px_screen(phone, gateway, path):
    phone.delete_all_cookies()
    _fits(phone, f"{gateway}{path}")


def test_every_signed_in_page_fits_a_360px_screen(phone, gateway):
    phone.get(f"{gateway}/login")
    phone.find_element(By.NAME, "username").send_keys("root")
    phone.find_element(By.NAME, "password").send_keys("123456")
    phone.find_element(By.CSS_SELECTOR, "#login button.primary").click()
    WebDriverWait(phone, 10).until(EC.url_to_be(f"{gateway}/"))
    for path in SIGNED_IN:
        _fits(phone, f"{gateway}{path}")
