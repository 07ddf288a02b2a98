"""SAC losses on tiny hand-checked cases, and the pixel presets' gradient routing."""

import math

import numpy as np
import pytest
import torch
from torch.distributions import Normal, TanhTransform, TransformedDistribution

from videorl.agents.base import Spaces, UpdateInputs
from videorl.agents.sac import SAC
from videorl.config import SACConfig
from videorl.nets import CategoricalActor, GaussianActor
from videorl.replay import Batch

CPU = torch.device("cpu")


def constant_twin_q(q, values):
    """Make both Q members output constants: zero weights, last bias = value."""
    with torch.no_grad():
        for p in q.parameters():
            p.zero_()
        q.out.bias[0].fill_(values[0])
        q.out.bias[1].fill_(values[1])


def test_discrete_td_target_hand_checked():
    cfg = SACConfig(hidden=[8], gamma=0.9, init_alpha=0.5)
    agent = SAC(Spaces((4,), False, 2, True), cfg, CPU)
    with torch.no_grad():
        for p in agent.actor.parameters():
            p.zero_()  # uniform policy over 2 actions
    constant_twin_q(agent.target_q, [3.0, 2.0])
    next_obs = torch.randn(2, 4)
    y = agent.td_target(next_obs, torch.tensor([1.0, 1.0]), torch.tensor([0.0, 1.0]))
    # V(s') = sum_a pi(a) (min Q - alpha log pi(a)) = 2 + 0.5 log 2
    v = 2.0 + 0.5 * math.log(2)
    assert y.tolist() == pytest.approx([1.0 + 0.9 * v, 1.0])


def test_continuous_td_target_and_critic_loss_hand_checked():
    cfg = SACConfig(hidden=[8], gamma=0.5, init_alpha=2.0)
    agent = SAC(Spaces((3,), False, 2, False), cfg, CPU)
    constant_twin_q(agent.target_q, [1.0, 4.0])
    next_obs = torch.randn(5, 3)
    torch.manual_seed(7)
    y = agent.td_target(next_obs, torch.zeros(5), torch.zeros(5))
    torch.manual_seed(7)
    _, logp = agent.actor(next_obs)
    expected = 0.5 * (1.0 - 2.0 * logp)
    assert torch.allclose(y, expected, atol=1e-6)
    # critic loss Eq. 5: 0.5 * sum over twins of mean (Q - y)^2, with Q constant 1 and 4
    constant_twin_q(agent.q, [1.0, 4.0])
    target = torch.tensor([0.0, 2.0])
    loss, _, _ = agent.critic_loss(torch.randn(2, 3), torch.zeros(2, 2), target)
    hand = 0.5 * (((1 - 0) ** 2 + (1 - 2) ** 2) / 2 + ((4 - 0) ** 2 + (4 - 2) ** 2) / 2)
    assert loss.item() == pytest.approx(hand)
    # 3 rows: averaged over the batch and summed over the twins, not the other way round
    target = torch.tensor([0.0, 2.0, 3.0])
    loss, _, _ = agent.critic_loss(torch.randn(3, 3), torch.zeros(3, 2), target)
    assert loss.item() == pytest.approx(0.5 * ((1 + 1 + 4) / 3 + (16 + 4 + 1) / 3))


def test_tanh_gaussian_log_prob_matches_torch_distributions():
    torch.manual_seed(0)
    actor = GaussianActor(4, [16], 3)
    h = torch.randn(10, 4)
    torch.manual_seed(1)
    action, logp = actor(h)
    mean, log_std = actor.net(h).chunk(2, -1)
    dist = TransformedDistribution(Normal(mean, log_std.clamp(-20, 2).exp()), TanhTransform())
    ref = dist.log_prob(action.clamp(-0.999999, 0.999999)).sum(-1)
    assert torch.allclose(logp, ref, atol=1e-3)


def test_truncation_bootstraps_termination_does_not():
    cfg = SACConfig(hidden=[8], gamma=0.99)
    agent = SAC(Spaces((3,), False, 2, False), cfg, CPU)
    constant_twin_q(agent.target_q, [5.0, 5.0])
    s = torch.randn(2, 3)
    torch.manual_seed(0)
    y = agent.td_target(s, torch.zeros(2), torch.tensor([0.0, 1.0]))
    assert y[1].item() == 0.0  # terminated: reward only
    assert y[0].item() > 4.0  # truncated/not done: bootstraps ~ 0.99 * (5 - alpha logp)


