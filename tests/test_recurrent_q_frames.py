"""The shared learner on pixel observations (MetaSign3D-v0): the observation spec, the CNN
frame encoder, frames in the replay, collection on single envs, and DREAM end to end."""

from __future__ import annotations

import dataclasses

import gymnasium as gym
import numpy as np
import pytest
import torch

import meta_explore_envs  # noqa: F401
from baselines.common.recurrent_q.collect import TrialBatch
from baselines.common.recurrent_q.networks import FrameEncoder, ObsEmbedding, ObsSpec, RecurrentQ
from baselines.common.recurrent_q.replay import TrialBuffer

ENV_ID = "MetaSign3D-v0"
FRAME = (60, 80, 3)
#: The options of DREAM's MetaSign3D preset from the twenty-eighth probe's recipe, at their
#: defaults: the tests of one option at a time start from the preset without them.
WITHOUT_RECIPE = {"decoder_counterfactuals": False, "decoder_prefixes": "all", "decoder_union_weight": 1.0,
                  "information_centred": False, "reading_bonus": 0.0, "explore_can_end": True, "return_fraction": 0.0}


def plain_dream(**overrides):
    """DREAM's MetaSign3D preset without the recipe's options, then ``overrides``."""
    from baselines.dream import DreamConfig

    return DreamConfig.for_env(ENV_ID, **{**WITHOUT_RECIPE, **overrides})


def test_spec_of_a_pixel_env_reads_frames_beside_the_instruction_and_previous_action():
    env = gym.make(ENV_ID)
    spec = ObsSpec.from_env(env)
    assert spec.frame_shape == FRAME and spec.obs_nvec == ()
    assert spec.nvec == (3, 5)  # instruction (2 = none), previous action (4 = none)
    assert ObsSpec.from_dict(spec.to_dict()) == spec
    obs, _ = env.reset(seed=0, options={"problem_id": 1})
    batch = {key: np.asarray(value)[None] for key, value in obs.items()}
    ints, rewards = spec.encode_batch(batch)
    assert ints.tolist() == [[2, 4]] and rewards.tolist() == [0.0]
    np.testing.assert_array_equal(spec.encode_frames(batch)[0], obs["observation"])
    with pytest.raises(ValueError, match=r"expects \(B, 60, 80, 3\) uint8"):
        spec.encode_frames({**batch, "observation": batch["observation"].astype(np.float32)})
    env.close()


def test_grid_specs_have_no_frames_and_keep_their_saved_form():
    spec = ObsSpec.from_env(gym.make("MetaMap-v0"))
    assert spec.frame_shape == () and "frame_shape" not in spec.to_dict()
    assert spec.encode_frames({"observation": np.zeros((1, 3), np.int64)}) is None


def test_frame_encoder_skips_all_zero_padding_frames_without_changing_the_others():
    torch.manual_seed(0)
    encoder = FrameEncoder(FRAME, 8)
    frames = torch.randint(1, 256, (2, 3, *FRAME), dtype=torch.uint8)
    frames[1, 2] = 0  # a padded step
    out = encoder(frames)
    assert out.shape == (2, 3, 8)
    assert torch.equal(out[1, 2], torch.zeros(8))
    alone = encoder(frames[0, 1])  # one frame through the CNN on its own
    torch.testing.assert_close(out[0, 1], alone)


def test_frame_encoder_counts_the_channels_a_training_batch_turns_on():
    """``channels_alive``: the smaller over the two convolutions of the share of channels
    positive somewhere in the last batch seen with gradients on; a channel whose bias holds it
    below 0 on every input is dead, and acting (no gradients) leaves the count alone."""
    from baselines.common.recurrent_q.networks import frame_channels_alive

    torch.manual_seed(0)
    encoder, healthy = FrameEncoder(FRAME, 8), FrameEncoder(FRAME, 8)
    frames = torch.randint(1, 256, (2, 3, *FRAME), dtype=torch.uint8)
    assert np.isnan(encoder.channels_alive) and np.isnan(frame_channels_alive(nn_of(encoder)))
    with torch.no_grad():
        encoder.conv[0].bias[:4] = -1e3  # 4 of the first layer's 16 channels can never turn on
    encoder(frames), healthy(frames)
    x = frames.reshape(-1, *FRAME).permute(0, 3, 1, 2).float() / 255
    first = encoder.conv[1](encoder.conv[0](x))
    second = encoder.conv[3](encoder.conv[2](first))
    by_hand = min((layer > 0).transpose(0, 1).flatten(1).any(1).float().mean().item() for layer in (first, second))
    assert encoder.channels_alive == by_hand <= 12 / 16 < healthy.channels_alive
    assert frame_channels_alive(nn_of(encoder, healthy)) == by_hand  # the smallest over the encoders
    with torch.no_grad():
        encoder.conv[0].bias[:] = -1e3  # every first-layer channel dead
        encoder(frames)
    assert encoder.channels_alive == by_hand  # not counted without gradients
    encoder(frames)
    assert encoder.channels_alive == 0.0


def nn_of(*modules: torch.nn.Module) -> torch.nn.Module:
    return torch.nn.ModuleList(modules)


def test_frames_converted_once_per_tensor_give_each_network_what_a_fresh_conversion_gives():
    """Networks given the same frame tensor share one uint8-to-float conversion; a changed or
    another tensor is converted again."""
    torch.manual_seed(0)
    first, second = FrameEncoder(FRAME, 8), FrameEncoder(FRAME, 8)
    frames = torch.randint(1, 256, (4, *FRAME), dtype=torch.uint8)
    fresh = frames.clone()
    assert torch.equal(first(frames), first(fresh)) and torch.equal(second(frames), second(fresh.clone()))
    frames[0] = 0  # in place: now a padding frame
    assert torch.equal(first(frames)[0], torch.zeros(8))
    assert torch.equal(first(frames)[1:], first(fresh)[1:])
    again = torch.randint(1, 256, (4, *FRAME), dtype=torch.uint8)
    assert torch.equal(second(again), second(again.clone()))


def test_an_embedding_that_reads_frames_refuses_to_run_without_them():
    embed = ObsEmbedding((3, 5), 8, FRAME)
    ints, rewards = torch.zeros(1, 2, dtype=torch.long), torch.zeros(1)
    with pytest.raises(ValueError, match="reads frames"):
        embed(ints, rewards)
    assert embed(ints, rewards, torch.full((1, *FRAME), 7, dtype=torch.uint8)).shape == (1, 8)


