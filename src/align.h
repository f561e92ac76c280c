/*
 * align.h — the aligner's state, shared by its two halves (private to src/): align.c finds
 * the maximal exact runs and chains them (steps 1-3), passage.c groups the chains into
 * passages and refines their ends (steps 4-5). The steps are described in align.c.
 */
#ifndef TY_ALIGN_H
#define TY_ALIGN_H

#include "internal.h"

typedef struct {
    uint32_t i, j, len; /* source token, suspect token, length in tokens */
} mem_t;

/* 8 bytes a slot so that a 3,000-character source's table (32,768 slots) stays in L2 cache:
 * the high bits of the hash pick the slot, the low 32 bits are the key. Occurrences are
 * counted along the position list only when a k-mer is hit. */
typedef struct {
    uint32_t key; /* upper 32 bits of the k-mer hash */
    int32_t head; /* first source position with this k-mer, -1 = empty slot */
} slot_t;

typedef struct {
    uint32_t sb, se, qb, qe; /* source [sb,se), suspect [qb,qe) in tokens */
    uint32_t matched;        /* suspect tokens matched in order */
    int alive;
    int32_t parent; /* box this one was merged into, -1 = none */
    int32_t id;     /* index at creation (boxes are sorted later) */
    int strong;     /* the chain scored min_chain or more (else: a weak chain, a filler) */
} box_t;

/* A candidate region while grouping chains into passages: units u[lo..hi). */
typedef struct {
    uint32_t lo, hi;
    int flags; /* SEG_LAYERED: already cut into copies; SEG_STRONG: full chains only */
} useg_t;

/* A chain end: its score and MEM. Sorted best first, ties by MEM (a total order). */
typedef struct {
    double f;
    int32_t x;
} fx_t;

struct ty_aligner {
    ty_opts_t o;
    TY_VEC(uint64_t) hs;      /* source k-mer hashes */
    TY_VEC(uint64_t) hq;      /* suspect k-mer hashes */
    TY_VEC(slot_t) tab;       /* hash table of source k-mers, empty between calls */
    size_t tab_clean;         /* slots [0, tab_clean) are known empty */
    TY_VEC(uint32_t) touched; /* slots filled by this call, reset at its end */
    TY_VEC(int32_t) next;     /* per source position: next position with the same k-mer */
    TY_VEC(int32_t) occ;      /* frequent k-mers: every list laid out in position order */
    TY_VEC(uint32_t) occ_at;  /* per list head (source position): its first index in occ */
    TY_VEC(uint32_t) occ_cnt; /* per list head: its length */
    TY_VEC(mem_t) mem;
    TY_VEC(double) f;
    TY_VEC(int32_t) prev;
    TY_VEC(uint32_t) gain; /* suspect tokens a MEM adds to its chain */
    TY_VEC(fx_t) ends;     /* chain ends, best first (and the sort's scratch) */
    TY_VEC(uint8_t) used;
    TY_VEC(box_t) box;
    TY_VEC(ty_passage_t) out;
    TY_VEC(int32_t) owner;    /* per MEM: the box (chain) it belongs to, -1 = none */
    TY_VEC(int32_t) visit;    /* scratch: anchors of the chain being read back */
    TY_VEC(int32_t) out_box;  /* per passage: id of its box */
    TY_VEC(ty_match_t) runs;  /* exact runs of every passage, passage by passage */
    TY_VEC(size_t) run_beg;   /* per passage: first run; run_beg[n] = runs.n */
    size_t nbox0;             /* boxes made by chain() (ids 0..nbox0-1), before compaction */
    TY_VEC(size_t) grp_start; /* MEMs grouped by box: box id b owns grp_mem[start[b]..start[b+1]) */
    TY_VEC(int32_t) grp_mem;
    TY_VEC(int32_t) units;  /* grouping: box indices, cut into candidate regions */
    TY_VEC(int32_t) tmp;    /* grouping: a region's boxes in source order */
    TY_VEC(uint64_t) keys;  /* sort keys (grouping; source intervals of a passage) */
    TY_VEC(uint32_t) cuts;  /* grouping: where a candidate is cut */
    TY_VEC(useg_t) segs;    /* grouping: candidates still to look at */
    TY_VEC(uint32_t) stamp; /* grouping: per source token, the last copy that matched it */
    uint32_t stamp_id;      /* the last copy id given */
    int by_box;             /* grp_start/grp_mem hold the chains' MEMs (this call) */
    size_t ns, nq;          /* source and suspect tokens (this call) */
    TY_VEC(uint8_t) claim;  /* grouping: per suspect token, taken by a better chain */
    char err[TY_ERRMSG_SIZE];
};

/* Steps 4-5 (passage.c), after chain(): group a->box's chains into passages, refine their
 * ends and gather their exact runs into a->out, a->out_box, a->runs and a->run_beg. TY_OK, or
 * TY_ENOMEM with a->err set. */
int ty__align_passages(ty_aligner_t *a, const ty_doc_t *src, const ty_doc_t *sus);

#endif
