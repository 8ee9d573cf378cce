"""The parsed list and its match index, pickled once per list content.

Parsing and indexing the real SDN list takes seconds; the CLI screens one name per call, so
the result is kept under ``<data_dir>/screening-cache/`` keyed by the sha256 of the list
files and of this package's version. A cache file that is unreadable, truncated or from
another version is ignored and rebuilt; it is never trusted over the list itself.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import os
import pickle
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from advisor.errors import RulesError
from advisor.screening.formats import file_date, load_list, ofac_companions
from advisor.screening.matching import Index
from advisor.screening.models import LoadedList
from advisor.yamlfile import sidecar_path

log = logging.getLogger(__name__)

CACHE_VERSION = "screening-index-9"  # bump when Party, Alias, Index or normalisation change
MAGIC = b"advisor-screening\n"
KEEP_BUILDS = 4
MTIME_SOURCE = "file modification time"


@dataclass
class Built:
    """A loaded list and its index, as cached; ``from_cache`` says which way it came."""

    loaded: LoadedList
    index: Index
    digest: str
    from_cache: bool = False


def list_files(path: Path) -> tuple[Path, ...]:
    """The files whose content makes up the list (sdn.csv brings alt.csv and add.csv)."""
    try:
        with path.open("rb") as fh:
            head = fh.read(512)
    except OSError as exc:
        raise RulesError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    text_start = head.decode("utf-8", "replace").lstrip("\ufeff \r\n")
    if text_start[:1].isdigit() and path.suffix.lower() == ".csv":
        return (path, *ofac_companions(path))
    return (path,)


def digest(files: tuple[Path, ...]) -> str:
    h = hashlib.sha256(CACHE_VERSION.encode())
    for f in files:
        h.update(f.name.encode() + b"\0")
        h.update(hashlib.sha256(f.read_bytes()).digest())
        meta = sidecar_path(f)
        if meta.is_file():
            h.update(meta.read_bytes())
    return h.hexdigest()


def _read_cache(file: Path, key: str) -> Built | None:
    try:
        with file.open("rb") as fh:
            if fh.read(len(MAGIC)) != MAGIC or fh.readline().strip().decode() != key:
                return None
            enabled = gc.isenabled()
            gc.disable()  # unpickling ~200k small objects would trigger many useless passes
            try:
                loaded, index = pickle.load(fh)
            finally:
                if enabled:
                    gc.enable()
    except FileNotFoundError:
        return None
    except Exception as exc:  # any damage to a cache file means: rebuild
        log.warning("screening cache %s is unusable (%s); rebuilding it", file, exc)
        return None
    if not isinstance(loaded, LoadedList) or not isinstance(index, Index):
        return None
    return Built(loaded, index, key, from_cache=True)


def _write_cache(folder: Path, file: Path, key: str, built: Built) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".pkl")
        with os.fdopen(fd, "wb") as fh:
            fh.write(MAGIC + key.encode() + b"\n")
            pickle.dump((built.loaded, built.index), fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, file)
        builds = sorted(folder.glob("*.pkl"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in builds[KEEP_BUILDS:]:  # older lists: drop their builds
            old.unlink(missing_ok=True)
    except OSError as exc:
        log.warning("screening cache not written to %s (%s); the list still works", folder, exc)


def build(path: Path, cache_dir: Path | None = None) -> Built:
    """Load and index ``path``, through the cache when a folder is given."""
    files = list_files(path)
    key = digest(files)
    file = cache_dir / f"{key[:32]}.pkl" if cache_dir is not None else None
    if file is not None:
        cached = _read_cache(file, key)
        if cached is not None:
            return _redate(path, cached)
    loaded = load_list(path)
    built = Built(loaded, Index(loaded.parties), key)
    if cache_dir is not None and file is not None:
        _write_cache(cache_dir, file, key, built)
    return built


def _redate(path: Path, built: Built) -> Built:
    """A date taken from file times is re-read: the same content may be copied anew."""
    loaded = built.loaded
    if not loaded.date_source.startswith(MTIME_SOURCE) and "meta.yaml" not in loaded.date_source:
        return built
    when, source = file_date(path, loaded.files)
    built.loaded = replace(loaded, list_date=when, date_source=source)
    return built