def test_recurrent_q_on_frames_one_step_at_a_time_equals_the_whole_sequence():
    torch.manual_seed(1)
    spec = ObsSpec((), (3,), 4, 3, 20, FRAME)
    q_net = RecurrentQ(spec, 16, memory="gru")
    ints = torch.randint(0, 3, (2, 4, 2))
    ints[..., 1] = torch.randint(0, 5, (2, 4))
    rewards = torch.randn(2, 4)
    frames = torch.randint(1, 256, (2, 4, *FRAME), dtype=torch.uint8)
    whole, _ = q_net(ints, rewards, frames=frames)
    state = q_net.initial_state(2)
    for t in range(4):
        q, state = q_net.step(ints[:, t], rewards[:, t], state, frames=frames[:, t])
        torch.testing.assert_close(q, whole[:, t])


def test_replay_stores_one_frame_per_step_and_gathers_them_cut_to_the_longest_episode():
    buffer = TrialBuffer(4, 1, 20, 2, FRAME)
    rng = np.random.default_rng(0)
    trials = {name: np.zeros((2, *array.shape[1:]), array.dtype) for name, array in buffer.arrays.items()}
    trials["exp_len"][:] = (3, 5)
    trials["task_len"][:] = ((2,), (4,))
    trials["exp_frames"][:, :5] = rng.integers(1, 256, (2, 5, *FRAME), dtype=np.uint8)
    trials["task_frames"][:, :, :4] = rng.integers(1, 256, (2, 1, 4, *FRAME), dtype=np.uint8)
    buffer.add(trials)
    batch = buffer.gather(np.array([1, 0]))
    assert batch["exp_frames"].shape == (2, 5, *FRAME) and batch["exp_frames"].dtype == torch.uint8
    assert batch["task_frames"].shape == (2, 1, 4, *FRAME)
    np.testing.assert_array_equal(batch["exp_frames"][0].numpy(), trials["exp_frames"][1, :5])
    restored = TrialBuffer(4, 1, 20, 2, FRAME)
    restored.load_state_dict(buffer.state_dict())
    np.testing.assert_array_equal(restored.arrays["task_frames"], buffer.arrays["task_frames"])


@pytest.mark.parametrize("counterfactuals", [False, True])
def test_a_checkpoint_without_frames_renders_them_again_and_resumes_exactly(tmp_path, counterfactuals):
    """``checkpoint_frames=False`` (the pixel preset): the replay's frames (with DREAM's
    counterfactual explorations, the preset's) are left out of ``checkpoint.pt`` and rendered
    again on load, into the replay's own arrays, from each trial's seed and actions; the
    restored trainer's replay, and its next update, equal the original's. Frames that do not
    match their saved CRC are refused."""
    from baselines.dream.train import Trainer

    cfg = plain_dream(num_envs=3, hidden=8, z_dim=2, buffer_trials=4, learning_starts=1,
                      env_steps_per_update=1000.0, progress=False, out=str(tmp_path),
                      decoder_counterfactuals=counterfactuals)
    assert cfg.checkpoint_frames is False
    trainer = Trainer(cfg)
    trainer.collect()
    trainer.collect()  # 6 trials into 4 slots: the ring has wrapped
    torch.save(trainer.state_dict(), tmp_path / "checkpoint.pt")
    state = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    saved = state["buffer"]["arrays"]
    assert not {"exp_frames", "task_frames", "counterfactual_frames"} & set(saved) and len(saved["frames_crc32"]) == 4
    assert trainer.buffer.arrays["exp_frames"][:4].any()
    assert ("counterfactual_frames" in trainer.buffer.arrays) == counterfactuals
    restored = Trainer(cfg)
    torch.set_rng_state(state["rng"]["torch"])  # (the global generator: constructing drew from it)
    expected = trainer.update()
    restored.load_state_dict(state)
    for name, array in trainer.buffer.arrays.items():
        np.testing.assert_array_equal(restored.buffer.arrays[name], array, err_msg=name)
    assert restored.update() == expected
    state["buffer"]["arrays"]["frames_crc32"][2] += 1
    with pytest.raises(ValueError, match="rendered again for 1 of 4 replayed trials .the first: slot 2"):
        Trainer(cfg).load_state_dict(state)
    with pytest.raises(ValueError, match="has no exp_frames or task_frames: loading it needs a render"):
        TrialBuffer(4, 1, 20, trainer.spec.num_ints, FRAME).load_state_dict(state["buffer"])


def test_problems_per_start_plays_each_start_in_different_problems_alike_until_the_sign(tmp_path):
    """``problems_per_start=3``: a wave's trials come in threes with one seed, the three
    problems, the same start and the same epsilon draws, so their exploration frames are the
    same until the sign is in view; the replay's frames render again from seed and problem."""
    from baselines.dream import DreamConfig
    from baselines.dream.train import Trainer

    cfg = plain_dream(num_envs=6, hidden=8, z_dim=2, buffer_trials=12, problems_per_start=3,
                              progress=False, out=str(tmp_path))
    trainer = Trainer(cfg)
    assert trainer.epsilon(explore=True) == 1.0  # every action random: only the shared draws align them
    trainer.collect()
    a = trainer.buffer.arrays
    assert a["problem_given"][:6].all()
    for group in (slice(0, 3), slice(3, 6)):
        assert len(set(a["seed"][group].tolist())) == 1 and sorted(a["problem_id"][group].tolist()) == [0, 1, 2]
        length = int(a["exp_len"][group][0])
        assert (a["exp_len"][group] == length).all()  # uniform actions, far from the sign at the start
        np.testing.assert_array_equal(a["exp_act"][group][0], a["exp_act"][group][1])
        np.testing.assert_array_equal(a["exp_frames"][group][0], a["exp_frames"][group][2])
    assert a["seed"][0] != a["seed"][3]
    trials = {k: v[:6].copy() for k, v in a.items()}
    trials["exp_frames"][:] = trials["task_frames"][:] = 0
    rendered = trainer.envs.render_frames(trials)
    assert rendered["task_frames"] is trials["task_frames"]  # filled in place
    np.testing.assert_array_equal(rendered["exp_frames"], a["exp_frames"][:6])
    np.testing.assert_array_equal(rendered["task_frames"], a["task_frames"][:6])
    with pytest.raises(ValueError, match="problems_per_start=4 must be >= 1 and divide num_envs=6"):
        DreamConfig(num_envs=6, problems_per_start=4)
    with pytest.raises(ValueError, match="problems_per_start=4: MetaSign3D-v0's train split has only 3 problems"):
        Trainer(plain_dream(num_envs=8, problems_per_start=4, progress=False, out=str(tmp_path)))


