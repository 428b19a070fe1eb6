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


# The 3-D blocks: each object a unit cube standing on its cell, seen from above and in front by a parallel
# (oblique) projection with whole-pixel steps, so that a cube moved one cell is the same picture moved by a
# whole number of pixels. A point (x = column, y = row, z = height) in cell units lands on the image at
# column U0 + UX x + UY y and row V0 + VY y - VZ z; C-SWM draws its cubes with matplotlib's perspective voxels
# instead, far too slow to render on the fly.
UX, UY, VY, VZ = 7, 2, 6, 7
U0, V0 = 2, 12
SHADES = (1.0, 0.75, 0.5)  # top, front, left face: the light from above and in front


def _toward_viewer() -> torch.Tensor:
    """The direction (x, y, z) toward the viewer: the one the projection flattens, with a positive height."""
    dz = 1.0
    dy = VZ / VY * dz
    return torch.tensor([-UY / UX * dy, dy, dz], dtype=torch.float64)


def _cube_sprite(size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The faces of the cube on cell (0, 0) on a ``size`` x ``size`` image: which face covers each pixel
    (0 none, 1 top, 2 front, 3 left) ``(size, size)``, the faces nearest first where they overlap."""
    def project(x, y, z):
        return U0 + UX * x + UY * y, V0 + VY * y - VZ * z

    faces = {  # corners (u, v) in order around each visible face
        1: [project(0, 0, 1), project(1, 0, 1), project(1, 1, 1), project(0, 1, 1)],  # top, z = 1
        2: [project(0, 1, 0), project(1, 1, 0), project(1, 1, 1), project(0, 1, 1)],  # front, y = 1
        3: [project(0, 0, 0), project(0, 1, 0), project(0, 1, 1), project(0, 0, 1)],  # left, x = 0
    }
    centre = torch.arange(size, dtype=torch.float64) + 0.5
    v, u = torch.meshgrid(centre, centre, indexing="ij")
    which = torch.zeros(size, size, dtype=torch.long)
    for face, corners in faces.items():  # a convex polygon: inside every edge's half-plane (either winding)
        sides = []
        for (u1, v1), (u2, v2) in zip(corners, corners[1:] + corners[:1]):
            sides.append((u2 - u1) * (v - v1) - (v2 - v1) * (u - u1))
        sides = torch.stack(sides)
        inside = (sides >= 0).all(0) | (sides <= 0).all(0)
        which[inside & (which == 0)] = face
    return which, torch.tensor([0.0, *SHADES])


def render_cubes(states: torch.Tensor, width: int = 5) -> torch.Tensor:
    """The 3-D blocks: images ``(N, 3, width x 10, width x 10)`` in [0, 1] of unit cubes on their cells, each object
    its own colour (:func:`colours`), faces shaded, a nearer cube hiding a farther one, black background."""
    if width != 5:
        raise CogmapError(f"the 3-D blocks are drawn for C-SWM's 5 x 5 grid, got width {width}")
    if len(states) > 2048:  # in chunks: a depth buffer per image
        return torch.cat([render_cubes(chunk, width) for chunk in states.split(2048)])
    n, objects, _ = states.shape
    size = width * CELL
    which, shade = _cube_sprite(size)
    toward = _toward_viewer()
    palette = colours(objects)
    depth = torch.full((n, size, size), float("inf"))
    images = torch.zeros(n, 3, size, size)
    for i in range(objects):  # few objects; every state at once, a depth test instead of a drawing order
        rows, cols = states[:, i, 0].cpu(), states[:, i, 1].cpu()
        # the cell-(0, 0) sprite moved by whole pixels: pixel (v, u) shows the sprite's (v - VY r, u - UX c - UY r)
        v = torch.arange(size)[None, :, None] - VY * rows[:, None, None]
        u = torch.arange(size)[None, None, :] - (UX * cols + UY * rows)[:, None, None]
        inside = (v >= 0) & (u >= 0)  # the shifts are never negative: only the lower bounds can be crossed
        shifted = which[v.clamp(min=0), u.clamp(min=0)] * inside  # (N, S, S)
        centre = torch.stack([cols.double() + 0.5, rows.double() + 0.5, torch.full((n,), 0.5, dtype=torch.float64)], 1)
        nearness = (-(centre @ toward)).float()  # smaller is nearer the viewer
        covered = shifted > 0
        nearer = covered & (nearness[:, None, None] < depth)
        depth = torch.where(nearer, nearness[:, None, None].expand_as(depth), depth)
        colour = palette[i][None, :, None, None] * shade[shifted][:, None].float()
        images = torch.where(nearer[:, None], colour, images)
    return images.to(states.device)
