/*
 * dedup_impl.h — private to the one-process engine: the handle (struct ty_dedup) and its
 * records, shared by dedup.c (the batches and their phases) and dedup_state.c (what of the
 * handle is saved with --save-index and loaded with --against). The MPI part does not see it.
 */
#ifndef TY_DEDUP_IMPL_H
#define TY_DEDUP_IMPL_H

#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "dedup.h"

#define NONE TY__NONE

/* ---- what is spilled to disk (dedup_spill.c) ---------------------------------------------- */

/* The temporary directory: made when the first file is needed (dir "" until then), removed by
 * ty__spill_end(); its files have no names. */
typedef struct {
    char *parent;        /* opts.tmp_dir, copied (NULL: $TMPDIR or /tmp) */
    char dir[4096];      /* the directory, filled in place by mkdtemp (ty_dedup_tmp_dir) */
    uint64_t budget;     /* bytes the engine may hold (opts.memory or the default) */
    uint64_t disk_bytes; /* written to disk so far */
    uint64_t disk_now;   /* in the files open now (runs merged away are closed: freed) */
    uint64_t disk_peak;  /* the most disk_now was */
    uint32_t spills;     /* times the budget was passed */
    uint32_t merges;     /* runs merged */
    uint32_t bgmerges;   /* ...of them on a thread of their own, beside the batches */
} ty__spill_t;
void ty__spill_end(ty__spill_t *s);
/* Half of the machine's memory (or of the cgroup's limit, when lower). */
uint64_t ty__spill_default_budget(void);

/* An append-only store of bytes: offsets [0, base) in the file fd, [base, n) in chunks. */
typedef struct {
    TY_VEC(char *) chunks;
    uint64_t base, n;
    int fd; /* -1: nothing on disk */
} ty__blobs_t;
/* Append n bytes; their offset in *off. TY_ENOMEM. */
int ty__blobs_put(ty__blobs_t *b, const void *p, size_t n, uint64_t *off);
/* The n bytes at off: a pointer into memory, or copied into scratch (n bytes); NULL when the
 * file could not be read. Read-only: any number of threads at once, none putting. */
const char *ty__blobs_get(const ty__blobs_t *b, uint64_t off, size_t n, char *scratch);
/* The same with scratch *buf grown to *cap as needed (NULL also when out of memory). */
const char *ty__blobs_read(const ty__blobs_t *b, uint64_t off, size_t n, char **buf, size_t *cap);
/* Move the memory part to the file (made in s's directory on first use). TY_EIO with a message
 * in err naming tmp_dir. */
int ty__blobs_spill(ty__blobs_t *b, ty__spill_t *s, char *err);
void ty__blobs_free(ty__blobs_t *b); /* and ready for use again (fd -1) */
static inline uint64_t ty__blobs_mem(const ty__blobs_t *b) { return b->n - b->base; }

/* Sorted runs of a table of first documents: records of rec bytes (at most TY__RUN_MAX_REC),
 * the first 8 a key held once in all the runs and the memory table together. */
#define TY__RUN_MAX_REC 24
typedef struct {
    int fd;
    uint64_t n;      /* records */
    uint64_t *fence; /* the first key of each block */
    uint64_t *bloom; /* a Bloom filter of the keys (NULL: freed for a merge, every key may be)... */
    uint64_t nblk;   /* ...of nblk blocks of 512 bits */
    int pfd;         /* with join: the records' postings, in the records' order (-1: none)... */
    uint64_t pn;     /* ...of pn bytes */
} ty__srun_t;
typedef struct ty__bgmerge ty__bgmerge_t; /* a merge on a thread of its own (spill.c) */
typedef struct {
    size_t rec;
    TY_VEC(ty__srun_t) r;
    uint64_t n;   /* records in all */
    uint32_t ver; /* changed whenever a run is added or runs are merged */
    /* NULL: a key is in one run. Else a key may be in several, each run has a postings file
     * (pfd), and merging runs gives the n records of a key, the oldest run's first, each with
     * a reader of its run's postings (src), to join, which writes the merged record to out
     * and its postings through dst, the merged run's (dedup_spill.c's readers and writers;
     * returns 0 or an errno). */
    int (*join)(void *cctx, const char *const *recs, void *const *src, size_t n, char *out,
                void *dst, ty__u32vec_t *scratch);
    void *cctx;
    /* async: merges run on a thread of their own, beside the look-ups (join may then be
     * called there: it must read only what does not change, and scratch is its own); bg: the
     * one running, installed by ty__sruns_poll, _add, _merge_all when done */
    int async;
    ty__bgmerge_t *bg;
} ty__sruns_t;
/* n records, get(ctx, i, rec) giving record i in key order, as a new run, with postings file
 * pfd of pn bytes (-1, 0: none; the run's from here, closed on failure too); runs merged as
 * needed. beside (NULL: none) writes the postings file meanwhile, on a second thread when
 * threads > 1 (get must not depend on it): it returns 0 or an errno and gives the file's bytes
 * in place of pn. TY_EIO, TY_ENOMEM. */