def test_alpha_moves_towards_target_entropy():
    cfg = SACConfig(hidden=[8], init_alpha=1.0, lr=1e-2, target_entropy=-100.0)
    agent = SAC(Spaces((3,), False, 2, False), cfg, CPU)
    batch = Batch(
        torch.randn(32, 3),
        torch.rand(32, 2) * 2 - 1,
        torch.zeros(32),
        torch.randn(32, 3),
        torch.zeros(32),
    )
    before = agent.alpha.item()
    for _ in range(5):
        agent.update(UpdateInputs(robot=batch))
    assert agent.alpha.item() < before  # entropy far above target: temperature falls


def pixel_agent(encoder):
    cfg = SACConfig(encoder=encoder, pixel_hidden=[16], conv_channels=[4, 4, 8])
    return SAC(Spaces((48, 48, 3), True, 2, False), cfg, CPU)


def pixel_batch(n=4):
    obs = torch.randint(0, 256, (n, 3, 48, 48), dtype=torch.uint8)
    return Batch(obs, torch.zeros(n, 2), torch.zeros(n), obs.clone(), torch.zeros(n))


def test_fast_preset_actor_loss_does_not_reach_the_encoder():
    agent = pixel_agent("fast")
    obs, _ = agent.augment(pixel_batch().obs, pixel_batch().next_obs)
    hq = agent.critic_features(obs)
    actor_loss, _, _ = agent.actor_alpha_loss(obs, hq)
    actor_loss.backward()
    assert all(p.grad is None for p in agent.critic_encoder.parameters())
    assert any(p.grad is not None for p in agent.actor.parameters())


def test_paper_preset_has_one_extractor_per_network():
    agent = pixel_agent("paper")
    encs = [agent.actor_encoder, agent.q_encoders[0], agent.q_encoders[1]]
    ids = {id(p) for e in encs for p in e.parameters()}
    assert len(ids) == sum(len(list(e.parameters())) for e in encs)
    obs, _ = agent.augment(pixel_batch().obs, pixel_batch().next_obs)
    loss, _, _ = agent.critic_loss(obs, torch.zeros(4, 2), torch.ones(4))
    loss.backward()
    assert all(p.grad is None for p in agent.actor_encoder.parameters())
    assert all(p.grad is not None for p in agent.q_encoders.parameters())


@pytest.mark.parametrize("encoder", ["paper", "fast"])
def test_pixel_update_changes_weights_and_targets_lag(encoder):
    torch.manual_seed(0)
    agent = pixel_agent(encoder)
    before = [p.clone() for p in agent.q.parameters()]
    target_before = [p.clone() for p in agent.target_q.parameters()]
    metrics = agent.update(UpdateInputs(robot=pixel_batch(8)))
    assert set(metrics) >= {"critic_loss", "actor_loss", "alpha", "entropy"}
    moved = [not torch.equal(a, b) for a, b in zip(before, agent.q.parameters())]
    assert all(moved)
    for tb, t, q in zip(target_before, agent.target_q.parameters(), agent.q.parameters()):
        assert torch.allclose(t, tb + 0.005 * (q - tb), atol=1e-6)  # Polyak with tau


def test_act_returns_valid_actions():
    agent = pixel_agent("fast")
    frame = np.zeros((48, 48, 3), np.uint8)
    a = agent.act(frame)
    assert a.shape == (2,) and np.all(np.abs(a) <= 1)
    disc = SAC(Spaces((6,), False, 3, True), SACConfig(hidden=[8]), CPU)
    assert disc.act(np.zeros(6, np.float32), deterministic=True) in (0, 1, 2)


def test_conv_encoder_pools_before_relu_equivalently():
    """The encoder applies ReLU after max-pool; the function equals conv -> ReLU -> pool."""
    from videorl.nets import ConvEncoder

    torch.manual_seed(0)
    enc = ConvEncoder((3, 48, 48), [16, 16, 32])
    x = torch.randint(0, 256, (4, 3, 48, 48), dtype=torch.uint8)
    h = x.float() / 255.0 - 0.5
    for layer in enc.net:
        if isinstance(layer, torch.nn.Conv2d):
            h = torch.nn.functional.max_pool2d(torch.relu(layer(h)), 2, 2)
    assert enc.out_dim == 32 * 6 * 6
    assert torch.allclose(enc(x), h.flatten(1), atol=1e-5)


