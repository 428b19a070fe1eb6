"""A memory of (location belief, sensation) pairs, keyed by belief maps, batched over worlds.

``write`` stores a belief map with what was sensed there; ``read(belief)`` is what the memory
expects to sense under a belief (attention weights = overlap of the belief with each stored
key, normalised); ``sample(sense, reference_location=belief)`` answers "where have I sensed
this before, near where I think I am?" as a belief map.

Keys are compressed to their ``key_cells`` most probable cells (renormalised): a belief that
has tracked the agent for a while is concentrated on a few cells, and full 101 x 101 keys for
1,000 memories of 64 worlds would be 2.6 GB. The memory is bounded: it holds at most
``max_size`` entries per world and, when full, a write replaces the oldest entry (a ring
buffer), so it never grows however long the run.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from cogmap.errors import CogmapError, check_positive, check_positive_int
from cogmap.treeworld.kernels import gaussian_kernel_1d


class RingMemory(nn.Module):
    """What every bounded, batched memory shares: ``max_size`` slots per world, a write counter
    per world, the oldest entry overwritten once full. Subclasses register their buffers and
    name the ones :meth:`reset` zeroes in ``_cleared`` (``sense_norm`` is reset to 1)."""

    _cleared: tuple[str, ...] = ()

    def reset(self) -> None:
        """Forget everything (on the memory's current device and dtype)."""
        for name in (*self._cleared, "written"):
            getattr(self, name).zero_()
        self.sense_norm.fill_(1.0)

    @property
    def size(self) -> torch.Tensor:
        """Entries held per world ``(B,)``."""
        return self.written.clamp(max=self.max_size)

    def _valid(self) -> torch.Tensor:
        return torch.arange(self.max_size, device=self.written.device)[None] < self.size[:, None]

    def _slots(self, mask: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The worlds that write (``mask``, default all), their rows and the slots they write to;
        counts the writes."""
        keep = torch.ones(self.batch_size, dtype=torch.bool, device=self.written.device) if mask is None else mask
        rows = torch.arange(self.batch_size, device=self.written.device)[keep]
        slot = (self.written % self.max_size)[keep]
        self.written = self.written + keep.long()
        return keep, rows, slot


class LocationBeliefMemory(RingMemory):
    """The memory's contents are buffers: ``.to(device)`` or ``.double()`` moves them with the module."""

    def __init__(self, grid_size: int, sensory_dim: int, batch_size: int = 1, max_size: int = 1000,
                 key_cells: int = 49, device=None, dtype=torch.float32):
        super().__init__()
        for name, value in (("grid_size", grid_size), ("sensory_dim", sensory_dim), ("batch_size", batch_size),
                            ("max_size", max_size), ("key_cells", key_cells)):
            check_positive_int(name, value)
        if key_cells > grid_size**2:
            raise CogmapError(f"key_cells ({key_cells}) cannot exceed the grid's {grid_size**2} cells")
        self.grid_size, self.sensory_dim, self.batch_size = grid_size, sensory_dim, batch_size
        self.max_size, self.key_cells = max_size, key_cells
        b, m, k = batch_size, max_size, key_cells
        self.register_buffer("key_index", torch.zeros(b, m, k, dtype=torch.long, device=device))
        self.register_buffer("key_value", torch.zeros(b, m, k, dtype=dtype, device=device))
        self.register_buffer("senses", torch.zeros(b, m, sensory_dim, dtype=dtype, device=device))
        self.register_buffer("sense_norm", torch.ones(b, m, dtype=dtype, device=device))  # spares renormalising all
        self.register_buffer("written", torch.zeros(b, dtype=torch.long, device=device))  # writes so far, per world

    @property
    def device(self) -> torch.device:
        return self.senses.device

    @property
    def dtype(self) -> torch.dtype:
        return self.senses.dtype

    _cleared = ("key_index", "key_value", "senses")

    def _check(self, beliefs: torch.Tensor) -> torch.Tensor:
        s, b = self.grid_size, self.batch_size
        if beliefs.shape != (b, s, s):
            raise CogmapError(f"beliefs must have shape ({b}, {s}, {s}), got {tuple(beliefs.shape)}")
        return beliefs.reshape(b, s * s)

    def write(self, beliefs: torch.Tensor, senses: torch.Tensor, mask: torch.Tensor | None = None) -> None:
        """Store each world's belief ``(B, S, S)`` with its sensation ``(B, D)`` (only where ``mask``)."""
        flat = self._check(beliefs).detach()
        if senses.shape != (self.batch_size, self.sensory_dim):
            raise CogmapError(f"senses must have shape ({self.batch_size}, {self.sensory_dim}), got {tuple(senses.shape)}")
        value, index = flat.topk(self.key_cells, dim=-1)
        value = value / value.sum(-1, keepdim=True).clamp_min(1e-30)
        keep, rows, slot = self._slots(mask)
        self.key_index[rows, slot] = index[keep]
        self.key_value[rows, slot] = value[keep].to(self.dtype)
        self.senses[rows, slot] = senses.detach()[keep].to(self.dtype)
        self.sense_norm[rows, slot] = self.senses[rows, slot].norm(dim=-1).clamp_min(1e-12)

    def overlap(self, beliefs: torch.Tensor) -> torch.Tensor:
        """Overlap ``sum_cells belief * key`` of each world's belief with each stored key: ``(B, M)``, 0 for empty slots."""
        flat = self._check(beliefs)
        b, m, k = self.key_index.shape
        gathered = flat.gather(1, self.key_index.reshape(b, m * k)).reshape(b, m, k)
        return (gathered * self.key_value).sum(-1) * self._valid()

    def read(self, beliefs: torch.Tensor) -> torch.Tensor:
        """Expected sensation ``(B, D)`` under each belief; zeros where the belief overlaps no stored key."""
        weights = self.overlap(beliefs)
        total = weights.sum(-1, keepdim=True)
        weights = torch.where(total > 1e-12, weights / total.clamp_min(1e-30), torch.zeros_like(weights))
        return torch.bmm(weights[:, None, :], self.senses)[:, 0]

    def _keys_as_maps(self, weights: torch.Tensor) -> torch.Tensor:
        """``sum_m weights[b, m] * key_m`` as maps ``(B, S, S)``."""
        b, m, k = self.key_index.shape
        maps = torch.zeros(b, self.grid_size**2, dtype=self.dtype, device=weights.device)
        maps.scatter_add_(1, self.key_index.reshape(b, m * k), (weights[..., None] * self.key_value).reshape(b, m * k))
        return maps.reshape(b, self.grid_size, self.grid_size)

    def sample(self, senses: torch.Tensor, reference_location: torch.Tensor | None = None, threshold: float = 0.01,
               num_samples: int = 25, aggregate: bool = True, search_sigma: float = 5.0,
               sharpness: float = 50.0) -> torch.Tensor:
        """Where has each world sensed ``senses`` ``(B, D)`` before? A belief map ``(B, S, S)``.

        Candidates are stored entries whose key overlaps the ``reference_location`` belief, widened
        by a Gaussian of ``search_sigma`` cells and scaled to a peak of 1, by more than
        ``threshold`` (0.01: within about three search widths; all entries without a reference).
        The ``num_samples`` candidates whose sensation is most similar (cosine) are weighted by
        ``softmax(sharpness * cosine)`` and their keys summed into one map (``aggregate``) or
        returned one by one ``(B, n, S, S)``. Worlds with no candidate get all-zero maps.
        """
        check_positive_int("num_samples", num_samples)
        check_positive("sharpness", sharpness)
        query = F.normalize(senses.to(self.dtype), dim=-1)
        cosine = torch.bmm(self.senses, query[:, :, None])[..., 0] / self.sense_norm  # (B, M)
        candidate = self._valid()
        if reference_location is not None:
            g = gaussian_kernel_1d(search_sigma, dtype=reference_location.dtype, device=reference_location.device)
            pad = g.numel() // 2
            widened = F.conv2d(F.conv2d(reference_location[:, None], g[None, None, None, :], padding=(0, pad)),
                               g[None, None, :, None], padding=(pad, 0))[:, 0]
            # Scaled to a peak of 1, so that the overlap reads "how near, in search widths" (a key on
            # the peak cell scores 1) whatever the reference's sharpness.
            widened = widened / widened.amax(dim=(-2, -1), keepdim=True).clamp_min(1e-30)
            candidate = candidate & (self.overlap(widened) > threshold)
        n = min(num_samples, self.max_size)
        score = torch.where(candidate, cosine, torch.full_like(cosine, -float("inf")))
        top, index = score.topk(n, dim=-1)
        found = torch.isfinite(top)
        weights = torch.where(found, torch.softmax(torch.where(found, sharpness * top, torch.full_like(top, -1e30)), -1),
                              torch.zeros_like(top))
        if aggregate:
            full = torch.zeros_like(cosine).scatter(1, index, weights)
            return self._keys_as_maps(full)
        maps = []
        for j in range(n):
            one = torch.zeros_like(cosine).scatter(1, index[:, j:j + 1], found[:, j:j + 1].to(cosine.dtype))
            maps.append(self._keys_as_maps(one))
        return torch.stack(maps, dim=1)
