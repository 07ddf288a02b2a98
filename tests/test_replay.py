"""ReplayBuffer edge cases: episode boundaries, terminated vs truncated, uint8, memory; the
EpisodeStore layout that the observation pool, the dataset reader and HOLD sample from."""

import numpy as np
import pytest
import torch

from videorl.episodes import EpisodeStore
from videorl.replay import Batch, ReplayBuffer


def fill(buf: ReplayBuffer, lengths, terminal_last, frame_fn):
    """Add episodes; observation of episode e at time t is frame_fn(e, t)."""
    for e, (length, term) in enumerate(zip(lengths, terminal_last)):
        buf.start_episode(frame_fn(e, 0))
        for t in range(length):
            last = t == length - 1
            buf.add(
                np.array([e, t], np.float32),
                float(t),
                frame_fn(e, t + 1),
                last and term,
                last and not term,
            )


def state(e, t):
    return np.array([e, t, 0.5], np.float32)


def test_transitions_never_cross_episode_boundaries():
    buf = ReplayBuffer(100, (3,), np.float32, (2,))
    fill(buf, [3, 4], [False, True], state)
    tr = buf.transitions()
    assert len(buf) == 7
    # obs/next_obs belong to the same episode, next is t+1
    assert torch.equal(tr["obs"][:, 0], tr["next_obs"][:, 0])
    assert torch.equal(tr["next_obs"][:, 1], tr["obs"][:, 1] + 1)
    # the final transition of episode 0 ends at its last observation, not the next reset
    assert tr["next_obs"][2].tolist() == pytest.approx([0, 3, 0.5])
    assert tr["obs"][3].tolist() == pytest.approx([1, 0, 0.5])


def test_terminated_and_truncated_are_kept_apart():
    buf = ReplayBuffer(100, (3,), np.float32, (2,))
    fill(buf, [2, 2], [False, True], state)  # episode 0 hits the time limit, 1 terminates
    tr = buf.transitions()
    assert tr["truncated"].tolist() == [False, True, False, False]
    assert tr["terminated"].tolist() == [False, False, False, True]
    # a sampled batch only marks true terminations, so the critic bootstraps a truncation
    batch = buf.sample(500, np.random.default_rng(0))
    t_index = batch.obs[:, 1].long()
    ep = batch.obs[:, 0].long()
    expected = ((ep == 1) & (t_index == 1)).float()
    assert torch.equal(batch.terminated, expected)


def test_uint8_round_trip_channel_first():
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, size=(6, 48, 48, 3), dtype=np.uint8)
    buf = ReplayBuffer(10, (48, 48, 3), np.uint8, (2,))
    buf.start_episode(frames[0])
    for t in range(5):
        buf.add(np.zeros(2), 0.0, frames[t + 1], False, t == 4)
    tr = buf.transitions()
    assert tr["obs"].dtype == torch.uint8
    assert tr["obs"].shape == (5, 3, 48, 48)
    for t in range(5):
        assert np.array_equal(tr["obs"][t].permute(1, 2, 0).numpy(), frames[t])
        assert np.array_equal(tr["next_obs"][t].permute(1, 2, 0).numpy(), frames[t + 1])