def test_optimisers_use_the_configured_learning_rate_and_default_entropy_targets():
    """Mutation-testing survivors: adam() ignoring lr; the default target entropy's sign."""
    from videorl.agents.common import adam

    assert adam([torch.nn.Parameter(torch.zeros(2))], 0.123).param_groups[0]["lr"] == 0.123
    from videorl.agents.base import Spaces
    from videorl.agents.registry import make_config, make_method

    cfg = make_config(env="state-pusher", hidden=[8], lr=0.01)
    agent = make_method(Spaces((5,), False, 2, False), cfg, torch.device("cpu"))
    assert agent.target_entropy == -2.0
    assert {g["lr"] for o in (agent.critic_opt, agent.actor_opt) for g in o.param_groups} == {0.01}
    cfg = make_config(env="acrobot", hidden=[8], discrete_entropy_scale=0.5)
    agent = make_method(Spaces((6,), False, 3, True), cfg, torch.device("cpu"))
    assert agent.target_entropy == pytest.approx(0.5 * math.log(3))


def test_continuous_policy_and_temperature_losses_hand_checked():
    """SAC Eq. 7 and Eq. 18 recomputed from the networks (mutation-testing survivors: the sign
    of Q, the entropy's sign, the temperature loss)."""
    from videorl.agents.base import Spaces
    from videorl.agents.registry import make_config, make_method

    cfg = make_config(env="state-pusher", hidden=[8], init_alpha=0.5)
    agent = make_method(Spaces((5,), False, 2, False), cfg, torch.device("cpu"))
    obs = torch.randn(6, 5)
    torch.manual_seed(3)
    actor_loss, alpha_loss, entropy = agent.actor_alpha_loss(obs, obs)
    torch.manual_seed(3)
    action, logp = agent.actor(obs)
    q = agent.q(torch.cat([obs, action], -1)).min(0).values
    alpha = agent.log_alpha.exp().item()
    assert actor_loss.item() == pytest.approx((alpha * logp - q).mean().item(), rel=1e-6)
    assert entropy.item() == pytest.approx(-logp.mean().item(), rel=1e-6)
    expected = (math.log(0.5) * (-logp - agent.target_entropy)).mean().item()
    assert alpha_loss.item() == pytest.approx(expected, rel=1e-6)


def test_the_paper_presets_td_target_reads_the_target_extractors():
    """Mutation-testing survivor: the TD target reading the online instead of the target
    Q extractors (paper preset)."""
    from videorl.agents.base import Spaces
    from videorl.agents.registry import make_config, make_method

    cfg = make_config(env="visual-pusher", pixel_hidden=[8], conv_channels=[4], encoder="paper")
    agent = make_method(Spaces((48, 48, 3), True, 2, False), cfg, torch.device("cpu"))
    next_obs = torch.randint(0, 256, (4, 3, 48, 48), dtype=torch.uint8)
    reward, terminated = torch.zeros(4), torch.zeros(4)

    def target():
        torch.manual_seed(0)
        return agent.td_target(next_obs, reward, terminated)

    base = target()
    with torch.no_grad():
        for p in agent.q_encoders.parameters():
            p.add_(1.0)
    assert torch.equal(target(), base)  # the online extractors do not enter the target
    with torch.no_grad():
        for p in agent.target_q_encoders.parameters():
            p.add_(1.0)
    assert not torch.equal(target(), base)


def test_discrete_actor_loss_and_entropy_hand_checked():
    """Discrete SAC Eq. 7 and the entropy (mutation-testing survivors: the sign of Q, `*` vs
    `/`, the sum over actions vs over the batch). A batch of 5 rows, not 3 actions."""
    agent = SAC(Spaces((4,), False, 3, True), SACConfig(hidden=[8], init_alpha=0.5), CPU)
    with torch.no_grad():
        for p in agent.actor.parameters():
            p.zero_()  # uniform policy over 3 actions
        for p in agent.q.parameters():
            p.zero_()
        agent.q.out.bias[0, 0] = torch.tensor([1.0, 3.0, 5.0])
        agent.q.out.bias[1, 0] = torch.tensor([2.0, 0.0, 6.0])  # min over twins: 1, 0, 5
    obs = torch.randn(5, 4)
    actor_loss, alpha_loss, entropy = agent.actor_alpha_loss(obs, obs)
    q_min = [1.0, 0.0, 5.0]
    hand = sum((0.5 * math.log(1 / 3) - q) / 3 for q in q_min)
    assert actor_loss.item() == pytest.approx(hand, rel=1e-6)
    assert entropy.item() == pytest.approx(math.log(3), rel=1e-6)
    expected = math.log(0.5) * (math.log(3) - agent.target_entropy)
    assert alpha_loss.item() == pytest.approx(expected, rel=1e-6)


