"""C-SWM's block-pushing world: its dynamics by hand, its images, and its quarter-turn symmetry."""

import pytest
import torch

from cogmap.errors import CogmapError
from cogmap.worldmodels.grid import (
    CELL,
    action_names,
    random_states,
    relabel_actions,
    render_shapes,
    rotate,
    shape_masks,
    step,
)


def state(*cells):
    return torch.tensor([list(cells)])


def test_pushes_move_one_cell_unless_the_grid_ends_or_another_object_is_there():
    s = state([2, 2], [1, 2], [4, 0])
    assert step(s, torch.tensor([0 * 4 + 1])).tolist() == [[[2, 3], [1, 2], [4, 0]]]  # object 0 right
    assert step(s, torch.tensor([0 * 4 + 0])).tolist() == s.tolist()  # object 0 up: object 1 is there
    assert step(s, torch.tensor([2 * 4 + 2])).tolist() == s.tolist()  # object 2 down: off the grid
    assert step(s, torch.tensor([2 * 4 + 0])).tolist() == [[[2, 2], [1, 2], [3, 0]]]  # object 2 up
    assert action_names(2) == ("0 up", "0 right", "0 down", "0 left", "1 up", "1 right", "1 down", "1 left")
    with pytest.raises(CogmapError, match="actions must be"):
        step(s, torch.tensor([12]))


def test_random_states_put_objects_on_distinct_cells_reproducibly():
    a = random_states(500, 5, 5, torch.Generator().manual_seed(0))
    b = random_states(500, 5, 5, torch.Generator().manual_seed(0))
    assert torch.equal(a, b) and a.shape == (500, 5, 2) and a.min() >= 0 and a.max() <= 4
    flat = a[..., 0] * 5 + a[..., 1]
    assert all(len(set(row.tolist())) == 5 for row in flat)
    with pytest.raises(CogmapError, match="distinct cells"):
        random_states(1, 2, 5)


def test_a_quarter_turn_moves_cells_as_rot90_moves_pixels_and_turns_the_pushes():
    s = state([0, 1], [3, 4])
    assert rotate(s, 1).tolist() == [[[3, 0], [0, 3]]]  # (r, c) -> (4 - c, r)
    assert torch.equal(rotate(s, 4), s) and torch.equal(rotate(rotate(s, 1), 3), s)
    # up -> left, right -> up, down -> right, left -> down
    assert relabel_actions(torch.tensor([0, 1, 2, 3, 5]), 1).tolist() == [3, 0, 1, 2, 4]
    # the dynamics commute with the symmetry: turn then push = push then turn, for every state, push and turn
    states = random_states(300, 5, 5, torch.Generator().manual_seed(1))
    actions = torch.randint(20, (300,), generator=torch.Generator().manual_seed(2))
    k = torch.randint(4, (300,), generator=torch.Generator().manual_seed(3))
    assert torch.equal(rotate(step(states, actions), k), step(rotate(states, k), relabel_actions(actions, k)))


def test_an_object_pushed_one_cell_moves_its_pixels_by_one_cell():
    s = state([2, 2], [0, 0], [4, 4])
    before = render_shapes(s)
    for direction, (dr, dc) in enumerate([(-1, 0), (0, 1), (1, 0), (0, -1)]):
        after = render_shapes(step(s, torch.tensor([direction])))  # object 0, a circle in the middle
        window = (slice(None), slice(None), slice(2 * CELL + dr * CELL, 3 * CELL + dr * CELL),
                  slice(2 * CELL + dc * CELL, 3 * CELL + dc * CELL))
        assert torch.equal(after[window], before[..., 2 * CELL:3 * CELL, 2 * CELL:3 * CELL])
        assert after[..., 2 * CELL:3 * CELL, 2 * CELL:3 * CELL].sum() == 0  # it left its cell empty
        assert torch.equal(after[..., :CELL, :CELL], before[..., :CELL, :CELL])  # the others stay


def test_turned_images_are_images_of_turned_states_where_the_shapes_are_symmetric():
    masks = shape_masks()
    assert torch.equal(torch.rot90(masks[0], 1), masks[0]) and torch.equal(torch.rot90(masks[2], 1), masks[2])
    assert not torch.equal(torch.rot90(masks[1], 1), masks[1])  # a triangle turned is another picture
    assert masks[0].sum() > 60 and masks[1].sum() > 40 and masks[2].sum() == CELL * CELL
    states = random_states(50, 5, 5, torch.Generator().manual_seed(4))
    for k in (1, 2, 3):
        turned = render_shapes(rotate(states, k))
        rotated = torch.rot90(render_shapes(states), k, dims=(-2, -1))
        for i in (1, 4):  # blank the triangles' cells (objects 1 and 4) in both
            cells = rotate(states, k)[:, i]
            for n, (r, c) in enumerate(cells.tolist()):
                rotated[n, :, r * CELL:(r + 1) * CELL, c * CELL:(c + 1) * CELL] = 0
                turned[n, :, r * CELL:(r + 1) * CELL, c * CELL:(c + 1) * CELL] = 0
        assert torch.equal(turned, rotated)  # circles and squares: identical pixels


def cubes(*cells):
    return torch.tensor([list(cells)])


def test_a_cube_pushed_one_cell_is_the_same_picture_moved_by_whole_pixels():
    from cogmap.worldmodels.grid import UX, UY, VY, render_cubes

    alone = render_cubes(cubes([1, 1]))
    right = render_cubes(step(cubes([1, 1]), torch.tensor([1])))
    down = render_cubes(step(cubes([1, 1]), torch.tensor([2])))
    assert alone.sum() > 0
    assert torch.equal(right, torch.roll(alone, UX, dims=-1))
    assert torch.equal(down, torch.roll(alone, (VY, UY), dims=(-2, -1)))


def test_the_nearer_cube_hides_the_farther_one():
    from cogmap.worldmodels.grid import colours, render_cubes

    red, orange = colours(2)  # objects 0 and 1: green / red is 0 for the first, 2/3 for the second
    assert red[1] == 0 and orange[1] / orange[0] == pytest.approx(2 / 3)
    for far, near in (([1, 1], [2, 1]), ([1, 2], [1, 1])):  # the row in front; the column on the viewer's side
        both = render_cubes(cubes(far, near))[0]
        far_mask = render_cubes(cubes(far))[0].sum(0) > 0
        near_mask = render_cubes(cubes(near))[0].sum(0) > 0
        assert (far_mask & near_mask).any()  # the two pictures overlap
        green_over_red = both[1] / both[0].clamp(min=1e-9)
        assert torch.allclose(green_over_red[near_mask], torch.tensor(2 / 3), atol=1e-5)  # the near cube, whole
        assert torch.all(green_over_red[far_mask & ~near_mask] == 0)  # the far one where it is not hidden
        assert torch.all(both.sum(0)[~(far_mask | near_mask)] == 0)


def test_every_cube_shows_its_colour_on_its_top_face():
    from cogmap.worldmodels.grid import colours, render_cubes

    image = render_cubes(random_states(1, 5, 5, torch.Generator().manual_seed(6)))[0]
    pixels = image.permute(1, 2, 0).reshape(-1, 3)
    for colour in colours(5):
        assert (pixels - colour).abs().sum(1).min() < 1e-6
    with pytest.raises(CogmapError, match="5 x 5"):
        render_cubes(torch.zeros(1, 1, 2, dtype=torch.long), width=4)
