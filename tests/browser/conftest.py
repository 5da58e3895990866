"""Browser tests: Debian's headless chromium, driven through its chromedriver, against a real gateway.

The gateway runs as a subprocess on SQLite with a mock OpenAI upstream. Chromium is started with the
flags that keep it off the network (no background updates, sync or component downloads).
`SAVE_SCREENSHOTS=1` writes the README's screenshots into `tests/browser/screenshots/`.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.liveserver import live_server
from tests.upstreams import openai as mock_openai
from tests.upstreams.server import serve

pytestmark = pytest.mark.browser
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
SCREENSHOTS = Path(__file__).parent / "screenshots"


def _options(tmp: Path, javascript: bool = True, width: int = 1280, height: int = 900):
    from selenium.webdriver.chrome.options import Options

    options = Options()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-default-apps", "--disable-extensions", f"--user-data-dir={tmp}",
                 f"--window-size={width},{height}", "--lang=zh-CN"):
        options.add_argument(flag)
    if width < 500:
        # Desktop chromium will not open a window narrower than 500 px; a phone is emulated instead.
        options.add_experimental_option("mobileEmulation", {"deviceMetrics": {"width": width, "height": height,
                                                                              "pixelRatio": 2}})
    prefs = {"intl.accept_languages": "zh-CN,zh"}
    if not javascript:
        prefs["profile.managed_default_content_settings.javascript"] = 2
    options.add_experimental_option("prefs", prefs)
    return options


def start_browser(tmp: Path, **kwargs):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=_options(tmp, **kwargs))
    driver.set_page_load_timeout(30)
    driver.implicitly_wait(0)
    return driver


@pytest.fixture(scope="module")
def upstream():
    app = mock_openai.create_app(chunk_delay=0.0)
    with serve(app) as base:
        yield app, base


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("browser-gateway")
    env = {"SQLITE_PATH": str(workdir / "one-api.db"), "SESSION_SECRET": "browser-tests-session-secret-7d21",
           "TZ": "UTC"}
    with live_server(env, workdir) as base:
        yield base


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    driver = start_browser(tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield driver
    finally:
        driver.quit()


def screenshot(driver, name: str) -> None:
    """Save a README screenshot when asked to; the tests take them either way (a failing render fails)."""
    png = driver.get_screenshot_as_png()
    assert png.startswith(b"\x89PNG")
    if os.environ.get("SAVE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(exist_ok=True)
        (SCREENSHOTS / f"{name}.png").write_bytes(png)


def submit_and_wait(driver, element, timeout: float = 10) -> None:
    """Click `element` and wait until the browser has left the page it was on (a full page load)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait

    page = driver.find_element(By.TAG_NAME, "html")
    element.click()
    WebDriverWait(driver, timeout).until(EC.staleness_of(page))


def click_and_wait(driver, css: str, timeout: float = 10) -> None:
    """`submit_and_wait` on the element `css` finds. Chromium sometimes answers a click on a node it
    found a moment before with "does not belong to the document" (the node's document was being
    swapped); the click did not happen then, so the element is looked up again."""
    import time

    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
    from selenium.webdriver.common.by import By

    for attempt in range(3):
        try:
            submit_and_wait(driver, driver.find_element(By.CSS_SELECTOR, css), timeout)
            return
        except StaleElementReferenceException:
            pass
        except WebDriverException as exc:
            if "does not belong to the document" not in str(exc) or attempt == 2:
                raise
        time.sleep(0.2)
