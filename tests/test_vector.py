"""The native vector env of the grid families: bit-for-bit the single envs, Gymnasium 1.x vector
semantics, clear errors, pickling, and the replayed random draws."""

from __future__ import annotations

import pickle

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode
from hypothesis import given, settings
from hypothesis import strategies as st

import meta_explore_envs
from meta_explore_envs.vector import TrialVectorEnv
from meta_explore_envs.vector.draws import BoundedDraws

GRID_IDS = ["MetaCooking-v0", "MetaDistractingBus-v0", "MetaMap-v0"]


# ---------------------------------------------------------------------------- helpers
def assert_same(vector_value, single_value, where: str) -> None:
    if isinstance(single_value, dict):
        assert set(vector_value) == set(single_value), (where, sorted(vector_value), sorted(single_value))
        for key in single_value:
            assert_same(vector_value[key], single_value[key], f"{where}/{key}")
        return
    a, b = np.asarray(vector_value), np.asarray(single_value)
    assert a.shape == b.shape and a.dtype.kind == b.dtype.kind and np.array_equal(a, b), (where, a, b)


def sub_env_observation(observations: dict, i: int) -> dict:
    return {key: value[i] for key, value in observations.items()}


def sub_env_info(infos: dict, i: int) -> dict:
    """Sub-env ``i``'s info from Gymnasium 1.x vector infos (keys where ``_key[i]`` is set)."""
    out = {}
    for key, value in infos.items():
        if key.startswith("_") or not infos[f"_{key}"][i]:
            continue
        out[key] = sub_env_info(value, i) if isinstance(value, dict) else value[i]
    return out


def random_discrete_actions(rng: np.random.Generator, envs: gym.vector.VectorEnv) -> np.ndarray:
    return rng.integers(envs.single_action_space.n, size=envs.num_envs)


def play_both(env_id: str, num_envs: int, steps: int, seed: int, draw_actions=random_discrete_actions,
              **kwargs) -> int:
    """Step the vector env and ``num_envs`` single envs (seeds ``seed + i``) with the same random
    actions (``draw_actions(rng, envs)``), autoresetting the singles as NEXT_STEP does; assert
    every output equal. Returns the number of trials that ended."""
    envs = gym.make_vec(env_id, num_envs=num_envs, **kwargs)
    singles = [gym.make(env_id, **kwargs) for _ in range(num_envs)]
    observations, infos = envs.reset(seed=seed)
    for i, single in enumerate(singles):
        observation, info = single.reset(seed=seed + i)
        assert_same(sub_env_observation(observations, i), observation, f"reset obs {i}")
        assert_same(sub_env_info(infos, i), info, f"reset info {i}")
    rng = np.random.default_rng(seed)
    needs_reset = [False] * num_envs
    trials = 0
    for t in range(steps):
        actions = draw_actions(rng, envs)
        observations, rewards, terminated, truncated, infos = envs.step(actions)
        for i, single in enumerate(singles):
            if needs_reset[i]:
                (observation, info), reward, term, trunc = single.reset(), 0.0, False, False
                needs_reset[i] = False
            else:
                action = actions[i].item() if actions.ndim == 1 else actions[i]
                observation, reward, term, trunc, info = single.step(action)
                needs_reset[i] = term or trunc
                trials += term
            where = f"step {t} sub-env {i}"
            assert_same(sub_env_observation(observations, i), observation, where)
            assert (rewards[i], terminated[i], truncated[i]) == (reward, term, trunc), where
            assert_same(sub_env_info(infos, i), info, where)
    return trials


# ---------------------------------------------------------------------------- equivalence
@pytest.mark.parametrize("setting, split, num_exploit_episodes", [("imrl", "train", 1), ("standard", "test", 2)])
@pytest.mark.parametrize("env_id", GRID_IDS)
def test_each_sub_env_plays_the_trials_of_a_single_env(env_id, setting, split, num_exploit_episodes):
    # 16 sub-envs x 3,125 steps = 50k random actions, autoresets included: 100k per env over
    # the two settings.
    trials = play_both(env_id, 16, 3_125, seed=11, setting=setting, split=split,
                       num_exploit_episodes=num_exploit_episodes)
    assert trials > 500


@pytest.mark.parametrize("env_id", GRID_IDS)
def test_exploration_rewards_in_imrl_match_too(env_id):
    assert play_both(env_id, 8, 1_000, seed=3, setting="imrl", exploration_rewards=True) > 50


