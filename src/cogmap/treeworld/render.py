"""A fast top-down picture of one world as an RGB array (numpy only, no figure machinery).

Used by the Gymnasium environment's ``render_mode="rgb_array"``; publication figures and
animations are in :mod:`cogmap.viz.treeworld`. The view is centred on the agent and spans
``3 * max_sense_distance`` on each side: edible trees green, poisonous trees red (pale when
they hold no fruit), the eating reach as each tree's disk, the sensing range as a grey ring,
the agent blue with a line along its heading.
"""

from __future__ import annotations

import numpy as np

EDIBLE, POISON, EMPTY_EDIBLE, EMPTY_POISON = (40, 160, 60), (210, 40, 40), (170, 220, 175), (240, 180, 180)
AGENT, RANGE, BACKGROUND = (30, 70, 200), (200, 200, 200), (250, 250, 245)


def render_rgb(world, index: int = 0, size: int = 256) -> np.ndarray:
    """``(size, size, 3)`` uint8 image of world ``index`` of a :class:`BatchedTreeWorld`."""
    c = world.config
    half = 3 * c.max_sense_distance
    centre = world.location[index].detach().cpu().double().numpy()
    scale = size / (2 * half)  # pixels per world unit
    ys, xs = np.mgrid[0:size, 0:size]
    # Pixel (row, col) -> world (x, y), with y growing upwards.
    wx = centre[0] + (xs + 0.5) / scale - half
    wy = centre[1] + half - (ys + 0.5) / scale
    image = np.empty((size, size, 3), np.uint8)
    image[:] = BACKGROUND
    ring = np.abs(np.hypot(wx - centre[0], wy - centre[1]) - c.max_sense_distance) < 1.0 / scale
    image[ring] = RANGE
    trees = world.layout.location[index].detach().cpu().double().numpy()
    poisonous = world.layout.poisonous[index].cpu().numpy()
    fruit = world.fruit[index].cpu().numpy()
    for (tx, ty), bad, left in zip(trees, poisonous, fruit):
        if abs(tx - centre[0]) > half + c.eat_distance or abs(ty - centre[1]) > half + c.eat_distance:
            continue
        colour = (POISON if left else EMPTY_POISON) if bad else (EDIBLE if left else EMPTY_EDIBLE)
        image[np.hypot(wx - tx, wy - ty) <= max(c.eat_distance, 2.5 / scale)] = colour
    image[np.hypot(wx - centre[0], wy - centre[1]) <= max(c.eat_distance / 2, 3 / scale)] = AGENT
    heading = world.heading[index].detach().cpu().double().numpy()
    for t in np.linspace(0, c.max_sense_distance / 3, 60):
        px, py = centre + heading * t
        col, row = int((px - centre[0] + half) * scale), int((centre[1] + half - py) * scale)
        if 0 <= row < size and 0 <= col < size:
            image[max(row - 1, 0):row + 1, max(col - 1, 0):col + 1] = AGENT
    return image
