/*
 * mdedup.h — private to the MPI part's deduplication: the handle (mdedup.c: reading,
 * numbering, the rounds of exact and near mode, the join on rank 0) and spun mode's rounds
 * (mdedup_spun.c); the saved state (mdedup_state.c: --save-index, --against). Not installed.
 */
#ifndef TY_MPI_MDEDUP_H
#define TY_MPI_MDEDUP_H

#include "dedup.h"
#include "xchg.h"

typedef struct {                /* a document this rank read (and sketched) */
    uint32_t g, ncp, ntok, nsh; /* g: local number until finish, then global */
    int err;
    uint64_t ex_lo, ex_hi;
    uint64_t name; /* offset in lnames */
    uint64_t coff; /* spun: its zstd-compressed text in ctexts */
    uint32_t clen, len;
    uint8_t indexed; /* spun: an original (no link), kept for later alignments */
    uint8_t refused; /* over the size limit: no text; its message follows its name in lnames */
} own_t;

typedef struct { /* a link, for rank 0 (begins as pair_t: ty__md_cmp_pair) */
    uint32_t g, other;
    float sim, cont;
} lnk_t;

typedef TY_VEC(lnk_t) lvec_t;

typedef struct { /* exact key record */
    uint64_t key, hi;
    uint32_t g, pad;
} xrec_t;

typedef struct {
    uint32_t g, first;
} pair_t;

typedef struct spun spun_t; /* spun mode's round state (mdedup_spun.c) */

struct ty_mdedup {
    ty__rules_t R;
    ty__mpi_t x;
    ty_dedup_event_fn fn;
    void *user;
    ty_doc_t *doc;
    ty__nearbuf_t nb;
    size_t round_docs; /* documents of all ranks per round (global numbers) */
    size_t rlo, rn;    /* this round: own[rlo, rlo + rn) */
    uint64_t *starts;  /* after finish's count exchange: first global number of each rank's
                          share, [size] = all documents */
    TY_VEC(own_t)
    own; /* own[0, lold): the earlier run's documents this rank holds; then
            every document this rank read, in its input order */
    /* --against: the earlier run's documents are numbered 0 .. nold - 1, before this run's;
     * rank r holds [r oblk, (r + 1) oblk) of them (their signatures or texts) */
    uint64_t nold, oblk;
    size_t lold;
    size_t earlier; /* documents not this run's to write: nold + the saved last batch's */
    int replay;     /* adding the saved last batch: no error events (reported by its run) */
    /* --save-index (mdedup_state.c) */
    char *save_dir;
    ty__sw_t *save; /* rank 0: written in finish, renamed by ty_mdedup_commit_state() */
    int lockfd;
    int saved;
    TY_VEC(char) lnames;   /* their names */
    TY_VEC(uint32_t) sigs; /* near: perms per document owned */
    ty__xmap_t keys;       /* key owner: exact key -> first (spun: first indexed) document */
    ty__map_t bands;       /* key owner, near: band key -> first document */
    /* spun */
    TY_VEC(char) ctexts; /* compressed texts of the documents this rank read */
    ZSTD_CCtx *cctx;
    ZSTD_DCtx *dctx;
    uint32_t *hf;    /* [distinct minimizers, tokens] of the documents g with g mod N = this
                        rank (dealt here in their round), at g / N */
    ty__mztab_t gmz; /* key owner: minimizers of the indexed documents */
    spun_t *sp;
    /* rank 0 */
    TY_VEC(uint64_t) noff; /* per document: its name in names */
    TY_VEC(char) names;
    ty__clusters_t clu; /* per document, union-find and best link (cluster.c) */
    ty_dedup_stats_t st;
    ty_mdedup_stats_t ms;
    int failed; /* agreed, or stranded: the handle is dead */
    int finished;
};

/* qsort orders: exact key records by document; pairs (and links) by document, then the
 * other document. */
int ty__md_cmp_xrec(const void *x, const void *y);
int ty__md_cmp_pair(const void *x, const void *y);

/* The rank whose share holds document g (an earlier run's: the rank holding its block). */
int ty__md_owner_of_doc(const ty_mdedup_t *m, size_t g);
/* Index of document g (one this rank owns) among this rank's documents. */
static inline size_t ty__md_local(const ty_mdedup_t *m, size_t g)
{
    if (g < m->nold)
        return g - (size_t)(m->oblk * (uint64_t)m->x.rank);
    return g - (size_t)m->starts[m->x.rank] + m->lold;
}

/* Read one document (sketched as dedup.c's phase A does), as ty_mdedup_add; refused: a
 * document refused before (the saved last batch, text NULL), with its message. */
void ty__md_sketch(ty_mdedup_t *m, const char *name, const char *text, size_t len,
                   const char *refused);
/* The state (mdedup_state.c), collective: the documents [0, n) processed, [n, all) the
 * last batch, saved unprocessed (spun). Rank 0 writes it to m->save. */
int ty__md_write_state(ty_mdedup_t *m, uint64_t n);
void ty__md_state_free(ty_mdedup_t *m);

/* Spun mode (mdedup_spun.c). */
spun_t *ty__spun_new(ty_mdedup_t *m);
void ty__spun_free(spun_t *s);
/* Room for the facts of the documents this rank is home to (after the numbering). */
int ty__spun_start(ty_mdedup_t *m, uint64_t total);
/* One round, documents [lo, lo + round_docs): *links gets the round's links, on every
 * rank. */
int ty__spun_round(ty_mdedup_t *m, uint64_t lo, lvec_t *links);
/* The popular texts carried over (saved and loaded with the state). */
ty__carry_t *ty__spun_carry(spun_t *s);

#endif