def test_dream_counterfactuals_play_each_exploration_again_in_the_other_problems(tmp_path):
    """``decoder_counterfactuals``: the trainer passes each trial's problem to its reset; each
    exploration episode is played again from the same start with the same actions in the
    other two problems (frames equal to the real ones until the sign, as a fresh env shows
    them); the decoder's loss adds their term; a checkpoint without frames renders them again
    exactly."""
    from baselines.dream import DreamConfig
    from baselines.dream.networks import decoder_loss
    from baselines.dream.train import Trainer

    cfg = plain_dream(num_envs=3, hidden=8, z_dim=2, buffer_trials=4, learning_starts=1,
                              env_steps_per_update=1000.0, decoder_counterfactuals=True, progress=False,
                              out=str(tmp_path))
    trainer = Trainer(cfg)
    trainer.collect()
    a = trainer.buffer.arrays
    assert a["problem_given"][:3].all()
    for i in range(3):
        others = a["counterfactual_problem"][i].tolist()
        assert sorted(others + [a["problem_id"][i]]) == [0, 1, 2]
        n = int(a["exp_len"][i])
        for j, problem in enumerate(others):
            env = gym.make(ENV_ID)
            obs, _ = env.reset(seed=int(a["seed"][i]), options={"problem_id": problem})
            for t in range(n):
                np.testing.assert_array_equal(a["counterfactual_frames"][i, j, t], obs["observation"])
                obs, *_ = env.step(int(a["exp_act"][i, t]))
            env.close()
            np.testing.assert_array_equal(a["counterfactual_frames"][i, j, :n], a["exp_frames"][i, :n])  # no sign
            assert not a["counterfactual_frames"][i, j, n:].any()
    b = trainer.buffer.gather(np.arange(3))
    losses = trainer.compute_losses(b, b)
    f = trainer.nets.encoder(b["problem_id"])
    real, _, _ = decoder_loss(trainer.nets.decoder, f, b, b, cfg.decoder_union_weight)
    torch.testing.assert_close(losses["decoder"], real + trainer.counterfactual_loss(b)[0])
    torch.save(trainer.state_dict(), tmp_path / "checkpoint.pt")
    state = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert "counterfactual_frames" not in state["buffer"]["arrays"]
    restored = Trainer(cfg)
    restored.load_state_dict(state)
    np.testing.assert_array_equal(restored.buffer.arrays["counterfactual_frames"], a["counterfactual_frames"])
    with pytest.raises(ValueError, match="decoder_counterfactuals renders exploration episodes again"):
        Trainer(DreamConfig(env="MetaMap-v0", decoder_counterfactuals=True, progress=False, out=str(tmp_path)))


def test_dream_centred_information_gain_is_zero_until_the_versions_of_an_episode_differ(tmp_path):
    """``information_centred``: the gain is DREAM's on f and g less their means over each
    episode's real and counterfactual versions, so episodes that look the same in every
    problem (no sign in view) earn exactly 0 whatever the decoder outputs; once one version's
    frame differs, the gain is the formula's. Bad combinations are refused."""
    from baselines.dream.networks import decoder_loss, information_gain_rewards
    from baselines.dream.train import Trainer

    cfg = plain_dream(num_envs=3, hidden=8, z_dim=2, buffer_trials=4, learning_starts=1,
                              env_steps_per_update=1000.0, decoder_counterfactuals=True, information_centred=True,
                              novelty_bonus=0.0, explore_no_end_fraction=1.0, progress=False, out=str(tmp_path))
    trainer = Trainer(cfg)
    trainer.collect()
    b = trainer.buffer.gather(np.arange(3))
    assert b["exp_len"].min() >= 3
    assert trainer.compute_losses(b, b)["exploration_reward"].item() == 0.0  # exactly: no version differs
    uncentred = Trainer(dataclasses.replace(cfg, information_centred=False))
    uncentred.load_state_dict(trainer.state_dict())
    assert uncentred.compute_losses(b, b)["exploration_reward"].item() != 0.0  # the decoder's problem-free part

    b["counterfactual_frames"][0, 1, 1] = 255 - b["counterfactual_frames"][0, 1, 1]  # one version's frame differs
    with torch.no_grad():
        got = trainer.compute_losses(b, b)["exploration_reward"]
        f = trainer.nets.encoder(b["problem_id"])
        _, g, _ = decoder_loss(trainer.nets.decoder, f, b)
        _, f_cf, g_cf = trainer.counterfactual_loss(b)
    f_all, g_all = torch.cat([f[:, None], f_cf], 1), torch.cat([g[:, None], g_cf], 1)
    spread = ((f_all - f_all.mean(1, keepdim=True)) ** 2).sum(-1).mean()  # over the 3 problems
    gain = information_gain_rewards(f - f_all.mean(1), g - g_all.mean(1), b["exp_len"], 0.0, spread)
    assert gain[1:].abs().max().item() < 1e-6 and gain[0].abs().max().item() > 0
    torch.testing.assert_close(got, gain.sum(1).mean())
    with pytest.raises(ValueError, match="information_centred=True needs decoder_counterfactuals=True"):
        plain_dream(information_centred=True)
    with pytest.raises(ValueError, match="information_rewards='replay' \\(got 'collection'\\)"):
        plain_dream(information_centred=True, decoder_counterfactuals=True,
                            information_rewards="collection")


