"""Network building blocks shared by every method: MLPs, the conv feature extractor of
RLV Table 4, twin critics evaluated as one batched ensemble, and the two SAC actors."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

LOG_STD_MIN, LOG_STD_MAX = -20.0, 2.0


def mlp(in_dim: int, hidden: list[int], out_dim: int, fp32_output: bool = False) -> nn.Sequential:
    """ReLU MLP (Table 1: ReLU nonlinearity); with ``fp32_output`` its last layer runs in
    fp32 also under bf16 autocast (``FP32Linear``)."""
    layers: list[nn.Module] = []
    for width in hidden:
        layers += [nn.Linear(in_dim, width), nn.ReLU()]
        in_dim = width
    layers.append((FP32Linear if fp32_output else nn.Linear)(in_dim, out_dim))
    return nn.Sequential(*layers)


def fp32_out(layer: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """``layer(x)`` computed and returned in fp32, also under bf16 autocast. An output layer
    rounded to bf16 keeps 8 significant bits: at |Q| ~ 50 a step of 0.25, coarser than the
    Q differences acrobot's critic must learn before its first reward. With bf16 outputs,
    2 of 5 acrobot seeds never took off
    (benchmarks/results/learning_acrobot_precision_bf16_heads.json)."""
    with torch.autocast(x.device.type, enabled=False):
        return layer(x.float())


class FP32Linear(nn.Linear):
    """A Linear output layer computed in fp32 on (bf16) features; same parameters and
    state_dict keys as nn.Linear."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return fp32_out(super().forward, x)


class ConvEncoder(nn.Module):
    """RLV Table 4 feature extractor: conv [16, 16, 32], 5x5 filters, each followed by a
    2x2 max-pool of stride 2 ('same' padding), flattened. Input uint8 (B, 3, H, W)."""

    def __init__(self, in_shape: tuple[int, int, int], channels: list[int]) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c = in_shape[0]
        for out in channels:
            # relu(maxpool(x)) == maxpool(relu(x)) since ReLU is monotonic; pooling first
            # applies the ReLU (and its backward) to 4x fewer elements.
            layers += [nn.Conv2d(c, out, 5, padding=2), nn.MaxPool2d(2, 2), nn.ReLU()]
            c = out
        self.net = nn.Sequential(*layers, nn.Flatten())
        with torch.no_grad():
            self.out_dim = int(self.net(torch.zeros(1, *in_shape)).shape[1])
        # channels_last: oneDNN's fast convolution layout on CPU (2.6x faster forward here).
        self.to(memory_format=torch.channels_last)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        if obs.dtype == torch.uint8:
            obs = obs.float().div_(255.0).sub_(0.5)
        return self.net(obs.contiguous(memory_format=torch.channels_last))


class EnsembleLinear(nn.Module):
    """k independent linear layers applied in one batched matmul: (k, B, in) -> (k, B, out)."""

    def __init__(self, k: int, in_dim: int, out_dim: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(k, in_dim, out_dim))
        self.bias = nn.Parameter(torch.empty(k, 1, out_dim))
        bound = 1.0 / math.sqrt(in_dim)  # nn.Linear's default initialisation, per member
        nn.init.uniform_(self.weight, -bound, bound)
        nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.baddbmm(self.bias, x, self.weight)


class TwinQ(nn.Module):
    """Two Q functions as one ensemble MLP (halves kernel launches on small batches).

    Continuous: input (features, action) -> (2, B). Discrete: input features -> (2, B, n).
    With ``separate_inputs`` each member takes its own features (paper preset: each Q
    function has its own extractor), passed as a (2, B, D) tensor.
    """

    def __init__(self, in_dim: int, hidden: list[int], out_dim: int) -> None:
        super().__init__()
        dims = [in_dim, *hidden]
        self.hidden = nn.ModuleList(EnsembleLinear(2, a, b) for a, b in zip(dims, dims[1:]))
        self.out = EnsembleLinear(2, dims[-1], out_dim)
        self.out_dim = out_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2:
            x = x.unsqueeze(0).expand(2, -1, -1)
        for layer in self.hidden:
            x = F.relu(layer(x))
        q = fp32_out(self.out, x)
        return q.squeeze(-1) if self.out_dim == 1 else q


