"""MetaSign3D-v0: semantics pinned by scripted paths, the sign's pixels, seeding, options,
errors, headless GL set-up, shared GL resources, vector envs, rendering and play.

Gymnasium's and SB3's ``check_env`` on the registered trial env, in both settings, run in
``test_api.py`` (over every registered id); here they run on the single-episode env.
"""

from __future__ import annotations

import math
import pickle
import subprocess
import sys
import warnings

import gymnasium as gym
import imageio.v3 as iio
import numpy as np
import pytest

import meta_explore_envs  # noqa: F401
from meta_explore_envs.envs import sign3d_layout as layout
from meta_explore_envs.envs.sign3d import Sign3DEnv
from meta_explore_envs.envs.sign3d_textures import SIGN_WORDS, sign_image, texture_path

ENV_ID = "MetaSign3D-v0"
LEFT, RIGHT, FORWARD, END = 0, 1, 2, 3
NORTH, EAST, SOUTH, WEST = math.pi / 2, 0.0, -math.pi / 2, math.pi
BLUE, RED, GREEN = 0, 1, 2
BOX, KEY = 0, 1

#: Poses (x, z, heading): facing the sign across the bottom-right room; at the start facing
#: north (the blue key at (5, 1) three steps ahead: MiniWorld's ``near`` fires at 1.9 m).
FACING_SIGN = (6.5, 9.875, EAST)
BELOW_BLUE_KEY = (5.0, 5.0, NORTH)


def trial_env(**kwargs) -> gym.Env:
    return gym.make(ENV_ID, **kwargs)


def put(env: gym.Env, pose: tuple[float, float, float]) -> None:
    """Place the agent at ``pose`` at the start of the current episode (rules interface)."""
    ep = env.unwrapped.episode_env
    ep.state = (*pose, 0, ep.steps_taken)


def play_episode(env: gym.Env, pose, actions):
    """From ``pose``, take ``actions`` until the episode ends; return (rewards, last info, last obs)."""
    put(env, pose)
    rewards = []
    for action in actions:
        obs, reward, terminated, truncated, info = env.step(action)
        assert not truncated
        rewards.append(reward)
        if info["episode_done"]:
            return rewards, info, obs, terminated
    raise AssertionError(f"the episode did not end within {len(actions)} actions")


# ---------------------------------------------------------------------------- semantics
@pytest.mark.parametrize(
    "problem, instruction, reward, success",
    [
        (BLUE, KEY, 1.0, True),  # the key in the sign's colour
        (BLUE, BOX, -1.0, False),  # right colour, wrong shape
        (RED, KEY, -1.0, False),  # right shape, wrong colour
    ],
)
def test_touching_an_object_ends_the_episode_with_plus_or_minus_one(problem, instruction, reward, success):
    env = trial_env()
    env.reset(seed=0, options={"problem_id": problem, "instructions": [instruction]})
    # Exploration (IMRL): the same touch ends the episode but pays nothing.
    rewards, info, _, terminated = play_episode(env, BELOW_BLUE_KEY, [FORWARD] * 5)
    assert rewards == [0.0, 0.0, 0.0] and info["episode_length"] == 3 and not terminated
    assert info["episode_success"] is False  # no instruction, no success
    rewards, info, obs, terminated = play_episode(env, BELOW_BLUE_KEY, [FORWARD] * 5)
    assert rewards == [0.0, 0.0, reward] and terminated
    assert info["episode_return"] == reward and info["episode_length"] == 3
    assert info["episode_success"] is success
    assert obs["prev_reward"][0] == reward and obs["prev_action"] == FORWARD


#: Unit vectors (dx, dz) from each object (in ``layout.OBJECTS`` order) to a free approach
#: point 2.4 m away that is not within touching range of another object.
APPROACH = [(math.sqrt(0.5), math.sqrt(0.5)), (-math.sqrt(0.5), math.sqrt(0.5)), (-1.0, 0.0),
            (0.0, 1.0), (1.0, 0.0), (1.0, 0.0)]


