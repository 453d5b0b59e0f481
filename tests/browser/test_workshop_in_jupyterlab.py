"""The first workshop exercise in JupyterLab, as a participant does it, in headless Chromium.

Opens notebooks/workshop/01_rfm.ipynb, runs it, types a wrong answer into the exercise cell
(orders counted as lines), runs it and its check, reads the feedback from the page, then
types the right answer and reads the check's "✓".
"""

from __future__ import annotations

import pytest

from tests.browser.lab import NotebookPage

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("browser")]

EXERCISE, CHECK = 3, 4  # the cells "# your code here / rfm = None" and check_rfm(...)

WRONG = ['purchases = tx[tx["amount"] > 0]',
         'rfm = purchases.groupby("customer_id").agg(last=("order_date", "max"), orders=("order_id", "size"))'
         '.reset_index()',
         'rfm["recency_days"] = (as_of - rfm["last"].dt.normalize()).dt.days',
         'rfm["monetary"] = rfm["customer_id"].map(tx.groupby("customer_id")["amount"].sum())']
RIGHT = ['purchases = tx[tx["amount"] > 0]',
         'last_day = purchases.groupby("customer_id")["order_date"].max().dt.normalize()',
         'rfm = pd.DataFrame({"recency_days": (as_of - last_day).dt.days, '
         '"orders": purchases.groupby("customer_id")["order_id"].nunique(), '
         '"monetary": tx.groupby("customer_id")["amount"].sum()}).rename_axis("customer_id").reset_index()']

CELL = "document.querySelectorAll('.jp-Notebook .jp-Cell')[{}]"


def output(page, cell: int) -> str:
    return page.js(f"const c = {CELL.format(cell)}; const o = c && c.querySelector('.jp-OutputArea');"
                   " return o ? o.innerText : '';")


def answer(page, lines: list[str]) -> None:
    """Type ``lines`` into the exercise cell as a participant would, then Shift+Enter twice
    (run it, then run the check below it)."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    page.js(f"{CELL.format(EXERCISE)}.scrollIntoView({{block: 'center'}});")
    editor = page.driver.execute_script(f"return {CELL.format(EXERCISE)}.querySelector('.cm-content');")
    editor.click()
    keys = ActionChains(page.driver).key_down(Keys.CONTROL).send_keys("a").key_up(Keys.CONTROL)
    keys.send_keys(Keys.DELETE).perform()
    ActionChains(page.driver).send_keys(Keys.ENTER.join(lines)).perform()  # no line opens a block: no indent
    typed = page.js(f"return {CELL.format(EXERCISE)}.querySelector('.cm-content').innerText;")
    assert [t.strip() for t in typed.splitlines() if t.strip()] == lines, typed
    ActionChains(page.driver).key_down(Keys.SHIFT).send_keys(Keys.ENTER).key_up(Keys.SHIFT).perform()
    ActionChains(page.driver).key_down(Keys.SHIFT).send_keys(Keys.ENTER).key_up(Keys.SHIFT).perform()


def feedback(page, previous: str, timeout: float = 120) -> str:
    """The check cell's output once it differs from ``previous``."""
    return page.until(f"(() => {{ const c = {CELL.format(CHECK)}; const o = c && c.querySelector('.jp-OutputArea');"
                      f" const t = o ? o.innerText : ''; return t.trim() && t !== {previous!r} ? t : ''; }})()",
                      timeout, what="the check's feedback")


def test_first_workshop_exercise_in_jupyterlab(lab, browser, tmp_path, untouched):
    page = NotebookPage(browser, lab, "workshop/01_rfm.ipynb", timeout=300)
    page.run_all()
    blank = feedback(page, "", timeout=600)
    assert "not yet" in blank.lower()
    print("screenshots:", tmp_path)

    answer(page, WRONG)
    wrong = feedback(page, blank)
    page.js(f"{CELL.format(CHECK)}.scrollIntoView({{block: 'center'}});")
    page.screenshot(tmp_path / "1-wrong-answer.png")
    assert wrong.startswith("✗ Not yet"), wrong
    assert "you counted lines" in wrong and "nunique" in wrong, wrong

    answer(page, RIGHT)
    right = feedback(page, wrong)
    page.js(f"{CELL.format(CHECK)}.scrollIntoView({{block: 'center'}});")
    page.screenshot(tmp_path / "2-right-answer.png")
    assert right.startswith("✓ your RFM table matches seglab's"), right
    assert not page.errors()
