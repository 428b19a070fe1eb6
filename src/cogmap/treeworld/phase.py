"""A phase-code localizer: location as the phases of plane waves at several scales (grid-cell modules).

Seed 001 ends by recommending a Fourier-type location code instead of TEM2d's bounded belief
grid (the grid cells of the entorhinal cortex; the rotary position embeddings of language
models). Here location ``x`` (2-D, world units) is held as K phases ``phi_k = w_k . x`` (mod
2 pi), three plane waves per module at 60 degrees to each other (a hexagonal grid-cell
module) and modules at geometric scales: wavevector ``w_k = 2 pi d_k / lambda_m``.

- **Movement is exact**: an odometry report ``dx`` rotates every phase by ``w_k . dx``; nothing
  is blurred and nothing falls off an edge, however far the agent goes.
- **Uncertainty** is a von Mises distribution per phase, mean ``mu_k`` and concentration
  ``kappa_k``. All phases are moved by the same odometry, so their errors are one position
  error seen at K scales: the concentrations are tied to one position variance ``s^2`` per
  world. Odometry noise of sd ``sigma`` per axis adds ``sigma^2`` to it, and phase k then
  spreads by a wrapped normal of variance ``|w_k|^2 s^2``, mean resultant length
  ``A(kappa_k) = I1(kappa_k) / I0(kappa_k) = exp(-|w_k|^2 s^2 / 2)`` (Mardia & Jupp 2000, 3.5):
  fine scales lose their certainty first, coarse ones keep it. (Treating the phases as
  independent would shrink the decoded uncertainty by the square root of half their number.)
- **Decoding** (:meth:`PhaseCode.decode`) finds the position whose phases best match, the
  maximum of ``sum_k kappa_k cos(mu_k - w_k . x)``. Started near a previous estimate whose
  phases all agree with it to 45 degrees, it is a Gauss-Newton step on all phases at once
  (tracking, O(K)). Otherwise it searches coarse to fine over the modules: each candidate
  branches to the nearby images of the next module, each polished by Gauss-Newton steps under
  the coarser modules' information, and a beam of the best candidates is kept (never fewer
  than the starting ones). Given a ``radius`` the search starts from every image of the
  coarsest module within it, and a code of modules far smaller than the radius still decodes
  uniquely (the combinatorial range of grid codes, Fiete, Burak & Brookings 2008). The
  uncertainty returned is the Laplace approximation at the maximum for independent phase
  errors, ``cov = (sum_k kappa_k w_k w_k^T)^-1``, and the likelihood margin to the best rival
  more than half the finest period away.

Phases are float64 by default: at 10^6 world units a float32 phase would lose a degree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from cogmap.errors import CogmapError, check_positive, check_positive_int
from cogmap.treeworld.memory import RingMemory

KAPPA_MAX = 1e12  # "exactly known": a phase sd of 1e-6 rad


def mean_resultant_length(kappa: torch.Tensor) -> torch.Tensor:
    """``A(kappa) = I1(kappa) / I0(kappa)``, the mean resultant length of a von Mises of concentration kappa."""
    return torch.special.i1e(kappa) / torch.special.i0e(kappa)


def concentration(r: torch.Tensor) -> torch.Tensor:
    """The inverse of :func:`mean_resultant_length` (Best & Fisher's approximation, Fisher 1993, eq. 4.41)
    polished by Newton steps; ``r`` in [0, 1)."""
    r = r.clamp(0.0, 1.0 - 1e-15)
    kappa = torch.where(r < 0.53, 2 * r + r**3 + 5 * r**5 / 6,
                        torch.where(r < 0.85, -0.4 + 1.39 * r + 0.43 / (1 - r), 1 / (r * (1 - r) * (3 - r))))
    # Newton on A(kappa) = r where A' is not lost to rounding; above 1e4 the approximation
    # 1 / (2 (1 - r)) is already better than 1e-4 relative.
    moderate = kappa < 1e4
    for _ in range(3):
        k = kappa.clamp(1e-12, 1e4)
        a = mean_resultant_length(k)
        slope = (1 - a / k - a**2).clamp_min(1e-300)  # A'(kappa)
        kappa = torch.where(moderate, (k - (a - r) / slope).clamp_min(0.0), kappa)
    return kappa.clamp(max=KAPPA_MAX)


def _inverse_2x2(matrix: torch.Tensor) -> torch.Tensor:
    """The inverse of a batch of 2 x 2 matrices in closed form (torch.linalg's call overhead dominates at this size)."""
    a, b, c, d = matrix[..., 0, 0], matrix[..., 0, 1], matrix[..., 1, 0], matrix[..., 1, 1]
    inverse = torch.stack([torch.stack([d, -b], -1), torch.stack([-c, a], -1)], -2)
    return inverse / (a * d - b * c)[..., None, None]


def wrap(angle: torch.Tensor) -> torch.Tensor:
    """Angles to (-pi, pi]."""
    return torch.remainder(angle + math.pi, 2 * math.pi) - math.pi


@dataclass(frozen=True)
class Decoded:
    """A decoded position per world: the estimate ``(B, 2)``, its covariance ``(B, 2, 2)`` and the
    log-likelihood margin to the best candidate more than half the finest period away ``(B,)``
    (large: unambiguous; near 0: two places fit the phases about as well)."""

    mean: torch.Tensor
    cov: torch.Tensor
    margin: torch.Tensor

    @property
    def sd(self) -> torch.Tensor:
        """The root of the covariance's mean eigenvalue ``(B,)``, world units per axis."""
        return (torch.diagonal(self.cov, dim1=-2, dim2=-1).sum(-1) / 2).clamp_min(0).sqrt()


class PhaseCode:
    """Modules of three plane waves at 60 degrees; periods ``min_period * ratio ** m``, m = 0..modules-1.

    Each module is turned by a different angle (multiples of the golden angle, modulo 60
    degrees), so that no two modules share their axes. ``ratio`` sqrt(2) is the ratio between
    successive grid-cell modules measured in rats (Stensola et al. 2012).
    """

    def __init__(self, modules: int = 10, min_period: float = 25.0, ratio: float = math.sqrt(2), dtype=torch.float64,
                 device=None):
        check_positive_int("modules", modules)
        check_positive("min_period", min_period)
        if not (math.isfinite(ratio) and ratio > 1):
            raise CogmapError(f"ratio must be a finite number > 1, got {ratio!r}")
        self.modules, self.min_period, self.ratio = modules, float(min_period), float(ratio)
        periods = torch.tensor([min_period * ratio**m for m in range(modules)], dtype=dtype, device=device)
        golden = math.pi * (3 - math.sqrt(5))
        offsets = torch.tensor([(m * golden) % (math.pi / 3) for m in range(modules)], dtype=dtype, device=device)
        angles = offsets[:, None] + torch.tensor([0.0, math.pi / 3, 2 * math.pi / 3], dtype=dtype, device=device)
        directions = torch.stack([angles.cos(), angles.sin()], -1)  # (M, 3, 2)
        self.periods = periods
        self.wavevectors = (2 * math.pi / periods[:, None, None] * directions).reshape(-1, 2)  # (K, 2)
        # Zero-phase points of module m: d1 . x and d2 . x multiples of lambda (then d3 = d2 - d1 is too).
        self.lattices = periods[:, None, None] * torch.linalg.inv(directions[:, :2])  # (M, 2, 2), columns basis vectors
        self._solvers = torch.linalg.inv(self.wavevectors.reshape(modules, 3, 2)[:, :2])  # phases of waves 1, 2 -> x
        self._steps_of = torch.linalg.inv(self.lattices)  # position -> lattice steps
        self._information = torch.einsum("ki,kj->kij", self.wavevectors, self.wavevectors)  # (K, 2, 2)

    @property
    def size(self) -> int:
        """K, the number of phases."""
        return 3 * self.modules

    @property
    def dtype(self) -> torch.dtype:
        return self.periods.dtype

    @property
    def device(self) -> torch.device:
        return self.periods.device

    def phases(self, position: torch.Tensor) -> torch.Tensor:
        """The phases ``(..., K)`` in (-pi, pi] of positions ``(..., 2)``."""
        return wrap(torch.as_tensor(position, dtype=self.dtype, device=self.device) @ self.wavevectors.T)

    def concentrations(self, variance: torch.Tensor) -> torch.Tensor:
        """Each phase's von Mises concentration ``(B, K)`` when the position is uncertain by a Gaussian
        of ``variance`` ``(B,)`` per axis: phase k then spreads by a wrapped normal of variance
        ``|w_k|^2 variance``, of mean resultant length ``exp(-|w_k|^2 variance / 2)``."""
        variance = torch.as_tensor(variance, dtype=self.dtype, device=self.device).reshape(-1, 1)
        r = torch.exp(-self.wavevectors.square().sum(-1) * variance / 2)
        return torch.where(variance > 0, concentration(r), torch.full_like(r, KAPPA_MAX))

    def likelihood(self, mu: torch.Tensor, kappa: torch.Tensor, position: torch.Tensor,
                   components: slice | None = None) -> torch.Tensor:
        """``sum_k kappa_k cos(mu_k - w_k . x)`` for candidates ``(B, C, 2)`` -> ``(B, C)``."""
        w = self.wavevectors if components is None else self.wavevectors[components]
        m = mu if components is None else mu[:, components]
        k = kappa if components is None else kappa[:, components]
        return (k[:, None] * torch.cos(m[:, None] - position @ w.T)).sum(-1)

    def decode(self, mu: torch.Tensor, kappa: torch.Tensor, near: torch.Tensor | None = None,
               radius: float | None = None, beam: int = 16) -> Decoded:
        """The position ``(B, 2)`` whose phases best match von Mises phases ``mu``, ``kappa`` ``(B, K)``.

        Without ``radius`` the answer is sought within half the coarsest period of ``near``
        (default the origin): the tracking case. With ``radius`` every image of the coarsest
        module within ``radius`` of ``near`` starts a candidate.
        """
        mu = torch.as_tensor(mu, dtype=self.dtype, device=self.device)
        kappa = torch.as_tensor(kappa, dtype=self.dtype, device=self.device)
        if mu.ndim != 2 or mu.shape[-1] != self.size or kappa.shape != mu.shape:
            raise CogmapError(f"phases and concentrations must both have shape (B, {self.size}), "
                              f"got {tuple(mu.shape)} and {tuple(kappa.shape)}")
        check_positive_int("beam", beam)
        b = mu.shape[0]
        near = torch.zeros(b, 2, dtype=self.dtype, device=self.device) if near is None \
            else torch.as_tensor(near, dtype=self.dtype, device=self.device).reshape(b, 2)
        if radius is None:
            fast, settled = self._polish(mu, kappa, near)
            if bool(settled.all()):
                return fast
            # Only the worlds whose phases disagree with ``near`` are searched, so that a world's
            # answer never depends on the others in its batch.
            rest = (~settled).nonzero()[:, 0]
            searched = self._search(mu[rest], kappa[rest], near[rest], None, beam)
            fast.mean[rest], fast.cov[rest], fast.margin[rest] = searched.mean, searched.cov, searched.margin
            return fast
        return self._search(mu, kappa, near, radius, beam)

    def _search(self, mu, kappa, near, radius, beam) -> Decoded:
        """The coarse-to-fine search of :meth:`decode`."""
        b = mu.shape[0]
        top = self.modules - 1
        candidates = near[:, None]  # (B, 1, 2)
        # The coarsest module's images all fit it equally well: none may be dropped before the
        # finer modules have told them apart.
        first = self._steps(top, radius)
        keep = max(beam, first.shape[0] + 1)
        eye = torch.eye(2, dtype=self.dtype, device=self.device)
        prior = 1e-12 * eye.expand(b, 2, 2)  # the information of the coarser modules, about each candidate
        for m in range(top, -1, -1):
            block = first if m == top else self._steps(m, None)
            candidates, prior = self._refine(mu, kappa, candidates, m, prior, block)
            score = self.likelihood(mu, kappa, candidates, slice(3 * m, None))
            if score.shape[1] > keep:
                candidates = candidates.gather(1, score.topk(keep, dim=1).indices[..., None].expand(-1, -1, 2))
        score = self.likelihood(mu, kappa, candidates)
        best = score.argmax(1)
        rows = torch.arange(b, device=self.device)
        mean = candidates[rows, best]
        far = (candidates - mean[:, None]).norm(dim=-1) > self.min_period / 2
        rival = torch.where(far, score, torch.full_like(score, -torch.inf)).amax(1)
        return Decoded(mean, _inverse_2x2(prior), score[rows, best] - rival)

    def _polish(self, mu, kappa, near, iterations: int = 2) -> tuple[Decoded, torch.Tensor]:
        """The tracking fast path: where every phase that is known at all (kappa > 1) is within 45
        degrees of ``near``'s, the maximum is the local one: Gauss-Newton on all modules at once.
        Returns the result and where it holds ``(B,)``; the search settles the other worlds."""
        residual = wrap(mu - near @ self.wavevectors.T)
        settled = ((residual.abs() < math.pi / 4) | (kappa <= 1)).all(-1)
        info = torch.einsum("bk,kij->bij", kappa, self._information)
        inverse = _inverse_2x2(info + 1e-12 * torch.eye(2, dtype=self.dtype, device=self.device))
        x = near
        for i in range(iterations):
            if i:
                residual = wrap(mu - x @ self.wavevectors.T)
            x = x + (inverse @ ((kappa * residual) @ self.wavevectors)[..., None])[..., 0]
        return Decoded(x, inverse, torch.full((mu.shape[0],), torch.inf, dtype=self.dtype, device=self.device)), settled

    def _steps(self, m: int, radius: float | None) -> torch.Tensor:
        """Lattice steps ``(n, 2)`` of module m: the 3 x 3 block around 0, or every step of length
        at most ``radius`` plus a period."""
        steps = torch.tensor([-1.0, 0.0, 1.0], dtype=self.dtype, device=self.device)
        if radius is None:
            return torch.cartesian_prod(steps, steps)
        check_positive("radius", radius)
        basis = self.lattices[m]
        n = math.ceil((radius + float(self.periods[m])) / float(torch.linalg.svdvals(basis).min()))
        if (2 * n + 1) ** 2 > 4_000_000:
            raise CogmapError(f"radius {radius} spans {(2 * n + 1) ** 2} images of the coarsest period "
                              f"{float(self.periods[m]):.4g}: too many to search")
        steps = torch.arange(-n, n + 1, dtype=self.dtype, device=self.device)
        grid = torch.cartesian_prod(steps, steps)
        return grid[(grid @ basis.T).norm(dim=-1) <= radius + float(self.periods[m])]

    def _refine(self, mu, kappa, candidates, m, prior, block, iterations: int = 3):
        """Each candidate ``(B, C, 2)`` replaced by 1 + n: itself and the images of module m's
        phases around it (``block``: n lattice steps from the nearest image, (n, 2)), each
        polished by Gauss-Newton steps on module m's wrapped residuals under a Gaussian prior
        centred on the candidate with information ``prior`` (the coarser modules'), so that a
        module that is barely known barely moves it. Returns ``(B, C (1 + n), 2)`` and the
        information with this module's added.

        The images are exact for the module's first two waves (the third follows when the phases
        are consistent); starting the polish there, not at the candidate, matters: far from an
        image the three residuals wrap inconsistently and Gauss-Newton stalls between images.
        """
        part = slice(3 * m, 3 * m + 3)
        w, k, basis = self.wavevectors[part], kappa[:, part], self.lattices[m]
        info = prior + torch.einsum("bk,ki,kj->bij", k, w, w)
        exact = mu[:, part][:, :2] @ self._solvers[m].T  # (B, 2): w_1 . x = mu_1, w_2 . x = mu_2
        n = torch.round((candidates - exact[:, None]) @ self._steps_of[m].T)  # (B, C, 2) lattice steps
        images = exact[:, None, None] + (n[:, :, None] + block[None, None]) @ basis.T  # (B, C, n, 2)
        start = torch.cat([candidates[:, :, None], images], dim=2)  # (B, C, 1 + n, 2)
        centre = candidates[:, :, None].expand_as(start)
        inverse = _inverse_2x2(info)
        x = start
        for _ in range(iterations):
            residual = wrap(mu[:, None, None, part] - x @ w.T)
            gradient = (k[:, None, None] * residual) @ w - (x - centre) @ prior.transpose(-1, -2)[:, None]
            x = x + (gradient[..., None, :] @ inverse.transpose(-1, -2)[:, None, None])[..., 0, :]
        return x.reshape(x.shape[0], -1, 2), info


@dataclass(frozen=True)
class Neighbourhood:
    """Some entries of a :class:`PhaseMemory` per world ``(B, k)``: the ones near a place."""

    index: torch.Tensor
    valid: torch.Tensor
    position: torch.Tensor  # (B, k, 2)
    senses: torch.Tensor  # (B, k, D)
    sense_norm: torch.Tensor

    def distance(self, position: torch.Tensor) -> torch.Tensor:
        """From ``position`` ``(B, 2)`` to each entry ``(B, k)``; inf for empty slots."""
        d = (self.position - position[:, None].to(self.position.dtype)).norm(dim=-1)
        return torch.where(self.valid, d, torch.full_like(d, torch.inf))


class PhaseMemory(RingMemory):
    """What was sensed where, keyed by phase codes, batched over worlds, bounded (a ring buffer per world).

    Each entry holds the phases and the position variance of the belief it was written under, the
    position they decoded to, and the sensation. ``sample`` answers "where, near here, did I
    sense this before?" with the entries' phases; ``read`` is what the memory expects to sense at
    a position (a Gaussian-weighted mean of the sensations stored near it).
    """

    _cleared = ("phases", "variance", "position", "senses")

    def __init__(self, code_size: int, sensory_dim: int, batch_size: int = 1, max_size: int = 1000,
                 neighbours: int = 24, dtype=torch.float64, device=None):
        super().__init__()
        check_positive_int("neighbours", neighbours)
        self.neighbours = neighbours
        for name, value in (("code_size", code_size), ("sensory_dim", sensory_dim), ("batch_size", batch_size),
                            ("max_size", max_size)):
            check_positive_int(name, value)
        self.code_size, self.sensory_dim, self.batch_size, self.max_size = code_size, sensory_dim, batch_size, max_size
        b, m = batch_size, max_size
        self.register_buffer("phases", torch.zeros(b, m, code_size, dtype=dtype, device=device))
        self.register_buffer("variance", torch.zeros(b, m, dtype=dtype, device=device))
        self.register_buffer("position", torch.zeros(b, m, 2, dtype=dtype, device=device))
        self.register_buffer("senses", torch.zeros(b, m, sensory_dim, dtype=torch.float32, device=device))
        self.register_buffer("sense_norm", torch.ones(b, m, dtype=torch.float32, device=device))
        self.register_buffer("written", torch.zeros(b, dtype=torch.long, device=device))

    def write(self, mu, variance, position, senses, mask=None) -> None:
        b = self.batch_size
        if senses.shape != (b, self.sensory_dim):
            raise CogmapError(f"senses must have shape ({b}, {self.sensory_dim}), got {tuple(senses.shape)}")
        keep, rows, slot = self._slots(mask)
        self.phases[rows, slot] = mu[keep].to(self.phases.dtype)
        self.variance[rows, slot] = variance[keep].to(self.variance.dtype)
        self.position[rows, slot] = position[keep].to(self.position.dtype)
        self.senses[rows, slot] = senses[keep].detach().to(self.senses.dtype)
        self.sense_norm[rows, slot] = self.senses[rows, slot].norm(dim=-1).clamp_min(1e-12)

    def nearby(self, position: torch.Tensor) -> Neighbourhood:
        """The ``neighbours`` entries nearest ``position`` ``(B, 2)``, with their sensations, for
        :meth:`read` and :meth:`sample` (which may then be asked about places near ``position``).

        Only they are read: reading the 1,024-d sensations of all 1,000 entries of every world
        each step would cost most of a step, and an entry far away weighs nothing."""
        distance = (self.position - position[:, None].to(self.position.dtype)).norm(dim=-1)
        distance = torch.where(self._valid(), distance, torch.full_like(distance, torch.inf))
        distance, index = distance.topk(min(self.neighbours, self.max_size), dim=-1, largest=False)
        rows = torch.arange(index.shape[0], device=index.device)[:, None]
        return Neighbourhood(index, torch.isfinite(distance), self.position[rows, index], self.senses[rows, index],
                             self.sense_norm[rows, index])

    def read(self, position: torch.Tensor, sigma: float, near: Neighbourhood | None = None) -> torch.Tensor:
        """Expected sensation ``(B, D)`` at ``position`` ``(B, 2)``: the Gaussian-weighted (``sigma``) mean
        of the sensations stored nearest it (``near``, default those nearest ``position``); zeros
        where nothing is stored within a few sigma."""
        near = self.nearby(position) if near is None else near
        distance = near.distance(position)
        weights = torch.exp(-distance.square() / (2 * sigma**2))
        total = weights.sum(-1, keepdim=True)
        weights = torch.where(total > 1e-12, weights / total.clamp_min(1e-300), torch.zeros_like(weights))
        return torch.bmm(weights[:, None].to(self.senses.dtype), near.senses)[:, 0]

    def sample(self, senses: torch.Tensor, position: torch.Tensor, radius: torch.Tensor | float,
               threshold: float = 0.9, num_samples: int = 25, sharpness: float = 50.0,
               near: Neighbourhood | None = None):
        """Entries within ``radius`` of ``position`` (of those ``near``, default its ``neighbours``
        nearest) whose sensation matches ``senses`` (cosine >= threshold).

        Returns the weighted circular mean of their phases ``(B, K)``, the weighted mean of their
        position variances ``(B,)``, the sensation they predict ``(B, D)`` and whether any matched
        ``(B,)``. The ``num_samples`` best matches are weighted by ``softmax(sharpness * cosine)``.
        """
        near = self.nearby(position) if near is None else near
        query = F.normalize(senses.to(self.senses.dtype), dim=-1)
        cosine = torch.bmm(near.senses, query[:, :, None])[..., 0] / near.sense_norm  # (B, k)
        radius = torch.as_tensor(radius, dtype=self.position.dtype, device=self.position.device).reshape(-1, 1)
        candidate = (near.distance(position) <= radius) & (cosine >= threshold)
        score = torch.where(candidate, cosine, torch.full_like(cosine, -torch.inf))
        top, pick = score.topk(min(num_samples, score.shape[1]), dim=-1)
        found = torch.isfinite(top)
        weights = torch.softmax(torch.where(found, sharpness * top, torch.full_like(top, -1e30)), -1) * found
        rows = torch.arange(pick.shape[0], device=pick.device)[:, None]
        index = near.index[rows, pick]
        phases = self.phases[rows, index]
        weights64 = weights.to(self.phases.dtype)
        resultant = (weights64[..., None] * torch.polar(torch.ones_like(phases), phases)).sum(1)
        spread = torch.zeros_like(cosine).scatter(1, pick, weights)  # the weights over the k entries
        expected = torch.bmm(spread[:, None].to(self.senses.dtype), near.senses)[:, 0]
        return resultant.angle(), (weights64 * self.variance[rows, index]).sum(1), expected, found.any(-1)


class PhaseLocalizer(nn.Module):
    """Localization from odometry and sensations with a phase code, batched over worlds.

    Each step (the order of :class:`~cogmap.treeworld.tem.TEM2d`):

    1. predict: rotate the phases by the reported movement; widen them by the odometry noise
       the localizer assumes (``action_noise``, sd per axis);
    2. optionally correct from memory: the entries within ``search_radius`` (or three sds of the
       estimate, if more) of the estimate whose sensation matches the current one give a
       landmark phase per component, as certain as the entries were when written, widened by
       ``landmark_sigma`` (how far apart two places may be and still smell alike). It is mixed in
       per phase with the weight of a von Mises product, gated as in TEM2d: ``gate = 1 - a ** exponent``,
       ``a`` the cosine between the sensation the landmark predicts and the one the memory
       expects at the current estimate (no correction when the estimate already agrees);
    3. decode the position near the last estimate moved by the report;
    4. write (phases, position, sensation) to memory where the memory does not already predict the
       sensation at the estimate (cosine below ``novelty``; None: every step). Writing every step
       would, on a revisit, store the place again at the drifted estimate, and the next correction
       would be pulled halfway to that (the Tree World specification's "the error reinforces itself").

    The position variance after a correction is the smaller of the estimate's and the
    landmark's (whether the gate moved the estimate or found it already in agreement), not their
    harmonic sum: the memory was written by this same belief, so its evidence is not independent
    of it, and combining them as independent would make the localizer overconfident after a few
    revisits.

    Settings: ``code`` the phase code (default :class:`PhaseCode`: 10 modules, periods 25 to 566
    world units); ``action_noise`` the odometry noise it assumes (sd per axis per step, 0);
    ``initial_sigma`` how well it knows its start (0: exactly, at its own origin);
    ``memory_size`` entries per world (1,000, a ring buffer); ``landmark_sigma`` (15 world
    units: Tree World's smell changes over tens of units); ``search_radius`` (50) and
    ``match_threshold`` (cosine 0.98) select the landmarks; ``num_samples`` (25) and
    ``sharpness`` (50) weigh them; ``affinity_exponent`` (20; None: no gate); ``novelty``
    (0.98); ``beam`` (4) the decoder's. Defaults for Tree World's smell were chosen on seeds
    0-2 of the noisy-circle experiment (RESULTS.md).
    """

    def __init__(self, sensory_dim: int = 1024, batch_size: int = 1, code: PhaseCode | None = None,
                 action_noise: float = 0.0, use_memory_to_localize: bool = True, memory_size: int = 1000,
                 landmark_sigma: float = 15.0, search_radius: float = 50.0, match_threshold: float = 0.98,
                 num_samples: int = 25, sharpness: float = 50.0, affinity_exponent: float | None = 20.0,
                 initial_sigma: float = 0.0, beam: int = 4, novelty: float | None = 0.98,
                 keep_memory: bool | None = None, device=None):
        super().__init__()
        check_positive_int("batch_size", batch_size)
        check_positive_int("num_samples", num_samples)
        check_positive_int("beam", beam)
        for name, value in (("landmark_sigma", landmark_sigma), ("search_radius", search_radius),
                            ("sharpness", sharpness)):
            check_positive(name, value)
        for name, value in (("action_noise", action_noise), ("initial_sigma", initial_sigma)):
            if not (math.isfinite(value) and value >= 0):
                raise CogmapError(f"{name} must be a finite number >= 0, got {value!r}")
        if not -1 <= match_threshold <= 1:
            raise CogmapError(f"match_threshold must be in [-1, 1], got {match_threshold!r}")
        if novelty is not None and not -1 <= novelty <= 1:
            raise CogmapError(f"novelty must be in [-1, 1] or None, got {novelty!r}")
        if affinity_exponent is not None and not (math.isfinite(affinity_exponent) and affinity_exponent > 0):
            raise CogmapError(f"affinity_exponent must be a positive number or None, got {affinity_exponent!r}")
        self.code = code if code is not None else PhaseCode(device=device)
        self.batch_size, self.action_noise = batch_size, float(action_noise)
        self.use_memory_to_localize, self.landmark_sigma = use_memory_to_localize, float(landmark_sigma)
        self.search_radius, self.match_threshold = float(search_radius), float(match_threshold)
        self.num_samples, self.sharpness, self.affinity_exponent = num_samples, float(sharpness), affinity_exponent
        self.initial_sigma, self.beam, self.novelty = float(initial_sigma), beam, novelty
        self.sensory_dim = sensory_dim
        # A localizer that never reads its memory (path integration, or one corrected by other means)
        # need not write one: a third of its step (keep_memory=True keeps it, e.g. to study it).
        keep = use_memory_to_localize if keep_memory is None else keep_memory
        if use_memory_to_localize and not keep:
            raise CogmapError("keep_memory=False leaves no memory to localize with; set use_memory_to_localize=False")
        self.memory = PhaseMemory(self.code.size, sensory_dim, batch_size, memory_size, dtype=self.code.dtype,
                                  device=self.code.device) if keep else None
        self.reset()

    @property
    def device(self) -> torch.device:
        return self.code.device

    def reset(self) -> None:
        """Back to the start: at the origin (of the agent's own frame), known to ``initial_sigma``."""
        if self.memory is not None:
            self.memory.reset()
        b, k = self.batch_size, self.code.size
        self.mu = torch.zeros(b, k, dtype=self.code.dtype, device=self.device)
        self.variance = torch.full((b,), self.initial_sigma**2, dtype=self.code.dtype, device=self.device)
        self.estimate = torch.zeros(b, 2, dtype=self.code.dtype, device=self.device)
        self.surprise = torch.zeros(b, dtype=torch.float32, device=self.device)

    @property
    def kappa(self) -> torch.Tensor:
        """The phases' concentrations ``(B, K)``."""
        return self.code.concentrations(self.variance)

    @property
    def sd(self) -> torch.Tensor:
        """The position's sd per axis ``(B,)``, world units."""
        return self.variance.sqrt()

    def fix(self, position: torch.Tensor, variance: float | torch.Tensor = 0.0,
            mask: torch.Tensor | None = None) -> torch.Tensor:
        """Fuse a position fix ``(B, 2)`` of ``variance`` per axis into the belief, where ``mask`` ``(B,)``.

        A fix is where a landmark recognised for certain says the agent is (a remembered tree
        minus its sensed offset). Both are Gaussian in position, so the fused estimate is the
        variance-weighted mean and its variance the harmonic sum (unlike the smell memory's
        landmarks, a fix is evidence independent of the odometry); the phases are set to that
        position's exactly, since the code moves without blur. ``variance`` 0 snaps to the fix.
        Returns the new estimates ``(B, 2)``.
        """
        b = self.batch_size
        position = torch.as_tensor(position).to(dtype=self.code.dtype, device=self.device)
        if position.shape != (b, 2) or not bool(torch.isfinite(position).all()):
            raise CogmapError(f"a fix takes finite positions ({b}, 2), got {tuple(position.shape)}")
        variance = torch.as_tensor(variance, dtype=self.code.dtype, device=self.device).expand(b)
        if not bool(((variance >= 0) & torch.isfinite(variance)).all()):
            raise CogmapError("a fix's variance must be finite and >= 0")
        mask = torch.ones(b, dtype=torch.bool, device=self.device) if mask is None else mask.to(self.device)
        total = self.variance + variance
        gain = torch.where(total > 0, self.variance / total.clamp_min(1e-300), torch.ones_like(total))
        fused = self.estimate + gain[:, None] * (position - self.estimate)
        self.estimate = torch.where(mask[:, None], fused, self.estimate)
        self.mu = torch.where(mask[:, None], self.code.phases(self.estimate), self.mu)
        self.variance = torch.where(mask, (1 - gain) * self.variance, self.variance)
        return self.estimate

    def forward(self, action: torch.Tensor, senses: torch.Tensor, action_noise: float | torch.Tensor | None = None):
        """One step: ``action`` ``(B, 2)`` the movement reported since the last step, ``senses`` ``(B, D)``.

        Returns the decoded estimate ``(B, 2)``, its sd per axis ``(B,)`` and the correction weight
        ``(B,)`` (0 where the memory was not used). ``surprise`` then holds (0 without a memory), per world, the mean
        squared difference between the sensation and what the memory expects at the estimate.
        ``action_noise`` overrides the assumed odometry noise.
        """
        b = self.batch_size
        action = torch.as_tensor(action).to(dtype=self.code.dtype, device=self.device)
        senses = torch.as_tensor(senses).to(device=self.device)
        if action.numel() != 2 * b or senses.shape != (b, self.sensory_dim):
            raise CogmapError(f"a step takes movements ({b}, 2) and sensations ({b}, {self.sensory_dim}), "
                              f"got {tuple(action.shape)} and {tuple(senses.shape)}")
        action = action.reshape(b, 2)
        if not bool(torch.isfinite(action).all()):
            raise CogmapError("the reported movement holds NaN or infinite values")
        self.mu = wrap(self.mu + action @ self.code.wavevectors.T)
        noise = torch.as_tensor(self.action_noise if action_noise is None else action_noise, dtype=self.code.dtype,
                                device=self.device)
        self.variance = self.variance + noise**2
        kappa = self.kappa
        estimate = self.code.decode(self.mu, kappa, self.estimate + action, beam=self.beam).mean
        gate = torch.zeros(b, dtype=self.code.dtype, device=self.device)
        if self.memory is None:  # nothing reads a memory: path integration alone
            self.estimate = estimate
            return self.estimate, self.sd, gate
        near = self.memory.nearby(estimate)  # one read of the memory per step, for all below
        if self.use_memory_to_localize and bool((self.memory.size > 0).any()):
            radius = torch.maximum(torch.full_like(self.variance, self.search_radius), 3 * self.sd)
            landmark, stored_variance, expected, found = self.memory.sample(
                senses, estimate, radius, self.match_threshold, self.num_samples, self.sharpness, near)
            if bool(found.any()):
                here = self.memory.read(estimate, self.landmark_sigma, near)
                affinity = F.cosine_similarity(expected, here, dim=-1).clamp(0, 1).to(self.code.dtype)
                gate = found.to(self.code.dtype) * (1.0 if self.affinity_exponent is None
                                                     else 1 - affinity**self.affinity_exponent)
                landmark_variance = stored_variance + self.landmark_sigma**2
                weight = gate[:, None] * self.code.concentrations(landmark_variance)
                z = kappa * torch.polar(torch.ones_like(self.mu), self.mu) \
                    + weight * torch.polar(torch.ones_like(landmark), landmark)
                self.mu = torch.where(weight > 0, z.angle(), self.mu)
                # A matching landmark makes the estimate as certain as the landmark, gate or not:
                # a gate near 0 means the estimate already agrees with it.
                self.variance = torch.where(found, torch.minimum(self.variance, landmark_variance), self.variance)
                estimate = self.code.decode(self.mu, self.kappa, estimate, beam=self.beam).mean
        self.estimate = estimate
        here = self.memory.read(self.estimate, self.landmark_sigma, near).float()
        # TEM2d's loss: how far the sensation is from what the memory expects here.
        self.surprise = (senses.float() - here).square().mean(-1)
        novel = None if self.novelty is None else F.cosine_similarity(here, senses.float(), dim=-1) < self.novelty
        self.memory.write(self.mu, self.variance, self.estimate, senses, mask=novel)
        return self.estimate, self.sd, gate
