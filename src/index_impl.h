/*
 * index_impl.h — the corpus index's handle and the calls between its source files. Private
 * to the library; not installed. The on-disk format is index.h.
 *
 * An index is N parts; a part is one LMDB file (ty_part_t, index_part.c). An index file is
 * one part; a sharded index (index_shard.c) is a directory of them read as one, a document's
 * global id being its part's base + its id in the part. Everything that reads goes through
 * the parts, so one file and a directory of shards take the same path (search.c, index.c).
 *
 * The files, each calling only those below it (no circles):
 *
 *   index.c         the handle: open (a file or a directory), close, and the public calls
 *                   that read (stats, get_doc, doc_info, find, verify) or compact
 *   index_add.c     ty_index_add_docs(): the threaded reader loop over ty_index_add_doc()'s
 *                   steps
 *   index_write.c   ty_index_add_doc(): prepare a document (tokenize, sketch, compress),
 *                   store it in a write transaction, commit (then merge, index_merge.c)
 *   index_build.c   TY_INDEX_CREATE: the temporary file, names and postings held in memory
 *                   or sorted runs, ty_index_finish() (the rename, under the writer lock)
 *   index_shard.c   a directory of parts: the MANIFEST, the merged histogram, duplicate names
 *   index_del.c     tombstones
 *   index_verify.c  the full consistency check of one part
 *   index_merge.c   posting segments: written from sorted pairs, merged (a build's runs, the
 *                   size tiers, compaction)
 *   index_part.c    one LMDB file: the checks before mapping it, opening and creating it, its
 *                   tables and records, the writer lock, error messages
 *   index_format.c  the record codecs of index.h
 *
 * search.c (queries) reads parts through index_part.c and the codecs.
 */
#ifndef TY_INDEX_IMPL_H
#define TY_INDEX_IMPL_H

#include <lmdb.h>
#include <zstd.h>

#include "hash.h"
#include "index.h"

_Static_assert(TY_HIST_BUCKETS == TY_INDEX_DF_BUCKETS, "df histogram buckets");

/* One LMDB file: a whole index, or one shard of a sharded one. */
typedef struct ty_part {
    MDB_env *env;
    MDB_dbi meta, docs, text, names, files, segs, post;
    char *path; /* the index's path as given, for messages */
    char *file; /* the file open: path, or a build's temporary file */
    index_header_t hdr;
    uint32_t base;     /* global id of its document 0 */
    ZSTD_CDict *cdict; /* the text dictionary (meta "zdict"), if any: shared read-only */
    ZSTD_DDict *ddict;
    int lock_fd; /* TY_INDEX_WRITE: the file, held with flock(LOCK_SH); else -1 */
} ty_part_t;

/* What the MANIFEST of a sharded index says (index_shard.c). */
struct ty_shards {
    uint32_t *first; /* nparts + 1: global id of each shard's document 0; first[n] = docs */
    uint64_t docs;
    uint64_t hist[TY_HIST_BUCKETS]; /* distinct minimizers by document count, all shards */
};

struct ty_index {
    int mode;
    char *path; /* as given */
    index_header_t hdr;
    size_t nparts;
    ty_part_t *part;          /* one for an index file, a shard each for a directory */
    struct ty_shards *shards; /* a sharded index: its MANIFEST (read-only); else NULL */
    struct ty_build *build;   /* TY_INDEX_CREATE until finished (index_build.c) */
    struct ty_wtxn *wtxn;     /* ty_index_add_doc()'s write state, kept for its buffers */
    int finished;             /* TY_INDEX_CREATE: moved into place */
    int dict_decided;         /* the text dictionary trained (or found not worth it) */
    int broken;               /* TY_INDEX_CREATE: a storage error; ty_index_finish() refuses */
    char err[TY_ERRMSG_SIZE];
    char warn[TY_ERRMSG_SIZE]; /* ty_index_warning() */
};

/* The part holding global document id: the last one whose base is at or below it. */
static inline size_t ty__part_of(const ty_index_t *ix, uint32_t id)
{
    size_t lo = 0, hi = ix->nparts - 1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo + 1) / 2;
        if (ix->part[mid].base <= id)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

