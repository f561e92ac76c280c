/*
 * test_thread.c — the shared containers and thread helper: src/hash.h (typed open-addressing
 * table), src/heap.h (typed binary heap) and src/thread.c (ty__for, ty__pipeline). Run under
 * ThreadSanitizer by make test-tsan.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#include "check.h"
#include "hash.h"
#include "heap.h"
#include "internal.h"
#include "thread.h"

static inline size_t home_u64(uint64_t k) { return (size_t)(k ^ (k >> 17)); }
TY_HASH_SET_INIT(set64, uint64_t, home_u64)
TY_HASH_MAP_INIT(map32, uint32_t, uint32_t, ty__hash_u32)
/* a deliberately bad home: every key collides, so probing and wrap-around are exercised */
static inline size_t home_same(uint32_t k)
{
    (void)k;
    return 63;
}
TY_HASH_MAP_INIT(mapbad, uint32_t, uint32_t, home_same)
/* a set of the elements of an array of 16-byte keys, every key on one home */
typedef struct {
    uint8_t k[16];
} key16_t;
static inline const uint8_t *key16_at(const key16_t *a, size_t i) { return a[i].k; }
static inline size_t key16_home(const uint8_t *k) { return k[0] == 0xAA ? 63 : k[0]; }
#define KEY16_EQ(a, b) (memcmp((a), (b), 16) == 0)
TY_HASH_IDX_INIT(idx16, const key16_t *, const uint8_t *, key16_at, key16_home, KEY16_EQ)

/* a min-heap of uint32_t, and one of indices into a caller's array of keys */
static inline int u32_before(const void *ctx, const uint32_t *a, const uint32_t *b)
{
    (void)ctx;
    return *a < *b;
}
TY_HEAP_INIT(heap32, uint32_t, const void *, u32_before)
static inline int key_before(const uint64_t *keys, const int *a, const int *b)
{
    return keys[*a] != keys[*b] ? keys[*a] < keys[*b] : *a < *b;
}
TY_HEAP_INIT(heapix, int, const uint64_t *, key_before)

