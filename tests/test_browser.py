"""The page in a real browser: `streamlit run app.py` as a server, driven by Playwright with Debian's chromium."""
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import psutil
import pytest

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"  # screenshots for people to look at; ignored by git
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SERVER_START_TIMEOUT_S = 60
PAGE_TIMEOUT_MS = 60_000  # the first visit imports TensorFlow and loads the model inside the server
TRAIN_PY_NAME = "sample_reviews-20261203-101500"  # a model's name as train.py makes it: the file's and a time stamp
REVIEWS = [["id", "review", "stars"], [1, "good film", 5], [2, "", 1], [3, "=HYPERLINK(\"http://x\")", 2],
           [4, 12345, 3], [5, "awful plot", 1], [6, "ممتاز 😀", 5]]

pytestmark = [
    pytest.mark.slow,  # a Streamlit server and Chromium: the slow tier (pytest -m slow), which CI runs too
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed (apt-get install chromium)"),
]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Server:
    url: str
    pid: int


@pytest.fixture(scope="module")
def server(tiny_models_dir, tmp_path_factory):
    """A real Streamlit server on a free port, started as README says (so with .streamlit/config.toml's settings),
    always stopped afterwards."""
    tmp_path = tmp_path_factory.mktemp("server")
    models = tmp_path / "models"  # its own copy: corrections made in the browser are stored beside the models
    shutil.copytree(tiny_models_dir, models)
    shutil.copytree(tiny_models_dir / "tiny-sentiment", models / TRAIN_PY_NAME)
    port = free_port()
    log = (tmp_path / "streamlit.log").open("w")
    env = {**os.environ, "PREDICTOR_MODELS_DIR": str(models)}
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port", str(port),
         "--server.fileWatcherType", "none"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://localhost:{port}"
    try:
        wait_until_healthy(url, process, tmp_path / "streamlit.log")
        yield Server(url, process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def wait_until_healthy(url, process, log_path):
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"streamlit exited with {process.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.read().strip() == b"ok":
                    return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"streamlit did not answer within {SERVER_START_TIMEOUT_S} s:\n{log_path.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def browser_context(tmp_path_factory):
    from playwright.sync_api import sync_playwright

    tmp_path = tmp_path_factory.mktemp("browser")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
            accept_downloads=True, viewport={"width": 1400, "height": 1000})
        context.set_default_timeout(PAGE_TIMEOUT_MS)
        try:
            yield context
        finally:
            context.close()


def open_page(context, url, model):
    """A new browser tab (its own Streamlit session) on the page, with `model` chosen and loaded."""
    page = context.new_page()
    page.goto(url)
    page.get_by_role("heading", name="Review scorer").wait_for()
    page.get_by_role("combobox", name="Model").click()
    page.get_by_role("option", name=model).click()
    page.wait_for_function(f"document.querySelector('input[aria-label=Model]').value === '{model}'")
    page.get_by_label("Review", exact=True).wait_for()  # the model is loaded
    return page


def upload_and_score(page, path):
    page.get_by_role("tab", name="A spreadsheet").click()
    page.locator("input[type=file]").set_input_files(str(path))
    page.get_by_role("button", name=f"Score {len(REVIEWS) - 1} rows").click()


def download(page, name, target):
    with page.expect_download() as info:
        page.get_by_role("button", name=name).click()
    info.value.save_as(str(target))
    return target


def test_review_and_spreadsheet_in_a_real_browser(server, browser_context, tmp_path):
    ARTIFACTS.mkdir(exist_ok=True)
    page = open_page(browser_context, server.url, "tiny-sentiment")

    page.get_by_label("Review", exact=True).fill("good film, great actor")
    page.get_by_role("button", name="Score review").click()
    label = page.get_by_test_id("stMainBlockContainer").get_by_test_id("stMetricValue").first
    label.wait_for()
    assert label.inner_text() in {"negative", "neutral", "positive"}
    numbers = page.get_by_test_id("stTable").inner_text()
    assert all(cls in numbers for cls in ("negative", "neutral", "positive")) and "%" in numbers
    page.screenshot(path=str(ARTIFACTS / "browser_one_review.png"), full_page=True)

    workbook = openpyxl.Workbook()
    for row in REVIEWS:
        workbook.active.append(row)
    workbook.active["B4"].data_type = "s"  # typed text that looks like a formula
    source = tmp_path / "reviews.xlsx"
    workbook.save(source)
    upload_and_score(page, source)
    page.get_by_role("button", name="Download .xlsx").wait_for()
    page.get_by_text("Rows that need review first").click()  # the preview re-orders; the screenshot shows triage
    page.get_by_text("those that need review first").wait_for()
    page.get_by_test_id("stStatusWidget").wait_for(state="hidden")  # the rerun is over: no stale elements left
    page.screenshot(path=str(ARTIFACTS / "browser_spreadsheet.png"), full_page=True)

    scored = openpyxl.load_workbook(download(page, "Download .xlsx", tmp_path / "scored.xlsx")).active
    rows = list(scored.values)
    assert rows[0][:3] == ("id", "review", "stars") and rows[0][-2:] == ("scoring_status", "needs_review")
    assert [row[0] for row in rows[1:]] == [1, 2, 3, 4, 5, 6]
    assert rows[2][-2] == "empty text" and rows[4][-2] == "not text (number)"
    assert rows[3][1] == "=HYPERLINK(\"http://x\")"  # as typed: a string cell, which Excel never evaluates
    assert all(cell.data_type != "f" for row in scored.iter_rows() for cell in row)
    csv_text = download(page, "Download .csv", tmp_path / "scored.csv").read_text(encoding="utf-8-sig")
    assert len(csv_text.strip().splitlines()) == len(REVIEWS) and "ممتاز 😀" in csv_text