/* ---- one LMDB file (index_part.c) -----------------------------------------------------------
 * Functions taking err write their message there (TY_ERRMSG_SIZE bytes): the handle's own
 * buffer, or a searcher's (the handle is shared between threads). */

void ty__part_init(ty_part_t *p);  /* empty, closed */
void ty__part_close(ty_part_t *p); /* and free; a closed part is a no-op */
/* Open the index file at path (TY_INDEX_READ or TY_INDEX_WRITE; io: parameters that must
 * match, or NULL). Checks the file before LMDB maps it (a foreign, truncated or damaged
 * file is refused without being written to). TY_INDEX_WRITE takes the writer lock. */
int ty__part_open(ty_part_t *p, const char *path, int mode, const ty_index_opts_t *io, char *err);
/* Create a new index in file (a temporary file, already created empty; path for messages)
 * with the parameters io: tables, header, zero counts. No sync per commit (MDB_NOSYNC). */
int ty__part_create(ty_part_t *p, const char *path, const char *file, const ty_index_opts_t *io,
                    char *err);
/* A message for LMDB error rc (or an errno) while doing `what` on path; returns the TY_E*
 * code (TY_ECORRUPT for a damaged file, TY_EIO else). A write that failed on a full disk says
 * "No space left on device" (LMDB reports a short write as EIO). */
int ty__mdb_err(char *err, const char *path, int rc, const char *what);
/* Begin a transaction on p (flags: 0 to write, MDB_RDONLY to read) into *txn; on failure the
 * message names p's file. */
int ty__part_txn(ty_part_t *p, unsigned flags, MDB_txn **txn, char *err);
int ty__counts_get(ty_part_t *p, MDB_txn *txn, index_counts_t *c, char *err);
int ty__counts_put(ty_part_t *p, MDB_txn *txn, const index_counts_t *c, char *err);
typedef struct {
    uint32_t id;
    seg_rec_t rec;
} seginfo_t;
/* All segment records, in id order; *out malloc()ed. */
int ty__read_segs(ty_part_t *p, MDB_txn *txn, seginfo_t **out, size_t *n, char *err);
/* The counters and all segment records (ty__counts_get, then ty__read_segs). */
int ty__part_summary(ty_part_t *p, MDB_txn *txn, index_counts_t *c, seginfo_t **segs, size_t *n,
                     char *err);
/* A read transaction on a part with its counters and segment records: opened with
 * ty__part_view_open (nothing left open when it fails), ended with ty__part_view_close. */
typedef struct {
    MDB_txn *txn;
    index_counts_t c;
    seginfo_t *seg;
    size_t nseg;
} part_view_t;
int ty__part_view_open(ty_part_t *p, part_view_t *v, char *err);
void ty__part_view_close(part_view_t *v);
/* Store the text dictionary in txn and make p->cdict / p->ddict from it. */
int ty__part_set_dict(ty_part_t *p, MDB_txn *txn, const void *dict, size_t len, char *err);
/* Load document id of p into d (tokenized with o) within txn; the text is decompressed with
 * dctx into *buf (grown as needed). Errors name the file and the document. */
int ty__index_load_doc(ty_part_t *p, MDB_txn *txn, ZSTD_DCtx *dctx, uint32_t id, ty_doc_t *d,
                       const ty_opts_t *o, char **buf, size_t *cap, char *err);
/* 1 if document id has a tombstone in txn, 0 if not, TY_EIO on a read error: searches and
 * ty_index_get_doc() skip deleted documents. */
int ty__index_deleted_in(ty_part_t *p, MDB_txn *txn, uint32_t id);
/* The public reads, on one part with its local ids (index.c adds the bases). */
int ty__part_stats(ty_part_t *p, ty_index_stats_t *st, char *err);
int ty__part_get_doc(ty_part_t *p, uint32_t id, ty_doc_t *d, const ty_opts_t *o, char *err);
int ty__part_doc_info(ty_part_t *p, uint32_t id, char *name, size_t name_size, char *file,
                      size_t file_size, uint64_t *line, char *err);
int ty__part_find(ty_part_t *p, const char *name, uint32_t *id, char *err);

