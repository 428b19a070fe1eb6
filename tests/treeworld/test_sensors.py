import math

import pytest
import torch

from cogmap.treeworld import DirectionalSensor, SimpleSensor, TreeWorldConfig
from cogmap.treeworld.embeddings import TreeEmbeddings, embed_words, tree_coefficients, word_seed
from cogmap.treeworld.sensors import sight, smell

E = torch.eye(4)


def trees(*points):
    return torch.tensor([points], dtype=torch.float32), E[: len(points)][None]


def test_smell_kernel_is_one_tenth_at_the_maximum_distance():
    c = TreeWorldConfig()
    assert math.exp(-c.max_sense_distance**2 / (2 * c.smell_width**2)) == pytest.approx(0.1)
    assert c.smell_width == pytest.approx(100 / math.sqrt(2 * math.log(10)))


def test_smell_is_the_kernel_weighted_sum_of_tree_embeddings_plus_the_nearest_tree():
    location, embedding = trees((30.0, 40.0), (0.0, -100.0), (0.0, 300.0))
    reading = SimpleSensor(max_distance=100.0, value_at_max_distance=0.1)(torch.zeros(1, 2), None, location, embedding)
    sigma2 = 100.0**2 / (2 * math.log(10))
    # Distances 50, 100 and 300: weights by hand.
    expected = torch.tensor([math.exp(-2500 / (2 * sigma2)), 0.1, math.exp(-90000 / (2 * sigma2)), 0.0])
    assert torch.allclose(reading.embedding[0], expected, atol=1e-6)
    assert reading.index.item() == 0 and reading.distance.item() == pytest.approx(50.0)
    assert torch.allclose(reading.location[0], torch.tensor([30.0, 40.0]))


def test_smell_reports_no_nearest_tree_beyond_the_range():
    location, embedding = trees((0.0, 150.0))
    reading = smell(torch.zeros(1, 2), location, embedding, 46.6, 100.0)
    assert reading.index.item() == -1 and math.isinf(reading.distance.item()) and torch.isnan(reading.location).all()
    assert reading.embedding[0, 0].item() > 0  # it still smells, faintly


def test_sight_sees_the_nearest_tree_inside_the_cone_and_range():
    # Heading +x. (30, 20): cosine 0.832, outside the 0.9 cone. (150, 0): out of range.
    # (80, 10): cosine 0.992, distance 80.6. (60, -5): cosine 0.9965, distance 60.2: nearest seen.
    location, embedding = trees((30.0, 20.0), (150.0, 0.0), (80.0, 10.0), (60.0, -5.0))
    reading = DirectionalSensor(100.0, 0.9)(torch.zeros(1, 2), torch.tensor([[1.0, 0.0]]), location, embedding)
    assert reading.index.item() == 3
    assert reading.distance.item() == pytest.approx(math.hypot(60, 5))
    assert torch.equal(reading.embedding[0], E[3])


def test_sight_respects_the_heading_and_reports_nothing_when_nothing_is_in_view():
    location, embedding = trees((60.0, 0.0))
    behind = sight(torch.zeros(1, 2), torch.tensor([[-1.0, 0.0]]), location, embedding, 0.9, 100.0)
    assert behind.index.item() == -1 and math.isinf(behind.distance.item())
    assert torch.equal(behind.embedding, torch.zeros(1, 4)) and torch.isnan(behind.location).all()
    # An unnormalised heading is fine; cosine 0.95 at 45 degrees off would be 0.707.
    diagonal = sight(torch.zeros(1, 2), torch.tensor([[3.0, 3.0]]), location, embedding, 0.9, 100.0)
    assert diagonal.index.item() == -1
    assert sight(torch.zeros(1, 2), torch.tensor([[3.0, 3.0]]), location, embedding, 0.7, 100.0).index.item() == 0


def test_sensors_are_batched_over_worlds():
    location = torch.tensor([[[10.0, 0.0]], [[0.0, 10.0]]])
    embedding = E[:1].expand(2, 1, 4)
    reading = sight(torch.zeros(2, 2), torch.tensor([[1.0, 0.0], [1.0, 0.0]]), location, embedding, 0.9, 100.0)
    assert reading.index.tolist() == [0, -1]


def test_hash_embeddings_are_deterministic_unit_vectors_and_words_are_nearly_orthogonal():
    a = embed_words(["apple", "fig", "apple"], 1024)
    assert torch.equal(a[0], a[2]) and torch.allclose(a.norm(dim=1), torch.ones(3))
    assert abs(float(a[0] @ a[1])) < 0.15  # ~ N(0, 1/1024)
    assert word_seed("apple") == word_seed("apple") != word_seed("apples")


def test_tree_embeddings_make_trees_of_one_type_similar_but_distinct():
    words = ["apple", "yew", "tree 0", "tree 1", "tree 2"]
    vocabulary = embed_words(words, 4096)
    coefficients = tree_coefficients(torch.tensor([[0, 0, 1]]), torch.tensor([[2, 3, 4]]), vocabulary, id_weight=0.5)
    e = TreeEmbeddings(coefficients, vocabulary).dense()[0]
    # The factored form equals unit(type + 0.5 id) computed directly.
    direct = vocabulary[[0, 0, 1]] + 0.5 * vocabulary[[2, 3, 4]]
    assert torch.allclose(e, direct / direct.norm(dim=-1, keepdim=True), atol=1e-6)
    # Orthogonal parts: cosine (1) / (1 + 0.25) = 0.8 within a type, ~0 across types.
    assert float(e[0] @ e[1]) == pytest.approx(0.8, abs=0.05)
    assert abs(float(e[0] @ e[2])) < 0.1
    assert torch.allclose(e.norm(dim=1), torch.ones(3))
    # Selecting and summing in factored form agree with the dense embeddings.
    factored = TreeEmbeddings(coefficients, vocabulary)
    assert torch.allclose(factored.select(torch.tensor([2])), e[2:3], atol=1e-6)
    weights = torch.tensor([[0.5, 0.2, 1.0]])
    assert torch.allclose(factored.weighted_sum(weights), weights @ e, atol=1e-5)