def test_every_object_pays_by_its_shape_and_colour():
    env = Sign3DEnv()
    for index, obj in enumerate(layout.OBJECTS):
        for problem in range(3):
            for instruction in (BOX, KEY):
                env.reset(seed=0, options={"problem_id": problem, "instruction": instruction})
                # 2.4 m from the object, facing it: one step closer is within touching range.
                dx, dz = APPROACH[index]
                pose = (obj.x + 2.4 * dx, obj.z + 2.4 * dz, math.atan2(dz, -dx))
                env.state = (*pose, 0, 0)
                assert env.world.touched(*pose[:2]) is None
                _, reward, terminated, truncated, info = env.step(FORWARD)
                assert terminated and not truncated and env.touched == index, (index, env.state)
                expected = 1.0 if (obj.colour == problem and obj.shape == instruction) else -1.0
                assert reward == expected and info["success"] is (expected > 0)


def test_a_touch_on_the_last_step_terminates_rather_than_truncates():
    env = Sign3DEnv()
    obj = layout.OBJECTS[0]
    env.reset(seed=0, options={"problem_id": (obj.colour + 1) % 3, "instruction": BOX})  # a wrong object
    dx, dz = APPROACH[0]
    env.state = (obj.x + 2.4 * dx, obj.z + 2.4 * dz, math.atan2(dz, -dx), 0, 19)
    _, reward, terminated, truncated, _ = env.step(FORWARD)
    assert env.steps_taken == 20 and reward == -1.0 and terminated and not truncated


def test_twenty_steps_without_a_touch_pay_zero_and_end_the_episode():
    env = trial_env()
    env.reset(seed=1, options={"problem_id": GREEN, "instructions": [KEY]})
    put(env, BELOW_BLUE_KEY)
    for _ in range(20):  # exploration: turn on the spot
        obs, reward, terminated, _, info = env.step(LEFT)
    assert info["episode_done"] and info["episode_length"] == 20 and info["episode_return"] == 0.0
    assert env.unwrapped.episode == 1 and not terminated
    rewards, info, _, terminated = play_episode(env, BELOW_BLUE_KEY, [RIGHT] * 19 + [FORWARD])
    assert rewards == [0.0] * 20 and info["episode_length"] == 20 and terminated
    assert info["episode_success"] is False


def test_end_episode_ends_it_with_zero_and_does_not_move_the_agent():
    env = trial_env(setting="standard")  # rewards observed in every episode
    env.reset(seed=2, options={"problem_id": BLUE, "instructions": [KEY]})
    put(env, BELOW_BLUE_KEY)
    env.step(FORWARD)
    env.step(FORWARD)  # 1.9 m from the blue key: one more forward step touches it
    ep = env.unwrapped.episode_env
    before = ep.state
    _, reward, terminated, _, info = env.step(END)
    assert reward == 0.0 and info["episode_done"] and info["episode_length"] == 3 and not terminated
    assert info["final_observation"]["prev_action"] == END
    assert ep.touched is None
    # MiniWorld 2.1.0's Sign env steps back 0.7 m on action 3; ours stays where it was.
    np.testing.assert_array_equal(info["final_observation"]["observation"],
                                  Sign3DEnv().world.observe(BLUE, *before[:3]))


def test_standard_setting_pays_in_the_exploration_episode_and_hides_the_instruction():
    env = trial_env(setting="standard")
    obs, _ = env.reset(seed=3, options={"problem_id": BLUE, "instructions": [KEY]})
    assert obs["instruction"] == 2
    rewards, info, obs, _ = play_episode(env, BELOW_BLUE_KEY, [FORWARD] * 3)
    assert rewards == [0.0, 0.0, 1.0] and info["episode_success"] is True
    assert obs["instruction"] == 2 and obs["episode"] == 1


def test_walls_block_forward_moves():
    env = Sign3DEnv()
    env.reset(seed=0, options={"problem_id": BLUE, "instruction": KEY})
    env.state = (7.0, 5.9, SOUTH, 0, 0)  # in front of the barrier between top and bottom-right room
    for step in range(1, 4):
        _, reward, terminated, truncated, _ = env.step(FORWARD)
        assert env.state == (7.0, 5.9, SOUTH, 0, step) and reward == 0.0 and not terminated
    env.state = (3.0, 5.9, SOUTH, 0, 0)  # the gap to the bottom-left room is open
    env.step(FORWARD)
    assert env.position == pytest.approx((3.0, 6.6))


