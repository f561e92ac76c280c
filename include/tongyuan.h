/*
 * tongyuan.h — the one public header of libtongyuan (同源, "same source").
 *
 * tongyuan finds reused text — verbatim, edited or machine-spun — between documents.
 * The pipeline, one source file per stage:
 *
 *   normalize.c  UTF-8 → comparison tokens (NFKC, case fold, Traditional→Simplified,
 *                punctuation and spaces dropped; each token keeps its offsets)
 *   doc.c        loading a document from memory, a file or standard input
 *   sketch.c     k-mer hashes and (w,k)-minimizers over the token stream
 *   align.c      anchors → maximal exact runs → colinear chains with gap costs →
 *                passages (boxes of chains) → refined passage ends
 *
 * Conventions (see docs/ and STYLE.md):
 *   - every function that can fail returns an int: TY_OK (0) or a negative TY_E* code;
 *     the handle it worked on then holds a one-line message (ty_*_errmsg()) naming the
 *     file and position where that applies.
 *   - handles are opaque; ty_*_free(NULL) is a no-op.
 *   - the library never prints and never exits.
 *   - thread safety: a handle is used by one thread at a time. A loaded ty_doc_t is
 *     read-only and may be shared by any number of threads that only read it.
 */
#ifndef TONGYUAN_H
#define TONGYUAN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TY_VERSION_MAJOR 0
#define TY_VERSION_MINOR 1
#define TY_VERSION_PATCH 0
#define TY_VERSION_STRING "0.1.0"

/* Error codes. Append-only: a code's value never changes once released. */
enum {
    TY_OK = 0,
    TY_ENOMEM = -1,    /* out of memory */
    TY_EINVAL = -2,    /* invalid argument or option value */
    TY_EIO = -3,       /* a file could not be opened, read or written */
    TY_EUTF8 = -4,     /* input is not valid UTF-8 (strict mode) */
    TY_EBINARY = -5,   /* input contains NUL bytes: looks like a binary file */
    TY_ETOOBIG = -6,   /* input larger than opts.max_doc_bytes */
    TY_ECORRUPT = -7,  /* a stored file is damaged or not ours */
    TY_EVERSION = -8,  /* a stored file has another format version or parameters */
    TY_ENOTFOUND = -9, /* the named object does not exist */
};

/* Static description of an error code ("out of memory", ...). Never NULL. */
const char *ty_strerror(int err);

/* Library version as a string, e.g. "0.1.0". */
const char *ty_version(void);

/* ---------------------------------------------------------------------------------------
 * Options. Plain struct: call ty_opts_init() for the defaults (found on the development
 * set), change fields, then ty_opts_check() before use. The CLI keeps no defaults of its own.
 */
enum {
    TY_UTF8_STRICT = 0,  /* invalid UTF-8 is an error (TY_EUTF8) naming file, line, byte */
    TY_UTF8_REPLACE = 1, /* each invalid byte counts as one U+FFFD code point, not compared */
};

typedef struct ty_opts {
    int k;                 /* k-mer length in tokens (seed length), 2..16 */
    int w;                 /* minimizer window in k-mers; 1 = every k-mer (pairwise default) */
    int max_occ;           /* k-mers occurring more often than this in a source are ignored */
    int max_gap;           /* longest gap (tokens) bridged inside one chain */
    double gap_cost;       /* chain cost per unmatched token in a gap */
    double drift_cost;     /* chain cost per token of diagonal drift (indels) */
    int min_chain;         /* chains scoring below this are dropped before merging */
    int merge_gap;         /* chains closer than this (tokens, both texts) join one passage */
    int min_len;           /* passages whose matched tokens x score fall below this are not reported */
    double min_score;      /* passages with a lower score (0..1) are not reported */
    int snap;              /* passage ends move to a sentence/line end at most this many tokens away */
    int utf8_mode;         /* TY_UTF8_STRICT or TY_UTF8_REPLACE */
    size_t max_doc_bytes;  /* larger inputs are refused with TY_ETOOBIG */
} ty_opts_t;

void ty_opts_init(ty_opts_t *o);
/* TY_OK, or TY_EINVAL with a message naming the bad field written to msg (if msg != NULL). */
int ty_opts_check(const ty_opts_t *o, char *msg, size_t msg_size);

/* ---------------------------------------------------------------------------------------
 * Documents: the original bytes plus their comparison tokens.
 */
typedef struct ty_doc ty_doc_t;

/* One comparison token. id: a CJK (or other per-character script) character after
 * normalization is its code point; a run of letters/digits is a 31-bit hash with the top bit
 * set. Offsets point into the original text as given. */
typedef struct ty_token {
    uint32_t id;
    uint32_t cp_off, cp_len;     /* in Unicode code points of the original text */
    uint32_t byte_off, byte_len; /* in bytes of the original text */
} ty_token_t;

ty_doc_t *ty_doc_new(void); /* NULL when out of memory. Free with ty_doc_free(). */
void ty_doc_free(ty_doc_t *d);

