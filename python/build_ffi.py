"""build_ffi.py — the cffi (API mode) description of the extension tongyuan._tongyuan.

API mode: cffi writes a C source that includes tongyuan.h and is compiled by the C compiler,
so struct layouts and constants come from the header itself (nothing is restated by hand in a
way that could drift), and every call into C releases the GIL. The extension links the
library's position-independent archive ($TY_BUILD/pic/libtongyuan_pic.a, made by setup.py
through `make`), so the installed package does not need an installed libtongyuan.so.

A few small helpers (tyx_*) run a whole operation — load both texts and align; load a query
and search the index — in one C call, so the GIL is released once for all of it.
"""
import os
import shlex
import subprocess

from cffi import FFI

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("TY_BUILD", "build")
if not os.path.isabs(BUILD):
    BUILD = os.path.join(ROOT, BUILD)
PKGS = "libutf8proc lmdb jansson zlib libzstd libxxhash"

CDEF = """
#define TY_OK ...
#define TY_ENOMEM ...
#define TY_EINVAL ...
#define TY_EIO ...
#define TY_EUTF8 ...
#define TY_EBINARY ...
#define TY_ETOOBIG ...
#define TY_ECORRUPT ...
#define TY_EVERSION ...
#define TY_ENOTFOUND ...
#define TY_EBUSY ...
#define TY_EEXIST ...
#define TY_EEMPTY ...
#define TY_EENCODING ...
#define TY_EUNSUPPORTED ...
#define TY_UTF8_STRICT ...
#define TY_UTF8_REPLACE ...
#define TY_INDEX_READ ...
#define TY_INDEX_WRITE ...
#define TY_INDEX_CREATE ...
#define TY_DEDUP_EXACT ...
#define TY_DEDUP_NEAR ...
#define TY_DEDUP_SPUN ...
#define TY_KEEP_FIRST ...
#define TY_KEEP_LONGEST ...

const char *ty_strerror(int err);
const char *ty_version(void);
int ty_format_parse(const char *name, int *format);

typedef struct ty_opts {
    int k; int w; int max_occ; int max_gap; double gap_cost; double drift_cost;
    int min_chain; int merge_gap; int min_len; double min_score; int snap; int utf8_mode;
    size_t max_doc_bytes; int input_format; const char *encoding;
    ...;
} ty_opts_t;
void ty_opts_init(ty_opts_t *o);
int ty_opts_check(const ty_opts_t *o, char *msg, size_t msg_size);

typedef struct ty_doc ty_doc_t;
ty_doc_t *ty_doc_new(void);
void ty_doc_free(ty_doc_t *d);
int ty_doc_load_mem(ty_doc_t *d, const char *name, const void *buf, size_t len, const ty_opts_t *o);
int ty_doc_load_file(ty_doc_t *d, const char *path, const ty_opts_t *o);
const char *ty_doc_errmsg(const ty_doc_t *d);
const char *ty_doc_name(const ty_doc_t *d);
const char *ty_doc_text(const ty_doc_t *d, size_t *len);
size_t ty_doc_ntokens(const ty_doc_t *d);

typedef struct ty_passage {
    size_t src_off, src_len, sus_off, sus_len;
    size_t src_byte_off, src_byte_len, sus_byte_off, sus_byte_len;
    size_t src_tok_beg, src_tok_end, sus_tok_beg, sus_tok_end;
    size_t matched; double score;
    ...;
} ty_passage_t;
typedef struct ty_aligner ty_aligner_t;
ty_aligner_t *ty_aligner_new(const ty_opts_t *o);
void ty_aligner_free(ty_aligner_t *a);
const char *ty_aligner_errmsg(const ty_aligner_t *a);

typedef struct ty_index ty_index_t;
typedef struct ty_index_opts { int k; int w; int zstd_level; ...; } ty_index_opts_t;
void ty_index_opts_init(ty_index_opts_t *o);
typedef struct ty_index_stats {
    uint32_t format; int k, w; uint64_t norm_fingerprint; uint64_t docs; uint64_t codepoints;
    uint64_t bytes; uint64_t stored_bytes; uint64_t postings; uint64_t keys; uint32_t segments;
    uint64_t file_bytes; uint64_t map_bytes;
    ...;
} ty_index_stats_t;
ty_index_t *ty_index_new(void);
void ty_index_free(ty_index_t *ix);
const char *ty_index_errmsg(const ty_index_t *ix);
int ty_index_open(ty_index_t *ix, const char *path, int mode, const ty_index_opts_t *io);
int ty_index_add_doc(ty_index_t *ix, const char *name, const void *text, size_t len,
                     const char *origin, const ty_opts_t *o, uint32_t *id);
int ty_index_finish(ty_index_t *ix);
int ty_index_stats(ty_index_t *ix, ty_index_stats_t *st);
int ty_index_get_doc(ty_index_t *ix, uint32_t id, ty_doc_t *d, const ty_opts_t *o);
int ty_index_doc_info(ty_index_t *ix, uint32_t id, char *name, size_t name_size, char *file,
                      size_t file_size, uint64_t *line);
int ty_index_find(ty_index_t *ix, const char *name, uint32_t *id);
int ty_index_delete(ty_index_t *ix, const char *name, uint32_t *id);
int ty_index_is_deleted(ty_index_t *ix, uint32_t id);
int ty_index_deleted_count(ty_index_t *ix, uint64_t *n);

typedef struct ty_query_opts {
    size_t max_sources; size_t max_candidates; uint32_t min_shared; double max_df_frac;
    uint32_t max_df; uint32_t min_df_cut; size_t max_also; size_t postings_per_minimizer;
    ...;
} ty_query_opts_t;
void ty_query_opts_init(ty_query_opts_t *q);
typedef struct ty_source {
    uint32_t id; const ty_doc_t *doc; uint32_t shared; const ty_passage_t *passages;
    size_t npassages; size_t covered;
    ...;
} ty_source_t;
typedef struct ty_searcher ty_searcher_t;
ty_searcher_t *ty_searcher_new(ty_index_t *ix, const ty_opts_t *o, const ty_query_opts_t *q);
void ty_searcher_free(ty_searcher_t *s);
const char *ty_searcher_errmsg(const ty_searcher_t *s);

typedef struct ty_dedup ty_dedup_t;
typedef struct ty_dedup_opts {
    int mode; int keep; int threads; size_t batch; int evidence; int ngram; int bands, rows;
    uint64_t seed; int k, w; uint32_t max_df; uint32_t min_shared; double min_shared_frac;
    int max_candidates; double min_containment;
    ...;
} ty_dedup_opts_t;
void ty_dedup_opts_init(ty_dedup_opts_t *o);
int ty_dedup_opts_check(const ty_dedup_opts_t *o, char *msg, size_t msg_size);
int ty_dedup_lsh_params(double threshold, int perms, int *bands, int *rows);
ty_dedup_t *tyx_dedup_new(const ty_dedup_opts_t *o, const ty_opts_t *to);
void ty_dedup_free(ty_dedup_t *dd);
const char *ty_dedup_errmsg(const ty_dedup_t *dd);
int ty_dedup_add(ty_dedup_t *dd, const char *name, const char *text, size_t len);
int ty_dedup_finish(ty_dedup_t *dd);
size_t ty_dedup_count(const ty_dedup_t *dd);
const char *ty_dedup_name(const ty_dedup_t *dd, size_t i);
typedef struct ty_dedup_result {
    int err; size_t cluster; size_t cluster_size; int keep; size_t dup_of; double similarity;
    double containment;
    ...;
} ty_dedup_result_t;
int ty_dedup_result(const ty_dedup_t *dd, size_t i, ty_dedup_result_t *r);

int tyx_compare(ty_aligner_t *al, ty_doc_t *src, ty_doc_t *sus, const char *a, size_t alen,
                const char *b, size_t blen, const ty_opts_t *o, const ty_passage_t **out,
                size_t *n, int *stage);
int tyx_compare_files(ty_aligner_t *al, ty_doc_t *src, ty_doc_t *sus, const char *a,
                      const char *b, const ty_opts_t *o, const ty_passage_t **out, size_t *n,
                      int *stage);
int tyx_check(ty_searcher_t *s, ty_doc_t *q, const char *name, const char *text, size_t len,
              const ty_opts_t *o, const ty_source_t **out, size_t *n, int *stage);
"""