def test_make_vec_returns_the_native_env_for_grids_only():
    for env_id in GRID_IDS:
        envs = gym.make_vec(env_id, num_envs=3)
        assert isinstance(envs, TrialVectorEnv) and envs.metadata["autoreset_mode"] is AutoresetMode.NEXT_STEP
        assert isinstance(gym.make_vec(env_id, num_envs=3, vectorization_mode="vector_entry_point"), TrialVectorEnv)
    assert gym.spec("MetaSign3D-v0").vector_entry_point is None  # it keeps Gymnasium's Sync/AsyncVectorEnv


def test_reset_options_per_sub_env_match_the_single_env():
    envs = gym.make_vec("MetaCooking-v0", num_envs=2)
    options = {"problem_id": [5, None], "instructions": [[(0, 1)], None]}
    observations, infos = envs.reset(seed=3, options=options)
    single = gym.make("MetaCooking-v0")
    observation, info = single.reset(seed=3, options={"problem_id": 5, "instructions": [(0, 1)]})
    assert_same(sub_env_observation(observations, 0), observation, "given")
    assert_same(sub_env_info(infos, 0), info, "given")
    observation, info = single.reset(seed=4)  # sub-env 1 draws as a single env does
    assert_same(sub_env_observation(observations, 1), observation, "drawn")
    assert_same(sub_env_info(infos, 1), info, "drawn")


# ---------------------------------------------------------------------------- vector env checks
def test_gymnasium_vector_semantics():
    envs = gym.make_vec("MetaMap-v0", num_envs=5)
    first, _ = envs.reset(seed=0)
    again, _ = envs.reset(seed=0)
    assert_same(first, again, "reset determinism")
    assert envs.observation_space.contains(first)
    actions = envs.action_space.sample()
    step1 = envs.step(actions)
    envs.reset(seed=0)
    step2 = envs.step(actions)
    for a, b in zip(step1, step2):
        assert_same(a, b, "step determinism")
    observations, rewards, terminated, truncated, infos = step1
    assert envs.observation_space.contains(observations)
    assert rewards.shape == terminated.shape == truncated.shape == (5,)
    assert rewards.dtype == np.float64 and terminated.dtype == truncated.dtype == bool
    later = envs.step(actions)[0]  # returned arrays are fresh, never reused
    assert not any(np.shares_memory(observations[key], later[key]) for key in observations)


def test_pickles_and_goes_on_identically():
    envs = gym.make_vec("MetaDistractingBus-v0", num_envs=4)
    envs.reset(seed=5)
    actions = np.random.default_rng(0).integers(9, size=(50, 4))
    for a in actions[:20]:
        envs.step(a)
    copy = pickle.loads(pickle.dumps(envs))
    for a in actions[20:]:
        for x, y in zip(envs.step(a), copy.step(a)):
            assert_same(x, y, "pickled copy")


@pytest.mark.parametrize("actions, error, message", [
    (np.zeros(3, np.int64), ValueError, r"actions must have shape \(4,\), one per sub-env; got shape \(3,\)"),
    (np.zeros(4), TypeError, r"actions must be integers in \[0, 9\); got dtype float64"),
    (np.array([0, 1, 9, 2]), ValueError, r"sub-env 2: action=9 is out of range: expected an integer in \[0, 9\)"),
    (np.array([0, -1, 0, 0]), ValueError, r"sub-env 1: action=-1 is out of range"),
])
def test_bad_actions_name_the_sub_env_and_leave_it_usable(actions, error, message):
    envs = gym.make_vec("MetaMap-v0", num_envs=4)
    envs.reset(seed=0)
    reference = gym.make_vec("MetaMap-v0", num_envs=4)
    reference.reset(seed=0)
    with pytest.raises(error, match=message):
        envs.step(actions)
    good = np.array([2, 2, 6, 0])
    for x, y in zip(envs.step(good), reference.step(good)):
        assert_same(x, y, "after a bad action")


@pytest.mark.parametrize("options, message", [
    ({"problem_id": [0, 24, 1]}, r"sub-env 1: problem_id=24 is out of range: expected an integer in \[0, 24\)"),
    ({"problem_id": [0, 1]}, r"options\['problem_id'\] must hold one entry per sub-env \(3"),
    ({"instructions": [[0], None, None]}, r"sub-env 0: options\['instructions'\] needs options\['problem_id'\]"),
    ({"problem_id": [0, 1, 2], "instructions": [[0], [7], [1]]}, r"sub-env 1: instruction=7 is out of range"),
    ({"seed": 3}, r"unknown reset option\(s\) \['seed'\]"),
])
def test_bad_reset_options_name_the_sub_env_and_change_nothing(options, message):
    envs = gym.make_vec("MetaMap-v0", num_envs=3)
    before = envs.reset(seed=1)[0]
    with pytest.raises((ValueError, TypeError), match=message):
        envs.reset(options=options)
    after = envs.step(np.zeros(3, np.int64))[0]
    reference = gym.make_vec("MetaMap-v0", num_envs=3)
    assert_same(reference.reset(seed=1)[0], before, "reset")
    assert_same(reference.step(np.zeros(3, np.int64))[0], after, "state untouched by the failed reset")