def test_memory_per_pixel_transition_is_at_most_1_1_frames():
    capacity = 10_000
    buf = ReplayBuffer(capacity, (48, 48, 3), np.uint8, (3,))
    frame = 48 * 48 * 3
    assert buf.nbytes() / capacity <= 1.1 * frame
    # and it really holds `capacity` transitions of 100-step episodes
    zero = np.zeros((48, 48, 3), np.uint8)
    for _ in range(capacity // 100):
        buf.start_episode(zero)
        for t in range(100):
            buf.add(np.zeros(3), 0.0, zero, False, t == 99)
    assert len(buf) == capacity


def test_fifo_eviction_keeps_consistent_pairs():
    buf = ReplayBuffer(25, (3,), np.float32, (2,))
    fill(buf, [7] * 10, [False] * 10, state)
    tr = buf.transitions()
    assert len(buf) <= 25
    assert torch.equal(tr["obs"][:, 0], tr["next_obs"][:, 0])
    assert torch.equal(tr["next_obs"][:, 1], tr["obs"][:, 1] + 1)
    assert tr["obs"][-1].tolist() == pytest.approx([9, 6, 0.5])  # newest kept
    # the stored action identifies (episode, t) and must match the observation
    assert torch.equal(tr["action"], tr["obs"][:, :2])


def test_state_dict_round_trip_preserves_samples():
    buf = ReplayBuffer(30, (3,), np.float32, (2,))
    fill(buf, [7] * 6, [False] * 6, state)
    buf.start_episode(state(99, 0))
    buf.add(np.zeros(2), 0.0, state(99, 1), False, False)  # open episode
    clone = ReplayBuffer(30, (3,), np.float32, (2,))
    clone.load_state_dict(buf.state_dict())
    a = buf.sample(64, np.random.default_rng(3))
    b = clone.sample(64, np.random.default_rng(3))
    assert torch.equal(a.obs, b.obs) and torch.equal(a.next_obs, b.next_obs)
    # the open episode continues in the clone
    clone.add(np.zeros(2), 0.0, state(99, 2), False, True)
    assert clone.transitions()["obs"][-1].tolist() == pytest.approx([99, 1, 0.5])


def test_batch_validates_rows():
    with pytest.raises(ValueError, match="Batch.reward"):
        Batch(
            torch.zeros(4, 3), torch.zeros(4, 2), torch.zeros(3), torch.zeros(4, 3), torch.zeros(4)
        )


def test_add_before_start_and_bad_shape_fail():
    buf = ReplayBuffer(10, (3,), np.float32, (2,))
    with pytest.raises(RuntimeError):
        buf.add(np.zeros(2), 0.0, np.zeros(3, np.float32), False, False)
    with pytest.raises(ValueError, match="shape"):
        buf.start_episode(np.zeros(4, np.float32))


def test_episode_store_layout_and_samplers_stay_inside_episodes():
    frames = torch.arange(10)  # episodes of 4, 1, 0 and 5 frames
    store = EpisodeStore(frames, [4, 1, 0, 5])
    assert store.starts.tolist() == [0, 4, 5, 5] and len(store) == 4
    assert store.episode(3).data_ptr() == frames[5:].data_ptr()  # a view, not a copy
    first, last = store.transition_table()
    assert first.tolist() == [0, 1, 2, 5, 6, 7, 8] and store.num_transitions == 7
    assert last.tolist() == [False, False, True, False, False, False, True]
    assert store.window_starts(4).tolist() == [0, 5, 6] and len(store.window_starts(6)) == 0
    rng = np.random.default_rng(0)
    ids, i, is_last = store.sample_transitions(200, rng)
    assert np.array_equal(i, first[ids]) and np.array_equal(is_last, last[ids])
    assert set(store.sample_windows(200, 4, rng)[:, 0].tolist()) == {0, 5, 6}
    episode, t, goal = store.sample_pairs(200, rng)
    assert set(episode.tolist()) == {0, 3} and (t < goal).all()
    assert (goal < store.lengths[episode]).all()
    with pytest.raises(ValueError, match="no episode has 6 frames"):
        store.sample_windows(1, 6, rng)
    with pytest.raises(ValueError, match="lengths sum to 9"):
        EpisodeStore(frames, [4, 5, 0])
    other = store.with_frames(frames * 2)  # another copy of the frames, the same index
    assert other.transition_table()[0] is first and other.episode(0).tolist() == [0, 2, 4, 6]


def test_a_full_wrapped_buffer_round_trips_through_its_state():
    """Mutation-testing survivor: a wrapped buffer's state must load into a buffer of the
    same capacity (what every resume does once the buffer is full)."""
    buf = ReplayBuffer(30, (3,), np.float32, (2,))
    rng = np.random.default_rng(0)
    for episode in range(6):
        buf.start_episode(np.full(3, episode * 100, np.float32))
        for t in range(1, 12):
            buf.add(rng.uniform(-1, 1, 2).astype(np.float32), float(t),
                    np.full(3, episode * 100 + t, np.float32), False, t == 11)  # fmt: skip
    assert len(buf) == 30
    copy = ReplayBuffer(30, (3,), np.float32, (2,))
    copy.load_state_dict(buf.state_dict())
    a, b = buf.sample(64, np.random.default_rng(1)), copy.sample(64, np.random.default_rng(1))
    for key in ("obs", "action", "reward", "next_obs", "terminated"):
        assert torch.equal(getattr(a, key), getattr(b, key)), key
    assert torch.equal(a.next_obs[:, 0] - a.obs[:, 0], torch.ones(64))  # consecutive frames


def test_fifo_keeps_exactly_capacity_transitions_and_samples_true_next_obs():
    """Mutation-testing survivors: after the rings wrap, the size after an eviction, the
    observation ring evicting transitions it does not overwrite, the oldest transition never
    sampled, indices from the wrong end; a sampled next_obs other than the next step's."""
    buf = ReplayBuffer(100, (3,), np.float32, (2,))  # observation ring: 107 slots
    fill(buf, [20] * 10, [False] * 10, state)
    assert len(buf) == 100
    tr = buf.transitions()
    kept = [(e, t) for e in range(5, 10) for t in range(20)]  # the newest 5 episodes, in order
    assert [tuple(p) for p in tr["obs"][:, :2].int().tolist()] == kept
    b = buf.sample(2000, np.random.default_rng(0))
    assert {tuple(p) for p in b.obs[:, :2].int().tolist()} == set(kept)
    assert torch.equal(b.action, b.obs[:, :2])  # the action identifies (episode, t)
    assert torch.equal(b.next_obs[:, 0], b.obs[:, 0])
    assert torch.equal(b.next_obs[:, 1], b.obs[:, 1] + 1)


def test_short_episodes_fill_the_observation_ring_first():
    """Mutation-testing survivors: with short episodes the observation ring (107 slots) binds
    before the transition ring (100): exactly the transitions whose two frames are still
    stored are kept, and sampling draws from them (not from the wrong end of the ring)."""
    buf = ReplayBuffer(100, (3,), np.float32, (2,))
    fill(buf, [3] * 40, [False] * 40, state)  # 4 frames per 3 transitions
    # 107 frames: episodes 14..39 (104 frames) and episode 13's last 3, read by 2 transitions
    kept = [(13, 1), (13, 2)] + [(e, t) for e in range(14, 40) for t in range(3)]
    assert len(buf) == 80
    assert [tuple(p) for p in buf.transitions()["obs"][:, :2].int().tolist()] == kept
    b = buf.sample(2000, np.random.default_rng(0))
    assert {tuple(p) for p in b.obs[:, :2].int().tolist()} == set(kept)
    assert torch.equal(b.action, b.obs[:, :2])


def test_an_overwritten_reset_frame_evicts_the_last_transition():
    """Mutation-testing survivors: the eviction loop stopping at one transition left, or
    running on with none left. Episode starts without steps (an abandoned episode, as after
    a restart) fill the observation ring (4 slots) while one transition is stored."""
    buf = ReplayBuffer(2, (3,), np.float32, (2,))
    fill(buf, [1], [True], state)  # frames in slots 0, 1; one transition reads them
    buf.start_episode(state(1, 0))
    buf.start_episode(state(2, 0))
    assert len(buf) == 1
    buf.start_episode(state(3, 0))  # overwrites slot 0: the transition must go
    assert len(buf) == 0
    buf.add(np.array([3, 0], np.float32), 0.0, state(3, 1), False, False)
    assert len(buf) == 1
    assert buf.transitions()["obs"][:, :2].tolist() == [[3.0, 0.0]]