typedef void (*ty__rec_fn)(const void *ctx, size_t i, char *rec);
int ty__sruns_add(ty__sruns_t *rs, size_t n, ty__rec_fn get, const void *ctx, int pfd, uint64_t pn,
                  int (*beside)(void *bctx, uint64_t *pn), void *bctx, int threads, ty__spill_t *s,
                  char *err);
/* The record of key into out: 1, 0 when no run has it, TY_EIO. Any number of threads.
 * _in: in run i only (runs are oldest first). */
int ty__sruns_find(const ty__sruns_t *rs, uint64_t key, void *out);
int ty__sruns_find_in(const ty__sruns_t *rs, size_t i, uint64_t key, void *out);
/* A merge that has finished on its thread (rs->async) put in place of the runs it merged, and
 * the next one started. TY_EIO, TY_ENOMEM. */
int ty__sruns_poll(ty__sruns_t *rs, ty__spill_t *s, char *err);
/* All the runs merged into one (a merge running waited for). TY_EIO, TY_ENOMEM. */
int ty__sruns_merge_all(ty__sruns_t *rs, ty__spill_t *s, char *err);
/* fn on every record, run by run (each in key order). TY_EIO, TY_ENOMEM. */
int ty__sruns_each(const ty__sruns_t *rs, void (*fn)(void *ctx, const char *rec, size_t n),
                   void *ctx);
uint64_t ty__sruns_mem(const ty__sruns_t *rs); /* the fences and filters held */
void ty__sruns_free(ty__sruns_t *rs);

/* ---- containers ------------------------------------------------------------------------- */

/* Append-only storage in chunks that never move: the names. */
typedef struct {
    TY_VEC(char *) chunks;
    size_t used, cap, chunk_size, bytes;
} arena_t;

static inline char *arena_put(arena_t *a, const void *p, size_t n, int nul)
{
    size_t need = n + (nul ? 1 : 0);
    if (!a->chunks.n || a->cap - a->used < need) {
        size_t cs = need > a->chunk_size ? need : a->chunk_size;
        char *c = malloc(cs);
        if (!c)
            return NULL;
        if (ty_vec_push(a->chunks, c)) {
            free(c);
            return NULL;
        }
        a->used = 0;
        a->cap = cs;
        a->bytes += cs;
    }
    char *dst = a->chunks.a[a->chunks.n - 1] + a->used;
    if (n)
        memcpy(dst, p, n);
    if (nul)
        dst[n] = 0;
    a->used += need;
    return dst;
}

static inline void arena_free(arena_t *a)
{
    for (size_t i = 0; i < a->chunks.n; i++)
        free(a->chunks.a[i]);
    free(a->chunks.a);
    memset(a, 0, sizeof(*a));
}

/* ---- the handle ---------------------------------------------------------------------------- */

typedef struct {
    const char *name;   /* in the names arena */
    uint64_t coff;      /* spun, indexed: zstd frame of the text, at this offset of texts */
    uint32_t clen, len; /* compressed and original bytes of the text */
    uint32_t ntok;      /* tokens */
    uint32_t nmz;       /* spun: distinct minimizers; near: distinct shingles */
    uint8_t indexed;
} drec_t;

typedef struct {
    uint32_t other;
    float sim, cont;
    ty_passage_t *ps; /* evidence (opts.evidence), malloc()ed */
    uint32_t nps;
} link_t;

