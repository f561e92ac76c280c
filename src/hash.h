/*
 * hash.h — the library's one open-addressing hash table, typed, in the manner of klib's khash.h.
 *
 *   static inline size_t u64_home(uint64_t k) { return (size_t)(k ^ (k >> 17)); }
 *   TY_HASH_SET_INIT(u64set, uint64_t, u64_home)     // a set of uint64_t
 *   TY_HASH_MAP_INIT(u64cnt, uint64_t, uint32_t, u64_home)  // uint64_t -> uint32_t
 *
 *   u64cnt_t h = {0};
 *   int isnew;
 *   size_t x = u64cnt_put(&h, key, &isnew);  // h.cap when out of memory
 *   if (x == h.cap) return TY_ENOMEM;
 *   if (isnew) h.val[x] = 0;
 *   h.val[x]++;
 *   x = u64cnt_get(&h, key);                 // h.cap when absent
 *   u64cnt_free(&h);
 *
 * One definition per key/value type generates static inline functions (name_get, name_put,
 * name_resize, name_reset, name_clear, name_free) over a struct name_t {key, val, cap, n}.
 * Why this shape rather than khash's flag bits: every table in tongyuan has keys with a value
 * that cannot occur (0: a hash is remapped, an id stored + 1), so the key array is its own
 * occupancy map — one array read a probe, and a cleared table is one memset.
 *
 * Rules the callers rely on (they keep outputs independent of nothing but the keys):
 * - the key 0 marks an empty slot: a caller stores no key 0 (track it apart, or offset keys);
 * - the home slot of k is home(k) & (cap - 1), then linear probing: the layout is a function
 *   of the keys' insertion order only, so iterating slots 0..cap-1 gives the same order on
 *   every run and machine (home is the caller's: usually a multiplicative mix, or the bits of
 *   a key that is an xxHash value already);
 * - name_put grows (doubling, from 64 slots) before the load passes 1/2; a resize reinserts
 *   in old-slot order; value slots of a new key are zeroed when the table was (new tables,
 *   name_reset, name_clear, a grown table) — otherwise what the caller left there;
 * - slot numbers and val pointers are valid until the next name_put, name_resize or name_reset.
 * Not thread-safe: one table, one thread at a time (readers may share a table nobody writes).
 *
 * A third kind, TY_HASH_IDX_INIT, holds no keys: elements of the caller's own array, as index
 * + 1 (4 bytes a slot), for keys that are there already and too big to copy or many (a new
 * index's 16-byte names, a text's window hashes at their positions):
 *
 *   static inline uint64_t win_at(const uint64_t *hs, size_t i) { return hs[i]; }
 *   TY_HASH_IDX_INIT(wintab, const uint64_t *, uint64_t, win_at, ty__mix64, TY_HASH_EQ)
 *
 *   wintab_reset(&t, n);                        // empty, room for n without growing
 *   size_t q = wintab_put(&t, hs, hs[i], i, &isnew);  // hs[i]'s first element; SIZE_MAX: no memory
 *   q = wintab_get(&t, hs, k);                  // the element of key k, SIZE_MAX when absent
 *
 * key_at(ctx, i) is element i's key, home(k) its mix, eq(a, b) compares two keys. The same
 * rules as above (home & (cap - 1), linear probing, growing before load 1/2); reset sizes the
 * table for n (keeping a larger allocation, clearing only the slots it uses: cheap for a
 * small text after a big one). The caller's array must hold every element put, as long as
 * the table is used.
 *
 * A fourth kind, TY_HASH_ENT_INIT, keeps whole entries (a struct whose key is one field) in
 * the slots, for tables probed in bulk where the values must come in the same cache line as
 * the key (dedup's minimizer, band and exact-key tables, its candidate counter):
 *
 *   typedef struct { uint64_t key; uint32_t val, aux; } kv_t;
 *   TY_HASH_ENT_INIT(kvtab, kv_t, uint64_t, key, ty__mix64, ty__fix_key, 1024, 3, 4)
 *
 *   kv_t *e = kvtab_put(&t, k, &isnew);     // NULL: no memory; a new entry is zeroed
 *   e = kvtab_find(&t, k);                  // NULL when absent
 *   size_t s = kvtab_slot(&t, fk);          // home of a fixed key: start its cache line
 *   e = kvtab_probe(&t, s, fk);             //   loading, then probe (t not empty)
 *   e = kvtab_at(&t, fk, &isnew);           // put of a fixed key, room made by the caller
 *                                           //   (kvtab_fits, kvtab_grow, kvtab_reserve)
 *
 * struct kvtab_t {a, cap, n, shift}: a[0..cap) the slots. Unlike the kinds above, the home
 * slot is the top bits of home(k) (home(k) >> shift, shift = 64 - log2(cap)), so a table of
 * the keys one MPI rank owns (home(k) mod N) still spreads over every slot; fix(k) is the key
 * stored for k (e.g. 0 stored as 1, where merging two hashes in 2^64 is harmless), applied by
 * find and put, not by slot and probe; the table starts at min_cap slots and grows (doubling,
 * reinserting in old-slot order) before its load passes num/den. The layout is again a
 * function of the keys' insertion order only (dedup writes its tables slot by slot).
 * TY_HASH_ENT_FUNCS generates the same functions over a struct of the caller's that has those
 * four fields first-class and more besides.
 */