def test_dream_reading_bonus_pays_the_information_of_the_first_view_that_tells_the_problems_apart(tmp_path):
    """``reading_bonus``: DREAM's information gain under the decoder that knows which problems
    the views rule out. Nothing is paid while every version of an episode looks the same; the
    action whose outcome is told apart from both other versions earns ||f - mean f||^2 over
    f's spread (one version: the step to the mean of the two left), exactly once; the bonus
    decays with the novelty's schedule and needs the counterfactuals."""
    from baselines.dream.train import Trainer, first_told_apart
    from meta_explore_envs.planning.sign3d import views_told_apart

    view = np.zeros((2, 60, 80, 3), np.uint8)
    other = view.copy()
    other[0, :3, :33, 1] = 101  # 99 pixels differ by more than 100
    other[1, :2, :50, 2] = 101  # 100 pixels
    other[1, 2, :50, 0] = 100  # by exactly 100: not counted
    assert views_told_apart(view, other).tolist() == [False, True]

    cfg = plain_dream(num_envs=3, hidden=8, z_dim=2, buffer_trials=4, learning_starts=1,
                              env_steps_per_update=1000.0, decoder_counterfactuals=True, reading_bonus=1.0,
                              novelty_bonus=0.0, explore_no_end_fraction=1.0, progress=False, out=str(tmp_path))
    trainer = Trainer(cfg)
    trainer.collect()
    b = trainer.buffer.gather(np.arange(3))
    with torch.no_grad():
        f = trainer.nets.encoder(b["problem_id"])
        f_cf = trainer.nets.encoder(b["counterfactual_problem"].reshape(-1)).reshape(3, 2, -1)
    assert (b["counterfactual_told_apart"] == 20).all()  # no sign in view: never told apart
    assert trainer.reading_rewards(b, f).abs().max().item() == 0.0
    cf = b["counterfactual_frames"].numpy().copy()
    cf[0, 0, 3:] += 128  # version 1 of trial 0 told apart from step 3 on (each value moves by 128)
    cf[1, :, 2] += 128  # both versions of trial 1 at step 2 only
    told = first_told_apart(b["exp_frames"].numpy(), cf)
    assert told.tolist() == [[3, 20], [2, 2], [20, 20]]
    # Many trials (compared 32 at a time): trial i's version i % 2 told apart from step i % 20 on.
    many_real = np.repeat(b["exp_frames"].numpy()[:1], 70, axis=0)
    many_cf = np.repeat(b["counterfactual_frames"].numpy()[:1], 70, axis=0)
    for i in range(70):
        many_cf[i, i % 2, i % 20:] += 128
    assert first_told_apart(many_real, many_cf).tolist() == [[i % 20, 20] if i % 2 == 0 else [20, i % 20]
                                                             for i in range(70)]
    b["counterfactual_told_apart"] = torch.from_numpy(told)
    got = trainer.reading_rewards(b, f)
    everything = torch.cat([f[:, None], f_cf], 1)
    spread = ((everything - everything.mean(1, keepdim=True)) ** 2).sum(-1).mean()
    expected = torch.zeros_like(got)
    expected[0, 2] = (((f[0] - everything[0].mean(0)) ** 2).sum() - ((f[0] - (f[0] + f_cf[0, 1]) / 2) ** 2).sum())
    expected[1, 1] = ((f[1] - everything[1].mean(0)) ** 2).sum()
    torch.testing.assert_close(got, expected / spread)
    assert cfg.bonus_fraction(0) == 1.0
    decaying = dataclasses.replace(cfg, novelty_decay_start=100, novelty_decay_steps=100)
    assert [decaying.bonus_fraction(s) for s in (0, 150, 250)] == [1.0, 0.5, 0.0]
    with pytest.raises(ValueError, match="reading_bonus=1.0 needs decoder_counterfactuals=True"):
        plain_dream(reading_bonus=1.0)
    with pytest.raises(ValueError, match="reading_bonus=-1.0 must be >= 0"):
        plain_dream(reading_bonus=-1.0)


def test_forced_exploration_prefixes_come_first_then_the_chooser():
    """``with_exploration_prefixes``: each slot's exploration episode starts with its prefix
    (counted per slot, over the calls in which it is active), then the chooser decides;
    exploitation steps are never forced."""
    from baselines.common.recurrent_q.qlearning import with_exploration_prefixes

    choose = with_exploration_prefixes(lambda q, episode, slots=None: np.zeros(len(q), np.int64),
                                       [np.array([2, 1]), np.zeros(0, np.int64), np.array([3])])
    q = torch.zeros(3, 4)
    assert choose(q, np.array([0, 0, 0]), np.arange(3)).tolist() == [2, 0, 3]
    assert choose(q[:2], np.array([0, 1]), np.array([0, 2])).tolist() == [1, 0]  # slot 2 exploits
    assert choose(q[:1], np.array([0]), np.array([0])).tolist() == [0]


def test_dream_returns_replay_an_earlier_start_and_its_actions_to_a_novelty_code(tmp_path):
    """``return_fraction``: the archive keeps, per novelty code, the earliest exploration step
    that reached it; a returning trial is reset with that trial's seed, takes its actions up to
    that step and so reaches the code again; the archive survives a checkpoint."""
    from baselines.dream.read_sign import returned_trials
    from baselines.dream.train import Trainer

    cfg = plain_dream(num_envs=4, hidden=8, z_dim=2, buffer_trials=8, learning_starts=10**6,
                              return_fraction=1.0, explore_no_end_fraction=1.0, progress=False, out=str(tmp_path))
    trainer = Trainer(cfg)
    trainer.collect()  # nothing archived yet: an ordinary wave
    a = trainer.buffer.arrays
    for code, (t, seed, prefix) in trainer.returns.items():
        rows = [i for i in range(4) if a["seed"][i] == seed]
        assert rows and prefix.tolist() == a["exp_act"][rows[0], :t].tolist()
        assert a["exp_codes"][rows[0], t] == code and code not in a["exp_codes"][rows[0], :t]
    archive = dict(trainer.returns)
    trainer.collect()  # every trial returns
    for i in range(4, 8):
        matches = [(code, t) for code, (t, seed, prefix) in archive.items()
                   if seed == a["seed"][i] and prefix.tolist() == a["exp_act"][i, :t].tolist()]
        assert any(a["exp_codes"][i, t] == code for code, t in matches)
    torch.save(trainer.state_dict(), tmp_path / "checkpoint.pt")
    state = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    returned = returned_trials(state)  # read_sign --visits: own trials and returns apart
    assert returned[4:8].sum() >= 3  # (a return to a start square has no prefix to tell it by)
    sources = {(seed, tuple(prefix)) for t, seed, prefix in trainer.returns.values() if t}
    assert returned[:4].tolist() == [any(s == a["seed"][i] and tuple(a["exp_act"][i, :len(p)]) == p
                                         for s, p in sources) for i in range(4)]  # the archive's own sources
    restored = Trainer(cfg)
    restored.load_state_dict(state)
    assert restored.returns.keys() == trainer.returns.keys()
    for code, (t, seed, prefix) in trainer.returns.items():
        assert restored.returns[code][:2] == (t, seed) and restored.returns[code][2].tolist() == prefix.tolist()
    with pytest.raises(ValueError, match="return_fraction=0.5 needs novelty_bonus > 0"):
        plain_dream(return_fraction=0.5, novelty_bonus=0.0)
    with pytest.raises(ValueError, match="return_fraction=1.5 must be in \\[0, 1\\]"):
        plain_dream(return_fraction=1.5)


