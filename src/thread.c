/*
 * thread.c — ty_for (parallel for; ty__for inside the library) and ty_pipeline (ordered
 * steps, the last on the calling thread; ty__pipeline inside); see thread.h and tongyuan.h.
 * Written after minimap2's kthread.c (kt_for, kt_pipeline), with an atomic counter in place of
 * kt_for's per-thread ranges: tongyuan's items vary a lot in cost (a 50-character document and
 * a 50,000-character one), and taking the next item as a thread frees up balances them.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "internal.h"
#include "thread.h"

/* ---- parallel for ------------------------------------------------------------------------- */

typedef struct {
    ty_for_fn fn;
    void *data;
    size_t n;
    _Atomic size_t next;
} for_t;

typedef struct {
    for_t *f;
    int tid;
} for_arg_t;

static void *for_worker(void *arg)
{
    for_arg_t *a = arg;
    for_t *f = a->f;
    for (;;) {
        size_t i = atomic_fetch_add(&f->next, 1);
        if (i >= f->n)
            break;
        f->fn(f->data, i, a->tid);
    }
    return NULL;
}

int ty_for(int n_threads, ty_for_fn fn, void *data, size_t n_items)
{
    if (n_threads < 1)
        n_threads = 1;
    if ((size_t)n_threads > n_items)
        n_threads = n_items ? (int)n_items : 1;
    for_t f = {fn, data, n_items, 0};
    if (n_threads == 1) {
        for (size_t i = 0; i < n_items; i++)
            fn(data, i, 0);
        return TY_OK;
    }
    pthread_t *th = malloc((size_t)n_threads * sizeof(pthread_t));
    for_arg_t *args = malloc((size_t)n_threads * sizeof(for_arg_t));
    if (!th || !args) {
        free(th);
        free(args);
        return TY_ENOMEM;
    }
    int started = 0; /* threads 1..started run; the caller is thread 0 */
    for (int t = 1; t < n_threads; t++) {
        args[t] = (for_arg_t){&f, t};
        if (pthread_create(&th[t], NULL, for_worker, &args[t]) != 0)
            break;
        started = t;
    }
    args[0] = (for_arg_t){&f, 0};
    for_worker(&args[0]);
    for (int t = 1; t <= started; t++)
        pthread_join(th[t], NULL);
    free(th);
    free(args);
    return TY_OK;
}

/* ---- ordered pipeline --------------------------------------------------------------------- */

typedef struct {
    ty__step_fn fn;
    void *shared;
    int last; /* the last step's number: steps 0..last-1 run on the threads */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t *done;    /* per step before the last: batches that have passed it */
    uint64_t taken;    /* batches a thread was started for */
    int ended;         /* step 0 returned NULL ... */
    uint64_t nbatches; /* ... for this batch: the batches there are */
    uint64_t handed;   /* batches handed over to the calling thread */
    void *slot;        /* the batch handed over, when full */
    int full;
} pipe_t;

/* Each thread: take the next batch number, run it through the steps before the last, each
 * step waiting for the batch before to have passed it, then hand it over (in order) to the
 * calling thread. The lowest batch in flight never waits but for the hand-over, and the
 * calling thread always takes what is handed over: the pipeline always moves. */
static void *pipe_worker(void *arg)
{
    pipe_t *p = arg;
    pthread_mutex_lock(&p->mu);
    while (!p->ended) {
        uint64_t b = p->taken++;
        void *x = NULL;
        for (int s = 0; s < p->last; s++) {
            while (p->done[s] != b)
                pthread_cond_wait(&p->cv, &p->mu);
            if (s == 0 && p->ended) { /* the input ended in a batch before this one */
                p->done[0]++;
                pthread_cond_broadcast(&p->cv);
                goto out;
            }
            pthread_mutex_unlock(&p->mu);
            x = p->fn(p->shared, s, x);
            pthread_mutex_lock(&p->mu);
            p->done[s]++;
            pthread_cond_broadcast(&p->cv);
            if (s == 0 && !x) {
                p->ended = 1;
                p->nbatches = b;
                goto out;
            }
        }
        while (p->handed != b || p->full)
            pthread_cond_wait(&p->cv, &p->mu);
        p->slot = x;
        p->full = 1;
        p->handed++;
        pthread_cond_broadcast(&p->cv);
    }
out:
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* The calling thread: the last step of every batch, in order; a waiting call every 0.2 s. */
static void pipe_last(pipe_t *p)
{
    pthread_mutex_lock(&p->mu);
    for (uint64_t b = 0;; b++) {
        while (!p->full && !(p->ended && b == p->nbatches)) {
            struct timespec t;
            clock_gettime(CLOCK_REALTIME, &t);
            t.tv_nsec += 200000000;
            if (t.tv_nsec >= 1000000000) {
                t.tv_sec++;
                t.tv_nsec -= 1000000000;
            }
            if (pthread_cond_timedwait(&p->cv, &p->mu, &t) == ETIMEDOUT) {
                pthread_mutex_unlock(&p->mu);
                p->fn(p->shared, TY__STEP_WAIT, NULL);
                pthread_mutex_lock(&p->mu);
            }
        }
        if (!p->full)
            break; /* every batch has passed */
        void *x = p->slot;
        p->full = 0;
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
        p->fn(p->shared, p->last, x);
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
}

int ty_pipeline(int n_threads, ty_step_fn fn, void *shared, int n_steps)
{
    if (n_steps < 1)
        return TY_OK;
    if (n_threads < 0)
        n_threads = 0; /* 0: no thread, every step here */
    pipe_t p = {.fn = fn, .shared = shared, .last = n_steps - 1};
    p.done = calloc((size_t)n_steps, sizeof(uint64_t));
    pthread_t *th = malloc((size_t)(n_threads ? n_threads : 1) * sizeof(pthread_t));
    if (!p.done || !th) {
        free(p.done);
        free(th);
        return TY_ENOMEM;
    }
    pthread_mutex_init(&p.mu, NULL);
    pthread_cond_init(&p.cv, NULL);
    int started = 0;
    while (n_steps > 1 && started < n_threads &&
           pthread_create(&th[started], NULL, pipe_worker, &p) == 0)
        started++;
    if (started) {
        pipe_last(&p);
        for (int t = 0; t < started; t++)
            pthread_join(th[t], NULL);
    } else { /* no thread (or one step): every step here, batch by batch */
        for (void *x; (x = fn(shared, 0, NULL)) != NULL;)
            for (int s = 1; s < n_steps; s++)
                x = fn(shared, s, x);
    }
    pthread_mutex_destroy(&p.mu);
    pthread_cond_destroy(&p.cv);
    free(p.done);
    free(th);
    return TY_OK;
}
