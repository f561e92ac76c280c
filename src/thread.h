/*
 * thread.h — the library's one thread helper, in the manner of minimap2's kthread.c:
 * a parallel for and an ordered pipeline. Every threaded stage uses these instead of its own
 * pool of pthreads.
 *
 *   static void one(void *data, size_t i, int tid) { job_t *j = data; work(&j->buf[tid], i); }
 *   ty__for(4, one, &job, n);   // one(&job, i, tid) for every i < n, tid < 4; returns when done
 *
 *   static void *step(void *shared, int s, void *in)   // s = 0: read (NULL: no more)
 *   { ... return s == 0 ? read_batch(shared) : s == 1 ? work(in) : (write(in), NULL); }
 *   ty__pipeline(2, step, &shared, 3);
 *
 * ty__for and ty__pipeline are the public ty_for and ty_pipeline (tongyuan.h: the front ends
 * use them too). ty__for: items go out one at
 * a time from an atomic counter (items are documents or pairs, coarse enough that the counter
 * costs nothing; threads that finish early take more), the calling thread is one of the
 * n_threads; tid < n_threads names the thread's own scratch. Nothing is said about which
 * thread runs which item or in what order: a caller's results go into per-item slots and are
 * used in item order afterwards. If threads cannot be started the items run on fewer (at
 * least the caller): the result is the same.
 *
 * ty__pipeline (n_threads 0: every step on the calling thread): batches go through steps
 * 0..n_steps-1 (n_steps >= 2). Step s of batch b runs after step s of batch b-1 (each step sees the
 * batches in input order, one at a time) — so step 0 may read and the last step write with no locks
 * of their own — while different steps run at once on different batches. Step 0 returns the batch
 * (NULL: the input has ended); step s > 0 gets what step s-1 returned and returns what step s+1
 * gets. A heavy middle step parallelises itself with ty__for. The last step's return value is
 * ignored. Steps 0..n_steps-2 run on n_threads threads of their own, each taking a batch through
 * them; the last step runs on the calling thread, always: it writes, so it may hold what
 * belongs to one thread (an LMDB write transaction) and call back what the caller's API
 * promises to call on the caller's thread. While the calling thread waits for the next batch
 * it calls fn(shared, TY__STEP_WAIT, NULL) about five times a second (progress reports; the
 * return value is ignored). At most n_threads + 2 batches are in flight: one in each
 * thread's steps, one handed over, one in the last step — a ring of that many batches
 * recycled by the last step is enough. To stop early the last step sets a flag of the
 * caller's that step 0 reads (then returns NULL); the batches in flight still reach the last
 * step, in order. If no thread can be started the caller runs every step itself, batch by
 * batch: the result is the same.
 *
 * Both return 0, or TY_ENOMEM when not even the bookkeeping could be allocated (nothing ran).
 */
#ifndef TY_THREAD_H
#define TY_THREAD_H

#include <stddef.h>

#include "tongyuan.h"

typedef ty_for_fn ty__for_fn;
static inline int ty__for(int n_threads, ty__for_fn fn, void *data, size_t n_items)
{
    return ty_for(n_threads, fn, data, n_items);
}

#define TY__STEP_WAIT TY_STEP_WAIT /* the step number of the calling thread's waiting calls */
typedef ty_step_fn ty__step_fn;
static inline int ty__pipeline(int n_threads, ty__step_fn fn, void *shared, int n_steps)
{
    return ty_pipeline(n_threads, fn, shared, n_steps);
}

#endif
