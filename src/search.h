/*
 * search.h — the searcher's state, shared by its two halves (private to src/): search.c
 * opens the transactions, aligns the candidates and lists the sources (steps 3-4);
 * search_votes.c finds the candidates (steps 1-2). The steps are described in search.c.
 */
#ifndef TY_SEARCH_H
#define TY_SEARCH_H

#include <errno.h>

#include "index_impl.h"

/* The vote table's keys are document ids + 1 (0 marks an empty slot). */
static inline size_t vote_home(uint32_t id1) { return ty__hash_id(id1 - 1); }
TY_HASH_MAP_INIT(vote_tab, uint32_t, uint32_t, vote_home)

/* What a candidate is for (see step 2 at the top). */
enum { ROLE_PRIMARY = 1, ROLE_RIVAL, ROLE_HOLDER, ROLE_NONE };

typedef struct {
    uint32_t id, shared;
    uint32_t group; /* pool index of its primary (its own index for a primary) */
    uint32_t role;
    float frac; /* the share of its primary's minimizers it holds (pool_roles) */
} cand_t;

/* A document with enough votes (count_votes). */
typedef struct {
    uint32_t id, votes;
    uint32_t pool; /* its index in the pool, or UINT32_MAX */
} qual_t;

/* An aligned candidate with passages (before the sources are chosen). */
typedef struct {
    size_t cand; /* index in the pool */
    uint32_t id, shared;
    const ty_doc_t *doc;
    size_t pass_at, npass; /* its passages in s->pass (its own ones, once chosen) */
    size_t covered;        /* suspect tokens its (own) passages cover */
    size_t full;           /* ... all its passages cover */
    size_t matched;        /* suspect tokens its passages match in order */
    size_t also_of;        /* the result whose text it holds; SIZE_MAX: none */
    size_t tmp;
} res_t;

/* A stretch of the suspect (tokens [beg, end)) that a source's passage explains. */
typedef struct {
    size_t beg, end, res;
} claim_t;

/* A holder to list, with the rank of its source and its result (SIZE_MAX: not aligned). */
typedef struct {
    size_t src, res;
    float frac; /* the share of its source's text it holds (see cmp_holder) */
    ty_holder_t h;
} holder_t;

/* One part of the index searched: the index file itself, or one shard of a sharded index. */
typedef struct {
    ty_part_t *ix;
    MDB_txn *txn;
    seginfo_t *segs;
    size_t nsegs;
    uint32_t base;  /* global id of its document 0 */
    uint64_t ndocs; /* as of this query */
} part_t;

/* A minimizer of the query found in one segment of one part (pass 1). */
typedef struct {
    uint32_t qk; /* which query minimizer */
    uint32_t part, seg;
    uint64_t cnt; /* documents in this segment */
    const uint8_t *ids;
    size_t len;
    size_t at, nid; /* its ids in hid (pass 2; nid = 0: cut) */
} hit_t;

struct ty_searcher {
    ty_index_t *ix;
    ty_opts_t o;
    ty_query_opts_t q;
    ty_aligner_t *al;
    part_t *parts;
    size_t nparts;
    TY_VEC(hit_t) hits;
    TY_VEC(uint64_t) qdf;    /* per query minimizer: documents over all parts (sharded) */
    TY_VEC(uint32_t) qfirst; /* per query minimizer: its lowest global id */
    TY_VEC(uint8_t) qfull;   /* per query minimizer: every holder votes */
    TY_VEC(uint32_t) dfhist; /* mark_full() */
    ZSTD_DCtx *dc;
    char *buf;
    size_t cap;
    TY_VEC(qual_t) qual; /* the documents with at least min_shared votes, most first */
    TY_VEC(uint64_t) hashes;
    TY_VEC(uint32_t)
    hid;                    /* every posting of the query's minimizers under the cut (a
                             * hit's ids: hid[at, at + nid)) */
    TY_VEC(uint32_t) slot;  /* per posting in hid: its slot (count_votes) */
    vote_tab_t votes;       /* the votes: document + 1 -> count */
    TY_VEC(uint32_t) tqual; /* per votes slot: its index in qual */
    TY_VEC(uint32_t) tally; /* per pool member: scratch of choose() */
    TY_VEC(uint32_t) fresh; /* per qual document: scratch of pool_more() */
    TY_VEC(cand_t) pool;    /* the documents sharing most minimizers, best first */
    TY_VEC(uint64_t) bits;  /* per pool member: which query minimizers it holds */
    TY_VEC(uint64_t)
    covered;                 /* query minimizers held by a primary; then (w words on) the
                              * minimizers every holder voted for */
    TY_VEC(uint32_t) owner;  /* per query minimizer: the first primary holding it */
    TY_VEC(uint32_t) prim;   /* pool indices of the primaries */
    TY_VEC(size_t) more;     /* per pool member (a primary): holders outside the pool */
    TY_VEC(size_t) cands;    /* pool indices to align, in order */
    TY_VEC(ty_doc_t *) docs; /* loaded candidates, reused */
    TY_VEC(res_t) res;
    TY_VEC(ty_source_t) src;
    TY_VEC(ty_passage_t) pass;
    TY_VEC(size_t) pass_at; /* per passage in pass: its index in its ty_compare() output */
    TY_VEC(claim_t) claims;
    TY_VEC(holder_t) hsort;
    TY_VEC(ty_holder_t) hold;
    TY_VEC(size_t) name_at; /* per holder: its name in names */
    TY_VEC(char) names;
    char err[TY_ERRMSG_SIZE];
};

/* The error of an LMDB call on part p, in s->err (TY_ENOMEM or TY_EIO). */
static inline int ty__search_mdb_fail(ty_searcher_t *s, const part_t *p, int rc, const char *what)
{
    return ty__err(s->err, rc == ENOMEM ? TY_ENOMEM : TY_EIO, "%s: %s: %s", p->ix->path, what,
                   mdb_strerror(rc));
}

/* search_votes.c, steps 1-2 (inside the transactions begin() opened): the candidates, at
 * most max, in s->cands (pool indices into s->pool), best first. TY_OK or an error with
 * s->err set. */
int ty__search_candidates(ty_searcher_t *s, const ty_doc_t *q, size_t max);

#endif