/* The writer lock. Writers (TY_INDEX_WRITE) hold flock(LOCK_SH) on the index file while
 * open; replacing the file (a build's rename) takes flock(LOCK_EX) on it, so a rebuild never
 * swaps the file under a writer that would go on committing into the old, unlinked one.
 * path existing: TY_OK with *fd open and locked exclusively (close it to unlock: after the
 * rename), TY_EBUSY if a writer holds it; path missing: TY_OK with *fd = -1. */
int ty__lock_replace(const char *path, int *fd, char *err);
/* What is at path, for a build about to replace it: TY_OK (nothing, or an index — also one of
 * another version or a damaged one: rebuilding is how those are mended), TY_EEXIST (a file that
 * is not an index: never replaced) or TY_EIO. */
int ty__probe_replace(const char *path, char *err);

/* ---- posting segments (index_merge.c) -------------------------------------------------------- */

typedef struct {
    uint64_t hash;
    uint32_t doc;
    uint32_t pad;
} pair_t;

/* Sort pairs by hash, keeping doc order within equal hashes (stable radix sort). tmp has
 * room for n pairs. */
void ty__sort_pairs(pair_t *a, pair_t *tmp, size_t n);
/* Write sorted pairs as a new segment in *txnp (counts updated). commit_every > 0 (a build's
 * temporary file only): commit every so many bytes of postings, renewing *txnp. */
int ty__segment_from_pairs(ty_part_t *p, MDB_txn **txnp, const pair_t *a, size_t n,
                           index_counts_t *c, size_t commit_every, char *err);
/* Sorted runs in temporary files (a build's postings beyond memory). */
typedef struct ty_runs ty_runs_t;
void ty__runs_free(ty_runs_t *r);
size_t ty__runs_count(const ty_runs_t *r);
/* Spill sorted pairs into a new run: a temporary file beside `near` (unlinked at once). */
int ty__run_from_pairs(ty_runs_t **r, const char *near, const pair_t *a, size_t n, char *err,
                       const char *path);
/* Merge every run into one new segment (as ty__segment_from_pairs). */
int ty__merge_runs(ty_part_t *p, MDB_txn **txnp, ty_runs_t *r, index_counts_t *c,
                   size_t commit_every, char *err);
/* TY_INDEX_WRITE, after a commit: merge segments of similar size, each merge its own
 * transaction. A failure leaves the index as it was committed. */
int ty__merge_tiers(ty_part_t *p, char *err);
/* Merge every segment into one (one transaction). */
int ty__compact(ty_part_t *p, char *err);

/* ---- a full check (index_verify.c) ------------------------------------------------------------
 */

int ty__part_verify(ty_part_t *p, char *err);

/* ---- a new index (index_build.c) --------------------------------------------------------------
 */

/* TY_INDEX_CREATE: the temporary file next to ix->path, its one part, the build state. */
int ty__build_open(ty_index_t *ix, const ty_index_opts_t *io);
/* Close; unless finished, remove the temporary file. */
void ty__build_free(ty_index_t *ix);
/* The names of a new index are kept in memory (a random B-tree lookup per document would map
 * most of the growing file through the kernel's fault-around) and written sorted at the end.
 * 1 if key is there (*id set to its document), 0 if it was added with *id, or TY_ENOMEM. */
int ty__build_name(ty_index_t *ix, const uint8_t key[16], uint32_t *id);
/* Postings of document id (its nh distinct keys): held in memory, spilled to sorted runs
 * beyond run_pairs. */
int ty__build_postings(ty_index_t *ix, uint32_t id, const uint64_t *h, size_t nh, size_t run_pairs);

/* ---- writing documents (index_write.c) --------------------------------------------------------
 */

#define TY_RUN_PAIRS_DEFAULT ((size_t)4 << 20) /* ty_index_add_opts_t.run_pairs */

/* A document made ready to store: tokenized, sketched, compressed. The buffers are the
 * holder's, grown as needed; freed with ty__prep_free(). */
typedef struct {
    size_t ncp, ntok;
    uint8_t *z; /* the text as one zstd frame */
    size_t zlen, zcap;
    uint64_t *h; /* distinct 40-bit minimizer keys */
    size_t nh, hcap;
} ty_prep_t;
void ty__prep_free(ty_prep_t *p);

