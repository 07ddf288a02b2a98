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