def tanh_gaussian(
    mean: torch.Tensor, log_std: torch.Tensor, noise: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(action, log_prob) of tanh(mean + std * noise), log_std clamped as the actor clamps it;
    log_prob includes the tanh change of variables. ``noise`` may carry leading sample dims."""
    log_std = log_std.clamp(LOG_STD_MIN, LOG_STD_MAX)
    pre = mean + log_std.exp() * noise
    action = torch.tanh(pre)
    # log N(pre; mean, std) - sum log(1 - tanh(pre)^2), the latter in a stable form.
    log_prob = (-0.5 * noise.pow(2) - log_std - 0.5 * math.log(2 * math.pi)).sum(-1)
    log_prob = log_prob - (2 * (math.log(2) - pre - F.softplus(-2 * pre))).sum(-1)
    return action, log_prob


class GaussianActor(nn.Module):
    """Tanh-squashed Gaussian policy head for actions in [-1, 1]^d."""

    def __init__(self, in_dim: int, hidden: list[int], action_dim: int) -> None:
        super().__init__()
        self.net = mlp(in_dim, hidden, 2 * action_dim, fp32_output=True)

    def forward(
        self, h: torch.Tensor, deterministic: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (action, log_prob); log_prob includes the tanh change of variables."""
        mean, log_std = self.net(h).chunk(2, dim=-1)
        if deterministic:
            return torch.tanh(mean), torch.zeros(h.shape[0], device=h.device)
        return tanh_gaussian(mean, log_std, torch.randn_like(mean))


class CategoricalActor(nn.Module):
    """Softmax policy over n discrete actions (discrete SAC, Christodoulou 2019)."""

    def __init__(self, in_dim: int, hidden: list[int], n_actions: int) -> None:
        super().__init__()
        self.net = mlp(in_dim, hidden, n_actions, fp32_output=True)

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (probs, log_probs), each (B, n)."""
        log_probs = F.log_softmax(self.net(h), dim=-1)
        return log_probs.exp(), log_probs


# -- image backbones of the distance models (HOLD) ----------------------------------------
class SmallConvNet(nn.Module):
    """A CPU-sized image network trained from scratch: four 3x3 stride-2 convolutions, the
    feature map pooled to 3x3 (so where things are survives), then an MLP to ``out_dim``.
    Input float (B, C, H, W)."""

    def __init__(self, in_channels: int, out_dim: int, width: int = 32) -> None:
        super().__init__()
        chans = [width, 2 * width, 4 * width, 4 * width]
        layers: list[nn.Module] = []
        c = in_channels
        for out in chans:
            layers += [nn.Conv2d(c, out, 3, stride=2, padding=1), nn.ReLU()]
            c = out
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(3), nn.Flatten())
        self.head = mlp(c * 9, [256], out_dim)
        self.to(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x.contiguous(memory_format=torch.channels_last)))


class _BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, cin: int, width: int, stride: int) -> None:
        super().__init__()
        cout = width * self.expansion
        self.conv1 = nn.Conv2d(cin, width, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = _shortcut(cin, cout, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + (x if self.downsample is None else self.downsample(x)))


class _Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, cin: int, width: int, stride: int) -> None:
        super().__init__()
        cout = width * self.expansion
        self.conv1 = nn.Conv2d(cin, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, bias=False)  # stride on the 3x3
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, cout, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(cout)
        self.downsample = _shortcut(cin, cout, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return F.relu(out + (x if self.downsample is None else self.downsample(x)))


def _shortcut(cin: int, cout: int, stride: int) -> nn.Sequential | None:
    if stride == 1 and cin == cout:
        return None
    return nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))


RESNET_LAYOUTS: dict[str, tuple[type[nn.Module], tuple[int, int, int, int]]] = {
    "resnet18": (_BasicBlock, (2, 2, 2, 2)),
    "resnet50": (_Bottleneck, (3, 4, 6, 3)),
}


class ResNet(nn.Module):
    """ResNet-18/50 (He et al. 2016) with torchvision's parameter names, so a torchvision
    weights file (``resnet18-*.pth``) loads into it without torchvision installed.

    ``fc`` maps to ``out_dim``; with ``in_channels`` other than 3 the first convolution takes
    the stacked frames (a loaded 3-channel kernel is tiled over them and rescaled).
    """

    def __init__(self, depth: str, in_channels: int, out_dim: int) -> None:
        super().__init__()
        block, counts = RESNET_LAYOUTS[depth]
        self.conv1 = nn.Conv2d(in_channels, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        cin = 64
        for i, (width, n) in enumerate(zip((64, 128, 256, 512), counts), start=1):
            blocks = []
            for j in range(n):
                blocks.append(block(cin, width, 2 if (j == 0 and i > 1) else 1))
                cin = width * block.expansion  # type: ignore[attr-defined]
            setattr(self, f"layer{i}", nn.Sequential(*blocks))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, out_dim)
        self.in_channels = in_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))

    def load_backbone(self, state: dict[str, torch.Tensor]) -> list[str]:
        """Load pretrained weights except ``fc`` (the task head is new); returns the keys of
        this network that the file did not provide. Raises ValueError on a shape mismatch."""
        state = {k: v for k, v in state.items() if not k.startswith("fc.")}
        w = state.get("conv1.weight")
        if w is not None and w.shape[1] != self.in_channels:
            if self.in_channels % w.shape[1]:
                raise ValueError(
                    f"conv1 has {w.shape[1]} input channels, need a divisor of {self.in_channels}"
                )
            reps = self.in_channels // w.shape[1]
            state["conv1.weight"] = w.repeat(1, reps, 1, 1) / reps
        missing, unexpected = self.load_state_dict(state, strict=False)
        if unexpected:
            raise ValueError(f"unexpected keys {unexpected[:3]}: not a {type(self).__name__}")
        return [k for k in missing if not k.startswith("fc.")]