def test_two_sessions_scoring_at_once_get_the_same_file(server, browser_context, tmp_path):
    source = tmp_path / "reviews.csv"
    rows = 300  # enough for the two sessions' scoring to overlap in the server
    source.write_text("review\n" + "".join(f"review number {i} good film\n" for i in range(rows)))
    pages = [open_page(browser_context, server.url, "tiny-sentiment") for _ in range(2)]
    for page in pages:
        page.bring_to_front()  # a background tab does not render, so its widgets never become visible
        page.get_by_role("tab", name="A spreadsheet").click()
        page.locator("input[type=file]").set_input_files(str(source))
        page.get_by_role("button", name=f"Score {rows} rows").wait_for()
    for page in pages:  # both sessions score at the same time, through the one cached model
        page.get_by_role("button", name=f"Score {rows} rows").click()
    files = []
    for i, page in enumerate(pages):
        page.bring_to_front()
        files.append(download(page, "Download .csv", tmp_path / f"scored-{i}.csv").read_bytes())
    assert files[0] == files[1] and files[0].count(b"\n") == rows + 1


def test_the_server_listens_on_this_machine_only(server):
    # .streamlit/config.toml binds to localhost: other machines cannot open the page unless someone says so.
    listening = [c.laddr.ip for c in psutil.Process(server.pid).net_connections(kind="inet")
                 if c.status == psutil.CONN_LISTEN]
    assert listening and all(ip in ("127.0.0.1", "::1") for ip in listening), listening


def test_explaining_and_correcting_a_review_in_a_real_browser(server, browser_context):
    ARTIFACTS.mkdir(exist_ok=True)
    page = open_page(browser_context, server.url, "tiny-sentiment")
    page.get_by_label("Review", exact=True).fill("good film but the plot was <b>awful</b>")
    page.get_by_role("button", name="Score review").click()
    # The correction expander is the run's last element under a review: once it is there the page has finished
    # running, so the clicks below are not lost to a run that a new one interrupts.
    page.get_by_text("Wrong label? Correct it").wait_for()
    page.get_by_text("Why this label?").click()
    page.get_by_role("button", name="Explain", exact=True).click()
    highlighted = page.locator("span[title]")  # one per phrase, its weight as the tooltip
    try:
        highlighted.first.wait_for()
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "browser_explanation_failed.png"), full_page=True)  # what the page showed
        raise
    assert highlighted.count() == 7 and "awful" in highlighted.all_inner_texts()
    assert page.locator("b", has_text="awful").count() == 0  # the review's markup is shown as text, never rendered
    highlighted.first.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "browser_explanation.png"), full_page=True)

    page.get_by_text("Wrong label? Correct it").click()
    page.get_by_role("combobox", name="The right label is").click()
    page.keyboard.type("negative")
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Save correction").click()
    page.get_by_text("This model has 1 correction(s)").wait_for()
    page.get_by_text("This model has 1 correction(s)").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "browser_correction.png"), full_page=True)


def test_a_model_name_as_train_py_makes_them_shows_whole_in_the_sidebars_picker(server, browser_context):
    page = open_page(browser_context, server.url, TRAIN_PY_NAME)
    text_width, box_width = page.locator("input[aria-label=Model]").evaluate("e => [e.scrollWidth, e.clientWidth]")
    assert text_width <= box_width  # a longer text scrolls inside the box: the reader sees it cut off
