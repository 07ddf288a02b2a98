"""The dataset format: round trip, every validation error, sampling, and the writer's
all-or-nothing behaviour."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from videorl.data import (
    FORMAT_VERSION,
    DatasetError,
    DatasetWriter,
    Manifest,
    VideoDataset,
    summarize,
)

SIZE = 6


def episode_frames(e: int, t: int, size: int = SIZE) -> np.ndarray:
    """Frames whose pixels say where they came from: R = episode + 1, G = time step."""
    f = np.zeros((t, size, size, 3), dtype=np.uint8)
    f[..., 0] = e + 1
    f[..., 1] = np.arange(t, dtype=np.uint8)[:, None, None]
    f[..., 2] = 7
    return f


def make_dataset(
    path: Path, lengths=(5, 3, 4), groundtruth: bool = False, success=None, returns=None
) -> Path:
    with DatasetWriter(
        path,
        task="pusher",
        domain="robot",
        source="collected",
        fps=10,
        provenance={"command": "videorl collect --task pusher", "seed": 3},
    ) as w:
        for e, t in enumerate(lengths):
            gt = None
            if groundtruth:
                gt = {
                    "actions": np.full((t - 1, 2), e, dtype=np.float32),
                    "rewards": np.arange(t - 1, dtype=np.float32),
                }
            w.add_episode(
                episode_frames(e, t),
                success=None if success is None else success[e],
                ret=None if returns is None else returns[e],
                groundtruth=gt,
            )
    return path


def leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir())


# -- round trip ------------------------------------------------------------------------
def test_round_trip_frames_and_manifest(tmp_path):
    path = make_dataset(
        tmp_path / "ds", groundtruth=True, success=[True, False, True], returns=[3.0, 0.0, 6.0]
    )
    ds = VideoDataset(path)
    assert len(ds) == 3 and ds.lengths == [5, 3, 4] and ds.kind == "frames"
    assert ds.num_transitions == 4 + 2 + 3
    for e, (t, ep) in enumerate(zip([5, 3, 4], ds)):
        np.testing.assert_array_equal(ep, episode_frames(e, t))
        np.testing.assert_array_equal(ds[e], ep)
    np.testing.assert_array_equal(ds[-1], episode_frames(2, 4))
    with pytest.raises(IndexError):
        ds[3]
    assert not ds[0].flags.writeable

    m = ds.manifest
    assert m.format_version == FORMAT_VERSION
    assert (m.task, m.domain, m.source, m.kind) == ("pusher", "robot", "collected", "frames")
    assert m.image_size == [SIZE, SIZE] and m.obs_dim is None
    assert m.fps == 10.0 and m.num_episodes == 3 and m.episode_lengths == [5, 3, 4]
    assert m.success_rate == pytest.approx(2 / 3) and m.mean_return == pytest.approx(3.0)
    assert m.provenance["command"] == "videorl collect --task pusher"
    assert m.provenance["seed"] == 3
    assert m.provenance["videorl_version"]
    assert "created" not in m.provenance  # no wall clock: seeded datasets are byte-identical
    assert m.has_groundtruth is True and m.groundtruth_fields == ["actions", "rewards"]
    # The manifest object writes back exactly the file it was read from.
    assert m.to_json() == (path / "manifest.json").read_text()
    assert Manifest.from_json(m.to_json()) == m

    gt = ds.groundtruth(1)
    np.testing.assert_array_equal(gt["actions"], np.full((2, 2), 1, dtype=np.float32))
    np.testing.assert_array_equal(gt["rewards"], np.arange(2, dtype=np.float32))


def test_round_trip_observations_and_no_groundtruth(tmp_path):
    rng = np.random.default_rng(0)
    obs = [rng.standard_normal((t, 5)).astype(np.float32) for t in (4, 2)]
    with DatasetWriter(
        tmp_path / "ds",
        task="state-pusher",
        domain="robot",
        source="collected",
        fps=5,
        provenance={},
        kind="observations",
    ) as w:
        for o in obs:
            w.add_episode(o)
    ds = VideoDataset(tmp_path / "ds")
    assert ds.kind == "observations" and ds.obs_shape == (5,)
    assert ds.manifest.obs_dim == 5 and ds.manifest.image_size is None
    for a, b in zip(obs, ds):
        np.testing.assert_array_equal(a, b)
    assert ds.groundtruth(0) is None
    assert ds.manifest.success_rate is None and ds.manifest.mean_return is None


# -- validation errors -----------------------------------------------------------------
def _save(path: Path, **arrays) -> None:
    path.unlink()
    np.savez(path, **arrays)


def _edit_manifest(root: Path, **changes) -> None:
    m = json.loads((root / "manifest.json").read_text())
    for k, v in changes.items():
        if v is KeyError:
            del m[k]
        else:
            m[k] = v
    (root / "manifest.json").write_text(json.dumps(m))


EP1 = "episodes/000001.npz"
CORRUPTIONS = {
    "missing manifest": (lambda r: (r / "manifest.json").unlink(), "manifest.json", "missing"),
    "bad json": (
        lambda r: (r / "manifest.json").write_text("{not json"),
        "manifest.json",
        "not valid JSON",
    ),
    "wrong version": (
        lambda r: _edit_manifest(r, format_version=99),
        "manifest.json",
        "'format_version'",
    ),
    "missing key": (
        lambda r: _edit_manifest(r, episode_lengths=KeyError),
        "manifest.json",
        "'episode_lengths' is missing",
    ),
    "bad source": (lambda r: _edit_manifest(r, source="stolen"), "manifest.json", "'source'"),
    "missing episode file": (lambda r: (r / EP1).unlink(), EP1, "missing"),
    "extra episode file": (
        lambda r: np.savez(r / "episodes/000003.npz", frames=episode_frames(3, 3)),
        "episodes/000003.npz",
        "'num_episodes'",
    ),
    "wrong dtype": (
        lambda r: _save(r / EP1, frames=episode_frames(1, 3).astype(np.float32)),
        EP1,
        "'frames' has dtype float32",
    ),
    "wrong ndim": (
        lambda r: _save(r / EP1, frames=episode_frames(1, 3)[..., 0]),
        EP1,
        "'frames' has 3 dimensions",
    ),
    "one frame": (lambda r: _save(r / EP1, frames=episode_frames(1, 1)), EP1, "at least 2"),
    "mixed image sizes": (
        lambda r: _save(r / EP1, frames=episode_frames(1, 3, size=SIZE + 2)),
        EP1,
        "image size 8x8",
    ),
    "4 channels": (
        lambda r: _save(r / EP1, frames=np.zeros((3, SIZE, SIZE, 4), np.uint8)),
        EP1,
        "4 channels",
    ),
    "length mismatch": (
        lambda r: _save(r / EP1, frames=episode_frames(1, 4)),
        EP1,
        "'episode_lengths' says 3",
    ),
    "pickled object array": (
        lambda r: _save(r / EP1, frames=np.array([{"evil": 1}, None], dtype=object)),
        EP1,
        "pickled object array",
    ),
    "missing field": (
        lambda r: _save(r / EP1, images=episode_frames(1, 3)),
        EP1,
        "'frames' is missing",
    ),
    "not an npz": (lambda r: (r / EP1).write_bytes(b"garbage"), EP1, "not a readable .npz"),
}


@pytest.mark.parametrize("case", sorted(CORRUPTIONS))
def test_validation_error_names_file_and_field(tmp_path, case):
    corrupt, file, field = CORRUPTIONS[case]
    root = make_dataset(tmp_path / "ds")
    corrupt(root)
    with pytest.raises(DatasetError) as info:
        VideoDataset(root)
    msg = str(info.value)
    assert file in msg and field in msg, msg
    assert "\n" not in msg


def test_manifest_validates_itself_and_is_frozen(tmp_path):
    m = VideoDataset(make_dataset(tmp_path / "ds")).manifest
    with pytest.raises(DatasetError, match="field 'fps' is -1, expected a positive number"):
        Manifest(**{**m.to_dict(), "fps": -1})
    with pytest.raises(DatasetError, match="^where.json: field 'kind' is 'x'"):
        Manifest.from_dict({**m.to_dict(), "kind": "x"}, "where.json")
    with pytest.raises(AttributeError):
        m.fps = 5.0


def test_missing_folder_and_missing_groundtruth(tmp_path):
    with pytest.raises(DatasetError, match="dataset folder not found"):
        VideoDataset(tmp_path / "nope")
    root = make_dataset(tmp_path / "ds", groundtruth=True)
    (root / "groundtruth/000002.npz").unlink()
    with pytest.raises(DatasetError, match="groundtruth/000002.npz: missing"):
        VideoDataset(root)


# -- writer ----------------------------------------------------------------------------
def _writer(out: Path, **kw) -> DatasetWriter:
    return DatasetWriter(out, task="t", domain="d", source="imported", fps=30, provenance={}, **kw)


def test_writer_builds_in_hidden_temp_and_abort_leaves_nothing(tmp_path):
    w = _writer(tmp_path / "ds")
    w.add_episode(episode_frames(0, 3))
    tmp = w.tmp_path
    assert tmp.parent == tmp_path and tmp.name.startswith(".") and tmp.is_dir()
    assert not (tmp_path / "ds").exists()  # nothing visible until finished
    w.abort()
    assert leftovers(tmp_path) == []
    w.abort()  # idempotent


def test_writer_context_aborts_on_exception_and_removes_parents_it_made(tmp_path):
    with pytest.raises(RuntimeError), _writer(tmp_path / "a" / "b" / "ds") as w:
        w.add_episode(episode_frames(0, 3))
        raise RuntimeError("interrupted")
    assert leftovers(tmp_path) == []


def test_writer_rejects_bad_input_and_existing_out(tmp_path):
    (tmp_path / "taken").mkdir()
    with pytest.raises(DatasetError, match="already exists"):
        _writer(tmp_path / "taken")
    with pytest.raises(DatasetError, match="source"):
        DatasetWriter(tmp_path / "x", task="t", domain="d", source="web", fps=1, provenance={})
    w = _writer(tmp_path / "ds")
    with pytest.raises(DatasetError, match="at least 2"):
        w.add_episode(episode_frames(0, 1))
    with pytest.raises(DatasetError, match="uint8"):
        w.add_episode(episode_frames(0, 3).astype(np.int16))
    with pytest.raises(DatasetError, match="RGB"):
        w.add_episode(np.zeros((3, SIZE, SIZE, 4), np.uint8))
    w.add_episode(episode_frames(0, 3))
    with pytest.raises(DatasetError, match="one size"):
        w.add_episode(episode_frames(1, 3, size=SIZE + 2))
    with pytest.raises(DatasetError, match="groundtruth"):
        w.add_episode(episode_frames(1, 3), groundtruth={"actions": np.zeros((2, 1))})
    assert w.num_episodes == 1
    w.abort()
    assert leftovers(tmp_path) == ["taken"]


def test_groundtruth_rows_must_match_transitions(tmp_path):
    w = _writer(tmp_path / "ds")
    with pytest.raises(DatasetError, match="2 rows"):
        w.add_episode(episode_frames(0, 3), groundtruth={"rewards": np.zeros(3, np.float32)})
    # The rejected first episode fixes nothing: an episode without groundtruth is accepted.
    w.add_episode(episode_frames(0, 3))
    assert VideoDataset(w.finish()).groundtruth(0) is None


def test_finish_without_episodes_leaves_nothing(tmp_path):
    w = _writer(tmp_path / "ds")
    with pytest.raises(DatasetError, match="no episodes"):
        w.finish()
    assert leftovers(tmp_path) == []


# -- sampling --------------------------------------------------------------------------
def _decode(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(episode, time step) of each frame in a batch (see episode_frames)."""
    return frames[..., 0, 0, 0].astype(int) - 1, frames[..., 0, 0, 1].astype(int)