def test_dream_explorer_that_cannot_end_never_ends_in_training_or_from_its_checkpoint(tmp_path):
    """``explore_can_end=False``: the exploration Q-value of ``end episode`` is -inf (acting and
    the targets' argmax), so no meta-training exploration episode ends early by the explorer's
    choice; the policy checkpoint keeps the mask for the harness's agent."""
    from baselines.dream import load_agent
    from baselines.dream.train import Trainer

    cfg = plain_dream(num_envs=4, hidden=8, z_dim=2, buffer_trials=8, learning_starts=1,
                              env_steps_per_update=1000.0, explore_can_end=False, explore_epsilon_end=0.0,
                              epsilon_start=0.0, progress=False, out=str(tmp_path))
    trainer = Trainer(cfg)
    with torch.no_grad():  # make `end` the explorer's greedy action, were it not masked
        trainer.nets.explore_q.head[-1].bias[3] += 100.0
    trainer.collect()
    a = trainer.buffer.arrays
    assert not (a["exp_act"][:4][np.arange(20) < a["exp_len"][:4, None]] == 3).any()
    assert a["exp_len"][:4].min() > 1  # (greedy `end` would stop each after one step)
    b = trainer.buffer.gather(np.arange(4))
    assert torch.isfinite(trainer.compute_losses(b, b)["explore_q"])
    torch.save(trainer.make_policy_checkpoint({}), tmp_path / "final.pt")
    agent = load_agent(ENV_ID, tmp_path / "final.pt")
    assert agent.nets.explore_masked_action == 3
    with pytest.raises(ValueError, match="explore_can_end=False needs random_end_action=False"):
        plain_dream(explore_can_end=False, random_end_action=True)


class _ScriptedActor:
    """Acts from a fixed table: action ``script[slot][t]`` at the slot's t-th step of the trial."""

    def __init__(self, script):
        self.script = script
        self.t = np.zeros(len(script), dtype=np.int64)
        self.frames_seen = []

    def reset(self, slots=None):
        self.t[:] = 0

    def q_values(self, slots, ints, rewards, episode, frames=None):
        self.frames_seen.append(frames.copy())
        q = torch.zeros(len(slots), 4)
        for row, slot in enumerate(slots):
            q[row, self.script[slot][self.t[slot]]] = 1.0
            self.t[slot] += 1
        return q


def test_a_wave_on_single_envs_records_the_frames_and_returns_of_the_same_seeded_trials():
    left, right, forward, end = 0, 1, 2, 3
    scripts = [[forward, left, end, forward, forward, end], [end, right, right, end]]
    batch = TrialBatch(ENV_ID, 2)
    actor = _ScriptedActor(scripts)
    seeds = np.array([11, 12])
    trials, stats = batch.run_wave(actor, seeds, lambda q, episode, slots: q.argmax(-1).numpy())
    assert trials["exp_len"].tolist() == [3, 1] and trials["task_len"].tolist() == [[3], [3]]
    assert stats["steps"] == 10
    for slot, seed in enumerate(seeds):
        env = gym.make(ENV_ID)
        obs, info = env.reset(seed=int(seed))
        assert trials["problem_id"][slot] == info["problem_id"] == batch.problem_ids[slot]
        frames = []
        for action in scripts[slot]:
            frames.append(obs["observation"])
            obs, *_ = env.step(action)
        n_exp = trials["exp_len"][slot]
        np.testing.assert_array_equal(trials["exp_frames"][slot, :n_exp], np.stack(frames[:n_exp]))
        np.testing.assert_array_equal(trials["task_frames"][slot, 0, :3], np.stack(frames[n_exp:]))
        assert not trials["exp_frames"][slot, n_exp:].any()  # padding stays zero
        env.close()
    batch.close()


@pytest.mark.slow
def test_dream_trains_on_frames_and_its_checkpoint_plays_the_harness(tmp_path):
    from baselines.dream import DreamConfig, load_agent
    from baselines.dream.train import train
    from evaluation.harness import run_trials

    cfg = DreamConfig.for_env(ENV_ID, seed=0, threads=1, num_envs=4, batch_size=4, hidden=16, z_dim=4,
                              buffer_trials=50, learning_starts=200, total_steps=500, eval_every=0, eval_trials=2,
                              checkpoint_every=10_000, novelty_bonus=0.1, progress=False, out=str(tmp_path))
    summary = train(cfg)
    assert summary["updates"] > 0 and summary["env_steps"] <= 500
    import csv

    with open(tmp_path / "progress.csv") as f:
        rows = list(csv.DictReader(f))
    assert 0 < float(rows[-1]["frame_channels_alive"]) <= 1  # logged for pixel runs
    counts = torch.load(tmp_path / "checkpoint.pt", weights_only=True)["novelty"]["counts"]
    assert 0 < int(counts.sum()) < summary["env_steps"]  # the exploration episodes' frames
    agent = load_agent(ENV_ID, tmp_path / "final.pt")
    result = run_trials(agent, ENV_ID, split="test", num_trials=2, seed=0)
    assert len(result.exploit_returns) == 2


def _views() -> np.ndarray:
    """Four rendered frames: the start view, a turn, and two more turns."""
    env = gym.make(ENV_ID)
    obs, _ = env.reset(seed=3)
    frames = [obs["observation"]]
    for _ in range(3):
        obs, *_ = env.step(1)
        frames.append(obs["observation"])
    env.close()
    return np.stack(frames)


def test_simhash_codes_are_equal_for_equal_frames_and_tell_different_views_apart():
    from baselines.common.recurrent_q.novelty import FrameHashCounter

    views = _views()
    counter = FrameHashCounter(FRAME, bits=32, seed=0)
    codes = counter.codes(np.stack([views, views]))  # (2, 4)
    assert codes.shape == (2, 4) and codes.dtype == np.int64
    assert codes[0].tolist() == codes[1].tolist()
    assert len(set(codes[0].tolist())) == 4
    assert FrameHashCounter(FRAME, bits=32, seed=0).codes(views).tolist() == codes[0].tolist()
    with pytest.raises(ValueError, match="bits=64"):
        FrameHashCounter(FRAME, bits=64)
    with pytest.raises(ValueError, match="pool=7"):
        FrameHashCounter(FRAME, pool=7)


def test_novelty_is_one_over_the_square_root_of_the_count_and_survives_a_checkpoint():
    from baselines.common.recurrent_q.novelty import FrameHashCounter

    counter = FrameHashCounter(FRAME)
    counter.add(np.array([5, 5, 9, 5]))
    np.testing.assert_allclose(counter.novelty(np.array([[5, 9, 11]])), [[1 / np.sqrt(3), 1.0, 1.0]], rtol=1e-6)
    restored = FrameHashCounter(FRAME)
    restored.load_state_dict(counter.state_dict())
    assert restored.counts == {5: 3, 9: 1}


