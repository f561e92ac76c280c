/*
 * dedup.h — private to deduplication. Not installed.
 *
 *   dedup_rules.c  the rules: what a document's keys and sketches are, when a minimizer is
 *                  boilerplate, which documents are candidates and in what order they are
 *                  tried, when an alignment makes a link and with what values; the tables
 *                  the rules keep (first document of a key, the minimizer postings);
 *   minhash.c      MinHash signatures and LSH band keys;
 *   cluster.c      union-find over the links, best links, keepers;
 *   dedup.c        one process: ty_dedup_t (dedup_impl.h), batches, worker threads;
 *   dedup_state.c  its state saved and loaded (--save-index, --against);
 *   mpi/           N ranks (the MPI part, libtongyuan_mpi.a): the same rules, the data
 *                  exchanged between ranks instead of read from one process's tables.
 *
 * Both engines call the same functions for every decision, so a change of a rule is made
 * here once and holds for one process and for any number of ranks alike; only how the
 * inputs of a rule are gathered (a table look-up here, a message from the owner of a key
 * there) differs.
 */
#ifndef TY_DEDUP_H
#define TY_DEDUP_H

#include <string.h>
#include <zstd.h>

#include "hash.h"
#include "internal.h"

#define TY__NONE UINT32_MAX

/* Largest number of permutations (bands x rows) a signature may have. */
#define TY_MH_MAX_PERMS 1024

/* ---- MinHash (minhash.c) ------------------------------------------------------------------ */

/* Permutation i of the signature is h_i(x) = a[i] * x + b[i] (mod 2^32) over the 32-bit
 * shingle values x; a[i] (odd) and b[i] come from a splitmix64 sequence started at seed:
 * state += 0x9E3779B97F4A7C15, value = ty__mix64(state), a[i] from the first value (| 1),
 * b[i] from the second. perms entries each (scripts/minhash_ref.py computes the same). */
void ty__minhash_perms(uint64_t seed, int perms, uint32_t *a, uint32_t *b);

/* The distinct shingle values of tokens tok[0..n): x = upper 32 bits of ty_kmer_hash() of
 * every ngram consecutive tokens (a document shorter than ngram is one shingle of all its
 * tokens; an empty one has none). Written to out (room for n + 1 values), in first-seen
 * order, duplicates removed with set (scratch, grown as needed). Returns the count, or
 * (size_t)-1 when out of memory. */
size_t ty__shingles(const uint32_t *tok, size_t n, int ngram, uint32_t *out, uint64_t *hbuf,
                    uint32_t **set, size_t *set_cap);

/* Near mode's shingles are character n-grams of the normalized text, not token n-grams:
 * a token is a Han character or a whole Latin word or number, so five tokens span more text
 * than five characters and one changed character breaks a larger share of them — the same
 * copy had a Jaccard similarity 0.04-0.07 lower over tokens than over characters, and fewer
 * band hits than MinHash-LSH over character 5-grams (datasketch, text-dedup) at the same
 * bands and rows (docs/dedup.md, scripts/eval_near.py).
 *
 * The units of d: its normalized characters in order — a token of one character is that
 * character, a letter/digit run each of its characters as the tokenizer normalizes them;
 * what the tokenizer drops (spaces, punctuation, symbols) is not there. out has room for
 * ty_doc_ncodepoints(d) values. Returns the count. */
size_t ty__near_units(const ty_doc_t *d, uint32_t *out);

/* Scratch of ty__near_shingles (zeroed to start; ty__near_buf_free). */
typedef struct {
    TY_VEC(uint32_t) u, x, set;
    TY_VEC(uint64_t) h;
} near_buf_t;
void ty__near_buf_free(near_buf_t *b);

/* The distinct shingle values of d for near mode (ty__shingles of its units) into b->x.
 * Returns the count, or (size_t)-1 when out of memory. */
size_t ty__near_shingles(const ty_doc_t *d, int ngram, near_buf_t *b);

/* The similarity of a linked pair from its signatures (bands x rows values each) and shingle
 * counts nx, ny: *jac the Jaccard estimate — the maximum likelihood given the values outside
 * the first band in which the two signatures agree and that the bands before it do not
 * wholly agree (the pair was found through that band: counting its rows biased the plain
 * share of equal values up, by about rows / perms of 1 - J); the plain share when no band
 * agrees — and *cont the containment J (nx + ny) / (1 + J) / min(nx, ny), at most 1. */
void ty__near_estimate(const uint32_t *x, const uint32_t *y, int bands, int rows, double nx,
                       double ny, float *jac, float *cont);

/* sig[i] = min over x of h_i(x), i < perms (0xFFFFFFFF for no shingle). a, b, sig hold
 * perms rounded up to a multiple of 8 (the extra permutations are computed and ignored). */
void ty__minhash(const uint32_t *a, const uint32_t *b, int perms, const uint32_t *x, size_t n,
                 uint32_t *sig);

