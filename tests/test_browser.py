"""The lab page, the live lab and the bench report in a real headless browser (Debian's chromium and chromedriver,
driven by selenium).

Without a browser these tests skip with a one-line reason; with ``GANZOO_REQUIRE_BROWSER=1`` (CI) they fail
instead. Screenshots for a person to look at go to ``$GANZOO_SCREENSHOTS`` (default: pytest's temporary folder)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
import urllib.request
from pathlib import Path

import pytest

from ganzoo.engine import TrainConfig
from ganzoo.lab import record, write_page
from ganzoo.lab.server import LabServer
from ganzoo.lab.session import LiveSession
from ganzoo.plugins import get_registry

WAIT_S = 30  # how long to wait for the page to react: a bound on a wait, never a measured duration


def _missing() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    for names in (("chromium", "chromium-browser", "google-chrome"), ("chromedriver",)):
        if not any(shutil.which(n) for n in names):
            return f"{names[0]} is not on PATH (apt-get install chromium chromium-driver)"
    return None


def _skip_or_fail(missing: str | None) -> None:
    """Skip when something the browser tests need is missing, or fail where CI requires the browser."""
    if missing:
        if os.environ.get("GANZOO_REQUIRE_BROWSER") == "1":
            pytest.fail(f"GANZOO_REQUIRE_BROWSER=1 but {missing}")
        pytest.skip(f"no headless browser: {missing}")


def test_a_missing_browser_skips_here_and_fails_where_ci_requires_it(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    missing = _missing()
    assert missing and "chromium" in missing
    monkeypatch.delenv("GANZOO_REQUIRE_BROWSER", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no headless browser"):
        _skip_or_fail(missing)
    monkeypatch.setenv("GANZOO_REQUIRE_BROWSER", "1")
    with pytest.raises(pytest.fail.Exception, match="GANZOO_REQUIRE_BROWSER=1"):
        _skip_or_fail(missing)


@pytest.fixture(scope="module")
def browser():
    _skip_or_fail(_missing())
    os.environ.setdefault("SE_OFFLINE", "true")  # selenium must never download a driver or a browser
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = next(shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")
                                   if shutil.which(n))
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1300,1000", "--hide-scrollbars", "--force-device-scale-factor=1"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(shutil.which("chromedriver")))
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory) -> Path:
    folder = Path(os.environ.get("GANZOO_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _errors(driver) -> list[dict]:
    """The console's errors since the last call."""
    return [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def _open(driver, url: str) -> None:
    """Load ``url`` with a clean console: nothing logged by an earlier page counts against this one."""
    driver.get("about:blank")
    driver.get_log("browser")
    driver.get(url)


def _wait(driver, condition, message: str):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, WAIT_S).until(lambda d: condition(d), message)


def _pixels(driver, selector: str = "canvas.plane") -> str:
    """A digest of what a canvas shows."""
    url = driver.execute_script(f"return document.querySelector('{selector}').toDataURL()")
    return hashlib.sha256(url.encode()).hexdigest()


def _drawn_fraction(driver) -> float:
    """The share of the plane's plot area (inside the axes: lab.js's margins, 34 8 26 8 px) that is not white."""
    return driver.execute_script("""
        const c = document.querySelector('canvas.plane'), ctx = c.getContext('2d'), r = window.devicePixelRatio || 1;
        const x = Math.ceil(36 * r), y = Math.ceil(10 * r), w = c.width - x - Math.ceil(10 * r);
        const d = ctx.getImageData(x, y, w, c.height - y - Math.ceil(28 * r)).data;
        let drawn = 0;
        for (let i = 0; i < d.length; i += 4) if (d[i] < 245 || d[i + 1] < 245 || d[i + 2] < 245) drawn++;
        return drawn / (d.length / 4);""")


def _step(driver) -> int:
    return int(driver.find_element("id", "step").text)


def _scrub(driver, index: int) -> None:
    driver.execute_script("const s = document.getElementById('scrubber'); s.value = arguments[0]; "
                          "s.dispatchEvent(new Event('input'));", index)


@pytest.fixture(scope="module")
def lab_page(tmp_path_factory) -> tuple[Path, list[int]]:
    recording = record(TrainConfig("gan", dataset="ring8", steps=40, batch_size=32, z_dim=2, device="cpu"), every=5)
    path = write_page(tmp_path_factory.mktemp("lab") / "lab.html", [recording])
    return path, [f.step for f in recording.frames]


def test_the_lab_page_works_from_file_without_console_errors(browser, lab_page, screenshots):
    path, steps = lab_page
    _open(browser, path.as_uri())
    assert _errors(browser) == []
    assert browser.find_element("id", "step").text == "0"
    assert _drawn_fraction(browser) > 0.5  # the heatmap fills the plane

    _scrub(browser, 7)
    assert _step(browser) == steps[7] == 35
    browser.find_element("id", "forward").click()
    assert _step(browser) == steps[8]
    browser.find_element("id", "back").click()
    browser.find_element("id", "back").click()
    assert _step(browser) == steps[6]

    with_heatmap = _pixels(browser)
    browser.find_element("css selector", "input[data-layer=heatmap]").click()
    assert _pixels(browser) != with_heatmap
    assert _drawn_fraction(browser) < 0.5
    for layer in ("manifold", "real", "fake", "gradients"):
        browser.find_element("css selector", f"input[data-layer={layer}]").click()
    assert _drawn_fraction(browser) == 0.0  # every layer hidden: an empty plane
    for layer in ("heatmap", "manifold", "real", "fake", "gradients"):
        browser.find_element("css selector", f"input[data-layer={layer}]").click()
    assert _pixels(browser) == with_heatmap

    _scrub(browser, 0)
    browser.find_element("id", "play").click()
    _wait(browser, lambda d: _step(d) > 0, "play did not advance the frame counter")
    browser.find_element("id", "play").click()  # pause
    _scrub(browser, len(steps) - 1)
    assert _step(browser) == 40
    assert _errors(browser) == []
    browser.save_screenshot(str(screenshots / "lab.png"))
    assert (screenshots / "lab.png").stat().st_size > 10_000


