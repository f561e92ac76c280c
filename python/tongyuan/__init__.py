"""tongyuan — find reused, edited and machine-spun (Chinese) text, from Python.

    >>> import tongyuan
    >>> for p in tongyuan.compare(original, suspect):
    ...     print(p.sus_off, p.sus_len, p.score)

Three entry points over the C library (libtongyuan, include/tongyuan.h):

  compare(source, suspect, **options) -> list[Passage]   which passages of suspect come from
                                                         source (compare_files for files)
  Index(path, mode)                                      a persistent corpus index: add,
                                                         check, get, delete, iterate, stats
  dedup(docs, mode=..., **options) -> Iterator[Decision] clusters of copies in a corpus

The C work runs with the GIL released, so Python threads compare, check and dedup in
parallel. Errors of the library are tongyuan.Error (with the library's one-line message);
arguments of the wrong type raise TypeError, bad values ValueError. docs/python.md.
"""
from ._api import (Decision, Error, Index, Passage, Source, compare, compare_files, dedup,
                   version)

__all__ = ["Decision", "Error", "Index", "Passage", "Source", "compare", "compare_files",
           "dedup", "version"]
__version__ = version()