/* Key of band j: XXH3-64 of the rows values sig[j*rows .. (j+1)*rows) with seed j. */
uint64_t ty__band_key(const uint32_t *sig, int j, int rows);

/* ---- tables ------------------------------------------------------------------------------- */

/* Map from a 64-bit hash to two 32-bit values, a hash.h table of entries: key 0 marks an
 * empty slot (a hash of 0 is stored as 1: for hashes of text that only merges two keys in
 * 2^64). The slot is taken from the top bits of ty__mix64(key), so a table of the keys one
 * MPI rank owns (ty__mix64(key) mod N) still spreads over every slot. Generated:
 * ty__map_slot/ty__map_probe (a fixed key's home, then its entry: dedup.c starts the loads
 * of a batch of keys before probing), ty__map_find, ty__map_put (a new entry's values 0),
 * ty__map_grow, ty__map_reserve, ty__map_clear, ty__map_free. */
typedef struct {
    uint64_t key;
    uint32_t val, aux;
} ty__kv_t;

static inline uint64_t ty__fix_key(uint64_t k) { return k ? k : 1; }

TY_HASH_ENT_INIT(ty__map, ty__kv_t, uint64_t, key, ty__mix64, ty__fix_key, 1024, 3, 4)

/* The exact key rule: a document's key is the XXH3-128 of its token ids, and it is linked
 * to the first document holding the same key. The table maps the lower half (as ty__map_t:
 * 0 stored as 1) to the first document and the upper half, which is kept apart, densely in
 * insertion order (16-byte slots: the table's load factor does not apply to it). */
typedef struct {
    uint64_t lo;
    uint32_t g, at; /* the first document; its upper half is hi.a[at] */
} ty__xkv_t;

typedef struct {
    ty__xkv_t *a;
    size_t cap, n;
    int shift;
    TY_VEC(uint64_t) hi;
} ty__xmap_t;

TY_HASH_ENT_FUNCS(ty__xtab, ty__xmap_t, ty__xkv_t, uint64_t, lo, ty__mix64, ty__fix_key, 1024, 3, 4)

/* The first document with key (lo, hi), or TY__NONE. */
uint32_t ty__xmap_get(const ty__xmap_t *m, uint64_t lo, uint64_t hi);
/* Document g holds key (lo, hi): *first = the first document holding it, or TY__NONE when g
 * is the first (then g is recorded) — or when another key shares the lower half (g is not
 * recorded: only one key per lower half is kept). TY_ENOMEM. */
int ty__xmap_first(ty__xmap_t *m, uint64_t lo, uint64_t hi, uint32_t g, uint32_t *first);
static inline void ty__xmap_clear(ty__xmap_t *m)
{
    ty__xtab_clear(m);
    m->hi.n = 0;
}
static inline void ty__xmap_free(ty__xmap_t *m)
{
    ty__xtab_free(m);
    free(m->hi.a);
    m->hi.a = NULL;
    m->hi.n = m->hi.m = 0;
}

/* Postings lists of the spun index: blocks in one uint32 pool, [n, cap, ids...], capacities
 * 4, 8, 16, ... with a free list per capacity (UINT32_MAX: empty). */
#define POOL_CLASSES 30
typedef struct {
    TY_VEC(uint32_t) v;
    uint32_t freel[POOL_CLASSES];
} pool_t;

/* The spun index: minimizer -> val: the number of indexed documents holding it (saturating
 * at TY__NONE), aux: the one document (val 1), its postings block in pool (2..max_df), or
 * TY__NONE past max_df (boilerplate: its postings are dropped). */
typedef struct {
    ty__map_t map;
    pool_t pool;
} ty__mztab_t;

void ty__mztab_init(ty__mztab_t *t);
void ty__mztab_free(ty__mztab_t *t);
/* Index minimizer h of original g, which base documents hold elsewhere (spilled runs).
 * *frequent += 1 when h becomes boilerplate (base + its df here passes max_df). TY_ENOMEM. */
int ty__mztab_add(ty__mztab_t *t, uint64_t h, uint32_t g, uint32_t base, uint32_t max_df,
                  size_t *frequent);
/* The documents of entry e (val 1..max_df): *n of them (one is scratch for val 1). */
static inline const uint32_t *ty__mztab_docs(const ty__mztab_t *t, const ty__kv_t *e, uint32_t *one,
                                             uint32_t *n)
{
    if (e->val == 1) {
        *one = e->aux;
        *n = 1;
        return one;
    }
    *n = t->pool.v.a[e->aux];
    return t->pool.v.a + e->aux + 2;
}

/* qsort order of seeds: by hash, then position. */
static inline int cmp_seed(const void *x, const void *y)
{
    const ty_seed_t *a = x, *b = y;
    if (a->hash != b->hash)
        return a->hash < b->hash ? -1 : 1;
    return a->pos < b->pos ? -1 : a->pos > b->pos;
}

