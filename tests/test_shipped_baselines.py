"""The learned baselines' shipped checkpoints (put there by ``python -m evaluation.ship``): every
grid env has one, each is documented by its JSON, loads by default, and reproduces the test
score the JSON records through the score CLI's own path."""

from __future__ import annotations

import importlib
import json

import pytest

GRID_ENV_IDS = ("MetaCooking-v0", "MetaDistractingBus-v0", "MetaMap-v0")
#: module -> (checkpoint suffix, largest file in bytes). The PPO zip keeps SB3's Adam state,
#: which ``RecurrentPPO.load`` requires, hence its larger bound.
BASELINES = {"erl2": (".pt", 1_000_000), "import_": (".pt", 1_000_000), "varibad": (".pt", 1_000_000),
             "rl2_ppo": (".zip", 3_000_000)}


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_every_grid_env_has_a_small_documented_checkpoint_chosen_on_the_train_split(name):
    suffix, largest = BASELINES[name]
    package = importlib.import_module(f"baselines.{name}")
    assert package.ENV_IDS == GRID_ENV_IDS  # what score plays without --env
    for env_id in GRID_ENV_IDS:
        meta_path = next((p for p in _checkpoint_folder(name).glob(f"{env_id}.json")), None)
        assert meta_path is not None, f"no {env_id}.json beside baselines/{name}'s checkpoints"
        checkpoint = meta_path.with_suffix(suffix)
        assert checkpoint.is_file() and checkpoint.stat().st_size <= largest, checkpoint
        meta = json.loads(meta_path.read_text())
        assert meta["command"].startswith(f"python -m baselines.{name}.train --env {env_id} --seed {meta['seed']}")
        assert "--total-steps 1000000" in meta["command"]
        selection = meta["selection"]
        assert selection["rule"] == "median-train"
        # the lower median of the candidates' train scores, ties to the lowest seed
        ranked = sorted(selection["train_normalised_by_seed"].items(), key=lambda kv: (-kv[1], int(kv[0])))
        assert int(ranked[len(ranked) // 2][0]) == meta["seed"], (env_id, ranked)


def _checkpoint_folder(name: str):
    from evaluation.protocol import shipped_folder

    return shipped_folder(importlib.import_module(f"baselines.{name}").__file__)


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_the_shipped_map_checkpoint_reproduces_its_recorded_test_score(name, tmp_path):
    """300 test trials (the sweep's scoring: seeds 0, 1, 2 of 100 trials): the same mean return,
    to the last digit, as the JSON records from the sweep's run (which played 16 trials at a
    time: for these deterministic agents the batch size changes nothing but the speed)."""
    from evaluation.score import ScoreConfig, run

    meta = json.loads((_checkpoint_folder(name) / "MetaMap-v0.json").read_text())
    run(ScoreConfig(agent=(f"baselines.{name}",), env=("MetaMap-v0",), out_dir=tmp_path, progress=False, record=0,
                    num_envs=100))
    result = json.loads((tmp_path / "results.json").read_text())["results"][0]
    assert result["num_trials"] == 300
    assert result["mean_return"] == pytest.approx(meta["test_return"], abs=1e-12)
    assert result["normalised"] == pytest.approx(meta["test_normalised"], abs=1e-12)
