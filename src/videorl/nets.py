"""Network building blocks shared by every method: MLPs, the conv feature extractor of
RLV Table 4, twin critics evaluated as one batched ensemble, and the two SAC actors."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

LOG_STD_MIN, LOG_STD_MAX = -20.0, 2.0


def mlp(in_dim: int, hidden: list[int], out_dim: int) -> nn.Sequential:
    """ReLU MLP (Table 1: ReLU nonlinearity)."""
    layers: list[nn.Module] = []
    for width in hidden:
        layers += [nn.Linear(in_dim, width), nn.ReLU()]
        in_dim = width
    layers.append(nn.Linear(in_dim, out_dim))
    return nn.Sequential(*layers)


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
        q = self.out(x).float()  # losses in fp32 even under bf16 autocast
        return q.squeeze(-1) if self.out_dim == 1 else q


class GaussianActor(nn.Module):
    """Tanh-squashed Gaussian policy head for actions in [-1, 1]^d."""

    def __init__(self, in_dim: int, hidden: list[int], action_dim: int) -> None:
        super().__init__()
        self.net = mlp(in_dim, hidden, 2 * action_dim)

    def forward(
        self, h: torch.Tensor, deterministic: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (action, log_prob); log_prob includes the tanh change of variables."""
        mean, log_std = self.net(h).float().chunk(2, dim=-1)
        if deterministic:
            return torch.tanh(mean), torch.zeros(h.shape[0], device=h.device)
        log_std = log_std.clamp(LOG_STD_MIN, LOG_STD_MAX)
        std = log_std.exp()
        noise = torch.randn_like(mean)
        pre = mean + std * noise
        action = torch.tanh(pre)
        # log N(pre; mean, std) - sum log(1 - tanh(pre)^2), the latter in a stable form.
        log_prob = (-0.5 * noise.pow(2) - log_std - 0.5 * math.log(2 * math.pi)).sum(-1)
        log_prob = log_prob - (2 * (math.log(2) - pre - F.softplus(-2 * pre))).sum(-1)
        return action, log_prob


class CategoricalActor(nn.Module):
    """Softmax policy over n discrete actions (discrete SAC, Christodoulou 2019)."""

    def __init__(self, in_dim: int, hidden: list[int], n_actions: int) -> None:
        super().__init__()
        self.net = mlp(in_dim, hidden, n_actions)

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (probs, log_probs), each (B, n)."""
        log_probs = F.log_softmax(self.net(h).float(), dim=-1)
        return log_probs.exp(), log_probs