typedef struct {
    size_t text_off, len; /* in the batch text buffer */
    ty_doc_t *doc;        /* spun: kept for the batch (in-batch candidates are aligned) */
    int err;
    char *msg;
    ty__facts_t f;
    uint32_t nsh;      /* near: distinct shingles */
    uint32_t ex_first; /* spun: earlier batch document with the same exact key */
    ty__mzs_t mzs;     /* spun: minimizers (seeds for the boilerplate mask, distinct sorted) */
    ty__gsum_t gs;     /* spun: its cover-group summary (ty__gsum_make)... */
    uint64_t *gh;      /* ...in these when sampled */
    uint32_t *gpos;
    size_t gcap;
    char *ctext; /* spun: compressed text */
    size_t clen, ccap;
    TY_VEC(link_t) links;
    uint32_t *mzbase; /* spun, with runs: documents holding mzs.mz[i] in the runs (probe_doc; NULL
                       * when it did not run), for index_doc to read in order */
} bdoc_t;

/* Per-thread scratch, kept across batches. */
typedef struct {
    ty__verifier_t vf;
    ty_doc_t *doc; /* exact/near: the document; spun: a stored candidate */
    ZSTD_CCtx *cctx;
    ty__unpacker_t up;
    ty__nearbuf_t nb;
    ty__counter_t cnt;
    ty__candvec_t cands;
    char *cbuf; /* a stored candidate's compressed text, read back from disk */
    size_t ccap;
    ty_seed_t *seeds; /* of the stored candidate */
    size_t nseeds;
    TY_VEC(const ty__kv_t *) gp, bp; /* per distinct minimizer of the document: its slots */
    TY_VEC(uint32_t) df;             /* ...and its document frequency */
    TY_VEC(size_t) gs, bs;           /* scratch: home slots */
    ty__coverbuf_t cb;               /* scratch: cover groups */
    size_t candidates;               /* stats */
    struct ty_dedup *dd;             /* phase B: the document being verified */
    size_t j;
    int rc;
    char err[TY_ERRMSG_SIZE];
} worker_t;

struct ty_dedup {
    ty__rules_t R;
    ty_dedup_event_fn fn;
    void *user;
    TY_VEC(drec_t) docs;
    arena_t names;
    ty__blobs_t texts;      /* spun: the compressed texts of the indexed documents */
    ty__blobs_t sigs;       /* near: every document's signature, perms x 4 bytes at g x that */
    uint32_t *bsigs;        /* near: the batch's signatures (batch x perms) */
    char *sigbuf;           /* near: one signature read back */
    ty__spill_t sp;         /* the memory budget and the temporary directory */
    size_t grow[3];         /* the most entries one batch added to bands, ex, gmz (ty__dd_budget) */
    size_t bmem;            /* the most bytes one batch's slots held (texts, tokens, sketches) */
    ty__sruns_t exr, bandr; /* ex and bands written out when the budget was passed */
    ty__xmap_t ex;          /* exact key -> first document (spun: first indexed) */
    ty__map_t bands;        /* near: band key -> first document */
    uint32_t *seen;         /* near: the first documents a new one was linked to (bands) */
    ty__mztab_t gmz;        /* spun: minimizer -> df, document or postings */
    ty__sruns_t mzr;        /* spun: gmz written out when the budget was passed, each run
                             * with its postings file */
    uint32_t *brdf, *broff; /* spun, with mzr: per bmz slot, its df in mzr and its documents
                             * there (at rpost[broff]: n, documents) */
    size_t brcap;
    ty__u32vec_t rpost;
    /* spun, with mzr: what the runs gave for the keys found in them, valid while rcver is
     * mzr.ver (a spill brings it up to date: rc_fold): key -> at (val) in rcpool: df sum in the
     * runs (NONE past it), n, and the n documents when the sum is at most max_df
     * (ty__dd_mz_batch); aux: the last spill period the key was asked in */
    ty__map_t rcache;
    ty__u32vec_t rcpool;
    size_t rcdead;    /* words of rcpool no entry points to any more (rc_fold) */
    size_t rcdropped; /* keys of rcache dropped (val NONE) */
    uint32_t rcver;
    uint32_t rcepoch; /* spills so far: a key's aux is the last it was asked in */
    uint64_t rchits;  /* batch keys the cache answered (tests) */
    uint64_t rckept;  /* keys the cache kept through spills, summed over them (tests) */
    uint64_t rcgrown; /* ...of them, those the spilled table added to (tests) */
    uint64_t nmz;     /* spun: distinct minimizers indexed */
    /* the batch being filled / processed */
    bdoc_t *batch;
    size_t nb, base;
    TY_VEC(char) btext;
    uint64_t *bkeys;      /* near: bands per batch document */
    ty__map_t bmz;        /* spun: minimizer -> batch df (val: the batch groups holding it),
                           * its documents (aux: offset in occ of its list, in input order:
                           * every holder, or the first of each group past max_df holders) */
    ty__xmap_t bex;       /* spun: exact key -> first batch document */
    TY_VEC(uint32_t) occ; /* batch documents of each batch minimizer: [n, docs...] */
    TY_VEC(uint32_t) grp, stamp, gnmz; /* spun: batch groups (ty__batch_groups), scratch */
    TY_VEC(const uint64_t *) gmzp;
    ty__map_t gtab;
    ty__u32vec_t glists;
    TY_VEC(ty__gsum_t) gsum; /* spun: cover groups: summaries, edges (ty__cover_edges) */
    ty__u32vec_t edges;
    ty__carry_t carry; /* spun: popular texts carried over (ty__groups_join) */
    worker_t *wk;
    int nwk;
    int phase;
    /* results */
    int finished, failed;
    ty__clusters_t clu; /* per document: union-find, best link; keepers after finish */
    ty_dedup_stats_t st;
    char err[TY_ERRMSG_SIZE];
    /* the saved state (dedup_state.c) */
    char *save_dir; /* ty_dedup_save_state(): written by ty_dedup_finish()... */
    ty__sw_t *save; /* ...to a temporary file, renamed by ty_dedup_commit_state() */
    int lockfd;     /* save_dir/dedup.lock, held from ty_dedup_save_state() on (-1: none) */
};