/* ---- the rules (dedup_rules.c) ----------------------------------------------------------- */

/* The options and what is derived from them, shared by every thread and rank. */
typedef struct {
    ty_dedup_opts_t o;
    ty_opts_t to;
    int perms, np8;    /* near: bands x rows, rounded up to 8 */
    uint32_t *pa, *pb; /* near: the permutations (np8 each) */
} ty__rules_t;

/* Copy and check the options; TY_EINVAL (bad options) or TY_ENOMEM. */
int ty__rules_init(ty__rules_t *R, const ty_dedup_opts_t *o, const ty_opts_t *to);
void ty__rules_free(ty__rules_t *R);

/* A document over the size limit is refused before it is read: TY_ETOOBIG with the message
 * in msg (TY_ERRMSG_SIZE bytes), or TY_OK. */
int ty__dd_too_big(const ty__rules_t *R, const char *name, size_t len, char *msg);

/* The start of ty_dedup_finish() and ty_mdedup_finish(): TY_OK to go on; the earlier failure;
 * or TY_EINVAL (message in err, naming fn) when the handle has finished already. */
int ty__dd_finish_gate(int failed, int finished, char *err, const char *fn);

/* What every mode keeps of a tokenized document. */
typedef struct {
    uint32_t ntok, ncp;
    uint64_t ex_lo, ex_hi; /* the exact key */
} ty__facts_t;

void ty__dd_facts(const ty_doc_t *doc, ty__facts_t *f);

/* Near mode: a document's signature (R->perms values into sig; all 0xFFFFFFFF when it has
 * no shingle) and its number of distinct shingles. The scratch is per thread. TY_ENOMEM. */
typedef struct {
    near_buf_t nb; /* shingles (ty__near_shingles) */
    uint32_t *sig; /* np8 */
} ty__nearbuf_t;

int ty__near_sig(const ty__rules_t *R, ty__nearbuf_t *nb, const ty_doc_t *doc, uint32_t *sig,
                 uint32_t *nsh);
void ty__nearbuf_free(ty__nearbuf_t *nb);
/* Band j's key of a signature (ty__fix_key()ed). */
static inline uint64_t ty__near_band(const ty__rules_t *R, const uint32_t *sig, int j)
{
    return ty__fix_key(ty__band_key(sig, j, R->o.rows));
}
/* The link of a document to the first document sharing one of its band keys: the Jaccard
 * estimate from the signatures and the containment it implies with the shingle counts. */
void ty__near_link(const ty__rules_t *R, const uint32_t *sig_first, uint32_t nsh_first,
                   const uint32_t *sig_doc, uint32_t nsh_doc, float *sim, float *cont);

/* Spun mode: a document's minimizers, in position order (seeds, for the boilerplate mask),
 * and distinct (mz sorted, with the first position of each: ty__fix_key()ed hashes). */
typedef struct {
    ty_seed_t *seeds; /* malloc()ed by ty_sketch() */
    size_t nseeds;
    uint64_t *mz;
    uint32_t *mzpos;
    size_t cap;
    uint32_t nmz;
} ty__mzs_t;

int ty__spun_sketch(const ty__rules_t *R, const ty_doc_t *doc, ty__mzs_t *s); /* TY_ENOMEM */
void ty__mzs_free(ty__mzs_t *s);

/* Index of h in the sorted a[0..n), or SIZE_MAX. */
static inline size_t ty__find_u64(const uint64_t *a, size_t n, uint64_t h)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (a[mid] < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && a[lo] == h ? lo : SIZE_MAX;
}

/* The boilerplate rule: a minimizer held by more than max_df distinct texts — the documents
 * indexed before the batch (originals: a copy is not indexed) and the groups of the batch
 * (ty__batch_groups) holding it — finds no candidates
 * and the text it covers counts for no side of a containment. */
static inline int ty__boiler(const ty__rules_t *R, uint64_t df) { return df > R->o.max_df; }

/* Batch groups. A batch is processed at once, so its documents cannot yet know which of them
 * are copies of each other; counted one by one, the 50 copies of a popular article in a
 * batch made its text "held by many documents" (boilerplate) and no copy was found. A
 * batch's document frequency therefore counts groups, not documents: document j joins the
 * group of the earliest earlier batch document whose sketch (its 16 smallest minimizers)
 * shares at least half of the smaller of the two sketches; otherwise it starts its own.
 * Boilerplate — a template, a footer — is shared by documents whose other text differs: they
 * stay in groups of their own and their shared text is still masked. Sequential and from
 * the sketches alone (any engine computes the same groups). mz[j], nmz[j]: document j's
 * sorted distinct minimizers (nmz 0: skipped); grp[j]: its group, the group's first
 * document. tab, lists: scratch. TY_ENOMEM. */
