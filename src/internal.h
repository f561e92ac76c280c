/*
 * internal.h — private definitions shared by the library's source files. Not installed.
 */
#ifndef TY_INTERNAL_H
#define TY_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "tongyuan.h"

#define TY_ERRMSG_SIZE 512

/* ---- ty_vec: a typed growable array in klib's spirit ------------------------------------
 *   TY_VEC(uint32_t) v = {0};
 *   if (ty_vec_push(v, 42)) return TY_ENOMEM;
 *   ... v.a[0] ...;  free(v.a);
 * ty_vec_push / ty_vec_reserve evaluate to nonzero when out of memory (v unchanged).
 */
#define TY_VEC(type) \
    struct {         \
        size_t n, m; \
        type *a;     \
    }
int ty__vec_grow(void **a, size_t *m, size_t need, size_t elem);
#define ty_vec_reserve(v, need) \
    ((need) <= (v).m ? 0 : ty__vec_grow((void **)&(v).a, &(v).m, (need), sizeof(*(v).a)))
#define ty_vec_push(v, x) (ty_vec_reserve((v), (v).n + 1) ? -1 : ((v).a[(v).n++] = (x), 0))

/* free() of every pointer listed, in one statement: a destructor's arrays, a function's
 * scratch on its way out (TY_FREE(a.a, b.a, name)). The pointers are evaluated once. */
void ty__free_all(void *const *p, size_t n);
#define TY_FREE(...)                           \
    ty__free_all((void *const[]){__VA_ARGS__}, \
                 sizeof((void *const[]){__VA_ARGS__}) / sizeof(void *))

/* -1, 0 or 1 as a is below, equal to or above b */
#define TY_CMP(a, b) (((a) > (b)) - ((a) < (b)))
/* A qsort() comparator, decl (`static int cmp_x`), of T by field f1, then f2, both ascending. */
#define TY_CMP_BY2(decl, T, f1, f2)          \
    decl(const void *x, const void *y)       \
    {                                        \
        const T *a = x, *b = y;              \
        int c = TY_CMP(a->f1, b->f1);        \
        return c ? c : TY_CMP(a->f2, b->f2); \
    }

/* ---- documents --------------------------------------------------------------------------- */
struct ty_doc {
    char *name;
    char *text; /* original bytes, NUL-terminated copy */
    size_t len; /* bytes */
    size_t ncp; /* code points (an invalid byte in replace mode counts as one) */
    size_t ntok;
    size_t mtok;        /* capacity of the token arrays */
    uint32_t *tok;      /* token ids */
    uint32_t *cp_off;   /* per token: first code point */
    uint32_t *cp_end;   /* per token: one past its last code point */
    uint32_t *byte_off; /* per token: first byte */
    uint32_t *byte_end; /* per token: one past its last byte */
    char err[TY_ERRMSG_SIZE];
    /* what the text was read from (ty_docinfo): info's pointers point at the members below */
    ty_docinfo_t info;
    char *title;
    char charset[32];
    uint32_t *file_off;
};

/* The per-token arrays of d: grown together to d->mtok (normalize.c), freed together
 * (doc.c). */
/* clang-format off */
#define TY__DOC_TOKEN_ARRAYS(d) \
    {&(d)->tok, &(d)->cp_off, &(d)->cp_end, &(d)->byte_off, &(d)->byte_end}
/* clang-format on */

/* Free d's text and token arrays (a document kept for reuse holds the capacity of the
 * longest it ever held otherwise); d stays usable, empty. */
void ty__doc_release(ty_doc_t *d);
/* The bytes d's text and token arrays take. */
size_t ty__doc_mem(ty_doc_t *d);

/* Fill d->tok etc. from d->text. Returns TY_OK or an error with d->err set. */
int ty__tokenize(ty_doc_t *d, const ty_opts_t *o);

/* ---- the numeric fields of the options structs: each range and default written once ----
 * One row per field: its name (in messages: "k must be between 2 and 16"), the command-line
 * flag that sets it (NULL: none), where it is, its kind, range and default. A struct's
 * *_opts_init() sets the defaults from its rows, *_opts_check() tests the ranges with them,
 * and the flag tables the front ends parse with (ty_opts_args ...) are made from them, so a
 * range said by the library and by the command line cannot differ. Rules that are not one
 * field's range (bands x rows, the enums, charset names) stay written out in the check. */
