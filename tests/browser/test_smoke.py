"""First contact: the login page in chromium, signing in as root, switching the language."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

pytestmark = pytest.mark.browser


def test_root_logs_in_and_switches_language(browser, gateway):
    browser.get(f"{gateway}/login")
    wait = WebDriverWait(browser, 10)
    assert browser.find_element(By.CSS_SELECTOR, "h1").text == "登录"
    assert browser.find_elements(By.CSS_SELECTOR, "head style"), "htmx did not start"
    browser.find_element(By.NAME, "username").send_keys("root")
    browser.find_element(By.NAME, "password").send_keys("123456")
    browser.find_element(By.CSS_SELECTOR, "#login button.primary").click()
    wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, "nav.menu a[href='/channel']")))
    assert browser.current_url == f"{gateway}/", "the address bar follows the redirect after the boosted POST"
    browser.find_element(By.CSS_SELECTOR, ".lang-switch button[value='en']").click()
    wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, "nav.menu"), "Channels"))
