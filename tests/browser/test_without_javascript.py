"""With JavaScript off the console still works: plain links navigate and plain forms post."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By

from tests.browser.conftest import click_and_wait, start_browser, submit_and_wait

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def plain_browser(tmp_path_factory):
    driver = start_browser(tmp_path_factory.mktemp("chromium-nojs"), javascript=False)
    try:
        yield driver
    finally:
        driver.quit()


def test_login_and_navigation_without_javascript(plain_browser, gateway):
    browser = plain_browser
    browser.get(f"{gateway}/login")
    # htmx adds its indicator styles to <head> when it runs; with scripts off it never does.
    assert browser.find_elements(By.CSS_SELECTOR, "head style") == []
    browser.find_element(By.NAME, "username").send_keys("root")
    browser.find_element(By.NAME, "password").send_keys("wrong-password")
    click_and_wait(browser, "#login button.primary")
    assert "用户名或密码错误" in browser.find_element(By.CSS_SELECTOR, ".form-error").text
    browser.find_element(By.NAME, "password").send_keys("123456")
    click_and_wait(browser, "#login button.primary")
    click_and_wait(browser, "nav.menu a[href='/about']")
    assert browser.current_url == f"{gateway}/about"
    click_and_wait(browser, ".lang-switch button[value='en']")
    assert browser.current_url == f"{gateway}/about"
    assert "About" in browser.find_element(By.CSS_SELECTOR, "nav.menu").text


def test_create_and_delete_a_token_without_javascript(plain_browser, gateway):
    browser = plain_browser
    browser.get(f"{gateway}/token/add")
    if browser.current_url.startswith(f"{gateway}/login"):
        browser.find_element(By.NAME, "username").send_keys("root")
        browser.find_element(By.NAME, "password").send_keys("123456")
        click_and_wait(browser, "#login button.primary")
    browser.find_element(By.NAME, "name").send_keys("plain")
    click_and_wait(browser, "#token-form button.primary")
    assert browser.current_url == f"{gateway}/token"
    row = browser.find_element(By.CSS_SELECTOR, "tr[id^='token-']")
    assert "plain" in row.text
    submit_and_wait(browser, row.find_element(By.CSS_SELECTOR, "button.danger"))
    assert "plain" in browser.find_element(By.CSS_SELECTOR, "#confirm p").text
    assert browser.find_elements(By.CSS_SELECTOR, "tr[id^='token-']") == []
    click_and_wait(browser, "#confirm button.danger")
    assert browser.current_url == f"{gateway}/token"
    assert browser.find_elements(By.CSS_SELECTOR, "tr[id^='token-']") == []