def test_turns_are_45_degrees_and_forward_is_0_7_metres():
    env = Sign3DEnv()
    env.reset(seed=0, options={"problem_id": BLUE, "instruction": KEY})
    env.state = (4.5, 5.0, 0.3, 0, 0)

    def facing(angle):
        return (math.cos(env.heading), math.sin(env.heading)) == pytest.approx((math.cos(angle), math.sin(angle)))

    env.step(LEFT)
    assert facing(0.3 + math.pi / 4)
    env.step(RIGHT)
    env.step(RIGHT)
    assert facing(0.3 - math.pi / 4)
    for _ in range(8):
        env.step(LEFT)
    assert env.state[3] == 7 and facing(0.3 - math.pi / 4)  # turns are counted mod 8
    env.step(FORWARD)
    x, z = env.position
    assert (x - 4.5, z - 5.0) == pytest.approx((0.7 * math.cos(0.3 - math.pi / 4), -0.7 * math.sin(0.3 - math.pi / 4)))


def test_start_region_and_heading():
    env = trial_env()
    starts = []
    for seed in range(200):
        env.reset(seed=seed)
        x, z, heading0, turns, steps = env.unwrapped.episode_env.state
        assert 4.0 <= x <= 5.0 and 4.0 <= z <= 6.0 and -math.pi <= heading0 < math.pi
        assert (turns, steps) == (0, 0)
        starts.append((x, z, heading0))
    x, z, heading = np.array(starts).T
    assert x.min() < 4.1 and x.max() > 4.9 and z.min() < 4.2 and z.max() > 5.8  # uniform over the region
    assert len(set(np.floor((heading + math.pi) / (math.pi / 4)).astype(int))) == 8  # every octant
    # The exploitation episode starts afresh in the start region.
    env.reset(seed=0)
    env.step(FORWARD)
    while env.unwrapped.episode == 0:
        env.step(END)
    x, z, _, turns, steps = env.unwrapped.episode_env.state
    assert 4.0 <= x <= 5.0 and 4.0 <= z <= 6.0 and (turns, steps) == (0, 0)


# ---------------------------------------------------------------------------- the sign
def test_sign_is_legible_and_the_three_problems_differ_clearly_at_80x60():
    env = Sign3DEnv()
    views = [env.world.observe(problem, *FACING_SIGN) for problem in range(3)]
    assert all(v.shape == (60, 80, 3) and v.dtype == np.uint8 for v in views)
    # The sign's white panel fills the middle of the view, with dark letters on it.
    middle = views[0][22:38, 10:70].astype(int)
    assert (middle.min(axis=2) > 200).mean() > 0.3 and (middle.max(axis=2) < 80).mean() > 0.1
    for a in range(3):
        for b in range(a + 1, 3):
            differ = np.abs(views[a].astype(int) - views[b].astype(int)).max(axis=2) > 100
            assert differ.sum() >= 100, (SIGN_WORDS[a], SIGN_WORDS[b], differ.sum())  # of 4800 pixels
            rows, cols = np.nonzero(differ)
            assert rows.min() >= 15 and rows.max() <= 45  # only the sign differs


def test_without_the_sign_in_view_observations_say_nothing_about_the_problem():
    env = Sign3DEnv()
    for pose in [(4.5, 5.0, NORTH), (4.5, 5.0, WEST), (2.0, 10.0, WEST), (8.0, 10.0, EAST + math.pi)]:
        views = [env.world.observe(problem, *pose) for problem in range(3)]
        np.testing.assert_array_equal(views[0], views[1])
        np.testing.assert_array_equal(views[0], views[2])


def test_shipped_sign_textures_are_what_the_generator_draws():
    for problem, word in enumerate(SIGN_WORDS):
        np.testing.assert_array_equal(iio.imread(texture_path(problem))[..., :3], sign_image(word))
    with pytest.raises(ValueError, match="too long"):
        sign_image("PURPLE")


