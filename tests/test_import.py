"""import-videos: N frames in -> N frames out (defect 4), RGB kept (defect 5), bad inputs
skipped by name, and nothing left on disk when the import fails."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from videorl.data import (
    DatasetError,
    VideoDataset,
    crop_resize,
    import_videos,
    parse_crop,
    read_frame_folder,
    read_video,
    subsample,
    summarize,
    write_video,
)

RED, BLUE = (230, 20, 20), (20, 20, 230)
SQUARE = (slice(16, 32), slice(16, 32))  # rows, cols of the red square in a 48x48 frame


def red_on_blue(n: int, size: int = 48) -> np.ndarray:
    """n frames of a red square on a blue background."""
    f = np.empty((n, size, size, 3), dtype=np.uint8)
    f[:] = BLUE
    f[:, SQUARE[0], SQUARE[1]] = RED
    return f


def brightness_ramp(n: int, size: int = 48) -> np.ndarray:
    """Frame i is a flat grey of level 10 * i: the frame index can be read back from a lossy
    video as the mean brightness."""
    levels = (10 * np.arange(n)).astype(np.uint8)
    return np.broadcast_to(levels[:, None, None, None], (n, size, size, 3)).copy()


def write_frame_folder(folder: Path, frames: np.ndarray) -> Path:
    folder.mkdir()
    for i, frame in enumerate(frames):
        Image.fromarray(frame).save(folder / f"frame{i + 1}.png")  # frame1 .. frame11
    return folder


def leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir())


def assert_red_on_blue(frames: np.ndarray, square: tuple[slice, slice], background) -> None:
    """Inside the square red dominates, outside blue dominates (not swapped to BGR)."""
    inside = frames[:, square[0], square[1]].reshape(-1, 3).mean(0)
    outside = frames[:, background[0], background[1]].reshape(-1, 3).mean(0)
    assert inside[0] > 180 and inside[2] < 70, inside
    assert outside[2] > 180 and outside[0] < 70, outside


# -- N frames in, N frames out ---------------------------------------------------------
def test_video_of_n_frames_becomes_episode_of_n_frames(tmp_path):
    n = 13
    video = write_video(tmp_path / "clip.mp4", brightness_ramp(n), fps=15)
    path, skipped = import_videos([str(video)], tmp_path / "ds", progress=False)
    ds = VideoDataset(path)
    assert skipped == [] and ds.lengths == [n] and ds.num_transitions == n - 1
    # In order, first and last frame kept, none repeated: frame i has brightness 10 * i.
    np.testing.assert_allclose(ds[0].reshape(n, -1).mean(1), 10 * np.arange(n), atol=3)
    s, s_next, is_last = ds.sample_transitions(200, np.random.default_rng(0))
    np.testing.assert_allclose(s_next.mean((1, 2, 3)) - s.mean((1, 2, 3)), 10, atol=4)
    assert is_last.any() and not is_last.all()
    assert ds.manifest.fps == 15.0 and ds.manifest.source == "imported"
    assert ds.manifest.episode_names == [str(video)]


def test_frame_folder_of_n_frames_in_numeric_order(tmp_path):
    n = 11  # frame10.png and frame11.png sort before frame2.png as plain text
    folder = write_frame_folder(tmp_path / "frames", brightness_ramp(n))
    frames, fps = read_frame_folder(folder)
    assert fps is None
    np.testing.assert_array_equal(frames, brightness_ramp(n))
    path, _ = import_videos([str(folder)], tmp_path / "ds", progress=False)
    ds = VideoDataset(path)
    assert ds.lengths == [n]
    np.testing.assert_array_equal(ds[0], brightness_ramp(n))  # png and 48 -> 48: exact


def test_fps_subsampling_keeps_nearest_frames(tmp_path):
    assert subsample(np.arange(31), 30, 10).tolist() == list(range(0, 31, 3))
    assert subsample(np.arange(10), 29.97, 10).tolist() == [0, 3, 6, 9]
    assert subsample(np.arange(7), 10, None).tolist() == list(range(7))
    assert subsample(np.arange(7), 10, 60).tolist() == list(range(7))  # never upsample
    video = write_video(tmp_path / "clip.mp4", brightness_ramp(22), fps=20)
    path, _ = import_videos([str(video)], tmp_path / "ds", fps=10, progress=False)
    ds = VideoDataset(path)
    assert ds.lengths == [11] and ds.manifest.fps == 10.0
    np.testing.assert_allclose(ds[0].reshape(11, -1).mean(1), 20 * np.arange(11), atol=3)


# -- RGB order (defect 5) --------------------------------------------------------------
def test_video_round_trip_keeps_rgb(tmp_path):
    frames, fps = read_video(write_video(tmp_path / "c.mp4", red_on_blue(4), fps=10))
    assert frames.shape == (4, 48, 48, 3) and fps == 10.0
    assert_red_on_blue(frames, SQUARE, (slice(0, 8), slice(0, 48)))


@pytest.mark.parametrize("as_folder", [False, True], ids=["mp4", "png-folder"])
def test_import_keeps_red_on_blue(tmp_path, as_folder):
    frames = red_on_blue(6)
    if as_folder:
        src = write_frame_folder(tmp_path / "frames", frames)
    else:
        src = write_video(tmp_path / "clip.mp4", frames, fps=10)
    path, _ = import_videos([str(src)], tmp_path / "ds", size=24, progress=False)
    ds = VideoDataset(path)
    assert ds.obs_shape == (24, 24, 3)
    # Resized by 2: the square covers rows/cols 8..16; stay one pixel clear of its edge.
    assert_red_on_blue(ds[0], (slice(9, 15), slice(9, 15)), (slice(0, 6), slice(0, 24)))


def test_crop_then_area_resize(tmp_path):
    frames = red_on_blue(2)
    out = crop_resize(frames, (16, 16, 16, 16), 8)  # exactly the red square
    assert out.shape == (2, 8, 8, 3)
    assert (np.abs(out.astype(int) - RED).max()) <= 1
    # Area interpolation averages: a 2x2 checkerboard of 0/200 becomes a flat 100.
    board = np.zeros((1, 4, 4, 3), np.uint8)
    board[0, ::2, ::2] = board[0, 1::2, 1::2] = 200
    np.testing.assert_array_equal(crop_resize(board, None, 2), np.full((1, 2, 2, 3), 100))
    src = write_video(tmp_path / "clip.mp4", frames, fps=10)
    path, _ = import_videos(
        [str(src)], tmp_path / "ds", size=8, crop=(18, 18, 12, 12), progress=False
    )
    inside = VideoDataset(path)[0].reshape(-1, 3).mean(0)
    assert inside[0] > 180 and inside[2] < 70


# -- bad inputs ------------------------------------------------------------------------
def _bad_inputs(tmp_path: Path) -> list[Path]:
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(np.random.default_rng(0).bytes(4000))
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    one = write_video(tmp_path / "one.mp4", red_on_blue(1), fps=10)
    return [garbage, empty, one]


def test_bad_inputs_are_skipped_by_name(tmp_path, capsys):
    bad = _bad_inputs(tmp_path)
    good = write_video(tmp_path / "good.mp4", red_on_blue(5), fps=10)
    path, skipped = import_videos([str(p) for p in [*bad, good]], tmp_path / "ds", progress=False)
    assert VideoDataset(path).lengths == [5]
    assert len(skipped) == 3
    for p, msg in zip(bad, skipped):
        assert msg.startswith(f"{p}: ")
    assert "1 frame" in skipped[2]
    err = capsys.readouterr().err
    for p in bad:
        assert f"skipped {p}: " in err


def test_all_bad_inputs_leave_nothing_behind(tmp_path):
    bad = _bad_inputs(tmp_path)
    before = leftovers(tmp_path)
    with pytest.raises(DatasetError, match="no valid video among the 3 inputs") as info:
        import_videos([str(p) for p in bad], tmp_path / "ds", progress=False)
    assert "\n" not in str(info.value) and "garbage.mp4" in str(info.value)
    assert leftovers(tmp_path) == before  # no dataset, no hidden temporary folder


def test_user_errors_are_one_line_and_leave_nothing(tmp_path):
    good = write_video(tmp_path / "good.mp4", red_on_blue(3), fps=10)
    before = leftovers(tmp_path)
    with pytest.raises(DatasetError, match="missing.mp4: no such video"):
        import_videos([str(good), str(tmp_path / "missing.mp4")], tmp_path / "ds")
    with pytest.raises(DatasetError, match="lies outside .*good.mp4 \\(48x48\\)"):
        import_videos([str(good)], tmp_path / "ds", crop=(40, 0, 16, 16), progress=False)
    with pytest.raises(DatasetError, match="W, H > 0"):
        import_videos([str(good)], tmp_path / "ds", crop=(0, 0, 0, 16), progress=False)
    for size in (0, 1, 513):  # 513: a 100000-pixel frame would not fit in memory
        with pytest.raises(DatasetError, match=f"--size must be .* 2 to 512, got {size}$"):
            import_videos([str(good)], tmp_path / "ds", size=size, progress=False)
    with pytest.raises(DatasetError, match="--fps 25 is above the frame rate of .*good.mp4 "
                                           "\\(10 fps\\), and frames are not made up"):  # fmt: skip
        import_videos([str(good)], tmp_path / "ds", fps=25, progress=False)
    assert leftovers(tmp_path) == before
    (tmp_path / "taken").mkdir()
    with pytest.raises(DatasetError, match="already exists"):
        import_videos([str(good)], tmp_path / "taken", progress=False)
    assert leftovers(tmp_path / "taken") == []


def test_parse_crop():
    assert parse_crop("1,2,30,40") == (1, 2, 30, 40)
    for bad in ("1,2,3", "a,b,c,d", "0,0,-5,5"):
        with pytest.raises(DatasetError, match="--crop"):
            parse_crop(bad)


def test_folder_of_videos_and_summary(tmp_path):
    videos = tmp_path / "videos"
    videos.mkdir()
    for i, n in enumerate([4, 6, 5]):
        write_video(videos / f"take{i + 1}.mp4", red_on_blue(n), fps=12)
    path, _ = import_videos(
        [str(videos)], tmp_path / "ds", task="pusher", progress=False, command="videorl x"
    )
    ds = VideoDataset(path)
    assert ds.lengths == [4, 6, 5]
    assert (ds.manifest.task, ds.manifest.domain) == ("pusher", "human")
    text = summarize(path)
    assert re.search(r"^source\s+imported$", text, re.M)
    assert re.search(r"^success rate\s+unknown$", text, re.M)
    assert re.search(r"^command\s+videorl x$", text, re.M)


# -- mutation-testing survivors: crop boundaries, colour modes, sound, folder order ----
def test_check_crop_accepts_the_frame_edges():
    from videorl.data.video_io import check_crop

    assert check_crop((0, 0, 48, 48), 48, 48, "f") is None  # x = y = 0, ends at the edges
    assert check_crop((40, 40, 8, 8), 48, 48, "f") is None  # ends at the right/bottom edge
    assert check_crop((0, 0, 1, 1), 48, 48, "f") is None  # one pixel
    assert crop_resize(red_on_blue(2, size=16), (0, 0, 16, 16), 8).shape == (2, 8, 8, 3)


@pytest.mark.parametrize("crop", [(1, 2, 3), (-1, 0, 4, 4), (0, -1, 4, 4), (0, 0, 4, 0),
                                  (0, 10, 4, 10)])  # fmt: skip
def test_check_crop_rejects_each_bad_box(crop):
    from videorl.data.video_io import check_crop

    with pytest.raises(DatasetError, match="--crop"):
        check_crop(crop, 20, 15, "f")


def test_crop_resize_refuses_a_box_outside_the_frame():
    with pytest.raises(DatasetError, match="lies outside"):
        crop_resize(np.zeros((2, 10, 10, 3), np.uint8), (5, 5, 10, 10), 4)


def test_grey_and_rgba_frames_become_rgb(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    grey = Image.fromarray(np.full((6, 8), 90, np.uint8))
    rgba = Image.fromarray(np.full((6, 8, 4), (10, 20, 30, 128), np.uint8))
    assert (grey.mode, rgba.mode) == ("L", "RGBA")
    grey.save(folder / "f1.png")
    rgba.save(folder / "f2.png")
    frames, _ = read_frame_folder(folder)
    assert frames.shape == (2, 6, 8, 3)
    assert frames[0, 0, 0].tolist() == [90, 90, 90] and frames[1, 0, 0].tolist() == [10, 20, 30]


def write_video_with_sound(path: Path, frames: np.ndarray, fps: int) -> Path:
    """Frames plus a second of silence in an AAC stream."""
    import av

    with av.open(str(path), mode="w") as container:
        codec = "libx264" if "libx264" in av.codecs_available else "mpeg4"
        video = container.add_stream(codec, rate=fps)
        video.width, video.height, video.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        audio = container.add_stream("aac", rate=8000)
        audio.layout = "mono"
        for frame in frames:
            container.mux(video.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        sound = av.AudioFrame.from_ndarray(np.zeros((1, 8000), np.float32), "fltp", "mono")
        sound.sample_rate = 8000
        container.mux(audio.encode(sound))
        container.mux(audio.encode(None))
        container.mux(video.encode(None))
    return path


def test_video_with_sound_keeps_only_its_frames(tmp_path):
    import av

    path = write_video_with_sound(tmp_path / "talk.mp4", brightness_ramp(5, size=16), fps=10)
    with av.open(str(path)) as container:
        assert len(container.streams.audio) == 1  # the fixture really has sound
    frames, fps = read_video(path)
    assert frames.shape == (5, 16, 16, 3) and fps == 10.0


def test_folder_videos_in_natural_order_and_other_files_ignored(tmp_path):
    videos = tmp_path / "videos"
    videos.mkdir()
    write_video(videos / "v2.mp4", red_on_blue(2, size=16), fps=10)
    write_video(videos / "v10.mp4", red_on_blue(3, size=16), fps=10)
    (videos / "notes.txt").write_text("not a video\n")
    path, skipped = import_videos([str(videos)], tmp_path / "ds", size=16, progress=False)
    ds = VideoDataset(path)
    assert skipped == []
    assert ds.lengths == [2, 3]  # v2 before v10
    assert ds.manifest.episode_names == [str(videos / "v2.mp4"), str(videos / "v10.mp4")]


def test_eval_video_of_odd_sized_frames_gains_an_edge_row_and_column(tmp_path):
    from videorl.evaluate import write_video as write_eval_video

    frames = [red_on_blue(1, size=16)[0][:15, :13] for _ in range(3)]  # 15 x 13: both odd
    write_eval_video(frames, tmp_path / "odd.mp4")
    back, fps = read_video(tmp_path / "odd.mp4")
    assert back.shape == (3, 16, 14, 3) and fps == 20
    assert not list(tmp_path.glob(".*"))  # written atomically: no temporary file left
