"""The Python layer over the cffi extension tongyuan._tongyuan (python/build_ffi.py).

Per-thread C state (an aligner and two documents for compare, a searcher and a document per
Index) lives in threading.local objects, so threads never share a mutable C handle and the
GIL can be released for every C call (cffi does that for each call in API mode).
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, Iterator, List, Optional, Tuple, Union

from ._tongyuan import ffi, lib

__all__ = ["Decision", "Error", "Index", "Passage", "Source", "compare", "compare_files",
           "dedup", "version"]


def version() -> str:
    """The C library's version, e.g. "0.1.0"."""
    return ffi.string(lib.ty_version()).decode()


class Error(Exception):
    """An error of the C library: ``code`` is its TY_E* code (negative int), ``str(e)`` the
    library's one-line message (naming the document and position where that applies)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def _s(p: Any) -> str:
    return ffi.string(p).decode("utf-8", "replace") if p != ffi.NULL else ""


def _raise(rc: int, msg: Any) -> None:
    m = _s(msg) if not isinstance(msg, str) else msg
    raise Error(rc, m or _s(lib.ty_strerror(rc)))


# ---- options ---------------------------------------------------------------------------
# The CLI's alignment options by their long names (`tongyuan compare --help`).
_ALIGN_INT = ("k", "w", "max_occ", "max_gap", "min_chain", "merge_gap", "min_len", "snap")
_ALIGN_FLOAT = ("gap_cost", "drift_cost", "min_score")
_ALIGN_OTHER = ("max_size", "invalid_utf8", "input_format", "encoding")
ALIGN_OPTIONS = _ALIGN_INT + _ALIGN_FLOAT + _ALIGN_OTHER


def _int(name: str, v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError("%s must be an int, not %s" % (name, type(v).__name__))
    if not -(1 << 62) < v < (1 << 62):
        raise ValueError("%s=%d is out of range" % (name, v))
    return v


def _float(name: str, v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise TypeError("%s must be a number, not %s" % (name, type(v).__name__))
    return float(v)


def _str(name: str, v: Any) -> str:
    if not isinstance(v, str):
        raise TypeError("%s must be a str, not %s" % (name, type(v).__name__))
    if "\0" in v:
        raise ValueError("%s contains a NUL character" % name)
    return v


def _align_opts(options: Dict[str, Any], keep: List[Any]) -> Any:
    """A checked ty_opts_t from keyword options (unknown names: TypeError, as for any
    function; bad values: ValueError with the library's message)."""
    o = ffi.new("ty_opts_t *")
    lib.ty_opts_init(o)
    for name, v in options.items():
        if name in _ALIGN_INT:
            v = _int(name, v)
            if not -(1 << 31) < v < (1 << 31):
                raise ValueError("%s=%d is out of range" % (name, v))
            setattr(o, name, v)
        elif name in _ALIGN_FLOAT:
            setattr(o, name, _float(name, v))
        elif name == "max_size":  # megabytes, as --max-size
            v = _int(name, v)
            if not 1 <= v <= 4095:
                raise ValueError("max_size wants 1..4095 (megabytes), not %d" % v)
            o.max_doc_bytes = v << 20
        elif name == "invalid_utf8":
            v = _str(name, v)
            if v not in ("error", "replace"):
                raise ValueError("invalid_utf8 wants 'error' or 'replace', not %r" % v)
            o.utf8_mode = lib.TY_UTF8_STRICT if v == "error" else lib.TY_UTF8_REPLACE
        elif name == "input_format":
            v = _str(name, v)
            fmt = ffi.new("int *")
            if lib.ty_format_parse(v.encode(), fmt) != lib.TY_OK:
                raise ValueError("input_format wants auto, text, html, docx, odt, pdf, warc or "
                                 "jsonl, not %r" % v)
            o.input_format = fmt[0]
        elif name == "encoding":
            if v is not None:
                b = ffi.new("char[]", _str(name, v).encode())
                keep.append(b)
                o.encoding = b
        else:
            raise TypeError("unknown option %r (alignment options: %s)"
                            % (name, ", ".join(ALIGN_OPTIONS)))
    msg = ffi.new("char[256]")
    if lib.ty_opts_check(o, msg, 256) != lib.TY_OK:
        raise ValueError(_s(msg))
    return o


def _text(name: str, v: Any) -> bytes:
    if isinstance(v, str):
        return v.encode("utf-8", "surrogatepass")
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v)
    raise TypeError("%s must be str or bytes, not %s" % (name, type(v).__name__))


