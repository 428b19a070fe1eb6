"""Place-cell populations: a probability code of an agent's state over cells with preferred states.

Kernels (``d`` is the geodesic distance from the state to a cell's centre):

- ``vmf``: ``softmax(kappa * cos d)``, the von Mises-Fisher analogue of a Gaussian on
  compact spaces (the reference setup's choice; kappa=5).
- ``rbf``: ``exp(-d^2 / 2 sigma^2)`` normalised by its sum (a proper Gaussian code).
- ``rbf_softmax``: ``softmax(exp(-d^2 / 2 sigma^2))``, the variant the reference setup reports as failing:
  the softmax is applied to activations that lie in (0, 1], so no two cells can differ by
  more than a factor e and the code is close to uniform whatever sigma is.
- ``dog``: a difference of Gaussians (centre ``sigma``, surround ``surround_scale * sigma``),
  each normalised over cells, shifted to be non-negative and renormalised (the place cells
  of Sorscher et al. 2019); meant for flat boxes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from cogmap.cells.layout import place_centres
from cogmap.errors import CogmapError, check_choice, check_positive, check_trailing_shape

KERNELS = ("vmf", "rbf", "rbf_softmax", "dog")


def effective_number(probabilities: torch.Tensor) -> torch.Tensor:
    """``exp(entropy)`` of each code along the last axis: the number of equally active cells it is worth."""
    return torch.exp(torch.special.entr(probabilities).sum(-1))


class PlaceCells:
    """A population of place cells on one manifold.

    Args:
        manifold: any :class:`~cogmap.geometry.Manifold`.
        centres: preferred states, ``(n_cells, *manifold.point_shape)``.
        kernel: one of :data:`KERNELS`.
        kappa: concentration of the ``vmf`` kernel.
        sigma: width of the Gaussian kernels (in the manifold's distance units).
        surround_scale: surround width over centre width for ``dog``.
    """

    def __init__(self, manifold, centres: torch.Tensor, kernel: str = "vmf", *, kappa: float = 5.0,
                 sigma: float = 0.5, surround_scale: float = 2.0):
        check_choice("kernel", kernel, KERNELS)
        check_positive("kappa", kappa)
        check_positive("sigma", sigma)
        check_positive("surround_scale", surround_scale)
        check_trailing_shape("centres", centres, manifold.point_shape, min_batch_dims=1)
        if centres.dim() != len(manifold.point_shape) + 1 or centres.shape[0] < 1:
            raise CogmapError(f"centres must have shape (n_cells, {', '.join(map(str, manifold.point_shape))}), got {tuple(centres.shape)}")
        if kernel == "vmf" and not hasattr(manifold, "cosine_embedding"):
            raise CogmapError(f"the vmf kernel needs a compact manifold (so3, torus); {manifold!r} has none: use rbf or dog")
        self.manifold = manifold
        self.centres = centres
        self.kernel = kernel
        self.kappa = float(kappa)
        self.sigma = float(sigma)
        self.surround_scale = float(surround_scale)

    @classmethod
    def create(cls, manifold, n_cells: int = 32, layout: str = "random", generator: torch.Generator | None = None,
               *, device=None, dtype=torch.float32, **kernel_args) -> "PlaceCells":
        """A population with centres placed by :func:`~cogmap.cells.layout.place_centres`."""
        centres = place_centres(manifold, n_cells, layout, generator, device=device, dtype=dtype)
        return cls(manifold, centres, **kernel_args)

    @property
    def n_cells(self) -> int:
        return self.centres.shape[0]

    def to(self, device=None, dtype=None) -> "PlaceCells":
        return PlaceCells(self.manifold, self.centres.to(device=device, dtype=dtype), self.kernel, kappa=self.kappa,
                          sigma=self.sigma, surround_scale=self.surround_scale)

    def _centres_like(self, states: torch.Tensor) -> torch.Tensor:
        return self.centres.to(device=states.device, dtype=states.dtype)

    def encode(self, states: torch.Tensor) -> torch.Tensor:
        """Probabilities ``(..., n_cells)`` of states ``(..., *point_shape)``; each code sums to 1."""
        check_trailing_shape("states", states, self.manifold.point_shape)
        centres = self._centres_like(states)
        if self.kernel == "vmf":
            return torch.softmax(self.vmf_logits(states), dim=-1)
        d_sq = self.manifold.pairwise_distance(states, centres) ** 2
        if self.kernel == "rbf":
            return torch.softmax(-d_sq / (2 * self.sigma**2), dim=-1)
        if self.kernel == "rbf_softmax":
            return torch.softmax(torch.exp(-d_sq / (2 * self.sigma**2)), dim=-1)
        centre = torch.softmax(-d_sq / (2 * self.sigma**2), dim=-1)
        surround = torch.softmax(-d_sq / (2 * (self.surround_scale * self.sigma) ** 2), dim=-1)
        dog = centre - surround
        dog = dog - dog.min(-1, keepdim=True).values
        return dog / dog.sum(-1, keepdim=True)

    def vmf_weights(self, like: torch.Tensor) -> tuple[torch.Tensor, float]:
        """``(W, b)`` with vMF logits ``kappa cos d = f(x) @ W + b``, ``f`` the manifold's cosine embedding."""
        scale, shift = self.manifold.cosine_affine
        features = self.manifold.cosine_embedding(self._centres_like(like))
        return (self.kappa * scale) * features.T, self.kappa * shift

    def vmf_logits(self, states: torch.Tensor) -> torch.Tensor:
        weights, bias = self.vmf_weights(states)
        features = self.manifold.cosine_embedding(states)
        flat = features.reshape(-1, features.shape[-1])
        return torch.addmm(flat.new_tensor(bias), flat, weights).reshape(*features.shape[:-1], self.n_cells)

    def decode(self, probabilities: torch.Tensor, refine_steps: int = 100) -> torch.Tensor:
        """Population estimate of the state behind codes ``(..., n_cells)``; see :mod:`cogmap.cells.decode`."""
        from cogmap.cells.decode import decode_population

        return decode_population(self, probabilities, refine_steps=refine_steps)

    def __repr__(self) -> str:
        width = f"kappa={self.kappa}" if self.kernel == "vmf" else f"sigma={self.sigma}"
        return f"PlaceCells({self.manifold!r}, n_cells={self.n_cells}, kernel={self.kernel!r}, {width})"


class JointPlaceCells:
    """One place-cell population per joint of an arm; the joint code is their concatenation.

    States are stacked per joint, ``(..., K, *point_shape)``; codes are ``(..., K * n_cells)``
    with joint ``k`` in columns ``k*n_cells:(k+1)*n_cells``, each block summing to 1.
    """

    def __init__(self, populations: list[PlaceCells]):
        if not populations:
            raise CogmapError("JointPlaceCells needs at least one population")
        sizes = {p.n_cells for p in populations}
        if len(sizes) != 1:
            raise CogmapError(f"every joint needs the same number of cells, got {sorted(sizes)}")
        self.populations = list(populations)
        self.manifold = populations[0].manifold
        self.n_cells = sizes.pop()
        self.joints = len(populations)

    @classmethod
    def create(cls, manifold, joints: int, n_cells: int = 32, layout: str = "random",
               generator: torch.Generator | None = None, **kernel_args) -> "JointPlaceCells":
        """``joints`` populations, their centres drawn one joint after the other from ``generator``."""
        return cls([PlaceCells.create(manifold, n_cells, layout, generator, **kernel_args) for _ in range(joints)])

    @property
    def centres(self) -> torch.Tensor:
        """All centres, ``(K, n_cells, *point_shape)``."""
        return torch.stack([p.centres for p in self.populations])

    def split(self, codes: torch.Tensor) -> torch.Tensor:
        """``(..., K * n_cells)`` -> ``(..., K, n_cells)``."""
        check_trailing_shape("codes", codes, (self.joints * self.n_cells,))
        return codes.reshape(*codes.shape[:-1], self.joints, self.n_cells)

    def encode(self, states: torch.Tensor) -> torch.Tensor:
        check_trailing_shape("states", states, (self.joints, *self.manifold.point_shape))
        if all(p.kernel == "vmf" for p in self.populations):
            return self._encode_vmf(states)
        k_axis = states.dim() - len(self.manifold.point_shape) - 1
        return torch.cat([p.encode(s) for p, s in zip(self.populations, states.unbind(k_axis))], dim=-1)

    def _encode_vmf(self, states: torch.Tensor) -> torch.Tensor:
        # One matrix product with a block-diagonal weight gives every joint's logits, already
        # in the concatenated layout; the normalisation then runs per joint on a view.
        features = self.manifold.cosine_embedding(states)  # (..., K, F)
        batch_shape, f = features.shape[:-2], features.shape[-1]
        weights = torch.zeros(self.joints * f, self.joints * self.n_cells, dtype=states.dtype, device=states.device)
        biases = torch.empty(self.joints * self.n_cells, dtype=states.dtype, device=states.device)
        for k, population in enumerate(self.populations):
            w, b = population.vmf_weights(states)
            weights[k * f:(k + 1) * f, k * self.n_cells:(k + 1) * self.n_cells] = w
            # Logits lie in [-kappa, kappa]; shifting them by -kappa cannot change the code.
            biases[k * self.n_cells:(k + 1) * self.n_cells] = b - population.kappa
        logits = torch.addmm(biases, features.reshape(-1, self.joints * f), weights)
        blocks = logits.view(-1, self.joints, self.n_cells)
        max_kappa = max(p.kappa for p in self.populations)
        if 2 * max_kappa < math.log(torch.finfo(states.dtype).max) - 1:
            # The shifted logits lie in [-2 kappa, 0], so exp cannot overflow nor send a whole
            # code to zero: normalise in place, which saves a copy of the largest tensor here.
            blocks.exp_()
            blocks.div_(blocks.sum(-1, keepdim=True))
        else:
            blocks = torch.softmax(blocks, dim=-1)
        return blocks.reshape(*batch_shape, self.joints * self.n_cells)

    def decode(self, codes: torch.Tensor, refine_steps: int = 100) -> torch.Tensor:
        per_joint = self.split(codes).unbind(-2)
        return torch.stack([p.decode(c, refine_steps) for p, c in zip(self.populations, per_joint)],
                           dim=codes.dim() - 1)


@dataclass(frozen=True)
class EffectiveNumber:
    """How many cells a kernel keeps active: the effective number's mean and sd over random states."""

    kernel: str
    width_name: str  # "kappa" for vmf, "sigma" for the Gaussian kernels
    width: float
    effective_mean: float
    effective_std: float
    peak_probability: float

    def to_json(self) -> dict:
        return {"kernel": self.kernel, self.width_name: self.width, "effective_mean": self.effective_mean,
                "effective_std": self.effective_std, "peak_probability": self.peak_probability}


def effective_numbers(manifold, n_cells: int, kernels: list[str], kappas: list[float], sigmas: list[float],
                      layout: str = "random", samples: int = 20_000, seed: int = 0) -> list[EffectiveNumber]:
    """The effective number of active cells of each kernel and width, on the same centres and uniform states.

    vMF kernels take their widths from ``kappas``, the others from ``sigmas``.
    """
    from cogmap.cells.layout import place_centres

    for kernel in kernels:
        check_choice("kernel", kernel, KERNELS)
    for name, value in (("cells", n_cells), ("samples", samples)):
        if not isinstance(value, int) or value < 1:
            raise CogmapError(f"{name} must be >= 1, got {value}")
    generator = torch.Generator().manual_seed(seed)
    centres = place_centres(manifold, n_cells, layout, generator)
    states = manifold.random(samples, generator)
    rows = []
    for kernel in kernels:
        widths = [("kappa", k) for k in kappas] if kernel == "vmf" else [("sigma", s) for s in sigmas]
        for name, value in widths:
            codes = PlaceCells(manifold, centres, kernel, **{name: value}).encode(states)
            n_eff = effective_number(codes)
            rows.append(EffectiveNumber(kernel, name, float(value), float(n_eff.mean()), float(n_eff.std()),
                                        float(codes.max(-1).values.mean())))
    return rows
