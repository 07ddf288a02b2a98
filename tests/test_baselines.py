"""The RLV paper's imitation baselines, BCO (agents/bco.py) and ILPO (agents/ilpo.py), and what
they share (agents/common.py): hand-checked losses, where labels come from, the round
schedule, the discretisation, exact resume and the command-line refusals."""

import csv
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from videorl.agents.base import Spaces, UpdateInputs
from videorl.agents.bco import BCO
from videorl.agents.common import ActionBins
from videorl.agents.ilpo import ILPO, latent_losses
from videorl.agents.registry import make_config
from videorl.config import ConfigError, RunConfig
from videorl.loop_state import MetricSums
from videorl.replay import Batch, ObservationBatch
from videorl.train import train

CPU = torch.device("cpu")
ACROBOT = Spaces((6,), False, 3, True)
PUSHER = Spaces((5,), False, 2, False)
TINY_BCO = dict(inverse_hidden=[16], policy_hidden=[16], inverse_steps=30, bc_steps=20,
                round_steps=40, initial_steps=40, batch_size=16, obs_batch_size=16,
                eval_every=40, eval_episodes=1, threads=1)  # fmt: skip
TINY_ILPO = dict(embed_hidden=[16], generator_hidden=[16], remap_hidden=[8], latent_steps=30,
                 initial_steps=20, batch_size=16, obs_batch_size=16, eval_every=40,
                 eval_episodes=1, threads=1)  # fmt: skip


def bco(spaces=ACROBOT, **kw):
    cfg = make_config(algo="bco", obs_data="unused", **{**TINY_BCO, **kw})
    return BCO.build(spaces, cfg, CPU)


def ilpo(spaces=ACROBOT, **kw):
    cfg = make_config(algo="ilpo", obs_data="unused", **{**TINY_ILPO, **kw})
    return ILPO.build(spaces, cfg, CPU)


def videos(obs, next_obs, gt_action=None):
    n = obs.shape[0]
    return ObservationBatch(obs, next_obs, torch.zeros(n, dtype=torch.bool), gt_action=gt_action)


# -- the discretisation ---------------------------------------------------------------------
def test_every_bin_round_trips_through_its_action():
    bins = ActionBins(2, 7)
    every = torch.arange(49)
    actions = bins.action(every)
    assert bins.n == 49 and actions.shape == (49, 2)
    assert torch.equal(bins.index(actions), every)
    assert sorted(set(actions[:, 0].tolist())) == pytest.approx(np.linspace(-1, 1, 7).tolist())


def test_an_action_goes_to_the_bin_of_its_nearest_values():
    bins = ActionBins(2, 7)  # values -1, -2/3, -1/3, 0, 1/3, 2/3, 1
    actions = torch.tensor([[-1.0, 1.0], [0.1, -0.2], [0.9, 0.2], [5.0, -5.0]])
    # digits (first dimension slowest): (0, 6), (3, 2), (6, 4), (6, 0): clipped to the box
    assert bins.index(actions).tolist() == [6, 3 * 7 + 2, 6 * 7 + 4, 6 * 7]


# -- BCO ------------------------------------------------------------------------------------
def test_bco_fits_in_rounds_at_the_end_of_the_random_phase_and_every_round_after():
    run = RunConfig(initial_steps=50)
    agent = bco(inverse_steps=7, bc_steps=5, round_steps=50, initial_steps=50)
    due = {step: agent.updates_due(step, run) for step in range(1, 260)}
    assert {s for s, n in due.items() if n} == {50, 100, 150, 200, 250}
    assert set(due.values()) == {0, 12}
    once = bco(round_steps=0, initial_steps=50)  # BCO(0): one round only
    assert [s for s in range(1, 400) if once.updates_due(s, run)] == [50]


def test_bco_steps_its_inverse_model_then_its_policy_within_a_round():
    torch.manual_seed(0)
    agent = bco(inverse_steps=3, bc_steps=2)
    robot = Batch(torch.randn(8, 6), torch.randint(3, (8, 1)).float(), torch.zeros(8),
                  torch.randn(8, 6), torch.zeros(8))  # fmt: skip
    inputs = UpdateInputs(robot=robot, observations=videos(torch.randn(8, 6), torch.randn(8, 6)))
    needs, keys = [], []
    for _ in range(7):
        needs.append(agent.update_needs())
        keys.append(sorted(agent.update(inputs)))
    inverse, clone = ["inverse_acc", "inverse_loss"], ["bc_loss"]
    assert keys == [inverse] * 3 + [clone] * 2 + [inverse] * 2
    fit, clone_needs = frozenset({"robot"}), frozenset({"observations"})
    assert needs == [fit] * 3 + [clone_needs] * 2 + [fit] * 2  # the loop samples only that


