import pytest
import torch

from modadd.core.model import ModelConfig, Params, forward, init_params, loss_and_grads
from modadd.core.data import unordered_pairs


def _random_params(M=3, n=7, H=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    return Params(torch.randn(M, n, 2, generator=g), torch.randn(M, 2, H, generator=g),
                  torch.randn(M, H, generator=g), torch.randn(M, H, n, generator=g),
                  torch.randn(M, n, generator=g))


def test_shapes_and_symmetry():
    p = init_params([ModelConfig(n=11, hidden=8)] * 2, [0, 1])
    assert [tuple(t.shape) for t in p.tensors()] == [(2, 11, 2), (2, 2, 8), (2, 8), (2, 8, 11), (2, 11)]
    logits = forward(p, torch.tensor([[1, 4], [4, 1]]))
    assert logits.shape == (2, 2, 11)
    assert torch.allclose(logits[:, 0], logits[:, 1], atol=1e-6)


def test_init_schemes():
    g = init_params([ModelConfig(init="glorot", embed_init="uniform", embed_scale=0.2)], [0])
    assert (g.b1 == 0).all() and (g.b2 == 0).all()
    assert g.E.abs().max() <= 0.2
    assert g.W1.abs().max() <= (6 / (2 + 64)) ** 0.5
    t = init_params([ModelConfig(init="torch")], [0])
    assert (t.b1 != 0).any() and t.W1.abs().max() <= 1 / 2 ** 0.5
    nb = init_params([ModelConfig(bias=False)], [0])
    assert (nb.b1 == 0).all() and (nb.b2 == 0).all()


def test_init_depends_only_on_own_seed():
    alone = init_params([ModelConfig()], [5])
    batch = init_params([ModelConfig(embed_scale=0.3), ModelConfig()], [9, 5])
    for a, b in zip(alone.tensors(), batch.tensors()):
        assert torch.equal(a[0], b[1])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hand_written_gradients_match_autograd(seed):
    n = 7
    p = _random_params(n=n, seed=seed)
    pairs, _ = unordered_pairs(n)
    labels = pairs.sum(1) % n
    w = torch.rand(3, len(pairs), generator=torch.Generator().manual_seed(seed + 10))
    ours = loss_and_grads(p, pairs, labels, w)

    q = Params(*(t.clone().requires_grad_(True) for t in p.tensors()))
    x = (q.E[:, pairs[:, 0]] + q.E[:, pairs[:, 1]]).detach().requires_grad_(True)
    h = torch.relu(x @ q.W1 + q.b1[:, None])
    logits = h @ q.W2 + q.b2[:, None]
    ce = torch.nn.functional.cross_entropy(logits.reshape(-1, n), labels.repeat(3), reduction="none")
    loss = (w * ce.reshape(3, -1)).sum(1)
    loss.sum().backward()
    assert torch.allclose(ours.loss, loss.detach(), atol=1e-5)
    for name, a, b in zip(Params.NAMES, ours.grads.tensors(), q.tensors()):
        if name == "E":
            continue
        assert torch.allclose(a, b.grad, atol=1e-5), name
    assert torch.allclose(ours.sum_grad, x.grad, atol=1e-5)
    # dL/dE from autograd through the gather, independently of the line above
    q2 = Params(*(t.clone().requires_grad_(True) for t in p.tensors()))
    out = forward(q2, pairs)
    ce2 = torch.nn.functional.cross_entropy(out.reshape(-1, n), labels.repeat(3), reduction="none")
    (w * ce2.reshape(3, -1)).sum().backward()
    assert torch.allclose(ours.grads.E, q2.E.grad, atol=1e-5)


@pytest.mark.parametrize("kwargs, match", [
    (dict(n=1), "n=1"),
    (dict(dim=0), "dim must be a positive integer, got dim=0"),
    (dict(hidden=2.5), "hidden=2.5"),
    (dict(init="xavier"), r"init must be one of \('torch', 'glorot'\), got init='xavier'"),
    (dict(embed_init="laplace"), "embed_init='laplace'"),
    (dict(embed_scale=0), "embed_scale=0"),
    (dict(embed_scale=float("nan")), "embed_scale=nan"),
    (dict(bias="yes"), "bias must be True or False"),
])
def test_model_config_rejects_bad_values(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ModelConfig(**kwargs)


def test_batch_must_share_shapes():
    with pytest.raises(ValueError, match="share"):
        init_params([ModelConfig(n=5), ModelConfig(n=7)], [0, 0])


def test_gradients_written_into_given_tensors_are_the_same_bits():
    n = 7
    p = _random_params(n=n, seed=3)
    pairs, _ = unordered_pairs(n)
    labels = pairs.sum(1) % n
    w = torch.rand(3, len(pairs), generator=torch.Generator().manual_seed(4))
    fresh = loss_and_grads(p, pairs, labels, w)
    into = Params(*(torch.full_like(t, float("nan")) for t in p.tensors()))   # stale contents are overwritten
    given = loss_and_grads(p, pairs, labels, w, out=into,
                           one_hot=torch.nn.functional.one_hot(labels, n).float())
    assert given.grads is into
    for name, a, b in zip(Params.NAMES, fresh.grads.tensors(), into.tensors()):
        assert torch.equal(a, b), name
    assert torch.equal(fresh.loss, given.loss)