def test_the_comparison_page_shows_each_run_at_the_same_step(browser, tmp_path, screenshots):
    config = {"dataset": "ring8", "steps": 10, "batch_size": 32, "device": "cpu"}
    recordings = [record(TrainConfig("gan", **config), every=2), record(TrainConfig("wgan-gp", **config), every=5)]
    path = write_page(tmp_path / "compare.html", recordings)
    _open(browser, path.as_uri())
    assert len(browser.find_elements("css selector", "canvas.plane")) == 2
    _scrub(browser, 4)  # the union of recorded steps: 0, 2, 4, 5, 6, 8, 10
    assert _step(browser) == 6
    titles = [t.text for t in browser.find_elements("css selector", ".panel h2")]
    assert titles == ["gan on ring8, seed 0 · step 6", "wgan-gp on ring8, seed 0 · step 5"]
    assert _errors(browser) == []
    browser.save_screenshot(str(screenshots / "lab-compare.png"))


@pytest.fixture
def live(tmp_path):
    session = LiveSession(TrainConfig("gan", dataset="ring8", batch_size=32, z_dim=2, device="cpu"), get_registry(),
                          every=5)
    server = LabServer(session, "127.0.0.1", 0, tmp_path / "watched.html")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    session.close()
    thread.join(timeout=WAIT_S)
    assert not thread.is_alive()
    with pytest.raises(OSError):
        urllib.request.urlopen(server.url, timeout=5)


def test_the_live_lab_steps_d_from_the_page_and_refuses_a_bad_learning_rate(browser, live, screenshots):
    _open(browser, live.url)
    _wait(browser, lambda d: d.find_element("id", "step-of").text.endswith("1 / 1"), "the page did not load")
    before = _pixels(browser)
    browser.find_element("css selector", "button[data-action=d_step]").click()
    _wait(browser, lambda d: d.find_element("id", "step-of").text.endswith("2 / 2"), "no frame after the D step")
    assert _step(browser) == 0  # a D step does not advance the generator's step count
    assert "after: D step" in browser.find_element("css selector", ".info").text
    assert _pixels(browser) != before  # D's surface moved
    frames = live.session.frames(0, 0)["frames"]
    assert frames[1]["layers"]["heatmap"] != frames[0]["layers"]["heatmap"]
    assert frames[1]["layers"]["fake"] == frames[0]["layers"]["fake"]  # G did not

    box = browser.find_element("id", "lr_g")
    box.clear()
    box.send_keys("-1")
    browser.find_element("id", "apply").click()
    status = _wait(browser, lambda d: d.find_element("id", "status").text and d.find_element("id", "status"),
                   "no message for a bad learning rate")
    assert "lr_g must be above 0" in status.text and "error" in status.get_attribute("class")
    assert live.session.settings()["lr_g"] == pytest.approx(2e-4)

    browser.find_element("id", "train").click()
    _wait(browser, lambda d: _step(d) >= 10, "training did not run")
    browser.find_element("id", "train").click()
    browser.save_screenshot(str(screenshots / "lab-live.png"))
    network_errors = [e for e in _errors(browser) if "status of 400" not in e["message"]]
    assert network_errors == []  # the only error the console saw is the refused setting
    browser.get("about:blank")  # stop polling before the server goes


def test_the_bench_report_renders_with_its_images_and_links_the_lab(browser, tmp_path, screenshots):
    from ganzoo.bench import BenchConfig, run_bench

    result = run_bench(BenchConfig(variant="gan", dataset="ring8", steps=20, batch_size=32, device="cpu",
                                   out=str(tmp_path / "bench")))
    _open(browser, (result.out / "report.html").as_uri())
    assert _errors(browser) == []
    images = browser.find_elements("css selector", "figure img")
    assert len(images) >= 3  # samples, untrained samples, losses
    assert all(browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", img)
               for img in images)
    captions = [c.text for c in browser.find_elements("css selector", "figcaption")]
    assert any(c.startswith("Step 20") for c in captions) and any("untrained" in c for c in captions)
    text = browser.find_element("tag name", "body").text
    assert "**" not in text and "`" not in text  # Markdown is not shown literally
    headers = [th.text for th in browser.find_elements("css selector", "table th")]
    assert "step 0 (untrained)" in headers and any(h.startswith("floor") for h in headers)
    link = browser.find_element("css selector", ".lab a")
    assert link.get_attribute("href").endswith("lab.html") and (result.out / "lab.html").is_file()
    browser.set_window_size(1100, 2400)
    browser.save_screenshot(str(screenshots / "report.png"))
    browser.set_window_size(1300, 1000)
    metrics = json.loads((result.out / "metrics.json").read_text())
    assert metrics["toy"]["final"]["num_modes"] == 8
