"""The whole console in chromium, as a new administrator uses it: sign in as root, change the password,
add a channel against a mock upstream and test it, create a token and call the relay with it, see the
log row and the dashboard move, create and redeem a code, switch the language.

The steps share one browser and one gateway, in order; each step's assertions say what the page shows.
"""

from __future__ import annotations

import re

import pytest
import requests
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser
NEW_PASSWORD = "browser-pass-1"


def _wait(browser, timeout: float = 15) -> WebDriverWait:
    return WebDriverWait(browser, timeout)


def _visible(browser, css: str):
    return _wait(browser).until(EC.visibility_of_element_located((By.CSS_SELECTOR, css)))


def _type(browser, name: str, value: str) -> None:
    field = browser.find_element(By.NAME, name)
    field.clear()
    field.send_keys(value)


def _log_in(browser, gateway: str, password: str) -> None:
    browser.get(f"{gateway}/login")
    _type(browser, "username", "root")
    _type(browser, "password", password)
    browser.find_element(By.CSS_SELECTOR, "#login button.primary").click()
    _visible(browser, "nav.menu a[href='/channel']")


def _flash_text(browser) -> str:
    return _visible(browser, "#flash .flash").text


def _today_requests(browser) -> str:
    cell = browser.find_element(By.CSS_SELECTOR, "#dashboard article:first-child tbody tr:last-child td")
    return cell.get_attribute("textContent").strip()


def test_root_runs_the_gateway_from_the_console(browser, gateway, upstream):
    mock, upstream_base = upstream

    # Sign in with the first-start password, then change it and sign in again with the new one.
    _log_in(browser, gateway, "123456")
    browser.get(f"{gateway}/user/edit")
    _type(browser, "password", NEW_PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "#profile button.primary").click()
    _flash_text(browser)
    browser.find_element(By.CSS_SELECTOR, "form[action='/logout'] button").click()
    _visible(browser, "a.button[href='/login']")
    _log_in(browser, gateway, NEW_PASSWORD)

    # Add an OpenAI channel pointing at the mock upstream, then test it from its row.
    browser.get(f"{gateway}/channel/add")
    _type(browser, "name", "mock upstream")
    _type(browser, "base_url", upstream_base)
    _type(browser, "key", "sk-upstream")
    _type(browser, "custom_models", "gpt-4o-mini")
    # A broken model mapping comes back (422, swapped in by htmx) with the error beside the field.
    _type(browser, "model_mapping", "{not json")
    browser.find_element(By.CSS_SELECTOR, "#channel-form button.primary").click()
    assert _visible(browser, "#e-model_mapping").text
    assert browser.find_element(By.NAME, "name").get_attribute("value") == "mock upstream", "the form kept its input"
    browser.find_element(By.NAME, "model_mapping").clear()
    _type(browser, "key", "sk-upstream")
    if not browser.find_elements(By.CSS_SELECTOR, "input[name='models'][value='gpt-4o-mini']:checked"):
        _type(browser, "custom_models", "gpt-4o-mini")
    browser.find_element(By.CSS_SELECTOR, "#channel-form button.primary").click()
    _wait(browser).until(EC.url_to_be(f"{gateway}/channel"))
    row = _visible(browser, "tr[id^='channel-']")
    assert "mock upstream" in row.text
    row.find_element(By.CSS_SELECTOR, "form.test button").click()
    result = _visible(browser, "tr[id^='channel-'] .test-result")
    assert "ok" in result.get_attribute("class"), result.text
    screenshot(browser, "channels")

    # Test every channel in the background; the progress box polls until the job is done.
    browser.find_element(By.CSS_SELECTOR, "form[action='/channel/test-all'] input[value='all'] ~ button").click()
    _wait(browser).until(lambda b: b.find_elements(By.CSS_SELECTOR, "#progress-test:not([hx-trigger]) progress"))
    bar = browser.find_element(By.CSS_SELECTOR, "#progress-test progress")
    assert bar.get_attribute("value") == bar.get_attribute("max") == "1"

    # Create a token and read its key from the list.
    browser.get(f"{gateway}/token/add")
    _type(browser, "name", "browser")
    browser.find_element(By.CSS_SELECTOR, "#token-form button.primary").click()
    key_cell = _wait(browser).until(EC.presence_of_element_located((By.CSS_SELECTOR, "tr code.key")))
    key = key_cell.get_attribute("textContent").strip()
    assert re.fullmatch(r"sk-[A-Za-z0-9]{48}", key), key
    screenshot(browser, "tokens")

    # The dashboard before the call, the call itself, then the log row and the dashboard after it.
    browser.get(f"{gateway}/dashboard")
    assert browser.find_elements(By.CSS_SELECTOR, "#dashboard .empty"), "no usage yet"
    reply = requests.post(f"{gateway}/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                          json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}, timeout=30)
    assert reply.status_code == 200, reply.text
    assert mock.config["REQUESTS"], "the upstream was called"
    browser.get(f"{gateway}/log")
    log_row = _visible(browser, "tr[id^='log-']")
    assert "gpt-4o-mini" in log_row.text and "browser" in log_row.text
    browser.get(f"{gateway}/dashboard")
    assert _today_requests(browser) == "1"
    screenshot(browser, "dashboard")

    # Create a redemption code, then redeem it on the top-up page and see the quota grow.
    browser.get(f"{gateway}/redemption/add")
    _type(browser, "name", "gift")
    _type(browser, "quota", "250000")
    _type(browser, "count", "1")
    browser.find_element(By.CSS_SELECTOR, "main form button.primary").click()
    codes = _wait(browser).until(EC.presence_of_element_located((By.CSS_SELECTOR, "textarea[name='keys']")))
    code = codes.get_attribute("value").strip()
    assert re.fullmatch(r"[0-9a-f]{32}", code), code
    browser.get(f"{gateway}/topup")
    _type(browser, "key", code)
    browser.find_element(By.CSS_SELECTOR, "main form button.primary").click()
    assert "$0.5" in _flash_text(browser)

    # Switch to English; the choice sticks on the next page.
    browser.find_element(By.CSS_SELECTOR, ".lang-switch button[value='en']").click()
    _wait(browser).until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, "nav.menu"), "Channels"))
    browser.get(f"{gateway}/log")
    assert "Logs" in browser.find_element(By.CSS_SELECTOR, "nav.menu").text