# ---------------------------------------------------------------------------- seeding, options
def rollout(env, seed, actions, options=None):
    obs, _ = env.reset(seed=seed, options=options)
    trace = [obs]
    for action in actions:
        obs, reward, terminated, _, _ = env.step(action)
        trace.append((obs, reward))
        if terminated:
            break
    return trace


def test_same_seed_same_observations_and_different_seeds_differ():
    actions = np.random.default_rng(0).integers(0, 3, size=40).tolist()  # no end-episode: long episodes
    a = rollout(trial_env(), 11, actions)
    b = rollout(trial_env(), 11, actions)
    assert len(a) == len(b)
    for step_a, step_b in zip(a[1:], b[1:]):
        for key in step_a[0]:
            np.testing.assert_array_equal(step_a[0][key], step_b[0][key], err_msg=key)
        assert step_a[1] == step_b[1]
    env = trial_env()
    starts = set()
    for seed in range(5):
        env.reset(seed=seed)
        starts.add(env.unwrapped.episode_env.state)
    assert len(starts) == 5


def test_reset_options_are_honoured():
    env = trial_env(num_exploit_episodes=2)
    obs, info = env.reset(seed=0, options={"problem_id": GREEN, "instructions": [KEY, BOX]})
    trial = env.unwrapped
    assert trial.problem_id == GREEN and trial.instructions == [KEY, BOX] and info["problem_id"] == GREEN
    assert obs["instruction"] == 2 and obs["episode"] == 0  # IMRL exploration: no instruction
    put(env, FACING_SIGN)
    obs, *_ = env.step(LEFT)
    obs, *_ = env.step(RIGHT)
    np.testing.assert_array_equal(obs["observation"], Sign3DEnv().world.observe(GREEN, *FACING_SIGN))
    obs, _, _, _, info = env.step(END)
    assert obs["instruction"] == KEY and obs["episode"] == 1 and info["instruction_text"].startswith("fetch the key")
    obs, _, _, _, info = env.step(END)
    assert obs["instruction"] == BOX and obs["episode"] == 2
    env.reset(options={"problem_id": np.int64(0), "instructions": np.array([1, 1])})
    assert trial.problem_id == 0 and trial.instructions == [1, 1]
    test_env = trial_env(split="test")
    test_env.reset(seed=0, options={"problem_id": RED})
    assert test_env.unwrapped.problem_id == RED


def test_episode_env_options_and_state_round_trip():
    env = Sign3DEnv()
    obs, info = env.reset(seed=4, options={"problem_id": RED, "instruction": None})
    assert env.problem_id == RED and obs["instruction"] == 2 and info["instruction_text"] == ""
    env.step(LEFT)
    env.step(FORWARD)
    state, view = env.state, env.state_observation()
    env.step(FORWARD)
    env.state = state
    np.testing.assert_array_equal(env.state_observation(), view)
    assert env.state == state and hash(state) == hash(env.state)


# ---------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "action, error, message",
    [
        (4, ValueError, r"action=4 is out of range: expected an integer in \[0, 4\) \(0 turn left, 1 turn right, "
                        r"2 forward, 3 end episode\)"),
        (-1, ValueError, r"action=-1 is out of range"),
        (2.0, TypeError, r"action must be an integer in \[0, 4\).*got 2.0 of type float"),
        ("forward", TypeError, r"got 'forward' of type str"),
        (True, TypeError, r"got True of type bool"),
        (np.float32(2), TypeError, r"of type float32"),
    ],
)
def test_bad_actions_raise_and_leave_the_env_usable(action, error, message):
    env = trial_env()
    env.reset(seed=0)
    before = env.unwrapped.episode_env.state
    with pytest.raises(error, match=message):
        env.step(action)
    assert env.unwrapped.episode_env.state == before
    env.step(np.int64(2))
    env.step(np.array(0))