#define TY__GROUP_SKETCH 16
typedef TY_VEC(uint32_t) ty__u32vec_t;
int ty__batch_groups(const uint64_t *const *mz, const uint32_t *nmz, size_t n, uint32_t *grp,
                     ty__map_t *tab, ty__u32vec_t *lists);

/* Cover groups: the second step of a batch's grouping. A copy spun at 20 % shares only a few
 * of its sketch values with the article and started a group of its own above; past max_df
 * such copies the article was boilerplate again (10,000 half-spun copies: 3 in 1,000
 * found; issue 16). What tells a copy from a document that shares a template is where the
 * shared text lies: a copy's shared minimizers are spread over nearly all of both texts, a
 * template's fill one block and the rest of each document has none. So a document that
 * started a group of its own is a copy of an earlier batch document (an edge) when the
 * minimizers they share cover at least TY__COVER_MIN of each of the two texts, a gap between
 * two shared minimizers counting as covered up to the larger of TY__COVER_GAP (w + 1) tokens
 * and an eighth of the text (a spinner's changes leave many short gaps; a document's own text
 * beside a template is one long one). The TY__COVER_TRY earlier documents sharing the most
 * minimizers are tried, and the groups joined along every edge (union-find): two spun copies
 * share less than a copy and its original, and one edge out of several tries is enough.
 * Documents that are mostly one template (80 % and more) are, in the rules' terms, copies of
 * one another and group; those whose own text is a fifth or more stay apart and the template
 * stays masked (test_template).
 *
 * Each document gives its summary (ty__gsum_make): its distinct minimizers with their first
 * positions, sampled at the power-of-two rate that leaves about TY__COVER_CAP of them (1: all)
 * by the low bits of ty__mix64(h), so two documents' summaries share every common minimizer
 * that passes the coarser of their rates; the bridged gap grows with the rate. Bounded in
 * size, so MPI ranks can exchange them and compute the same groups as one process. */
#define TY__COVER_CAP 512
#define TY__COVER_GAP 6
#define TY__COVER_GAP_DIV 8
#define TY__COVER_MIN 0.8
typedef struct {
    const uint64_t *h;   /* sorted, distinct (ty__fix_key()ed) */
    const uint32_t *pos; /* the first token position of each */
    uint32_t n, ntok, rate;
} ty__gsum_t;
/* Does a summary sampled at rate hold minimizer h (when its document does)? */
static inline int ty__gsum_holds(uint32_t rate, uint64_t h) { return !(ty__mix64(h) & (rate - 1)); }
/* The summary of s (a document of ntok tokens): s's own arrays when all its minimizers are
 * kept, else copied into *h, *pos (grown to *cap as needed; rate 0 when out of memory). */
ty__gsum_t ty__gsum_make(const ty__mzs_t *s, uint32_t ntok, uint64_t **h, uint32_t **pos,
                         size_t *cap);
/* The batch documents whose summaries hold minimizer h, in input order (at least the first
 * GROUP_HOLDERS of them; more may be given, of which the first GROUP_HOLDERS holding h in their
 * summary count): one process reads its batch table, MPI ranks ty__cover_holders(). */
typedef const uint32_t *(*ty__holders_fn)(void *ctx, uint64_t h, uint32_t *n);
/* A table of the first GROUP_HOLDERS holders of each summary value, in input order, and its
 * look-up (for ranks that have the summaries only). */
int ty__cover_table(const ty__gsum_t *gs, size_t n, ty__map_t *tab, ty__u32vec_t *lists);
const uint32_t *ty__cover_holders(const ty__map_t *tab, const ty__u32vec_t *lists, uint64_t h,
                                  uint32_t *n);
typedef struct {
    TY_VEC(uint32_t) cnt, lo, hi, touched, pa, pb;
} ty__coverbuf_t;
void ty__coverbuf_free(ty__coverbuf_t *b);
/* Popular texts carried over: a batch's groups of TY__CARRY_MIN documents and more are texts
 * being copied, and their copies go on coming in the next batches, where the original is
 * indexed and no longer in the batch: two copies spun at 35 % often share too little for an
 * edge, and the article became boilerplate again from the second batch on (5 articles, 5,000
 * copies each spun at 35 %: 2 of them lost from the second batch). So the summary of each
 * such group's first document is carried into the next batches (at most TY__CARRY_MAX, the
 * most recently joined first) as a document before all of the batch's: the copies join it
 * and count as one text with it. Every engine updates its carried set from the same groups
 * and summaries (ty__carry_update), so it is the same everywhere. */
#define TY__CARRY_MIN 4
#define TY__CARRY_MAX 256
typedef struct {
    uint64_t *h;
    uint32_t *pos;
    uint32_t n, ntok, rate;
    uint64_t last; /* the batch that last joined it */
} ty__carried_t;
typedef struct {
    TY_VEC(ty__carried_t) e;
    TY_VEC(ty__gsum_t) gs; /* views of e, for ty__cover_edges() */
    ty__map_t tab;         /* ty__cover_table() of gs */
    ty__u32vec_t lists;
    uint64_t round; /* batches seen */
} ty__carry_t;
void ty__carry_free(ty__carry_t *c);