# ---- results ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Passage:
    """A passage of the suspect reused from the source. Offsets and lengths in code points
    (``src_off`` ... — index a Python str with them) and in UTF-8 bytes (``*_byte_*``);
    ``score`` 0..1 (2 x matched tokens / tokens of both ranges); ``matched`` tokens."""

    src_off: int
    src_len: int
    sus_off: int
    sus_len: int
    src_byte_off: int
    src_byte_len: int
    sus_byte_off: int
    sus_byte_len: int
    score: float
    matched: int

    def to_dict(self) -> Dict[str, Any]:
        """The fields as a dict (the CLI's JSONL fields for a passage, without names)."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _passages(ps: Any, n: int) -> List[Passage]:
    out = []
    for i in range(n):
        p = ps[i]
        out.append(Passage(p.src_off, p.src_len, p.sus_off, p.sus_len, p.src_byte_off,
                           p.src_byte_len, p.sus_byte_off, p.sus_byte_len, p.score, p.matched))
    return out


@dataclass(frozen=True)
class Source:
    """An indexed document a checked text reuses: ``name``, ``coverage`` (share of the
    checked text's compared characters that its passages cover, 0..1), ``passages``
    (src = this document, sus = the checked text) and ``shared`` minimizers."""

    name: str
    coverage: float
    passages: List[Passage]
    shared: int = 0
    id: int = 0


@dataclass(frozen=True)
class Decision:
    """The dedup decision for one document: its ``id`` (as given), ``cluster`` (numbered in
    input order of the clusters' first documents), ``keep``, ``dup_of`` (the id of the
    document it copies, None when kept), ``similarity`` and ``containment`` of that link
    (0..1; None when kept, as in `tongyuan dedup`'s output), ``cluster_size``, and ``error`` (the library's message when the document could
    not be read; it is then kept, alone)."""

    id: Union[str, int]
    cluster: Optional[int]
    keep: bool
    dup_of: Union[str, int, None]
    similarity: Optional[float]
    containment: Optional[float]
    cluster_size: int = 1
    error: Optional[str] = None

    def to_dict(self) -> Dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


# ---- compare ---------------------------------------------------------------------------
class _Cmp:
    """One thread's aligner and two documents for one set of options."""

    def __init__(self, o: Any) -> None:
        self.o = o
        self.al = ffi.gc(lib.ty_aligner_new(o), lib.ty_aligner_free)
        self.src = ffi.gc(lib.ty_doc_new(), lib.ty_doc_free)
        self.sus = ffi.gc(lib.ty_doc_new(), lib.ty_doc_free)
        if ffi.NULL in (self.al, self.src, self.sus):
            raise MemoryError("tongyuan: out of memory")
        self.out = ffi.new("ty_passage_t **")
        self.n = ffi.new("size_t *")
        self.stage = ffi.new("int *")

    def fail(self, rc: int) -> None:
        st = self.stage[0]
        msg = lib.ty_doc_errmsg(self.src if st == 0 else self.sus) if st < 2 else \
            lib.ty_aligner_errmsg(self.al)
        _raise(rc, msg)


_local = threading.local()


def _cmp(options: Dict[str, Any]) -> _Cmp:
    cache = getattr(_local, "cmp", None)
    if cache is None:
        cache = _local.cmp = {}
    key = tuple(sorted(options.items()))
    c = cache.get(key)
    if c is None:
        keep: List[Any] = []
        c = _Cmp(_align_opts(options, keep))
        c.keep = keep  # the encoding string lives as long as the options
        if len(cache) >= 8:
            cache.clear()
        cache[key] = c
    return c


def compare(source: Union[str, bytes], suspect: Union[str, bytes], **options: Any) -> List[Passage]:
    """The passages of ``suspect`` reused from ``source``, sorted by suspect offset.

    Texts are str (or UTF-8 bytes). Options are the CLI's alignment options by their long
    names: k, w, max_occ, max_gap, gap_cost, drift_cost, min_chain, merge_gap, min_len,
    min_score, snap, max_size (MB), invalid_utf8 ("error" | "replace"). Raises Error for text
    the library refuses (invalid UTF-8 bytes, NUL characters, too large)."""
    a = _text("source", source)
    b = _text("suspect", suspect)
    c = _cmp(options)
    rc = lib.tyx_compare(c.al, c.src, c.sus, a, len(a), b, len(b), c.o, c.out, c.n, c.stage)
    if rc != lib.TY_OK:
        c.fail(rc)
    return _passages(c.out[0], c.n[0])


def _path(name: str, v: Any) -> bytes:
    if isinstance(v, os.PathLike):
        v = os.fspath(v)
    if isinstance(v, str):
        v = _str(name, v).encode("utf-8", "surrogateescape")
    if not isinstance(v, bytes):
        raise TypeError("%s must be a path (str, bytes or os.PathLike), not %s"
                        % (name, type(v).__name__))
    return v


def compare_files(src_path: Union[str, os.PathLike], sus_path: Union[str, os.PathLike],
                  **options: Any) -> List[Passage]:
    """compare() for two files, read as `tongyuan compare` reads them (any charset, HTML,
    DOCX, ODT, PDF; options also input_format and encoding). Offsets are into each file's
    text (`tongyuan extract FILE`). Error names the file for one that cannot be read."""
    a = _path("src_path", src_path)
    b = _path("sus_path", sus_path)
    c = _cmp(options)
    rc = lib.tyx_compare_files(c.al, c.src, c.sus, a, b, c.o, c.out, c.n, c.stage)
    if rc != lib.TY_OK:
        c.fail(rc)
    return _passages(c.out[0], c.n[0])


# ---- index -----------------------------------------------------------------------------
_QUERY_OPTIONS = ("max_sources", "max_candidates", "min_shared", "max_df_frac", "max_df",
                  "min_df_cut", "max_also", "postings_per_minimizer")


class Index:
    """A corpus index on disk (`tongyuan index`): ``Index(path, mode)`` with mode "r"
    (read only), "w" (an existing index, to add and delete) or "c" (like "w", creating an
    empty index when path does not exist). A context manager; close() when done.

    Many threads may call check() at once (each gets its own searcher); add(), add_many() and
    delete() are serialized. Options: the alignment options of compare() (used to tokenize
    added and checked texts) and the check options max_sources, max_candidates, ...
    """

    def __init__(self, path: Union[str, os.PathLike], mode: str = "r", **options: Any) -> None:
        p = _path("path", path)
        if mode not in ("r", "w", "c"):
            raise ValueError("mode wants 'r', 'w' or 'c', not %r" % (mode,))
        self._keep: List[Any] = []
        q = ffi.new("ty_query_opts_t *")
        lib.ty_query_opts_init(q)
        align = {}
        for k, v in options.items():
            if k in _QUERY_OPTIONS:
                setattr(q, k, _float(k, v) if k == "max_df_frac" else _int(k, v))
            else:
                align[k] = v
        self._o = _align_opts(align, self._keep)
        self._q = q
        self._lock = threading.Lock()  # writers, and close against running calls
        self._busy = 0
        self._local = threading.local()
        self._searchers: List[Any] = []
        self._ix = lib.ty_index_new()
        if self._ix == ffi.NULL:
            raise MemoryError("tongyuan: out of memory")
        if mode == "c" and not os.path.exists(p):
            rc = lib.ty_index_open(self._ix, p, lib.TY_INDEX_CREATE, ffi.NULL)
            if rc == lib.TY_OK:
                rc = lib.ty_index_finish(self._ix)
            if rc != lib.TY_OK:
                self._fail(rc)
            lib.ty_index_free(self._ix)
            self._ix = lib.ty_index_new()
        m = lib.TY_INDEX_READ if mode == "r" else lib.TY_INDEX_WRITE
        rc = lib.ty_index_open(self._ix, p, m, ffi.NULL)
        if rc != lib.TY_OK:
            self._fail(rc)
        self.path = os.fsdecode(p)
        self.mode = mode

    def _fail(self, rc: int) -> None:
        msg = _s(lib.ty_index_errmsg(self._ix))
        lib.ty_index_free(self._ix)
        self._ix = ffi.NULL
        _raise(rc, msg)

    # lifecycle
    def __enter__(self) -> "Index":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    def close(self) -> None:
        """Close the index (a no-op when closed). Error if another thread is using it."""
        with self._lock:
            if getattr(self, "_ix", ffi.NULL) == ffi.NULL:
                return
            if self._busy:
                raise Error(lib.TY_EBUSY, "tongyuan: %s: in use by another thread" % self.path)
            for s in self._searchers:
                lib.ty_searcher_free(s)
            self._searchers = []
            lib.ty_index_free(self._ix)
            self._ix = ffi.NULL

    def _enter(self) -> Any:
        with self._lock:
            if self._ix == ffi.NULL:
                raise ValueError("I/O operation on a closed Index")
            self._busy += 1
            return self._ix

    def _leave(self) -> None:
        with self._lock:
            self._busy -= 1

    def _msg(self) -> str:
        return _s(lib.ty_index_errmsg(self._ix))

    # writing
    def add(self, name: str, text: Union[str, bytes]) -> int:
        """Add a document (committed before the call returns); returns its id. Error if the
        name is taken (code TY_EEXIST) or the text is refused (invalid UTF-8 ...)."""
        nb = _str("name", name).encode("utf-8", "surrogatepass")
        tb = _text("text", text)
        ix = self._enter()
        try:
            idp = ffi.new("uint32_t *")
            with self._lock:
                rc = lib.ty_index_add_doc(ix, nb, tb, len(tb), ffi.NULL, self._o, idp)
                msg = self._msg() if rc else ""
            if rc != lib.TY_OK:
                _raise(rc, msg)
            return int(idp[0])
        finally:
            self._leave()

    def add_many(self, docs: Iterable[Union[Tuple[str, Union[str, bytes]], Dict[str, Any]]],
                 id_field: str = "id", text_field: str = "text") -> int:
        """Add (name, text) pairs or dicts (``id_field``, ``text_field``) in order; returns
        how many were added. Stops at the first error (documents before it stay)."""
        n = 0
        for d in docs:
            name, text = _pair(d, id_field, text_field, n)
            self.add(str(name), text)
            n += 1
        return n

    def delete(self, name: str) -> None:
        """Delete a document by name (a tombstone). KeyError when there is none."""
        nb = _str("name", name).encode("utf-8", "surrogatepass")
        ix = self._enter()
        try:
            with self._lock:
                rc = lib.ty_index_delete(ix, nb, ffi.NULL)
                msg = self._msg() if rc else ""
            if rc == lib.TY_ENOTFOUND:
                raise KeyError(name)
            if rc != lib.TY_OK:
                _raise(rc, msg)
        finally:
            self._leave()

    # reading
    def _id(self, ix: Any, name: str) -> int:
        nb = _str("name", name).encode("utf-8", "surrogatepass")
        idp = ffi.new("uint32_t *")
        if lib.ty_index_find(ix, nb, idp) != lib.TY_OK or lib.ty_index_is_deleted(ix, idp[0]):
            raise KeyError(name)
        return int(idp[0])

    def get(self, name: str) -> str:
        """The text of an indexed document; KeyError when there is none (or it is deleted)."""
        ix = self._enter()
        try:
            i = self._id(ix, name)
            d = ffi.gc(lib.ty_doc_new(), lib.ty_doc_free)
            rc = lib.ty_index_get_doc(ix, i, d, self._o)
            if rc == lib.TY_ENOTFOUND:
                raise KeyError(name)
            if rc != lib.TY_OK:
                _raise(rc, self._msg())
            n = ffi.new("size_t *")
            t = lib.ty_doc_text(d, n)
            return ffi.unpack(t, n[0]).decode("utf-8", "replace")
        finally:
            self._leave()

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        ix = self._enter()
        try:
            self._id(ix, name)
            return True
        except KeyError:
            return False
        finally:
            self._leave()

    def _stats(self, ix: Any) -> Any:
        st = ffi.new("ty_index_stats_t *")
        rc = lib.ty_index_stats(ix, st)
        if rc != lib.TY_OK:
            _raise(rc, self._msg())
        return st

    def __len__(self) -> int:
        ix = self._enter()
        try:
            st = self._stats(ix)
            dn = ffi.new("uint64_t *")
            if lib.ty_index_deleted_count(ix, dn) != lib.TY_OK:
                _raise(lib.TY_EIO, self._msg())
            return int(st.docs - dn[0])
        finally:
            self._leave()

    def __iter__(self) -> Iterator[str]:
        """The names of the documents (not deleted), in id order."""
        ix = self._enter()
        try:
            total = int(self._stats(ix).docs)
        finally:
            self._leave()
        buf = ffi.new("char[]", 65536)
        for i in range(total):
            ix = self._enter()
            try:
                if lib.ty_index_is_deleted(ix, i) != 0:
                    continue
                if lib.ty_index_doc_info(ix, i, buf, 65536, ffi.NULL, 0, ffi.NULL) != lib.TY_OK:
                    continue
                name = _s(buf)
            finally:
                self._leave()
            yield name

    def stats(self) -> Dict[str, int]:
        """The index's figures (`tongyuan index stats`): docs (deleted included), deleted,
        codepoints, bytes, stored_bytes, postings, keys, segments, file_bytes, map_bytes,
        format, k, w."""
        ix = self._enter()
        try:
            st = self._stats(ix)
            dn = ffi.new("uint64_t *")
            lib.ty_index_deleted_count(ix, dn)
            out = {k: int(getattr(st, k)) for k in (
                "format", "k", "w", "docs", "codepoints", "bytes", "stored_bytes", "postings",
                "keys", "segments", "file_bytes", "map_bytes")}
            out["deleted"] = int(dn[0])
            return out
        finally:
            self._leave()

    def check(self, text: Union[str, bytes], name: Optional[str] = None) -> List[Source]:
        """The indexed documents ``text`` reuses, best first (`tongyuan check`)."""
        tb = _text("text", text)
        nb = _str("name", name).encode() if name is not None else b"query"
        ix = self._enter()
        try:
            L = self._local
            if getattr(L, "s", None) is None:
                s = lib.ty_searcher_new(ix, self._o, self._q)
                d = ffi.gc(lib.ty_doc_new(), lib.ty_doc_free)
                if s == ffi.NULL or d == ffi.NULL:
                    raise MemoryError("tongyuan: out of memory")
                with self._lock:
                    self._searchers.append(s)
                L.s, L.d = s, d
                L.out, L.n, L.stage = ffi.new("ty_source_t **"), ffi.new("size_t *"), \
                    ffi.new("int *")
            rc = lib.tyx_check(L.s, L.d, nb, tb, len(tb), self._o, L.out, L.n, L.stage)
            if rc != lib.TY_OK:
                _raise(rc, lib.ty_doc_errmsg(L.d) if L.stage[0] == 0 else
                       lib.ty_searcher_errmsg(L.s))
            nt = lib.ty_doc_ntokens(L.d)
            res = []
            for i in range(L.n[0]):
                s = L.out[0][i]
                res.append(Source(name=_s(lib.ty_doc_name(s.doc)),
                                  coverage=s.covered / nt if nt else 0.0,
                                  passages=_passages(s.passages, s.npassages),
                                  shared=int(s.shared), id=int(s.id)))
            return res
        finally:
            self._leave()


# ---- dedup -----------------------------------------------------------------------------
_MODES = {"exact": 0, "near": 1, "spun": 2}
_DEDUP_INT = ("threads", "batch", "ngram", "bands", "rows", "seed", "k", "w", "max_df",
              "min_shared", "max_candidates")
_DEDUP_FLOAT = ("min_shared_frac", "min_containment")


def _pair(d: Any, id_field: str, text_field: str, i: int) -> Tuple[Any, Any]:
    if isinstance(d, dict):
        if text_field not in d:
            raise ValueError("document %d has no %r field" % (i, text_field))
        return d.get(id_field, i), d[text_field]
    if isinstance(d, (tuple, list)) and len(d) == 2:
        return d[0], d[1]
    raise TypeError("document %d: want a dict or an (id, text) pair, not %s"
                    % (i, type(d).__name__))


def dedup(docs: Iterable[Any], mode: str = "spun", id_field: str = "id",
          text_field: str = "text", keep: str = "first", threshold: Optional[float] = None,
          **options: Any) -> Iterator[Decision]:
    """Cluster copies in a corpus (`tongyuan dedup`) and yield a Decision per document, in
    input order.

    docs: an iterable of dicts (``id_field``, ``text_field``; a missing id is the document's
    0-based position) or (id, text) pairs; ids are str or int and come back as given. The
    documents are handed to the library one at a time and not kept: the library holds what
    it needs (about 70 bytes a document plus its id, docs/dedup.md), so a generator over a
    large file runs in bounded Python memory. Decisions come once the input is exhausted
    (a cluster's keeper may be a later document).

    mode: "spun" (alignment), "near" (MinHash-LSH) or "exact". keep: "first" or "longest".
    threshold (near): a Jaccard threshold, turned into bands and rows. Options: threads,
    batch, ngram, bands, rows, seed, k, w, max_df, min_shared, min_shared_frac,
    max_candidates, min_containment (`tongyuan dedup --help`), and compare()'s alignment
    options (min_len, ... for spun mode's alignment; invalid_utf8, max_size)."""
    if not isinstance(mode, str) or mode not in _MODES:
        raise ValueError("mode wants 'spun', 'near' or 'exact', not %r" % (mode,))
    if keep not in ("first", "longest"):
        raise ValueError("keep wants 'first' or 'longest', not %r" % (keep,))
    _str("id_field", id_field)
    _str("text_field", text_field)
    do = ffi.new("ty_dedup_opts_t *")
    lib.ty_dedup_opts_init(do)
    do.mode = _MODES[mode]
    do.keep = lib.TY_KEEP_FIRST if keep == "first" else lib.TY_KEEP_LONGEST
    align = {}
    for k, v in options.items():
        if k in _DEDUP_INT:
            v = _int(k, v)
            if k != "seed" and not 0 <= v < (1 << 31):
                raise ValueError("%s=%d is out of range" % (k, v))
            if k == "seed" and not 0 <= v < (1 << 64):
                raise ValueError("seed=%d is out of range" % v)
            setattr(do, k, v)
        elif k in _DEDUP_FLOAT:
            setattr(do, k, _float(k, v))
        else:
            align[k] = v
    if threshold is not None:
        bp, rp = ffi.new("int *"), ffi.new("int *")
        perms = do.bands * do.rows
        t = _float("threshold", threshold)
        if not 0 < t < 1 or lib.ty_dedup_lsh_params(t, perms, bp, rp) != lib.TY_OK:
            raise ValueError("threshold wants a number in (0, 1), not %r" % (threshold,))
        do.bands, do.rows = bp[0], rp[0]
    keepalive: List[Any] = []
    to = _align_opts(align, keepalive)
    msg = ffi.new("char[256]")
    if lib.ty_dedup_opts_check(do, msg, 256) != lib.TY_OK:
        raise ValueError(_s(msg))
    return _dedup_run(docs, do, to, keepalive, id_field, text_field)


def _dedup_run(docs: Iterable[Any], do: Any, to: Any, keepalive: List[Any], id_field: str,
               text_field: str) -> Iterator[Decision]:
    dd = ffi.gc(lib.tyx_dedup_new(do, to), lib.ty_dedup_free)
    if dd == ffi.NULL:
        raise MemoryError("tongyuan: out of memory")
    # one byte a document: whether its id was an int (ids travel as strings in C)
    isint = bytearray()
    it = iter(docs)
    i = 0
    for d in it:
        ident, text = _pair(d, id_field, text_field, i)
        if isinstance(ident, bool) or not isinstance(ident, (str, int)):
            raise TypeError("document %d: id must be str or int, not %s"
                            % (i, type(ident).__name__))
        nb = (ident if isinstance(ident, str) else str(ident)).encode("utf-8", "surrogatepass")
        if b"\0" in nb:
            raise ValueError("document %d: id contains a NUL character" % i)
        tb = _text("text", text)
        isint.append(0 if isinstance(ident, str) else 1)
        del d, ident, text
        rc = lib.ty_dedup_add(dd, nb, tb, len(tb))
        if rc != lib.TY_OK:
            _raise(rc, lib.ty_dedup_errmsg(dd))
        i += 1
    rc = lib.ty_dedup_finish(dd)
    if rc != lib.TY_OK:
        _raise(rc, lib.ty_dedup_errmsg(dd))
    return _decisions(dd, isint, keepalive)


def _decisions(dd: Any, isint: bytearray, keepalive: List[Any]) -> Iterator[Decision]:
    r = ffi.new("ty_dedup_result_t *")
    SIZE_MAX = int(ffi.cast("size_t", -1))

    def ident(j: int) -> Union[str, int]:
        s = ffi.string(lib.ty_dedup_name(dd, j)).decode("utf-8", "surrogatepass")
        return int(s) if isint[j] else s

    for j in range(lib.ty_dedup_count(dd)):
        if lib.ty_dedup_result(dd, j, r) != lib.TY_OK:
            _raise(lib.TY_EINVAL, lib.ty_dedup_errmsg(dd))
        if r.err != lib.TY_OK:
            yield Decision(ident(j), None, True, None, None, None, 1,
                           _s(lib.ty_strerror(r.err)))
            continue
        dup = r.dup_of != SIZE_MAX
        yield Decision(ident(j), int(r.cluster), bool(r.keep),
                       ident(int(r.dup_of)) if dup else None,
                       float(r.similarity) if dup else None,
                       float(r.containment) if dup else None, int(r.cluster_size))
