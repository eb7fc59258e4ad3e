"""evaluation.compare: rliable's statistics against hand-computed values, the CLI on small
hand-made sweep directories (nothing is trained), and index.html in headless Chromium."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("rliable.library", reason="needs the [compare] extra (rliable)")

from evaluation import compare  # noqa: E402
from meta_explore_envs.rendering import save_gif  # noqa: E402

REPS = 200  # small: the tests check values and determinism, not CI accuracy

# Agent A and agent B: 4 training runs (rows) x 3 envs (columns) of normalised scores.
A = np.array([[0.1, 0.2, 0.0],
              [0.4, 0.3, 0.65],
              [0.6, 0.5, 0.8],
              [0.9, 1.2, 1.3]])
B = np.array([[0.2, 0.3, 0.1],
              [0.4, 0.3, 0.7],
              [0.5, 0.4, 0.9],
              [0.7, 0.6, 1.0]])


def test_aggregate_metrics_equal_the_hand_computation():
    estimates = compare.interval_estimates(A, reps=REPS, seed=0)
    # IQM: the 12 scores sorted are 0.0 0.1 0.2 | 0.3 0.4 0.5 0.6 0.65 0.8 | 0.9 1.2 1.3; a 25%
    # trimmed mean drops 3 at each end: (0.3 + 0.4 + 0.5 + 0.6 + 0.65 + 0.8) / 6 = 3.25 / 6.
    assert estimates["iqm"].value == pytest.approx(3.25 / 6)
    # Mean of the env means: env means (0.1+0.4+0.6+0.9)/4 = 0.5, (0.2+0.3+0.5+1.2)/4 = 0.55,
    # (0.0+0.65+0.8+1.3)/4 = 0.6875; (0.5 + 0.55 + 0.6875) / 3 = 1.7375 / 3.
    assert estimates["mean"].value == pytest.approx(1.7375 / 3)
    # Median of the env means 0.5, 0.55, 0.6875 = 0.55.
    assert estimates["median"].value == pytest.approx(0.55)
    # Optimality gap: 1 - mean(min(score, 1)); clipped sums 2.0 + (0.2+0.3+0.5+1.0) + (0.0+0.65+0.8+1.0)
    # = 2.0 + 2.0 + 2.45 = 6.45; 1 - 6.45 / 12 = 0.4625.
    assert estimates["optimality_gap"].value == pytest.approx(0.4625)
    for name, estimate in estimates.items():
        low, high = estimate.ci
        assert low <= estimate.value <= high, (name, estimate)


def test_the_median_of_one_env_is_the_median_over_its_runs():
    # Env 1 of A: runs 0.1 0.4 0.6 0.9 -> median (0.4 + 0.6) / 2 = 0.5, mean 0.5; env 3: runs
    # 0.0 0.65 0.8 1.3 -> median 0.725, mean 0.6875 (rliable's median of env means would be the mean).
    assert compare.interval_estimates(A[:, :1], reps=REPS, seed=0)["median"].value == pytest.approx(0.5)
    estimates = compare.interval_estimates(A[:, 2:], reps=REPS, seed=0)
    assert estimates["median"].value == pytest.approx(0.725)
    assert estimates["mean"].value == pytest.approx(0.6875)
    low, high = estimates["median"].ci
    assert low <= 0.725 <= high


def test_estimates_are_deterministic_and_leave_numpy_global_state_alone():
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    first = compare.interval_estimates(A, reps=REPS, seed=7)
    assert np.array_equal(np.random.get_state()[1], before)  # restored
    assert compare.interval_estimates(A, reps=REPS, seed=7) == first
    assert compare.interval_estimates(A, reps=REPS, seed=8) != first  # the seed matters
    assert compare.probability_of_improvement(A, B, REPS, 3) == compare.probability_of_improvement(A, B, REPS, 3)


def test_performance_profile_counts_scores_above_tau():
    profile, band = compare.performance_profile(A, [-0.1, 0.0, 0.5, 1.0], reps=REPS, seed=0)
    # Of the 12 scores: all are > -0.1; all but the 0.0 are > 0 (11); > 0.5 (strictly): 0.6 0.9
    # 1.2 0.65 0.8 1.3 (6); > 1: 1.2 1.3 (2).
    assert profile.tolist() == pytest.approx([12 / 12, 11 / 12, 6 / 12, 2 / 12])
    assert band.shape == (2, 4)
    assert np.all(band[0] <= profile + 1e-12) and np.all(profile <= band[1] + 1e-12)


def test_probability_of_improvement_is_the_mann_whitney_fraction():
    # Per env, pairs (a, b) of A's and B's runs with a > b, ties 1/2, over 4 x 4 = 16 pairs:
    # env 1, A 0.1 0.4 0.6 0.9 vs B 0.2 0.4 0.5 0.7: 0 + (1 + 1/2) + 3 + 4 = 8.5
    # env 2, A 0.2 0.3 0.5 1.2 vs B 0.3 0.3 0.4 0.6: 0 + (1/2 + 1/2) + 3 + 4 = 8
    # env 3, A 0.0 0.65 0.8 1.3 vs B 0.1 0.7 0.9 1.0: 0 + 1 + 2 + 4 = 7
    estimate = compare.probability_of_improvement(A, B, reps=REPS, seed=0)
    assert estimate.value == pytest.approx((8.5 + 8 + 7) / 48)
    assert estimate.ci[0] <= estimate.value <= estimate.ci[1]
    one_env = compare.probability_of_improvement(A[:, :1], B[:, :1], reps=REPS, seed=0)
    assert one_env.value == pytest.approx(8.5 / 16)
    reverse = compare.probability_of_improvement(B, A, reps=REPS, seed=0)
    assert reverse.value == pytest.approx(1 - estimate.value)


def test_a_single_run_has_no_ci_and_bad_input_names_the_value():
    single = compare.interval_estimates(A[:1], reps=REPS)
    assert single["mean"] == compare.Estimate(pytest.approx(0.1), None)
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        compare.interval_estimates([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="finite"):
        compare.interval_estimates([[np.nan]])
    with pytest.raises(ValueError, match="same envs"):
        compare.probability_of_improvement(A, B[:, :2])


def test_curves_on_common_steps_or_interpolated():
    steps, values, grid = compare.align_curves([[[0, 0.0], [100, 0.5], [200, 1.0]], [[0, 0.2], [200, 0.6]]])
    assert grid == "common steps" and steps.tolist() == [0, 200] and values.tolist() == [[0.0, 1.0], [0.2, 0.6]]
    steps, values, grid = compare.align_curves([[[0, 0.0], [100, 1.0]], [[50, 0.0], [150, 1.0]]], points=3)
    assert grid == "interpolated" and steps.tolist() == [50, 75, 100]  # never extrapolated
    assert values.tolist() == [[0.5, 0.75, 1.0], [0.0, 0.25, 0.5]]
    iqm, band = compare.iqm_curve(A, reps=REPS)  # 4 runs, 3 points of training
    assert iqm.tolist() == pytest.approx([0.5, 0.4, 0.725])  # middle two of each column's 4 scores
    assert band.shape == (2, 3)


# --- fixture sweeps ---------------------------------------------------------------------------

BOUNDS = {"optimal": 0.8, "no_exploration": 0.2, "thompson": 0.5, "random": -1.0}  # Thompson: 0.5 normalised


def write_run(sweep: Path, agent: str, env_id: str, seed: int, status: str = "done", score: float = 0.5,
              gif: bool = False) -> Path:
    """A hand-made run directory like evaluation.sweep writes it."""
    directory = sweep / "runs" / agent / env_id / f"seed{seed}"
    directory.mkdir(parents=True)
    record = {"schema_version": 1, "agent": agent, "agent_module": f"baselines.{agent}", "env_id": env_id,
              "seed": seed, "total_steps": 1000, "status": status, "error": None, "log": "train.log",
              "commands": {"train": ["python", "-m", f"baselines.{agent}.train", "--seed", str(seed)]},
              "train_wall_s": 12.5, "env_steps": 1000}
    (directory / "train.log").write_text(f"training {agent} {env_id} seed {seed}\n")
    if status == "failed":
        record["error"] = "RuntimeError: loss is NaN"
        (directory / "train.log").write_text("Traceback ...\nRuntimeError: loss is NaN\n")
    if status == "done":
        split = {"normalised": score, "normalised_ci": [score - 0.1, score + 0.1], "mean_return": 0.2 + 0.6 * score,
                 "return_ci": [0.1, 0.3], "exploration_score": score, "exploration_score_ci": [score - 0.1, score],
                 "exploitation_efficiency": 1.0, "num_trials": 300, "bounds": BOUNDS}
        record |= {"test": split, "train": {**split, "normalised": score + 0.05},
                   "curve": [[0, 0.0], [500, score / 2], [1000, score]], "gif": None}
        if gif:
            frames = [np.full((6, 10, 3), 40 * k, np.uint8) for k in range(3)]
            save_gif(directory / "score" / "test" / "gifs" / "trial0.gif", frames)
            record["gif"] = "score/test/gifs/trial0.gif"
    (directory / "run.json").write_text(json.dumps(record))
    return directory


def write_sweep(root: Path, name: str, command: str, runs: list[str] | None = None) -> Path:
    """A sweep.json; ``runs``: the run folders it plans (as evaluation.sweep lists them)."""
    sweep = root / name
    sweep.mkdir(parents=True)
    document = {"schema_version": 1, "command": command, "created": "2025-06-01T12:00:00Z", "config": {}}
    if runs is not None:
        document["runs"] = runs
    (sweep / "sweep.json").write_text(json.dumps(document))
    return sweep


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory) -> tuple[Path, Path]:
    """s1: dream and random on MetaMap-v0 and MetaCooking-v0, seeds 0-3, dream's seed 3 on
    MetaCooking failed, random's seed 4 still running, dream's seed 5 pending (no run.json);
    s2: thompson on MetaMap-v0 only, seeds 0-2 done, seed 3 planned in sweep.json, not started."""
    root = tmp_path_factory.mktemp("sweeps")
    s1 = write_sweep(root, "s1", "python -m evaluation.sweep --agent dream random --seeds 0 1 2 3")
    for seed in range(4):
        for env_id, offset in (("MetaMap-v0", 0.0), ("MetaCooking-v0", 0.1)):
            dream_failed = env_id == "MetaCooking-v0" and seed == 3
            write_run(s1, "dream", env_id, seed, "failed" if dream_failed else "done", 0.7 + offset + 0.05 * seed,
                      gif=True)
            write_run(s1, "random", env_id, seed, score=-0.5 + 0.1 * seed, gif=True)
    write_run(s1, "random", "MetaMap-v0", 4, status="running")
    (s1 / "runs" / "dream" / "MetaMap-v0" / "seed5").mkdir()
    s2 = write_sweep(root, "s2", "python -m evaluation.sweep --agent thompson --env MetaMap-v0",
                     runs=[f"runs/thompson/MetaMap-v0/seed{seed}" for seed in range(4)])
    for seed in range(3):
        write_run(s2, "thompson", "MetaMap-v0", seed, score=0.4 + 0.02 * seed)
    return s1, s2


@pytest.fixture(scope="module")
def report(sweeps, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report")
    compare.main([str(sweeps[0]), str(sweeps[1]), "--out", str(out), "--reps", str(REPS), "--taus", "21"])
    return out


def test_cli_writes_the_report(report: Path, sweeps):
    document = json.loads((report / "report.json").read_text())
    assert document["command"].startswith("python -m evaluation.compare ")
    assert [s["command"] for s in document["sweeps"]] == [
        "python -m evaluation.sweep --agent dream random --seeds 0 1 2 3",
        "python -m evaluation.sweep --agent thompson --env MetaMap-v0"]
    assert document["bootstrap"]["reps"] == REPS and document["bootstrap"]["seed"] == 0
    assert document["agents"] == ["dream", "random", "thompson"]
    assert document["statuses"] == {"done": 18, "failed": 1, "running": 1, "pending": 2}

    # Only thompson lacks MetaCooking-v0: the aggregate is over MetaMap-v0, and says why.
    aggregate = document["aggregate"]
    assert aggregate["envs"] == ["MetaMap-v0"]
    assert aggregate["left_out_envs"] == {"MetaCooking-v0": "no finished run of thompson"}
    assert aggregate["agents"]["dream"]["seeds"] == [0, 1, 2, 3]
    assert aggregate["agents"]["dream"]["left_out_seeds"] == {"5": "MetaMap-v0: pending"}
    assert aggregate["agents"]["random"]["left_out_seeds"] == {"4": "MetaMap-v0: running"}
    assert aggregate["agents"]["thompson"]["left_out_seeds"] == {"3": "MetaMap-v0: pending"}
    # dream on MetaMap-v0: 0.70 0.75 0.80 0.85, IQM of 4 = mean of the middle two = 0.775.
    assert aggregate["agents"]["dream"]["iqm"]["value"] == pytest.approx(0.775)
    # Per env uses every finished run: dream has 3 on MetaCooking-v0 (0.80 0.85 0.90; IQM of 3
    # trims int(0.75) = 0 runs: the mean 0.85).
    cooking = document["per_env"]["MetaCooking-v0"]["agents"]["dream"]
    assert cooking["runs"] == 3 and cooking["statuses"] == {"done": 3, "failed": 1}
    assert cooking["iqm"]["value"] == pytest.approx(0.85)
    assert document["per_env"]["MetaMap-v0"]["bounds"]["thompson_normalised"] == pytest.approx(0.5)
    pairs = {(p["x"], p["y"]): p["value"] for p in document["probability_of_improvement"]["aggregate"]}
    assert pairs["dream", "random"] == 1.0 and pairs["random", "dream"] == 0.0

    # Failed runs are in report.json and on the page, with their log copied.
    failed = [r for r in document["runs"] if r["status"] == "failed"]
    assert len(failed) == 1 and failed[0]["error"] == "RuntimeError: loss is NaN"
    assert "loss is NaN" in (report / failed[0]["log"]).read_text()
    assert {r["status"] for r in document["runs"]} == {"done", "failed", "running", "pending"}
    page = (report / "index.html").read_text()
    assert '<tr class="failed">' in page and "RuntimeError: loss is NaN" in page
    assert page.count('<tr class="pending">') == 2
    assert f'href="{failed[0]["log"]}"' in page

    for name in ("aggregate.png", "per_env.png", "performance_profile.png", "probability_of_improvement.png",
                 "curves-MetaMap-v0.png", "curves-MetaCooking-v0.png"):
        assert (report / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
        assert f'src="{name}"' in page
    # GIFs: the median run of each agent and env (dream on MetaMap-v0: 0.70 0.75 0.80 0.85 -> seed 1);
    # thompson's runs have no GIF.
    gifs = {(g["agent"], g["env_id"]): g for g in document["gifs"]}
    assert set(gifs) == {(a, e) for a in ("dream", "random") for e in ("MetaMap-v0", "MetaCooking-v0")}
    assert gifs["dream", "MetaMap-v0"]["seed"] == 1
    for gif in gifs.values():
        assert (report / gif["path"]).is_file() and f'src="{gif["path"]}"' in page
    assert not re.search(r'(src|href)="(/|[a-z]+:)', page), "index.html must use relative links only"
    # The same tables in Markdown, for docs: one row per run, the failure among them.
    markdown = (report / "report.md").read_text()
    # Tables and figures name each method by its TRAINING.label (baselines.dream: DREAM); the
    # keys stay the sweeps' agent names. Agents without a label keep their name.
    assert document["labels"] == {"dream": "DREAM", "random": "random", "thompson": "thompson"}
    assert markdown.count("\n| DREAM | MetaMap-v0 | ") == sum(
        1 for r in document["runs"] if (r["agent"], r["env_id"]) == ("dream", "MetaMap-v0")) > 0
    assert ">DREAM</td>" in page and "| dream |" not in markdown
    assert "| failed |" in markdown and "IQM [95% CI]" in markdown


def test_report_json_is_deterministic(report: Path, sweeps):
    first = (report / "report.json").read_bytes()
    compare.main([str(sweeps[0]), str(sweeps[1]), "--out", str(report), "--reps", str(REPS), "--taus", "21"])
    assert (report / "report.json").read_bytes() == first


def test_agents_in_several_sweeps_are_told_apart_or_merged(sweeps, tmp_path: Path):
    other = write_sweep(tmp_path, "other", "python -m evaluation.sweep --agent thompson")
    write_run(other, "thompson", "MetaMap-v0", 7, score=0.9)
    _, runs = compare.load_runs([sweeps[1], other])
    assert sorted({r.agent for r in runs}) == ["other/thompson", "s2/thompson"]
    _, runs = compare.load_runs([sweeps[1], other], merge_agents=True)
    assert {r.agent for r in runs} == {"thompson"} and sorted(r.seed for r in runs) == [0, 1, 2, 3, 7]
    write_run(other, "thompson", "MetaMap-v0", 0)
    with pytest.raises(compare.SweepError, match="seed 0 is also in"):
        compare.load_runs([sweeps[1], other], merge_agents=True)


def test_not_a_sweep_exits_2_naming_the_path(tmp_path: Path, capsys):
    plain = tmp_path / "plain"
    plain.mkdir()
    for path, reason in ((plain, "no sweep.json"), (tmp_path / "missing", "no such directory")):
        with pytest.raises(SystemExit) as exit_info:
            compare.main([str(path), "--out", str(tmp_path / "out")])
        assert exit_info.value.code == 2
        error = capsys.readouterr().err
        assert str(path) in error and reason in error
    sweep = write_sweep(tmp_path, "bad", "python -m evaluation.sweep")
    directory = write_run(sweep, "dream", "MetaMap-v0", 0)
    (directory / "run.json").write_text(json.dumps({"schema_version": 1, "agent": "dream", "env_id": "MetaMap-v0",
                                                    "seed": 1, "status": "done"}))
    with pytest.raises(compare.SweepError, match=r"run\.json: seed is 1 but the directory says 0"):
        compare.load_runs([sweep])
    assert not (tmp_path / "out").exists()


# --- the page in a browser ----------------------------------------------------------------------

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def chromium() -> str:
    """The Chromium binary; skip only where `make setup` could not install it (not root, or no apt-get)."""
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    if os.geteuid() == 0 and shutil.which("apt-get"):
        pytest.fail("no chromium here, but make setup installs it (BROWSER_PACKAGES in the Makefile): run make setup")
    pytest.skip("no chromium binary and not root with apt-get, so make cannot install it: "
                "apt-get install chromium to run this test")


def test_every_image_loads_in_headless_chromium(report: Path, tmp_path: Path):
    binary = chromium()
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run",
             f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000",
             "--dump-dom", (report / "index.html").resolve().as_uri()]
    done = subprocess.run([binary, *flags], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    body = re.search(r"<body([^>]*)>", done.stdout)
    assert body, done.stdout[:2000]
    attributes = dict(re.findall(r'(data-images-[a-z]+)="([^"]*)"', body.group(1)))
    total = len(re.findall(r"<img ", (report / "index.html").read_text()))
    assert total >= 6 + 4  # the figures and the GIFs
    assert attributes.get("data-images-total") == str(total), attributes
    assert attributes.get("data-images-loaded") == str(total), f"images that did not load: {attributes}"


def test_an_agent_without_finished_runs_leaves_the_aggregate_to_the_others(tmp_path: Path):
    sweep = write_sweep(tmp_path, "s", "python -m evaluation.sweep --agent a b")
    for seed in range(2):
        write_run(sweep, "a", "MetaMap-v0", seed, score=0.5 + 0.1 * seed)
        write_run(sweep, "b", "MetaMap-v0", seed, status="failed")
    document = compare.run(compare.CompareConfig(sweeps=(sweep,), out=tmp_path / "out", reps=50))
    assert document["aggregate"]["envs"] == ["MetaMap-v0"]
    assert document["aggregate"]["agents_without_finished_runs"] == ["b"]
    assert document["aggregate"]["agents"]["a"]["mean"]["value"] == pytest.approx(0.55)
    assert document["command"].startswith("python -m evaluation.compare ")
    assert "No finished run, so in no statistic: <b>b</b>" in (tmp_path / "out" / "index.html").read_text()


def test_without_rliable_the_error_names_the_extra(monkeypatch):
    from gymnasium.error import DependencyNotInstalled

    for module in ("rliable", "rliable.library", "rliable.metrics"):
        monkeypatch.setitem(sys.modules, module, None)  # an install without [compare]
    with pytest.raises(DependencyNotInstalled, match=r'meta-explore-envs\[compare\]'):
        compare.interval_estimates(A)


def test_the_improvement_fraction_is_rliable_s_probability_of_improvement_bit_for_bit():
    """The fast statistic the bootstrap resamples equals rliable's (scipy's Mann-Whitney U per
    env), ties and identical score sets included."""
    from rliable import metrics

    from evaluation.compare import improvement_fraction

    rng = np.random.default_rng(0)
    for _ in range(300):
        nx, ny, envs = rng.integers(1, 8, size=3)
        x = rng.integers(-3, 4, size=(nx, envs)) / 2
        y = x.copy() if rng.random() < 0.1 else rng.integers(-3, 4, size=(ny, envs)) / 2
        assert improvement_fraction(x, y) == metrics.probability_of_improvement(x, y), (x, y)
