import pytest
import torch

from modadd.core.reference import PlainNet, plain_loop


def test_plain_net_is_embedding_then_mlp_in_that_order():
    torch.manual_seed(5)
    net = PlainNet(17, 64)
    torch.manual_seed(5)
    emb = torch.nn.Embedding(17, 2)
    mlp = torch.nn.Sequential(torch.nn.Linear(2, 64), torch.nn.ReLU(), torch.nn.Linear(64, 17))
    ours = list(net.parameters())
    theirs = list(emb.parameters()) + list(mlp.parameters())
    assert [p.shape for p in ours] == [p.shape for p in theirs]
    for a, b in zip(ours, theirs):
        assert torch.equal(a, b)
    a, b = torch.tensor([0, 3, 16]), torch.tensor([1, 15, 16])
    assert torch.equal(net(a, b), mlp(emb(a) + emb(b)))


def test_plain_loop_times_steps():
    t = plain_loop(5, seed=1)
    assert isinstance(t, float) and t > 0.0


@pytest.mark.parametrize("steps", [-1, 2.5, True, "10"])
def test_plain_loop_rejects_bad_steps(steps):
    with pytest.raises(ValueError, match="steps must be an integer"):
        plain_loop(steps)