def test_sample_transitions_are_consecutive_and_mark_last(tmp_path):
    lengths = [5, 3, 4]
    ds = VideoDataset(make_dataset(tmp_path / "ds", lengths=lengths))
    s, s_next, is_last = ds.sample_transitions(2000, np.random.default_rng(0))
    assert s.shape == (2000, SIZE, SIZE, 3) and s.dtype == np.uint8 and is_last.dtype == bool
    e, t = _decode(s)
    e2, t2 = _decode(s_next)
    np.testing.assert_array_equal(e, e2)
    np.testing.assert_array_equal(t2, t + 1)
    np.testing.assert_array_equal(is_last, t2 == np.array(lengths)[e] - 1)
    # Uniform over all 9 pairs: every pair is drawn, none past an episode's end.
    pairs = set(zip(e.tolist(), t.tolist()))
    assert pairs == {(i, j) for i, n in enumerate(lengths) for j in range(n - 1)}
    counts = np.bincount(e, minlength=3) / 2000
    np.testing.assert_allclose(counts, np.array([4, 2, 3]) / 9, atol=0.05)


def test_sampling_is_seeded(tmp_path):
    ds = VideoDataset(make_dataset(tmp_path / "ds"))
    a = ds.sample_transitions(50, np.random.default_rng(7))
    b = ds.sample_transitions(50, np.random.default_rng(7))
    c = ds.sample_transitions(50, np.random.default_rng(8))
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], c[0])
    np.testing.assert_array_equal(
        ds.sample_subsequences(20, 3, np.random.default_rng(1)),
        ds.sample_subsequences(20, 3, np.random.default_rng(1)),
    )