/* ty_dedup_add(); refused: a document refused before (the saved last batch of an earlier run,
 * text NULL), with the message it had (dedup.c). */
int ty__dd_add_doc(ty_dedup_t *dd, const char *name, const char *text, size_t len,
                   const char *refused);
/* The state of dd into a temporary file in dd->save_dir, kept in dd->save until
 * ty_dedup_commit_state() renames it (dedup_state.c). */
int ty__dd_write_state(ty_dedup_t *dd);
/* After a batch (and a loaded state): when the handle holds more than its budget, what can go
 * to disk goes (dedup.c). TY_EIO with a message. */
int ty__dd_budget(ty_dedup_t *dd);

/* The tables of first documents, asked in memory and then in their runs (dedup_spill.c):
 * exact keys as ty__xmap_get() (any number of threads; TY_EIO) and ty__xmap_first(), band
 * keys as ty__map_put() (*first: the key's first document, NONE when g is, now); the memory
 * tables written out as runs. TY_EIO and TY_ENOMEM with a message. */
int ty__dd_ex_get(const ty_dedup_t *dd, uint64_t lo, uint64_t hi, uint32_t *g);
int ty__dd_ex_first(ty_dedup_t *dd, uint64_t lo, uint64_t hi, uint32_t g, uint32_t *first);
int ty__dd_band(ty_dedup_t *dd, uint64_t key, uint32_t g, uint32_t *first);
int ty__dd_spill_tables(ty_dedup_t *dd);

/* The bytes of the cache of the runs' look-ups (dedup_spill.c). */
uint64_t ty__dd_rc_mem(const ty_dedup_t *dd);
/* Spun mode's minimizer table in its runs (dedup_spill.c): key's df summed over the runs and,
 * when docs is not NULL, its documents appended to docs while the sum is at most max_df (any
 * number of threads with docs NULL; TY_EIO, TY_ENOMEM); the batch's minimizers (bmz) looked up
 * into brdf, broff and rpost before phase B (nothing without runs; with a message); fn on each
 * minimizer of the one run (documents NULL past max_df) once ty__dd_mz_merge() wrote the memory
 * table out and merged the runs into one (with a message; TY_EIO, TY_ENOMEM). */
int ty__dd_mz_df(const ty_dedup_t *dd, uint64_t key, uint32_t *df);
int ty__dd_mz_batch(ty_dedup_t *dd);
typedef void (*ty__mz_fn)(void *ctx, uint64_t key, uint32_t df, const uint32_t *docs);
int ty__dd_mz_merge(ty_dedup_t *dd);
int ty__dd_mz_each(ty_dedup_t *dd, ty__mz_fn fn, void *ctx); /* after ty__dd_mz_merge() */

#endif