def test_dream_novelty_reward_of_an_action_is_the_novelty_of_the_frame_it_leads_to(tmp_path):
    from baselines.dream import DreamConfig
    from baselines.dream.train import Trainer

    cfg = plain_dream(num_envs=2, hidden=8, z_dim=2, buffer_trials=4, novelty_bonus=0.5,
                              progress=False, out=str(tmp_path))
    trainer = Trainer(cfg)
    views = _views()
    codes = trainer.novelty.codes(views)
    trainer.novelty.add(np.array([codes[1], codes[1], codes[1], codes[1], codes[2]]))
    bonus = trainer.novelty_rewards(torch.from_numpy(np.stack([codes, codes])), torch.tensor([4, 2]))
    expected = [[0.5, 1.0, 1.0, 0.0], [0.5, 0.0, 0.0, 0.0]]  # frames 1 (seen 4 times), 2 (once), 3 (never)
    np.testing.assert_allclose(bonus.numpy(), expected, rtol=1e-6)
    assert DreamConfig(novelty_bonus=0.5).novelty_weight(10**7) == 0.5  # no decay
    decaying = plain_dream(novelty_bonus=0.5, novelty_decay_start=100, novelty_decay_steps=100)
    assert [decaying.novelty_weight(s) for s in (0, 150, 250)] == [0.5, 0.25, 0.0]
    with pytest.raises(ValueError, match="needs pixel observations"):
        Trainer(DreamConfig.for_env("MetaMap-v0", num_envs=2, novelty_bonus=0.1, progress=False,
                                    out=str(tmp_path / "grid")))


def test_position_codes_are_the_squares_holding_the_positions():
    from baselines.common.recurrent_q.novelty import position_codes

    states = [(0.5, 0.5, 1.0, 0, 0), (1.2, 0.3, 1.0, 0, 1), (9.99, 12.5, 0.0, 3, 2), (1.9, 0.1, 2.0, 1, 3)]
    assert position_codes(states, 1.0).tolist() == [0, 1, 9 + 12 * 2**20, 1]
    assert position_codes(states, 2.0).tolist() == [0, 0, 4 + 6 * 2**20, 0]
    with pytest.raises(ValueError, match="cell=0"):
        position_codes(states, 0)
    # with 8 heading sectors: heading = start + turns x 45 degrees, sectors centred on east
    sectors = [1, 1, 3, 4]  # 57, 57, 135 (3 turns), 160 (2.0 rad + 1 turn) degrees
    assert position_codes(states, 1.0, 8).tolist() == [c + (s << 40) for c, s in
                                                        zip(position_codes(states, 1.0).tolist(), sectors)]
    with pytest.raises(ValueError, match="headings=-1"):
        position_codes(states, 1.0, -1)


@pytest.mark.parametrize("source", ["frames", "position", "pose"])
def test_dream_stores_and_counts_a_novelty_code_per_exploration_step(source, tmp_path):
    """Codes are made once per collected step (SimHash of the frame, or the square of the
    position the env reports) and stored in the replay; an old checkpoint without them gets
    the frames' codes back on resume."""
    from baselines.common.recurrent_q.novelty import position_codes
    from baselines.dream.train import Trainer

    cfg = plain_dream(num_envs=3, hidden=8, z_dim=2, buffer_trials=8, novelty_bonus=0.5,
                              novelty_source=source, novelty_cell=2.0, progress=False, out=str(tmp_path))
    trainer = Trainer(cfg)
    trainer.train_wave()
    a, lengths = trainer.buffer.arrays, trainer.buffer.arrays["exp_len"][:3]
    for i, n in enumerate(lengths.tolist()):
        expected = (trainer.novelty.codes(a["exp_frames"][i, :n]) if source == "frames"
                    else position_codes(trainer.envs.envs.exploration_states[i], 2.0, 8 if source == "pose" else 0))
        assert a["exp_codes"][i, :n].tolist() == expected.tolist()
        assert not a["exp_codes"][i, n:].any()
    assert sum(trainer.novelty.counts.values()) == lengths.sum()
    if source == "frames":
        state = trainer.state_dict()
        del state["buffer"]["arrays"]["exp_codes"]
        restored = Trainer(cfg)
        restored.load_state_dict(state)
        np.testing.assert_array_equal(restored.buffer.arrays["exp_codes"], a["exp_codes"])


def test_dream_novelty_window_counts_the_codes_of_the_trials_in_the_replay(tmp_path):
    """``novelty_window``: the counts are those of the codes stored in the replay, also once
    the ring has overwritten trials; uncounting more than was counted is refused."""
    from collections import Counter

    from baselines.common.recurrent_q.novelty import FrameHashCounter
    from baselines.dream.train import Trainer

    cfg = plain_dream(num_envs=3, hidden=8, z_dim=2, buffer_trials=4, novelty_bonus=0.5,
                              novelty_source="position", novelty_window=True, progress=False, out=str(tmp_path))
    trainer = Trainer(cfg)
    for _ in range(3):  # 9 trials through 4 slots
        trainer.collect()
        a, n = trainer.buffer.arrays, len(trainer.buffer)
        stored = Counter(c for i in range(n) for c in a["exp_codes"][i, : a["exp_len"][i]].tolist())
        assert trainer.novelty.counts == dict(stored)
    counter = FrameHashCounter(FRAME)
    counter.add(np.array([5, 5, 7]))
    counter.remove(np.array([5, 7]))
    assert counter.counts == {5: 1}
    with pytest.raises(ValueError, match="cannot uncount code 5 2 times: it was counted 1"):
        counter.remove(np.array([5, 5]))


