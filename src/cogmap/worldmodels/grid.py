"""C-SWM's block-pushing world (Kipf, van der Pol & Welling 2020): objects on a grid, pushed one cell at a time.

``objects`` objects stand on distinct cells of a ``width`` x ``width`` grid. Action ``a`` pushes
object ``a // 4`` one cell up, right, down or left (``a % 4``, in the image's frame: up is toward
row 0); a push off the grid or onto another object leaves the world as it was. Park et al. 2022
(symmetric embedding networks) test generalisation to unseen actions on it: trained on pushes
"up" only (2-D shapes) or "up, right, down" (3-D blocks), evaluated on all four after 10 steps.

The world's symmetry is the group C4 of the grid's quarter turns: turning a state by ``k``
quarter turns counter-clockwise (:func:`rotate`) and relabelling the pushes (:func:`relabel_actions`:
up becomes left, right becomes up, ...) maps trajectories onto trajectories. :func:`render_shapes`
draws C-SWM's "2-D shapes" (a 10-pixel cell per grid cell; object ``i`` a circle, triangle or
square as ``i % 3`` is 0, 1 or 2, each object its own colour): circles and squares look the same
turned, so an image of them turned is the image of the turned state; a triangle does not.

States are integer tensors ``(N, objects, 2)`` of (row, column); everything is batched.
"""

from __future__ import annotations

import colorsys

import torch

from cogmap.errors import CogmapError, check_positive_int

DIRECTIONS = ("up", "right", "down", "left")
OFFSETS = torch.tensor([[-1, 0], [0, 1], [1, 0], [0, -1]])  # (row, column) per direction
CELL = 10  # pixels per grid cell (C-SWM's)
SHAPES = ("circle", "triangle", "square")


def action_names(objects: int) -> tuple[str, ...]:
    """``"<object> <direction>"`` for every action, in order (object-major)."""
    return tuple(f"{i} {d}" for i in range(objects) for d in DIRECTIONS)


def random_states(n: int, width: int = 5, objects: int = 5, generator: torch.Generator | None = None) -> torch.Tensor:
    """``n`` states ``(n, objects, 2)``: the objects on distinct cells, uniformly (seeded by ``generator``)."""
    check_positive_int("n", n)
    check_positive_int("width", width, 2)
    check_positive_int("objects", objects)
    if objects > width * width:
        raise CogmapError(f"{objects} objects cannot stand on distinct cells of a {width} x {width} grid")
    cells = torch.rand(n, width * width, generator=generator).argsort(dim=1)[:, :objects]
    return torch.stack([cells // width, cells % width], dim=-1)


def step(states: torch.Tensor, actions: torch.Tensor, width: int = 5) -> torch.Tensor:
    """The states after ``actions`` ``(N,)``: the pushed object moves one cell unless that leaves the grid or hits another."""
    n, objects, _ = states.shape
    actions = torch.as_tensor(actions, device=states.device).long()
    if actions.shape != (n,) or bool(((actions < 0) | (actions >= 4 * objects)).any()):
        raise CogmapError(f"actions must be {n} integers in 0..{4 * objects - 1}")
    rows = torch.arange(n, device=states.device)
    moved, direction = actions // 4, actions % 4
    target = states[rows, moved] + OFFSETS.to(states.device)[direction]
    inside = ((target >= 0) & (target < width)).all(-1)
    occupied = (states == target[:, None, :]).all(-1).any(-1)  # the moved object's own cell is not its target
    allowed = inside & ~occupied
    out = states.clone()
    out[rows[allowed], moved[allowed]] = target[allowed]
    return out


def rotate(states: torch.Tensor, k: int | torch.Tensor, width: int = 5) -> torch.Tensor:
    """States turned by ``k`` quarter turns counter-clockwise (as ``torch.rot90`` turns an image): cell ``(r, c)``
    goes to ``(width - 1 - c, r)`` per turn. ``k`` is one number or one per state ``(N,)``."""
    k = torch.as_tensor(k, device=states.device).long().remainder(4).expand(states.shape[0])
    out = states.clone()
    for _ in range(3):  # each state turned once more while its count is not reached
        turn = k > 0
        r, c = out[turn, :, 0], out[turn, :, 1]
        out[turn] = torch.stack([width - 1 - c, r], dim=-1)
        k = k - turn.long()
    return out


def relabel_actions(actions: torch.Tensor, k: int | torch.Tensor) -> torch.Tensor:
    """The pushes that do in a turned world what ``actions`` do in the world: a quarter turn counter-clockwise makes
    up left, right up, down right and left down (direction ``d`` -> ``d - k``, modulo 4), objects unchanged."""
    actions = torch.as_tensor(actions).long()
    k = torch.as_tensor(k, device=actions.device).long()
    if k.dim() == 1:
        k = k.reshape(-1, *([1] * (actions.dim() - 1)))
    return actions // 4 * 4 + (actions % 4 - k).remainder(4)


def colours(objects: int) -> torch.Tensor:
    """One saturated colour per object, hues evenly around the circle (at least 9 of them, as C-SWM's palette)."""
    count = max(9, objects)
    return torch.tensor([colorsys.hsv_to_rgb(i / count, 1.0, 1.0) for i in range(objects)], dtype=torch.float32)


def shape_masks() -> torch.Tensor:
    """The three shapes within one cell, ``(3, CELL, CELL)`` booleans: a disc of radius 5 about the cell's centre
    (pixel centres within it; symmetric under quarter turns), a triangle with its apex up, the full square."""
    centre = (torch.arange(CELL, dtype=torch.float64) + 0.5) - CELL / 2
    disc = centre[:, None] ** 2 + centre[None, :] ** 2 < (CELL / 2) ** 2
    rows = torch.arange(CELL, dtype=torch.float64)[:, None] + 0.5
    cols = centre[None, :].abs()
    triangle = cols <= rows / 2  # apex at the top centre, base along the bottom
    square = torch.ones(CELL, CELL, dtype=torch.bool)
    return torch.stack([disc, triangle, square])


def render_shapes(states: torch.Tensor, width: int = 5) -> torch.Tensor:
    """C-SWM's 2-D shapes: images ``(N, 3, width x 10, width x 10)`` in [0, 1], black background."""
    n, objects, _ = states.shape
    size = width * CELL
    masks = shape_masks()[torch.arange(objects) % 3].to(states.device)  # (K, CELL, CELL)
    palette = colours(objects).to(states.device)
    images = torch.zeros(n, 3, size, size, device=states.device)
    offset = torch.arange(CELL, device=states.device)
    for i in range(objects):  # few objects; every state at once
        rows = (states[:, i, 0, None] * CELL + offset)[:, :, None].expand(n, CELL, CELL)
        cols = (states[:, i, 1, None] * CELL + offset)[:, None, :].expand(n, CELL, CELL)
        batch = torch.arange(n, device=states.device)[:, None, None].expand(n, CELL, CELL)
        keep = masks[i].expand(n, CELL, CELL)
        for channel in range(3):
            images[batch[keep], channel, rows[keep], cols[keep]] = palette[i, channel]
    return images
