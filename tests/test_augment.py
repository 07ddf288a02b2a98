"""Random shift: one offset per sample (REFERENCE.md defect 2)."""

import torch
import torch.nn.functional as F

from videorl.data.augment import random_shift


def test_each_sample_gets_its_own_offset():
    torch.manual_seed(0)
    img = torch.arange(3 * 48 * 48, dtype=torch.int64).reshape(1, 3, 48, 48) % 251
    batch = img.to(torch.uint8).repeat(64, 1, 1, 1)
    out = random_shift(batch, pad=4)
    assert out.shape == batch.shape and out.dtype == torch.uint8
    distinct = {tuple(o.flatten().tolist()[:200]) for o in out}
    # one offset for the whole batch (the original defect) would give exactly one
    assert len(distinct) > 20


def test_every_output_is_a_crop_of_the_zero_padded_input():
    torch.manual_seed(1)
    x = torch.randint(0, 256, (16, 3, 12, 12), dtype=torch.uint8)
    out = random_shift(x, pad=2)
    padded = F.pad(x, (2, 2, 2, 2))
    for i in range(16):
        matches = [
            (dy, dx)
            for dy in range(5)
            for dx in range(5)
            if torch.equal(out[i], padded[i, :, dy : dy + 12, dx : dx + 12])
        ]
        assert matches, f"sample {i} is not a crop of its padded input"


def test_zero_pad_is_identity():
    x = torch.randint(0, 256, (4, 3, 8, 8), dtype=torch.uint8)
    assert torch.equal(random_shift(x, 0), x)


def crop_offsets(x, out, pad):
    """(dy, dx) of each output among the crops of its zero-padded input (the first match)."""
    padded = F.pad(x, (pad, pad, pad, pad))
    h, w = x.shape[-2:]
    found = []
    for i in range(len(x)):
        found.append(next(
            (dy, dx) for dy in range(2 * pad + 1) for dx in range(2 * pad + 1)
            if torch.equal(out[i], padded[i, :, dy : dy + h, dx : dx + w])
        ))  # fmt: skip
    return found


def test_offsets_cover_every_crop_position():
    """Mutation-testing survivors: offsets drawn from 1..2p or 0..2p-2 on either axis."""
    torch.manual_seed(0)
    x = torch.randint(1, 256, (256, 1, 6, 6), dtype=torch.uint8)  # no zero: crops differ
    offsets = crop_offsets(x, random_shift(x, 2), 2)
    assert {dy for dy, _ in offsets} == set(range(5))
    assert {dx for _, dx in offsets} == set(range(5))


def test_the_generator_makes_the_shift_reproducible():
    """Mutation-testing survivors: the generator ignored on one axis (global RNG used)."""
    x = torch.randint(0, 256, (64, 3, 8, 8), dtype=torch.uint8)
    torch.manual_seed(1)
    a = random_shift(x, 2, generator=torch.Generator().manual_seed(5))
    torch.manual_seed(2)
    b = random_shift(x, 2, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, b)


def test_pad_one_shifts():
    """Mutation-testing survivor: pad == 1 returning the images unshifted."""
    torch.manual_seed(0)
    x = torch.randint(1, 256, (64, 3, 8, 8), dtype=torch.uint8)
    out = random_shift(x, 1)
    assert not torch.equal(out, x)
    assert len(set(crop_offsets(x, out, 1))) > 1