def test_dream_collection_information_rewards_are_made_once_before_training_on_the_trial(tmp_path):
    """``information_rewards="collection"``: each exploration action's information gain is
    computed when its wave is collected, by the decoder of that moment (per trial they sum to
    (d_0 - d_last) / spread of f), stored in the replay and used, less the step cost, by the
    exploration Q-loss unchanged after the decoder trains; grids have no field for them.
    ``decoder_trials=2``: the decoder's loss is that of the batch's first two trials;
    ``information_floor``: the gains are floored at 0."""
    from baselines.dream import DreamConfig
    from baselines.dream.networks import decoder_loss
    from baselines.dream.train import Trainer

    cfg = plain_dream(num_envs=3, hidden=8, z_dim=2, buffer_trials=8, learning_starts=1,
                              env_steps_per_update=1000.0, information_rewards="collection",
                              exploration_step_cost=0.01, novelty_bonus=0.0, decoder_trials=2, progress=False,
                              out=str(tmp_path))
    trainer = Trainer(cfg)
    nets = trainer.nets
    before = {k: v.clone() for k, v in nets.state_dict().items()}
    trainer.collect()
    b = trainer.buffer.gather(np.arange(3))
    with torch.no_grad():
        f = nets.encoder(b["problem_id"])
        g = nets.decoder(b["exp_ints"], b["exp_rew"], frames=b["exp_frames"])
    d = ((g - f.unsqueeze(1)) ** 2).sum(-1) / ((f - f.mean(0)) ** 2).sum(-1).mean()
    last = b["exp_len"] - 1
    torch.testing.assert_close(b["exp_info"].sum(1), d[:, 0] - d[torch.arange(3), last])
    assert (b["exp_info"][torch.arange(3), last] == 0).all()  # the last action's outcome is never seen
    stored = trainer.buffer.arrays["exp_info"][:3].copy()
    trainer.update()  # the decoder (and everything else) trains ...
    assert any(not torch.equal(before[k], v) for k, v in nets.state_dict().items() if k.startswith("decoder"))
    np.testing.assert_array_equal(trainer.buffer.arrays["exp_info"][:3], stored)  # ... the rewards stay
    steps = torch.arange(b["exp_info"].shape[1]).unsqueeze(0) < b["exp_len"].unsqueeze(1)
    losses = trainer.compute_losses(b, b)
    expected = ((b["exp_info"] - 0.01) * steps).sum(1).mean()
    torch.testing.assert_close(losses["exploration_reward"], expected)
    first_two = {k: v[:2] for k, v in b.items()}
    expected_decoder, _, _ = decoder_loss(nets.decoder, nets.encoder(b["problem_id"][:2]), first_two, first_two,
                                          cfg.decoder_union_weight)
    torch.testing.assert_close(losses["decoder"], expected_decoder)
    trainer.cfg.information_floor = True  # each action's gain floored at 0, then the step cost
    assert (b["exp_info"] < 0).any() and (b["exp_info"] > 0).any()
    floored = ((b["exp_info"].clamp(min=0) - 0.01) * steps).sum(1).mean()
    torch.testing.assert_close(trainer.compute_losses(b, b)["exploration_reward"], floored)
    trainer.cfg.information_floor = False
    state = trainer.state_dict()  # a checkpoint saved before the field existed loads zeros
    del state["buffer"]["arrays"]["exp_info"]
    restored = Trainer(cfg)
    restored.load_state_dict(state)
    assert not restored.buffer.arrays["exp_info"].any()
    with pytest.raises(ValueError, match="information_rewards='collection' stores the rewards with the frames"):
        Trainer(DreamConfig(env="MetaMap-v0", information_rewards="collection", progress=False))
    with pytest.raises(ValueError, match="information_rewards='later'"):
        DreamConfig(information_rewards="later")
    with pytest.raises(ValueError, match=r"decoder_trials=40 must be in \[0, batch_size=32\]"):
        DreamConfig(batch_size=32, decoder_trials=40, information_rewards="collection")
    with pytest.raises(ValueError, match="decoder_trials=4 needs information_rewards='collection'"):
        DreamConfig(decoder_trials=4)


def test_dream_decoder_priority_draws_the_decoders_trials_by_their_rarest_code(tmp_path):
    """``decoder_priority``: the decoder learns from ``decoder_trials`` trials of its own, drawn
    from the replay with probability proportional to (1 / m) ** priority, m the fewest visits of
    any code its exploration episode reached; the Q-batch is drawn as before."""
    from baselines.dream import DreamConfig
    from baselines.dream.networks import decoder_loss
    from baselines.dream.train import Trainer

    cfg = plain_dream(num_envs=3, hidden=8, z_dim=2, buffer_trials=8, learning_starts=1,
                              env_steps_per_update=1000.0, information_rewards="collection", novelty_bonus=0.5,
                              novelty_source="position", decoder_trials=2, decoder_priority=1.0, progress=False,
                              out=str(tmp_path))
    trainer = Trainer(cfg)
    trainer.collect()
    a, n = trainer.buffer.arrays, len(trainer.buffer)
    a["exp_codes"][0, 0] = 12345  # a code only trial 0 reached, seen once; every other one 100 times
    trainer.novelty.counts = {**{c: 100 for c in trainer.novelty.counts}, 12345: 1}
    trainer._decoder_probabilities = None
    weights = np.array([1.0] + [0.01] * (n - 1))
    np.testing.assert_allclose(trainer.decoder_probabilities(), weights / weights.sum())
    trainer.cfg.decoder_priority, trainer._decoder_probabilities = 4.0, None  # (1/1)^4 against (1/100)^4
    batch, partner, decoder_b, decoder_partner = trainer.sample_batch()
    assert len(batch["exp_len"]) == cfg.batch_size and len(decoder_b["exp_len"]) == 2
    for key in ("problem_id", "exp_len"):
        assert decoder_b[key].tolist() == [a[key][0]] * 2
    assert (decoder_partner["problem_id"] == decoder_b["problem_id"]).all()
    losses = trainer.compute_losses(batch, partner, decoder_b, decoder_partner)
    expected, _, _ = decoder_loss(trainer.nets.decoder, trainer.nets.encoder(decoder_b["problem_id"]), decoder_b,
                                  decoder_partner, cfg.decoder_union_weight)
    torch.testing.assert_close(losses["decoder"], expected)
    trainer.update()  # and a whole update runs on them
    with pytest.raises(ValueError, match="decoder_priority=-1.0 must be >= 0"):
        DreamConfig(decoder_priority=-1.0)
    with pytest.raises(ValueError, match="decoder_priority=1.0 needs decoder_trials > 0 .got 0. and novelty_bonus"):
        DreamConfig(decoder_priority=1.0, novelty_bonus=0.1)


def test_random_shift_moves_each_frame_by_its_own_offset_with_the_edges_repeated():
    from baselines.common.recurrent_q.networks import random_shift

    frames = torch.from_numpy(np.random.default_rng(3).integers(1, 256, size=(2, 3, 6, 5, 3), dtype=np.uint8))
    frames[1, 2] = 0  # a padding frame
    shifted = random_shift(frames, 2, np.random.default_rng(7))
    assert shifted.shape == frames.shape and shifted.dtype == torch.uint8
    offsets = np.random.default_rng(7).integers(-2, 3, size=(6, 2))  # the same draws, frame by frame
    for n, (dy, dx) in enumerate(offsets):  # reference: replicate-pad by 2, crop at the offset
        padded = np.pad(frames.reshape(6, 6, 5, 3)[n].numpy(), ((2, 2), (2, 2), (0, 0)), mode="edge")
        np.testing.assert_array_equal(shifted.reshape(6, 6, 5, 3)[n].numpy(), padded[2 + dy: 8 + dy, 2 + dx: 7 + dx])
    assert len({tuple(o) for o in offsets}) > 1  # the frames moved differently
    assert not shifted[1, 2].any()
    assert torch.equal(random_shift(frames, 0, np.random.default_rng(0)), frames)
    with pytest.raises(ValueError, match="pad=-1 must be >= 0"):
        random_shift(frames, -1, np.random.default_rng(0))


