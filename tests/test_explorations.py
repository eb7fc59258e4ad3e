"""``python -m evaluation.explorations``: what an agent's exploration episodes are, checked on agents
whose behaviour is known exactly (a scripted agent file, the no-exploration, Thompson and
oracle baselines), its figures against ``evaluation.score``'s, its files and its errors."""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest

from evaluation.bounds import get_bounds, normalised_score
from evaluation.explorations import (
    EXPLORATIONS_JSON,
    EXPLORATIONS_MD,
    action_letters,
    inspect,
    main,
    markdown,
    summary_line,
    table_rows,
)

MAP = "MetaMap-v0"


def test_action_letters_are_distinct_and_the_grid_keeps_its_letters():
    from meta_explore_envs.grid.world import ACTION_NAMES

    assert action_letters(ACTION_NAMES) == "LURDN.EPQ"
    assert action_letters(("turn left", "turn right", "forward", "end episode")) == "TUFE"
    assert action_letters(("a", "a", "left")) == "A0L"


SCRIPTED_AGENT = '''
    """Explores ``up`` then ``end episode``; ends every exploitation episode at once."""
    UP, END = 1, 6


    class Scripted:
        def reset(self):
            self.steps = 0

        def act(self, observation):
            self.steps += 1
            exploring = int(observation["episode"]) == 0
            return UP if exploring and self.steps == 1 else END


    def load_agent(env_id, checkpoint=None, **kwargs):
        return Scripted()
'''


def test_a_scripted_agent_file_explores_its_script_in_every_trial(tmp_path):
    """An act-only agent given as a file path: one string, ``UE``, in every trial; ending the
    exploitation episode at once costs -0.1 - 0.1 x 19 remaining steps and fails it."""
    path = tmp_path / "scripted_agent.py"
    path.write_text(textwrap.dedent(SCRIPTED_AGENT))
    inspection = inspect(str(path), MAP, trials=20, seed=3)
    assert inspection.explorations == {"UE": list(range(20))}
    [row] = inspection.rows(top=10)
    assert (row.actions, row.trials, row.distinct, row.failed_exploitation_episodes) == ("UE", 20, 1, 20)
    assert row.mean_exploitation_return == pytest.approx(-2.0)
    assert row.exploration_score == pytest.approx(inspection.summary.exploration_score)


def test_no_exploration_ends_its_exploration_at_once_and_returns_the_no_exploration_bound():
    inspection = inspect("baselines.no_exploration", MAP, trials=200, seed=0)
    bounds, summary = get_bounds(MAP), inspection.summary
    assert inspection.explorations == {"E": list(range(200))}
    [row] = inspection.rows()
    assert row.trials == 200 and row.exploration_score == pytest.approx(summary.exploration_score)
    # Seeing nothing, every trial's exploration value is the prior's Bayes-optimal return in its
    # problem, whose expectation is the no-exploration bound: score 0 up to sampling.
    standard_error = inspection.values.std() / np.sqrt(200) / (bounds.optimal - bounds.no_exploration)
    assert abs(summary.exploration_score) < 4 * standard_error
    assert summary.return_ci[0] <= bounds.no_exploration <= summary.return_ci[1]
    assert row.mean_exploitation_return == pytest.approx(summary.mean_return)


def test_thompson_explores_like_its_bound_and_the_rows_partition_the_trials():
    inspection = inspect("baselines.thompson", MAP, trials=200, seed=0)
    bounds, summary, results = get_bounds(MAP), inspection.summary, inspection.results
    # Thompson exploits what it saw Bayes-optimally, so its exploration score is its bound's.
    standard_error = inspection.values.std() / np.sqrt(200) / (bounds.optimal - bounds.no_exploration)
    assert abs(summary.exploration_score - normalised_score(bounds.thompson, bounds)) < 4 * standard_error
    rows = inspection.rows(top=5)
    assert [r.trials for r in rows[:5]] == sorted((r.trials for r in rows[:5]), reverse=True)
    assert rows[-1].actions is None and rows[-1].distinct == len(inspection.explorations) - 5
    assert sum(r.trials for r in rows) == 200
    letters = inspection.letters
    for actions, index in inspection.explorations.items():
        for k in index:  # the string is the harness's record of the trial's exploration actions
            assert "".join(letters[a] for a in results.exploration_actions[k]) == actions
            assert len(actions) == results.episode_lengths[k, 0]
    top = rows[0]
    index = inspection.explorations[top.actions]
    assert top.mean_exploitation_return == pytest.approx(results.exploit_returns[index].mean())
    assert top.exploration_score == pytest.approx(normalised_score(inspection.values[index].mean(), bounds))


