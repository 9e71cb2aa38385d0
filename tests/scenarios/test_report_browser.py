"""report.html opened in a real headless Chromium (system package, driven by Selenium):
it renders, every embedded figure loads (decoded, non-zero size), it references no
external resource, and a screenshot is saved."""
import os
import re
import shutil
from pathlib import Path

import pytest

import scenarios
import spikeattn

webdriver = pytest.importorskip("selenium.webdriver", reason="the browser extra (selenium) is not installed")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and DRIVER),
                                reason="system Chromium / chromedriver missing: apt-get install chromium chromium-driver")


def sweep_available() -> bool:
    try:
        import distributed  # noqa: F401
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


def _browser():
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1200,2000"):
        opts.add_argument(a)
    return webdriver.Chrome(service=Service(DRIVER), options=opts)


def _check_page(drv, path: Path, title_part: str, min_images: int):
    drv.get(path.resolve().as_uri())
    assert title_part in drv.title
    imgs = drv.execute_script("return Array.from(document.images).map(i => [i.complete, i.naturalWidth, "
                              "i.naturalHeight, i.src.slice(0, 22)])")
    assert len(imgs) >= min_images
    for complete, w, h, src in imgs:
        assert complete and w > 100 and h > 100 and src == "data:image/png;base64,"
    text = drv.find_element("tag name", "body").text
    return text


def test_run_and_sweep_reports_render_in_chromium(tmp_path):
    run_dir = tmp_path / "run"
    r = scenarios.run_scenario("wta-routing", engine="numpy", seed=0, out=run_dir, batch=16)
    html = (run_dir / "report.html").read_text()
    assert not re.search(r'(src|href)="(?!data:)', html), "the report must be self-contained"
    drv = _browser()
    try:
        text = _check_page(drv, run_dir / "report.html", "wta-routing", len(r.doc["figures"]))
        for needle in ("PASSED", "Engine parity", "selection_accuracy_ge_threshold", "synaptic_ops", "p_high",
                       "Energy"):
            assert needle in text
        shot = run_dir / "report_screenshot.png"
        drv.save_screenshot(str(shot))
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
        drv.execute_script("document.querySelector('figure').scrollIntoView()")
        shot2 = run_dir / "report_figures_screenshot.png"
        drv.save_screenshot(str(shot2))
        keep = os.environ.get("SPIKEATTN_SCREENSHOT_DIR")
        if keep:
            Path(keep).mkdir(parents=True, exist_ok=True)
            for s in (shot, shot2):
                shutil.copy(s, Path(keep) / s.name)
        # a reduced run says so in the page
        lava_like = dict(r.doc, reduced={"batch": {"what": "batch = 8 instead of 128", "why": "Lava speed"}})
        from spikeattn.report import run_report
        run_report(lava_like, tmp_path / "reduced.html")
        text = _check_page(drv, tmp_path / "reduced.html", "wta-routing", 1)
        assert "Reduced run" in text and "Lava speed" in text
        # the sweep report: summary table and the summary plots
        if sweep_available():
            s = scenarios.run_sweep("moe-routing", {"k": [1, 2]}, tmp_path / "sweep", seeds=2, workers=1,
                                fixed={"batch": 4}, progress=False)
            text = _check_page(drv, Path(s["report"]), "moe-routing", 1)
            assert "Sweep of moe-routing" in text and "95 %" in text and "expert_ops_per_token_routed" in text
    finally:
        drv.quit()
