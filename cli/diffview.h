/*
 * diffview.h — turn a passage and its exact runs into display segments: what is the same in
 * both texts, what the suspect changed or inserted, what it dropped from the source. Used by
 * the terminal report (one merged wdiff-style view) and the HTML report (both sides marked).
 */
#ifndef TY_CLI_DIFFVIEW_H
#define TY_CLI_DIFFVIEW_H

#include <stddef.h>

#include "tongyuan.h"

enum { SEG_SAME = 0, SEG_DEL = 1, SEG_INS = 2 };

typedef struct {
    int kind;    /* SEG_* */
    int side;    /* bytes are from 0 = source, 1 = suspect */
    size_t b, e; /* byte span [b, e) in that side's text */
} seg_t;

typedef struct {
    seg_t *a;
    size_t n, m;
} segs_t;

/* Merged view in suspect order: SAME and INS spans of the suspect, DEL spans of the source
 * placed where they were replaced. Appends to *out (caller frees out->a). */
void diff_merged(const ty_doc_t *src, const ty_doc_t *sus, const ty_passage_t *p,
                 const ty_match_t *r, size_t nr, segs_t *out);

/* One side of a passage (side 0 source, 1 suspect), covering its whole byte span: SAME where
 * a run covers the token, else DEL (source) or INS (suspect). Bytes between tokens are
 * marked only when the tokens on both sides are. */
void diff_side(const ty_doc_t *d, int side, const ty_passage_t *p, const ty_match_t *r, size_t nr,
               segs_t *out);

#endif