def test_render_modes_other_than_rgb_array_are_refused():
    with pytest.raises(ValueError, match=r"render_mode='human' is not valid: expected one of \['rgb_array'\]"):
        gym.make_vec("MetaMap-v0", num_envs=2, render_mode="human")


# ---------------------------------------------------------------------------- properties
@settings(max_examples=25, deadline=None)
@given(env_id=st.sampled_from(GRID_IDS), seed=st.integers(0, 2**31 - 1), num_envs=st.integers(1, 9),
       num_exploit_episodes=st.integers(1, 3), setting=st.sampled_from(["imrl", "standard"]))
def test_random_action_batches_keep_every_invariant(env_id, seed, num_envs, num_exploit_episodes, setting):
    envs = gym.make_vec(env_id, num_envs=num_envs, num_exploit_episodes=num_exploit_episodes, setting=setting)
    observations, _ = envs.reset(seed=seed)
    rng = np.random.default_rng(seed)
    ended_last = np.zeros(num_envs, bool)
    for _ in range(60):
        observations, rewards, terminated, truncated, infos = envs.step(rng.integers(9, size=num_envs))
        assert envs.observation_space.contains(observations)
        assert not truncated.any()  # a trial bounds itself
        assert (rewards[ended_last] == 0).all() and not terminated[ended_last].any()  # NEXT_STEP resets
        assert (observations["episode"] <= num_exploit_episodes).all()
        assert (terminated <= (observations["episode"] == num_exploit_episodes)).all()
        assert ((-3.0 <= rewards) & (rewards <= 1.0)).all()
        if "episode_length" in infos:
            lengths = infos["episode_length"][infos["_episode_length"]]
            assert ((1 <= lengths) & (lengths <= 20)).all()
        ended_last = terminated


# ---------------------------------------------------------------------------- the draws
@pytest.mark.parametrize("bound", [1, 2, 3, 4, 53, 523, 3 * 2**30, 2**32])
def test_replayed_draws_equal_numpy_integers(bound):
    # 3 * 2**30 rejects a quarter of its first draws: the redraw path is exercised.
    seeds = list(range(20))
    draws = BoundedDraws.seeded(seeds)
    generators = [seeding.np_random(s)[0] for s in seeds]
    envs = np.arange(len(seeds))
    for _ in range(150):  # past a refill of the streams
        expected = [int(g.integers(bound)) for g in generators]
        assert draws.integers(envs, bound).tolist() == expected
    some = envs[::3]  # a subset draws; the others' streams stay put
    assert draws.integers(some, 7).tolist() == [int(generators[i].integers(7)) for i in some.tolist()]
    assert draws.integers(envs, 5).tolist() == [int(g.integers(5)) for g in generators]


def test_the_package_registers_vector_entry_points_from_the_registry():
    for env_id in GRID_IDS:
        family = meta_explore_envs.FAMILIES[meta_explore_envs.env_family(env_id)]
        assert gym.spec(env_id).vector_entry_point == family.vector_entry_point


def test_rgb_array_frames_are_the_single_env_frames():
    envs = gym.make_vec("MetaCooking-v0", num_envs=5, render_mode="rgb_array", render_envs=3)
    singles = [gym.make("MetaCooking-v0", render_mode="rgb_array") for _ in range(3)]
    envs.reset(seed=2)
    for i, single in enumerate(singles):
        single.reset(seed=2 + i)
    rng = np.random.default_rng(0)
    needs_reset = [False] * 3
    for _ in range(40):  # across trial ends and NEXT_STEP resets
        actions = rng.integers(9, size=5)
        envs.step(actions)
        for i, single in enumerate(singles):
            if needs_reset[i]:
                single.reset()
                needs_reset[i] = False
            else:
                needs_reset[i] = single.step(int(actions[i]))[2]
        frames = envs.render()
        assert len(frames) == 3
        for frame, single in zip(frames, singles):
            assert np.array_equal(frame, single.render())


def test_an_unseeded_reset_draws_trials_and_step_needs_a_reset():
    envs = gym.make_vec("MetaMap-v0", num_envs=3)
    with pytest.raises(gym.error.ResetNeeded, match=r"call reset\(\) before step\(\)"):
        envs.step(np.zeros(3, np.int64))
    observations, _ = envs.reset()
    assert envs.observation_space.contains(observations)