enum {
    TY__OPT_INT,  /* a signed whole number */
    TY__OPT_UINT, /* an unsigned whole number */
    TY__OPT_DOUBLE,
    TY__OPT_MB /* a size in bytes (unsigned), given in megabytes on the command line */
};
typedef struct {
    const char *field, *flag;
    size_t off, size;
    int kind;
    double lo, hi, def;
} ty__optfield_t;
#define TY__OPTF(T, field, flag, kind, lo, hi, def)                                  \
    {                                                                                \
#field, flag, offsetof(T, field), sizeof(((T *)0)->field), kind, lo, hi, def \
    }
/* a struct's rows: TY__ROWS(the array) */
typedef struct {
    const ty__optfield_t *f;
    size_t n;
} ty__optrows_t;
#define TY__ROWS(t) ((ty__optrows_t){(t), sizeof(t) / sizeof((t)[0])})
/* *_opts_init(): the size bytes at o cleared, then every row's default set */
void ty__opts_reset(void *o, size_t size, ty__optrows_t r);
/* The end of every *_opts_check(): the first field of o out of its range ("max_gap must be
 * between 0 and 100000"), else bad (a rule of the struct's own broken, NULL if none), else
 * the charset name when one is given; TY_OK, or TY_EINVAL with the message in msg. */
int ty__opts_verdict(const void *o, ty__optrows_t r, const char *bad, const char *encoding,
                     char *msg, size_t msg_size);
/* *_opts_args(): a ty_argdef_t for each row with a flag, in order, then TY_ARG_END, into defs
 * (room for r.n + 1); the number before the end */
size_t ty__opts_table(void *o, ty__optrows_t r, ty_argdef_t *defs);

/* printf into a fixed error buffer; returns code */
int ty__err(char *buf, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* All n-k+1 k-mer hashes of tok[0..n) into out (sized by the caller). Returns the count. */
size_t ty__kmer_hashes(const uint32_t *tok, size_t n, int k, uint64_t *out, int mixed);

/* A file read whole must not change while it is read: a rewrite in the middle gives bytes
 * of two versions (and then a baffling "invalid UTF-8 at byte 60000000"). ty__file_mark()
 * notes an open file's size and modification time (mark[0..3], all 0 if fstat fails or it is
 * not a regular file); ty__file_changed() then says whether either moved, with a message
 * naming path in err (TY_ERRMSG_SIZE). */
void ty__file_mark(int fd, int64_t mark[4]);
int ty__file_changed(int fd, const int64_t mark[4], const char *path, char *err);

/* n bytes at off of fd into p (ty__pread_full) or from p (ty__pwrite_full), going on after
 * interrupted and short transfers: 0, or an errno (EIO when the file ends first, ENOSPC when
 * a write moves nothing). */
int ty__pread_full(int fd, void *p, size_t n, uint64_t off);
int ty__pwrite_full(int fd, const void *p, size_t n, uint64_t off);

/* 1-based line and column (in code points) of byte offset off in text, for messages. */
void ty__line_col(const char *text, size_t off, size_t *line, size_t *col);

/* 64-bit mixer (splitmix64 finalizer): a bijection, so distinct inputs stay distinct. */
static inline uint64_t ty__mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

/* Decode one UTF-8 sequence at s[0..n). Returns its length (1..4) and sets *cp, or 0 if the
 * bytes there are not valid UTF-8 (overlong forms, surrogates and > U+10FFFF are invalid). */
static inline int ty__utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned b = s[0];
    if (b < 0x80) {
        *cp = b;
        return 1;
    }
    if (b < 0xC2)
        return 0;
    if (b < 0xE0) {
        if (n < 2 || (s[1] & 0xC0) != 0x80)
            return 0;
        *cp = ((b & 0x1Fu) << 6) | (s[1] & 0x3Fu);
        return 2;
    }
    if (b < 0xF0) {
        if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
            return 0;
        uint32_t c = ((b & 0x0Fu) << 12) | ((s[1] & 0x3Fu) << 6) | (s[2] & 0x3Fu);
        if (c < 0x800 || (c >= 0xD800 && c <= 0xDFFF))
            return 0;
        *cp = c;
        return 3;
    }
    if (b < 0xF5) {
        if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
            return 0;
        uint32_t c =
            ((b & 0x07u) << 18) | ((s[1] & 0x3Fu) << 12) | ((s[2] & 0x3Fu) << 6) | (s[3] & 0x3Fu);
        if (c < 0x10000 || c > 0x10FFFF)
            return 0;
        *cp = c;
        return 4;
    }
    return 0;
}

#endif