def test_bad_reset_options_raise_and_leave_the_env_usable():
    env = trial_env()
    env.reset(seed=0, options={"problem_id": RED, "instructions": [BOX]})
    before = env.unwrapped.episode_env.state
    with pytest.raises(ValueError, match=r"unknown reset option\(s\) \['colour'\].*'instructions', 'problem_id'"):
        env.reset(options={"colour": 1})
    with pytest.raises(ValueError, match=r"problem_id=3 is out of range: expected an integer in \[0, 3\)"):
        env.reset(options={"problem_id": 3})
    with pytest.raises(ValueError, match=r"problem_id=-1 is out of range"):
        env.reset(options={"problem_id": -1})
    with pytest.raises(TypeError, match=r"problem_id must be an integer.*got '0'"):
        env.reset(options={"problem_id": "0"})
    with pytest.raises(ValueError, match=r"instruction=2 is out of range: expected an integer in \[0, 2\) "
                                         r"\(0 box, 1 key\)"):
        env.reset(options={"problem_id": BLUE, "instructions": [2]})
    with pytest.raises(TypeError, match=r"instruction must be an integer.*got 'key'"):
        env.reset(options={"instructions": ["key"]})
    with pytest.raises(ValueError, match=r"has 2 instruction\(s\); expected 1"):
        env.reset(options={"instructions": [0, 1]})
    # The earlier trial is untouched and continues.
    trial = env.unwrapped
    assert trial.problem_id == RED and trial.instructions == [BOX]
    assert trial.episode_env.state == before and trial.episode_env.problem_id == RED
    env.step(FORWARD)


def test_problem_ids_outside_the_split_name_the_valid_ones():
    env = Sign3DEnv(split="test")
    with pytest.raises(ValueError, match=r"problem_id=5 is out of range: expected an integer in \[0, 3\)"):
        env.reset(options={"problem_id": 5})
    assert "0 BLUE, 1 RED, 2 GREEN" in Sign3DEnv.describe_split("test")


# ---------------------------------------------------------------------------- checkers
def test_gymnasium_and_sb3_check_env_on_the_episode_env():
    from gymnasium.utils.env_checker import check_env as gym_check_env
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # Other render modes are checked through gymnasium.make in test_api.py.
        warnings.filterwarnings("ignore", message=".*Not able to test alternative render modes")
        gym_check_env(Sign3DEnv(render_mode="rgb_array"))
        sb3_check_env(Sign3DEnv())