#ifndef TY_HASH_H
#define TY_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Fibonacci mixes for ids and small keys (xxHash values need none: use their bits). */
static inline size_t ty__hash_u32(uint32_t x) { return (size_t)(uint32_t)(x * 0x9E3779B1u); }
static inline size_t ty__hash_id(uint32_t id)
{
    return (size_t)(uint32_t)(((uint64_t)id * UINT64_C(0x9E3779B97F4A7C15)) >> 32);
}

#define TY__HASH_MIN_CAP 64

/* Growing is rare: kept out of line, so that a put stays small enough to be inlined where it
 * is called in a hot loop. */
#if defined(__GNUC__)
#define TY__HASH_RARE __attribute__((noinline))
#else
#define TY__HASH_RARE
#endif

/* The slots for n keys at load <= 1/2: a power of two, at least TY__HASH_MIN_CAP. */
static inline size_t ty__hash_cap(size_t n)
{
    size_t cap = TY__HASH_MIN_CAP;
    while (cap < 2 * n)
        cap <<= 1;
    return cap;
}

/* Slot of k in keys[0..cap) (cap a power of two): its own, or the empty slot ending its run. */
#define TY__HASH_CORE(name, key_t, home)                                                         \
    static inline size_t name##_slot(const key_t *keys, size_t cap, key_t k)                     \
    {                                                                                            \
        size_t mask = cap - 1, x = (size_t)(home(k)) & mask;                                     \
        while (keys[x] && keys[x] != k)                                                          \
            x = (x + 1) & mask;                                                                  \
        return x;                                                                                \
    }                                                                                            \
    static inline size_t name##_get(const name##_t *h, key_t k)                                  \
    {                                                                                            \
        if (!h->n)                                                                               \
            return h->cap;                                                                       \
        size_t x = name##_slot(h->key, h->cap, k);                                               \
        return h->key[x] ? x : h->cap;                                                           \
    }                                                                                            \
    /* Empty, with room for n keys at load <= 1/2 (0: TY_ENOMEM, table unchanged). */            \
    static inline int name##_reset(name##_t *h, size_t n)                                        \
    {                                                                                            \
        size_t cap = ty__hash_cap(n);                                                            \
        if (h->cap < cap) {                                                                      \
            name##_free(h);                                                                      \
            if (name##_alloc(h, cap))                                                            \
                return -1;                                                                       \
        }                                                                                        \
        name##_clear(h);                                                                         \
        return 0;                                                                                \
    }                                                                                            \
    /* The slot of k, inserted (*isnew = 1) if absent; h->cap when out of memory. */             \
    static inline size_t name##_put(name##_t *h, key_t k, int *isnew)                            \
    {                                                                                            \
        *isnew = 0;                                                                              \
        if ((h->n + 1) * 2 > h->cap && name##_resize(h, h->cap ? h->cap * 2 : TY__HASH_MIN_CAP)) \
            return h->cap;                                                                       \
        size_t x = name##_slot(h->key, h->cap, k);                                               \
        *isnew = !h->key[x];                                                                     \
        if (*isnew) {                                                                            \
            h->key[x] = k;                                                                       \
            h->n++;                                                                              \
        }                                                                                        \
        return x;                                                                                \
    }

/* The storage of a set (V: TY__HASH_NO_VAL) or a map (V: TY__HASH_VAL): the key array, and
 * for a map the value array beside it, allocated, cleared, grown and freed together. */
#define TY__HASH_VAL(...) __VA_ARGS__
#define TY__HASH_NO_VAL(...)
#define TY__HASH_STORE(name, key_t, val_t, V)                                   \
    static inline void name##_free(name##_t *h)                                 \
    {                                                                           \
        free(h->key);                                                           \
        V(free(h->val); h->val = NULL;)                                         \
        h->key = NULL;                                                          \
        h->cap = h->n = 0;                                                      \
    }                                                                           \
    static inline int name##_alloc(name##_t *h, size_t cap)                     \
    {                                                                           \
        h->key = (key_t *)calloc(cap, sizeof(key_t));                           \
        V(h->val = (val_t *)calloc(cap, sizeof(val_t));)                        \
        if (h->key V(&&h->val)) {                                               \
            h->cap = cap;                                                       \
            return 0;                                                           \
        }                                                                       \
        name##_free(h);                                                         \
        return -1;                                                              \
    }                                                                           \
    static inline void name##_clear(name##_t *h)                                \
    {                                                                           \
        if (h->cap) {                                                           \
            memset(h->key, 0, h->cap * sizeof(key_t));                          \
            V(memset(h->val, 0, h->cap * sizeof(val_t));)                       \
        }                                                                       \
        h->n = 0;                                                               \
    }                                                                           \
    static inline size_t name##_slot(const key_t *keys, size_t cap, key_t k);   \
    /* Rehash into cap slots (a power of two, > 2 n); -1 when out of memory. */ \
    static inline int name##_resize(name##_t *h, size_t cap)                    \
    {                                                                           \
        key_t *nk = (key_t *)calloc(cap, sizeof(key_t));                        \
        V(val_t *nv = (val_t *)calloc(cap, sizeof(val_t));)                     \
        if (!nk V(|| !nv)) {                                                    \
            free(nk);                                                           \
            V(free(nv);)                                                        \
            return -1;                                                          \
        }                                                                       \
        for (size_t i = 0; i < h->cap; i++)                                     \
            if (h->key[i]) {                                                    \
                size_t x = name##_slot(nk, cap, h->key[i]);                     \
                nk[x] = h->key[i];                                              \
                V(nv[x] = h->val[i];)                                           \
            }                                                                   \
        free(h->key);                                                           \
        V(free(h->val); h->val = nv;)                                           \
        h->key = nk;                                                            \
        h->cap = cap;                                                           \
        return 0;                                                               \
    }

/* A set of keys. */
#define TY_HASH_SET_INIT(name, key_t, home)            \
    typedef struct {                                   \
        key_t *key;                                    \
        size_t cap, n;                                 \
    } name##_t;                                        \
    TY__HASH_STORE(name, key_t, char, TY__HASH_NO_VAL) \
    TY__HASH_CORE(name, key_t, home)

/* A map from keys to values (val[slot]). */
#define TY_HASH_MAP_INIT(name, key_t, val_t, home)   \
    typedef struct {                                 \
        key_t *key;                                  \
        val_t *val;                                  \
        size_t cap, n;                               \
    } name##_t;                                      \
    TY__HASH_STORE(name, key_t, val_t, TY__HASH_VAL) \
    TY__HASH_CORE(name, key_t, home)

/* eq for keys compared with == */
#define TY_HASH_EQ(a, b) ((a) == (b))

/* A set of elements of the caller's array (see the top). */
#define TY_HASH_IDX_INIT(name, ctx_t, key_t, key_at, home, eq)                                 \
    typedef struct {                                                                           \
        uint32_t *slot; /* element + 1, 0: empty */                                            \
        size_t cap, n, room;                                                                   \
    } name##_t;                                                                                \
    static inline void name##_free(name##_t *h)                                                \
    {                                                                                          \
        free(h->slot);                                                                         \
        h->slot = NULL;                                                                        \
        h->cap = h->n = h->room = 0;                                                           \
    }                                                                                          \
    /* The slot of key k, or the empty slot ending its run. */                                 \
    static inline size_t name##_slot(const uint32_t *slot, size_t cap, ctx_t ctx, key_t k)     \
    {                                                                                          \
        size_t mask = cap - 1, x = (size_t)(home(k)) & mask;                                   \
        while (slot[x] && !(eq(key_at(ctx, slot[x] - 1), k)))                                  \
            x = (x + 1) & mask;                                                                \
        return x;                                                                              \
    }                                                                                          \
    static inline size_t name##_get(const name##_t *h, ctx_t ctx, key_t k)                     \
    {                                                                                          \
        if (!h->n)                                                                             \
            return SIZE_MAX;                                                                   \
        size_t x = name##_slot(h->slot, h->cap, ctx, k);                                       \
        return h->slot[x] ? (size_t)h->slot[x] - 1 : SIZE_MAX;                                 \
    }                                                                                          \
    /* Empty, with room for n elements at load <= 1/2 (-1: out of memory, table unchanged). */ \
    static inline int name##_reset(name##_t *h, size_t n)                                      \
    {                                                                                          \
        size_t cap = ty__hash_cap(n);                                                          \
        if (h->room < cap) {                                                                   \
            uint32_t *s = (uint32_t *)malloc(cap * sizeof(uint32_t));                          \
            if (!s)                                                                            \
                return -1;                                                                     \
            free(h->slot);                                                                     \
            h->slot = s;                                                                       \
            h->room = cap;                                                                     \
        }                                                                                      \
        memset(h->slot, 0, cap * sizeof(uint32_t));                                            \
        h->cap = cap;                                                                          \
        h->n = 0;                                                                              \
        return 0;                                                                              \
    }                                                                                          \
    /* Element i of key k put unless an element of key k is there: that element, or i with     \
     * *isnew = 1; SIZE_MAX when out of memory. */                                             \
    static inline size_t name##_put(name##_t *h, ctx_t ctx, key_t k, size_t i, int *isnew)     \
    {                                                                                          \
        *isnew = 0;                                                                            \
        if ((h->n + 1) * 2 > h->cap) {                                                         \
            size_t cap = h->cap ? h->cap * 2 : TY__HASH_MIN_CAP;                               \
            uint32_t *s = (uint32_t *)calloc(cap, sizeof(uint32_t));                           \
            if (!s)                                                                            \
                return SIZE_MAX;                                                               \
            for (size_t j = 0; j < h->cap; j++)                                                \
                if (h->slot[j])                                                                \
                    s[name##_slot(s, cap, ctx, key_at(ctx, h->slot[j] - 1))] = h->slot[j];     \
            free(h->slot);                                                                     \
            h->slot = s;                                                                       \
            h->cap = h->room = cap;                                                            \
        }                                                                                      \
        size_t x = name##_slot(h->slot, h->cap, ctx, k);                                       \
        if (h->slot[x])                                                                        \
            return (size_t)h->slot[x] - 1;                                                     \
        h->slot[x] = (uint32_t)i + 1;                                                          \
        h->n++;                                                                                \
        *isnew = 1;                                                                            \
        return i;                                                                              \
    }

/* A table of entries (see the top). tab_t has ent_t *a, size_t cap, n, int shift. */
#define TY_HASH_ENT_FUNCS(name, tab_t, ent_t, key_t, kf, home, fix, min_cap, num, den)       \
    /* Home slot of a fixed key; the table must not be empty. */                             \
    static inline size_t name##_slot(const tab_t *h, key_t k)                                \
    {                                                                                        \
        return (size_t)((uint64_t)(home(k)) >> h->shift);                                    \
    }                                                                                        \
    /* The entry of a fixed key, searched from its home slot s, or NULL. */                  \
    static inline ent_t *name##_probe(const tab_t *h, size_t s, key_t k)                     \
    {                                                                                        \
        size_t mask = h->cap - 1;                                                            \
        while (h->a[s].kf) {                                                                 \
            if (h->a[s].kf == k)                                                             \
                return &h->a[s];                                                             \
            s = (s + 1) & mask;                                                              \
        }                                                                                    \
        return NULL;                                                                         \
    }                                                                                        \
    static inline ent_t *name##_find(const tab_t *h, key_t k)                                \
    {                                                                                        \
        if (!h->n)                                                                           \
            return NULL;                                                                     \
        k = fix(k);                                                                          \
        return name##_probe(h, name##_slot(h, k), k);                                        \
    }                                                                                        \
    /* Twice the slots (min_cap when empty), reinserted in old-slot order; -1: no memory. */ \
    static TY__HASH_RARE int name##_grow(tab_t *h)                                           \
    {                                                                                        \
        size_t nc = h->cap ? h->cap * 2 : (min_cap);                                         \
        int sh = 64;                                                                         \
        for (size_t c = nc; c > 1; c >>= 1)                                                  \
            sh--;                                                                            \
        ent_t *na = (ent_t *)calloc(nc, sizeof(ent_t));                                      \
        if (!na)                                                                             \
            return -1;                                                                       \
        for (size_t i = 0; i < h->cap; i++)                                                  \
            if (h->a[i].kf) {                                                                \
                size_t s = (size_t)((uint64_t)(home(h->a[i].kf)) >> sh);                     \
                while (na[s].kf)                                                             \
                    s = (s + 1) & (nc - 1);                                                  \
                na[s] = h->a[i];                                                             \
            }                                                                                \
        free(h->a);                                                                          \
        h->a = na;                                                                           \
        h->cap = nc;                                                                         \
        h->shift = sh;                                                                       \
        return 0;                                                                            \
    }                                                                                        \
    /* Whether n entries fit without growing. */                                             \
    static inline int name##_fits(const tab_t *h, size_t n)                                  \
    {                                                                                        \
        return (uint64_t)n * (den) <= (uint64_t)h->cap * (num);                              \
    }                                                                                        \
    /* Room for n entries in all (grown now, not while they are put); -1: no memory. */      \
    static inline int name##_reserve(tab_t *h, size_t n)                                     \
    {                                                                                        \
        while (!name##_fits(h, n + 1))                                                       \
            if (name##_grow(h))                                                              \
                return -1;                                                                   \
        return 0;                                                                            \
    }                                                                                        \
    /* The entry of a fixed key, inserted (zeroed but its key, *isnew = 1) if absent, in a   \
     * table with room for one more (name_fits(h, h->n + 1): the caller grows). */           \
    static inline ent_t *name##_at(tab_t *h, key_t k, int *isnew)                            \
    {                                                                                        \
        size_t mask = h->cap - 1, s = name##_slot(h, k);                                     \
        while (h->a[s].kf) {                                                                 \
            if (h->a[s].kf == k) {                                                           \
                *isnew = 0;                                                                  \
                return &h->a[s];                                                             \
            }                                                                                \
            s = (s + 1) & mask;                                                              \
        }                                                                                    \
        h->a[s] = (ent_t){0};                                                                \
        h->a[s].kf = k;                                                                      \
        h->n++;                                                                              \
        *isnew = 1;                                                                          \
        return &h->a[s];                                                                     \
    }                                                                                        \
    /* The entry of k, inserted (zeroed but its key, *isnew = 1) if absent; NULL when out of \
     * memory. The pointer is valid until the next put or grow. */                           \
    static inline ent_t *name##_put(tab_t *h, key_t k, int *isnew)                           \
    {                                                                                        \
        if (!name##_fits(h, h->n + 1) && name##_grow(h))                                     \
            return NULL;                                                                     \
        return name##_at(h, fix(k), isnew);                                                  \
    }                                                                                        \
    /* Empty, keeping the slots. */                                                          \
    static inline void name##_clear(tab_t *h)                                                \
    {                                                                                        \
        if (h->n)                                                                            \
            memset(h->a, 0, h->cap * sizeof(ent_t));                                         \
        h->n = 0;                                                                            \
    }                                                                                        \
    static inline void name##_free(tab_t *h)                                                 \
    {                                                                                        \
        free(h->a);                                                                          \
        h->a = NULL;                                                                         \
        h->cap = h->n = 0;                                                                   \
        h->shift = 0;                                                                        \
    }

#define TY_HASH_ENT_INIT(name, ent_t, key_t, kf, home, fix, min_cap, num, den) \
    typedef struct {                                                           \
        ent_t *a;                                                              \
        size_t cap, n; /* cap: 0 or a power of two */                          \
        int shift;     /* 64 - log2(cap) */                                    \
    } name##_t;                                                                \
    TY_HASH_ENT_FUNCS(name, name##_t, ent_t, key_t, kf, home, fix, min_cap, num, den)

/* fix for keys stored as they are */
#define TY_HASH_KEEP(k) (k)

#endif
