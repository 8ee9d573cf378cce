"""The on-disk cache of embedded example phrasings."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from advisor.rules.phrasings import PrefetchEmbeddings, embed_cached
from tests.fakes import CountingEmbeddings, HashEmbeddings

TEXTS = ["share the exploit with a co-author", "ship the router to Havana"]


def test_the_cache_is_named_by_the_model_not_by_the_memo_around_it(tmp_path: Path) -> None:
    counting = CountingEmbeddings(HashEmbeddings())
    plain = embed_cached(counting, TEXTS, tmp_path)
    wrapped = embed_cached(PrefetchEmbeddings(counting), TEXTS, tmp_path)
    assert np.array_equal(plain, wrapped)
    assert len(list(tmp_path.glob("phrasings-*.npy"))) == 1  # one cache file, read back


def test_other_models_do_not_share_a_cache_file(tmp_path: Path) -> None:
    embed_cached(HashEmbeddings(), TEXTS, tmp_path)
    embed_cached(PrefetchEmbeddings(CountingEmbeddings(HashEmbeddings())), TEXTS, tmp_path)
    assert len(list(tmp_path.glob("phrasings-*.npy"))) == 2
