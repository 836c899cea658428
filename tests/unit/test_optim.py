from dataclasses import replace

import torch

from modadd.core.model import Params, init_params
from modadd.core.optim import FlatAdamW, adamw_step, flatten, param_groups, per_element
from modadd.core.train import CIRCLE_RECIPE, GRID_RECIPE


def test_adamw_step_is_torch_adamw():
    g = torch.Generator().manual_seed(0)
    p = torch.randn(50, generator=g, dtype=torch.float64)
    ref = p.clone().requires_grad_(True)
    lr, wd, betas, eps = 3e-2, 0.7, (0.8, 0.95), 1e-6
    opt = torch.optim.AdamW([ref], lr=lr, weight_decay=wd, betas=betas, eps=eps)
    m1, m2 = torch.zeros_like(p), torch.zeros_like(p)
    lr_v = torch.full_like(p, lr)
    decay = 1 - lr_v * wd
    for t in range(1, 41):
        grad = torch.randn(50, generator=g, dtype=torch.float64)
        ref.grad = grad.clone()
        opt.step()
        adamw_step(p, grad, m1, m2, t, lr_v, decay, betas, eps)
        assert torch.allclose(p, ref.detach(), atol=1e-13, rtol=0), t


def test_param_groups_name_each_tensor_once_and_freeze_missing_biases():
    configs = [replace(GRID_RECIPE, wd_embed=0.1, wd_weights=0.2, wd_bias=0.3),
               replace(CIRCLE_RECIPE, lr=5e-3)]                    # no biases
    groups = {g.name: g for g in param_groups(configs)}
    assert sorted(t for g in groups.values() for t in g.tensors) == sorted(Params.NAMES)
    assert torch.allclose(groups["embeddings"].weight_decay, torch.tensor([0.1, 1.0]))
    assert torch.allclose(groups["weights"].weight_decay, torch.tensor([0.2, 1.0]))
    assert torch.allclose(groups["biases"].weight_decay, torch.tensor([0.3, 1.0]))
    assert torch.allclose(groups["weights"].lr, torch.tensor([1e-2, 5e-3]))
    assert groups["biases"].lr[1] == 0.0 and groups["biases"].lr[0] > 0   # frozen at zero


def test_per_element_vectors_follow_the_flat_layout():
    configs = [replace(GRID_RECIPE, wd_embed=0.0, wd_weights=2.0, wd_bias=4.0, lr=0.1)] * 2
    params = init_params([c.model for c in configs], [0, 1])
    flat, views = flatten(params)
    lr, decay = per_element(param_groups(configs), params)
    assert lr.shape == decay.shape == flat.shape
    dec = Params(*(v.view(t.shape) for v, t in zip(decay.split([t.numel() for t in params.tensors()]), params.tensors())))
    assert torch.all(dec.E == 1.0) and torch.allclose(dec.W1, torch.tensor(0.8)) and torch.allclose(dec.b2, torch.tensor(0.6))
    views.E[0, 0, 0] = 123.0                                          # views write into the vector
    assert flat[0] == 123.0


def test_a_masked_gradient_leaves_parameters_where_they_are():
    configs = [GRID_RECIPE]
    params = init_params([GRID_RECIPE.model], [0])
    opt = FlatAdamW(params, param_groups(configs), GRID_RECIPE.betas, GRID_RECIPE.eps)
    opt.grad.normal_(generator=torch.Generator().manual_seed(1))
    before = opt.params.b1.clone()
    mask = torch.ones_like(opt.flat)
    mask[-(params.b2.numel() + params.W2.numel() + params.b1.numel()):-(params.b2.numel() + params.W2.numel())] = 0
    opt.step(mask)
    # decoupled weight decay still shrinks b1 by (1 - lr * wd); Adam's update is zero
    assert torch.allclose(opt.params.b1, before * (1 - GRID_RECIPE.lr * GRID_RECIPE.weight_decay))
    assert opt.t == 1 and not torch.allclose(opt.params.W1, params.W1)
