"""The results screen in a real browser (Debian's chromium, headless, driven by Selenium): the
figures on screen are the KPI query's, and they change on screen when a command lands. A
screenshot is kept in test-artefacts/."""

from __future__ import annotations

import shutil
from pathlib import Path
from uuid import uuid4

import pytest

from bus.service.security import credential_store
from tests.bus.cli.test_cli import onestop_processes, start_onestop, stop  # noqa: F401
from tests.bus.service.test_results_screen import submit
from tests.bus_support import Service

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
ARTEFACTS = Path(__file__).resolve().parents[3] / "test-artefacts"

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="chromium and chromium-driver are not installed (.ci/run installs them)")


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service as Driver

    options = Options()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1400,1200"):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Driver(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


@pytest.fixture
def service(district, unique_name):
    running = Service(district, unique_name(), screen_port=0)
    yield running
    running.close()


# Read in one script each: the page redraws itself every few seconds, and an element found in
# one call can be gone by the next (a stale element reference).
def figure_on(browser, metric: str) -> str | None:
    return browser.execute_script(
        "const figure = document.getElementById(arguments[0]);"
        "return figure === null ? null : figure.getAttribute('data-value');", metric)


def text_on(browser, selector: str) -> str:
    return browser.execute_script(
        "const found = document.querySelector(arguments[0]);"
        "return found === null ? '' : found.textContent;", selector)


def test_the_leaders_see_the_kpi_views_figures_change_as_a_command_lands(service, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    position = submit(service)
    asked = service.query("samr", "kpi.summary", {"min_position": position})["result"]
    district = asked["groups"]["all"]
    screen = service.bus.services.screen
    password = service.district.credentials.password("samr")

    browser.get(f"http://samr:{password}@{screen.host}:{screen.port}/")

    def figure(metric: str) -> str:
        return figure_on(browser, metric)

    assert "数据大屏" in browser.title
    assert figure("problems_collected") == str(district["problems_collected"]) == "1"
    assert figure("above_scale_registered") == str(district["above_scale_registered"])
    assert browser.find_elements(By.CSS_SELECTOR, "svg rect.bar")  # the charts are drawn

    submit(service)
    WebDriverWait(browser, 30, poll_frequency=0.25).until(
        lambda _: figure("problems_collected") == "2")
    ARTEFACTS.mkdir(exist_ok=True)
    assert browser.save_screenshot(str(ARTEFACTS / "results-screen.png"))


def test_a_browser_without_the_password_is_asked_to_sign_in(service, browser):
    from selenium.webdriver.common.by import By

    screen = service.bus.services.screen
    browser.get(f"http://samr:{uuid4().hex}@{screen.host}:{screen.port}/")

    assert browser.find_elements(By.ID, "problems_collected") == []  # no figure shown


def test_up_with_the_demo_shows_the_articles_figures_dated_2022(tmp_path, browser,
                                                                   onestop_processes):
    """`onestop up --demo`, then the printed URL in a browser: the article's figures, its
    months in 2022, and the charts."""
    onestop = start_onestop(tmp_path, "--demo")
    onestop_processes.append(onestop)
    url = onestop.wait_for_line("Results:").split()[0]
    onestop.wait_for_line("1427 commands sent")
    onestop.wait_for_line("satisfaction rate")  # the demo printed the KPIs: the view has it
    password = credential_store(onestop.data_dir).password("samr")

    browser.get(url.replace("http://", f"http://samr:{password}@"))

    def figure(metric: str) -> str:
        return figure_on(browser, metric)

    assert (figure("experts_registered"), figure("instruments_registered"),
            figure("above_scale_registered"), figure("problems_solved"),
            figure("enterprises_helped")) == ("83", "32", "353", "72", "35")
    by_month = text_on(browser, 'svg[aria-label^="problems by month"]')
    assert [month for month in ("2022-03", "2022-06", "2022-10") if month in by_month] == [
        "2022-03", "2022-06", "2022-10"]
    assert text_on(browser, "#ranking").count("%") >= 2  # 好差评's ranking
    ARTEFACTS.mkdir(exist_ok=True)
    assert browser.save_screenshot(str(ARTEFACTS / "results-screen-demo.png"))
    assert stop(onestop, "SIGTERM") == 0
