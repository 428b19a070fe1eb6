"""Sensory embeddings of words (fruit types, tree ids), offline and deterministic by default.

The original system embedded tree descriptions with a 1024-d text model from a model hub. Here
the default ``hash`` backend gives every word a fixed random unit vector seeded by the word's
SHA-256, identical on every machine and without any download: different words are nearly
orthogonal (cosine ~ N(0, 1/D)), which is what a sensor needs to tell trees apart. The
``sentence-transformers`` backend uses a locally installed model instead, so that related
words (two poisonous plants) get related vectors.

A tree's embedding is the unit vector along ``type + id_weight * id``: trees of one fruit type
are similar (cosine ``1 / (1 + id_weight^2)``, 0.8 by default) yet individually distinguishable.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

import torch

from cogmap.errors import CogmapError


def word_seed(word: str) -> int:
    """A 63-bit seed from the word's SHA-256, the same on every platform and Python run."""
    return int.from_bytes(hashlib.sha256(word.encode("utf-8")).digest()[:8], "little") >> 1


@lru_cache(maxsize=4096)
def _hash_vector(word: str, dim: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(word_seed(word))
    vector = torch.randn(dim, generator=generator, dtype=torch.float64)
    return (vector / vector.norm()).float()


@lru_cache(maxsize=4)
def _sentence_model(name: str):
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        raise CogmapError("embedding_backend 'sentence-transformers' needs the package: "
                          "pip install sentence-transformers (and a locally available model)") from None
    try:
        return SentenceTransformer(name, local_files_only=True)
    except Exception as error:  # the library raises many kinds for a missing model
        raise CogmapError(f"cannot load sentence-transformers model {name!r} offline: {error}") from None


def embed_words(words: list[str], dim: int, backend: str = "hash", model: str | None = None) -> torch.Tensor:
    """Unit vectors ``(len(words), dim)`` for ``words``."""
    if backend == "hash":
        return torch.stack([_hash_vector(w, dim) for w in words]) if words else torch.zeros(0, dim)
    if backend == "sentence-transformers":
        encoded = torch.as_tensor(_sentence_model(model).encode(list(words), normalize_embeddings=True)).float()
        if encoded.shape[-1] != dim:
            raise CogmapError(f"model {model!r} gives {encoded.shape[-1]}-d embeddings but embedding_dim is {dim}; "
                              f"set embedding_dim={encoded.shape[-1]}")
        return encoded
    raise CogmapError(f"unknown embedding backend {backend!r}")


class TreeEmbeddings:
    """Embeddings of B worlds' N trees as coefficients ``(B, N, V)`` over a vocabulary ``(V, D)``.

    Every tree's embedding mixes two word vectors (its fruit type and its id), so the worlds
    never need a dense ``(B, N, D)`` tensor: with 1,024 worlds and 1,024-d embeddings that is
    100 MB to read at every step, while smell and sight only need a few small products here.
    """

    def __init__(self, coefficients: torch.Tensor, vocabulary: torch.Tensor):
        if coefficients.dim() != 3 or vocabulary.dim() != 2 or coefficients.shape[-1] != vocabulary.shape[0]:
            raise CogmapError(f"coefficients (B, N, V) and vocabulary (V, D) do not fit: "
                              f"{tuple(coefficients.shape)} and {tuple(vocabulary.shape)}")
        self.coefficients, self.vocabulary = coefficients, vocabulary

    @classmethod
    def from_dense(cls, embedding: torch.Tensor) -> "TreeEmbeddings":
        """Any ``(B, N, D)`` embeddings (the vocabulary is the identity)."""
        return cls(embedding, torch.eye(embedding.shape[-1], dtype=embedding.dtype, device=embedding.device))

    def weighted_sum(self, weights: torch.Tensor) -> torch.Tensor:
        """``sum_n weights[b, n] * embedding[b, n]``: ``(B, D)``."""
        return torch.bmm(weights[:, None, :], self.coefficients)[:, 0] @ self.vocabulary

    def select(self, index: torch.Tensor) -> torch.Tensor:
        """The embedding of tree ``index[b]`` of each world: ``(B, D)``."""
        rows = torch.arange(index.shape[0], device=index.device)
        return self.coefficients[rows, index] @ self.vocabulary

    def dense(self) -> torch.Tensor:
        return self.coefficients @ self.vocabulary

    def to(self, device) -> "TreeEmbeddings":
        return TreeEmbeddings(self.coefficients.to(device), self.vocabulary.to(device))


def tree_vocabulary(fruits: list[str], num_trees: int) -> list[str]:
    """The words of a world's tree embeddings: fruit names, then ``tree 0 .. tree N-1``."""
    return list(fruits) + [f"tree {i}" for i in range(num_trees)]


def tree_coefficients(type_index: torch.Tensor, tree_index: torch.Tensor, vocabulary: torch.Tensor,
                      id_weight: float = 0.5) -> torch.Tensor:
    """Coefficients ``(B, N, V)`` of ``unit(type + id_weight * id)`` for word indices ``(B, N)``."""
    b, n = type_index.shape
    coefficients = torch.zeros(b, n, vocabulary.shape[0], dtype=vocabulary.dtype)
    coefficients.scatter_(2, type_index[..., None], 1.0)
    coefficients.scatter_add_(2, tree_index[..., None], torch.full((b, n, 1), float(id_weight), dtype=vocabulary.dtype))
    gram = vocabulary @ vocabulary.T
    norm = ((coefficients @ gram) * coefficients).sum(-1, keepdim=True).clamp_min(1e-24).sqrt()
    return coefficients / norm
