"""The explorer as an analyst sees it: notebooks/explore.ipynb in JupyterLab, in headless Chromium.

Runs the notebook (Run ▸ Run All Cells), waits for the app, moves the k slider with the
keyboard, chooses another algorithm and another tab, and checks the page after each step:
the widget updated, no error output, the k value readable, the controls not clipped, the
figures shown at their own size. Screenshots go to the test's temporary folder.
"""

from __future__ import annotations

import pytest

from tests.browser.lab import NotebookPage

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser")]

STATUS = "((document.querySelector('.seglab-status') || {}).innerText || '')"  # parenthesised: used in expressions
# widgets update in the page one by one (each model on its own): wait for each change seen

LAYOUT = """
const box = document.querySelector('.seglab-controls');
const readout = box.querySelector('.seglab-k .widget-readout');
readout.scrollIntoView({block: 'center'});
const r = box.getBoundingClientRect();
const area = box.closest('.jp-OutputArea-output').getBoundingClientRect();
const problems = [];
if (box.scrollWidth > box.clientWidth + 1) problems.push(`controls overflow: ${box.scrollWidth} > ${box.clientWidth} px`);
if (r.left < area.left - 1 || r.right > area.right + 1) problems.push(`controls ${r.left}-${r.right} outside the output area ${area.left}-${area.right}`);
for (const el of box.children) {
  const e = el.getBoundingClientRect();
  if (e.right > r.right + 1 || e.left < r.left - 1) problems.push(`${el.className} spans ${e.left}-${e.right}, the column ${r.left}-${r.right}`);
}
for (const el of box.querySelectorAll('select, input[type=text], input[type=number]')) {
  if (el.scrollWidth > el.clientWidth + 1) problems.push(`text cut in ${el.closest('.jupyter-widgets').className}: ${el.scrollWidth} > ${el.clientWidth}`);
}
const q = readout.getBoundingClientRect();
const hit = document.elementFromPoint((q.left + q.right) / 2, (q.top + q.bottom) / 2);
const views = document.querySelector('.seglab-views').getBoundingClientRect();
const images = [...document.querySelectorAll('.seglab-views img')].filter(i => i.offsetParent && i.naturalWidth)
  .map(i => [i.naturalWidth, i.getBoundingClientRect().width]);
return {problems, readout: readout.innerText.trim(), readoutShown: q.width > 0 && q.left >= r.left && q.right <= r.right + 1
          && (hit === readout || readout.contains(hit)),
        viewsRight: views.right, areaRight: area.right, images};
"""


def segments_listed(page) -> list[str]:
    """The segment dropdown's entries ("0: High-value frequent buyers (707)")."""
    return page.js("return [...document.querySelectorAll('.seglab-segment select option')].map(o => o.innerText);")


def map_source(page) -> str:
    return page.js("const i = document.querySelector('.seglab-views img'); return i ? i.src : '';")


def check_layout(page, k: int, *, figures_full_size: bool = True) -> dict:
    if figures_full_size:
        page.until("[...document.querySelectorAll('.seglab-views img')].some(i => i.offsetParent && i.complete "
                   "&& i.naturalWidth)", 30, what="the figures to load")
    layout = page.js(LAYOUT)
    assert not layout["problems"], layout["problems"]
    assert layout["readout"] == str(k) and layout["readoutShown"], layout
    assert layout["viewsRight"] <= layout["areaRight"] + 1, "the views are cut at the right"
    if figures_full_size:  # shown at their own size: text as readable as drawn
        assert layout["images"] and all(shown >= 0.95 * natural for natural, shown in layout["images"]), layout
    return layout


def wait_for_status(page, start: str, *, contains: str = "", timeout: float = 300) -> str:
    return page.until(f"{STATUS}.startsWith({start!r}) && {STATUS}.includes({contains!r}) && {STATUS}",
                      timeout, what=f"the status line to say {start!r} … {contains!r}")


def test_explorer_in_jupyterlab(lab, browser, tmp_path, untouched):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    page = NotebookPage(browser, lab, "explore.ipynb", timeout=300)
    page.run_all()
    wait_for_status(page, "✓ 4 segments", timeout=600)
    page.js("document.querySelector('.seglab-explorer').scrollIntoView();")
    shots = [page.screenshot(tmp_path / "1-opened.png")]
    print("screenshots:", tmp_path)
    assert not page.errors()
    check_layout(page, 4)
    opened = segments_listed(page)
    assert len(opened) == 4, opened

    # the k slider, with the keyboard: one step right
    before = map_source(page)
    handle = browser.find_element(By.CSS_SELECTOR, ".seglab-k .noUi-handle")
    handle.click()
    handle.send_keys(Keys.ARROW_RIGHT)
    wait_for_status(page, "✓ 5 segments", contains="(kmeans")
    page.until("document.querySelectorAll('.seglab-segment select option').length === 5", 30)
    page.until(f"document.querySelector('.seglab-views img').src !== {before!r}", 10, what="the map to be redrawn")
    shots.append(page.screenshot(tmp_path / "2-k5.png"))
    check_layout(page, 5)

    # another algorithm: a Gaussian mixture runs in the background
    sizes = segments_listed(page)
    Select(browser.find_element(By.CSS_SELECTOR, ".seglab-algorithm select")).select_by_visible_text("gmm")
    wait_for_status(page, "✓ 5 segments", contains="(gmm")
    page.until("document.querySelectorAll('.seglab-segment select option').length === 5 && "
               "[...document.querySelectorAll('.seglab-segment select option')].map(o => o.innerText).join('|') "
               f"!== {'|'.join(sizes)!r}", 30, what="the segment sizes to change with the algorithm")
    shots.append(page.screenshot(tmp_path / "3-gmm.png"))

    # another tab: the profiles, drawn when opened
    next(t for t in browser.find_elements(By.CSS_SELECTOR, ".seglab-views .lm-TabBar-tab")
         if t.text.strip() == "Profiles").click()
    page.until("document.querySelectorAll('.seglab-profiles th[title]').length === 5", 60,
               what="the profiles table with 5 segments")
    shots.append(page.screenshot(tmp_path / "4-profiles.png"))
    check_layout(page, 5, figures_full_size=False)
    assert not page.errors() and not page.text(".seglab-status").startswith("✗")

    # narrower: a 1,000 px window; the views move below the controls, nothing is cut
    browser.set_window_size(1000, 1000)
    page.until("document.querySelector('.seglab-views').getBoundingClientRect().top > "
               "document.querySelector('.seglab-controls').getBoundingClientRect().bottom - 1", 10,
               what="the views to wrap below the controls")
    check_layout(page, 5, figures_full_size=False)
    shots.append(page.screenshot(tmp_path / "5-1000px.png"))
    assert all(p.stat().st_size > 10_000 for p in shots)