static uint64_t rnd(uint64_t *s)
{
    *s += 0x9E3779B97F4A7C15ULL;
    uint64_t z = *s;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* A map against a plain array of counts: counts of 20,000 draws from 5,000 keys. */
static void test_map_counts(void)
{
    enum { K = 5000, N = 20000 };
    static uint32_t want[K + 1];
    memset(want, 0, sizeof want);
    map32_t h = {0};
    uint64_t s = 1;
    for (int i = 0; i < N; i++) {
        uint32_t k = (uint32_t)(rnd(&s) % K) + 1;
        int isnew;
        size_t x = map32_put(&h, k, &isnew);
        CHECK(x < h.cap);
        CHECK_EQ_INT(isnew, want[k] == 0);
        h.val[x]++;
        want[k]++;
    }
    size_t distinct = 0;
    for (uint32_t k = 1; k <= K; k++) {
        size_t x = map32_get(&h, k);
        distinct += want[k] > 0;
        if (want[k])
            CHECK_EQ_INT(h.val[x], want[k]);
        else
            CHECK_EQ_INT(x, h.cap);
    }
    CHECK_EQ_INT(h.n, distinct);
    CHECK(h.n * 2 <= h.cap); /* load stays at most 1/2 */
    CHECK_EQ_INT(map32_get(&h, K + 7), h.cap);
    map32_free(&h);
    CHECK(!h.key && !h.cap);
    map32_free(&h); /* twice: a no-op */
}

/* Layout is a function of the insertion order: two tables fed the same keys are identical. */
static void test_layout_deterministic(void)
{
    set64_t a = {0}, b = {0};
    uint64_t s = 7;
    for (int i = 0; i < 3000; i++) {
        uint64_t k = rnd(&s) | 1;
        int n1, n2;
        set64_put(&a, k, &n1);
        set64_put(&b, k, &n2);
    }
    CHECK_EQ_INT(a.cap, b.cap);
    CHECK(memcmp(a.key, b.key, a.cap * sizeof(uint64_t)) == 0);
    /* reset keeps the memory, empties the table and sizes it for n */
    CHECK_EQ_INT(set64_reset(&a, 10), 0);
    CHECK_EQ_INT(a.n, 0);
    for (size_t x = 0; x < b.cap; x++)
        if (b.key[x])
            CHECK_EQ_INT(set64_get(&a, b.key[x]), a.cap);
    CHECK_EQ_INT(set64_reset(&a, 100000), 0);
    CHECK(a.cap >= 200000);
    set64_free(&a);
    set64_free(&b);
}

/* Every key on one home slot: the run wraps around the end of the table. */
static void test_collisions_wrap(void)
{
    mapbad_t h = {0};
    for (uint32_t k = 1; k <= 30; k++) {
        int isnew;
        size_t x = mapbad_put(&h, k, &isnew);
        CHECK(isnew);
        h.val[x] = k * 10;
    }
    CHECK_EQ_INT(h.cap, 64);
    CHECK_EQ_INT(h.key[63], 1);
    CHECK_EQ_INT(h.key[0], 2); /* wrapped */
    for (uint32_t k = 1; k <= 30; k++)
        CHECK_EQ_INT(h.val[mapbad_get(&h, k)], k * 10);
    int isnew;
    mapbad_put(&h, 5, &isnew);
    CHECK(!isnew);
    CHECK_EQ_INT(h.n, 30);
    mapbad_free(&h);
}

/* The index set: the first element of each key is found, growing keeps them, reset empties
 * (and sizes for a smaller set without freeing). */
static void test_idx_set(void)
{
    enum { N = 3000 };
    static key16_t a[N];
    uint64_t s = 3;
    for (size_t i = 0; i < N; i++) {
        /* every third element repeats the key of the one before; 1 in 10 all on one home */
        if (i % 3 == 2) {
            a[i] = a[i - 1];
            continue;
        }
        uint64_t r = rnd(&s), r2 = rnd(&s);
        memcpy(a[i].k, &r, 8);
        memcpy(a[i].k + 8, &r2, 8);
        if (i % 10 == 0)
            a[i].k[0] = 0xAA;
    }
    idx16_t h = {0};
    CHECK_EQ_INT(idx16_get(&h, a, a[0].k), SIZE_MAX);
    for (size_t i = 0; i < N; i++) {
        int isnew;
        size_t f = idx16_put(&h, a, a[i].k, i, &isnew);
        CHECK_EQ_INT(isnew, i % 3 != 2);
        CHECK_EQ_INT(f, i % 3 == 2 ? i - 1 : i);
    }
    CHECK_EQ_INT(h.n, N - N / 3);
    CHECK(h.n * 2 <= h.cap);
    for (size_t i = 0; i < N; i++)
        CHECK_EQ_INT(idx16_get(&h, a, a[i].k), i % 3 == 2 ? i - 1 : i);
    key16_t none = {{0xAA, 1, 2, 3}};
    CHECK_EQ_INT(idx16_get(&h, a, none.k), SIZE_MAX);
    size_t room = h.room;
    CHECK_EQ_INT(idx16_reset(&h, 5), 0);
    CHECK_EQ_INT(h.n, 0);
    CHECK_EQ_INT(h.cap, 64);
    CHECK_EQ_INT(h.room, room);
    CHECK_EQ_INT(idx16_get(&h, a, a[1].k), SIZE_MAX);
    int isnew;
    CHECK_EQ_INT(idx16_put(&h, a, a[7].k, 7, &isnew), 7);
    CHECK_EQ_INT(idx16_get(&h, a, a[8].k), 7); /* a[8] repeats a[7] */
    idx16_free(&h);
    CHECK(!h.slot && !h.cap && !h.room);
}

/* ---- ty__for ------------------------------------------------------------------------------ */

typedef struct {
    _Atomic int hits[1000];
    _Atomic int tid_bad;
    int nt;
    uint64_t out[1000];
} for_job_t;

static void for_one(void *data, size_t i, int tid)
{
    for_job_t *j = data;
    atomic_fetch_add(&j->hits[i], 1);
    if (tid < 0 || tid >= j->nt)
        atomic_store(&j->tid_bad, 1);
    uint64_t s = i;
    j->out[i] = rnd(&s);
}

static void test_for_each_item_once(void)
{
    static int nts[] = {1, 2, 3, 8, 2000};
    static size_t ns[] = {0, 1, 7, 1000};
    for (size_t a = 0; a < sizeof nts / sizeof *nts; a++)
        for (size_t b = 0; b < sizeof ns / sizeof *ns; b++) {
            static for_job_t j;
            memset(&j, 0, sizeof j);
            j.nt = nts[a];
            CHECK_EQ_INT(ty__for(nts[a], for_one, &j, ns[b]), TY_OK);
            int ok = 1;
            for (size_t i = 0; i < 1000; i++) {
                ok &= j.hits[i] == (i < ns[b]);
                uint64_t s = i;
                ok &= i >= ns[b] || j.out[i] == rnd(&s);
            }
            CHECK(ok);
            CHECK_EQ_INT(j.tid_bad, 0);
        }
}

/* ---- ty__pipeline ------------------------------------------------------------------------- */

typedef struct {
    int n_batches, next;
    int last_seen[4];   /* per step: the last batch it saw (each step sees them in order) */
    int out[200], nout; /* what the last step wrote, in order */
    _Atomic int bad;
    _Atomic int in_step[4]; /* a step never runs twice at once */
    pthread_t caller;       /* the last step runs on the calling thread */
    _Atomic int in_flight, max_in_flight, nthreads;
    _Atomic int waits; /* TY__STEP_WAIT calls */
    int slow_ms;       /* step 1 of batch 0 sleeps so long */
    int here_only;     /* n_threads 0: every step on the calling thread */
} pipe_job_t;

typedef struct {
    int id, v;
} batch_t;

static void *pipe_step(void *shared, int s, void *in)
{
    pipe_job_t *p = shared;
    if (s == TY__STEP_WAIT) {
        if (!pthread_equal(pthread_self(), p->caller) || in)
            atomic_store(&p->bad, 1);
        atomic_fetch_add(&p->waits, 1);
        return NULL;
    }
    if (atomic_fetch_add(&p->in_step[s], 1) != 0)
        atomic_store(&p->bad, 1);
    if (p->here_only && !pthread_equal(pthread_self(), p->caller))
        atomic_store(&p->bad, 1);
    batch_t *b = in;
    if (s == 0) {
        if (p->next < p->n_batches) {
            b = malloc(sizeof *b);
            b->id = p->next++;
            b->v = b->id;
            int n = atomic_fetch_add(&p->in_flight, 1) + 1;
            if (n > atomic_load(&p->max_in_flight))
                atomic_store(&p->max_in_flight, n);
        }
    } else if (b) {
        if (b->id != p->last_seen[s] + 1)
            atomic_store(&p->bad, 1);
        p->last_seen[s] = b->id;
        if (s == 1) {
            if (b->id == 0 && p->slow_ms)
                nanosleep(&(struct timespec){0, p->slow_ms * 1000000L}, NULL);
            for (volatile int i = 0; i < (b->id % 7) * 1000; i++)
                ;
            b->v = b->v * 3 + 1;
        } else if (s == 2) {
            if (!pthread_equal(pthread_self(), p->caller))
                atomic_store(&p->bad, 1);
            atomic_fetch_sub(&p->in_flight, 1);
            p->out[p->nout++] = b->v;
            free(b);
            b = NULL;
        }
    }
    atomic_fetch_sub(&p->in_step[s], 1);
    return b;
}

static void test_pipeline_ordered(void)
{
    static int nts[] = {0, 1, 2, 4, 9}; /* 0: every step on the calling thread */
    static int nbs[] = {0, 1, 5, 200};
    for (size_t a = 0; a < 5; a++)
        for (size_t c = 0; c < 4; c++) {
            static pipe_job_t p;
            memset(&p, 0, sizeof p);
            for (int s = 0; s < 4; s++)
                p.last_seen[s] = -1;
            p.n_batches = nbs[c];
            p.caller = pthread_self();
            p.here_only = !nts[a];
            CHECK_EQ_INT(ty__pipeline(nts[a], pipe_step, &p, 3), TY_OK);
            CHECK_EQ_INT(p.nout, nbs[c]);
            CHECK(p.max_in_flight <= (nts[a] ? nts[a] + 2 : 1));
            int ok = 1;
            for (int i = 0; i < p.nout; i++)
                ok &= p.out[i] == i * 3 + 1;
            CHECK(ok);
            CHECK_EQ_INT(p.bad, 0);
        }
}

/* The calling thread, waiting for a slow batch, is called about five times a second. */
static void test_pipeline_waits(void)
{
    static pipe_job_t p;
    memset(&p, 0, sizeof p);
    for (int s = 0; s < 4; s++)
        p.last_seen[s] = -1;
    p.n_batches = 3;
    p.slow_ms = 500;
    p.caller = pthread_self();
    CHECK_EQ_INT(ty__pipeline(2, pipe_step, &p, 3), TY_OK);
    CHECK_EQ_INT(p.nout, 3);
    CHECK(p.waits >= 1); /* 500 ms of waiting: at least one 200 ms timeout */
    CHECK_EQ_INT(p.bad, 0);
}

static int cmp_u32_desc(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* A bounded heap keeps the cap largest of 5,000 draws (many equal) whatever cap is; a heap of
 * indices pops its keys in (key, index) order, replacing the root as index_merge does. */
static void test_heap(void)
{
    enum { N = 5000 };
    static uint32_t all[N], h[N];
    uint64_t seed = 7;
    for (size_t i = 0; i < N; i++)
        all[i] = (uint32_t)(rnd(&seed) % 1000);
    static const size_t caps[] = {1, 2, 3, 17, 64, 999, N};
    for (size_t c = 0; c < sizeof caps / sizeof caps[0]; c++) {
        size_t cap = caps[c], n = 0;
        for (size_t i = 0; i < N; i++)
            heap32_keep(h, &n, cap, all[i], NULL);
        CHECK_EQ_UINT(n, cap);
        uint32_t want[N];
        memcpy(want, all, sizeof want);
        qsort(want, N, sizeof want[0], cmp_u32_desc);
        qsort(h, n, sizeof h[0], cmp_u32_desc);
        CHECK(memcmp(h, want, cap * sizeof h[0]) == 0);
    }
    uint64_t keys[64];
    int ix[64];
    size_t n = 64;
    for (int i = 0; i < 64; i++) {
        keys[i] = rnd(&seed) % 8;
        ix[i] = 63 - i;
    }
    for (size_t i = n / 2; i-- > 0;)
        heapix_down(ix, n, i, keys);
    uint64_t last_key = 0;
    int last = -1, popped = 0;
    while (n > 0) {
        int top = ix[0];
        CHECK(keys[top] > last_key || (keys[top] == last_key && top > last));
        last_key = keys[top];
        last = top;
        popped++;
        ix[0] = ix[--n];
        heapix_down(ix, n, 0, keys);
    }
    CHECK_EQ_INT(popped, 64);
}

int main(void)
{
    RUN(test_map_counts);
    RUN(test_layout_deterministic);
    RUN(test_collisions_wrap);
    RUN(test_idx_set);
    RUN(test_heap);
    RUN(test_for_each_item_once);
    RUN(test_pipeline_ordered);
    RUN(test_pipeline_waits);
    return ck_summary("test_thread");
}