/* Load text from memory (copied). name is used in messages and output (copied).
 * Fails with TY_EUTF8 / TY_EBINARY / TY_ETOOBIG (see opts) and a message naming the
 * position. Loading again replaces the previous content. */
int ty_doc_load_mem(ty_doc_t *d, const char *name, const void *buf, size_t len,
                    const ty_opts_t *o);
/* Load a file; path "-" reads standard input. TY_EIO when it cannot be read (the message
 * names the path and the system's reason). Transparent decompression is not done here. */
int ty_doc_load_file(ty_doc_t *d, const char *path, const ty_opts_t *o);

const char *ty_doc_errmsg(const ty_doc_t *d); /* last error, "" if none; valid until next call */
const char *ty_doc_name(const ty_doc_t *d);   /* borrowed, valid while d is */
/* The original bytes (borrowed, valid until the next load or free). */
const char *ty_doc_text(const ty_doc_t *d, size_t *len);
size_t ty_doc_ntokens(const ty_doc_t *d);
size_t ty_doc_ncodepoints(const ty_doc_t *d);
/* Token i (0 <= i < ntokens) copied to *t. TY_EINVAL if out of range. */
int ty_doc_token(const ty_doc_t *d, size_t i, ty_token_t *t);

/* Normalize one code point as the tokenizer does: returns the code point compared, or 0 if
 * the character is dropped (spaces, punctuation, symbols, controls). Characters whose
 * normalization expands to several code points return the first. Thread-safe. */
uint32_t ty_normalize_cp(uint32_t cp);

/* ---------------------------------------------------------------------------------------
 * Sketches: k-mer hashes over a document's tokens, sampled by (w,k)-minimizers.
 */
typedef struct ty_seed {
    uint64_t hash; /* hash of the k tokens (strand-less: text has one direction) */
    uint32_t pos;  /* index of the first token of the k-mer */
} ty_seed_t;

/* Minimizers of d: the smallest hash in every window of w consecutive k-mers (w = 1: all
 * k-mers), deduplicated by position, in increasing position. *out is malloc()ed, caller
 * frees with free(). Returns TY_OK or TY_ENOMEM / TY_EINVAL. A document with fewer than
 * k tokens has no seeds (n = 0). */
int ty_sketch(const ty_doc_t *d, int k, int w, ty_seed_t **out, size_t *n);

/* Hash k tokens as ty_sketch() does (for tests and index keys). */
uint64_t ty_kmer_hash(const uint32_t *tok, int k);

/* ---------------------------------------------------------------------------------------
 * Alignment: which passages of a suspect document come from a source document.
 */
typedef struct ty_passage {
    size_t src_off, src_len;           /* code points in the source's original text */
    size_t sus_off, sus_len;           /* code points in the suspect's original text */
    size_t src_byte_off, src_byte_len; /* bytes */
    size_t sus_byte_off, sus_byte_len;
    size_t src_tok_beg, src_tok_end;   /* token range [beg, end) */
    size_t sus_tok_beg, sus_tok_end;
    size_t matched;                    /* tokens of the suspect range matched in order */
    double score;                      /* 0..1: share of both ranges' tokens matched in order */
} ty_passage_t;

/* Per-thread scratch for alignment: reuse one per thread for speed. */
typedef struct ty_aligner ty_aligner_t;

/* NULL when out of memory. The options are copied; check them first (ty_opts_check). */
ty_aligner_t *ty_aligner_new(const ty_opts_t *o);
void ty_aligner_free(ty_aligner_t *a);
const char *ty_aligner_errmsg(const ty_aligner_t *a);

/* Find the passages of sus reused from src. On TY_OK, *out points to *n passages sorted by
 * suspect offset, owned by the aligner and valid until its next ty_compare() or free.
 * Both documents are only read. */
int ty_compare(ty_aligner_t *a, const ty_doc_t *src, const ty_doc_t *sus, const ty_passage_t **out,
               size_t *n);

/* An exact run of len tokens: source tokens [src_tok, src_tok+len) equal suspect tokens
 * [sus_tok, sus_tok+len). Token indices convert to offsets with ty_doc_token(). */
typedef struct ty_match {
    size_t src_tok, sus_tok, len;
} ty_match_t;

/* The exact runs that make up passage i of the last ty_compare() on a, in suspect order
 * (what a report marks as unchanged; everything else inside the passage was changed,
 * inserted or deleted). Owned by a, valid until its next ty_compare(). TY_EINVAL if i is out
 * of range. */
int ty_compare_runs(const ty_aligner_t *a, size_t i, const ty_match_t **runs, size_t *n);

/* Number of suspect tokens covered by at least one of the n passages (for summaries:
 * covered / ty_doc_ntokens(sus) is the share of the suspect taken from the source). */
size_t ty_passages_coverage(const ty_passage_t *p, size_t n);

#ifdef __cplusplus
}
#endif
#endif /* TONGYUAN_H */