def test_discrete_critic_loss_hand_checked():
    """Discrete SAC Eq. 5: each twin's Q of the taken action (mutation-testing survivors:
    gather or squeeze along the wrong axis)."""
    agent = SAC(Spaces((4,), False, 2, True), SACConfig(hidden=[8]), CPU)
    with torch.no_grad():
        for p in agent.q.parameters():
            p.zero_()
        agent.q.out.bias[0, 0] = torch.tensor([1.0, 3.0])
        agent.q.out.bias[1, 0] = torch.tensor([2.0, 5.0])
    action = torch.tensor([[0.0], [1.0], [1.0]])
    target = torch.tensor([0.0, 1.0, 2.0])
    loss, _, q_mean = agent.critic_loss(torch.randn(3, 4), action, target)
    # Q of the taken actions: twin 0 (1, 3, 3), twin 1 (2, 5, 5)
    hand = 0.5 * ((1 + 4 + 1) / 3 + (4 + 16 + 9) / 3)
    assert loss.item() == pytest.approx(hand, rel=1e-6)
    assert q_mean.item() == pytest.approx(19 / 6, rel=1e-6)


def test_deterministic_continuous_action_is_the_squashed_mean():
    """Evaluation's act(obs, deterministic=True) must not sample (mutation-testing survivor)."""
    agent = SAC(Spaces((5,), False, 2, False), SACConfig(hidden=[8]), CPU)
    obs = np.linspace(-1, 1, 5).astype(np.float32)
    torch.manual_seed(0)
    a1 = agent.act(obs, deterministic=True)
    a2 = agent.act(obs, deterministic=True)
    assert np.array_equal(a1, a2)
    with torch.no_grad():
        mean, _ = agent.actor.net(torch.as_tensor(obs)[None]).chunk(2, -1)
    np.testing.assert_allclose(a1, torch.tanh(mean)[0].numpy(), rtol=1e-6)
    assert not np.array_equal(agent.act(obs), agent.act(obs))  # sampling does differ


@pytest.mark.parametrize("precision,dtype", [("bf16", torch.bfloat16), ("fp32", torch.float32)])
def test_bf16_precision_runs_under_autocast(precision, dtype):
    agent = SAC(Spaces((5,), False, 2, False), SACConfig(hidden=[8], precision=precision), CPU)
    with agent.autocast():
        out = agent.actor.net[0](torch.randn(3, 5))
    assert out.dtype == dtype


def test_bf16_output_layers_keep_fp32_resolution():
    """Under bf16 the critic's and actors' output layers run in fp32 on the bf16 hidden
    features: a Q value near -50 is not rounded to bf16's step of 0.25, and the actors'
    outputs equal an fp32 last layer's."""
    torch.manual_seed(0)
    agent = SAC(Spaces((5,), False, 2, False), SACConfig(hidden=[32], precision="bf16"), CPU)
    x = torch.randn(64, 5)
    with torch.no_grad():
        agent.q.out.bias.fill_(-50.0)
        with agent.autocast():
            q = agent.q(torch.cat([x, torch.rand(64, 2)], 1))
        steps = q / 0.25
        assert q.dtype == torch.float32 and (steps - steps.round()).abs().max() > 0.01

        def fp32_last(net):  # bf16 hidden layers, then the last layer in fp32
            with agent.autocast():
                h = net[:-1](x).float()
            return net[-1](h)

        continuous = agent.actor
        with agent.autocast():
            action, _ = continuous(x, deterministic=True)
        mean = fp32_last(continuous.net).chunk(2, -1)[0]
        torch.testing.assert_close(action, torch.tanh(mean), atol=1e-5, rtol=0)
        discrete = CategoricalActor(5, [32], 3)
        discrete.net[-1].bias.copy_(torch.tensor([-50.0, 0.0, 50.0]))
        with agent.autocast():
            _, log_probs = discrete(x)
        ref = torch.log_softmax(fp32_last(discrete.net), -1)
        torch.testing.assert_close(log_probs, ref, atol=1e-4, rtol=0)
