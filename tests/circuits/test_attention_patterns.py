"""Sparse attention masks against brute-force definitions over all (i, j) pairs."""
import numpy as np
import pytest

from spikeattn.circuits.attention import patterns
from spikeattn.errors import ParameterError

N = 11
I, J = np.meshgrid(np.arange(N), np.arange(N), indexing="ij")


@pytest.mark.parametrize("mask,expect", [
    (patterns.full(N), np.ones((N, N), bool)),
    (patterns.causal(N), J <= I),
    (patterns.local_window(N, 2), np.abs(I - J) <= 2),
    (patterns.local_window(N, 2, causal_only=True), (J <= I) & (I - J <= 2)),
    (patterns.block_sparse(N, 4), I // 4 == J // 4),
    (patterns.strided(N, 3), (I - J) % 3 == 0),
    (patterns.strided(N, 4, radius=1), ((I - J) % 4 == 0) | (np.abs(I - J) <= 1)),
    (patterns.global_tokens(N, [0, 5], 1), np.isin(I, [0, 5]) | np.isin(J, [0, 5]) | (np.abs(I - J) <= 1)),
])
def test_pattern_matches_definition(mask, expect):
    np.testing.assert_array_equal(mask.toarray(), expect)


def test_union_intersect():
    a, b = patterns.causal(N), patterns.local_window(N, 1)
    np.testing.assert_array_equal(patterns.union(a, b).toarray(), (J <= I) | (np.abs(I - J) <= 1))
    np.testing.assert_array_equal(patterns.intersect(a, b).toarray(), (J <= I) & (I - J <= 1))


def test_window_is_linear_in_n():
    assert patterns.local_window(4096, 8).nnz == 4096 * 17 - 2 * sum(range(1, 9))


def test_bad_pattern_parameters():
    with pytest.raises(ParameterError, match="radius"):
        patterns.local_window(8, -1)
    with pytest.raises(ParameterError, match="tokens"):
        patterns.global_tokens(8, [9])
    with pytest.raises(ParameterError, match="n"):
        patterns.causal(0)
