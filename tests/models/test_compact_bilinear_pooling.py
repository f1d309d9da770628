"""Multimodal compact bilinear pooling against its definition, and its fixed seeded hashes."""

from __future__ import annotations

import pytest
import torch

from emomv_hf.modeling_emomv import EmoMVCompactBilinearPooling, count_sketch


def _explicit_sketch_of_outer_product(x, y, hx, sx, hy, sy, d):
    """Count sketch of vec(x yᵀ) with hash (hx[i] + hy[j]) mod d and sign sx[i] sy[j], by explicit loops."""
    out = torch.zeros(x.shape[0], d, dtype=torch.float64)
    outer = x.unsqueeze(-1) * y.unsqueeze(-2)  # (B, n1, n2)
    for i in range(x.shape[1]):
        for j in range(y.shape[1]):
            out[:, (int(hx[i]) + int(hy[j])) % d] += sx[i] * sy[j] * outer[:, i, j]
    return out


@pytest.mark.parametrize(("n1", "n2", "d"), [(64, 64, 32), (7, 5, 4), (12, 9, 16), (3, 3, 1)])
def test_fft_path_equals_count_sketch_of_outer_product(n1, n2, d):
    generator = torch.Generator().manual_seed(n1 * 100 + d)
    x = torch.randn(3, n1, dtype=torch.float64, generator=generator)
    y = torch.randn(3, n2, dtype=torch.float64, generator=generator)
    hx = torch.randint(0, d, (n1,), generator=generator)
    hy = torch.randint(0, d, (n2,), generator=generator)
    sx = torch.randint(0, 2, (n1,), generator=generator).double() * 2 - 1
    sy = torch.randint(0, 2, (n2,), generator=generator).double() * 2 - 1
    pooling = EmoMVCompactBilinearPooling(n1, n2, d)
    names = ("first_hash_index", "first_hash_sign", "second_hash_index", "second_hash_sign")
    for name, value in zip(names, (hx, sx, hy, sy), strict=True):
        getattr(pooling, name).copy_(value)
    fft_path = pooling(x, y)
    explicit = _explicit_sketch_of_outer_product(x, y, hx, sx, hy, sy, d)
    torch.testing.assert_close(fft_path, explicit, rtol=1e-10, atol=1e-10)


def test_count_sketch_definition():
    x = torch.tensor([[1.0, 2.0, 3.0, 4.0]])
    index = torch.tensor([0, 2, 0, 1])
    sign = torch.tensor([1.0, -1.0, -1.0, 1.0])
    assert torch.equal(count_sketch(x, index, sign, 3), torch.tensor([[1.0 - 3.0, 4.0, -2.0]]))


def test_module_uses_its_buffers_and_a_private_seeded_generator():
    state = torch.get_rng_state()
    pooling = EmoMVCompactBilinearPooling(64, 64, 32, seed=0)
    assert torch.equal(torch.get_rng_state(), state), "building the hashes must not touch the global RNG"
    again = EmoMVCompactBilinearPooling(64, 64, 32, seed=0)
    other = EmoMVCompactBilinearPooling(64, 64, 32, seed=1)
    for name in ("first_hash_index", "first_hash_sign", "second_hash_index", "second_hash_sign"):
        assert torch.equal(getattr(pooling, name), getattr(again, name))
        assert name in dict(pooling.named_buffers())
    assert not torch.equal(pooling.first_hash_index, other.first_hash_index)
    assert set(pooling.first_hash_sign.unique().tolist()) == {-1.0, 1.0}
    assert int(pooling.first_hash_index.min()) >= 0 and int(pooling.first_hash_index.max()) < 32
    x, y = torch.randn(4, 64, dtype=torch.float64), torch.randn(4, 64, dtype=torch.float64)
    expected = _explicit_sketch_of_outer_product(
        x,
        y,
        pooling.first_hash_index,
        pooling.first_hash_sign.double(),
        pooling.second_hash_index,
        pooling.second_hash_sign.double(),
        32,
    )
    torch.testing.assert_close(pooling(x, y), expected, rtol=1e-10, atol=1e-10)
    # Calling it does not reseed anything either (the authors' implementation reset the global generators).
    state = torch.get_rng_state()
    pooling(x, y)
    assert torch.equal(torch.get_rng_state(), state)


def test_gradcheck_compact_bilinear_pooling():
    pooling = EmoMVCompactBilinearPooling(6, 5, 4, seed=3)
    x = torch.randn(2, 6, dtype=torch.float64, requires_grad=True)
    y = torch.randn(2, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: pooling(a, b), (x, y))
