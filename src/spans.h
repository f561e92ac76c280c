/*
 * spans.h — private to passage-level cleaning: what the MPI part (src/mpi/mspans.c) needs of
 * a ty_spans_t to split each batch's alignments between ranks. Not installed.
 *
 * Every rank adds the same documents in the same order to a ty_spans_t of its own, made with
 * the same options. Shared, each batch's step A (spans.c) tokenizes and sketches every
 * document on every rank but counts and aligns only the documents i with i mod nranks = rank;
 * then share() gives every rank the others' results (ty__spans_pack / ty__spans_unpack), and
 * step B, the same on every rank, settles the batch in input order. So every rank holds the
 * same index and reports the same events: the output of one process at any number of ranks.
 */
#ifndef TY_SPANS_H
#define TY_SPANS_H

#include "internal.h"

/* Called once per batch after step A with this rank's status (TY_OK, or the error that
 * stopped it: the others must learn it); nslots: the batch's documents. Returns TY_OK, or an
 * error that stops every rank (with its message in msg, TY_ERRMSG_SIZE bytes). */
typedef int (*ty__spans_share_fn)(void *ctx, ty_spans_t *sp, size_t nslots, int status, char *msg);
/* Share sp's batches between nranks ranks (this one: rank); fn NULL: stop sharing. */
void ty__spans_share(ty_spans_t *sp, int rank, int nranks, ty__spans_share_fn fn, void *ctx);
/* Whether batch document i is aligned on this rank. */
int ty__spans_mine(const ty_spans_t *sp, size_t i);
/* Append batch document i's step-A result to b (TY_ENOMEM); read one back from p (n bytes
 * left) into its slot: the bytes used, or 0 when p does not hold a whole record (TY_ECORRUPT
 * for the caller). */
int ty__spans_pack(const ty_spans_t *sp, size_t i, ty_buf_t *b);
size_t ty__spans_unpack(ty_spans_t *sp, const char *p, size_t n);

#endif