/* The earlier documents (of the n in the batch, then the carried ones, numbered n + c) that
 * document j is a copy of by cover, into out[0..TY__COVER_TRY) (TY__NONE past the last).
 * Read-only: call it for every j at once from any number of threads or ranks, each with its
 * own b. TY_OK, TY_ENOMEM. */
#define TY__COVER_TRY 6
int ty__cover_edges(const ty__rules_t *R, const ty__gsum_t *gs, size_t n, size_t j,
                    ty__holders_fn holders, void *ctx, const ty__carry_t *carry, ty__coverbuf_t *b,
                    uint32_t *out);
/* Join the groups of ty__batch_groups (grp, n entries, followed by room for the carried
 * documents) along the edges (TY__COVER_TRY per batch document): every group is then named by
 * its first batch document. Then carry the summaries of the popular groups into the next
 * batch. TY_OK, TY_ENOMEM. */
int ty__groups_join(uint32_t *grp, const uint32_t *edges, size_t n, const ty__gsum_t *gs,
                    ty__carry_t *carry);

/* Texts kept for a later alignment: zstd frames (level 1). ty__dd_pack() compresses into
 * dst (room for ZSTD_compressBound(len)) and returns the size, or 0 when it failed. */
size_t ty__dd_pack(ZSTD_CCtx *cctx, const char *text, size_t len, char *dst, size_t cap);
/* What a thread keeps to unpack kept texts (dedup's and spans' workers, the MPI ranks): a
 * zstd context and the text buffer, grown as needed. ty__unpacker_init: TY_ENOMEM. */
typedef struct {
    ZSTD_DCtx *dctx;
    char *tbuf;
    size_t tcap;
} ty__unpacker_t;
int ty__unpacker_init(ty__unpacker_t *u);
void ty__unpacker_free(ty__unpacker_t *u);
/* Unpack a kept text (len bytes) into u's buffer and tokenize it into doc (name: for
 * messages). TY_OK; TY_ECORRUPT when it does not decompress, the tokenizer's error,
 * TY_ENOMEM — with a message in msg (TY_ERRMSG_SIZE bytes). */
int ty__dd_unpack(const ty__rules_t *R, ty__unpacker_t *u, const char *ctext, size_t clen,
                  size_t len, const char *name, ty_doc_t *doc, char *msg);

/* Candidates: documents sharing usable minimizers with a new document, with the count and
 * the first and last position (in the new document) of the shared minimizers. */
typedef struct {
    uint32_t doc, cnt, lo, hi;
    uint32_t root; /* its cluster when the batch started (ty__cands_try) */
} ty__cand_t;

/* Counting: a hash.h table of entries on doc + 1 (0: empty), load <= 1/2, and the slots in
 * use in the order their documents came (emptied one by one: the table stays as large as the
 * most candidates a document had, and a document with few clears few). */
typedef struct {
    uint32_t doc1, cnt, lo, hi;
} ty__cslot_t;

typedef struct {
    ty__cslot_t *a;
    size_t cap, n;
    int shift;
    TY_VEC(uint32_t) touched; /* slots in use */
} ty__counter_t;

static inline uint64_t ty__mix32(uint32_t x) { return ty__mix64(x); }
TY_HASH_ENT_FUNCS(ty__cslots, ty__counter_t, ty__cslot_t, uint32_t, doc1, ty__mix32, TY_HASH_KEEP,
                  4096, 1, 2)

int ty__counter_grow(ty__counter_t *c); /* TY_ENOMEM */

/* One more shared minimizer, at position pos of the new document, with document doc. */
static inline int ty__count(ty__counter_t *c, uint32_t doc, uint32_t pos)
{
    /* room made here, where the slots in touched can be moved too: the put never grows */
    if (!ty__cslots_fits(c, c->n + 1) && ty__counter_grow(c))
        return TY_ENOMEM;
    int isnew;
    ty__cslot_t *e = ty__cslots_at(c, doc + 1, &isnew);
    if (isnew) {
        e->lo = e->hi = pos;
        if (ty_vec_push(c->touched, (uint32_t)(e - c->a)))
            return TY_ENOMEM;
    }
    e->cnt++;
    if (pos < e->lo)
        e->lo = pos;
    if (pos > e->hi)
        e->hi = pos;
    return TY_OK;
}

/* Append the counted documents (in no particular order) that share at least min_shared to
 * out, and empty the counter. TY_ENOMEM. */
typedef TY_VEC(ty__cand_t) ty__candvec_t;
int ty__counter_take(ty__counter_t *c, uint32_t min_shared, ty__candvec_t *out);
void ty__counter_free(ty__counter_t *c);

