"""Arrow validation internals: the chunk-by-chunk dictionary encoding of id columns."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from insights.data.validation import _memo_encode


@pytest.mark.parametrize("chunks", [
    [["b", "a", "b"], ["c", "a"], [], ["d", "b"]],   # an empty chunk in the middle
    [[], ["x", "y"], ["y", "z", "x"]],               # an empty first chunk
    [["only", "one", "only"]],                        # one chunk
    [],                                               # no chunk at all
])
def test_codes_index_the_values_in_first_appearance_order(chunks):
    arr = pa.chunked_array([pa.array(c, pa.string()) for c in chunks], pa.string())
    codes, values = _memo_encode(arr)
    values = values.to_numpy(zero_copy_only=False).astype(object)
    flat = [v for c in chunks for v in c]
    assert codes.dtype == np.int32 and len(codes) == len(flat)
    assert list(values[codes]) == flat                       # decodes to the column
    assert list(values) == list(dict.fromkeys(flat))         # distinct, first appearance


def test_many_chunks_agree_with_encoding_the_whole_column():
    rng = np.random.default_rng(0)
    ids = np.char.add("i", rng.integers(0, 5_000, 60_000).astype(str))
    arr = pa.chunked_array([pa.array(part) for part in np.array_split(ids, 37)])
    codes, values = _memo_encode(arr)
    whole = pa.array(ids).dictionary_encode()
    np.testing.assert_array_equal(codes, whole.indices.to_numpy())
    assert values.to_pylist() == whole.dictionary.to_pylist()