SOURCE = r"""
#include "tongyuan.h"

/* stage: 0 the source failed to load, 1 the suspect, 2 the alignment (for the message) */
static int tyx_align(ty_aligner_t *al, ty_doc_t *src, ty_doc_t *sus, const ty_passage_t **out,
                     size_t *n, int *stage)
{
    *stage = 2;
    return ty_compare(al, src, sus, out, n);
}

static int tyx_compare(ty_aligner_t *al, ty_doc_t *src, ty_doc_t *sus, const char *a,
                       size_t alen, const char *b, size_t blen, const ty_opts_t *o,
                       const ty_passage_t **out, size_t *n, int *stage)
{
    int rc;
    *stage = 0;
    if ((rc = ty_doc_load_mem(src, "source", a, alen, o)) != TY_OK)
        return rc;
    *stage = 1;
    if ((rc = ty_doc_load_mem(sus, "suspect", b, blen, o)) != TY_OK)
        return rc;
    return tyx_align(al, src, sus, out, n, stage);
}

static int tyx_compare_files(ty_aligner_t *al, ty_doc_t *src, ty_doc_t *sus, const char *a,
                             const char *b, const ty_opts_t *o, const ty_passage_t **out,
                             size_t *n, int *stage)
{
    int rc;
    *stage = 0;
    if ((rc = ty_doc_load_file(src, a, o)) != TY_OK)
        return rc;
    *stage = 1;
    if ((rc = ty_doc_load_file(sus, b, o)) != TY_OK)
        return rc;
    return tyx_align(al, src, sus, out, n, stage);
}

static int tyx_check(ty_searcher_t *s, ty_doc_t *q, const char *name, const char *text,
                     size_t len, const ty_opts_t *o, const ty_source_t **out, size_t *n,
                     int *stage)
{
    int rc;
    *stage = 0;
    if ((rc = ty_doc_load_mem(q, name, text, len, o)) != TY_OK)
        return rc;
    *stage = 1;
    return ty_searcher_check(s, q, out, n);
}

/* No event callback: a document that cannot be tokenized is left out, and its decision
 * carries the error (ty_dedup_result_t.err) */
static ty_dedup_t *tyx_dedup_new(const ty_dedup_opts_t *o, const ty_opts_t *to)
{
    return ty_dedup_new(o, to, NULL, NULL);
}
"""


def pkg(flag):
    try:
        out = subprocess.run(["pkg-config", flag] + PKGS.split(), check=True,
                             capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return []
    return shlex.split(out)


ffibuilder = FFI()
ffibuilder.cdef(CDEF)
ffibuilder.set_source(
    "tongyuan._tongyuan",
    SOURCE,
    include_dirs=[os.path.join(ROOT, "include")],
    extra_compile_args=["-std=c11", "-D_GNU_SOURCE"],
    extra_objects=[os.path.join(BUILD, "pic", "libtongyuan_pic.a")],
    extra_link_args=pkg("--libs") + ["-ldl", "-lpthread", "-lm", "-Wl,--exclude-libs,ALL"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