/* Whether candidate c of a new document of ntok tokens and usable non-boilerplate distinct
 * minimizers is worth an alignment; cand_nmz, cand_ntok: the candidate's distinct minimizers
 * and tokens. */
int ty__cand_ok(const ty__rules_t *R, const ty__cand_t *c, uint32_t usable, uint32_t cand_nmz,
                uint32_t cand_ntok, uint32_t ntok);
/* Order of the candidates that are tried: more shared minimizers first, then the earlier. */
void ty__cands_sort(ty__cand_t *c, size_t n);
/* Try the sorted candidates c[0..n) (their roots set): at most max_candidates alignments,
 * none for a candidate whose cluster an earlier candidate linked to. try(ctx, doc) returns
 * 1 when it linked, 0 when not, < 0 to stop (returned). */
int ty__cands_try(const ty__rules_t *R, const ty__cand_t *c, size_t n,
                  int (*try_fn)(void *ctx, uint32_t doc), void *ctx);
/* How many of the sorted candidates ty__cands_try() may try: the list up to the first
 * candidate of its max_candidates-th distinct root (the first of each root is always tried,
 * so the loop has stopped by then). */
size_t ty__cands_reach(const ty__rules_t *R, const ty__cand_t *c, size_t n);

/* Aligning a candidate and deciding the link. Per-thread scratch. */
typedef struct {
    ty_aligner_t *al;
    TY_VEC(uint8_t) flag, mask_a, mask_b, cov_a, cov_b;
} ty__verifier_t;

/* Boilerplate flags of a side's seeds: flags[i] = 1 when the minimizer of s[i] is
 * boilerplate now (ty__boiler). side: 0 the candidate (src), 1 the new document (sus). */
typedef void (*ty__boil_fn)(void *ctx, int side, const ty_seed_t *s, size_t n, uint8_t *flags);

typedef struct {
    float sim, cont;
    const ty_passage_t *ps; /* the alignment (valid until the verifier's next use) */
    size_t nps;
} ty__verdict_t;

int ty__verifier_init(ty__verifier_t *v, const ty_opts_t *to); /* TY_ENOMEM */
void ty__verifier_free(ty__verifier_t *v);
/* Align src (the earlier document, seeds ss) against sus (the new one, seeds bs) and decide:
 * 1 linked (with the verdict's values), 0 not, or ty_compare()'s error / TY_ENOMEM. exact:
 * the texts are the same after normalization, linked whatever the alignment; aligned only
 * when evidence is wanted (R->o.evidence). */
int ty__verify(ty__verifier_t *v, const ty__rules_t *R, const ty_doc_t *src, const ty_seed_t *ss,
               size_t nss, const ty_doc_t *sus, const ty_seed_t *bs, size_t nbs, int exact,
               ty__boil_fn boil, void *ctx, ty__verdict_t *out);

/* ---- clusters (cluster.c): union-find, best links, keepers ------------------------------- */

typedef struct {
    uint32_t parent; /* union-find: the root is the earliest document of its cluster */
    uint32_t best;   /* the linked document with the highest containment (UINT32_MAX: none) */
    float best_sim, best_cont;
    uint32_t ncp;     /* code points (the "longest" rule) */
    uint32_t cluster; /* after ty__clu_finish() */
    int32_t err;      /* a document that failed is in no cluster */
} ty__clu_t;

typedef struct {
    TY_VEC(ty__clu_t) d;     /* per document */
    TY_VEC(uint32_t) keeper; /* per cluster, after ty__clu_finish() */
    TY_VEC(uint32_t) csize;
} ty__clusters_t;

/* n more documents, each a cluster of its own; TY_ENOMEM. */
int ty__clu_add(ty__clusters_t *c, size_t n);
/* The root of x's cluster (path halving), and the same without changing anything (for
 * readers running in parallel). */
uint32_t ty__clu_find(ty__clusters_t *c, uint32_t x);
uint32_t ty__clu_root(const ty__clusters_t *c, uint32_t x);
/* Join a's and b's clusters; the link is a candidate for each one's best link. */
void ty__clu_link(ty__clusters_t *c, uint32_t a, uint32_t b, float sim, float cont);
/* Number the clusters, count them, pick the keepers; TY_ENOMEM. */
int ty__clu_finish(ty__clusters_t *c, int keep_longest, size_t *nclusters);
/* Document i's decision (after ty__clu_finish()). */
void ty__clu_result(const ty__clusters_t *c, size_t i, ty_dedup_result_t *res);
void ty__clu_free(ty__clusters_t *c);

/* The join, as both engines keep it: document g's facts (err: it is in no cluster), a link
 * (counted in st->links), and the end (clusters, removed). */
static inline void ty__join_doc(ty__clusters_t *c, ty_dedup_stats_t *st, uint32_t g, int err,
                                uint32_t ncp)
{
    c->d.a[g].err = err;
    c->d.a[g].ncp = ncp;
    if (err)
        st->errors++;
}