def test_the_summary_is_what_evaluation_score_reports_for_the_same_seed(tmp_path):
    from evaluation.score import ScoreConfig, run

    inspection = inspect("baselines.thompson", MAP, trials=60, seed=2)
    [scored] = run(ScoreConfig(agent=("baselines.thompson",), env=(MAP,), trials=60, seeds=(2,), out_dir=tmp_path,
                               progress=False))
    mine = inspection.summary
    for name in ("mean_return", "return_ci", "normalised", "exploration_score", "exploitation_efficiency"):
        assert getattr(mine, name) == pytest.approx(getattr(scored, name)), name


def test_privileged_agents_get_no_exploration_score_nor_efficiency():
    inspection = inspect("baselines.oracle", MAP, trials=10, seed=0)
    assert inspection.values is None and inspection.summary.privileged
    assert inspection.summary.exploration_score is None and inspection.summary.exploitation_efficiency is None
    assert all(row.exploration_score is None for row in inspection.rows())
    assert inspection.summary.mean_return == pytest.approx(0.8)


def test_out_writes_the_printed_figures_as_json_and_markdown(tmp_path, capsys):
    args = ["--agent", "baselines.thompson", "--env", MAP, "--trials", "40", "--top", "3", "--no-progress",
            "--out", str(tmp_path)]
    main(args)
    printed = capsys.readouterr().out
    document = json.loads((tmp_path / EXPLORATIONS_JSON).read_text())
    assert document["command"] == "python -m evaluation.explorations " + " ".join(args)
    assert summary_line(document) in printed.replace("\n", "")
    for cells in table_rows(document):
        assert " ".join(cells) in " ".join(printed.replace("│", " ").split())
    assert (tmp_path / EXPLORATIONS_MD).read_text() == markdown(document)
    assert len(document["rows"]) == 4 and sum(row["trials"] for row in document["rows"]) == 40
    assert [a["letter"] for a in document["actions"]] == list(action_letters(a["name"] for a in document["actions"]))


FAILING_AGENT = """
class Failing:
    def reset(self):
        pass

    def act(self, observation):
        return 1 // 0


def load_agent(env_id, checkpoint=None, **kwargs):
    return Failing()
"""


@pytest.mark.parametrize("args, message", [
    (["--agent", "baselines.no_such_agent", "--env", MAP], "no module named 'baselines.no_such_agent'"),
    (["--agent", "baselines.random", "--env", "MetaNoSuchEnv-v0"], "MetaNoSuchEnv-v0"),
    (["--agent", "baselines.random", "--env", MAP, "--trials", "0"], "--trials"),
    (["--agent", "FAILING", "--env", MAP], "act() raised ZeroDivisionError"),
])
def test_bad_agents_envs_and_options_exit_with_status_2_and_one_line(args, message, tmp_path, capsys):
    failing = tmp_path / "failing_agent.py"
    failing.write_text(FAILING_AGENT)
    with pytest.raises(SystemExit) as stopped:
        main([str(failing) if a == "FAILING" else a for a in args] + ["--no-progress", "--out", str(tmp_path)])
    assert stopped.value.code == 2
    error = " ".join(capsys.readouterr().err.split())  # rich may wrap long lines
    assert error.startswith("error:") and message in error and "Traceback" not in error
    assert not (tmp_path / EXPLORATIONS_JSON).exists()


def test_the_dream_entry_point_runs_the_inspector_on_dream(tmp_path, capsys):
    from baselines.dream.inspect_exploration import main as dream_main

    dream_main(["--env", "MetaDistractingBus-v0", "--trials", "4", "--no-progress", "--out", str(tmp_path)])
    document = json.loads((tmp_path / EXPLORATIONS_JSON).read_text())
    assert document["agent"]["module"] == "baselines.dream"
    assert document["command"].startswith("python -m evaluation.explorations --agent baselines.dream --env")
    assert document["agent"]["checkpoint"].endswith("MetaDistractingBus-v0.pt")
