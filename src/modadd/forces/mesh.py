"""The particle-mesh solver for the repulsion: O(U + cells log cells) instead of O(U^2).

See :func:`modadd.forces.repulsion_force` (``method="mesh"``) for the method and its
accuracy; :func:`repulsion_mesh` is the unchecked kernel.
"""
from __future__ import annotations

import math

import torch

from .kernels import clustering

#: Default mesh resolution: relative error ~0.7% (tested < 1%).
MESH_CELLS_PER_SIGMA = 3.0


class MeshTooLarge(ValueError):
    """The sums spread over more mesh cells than memory allows."""


_CUTOFF = 5.0            # the mesh window is cut at this many sigma (exp(-12.5) ~ 4e-6)
_MESH_CELLS = 1 << 25    # at most this many mesh cells over all models (~270 MB per array)
_MESH_KERNELS: dict[tuple, torch.Tensor] = {}


def fft_size(k: int) -> int:
    """The smallest size >= k with no prime factor above 5 (fast FFT sizes)."""
    while True:
        m = k
        for p in (2, 3, 5):
            while m % p == 0:
                m //= p
        if m == 1:
            return k
        k += 1


def mesh_kernel(G: int, h: float, sigma: float) -> torch.Tensor:
    """FFT of the window's slope ``K(r) r`` on a (G, G) periodic mesh of cell size h:
    (2, G, G//2+1), for a window narrowed by the blur of spreading and reading back."""
    key = (G, h, sigma)
    if key not in _MESH_KERNELS:
        s2 = sigma ** 2 - h * h / 3                     # narrowed window ...
        off = torch.arange(G, dtype=torch.float64)
        off = torch.where(off > G // 2, off - G, off) * h
        K = torch.exp(-(off[:, None] ** 2 + off[None, :] ** 2) / (2 * s2)) * (sigma ** 2 / s2) ** 2
        K = torch.where(off[:, None] ** 2 + off[None, :] ** 2 <= (_CUTOFF * sigma) ** 2, K, 0.0)
        ker = torch.stack([K * off[:, None], K * off[None, :]])   # ... rescaled (2-D Gaussians)
        if len(_MESH_KERNELS) > 32:
            _MESH_KERNELS.clear()
        _MESH_KERNELS[key] = torch.fft.rfft2(ker)
    return _MESH_KERNELS[key]


def repulsion_mesh(S, labels, w, sigmas, cells_per_sigma: float) -> torch.Tensor:
    """:func:`modadd.forces.repulsion_force` by the particle-mesh method (see there); S (M, U, 2), sigmas
    (M,) all equal."""
    return repulsion_mesh_all(S, w, sigmas, cells_per_sigma) + clustering(S, labels, w, sigmas)


def repulsion_mesh_all(S, w, sigmas, cells_per_sigma: float) -> torch.Tensor:
    """The push from *every* sum (labels ignored) on the mesh: :func:`repulsion_mesh` without
    the exact same-answer correction."""
    M, U, _ = S.shape
    sigma = float(sigmas[0])
    h = sigma / cells_per_sigma
    pad = int(math.ceil(_CUTOFF * cells_per_sigma)) + 1
    lo = S.amin(1) - pad * h                                          # (M, 2) mesh corner
    extent = float((S.amax(1) - S.amin(1)).max())
    G = fft_size(16 * math.ceil((extent / h + 2 * pad + 2) / 16))   # stable sizes: kernel reuse
    if M * G * G > _MESH_CELLS:
        raise MeshTooLarge(f"method='mesh': the sums span {extent:.3g}, {extent / sigma:.3g} window widths; "
                         f"{M} mesh(es) of {G}x{G} cells exceed the limit of {_MESH_CELLS:,} cells "
                         "(use method='exact' or a wider window)")
    u = (S - lo[:, None]) / h
    i = u.floor()
    fx, fy = (u - i).unbind(-1)
    i = i.long()
    corner = i[..., 0] * G + i[..., 1]
    idx = torch.cat([corner, corner + G, corner + 1, corner + G + 1], 1)          # (M, 4U)
    W = torch.cat([(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy], 1)
    rho = torch.zeros(M, G * G, dtype=S.dtype).scatter_add_(1, idx, W * w.repeat(1, 4))
    field = torch.fft.irfft2(torch.fft.rfft2(rho.view(M, 1, G, G)) * mesh_kernel(G, h, sigma),
                             s=(G, G)).view(M, 2, G * G)
    read = torch.gather(field, 2, idx[:, None, :].expand(M, 2, 4 * U)) * W[:, None, :]
    return read.view(M, 2, 4, U).sum(2).transpose(1, 2)