static inline void ty__join_link(ty__clusters_t *c, ty_dedup_stats_t *st, uint32_t g,
                                 uint32_t other, float sim, float cont)
{
    ty__clu_link(c, g, other, sim, cont);
    st->links++;
}

int ty__join_finish(ty__clusters_t *c, ty_dedup_stats_t *st, int keep_longest); /* TY_ENOMEM */

/* ---- the saved state (dedup_state.c: the file, and what of the handle is in it) ---------- */

/* Section tags: four characters, read as a little-endian u32. */
#define TY__TAG(a, b, c, d) \
    ((uint32_t)(a) | (uint32_t)(b) << 8 | (uint32_t)(c) << 16 | (uint32_t)(d) << 24)
#define TY__ST_PARM TY__TAG('P', 'A', 'R', 'M') /* the options (dedup_state.c) */
#define TY__ST_DOCS TY__TAG('D', 'O', 'C', 'S') /* processed documents */
#define TY__ST_KEYS TY__TAG('K', 'E', 'Y', 'S') /* exact keys */
#define TY__ST_BAND TY__TAG('B', 'A', 'N', 'D') /* near: band key -> first document */
#define TY__ST_MINZ TY__TAG('M', 'I', 'N', 'Z') /* spun: minimizer -> df, postings */
#define TY__ST_CARY TY__TAG('C', 'A', 'R', 'Y') /* spun: popular texts carried over */
#define TY__ST_STAT TY__TAG('S', 'T', 'A', 'T') /* counters */
#define TY__ST_PEND TY__TAG('P', 'E', 'N', 'D') /* the last batch, not processed yet */
#define TY__ST_END TY__TAG('E', 'N', 'D', '.')

/* Writing: a temporary file in dir, renamed over dir/dedup.state by ty__sw_commit() (which
 * frees w, also on error); ty__sw_abort() removes it (NULL: nothing). Write errors are kept
 * and reported by the commit. The header and the parameters are written by the open. */
typedef struct ty__sw ty__sw_t;
int ty__sw_open(ty__sw_t **w, const char *dir, const ty__rules_t *R, char *msg);
void ty__sw_begin(ty__sw_t *w, uint32_t tag);
void ty__sw_put(ty__sw_t *w, const void *p, size_t n);
void ty__sw_u32(ty__sw_t *w, uint32_t v);
void ty__sw_u64(ty__sw_t *w, uint64_t v);
void ty__sw_str(ty__sw_t *w, const char *s, size_t n); /* u32 length, bytes */
void ty__sw_end(ty__sw_t *w);                          /* the section's checksum */
int ty__sw_commit(ty__sw_t *w, char *msg);
void ty__sw_abort(ty__sw_t *w);
/* Create dir if needed and hold dir/dedup.lock (flock) in *fd: TY_EBUSY when another run
 * holds it, TY_EIO. */
int ty__state_lock(const char *dir, int *fd, char *msg);

/* Reading dir/dedup.state: the open checks the header and that the parameters are R's
 * (TY_ENOTFOUND: no such directory or file; TY_ECORRUPT; TY_EVERSION naming the first
 * parameter that differs). Every get checks the bytes left; errors name the file and byte
 * offset in msg (the caller's, TY_ERRMSG_SIZE, kept by the reader). */
typedef struct ty__sr ty__sr_t;
int ty__sr_open(ty__sr_t **r, const char *dir, const ty__rules_t *R, char *msg);
void ty__sr_close(ty__sr_t *r);
int ty__sr_begin(ty__sr_t *r, uint32_t tag);
int ty__sr_end(ty__sr_t *r); /* TY_ECORRUPT when the checksum differs */
int ty__sr_get(ty__sr_t *r, void *p, size_t n);
int ty__sr_u32(ty__sr_t *r, uint32_t *v);
int ty__sr_u64(ty__sr_t *r, uint64_t *v);
/* A count of records of at least rec_bytes each: TY_ECORRUPT when more than max or than the
 * rest of the file can hold. */