def test_bco_inverse_loss_is_the_cross_entropy_of_the_true_bins():
    torch.manual_seed(0)
    agent = bco(spaces=PUSHER, action_bins=3)
    obs, next_obs = torch.randn(4, 5), torch.randn(4, 5)
    action = torch.tensor([[-1.0, -1.0], [0.0, 1.0], [1.0, 0.1], [0.9, -0.8]])
    with torch.no_grad():
        logits = agent.inverse.predict(obs, next_obs)
    classes = torch.tensor([0, 1 * 3 + 2, 2 * 3 + 1, 2 * 3 + 0])
    expected = -logits.log_softmax(-1)[torch.arange(4), classes].mean()
    robot = Batch(obs, action, torch.zeros(4), next_obs, torch.zeros(4))
    assert agent.inverse_step(UpdateInputs(robot=robot))["inverse_loss"] == pytest.approx(
        float(expected), rel=1e-6
    )


def test_bco_clones_the_inverse_models_labels_never_the_ground_truth():
    torch.manual_seed(0)
    agent = bco()
    with torch.no_grad():  # an inverse model that always infers action 0
        agent.inverse[-1].weight.zero_()
        agent.inverse[-1].bias.copy_(torch.tensor([5.0, 0.0, 0.0]))
    obs = torch.randn(16, 6)
    truth = torch.full((16, 1), 2.0)  # the dataset's groundtruth/ says action 2 everywhere
    batch = UpdateInputs(observations=videos(obs, obs + 0.1, gt_action=truth))
    with torch.no_grad():
        logits = agent.policy(obs)
    first = agent.clone_step(batch)
    assert first["bc_loss"] == pytest.approx(float(F.cross_entropy(logits, torch.zeros(16).long())))
    assert first["obs_label_acc"] == 0.0  # the diagnostic compares; it never labels
    for _ in range(100):
        agent.clone_step(batch)
    assert (agent.policy(obs).argmax(-1) == 0).all()


def test_bco_acts_at_the_bins_values_on_a_continuous_task():
    torch.manual_seed(0)
    agent = bco(spaces=PUSHER)
    with torch.no_grad():
        agent.policy[-1].weight.zero_()
        agent.policy[-1].bias.zero_()
        agent.policy[-1].bias[7 * 1 + 5] = 50.0  # bin (1, 5): values (-2/3, 2/3)
    action = agent.act(np.zeros(5, np.float32), deterministic=True)
    assert action.dtype == np.float32 and action.tolist() == pytest.approx([-2 / 3, 2 / 3])


# -- ILPO -----------------------------------------------------------------------------------
def test_ilpo_latent_losses_hand_checked():
    logits = torch.log(torch.tensor([[0.25, 0.75]])).requires_grad_()  # pi(z|s)
    changes = torch.tensor([[[1.0, 0.0], [0.0, 2.0]]], requires_grad=True)  # G(s, z) per z
    delta = torch.tensor([[1.0, 1.0]])
    l_min, l_exp = latent_losses(logits, changes, delta)
    assert l_min.item() == pytest.approx(1.0)  # min(0 + 1, 1 + 1)
    # expected change: 0.25 (1, 0) + 0.75 (0, 2) = (0.25, 1.5): (0.75^2 + 0.5^2)
    assert l_exp.item() == pytest.approx(0.75**2 + 0.5**2)
    l_exp.backward()
    assert changes.grad is None and logits.grad.abs().sum() > 0  # L_exp holds G fixed


def test_ilpo_min_loss_trains_only_the_best_latent_and_exp_loss_only_the_policy():
    torch.manual_seed(0)
    agent = ilpo()
    obs, delta = torch.randn(8, 6), torch.randn(8, 6)
    logits, changes = agent.latent(obs)
    l_min, l_exp = latent_losses(logits, changes, delta)
    l_exp.backward(retain_graph=True)
    assert agent.latent.policy_head.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in agent.latent.generator.parameters())
    agent.latent.zero_grad()
    changes.retain_grad()
    l_min.backward()
    assert (
        agent.latent.policy_head.weight.grad is None
        or not agent.latent.policy_head.weight.grad.any()
    )
    best = (changes - delta.unsqueeze(1)).pow(2).sum(-1).argmin(-1)
    hit = torch.zeros(8, 3, dtype=torch.bool)
    hit[torch.arange(8), best] = True
    assert (changes.grad.abs().sum(-1) > 0).eq(hit).all()