def test_sample_subsequences_are_windows_of_one_episode(tmp_path):
    ds = VideoDataset(make_dataset(tmp_path / "ds", lengths=[5, 3, 4]))
    seq = ds.sample_subsequences(500, 4, np.random.default_rng(0))
    assert seq.shape == (500, 4, SIZE, SIZE, 3)
    e, t = _decode(seq)
    assert (e == e[:, :1]).all()
    assert (np.diff(t, axis=1) == 1).all()
    # Windows of 4: episode 0 has 2 starts, episode 1 (3 frames) none, episode 2 one start.
    assert set(zip(e[:, 0].tolist(), t[:, 0].tolist())) == {(0, 0), (0, 1), (2, 0)}
    with pytest.raises(DatasetError, match="no episode has 6 frames"):
        ds.sample_subsequences(1, 6, np.random.default_rng(0))


# -- summary ---------------------------------------------------------------------------
def test_summarize_reports_the_dataset(tmp_path):
    root = make_dataset(
        tmp_path / "ds", groundtruth=True, success=[True, False, None], returns=[2.0, 4.0, None]
    )
    text = summarize(root)

    def row(name: str) -> str:
        found = re.search(rf"^{name}\s+(.*)$", text, re.M)
        assert found, f"no {name!r} row in:\n{text}"
        return found.group(1)

    assert row("dataset") == str(root)
    assert (row("task"), row("domain"), row("source")) == ("pusher", "robot", "collected")
    assert (row("episodes"), row("frames"), row("transitions")) == ("3", "12", "9")
    assert row("lengths") == "min 3, mean 4.0, max 5"
    assert row("image size").startswith(f"{SIZE}x{SIZE}")
    assert row("fps") == "10"
    assert row("success rate") == "0.500 (1 of 2 episodes)"
    assert row("mean return") == "3.000"  # mean of the known returns
    assert row("groundtruth").startswith("actions, rewards")
    assert row("command") == "videorl collect --task pusher"

    (root / "episodes/000000.npz").unlink()
    with pytest.raises(DatasetError, match="000000.npz"):
        summarize(root)


def test_save_npz_is_byte_deterministic_and_loadable(tmp_path):
    import time

    from videorl.data.writer import save_npz

    arrays = {"frames": np.arange(2 * 4 * 4 * 3, dtype=np.uint8).reshape(2, 4, 4, 3)}
    save_npz(tmp_path / "a.npz", arrays)
    time.sleep(2.1)  # zip timestamps have 2-second resolution
    save_npz(tmp_path / "b.npz", arrays)
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    with np.load(tmp_path / "a.npz", allow_pickle=False) as z:
        assert np.array_equal(z["frames"], arrays["frames"])
