"""The dashboard in headless Chromium against a live daemon: opened through its token URL,
its script renders the jobs, the selected job's loss curve (one point per step), its eval
gate against the version in service, the experts and the continual updates.

With MOCHI_WRITE_SCREENSHOTS=1 the screenshot goes to docs/dashboard.png (the README's);
otherwise to the test's temporary folder, so that a test run leaves the tree as it was.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from daemon_helpers import LiveDaemon
from dashboard_jobs import SampleJobs

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
DOCS_SCREENSHOT = Path(__file__).parents[3] / "docs" / "dashboard.png"
# a closed network: nothing in the background, nothing to fetch, nothing remembered
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
    "--virtual-time-budget=5000",  # the page's first fetches and a few polls
)


@pytest.fixture(autouse=True)
def _needs_chromium() -> None:
    if not CHROMIUM.exists():
        pytest.skip(
            "needs Debian's Chromium at /usr/bin/chromium (bash scripts/setup_vscode_e2e.sh "
            "or apt-get install chromium)"
        )


def chromium(url: str, profile: Path, *args: str) -> str:
    """Run Chromium on `url` with a fresh profile; its stdout."""
    done = subprocess.run(
        [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", *args, url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def path_points(dom: str) -> tuple[int, int]:
    """(points drawn in the loss path's `d`, its data-points attribute)."""
    found = re.search(r'<path id="loss-path" class="loss" d="([^"]*)" data-points="(\d+)"', dom)
    assert found, "no loss chart in the page"
    return len(re.findall(r"[ML]-?\d", found.group(1))), int(found.group(2))


def score_row(dom: str, key: str) -> tuple[str, str]:
    found = re.search(
        rf'<tr data-score="{key}"><td>[^<]*</td><td class="num[^"]*">([^<]*)</td>'
        r'<td class="num">([^<]*)</td></tr>',
        dom,
    )
    assert found, f"no gate row {key}"
    return found.group(1), found.group(2)


def test_the_page_shows_the_jobs_the_loss_curve_the_gate_and_the_experts(
    live: LiveDaemon, sample: SampleJobs, tmp_path: Path
) -> None:
    login = f"{live.url}/dashboard?token={live.token}"
    # the fragment survives the redirect that drops the token: the v2 update is selected
    dom = chromium(f"{login}#job={sample.v2_job}", tmp_path / "profile-1", "--dump-dom")

    assert re.search(r'id="status"[^>]*>updated [^<]* · 6 job\(s\)<', dom), "no data loaded"
    for job_id in (sample.v1_job, sample.v2_job, sample.refused_job, sample.queued_job):
        assert f'data-job-id="{job_id}"' in dom
    assert re.search(rf'data-job-id="{sample.v2_job}" class="selected"', dom)
    assert re.search(rf'data-job-id="{sample.running_job}"[^>]*>.*?running.*?train 12/40', dom)
    assert "UnknownAdapter: adapter 'docs'" in dom  # the failed job says why

    assert path_points(dom) == (20, 20)  # one point per step of the v2 run
    assert f"job {sample.v2_job[:8]} (continual, default)" in dom
    assert '<th class="num">v1 (in service)</th>' in dom
    assert score_row(dom, "loss") == ("1.102", "1.131")
    assert score_row(dom, "future_edit_similarity") == ("0.6550", "0.5970")
    assert score_row(dom, "future_exact_match") == ("0.3330", "0.2220")
    assert "Published as v2" in dom and "beats v1 (in service)" in dom

    assert 'data-expert="default"' in dom and "v2 ★ in service" in dom
    assert "One domain: the whole repository" in dom
    assert re.search(rf'data-update="{sample.refused_job}">.*?kept out', dom)
    assert "tensorboard --logdir" in dom

    # without a choice the newest training job is shown: the one still running
    newest = chromium(login, tmp_path / "profile-2", "--dump-dom")
    assert path_points(newest) == (12, 12)
    assert "The gate scores the new version once training ends." in newest

    shot = tmp_path / "dashboard.png"
    chromium(
        f"{login}#job={sample.v2_job}",
        tmp_path / "profile-3",
        f"--screenshot={shot}",
        "--window-size=1400,1420",
    )
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000
    if os.environ.get("MOCHI_WRITE_SCREENSHOTS") == "1":
        shutil.copyfile(shot, DOCS_SCREENSHOT)


def test_without_the_token_the_browser_gets_the_login_page(
    live: LiveDaemon, tmp_path: Path
) -> None:
    dom = chromium(f"{live.url}/dashboard", tmp_path / "profile", "--dump-dom")
    assert "The dashboard needs the daemon's token" in dom
    assert 'id="jobs"' not in dom