def test_ilpo_remaps_with_the_latent_whose_predicted_change_is_closest(monkeypatch):
    agent = ilpo()
    fixed = torch.tensor([[[1.0] * 6, [0.0] * 6, [-1.0] * 6]])  # G(s, z) for z = 0, 1, 2

    def fake(obs):
        return torch.zeros(obs.shape[0], 3), fixed.expand(obs.shape[0], -1, -1)

    monkeypatch.setattr(agent.latent, "forward", fake)
    obs = torch.zeros(4, 6)
    next_obs = torch.tensor([[0.9] * 6, [0.2] * 6, [-0.7] * 6, [-5.0] * 6])
    assert agent.latent.best_latent(obs, next_obs).tolist() == [0, 1, 2, 2]
    seen = {}

    def remap(o, z):
        seen["z"] = z
        return torch.zeros(o.shape[0], 3, requires_grad=True)

    monkeypatch.setattr(agent.remap, "forward", remap)
    robot = Batch(obs, torch.zeros(4, 1), torch.zeros(4), next_obs, torch.zeros(4))
    agent.update(UpdateInputs(robot=robot))
    assert seen["z"].tolist() == [0, 1, 2, 2]


def test_ilpo_acts_greedily_when_evaluated_and_explores_while_collecting():
    torch.manual_seed(0)
    agent = ilpo(explore=0.5)
    obs = np.zeros(6, np.float32)
    greedy = {agent.act(obs, deterministic=True) for _ in range(20)}
    collected = [agent.act(obs) for _ in range(300)]
    assert len(greedy) == 1
    share = np.mean([a != next(iter(greedy)) for a in collected])
    assert share == pytest.approx(0.5 * 2 / 3, abs=0.08)  # random: 2 of 3 actions differ
    x = torch.as_tensor(obs)[None]
    with torch.no_grad():  # acting reads the latent policy's logits without the generator
        assert torch.equal(agent.latent.latent_logits(x), agent.latent(x)[0])


def test_ilpo_pretrains_for_latent_steps():
    assert ilpo(latent_steps=17).pretrain_steps == 17


# -- both: the loop, resume and the command line ---------------------------------------------
def test_metric_sums_average_each_key_over_the_updates_that_reported_it():
    sums = MetricSums(["a", "b"], CPU)
    for metrics in ({"a": torch.tensor(1.0)}, {"a": torch.tensor(3.0)}, {"b": torch.tensor(5.0)}):
        sums.add(metrics)
    assert sums.updates == 3 and sums.means() == {"a": 2.0, "b": 5.0}
    sums.reset()
    sums.add({"a": torch.tensor(1.0)})
    assert sums.trained() == {"a": 1.0} and math.isnan(sums.means()["b"])


@pytest.fixture(scope="module")
def acrobot_data(tmp_path_factory):
    from videorl.collect import collect

    return collect("acrobot", "expert", 3, tmp_path_factory.mktemp("d") / "acro", progress=False)


def rows(path):
    with open(path / "metrics.csv") as f:
        return [{k: v for k, v in r.items() if k != "wall_time" and k != "steps_per_second"}
                for r in csv.DictReader(f)]  # fmt: skip


@pytest.mark.parametrize("algo, tiny", [("bco", TINY_BCO), ("ilpo", TINY_ILPO)])
def test_stopped_and_resumed_matches_an_uninterrupted_run(algo, tiny, acrobot_data, tmp_path):
    keys = dict(algo=algo, env="acrobot", obs_data=str(acrobot_data), **tiny)
    straight = train(make_config(steps=120, **keys), tmp_path / "a", progress=False)
    train(make_config(steps=80, **keys), tmp_path / "b", progress=False)
    resumed = train(make_config(steps=120, **keys), tmp_path / "b", resume=True, progress=False)
    got = rows(straight.path)
    assert rows(resumed.path) == got and len(got) >= 4
    trained = [r for r in got if r["step"] != "0"]
    loss = "bc_loss" if algo == "bco" else "remap_loss"
    assert all(math.isfinite(float(r[loss])) for r in trained)


@pytest.mark.parametrize("algo", ["bco", "ilpo"])
def test_refusals_name_the_problem(algo, capsys, tmp_path, acrobot_data):
    from tests.test_user_mistakes import cli

    out = tmp_path / "run"
    line = cli(capsys, "train", "--algo", algo, "--env", "acrobot", "--out", out)
    assert "obs-data" in line or "obs_data" in line
    line = cli(capsys, "train", "--algo", algo, "--env", "acrobot", "--obs-data", acrobot_data,
               "--set", "action_bins=5", "--out", out)  # fmt: skip
    assert "action_bins" in line and "discrete" in line
    assert not out.exists()


def test_a_pixel_task_is_refused():
    with pytest.raises(ConfigError, match="state tasks"):
        bco(spaces=Spaces((8, 8, 3), True, 2, False))
    with pytest.raises(ConfigError, match="state tasks"):
        ilpo(spaces=Spaces((8, 8, 3), True, 2, False))


def test_bco_needs_a_random_phase_as_long_as_a_batch():
    with pytest.raises(ConfigError, match="initial_steps"):
        make_config(algo="bco", obs_data="d", initial_steps=10, batch_size=32)