/* A set of minimizer keys (40-bit, mixed already: the home slot is their bits folded). */
static inline size_t ty__key_home(uint64_t h) { return (size_t)(h ^ (h >> 17)); }
TY_HASH_SET_INIT(ty__keyset, uint64_t, ty__key_home)

/* Per-thread scratch for preparing documents. */
typedef struct {
    ty_doc_t *doc;
    ZSTD_CCtx *cc;
    ty__keyset_t set; /* for deduplicating keys */
} ty_prep_ws_t;
int ty__prep_ws_init(ty_prep_ws_t *ws); /* TY_ENOMEM */
void ty__prep_ws_free(ty_prep_ws_t *ws);

/* Tokenize (with o) and sketch (k, w) the text: p->ncp, ntok, h, nh. A text that cannot be
 * tokenized returns its code with ty_doc_errmsg()'s message in msg (TY_ERRMSG_SIZE), after
 * "ORIGIN:LINE: " for a JSONL record (line > 0). */
int ty__prep_sketch(ty_prep_ws_t *ws, const ty_opts_t *o, int k, int w, const char *name,
                    const char *text, size_t len, const char *origin, uint64_t line, ty_prep_t *p,
                    char *msg);
/* Compress the text into p->z (with the dictionary cd, or at level). */
int ty__prep_compress(ZSTD_CCtx *cc, const ZSTD_CDict *cd, int level, const char *name,
                      const char *text, size_t len, ty_prep_t *p, char *msg);

/* Copy len bytes of src into *dst (NUL-terminated), growing it (*cap bytes): -1 out of memory. */
int ty__copy_str(char **dst, size_t *cap, const char *src, size_t len);

/* A write transaction: its documents are stored one at a time, committed together. */
typedef struct ty_wtxn ty_wtxn_t;
ty_wtxn_t *ty__wtxn_new(void);
void ty__wtxn_free(ty_wtxn_t *t);
int ty__wtxn_begin(ty_index_t *ix, ty_wtxn_t *t);
void ty__wtxn_abort(ty_wtxn_t *t);
uint64_t ty__wtxn_docs(const ty_wtxn_t *t);    /* documents in the index, this one's too */
uint64_t ty__wtxn_pending(const ty_wtxn_t *t); /* documents stored since the begin */
uint64_t ty__wtxn_pending_bytes(const ty_wtxn_t *t);
MDB_txn *ty__wtxn_txn(ty_wtxn_t *t);
/* Store one prepared document: TY_OK with *id; TY_EEXIST if the name is taken (nothing
 * stored; the message in ix->err); or a storage error. run_pairs: see ty__build_postings. */
int ty__wtxn_store(ty_index_t *ix, ty_wtxn_t *t, const char *name, size_t name_len,
                   const char *origin, uint64_t line, size_t len, const ty_prep_t *p,
                   size_t run_pairs, uint32_t *id);
/* Commit (TY_INDEX_WRITE: with the postings as a new segment). On an error nothing of the
 * transaction is stored. */
int ty__wtxn_commit(ty_index_t *ix, ty_wtxn_t *t);
/* After a commit (TY_INDEX_WRITE): merge the size tiers. A merge that fails does not undo the
 * commit: ix->warn says what failed (the merge is tried again after the next commit). */
int ty__wtxn_merge(ty_index_t *ix); /* 1: a warning was written */

/* ---- a directory of parts (index_shard.c) -----------------------------------------------------
 */

/* ix->path is a directory: open it as a sharded index (TY_INDEX_READ only). */
int ty__shards_open(ty_index_t *ix, int mode, const ty_index_opts_t *io);
void ty__shards_free(struct ty_shards *sh);
/* TY_EINVAL with a message: what cannot be done on a sharded (read-only) index. */
int ty__shards_readonly(ty_index_t *ix, const char *what);
/* What ty_index_verify() checks beyond each part: no name in two shards, the manifest's
 * histogram is the shards' merged one. */
int ty__shards_verify(ty_index_t *ix);

#endif