@pytest.mark.parametrize("prefixes", ["all", "final"])
def test_dream_decoder_shift_trains_the_decoder_on_shifted_frames_and_nothing_else(prefixes, tmp_path):
    """``decoder_shift``: the decoder's loss is its loss on the batch's frames shifted with the
    trainer's generator (the partner's after the batch's); the Q-networks see them unshifted.
    ``decoder_prefixes`` reaches the loss."""
    from baselines.common.recurrent_q.networks import random_shift
    from baselines.dream import DreamConfig
    from baselines.dream.networks import decoder_loss
    from baselines.dream.train import Trainer

    cfg = plain_dream(num_envs=3, hidden=8, z_dim=2, buffer_trials=8, learning_starts=1,
                              env_steps_per_update=1000.0, information_rewards="collection", novelty_bonus=0.0,
                              decoder_shift=3, decoder_prefixes=prefixes, progress=False, out=str(tmp_path))
    trainer = Trainer(cfg)
    trainer.collect()
    b = trainer.buffer.gather(np.arange(3))
    partner = {k: v.flip(0) for k, v in b.items()}
    state = trainer.rng.bit_generator.state
    losses = trainer.compute_losses(b, partner)
    rng = np.random.default_rng()
    rng.bit_generator.state = state
    shifted, shifted_partner = dict(b), dict(partner)
    shifted["exp_frames"] = random_shift(b["exp_frames"], 3, rng)
    shifted_partner["exp_frames"] = random_shift(partner["exp_frames"], 3, rng)
    f = trainer.nets.encoder(b["problem_id"])
    expected, _, _ = decoder_loss(trainer.nets.decoder, f, shifted, shifted_partner, cfg.decoder_union_weight,
                                  prefixes)
    torch.testing.assert_close(losses["decoder"], expected)
    plain, _, _ = decoder_loss(trainer.nets.decoder, f, b, partner, cfg.decoder_union_weight, prefixes)
    assert not torch.equal(losses["decoder"], plain)  # the shift changed what the decoder saw
    torch.testing.assert_close(b["exp_frames"], trainer.buffer.gather(np.arange(3))["exp_frames"])  # unmoved
    with pytest.raises(ValueError, match="decoder_shift=-2 must be >= 0"):
        DreamConfig(decoder_shift=-2)
    with pytest.raises(ValueError, match="decoder_shift=4 shifts frames; MetaMap-v0 has no pixel observations"):
        Trainer(DreamConfig(env="MetaMap-v0", decoder_shift=4, progress=False))


def test_dream_novelty_settings_are_checked():
    from baselines.dream import DreamConfig

    with pytest.raises(ValueError, match="novelty_source=.place."):
        DreamConfig(novelty_source="place")
    with pytest.raises(ValueError, match="novelty_cell=0"):
        DreamConfig(novelty_cell=0.0)


def test_whole_trials_pack_each_steps_frame_beside_its_integers():
    from baselines.common.recurrent_q.whole_trial import whole_trials

    buffer = TrialBuffer(2, 2, 20, 2, FRAME)
    trials = {name: np.zeros((1, *array.shape[1:]), array.dtype) for name, array in buffer.arrays.items()}
    trials["exp_len"][:] = 2
    trials["task_len"][:] = ((3, 1),)
    for t in range(2):  # frame value = 10 * episode + step + 1, also written into the first integer
        trials["exp_frames"][0, t] = trials["exp_ints"][0, t, 0] = t + 1
    for k in range(2):
        for t in range(3):
            trials["task_frames"][0, k, t] = trials["task_ints"][0, k, t, 0] = 10 * (k + 1) + t + 1
    trials["task_frames"][0, 1, 1:] = trials["task_ints"][0, 1, 1:] = 0  # past the second episode's end
    buffer.add(trials)
    seq = whole_trials(buffer.gather(np.array([0])))
    assert seq["frames"].shape == (1, 6, *FRAME)
    assert seq["frames"][0, :, 0, 0, 0].tolist() == seq["ints"][0, :, 0].tolist() == [1, 2, 11, 12, 13, 21]


@pytest.mark.slow
@pytest.mark.parametrize("method", ["erl2", "import_", "varibad"])
def test_each_baseline_trains_on_frames_and_plays_the_harness(method, tmp_path):
    import importlib

    from evaluation.harness import run_trials

    package = importlib.import_module(f"baselines.{method}")
    config_class = {"erl2": "ERL2Config", "import_": "ImportConfig", "varibad": "VariBADConfig"}[method]
    cfg = getattr(package, config_class).for_env(
        ENV_ID, seed=0, threads=1, num_envs=4, batch_size=4, hidden=16, buffer_trials=50, learning_starts=150,
        total_steps=300, eval_every=0, eval_trials=2, checkpoint_every=10_000, progress=False, out=str(tmp_path))
    summary = importlib.import_module(f"baselines.{method}.train").train(cfg)
    assert summary["updates"] > 0
    agent = package.load_agent(ENV_ID, tmp_path / "final.pt")
    assert len(run_trials(agent, ENV_ID, split="test", num_trials=2, seed=0).exploit_returns) == 2


def test_a_wave_on_sign3d_records_the_exploration_poses_and_whether_they_saw_the_sign():
    """The wave's ``sign_seen`` (progress.csv's ``exploration_sign_seen``) is the harness's
    test on the poses a single env passes through: True for the oracle's walk to the sign,
    False for an exploration episode ended at once in the start room."""
    from baselines.sign3d import explore_action
    from meta_explore_envs.planning.sign3d import sign_seen

    seeds = np.array([5, 6])
    end = 3
    env = gym.make(ENV_ID)
    env.reset(seed=int(seeds[0]))
    trial = env.unwrapped
    walk, poses = [], [trial.episode_env.state]
    while trial.episode == 0:
        walk.append(explore_action(trial.episode_env, trial.problem_id))
        _, _, _, _, info = env.step(walk[-1])
        if not info["episode_done"]:
            poses.append(trial.episode_env.state)
    env.close()
    assert len(walk) > 10 and sign_seen(poses)
    batch = TrialBatch(ENV_ID, 2)
    trials, stats = batch.run_wave(_ScriptedActor([[*walk, end], [end, end]]), seeds,
                                   lambda q, episode, slots: q.argmax(-1).numpy())
    assert trials["exp_len"].tolist() == [len(walk), 1]
    assert batch.envs.exploration_states[0] == poses
    assert len(batch.envs.exploration_states[1]) == 1
    assert stats["sign_seen"].tolist() == [True, False]
    batch.close()