int ty__sr_count(ty__sr_t *r, const char *what, uint64_t rec_bytes, uint64_t max, uint64_t *n);
uint64_t ty__sr_tell(const ty__sr_t *r);
uint64_t ty__sr_left(const ty__sr_t *r);
/* TY_ECORRUPT with "FILE: byte AT: reason (damaged, ...)" in the reader's msg. */
int ty__sr_bad(ty__sr_t *r, uint64_t at, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* The carried summaries (ty__carry_t) into a section of w / from one of r (into an empty c;
 * TY_ECORRUPT naming the byte, TY_ENOMEM). */
void ty__carry_save(ty__sw_t *w, const ty__carry_t *c);
int ty__carry_load(ty__sr_t *r, ty__carry_t *c);

/* A writer to memory, for a part of a section made elsewhere (an MPI rank's, sent to the
 * rank that writes the file): ty__sw_put and the record writers below append to it;
 * ty__sw_take hands over the bytes so far (malloc()ed; TY_ENOMEM when a write failed) and
 * empties it. Freed with ty__sw_abort. No sections, no checksums. */
ty__sw_t *ty__sw_mem(void);
size_t ty__sw_mem_len(const ty__sw_t *w);
int ty__sw_take(ty__sw_t *w, char **p, size_t *n);

/* The records of the sections, written and read by both engines (one process: dedup_state.c;
 * MPI ranks: mpi/mdedup_state.c), so that a state saved by either is loaded by the other.
 *
 * DOCS: u64 n, then per processed document: str name, u32 len, ntok, nmz, indexed, [str
 * compressed text: indexed], u32 parent, best, f32 best_sim, best_cont, u32 ncp, err, [near:
 * perms u32 signature values]. */
typedef struct {
    const char *name; /* NUL-terminated */
    uint32_t len, ntok, nmz;
    int indexed;       /* spun: an original, kept with its compressed text */
    const char *ctext; /* indexed */
    uint32_t clen;
    ty__clu_t c;         /* its cluster entry (cluster: unused) */
    const uint32_t *sig; /* near: R->perms values */
} ty__st_doc_t;
void ty__st_put_doc(ty__sw_t *w, const ty__rules_t *R, const ty__st_doc_t *d);
/* Read DOCS: fn(ctx, 0, n, NULL) once with the count, then fn(ctx, i, n, &d) for each
 * document in order (d's pointers valid during the call; fn returns TY_OK or TY_ENOMEM).
 * Every record is checked (a cluster entry points back, to a document not left out, ...).
 * *flags (malloc()ed): per document TY__ST_FERR | TY__ST_FINDEXED, for ty__st_get_tables;
 * *errors: the documents left out. err: the reader's message buffer. */
#define TY__ST_FERR 1
#define TY__ST_FINDEXED 2
typedef int (*ty__st_doc_fn)(void *ctx, uint64_t i, uint64_t n, const ty__st_doc_t *d);
int ty__st_get_docs(ty__sr_t *r, const ty__rules_t *R, ty__st_doc_fn fn, void *ctx, uint8_t **flags,
                    uint64_t *n, uint64_t *errors, char *err);
/* KEYS {u64 lo, u64 hi, u32 doc}, BAND (near) {u64 key, u32 doc}, MINZ (spun) {u64 key, u32
 * df, df u32 documents when not boilerplate}: the entries of the table slots [i0, i1), taken
 * in a scattered order (the caller writes the section's count of entries first). */
void ty__st_put_keys(ty__sw_t *w, const ty__xmap_t *ex, size_t i0, size_t i1);
void ty__st_put_bands(ty__sw_t *w, const ty__map_t *m, size_t i0, size_t i1);
void ty__st_put_minz(ty__sw_t *w, const ty__rules_t *R, const ty__mztab_t *t, size_t i0, size_t i1);
/* Read KEYS, BAND (near), MINZ and CARY (spun) into the (empty) tables: every entry, or only
 * the keys mine(ctx, key) says are this engine's (an MPI rank keeps the keys it owns); fl, nd:
 * ty__st_get_docs's flags and count, to check the documents named. room (or NULL): called
 * with rctx every 1,024 entries, and may move the tables' contents elsewhere (a spill) and
 * leave them empty — a key listed twice is then caught only within one part, and the
 * section's checksum is what guards against the rest. */
typedef int (*ty__st_mine_fn)(void *ctx, uint64_t key);
typedef int (*ty__st_room_fn)(void *rctx);
int ty__st_get_tables(ty__sr_t *r, const ty__rules_t *R, const uint8_t *fl, uint64_t nd,
                      ty__st_mine_fn mine, void *ctx, ty__st_room_fn room, void *rctx,
                      ty__xmap_t *ex, ty__map_t *bands, ty__mztab_t *gmz, ty__carry_t *carry,
                      char *err);
/* STAT: docs, errors, links, candidates, indexed, frequent (a whole section). Read: checked
 * against the documents (n, errors). */
void ty__st_put_stat(ty__sw_t *w, const uint64_t v[6]);
int ty__st_get_stat(ty__sr_t *r, uint64_t n, uint64_t errors, uint64_t v[6]);
/* PEND (spun: the last batch, not processed): u64 n, then per document str name, u32
 * refused, str text (refused: its message). Read: fn(ctx, name, text, len, refused) for each
 * (text NULL and refused the message, or refused NULL), then END and nothing after it. */
void ty__st_put_pend(ty__sw_t *w, const char *name, int refused, const char *text, size_t len);
typedef int (*ty__st_pend_fn)(void *ctx, const char *name, const char *text, size_t len,
                              const char *refused);
int ty__st_get_pend(ty__sr_t *r, ty__st_pend_fn fn, void *ctx, char *err);

#endif