# ---------------------------------------------------------------------------- GL set-up
def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_importing_and_making_the_env_loads_no_opengl():
    result = run_python(
        "import sys, gymnasium as gym, meta_explore_envs\n"
        "env = gym.make('MetaSign3D-v0')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pyglet', 'miniworld')))\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_a_missing_gl_stack_gives_one_clear_error():
    # pyglet's library loader failing on libEGL, as on a machine without libegl1.
    result = run_python(
        "import gymnasium as gym, meta_explore_envs, pyglet.lib\n"
        "load = pyglet.lib.load_library\n"
        "def no_egl(*names, **kwargs):\n"
        "    if 'EGL' in names:\n"
        "        raise ImportError('Library \"EGL\" not found.')\n"
        "    return load(*names, **kwargs)\n"
        "pyglet.lib.load_library = no_egl\n"
        "env = gym.make('MetaSign3D-v0')\n"
        "try:\n"
        "    env.reset(seed=0)\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__)\n"
        "    print(exc)\n"
    )
    assert result.returncode == 0, result.stderr
    name, message = result.stdout.split("\n", 1)
    assert name == "OpenGLUnavailableError"
    assert 'Library "EGL" not found' in message
    assert "apt-get install -y --no-install-recommends libgl1 libglu1-mesa libegl1 libfreetype6" in message
    assert "make setup" in message and "README" in message


def test_headless_mode_is_chosen_without_a_display():
    result = run_python(
        "import os\n"
        "os.environ.pop('DISPLAY', None); os.environ.pop('PYGLET_HEADLESS', None)\n"
        "import gymnasium as gym, meta_explore_envs\n"
        "env = gym.make('MetaSign3D-v0'); env.reset(seed=0)\n"
        "import pyglet\n"
        "print(pyglet.options['headless'], pyglet.options['debug_gl'], os.environ['LP_NUM_THREADS'])\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "False", "0"]


def test_envs_share_one_gl_context_and_its_buffers():
    from meta_explore_envs.envs import sign3d_world

    envs = [trial_env() for _ in range(3)]
    for env in envs:
        env.reset(seed=0)
    shared = sign3d_world.shared_gl()
    buffers, lists = dict(shared._framebuffers), dict(shared.display_lists)
    for _ in range(3):
        env = trial_env()
        env.reset(seed=1)
        env.step(FORWARD)
        assert env.unwrapped.episode_env.world.gl is shared
        env.close()
    assert shared._framebuffers == buffers and shared.display_lists == lists and len(lists) == 3
    assert sign3d_world.shared_gl() is shared


def test_using_the_context_after_fork_raises_a_clear_error(monkeypatch):
    from meta_explore_envs.envs import sign3d_world

    shared = sign3d_world.shared_gl()
    monkeypatch.setattr(shared, "pid", -1)  # as if created by the parent of a forked process
    with pytest.raises(RuntimeError, match=r"cannot be used after fork.*vector_kwargs=\{'context': 'spawn'\}"):
        sign3d_world.shared_gl()


# ---------------------------------------------------------------------------- vector envs
@pytest.mark.slow
@pytest.mark.parametrize("context", ["spawn", "forkserver"])
def test_async_make_vec(context):
    envs = gym.make_vec(ENV_ID, num_envs=2, vectorization_mode="async", vector_kwargs={"context": context})
    try:
        obs, infos = envs.reset(seed=7)
        assert obs["observation"].shape == (2, 60, 80, 3) and obs["observation"].dtype == np.uint8
        single, _ = trial_env().reset(seed=7)  # sub-env i is seeded with seed + i
        np.testing.assert_array_equal(obs["observation"][0], single["observation"])
        for _ in range(25):
            obs, rewards, terminated, truncated, _ = envs.step(np.array([FORWARD, LEFT]))
            assert rewards.shape == (2,) and not truncated.any()
    finally:
        envs.close()


# ---------------------------------------------------------------------------- rendering, play, pickling
def test_rgb_array_frame_shows_view_and_map():
    env = trial_env(render_mode="rgb_array")
    env.reset(seed=0, options={"problem_id": RED, "instructions": [KEY]})
    put(env, BELOW_BLUE_KEY)
    first = env.render()
    assert first.dtype == np.uint8 and first.shape[0] >= 400 and first.shape[1] >= 640
    env.step(FORWARD)
    second = env.render()
    assert second.shape == first.shape and not np.array_equal(first, second)
    assert env.unwrapped.episode_env.trail == [(5.0, 5.0), pytest.approx((5.0, 4.3))]


def test_human_rendering_opens_a_window():
    env = trial_env(render_mode="human")
    env.reset(seed=0)
    env.step(FORWARD)
    env.close()


def test_play_keys_drive_the_agent():
    from meta_explore_envs import play

    env = trial_env(render_mode="rgb_array")
    player = play.Player(env, seed=0, problem_id=BLUE)
    ep = env.unwrapped.episode_env
    put(env, BELOW_BLUE_KEY)
    assert player.press("left") and ep.heading == pytest.approx(NORTH + math.pi / 4)
    assert player.press("right") and player.press("up") and ep.position == pytest.approx((5.0, 4.3))
    assert player.press("e") and env.unwrapped.episode == 1
    assert player.frame().shape[1] == env.render().shape[1]
    assert any("up: forward" in line for line in player.controls())


def test_pickle_round_trip_mid_trial():
    env = trial_env(render_mode="rgb_array")
    env.reset(seed=5)
    for action in [FORWARD, LEFT, FORWARD]:
        env.step(action)
    env.render()
    clone = pickle.loads(pickle.dumps(env))
    for action in np.random.default_rng(1).integers(0, 3, size=30).tolist():
        a, b = env.step(action), clone.step(action)
        np.testing.assert_array_equal(a[0]["observation"], b[0]["observation"])
        assert a[1:4] == b[1:4]
        if a[2]:
            break
