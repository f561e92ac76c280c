/*
 * test_spans.c — the passage-level cleaner (src/spans.c) on real text: a passage of an
 * earlier document is removed from a later one and only there, the kept text is the
 * original minus the removed passages, in both modes (spans and exact); bad input is an
 * event, not a stop; bad options are refused; threads and batch sizes give the output of the
 * one-by-one order, byte for byte (run under ThreadSanitizer by make test-tsan).
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "tongyuan.h"

typedef struct {
    int ndocs, nerr;
    size_t removed_cp[8], nremoved[8], src[8], kept_len[8];
    char kept0[64];
} got_t;

static int on_ev(void *user, const ty_spans_event_t *ev)
{
    got_t *g = user;
    if (ev->kind == TY_SPANS_ERROR) {
        g->nerr++;
        return 0;
    }
    size_t i = ev->doc < 8 ? ev->doc : 7;
    g->ndocs++;
    g->removed_cp[i] = ev->removed_cp;
    g->nremoved[i] = ev->nremoved;
    g->src[i] = ev->nremoved ? ev->removed[0].src : SIZE_MAX;
    g->kept_len[i] = ev->kept_len;
    if (i == 1)
        snprintf(g->kept0, sizeof g->kept0, "%.*s", (int)(ev->kept_len < 40 ? ev->kept_len : 40),
                 ev->kept);
    return 0;
}

/* The bytes of s up to the first newline at or after byte n (whole lines: valid UTF-8). */
static size_t cut_line(const char *s, size_t len, size_t n)
{
    const char *p = n < len ? memchr(s + n, '\n', len - n) : NULL;
    return p ? (size_t)(p - s) : len;
}

static size_t cps(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

static void run(int exact, got_t *g)
{
    size_t la, lb;
    char *a = ck_slurp(ck_data("hay-00031.txt"), &la);
    char *b = ck_slurp(ck_data("hay-00207.txt"), &lb);
    if (!a || !b) {
        free(a);
        free(b);
        return;
    }
    size_t pa = cut_line(a, la, 400), pb = cut_line(b, lb, 600);
    /* doc 1: b's first lines, then a passage of a (its first lines) */
    char *d1 = malloc(pb + 1 + pa);
    memcpy(d1, b, pb);
    d1[pb] = '\n';
    memcpy(d1 + pb + 1, a, pa);
    ty_opts_t to;
    ty_opts_init(&to);
    ty_spans_opts_t o;
    ty_spans_opts_init(&o);
    o.exact = exact;
    memset(g, 0, sizeof(*g));
    ty_spans_t *sp = ty_spans_new(&o, &to, on_ev, g);
    CHECK(sp != NULL);
    CHECK_EQ_INT(ty_spans_add(sp, "a", a, la), TY_OK);
    CHECK_EQ_INT(ty_spans_add(sp, "d1", d1, pb + 1 + pa), TY_OK);
    CHECK_EQ_INT(ty_spans_add(sp, "bad", "\xff\xfe", 2), TY_OK); /* an event, not a stop */
    CHECK_EQ_INT(ty_spans_finish(sp), TY_OK);
    CHECK_EQ_STR(ty_spans_name(sp, 1), "d1");
    ty_spans_stats_t st;
    ty_spans_stats(sp, &st);
    CHECK_EQ_UINT(st.docs, 3);
    CHECK_EQ_UINT(st.errors, 1);
    CHECK_EQ_UINT(st.changed, 1);
    CHECK_EQ_INT(g->ndocs, 2);
    CHECK_EQ_INT(g->nerr, 1);
    CHECK_EQ_UINT(g->nremoved[0], 0);
    CHECK_EQ_UINT(g->src[1], 0);
    size_t want = cps(a, pa);
    /* the passage goes (all but a few characters at its ends), b's lines stay */
    CHECKF(g->removed_cp[1] + 10 >= want && g->removed_cp[1] <= want + 2,
           "removed %zu code points of a %zu-code-point passage", g->removed_cp[1], want);
    CHECKF(g->kept_len[1] >= pb && memcmp(g->kept0, b, strlen(g->kept0)) == 0, "kept %zu bytes",
           g->kept_len[1]);
    ty_spans_free(sp);
    free(a);
    free(b);
    free(d1);
}

static void test_spans_removes_the_later_copy(void)
{
    got_t g;
    run(0, &g);
}

static void test_spans_exact_removes_a_verbatim_copy(void)
{
    got_t g;
    run(1, &g);
}

static void test_spans_bad_options(void)
{
    ty_spans_opts_t o;
    ty_spans_opts_init(&o);
    char msg[128] = "";
    o.k = 1;
    CHECK_EQ_INT(ty_spans_opts_check(&o, msg, sizeof msg), TY_EINVAL);
    CHECK_CONTAINS(msg, "k must be");
    CHECK_EQ_INT(ty_spans_opts_check(NULL, msg, sizeof msg), TY_EINVAL);
    CHECK_EQ_STR(msg, "no options");
    ty_opts_t to;
    ty_opts_init(&to);
    CHECK(ty_spans_new(&o, &to, NULL, NULL) == NULL);
    ty_spans_free(NULL);
}

/* ---- threads and batches: the output of the one-by-one order ------------------------------ */

typedef struct {
    ty_buf_t b;
    size_t removed;
} trace_t;

static int on_trace(void *user, const ty_spans_event_t *ev)
{
    trace_t *t = user;
    ty_buf_printf(&t->b, "%zu %d %zu:", ev->doc, ev->kind, ev->kept_len);
    for (size_t i = 0; i < ev->nremoved; i++) {
        const ty_span_t *s = &ev->removed[i];
        ty_buf_printf(&t->b, " %zu+%zu<%zu@%zu+%zu/%.4f", s->sus_off, s->sus_len, s->src,
                      s->src_off, s->src_len, s->score);
    }
    ty_buf_puts(&t->b, "\n");
    t->removed += ev->removed_cp;
    return 0;
}

static uint64_t rnd_next(uint64_t *s)
{
    *s += 0x9E3779B97F4A7C15ULL;
    uint64_t z = *s;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* ndocs documents made of the fixtures' lines: a line every document starts with (a
 * template: boilerplate once more than max_df documents hold it), then 3-6 lines drawn at
 * random from a pool that documents keep reusing (copies of earlier documents, within a batch
 * and across batches), a few of them with a character changed. */
static char **make_docs(size_t ndocs, size_t **lens)
{
    static const char *files[] = {"hay-00031.txt", "hay-00207.txt", "src-00001.txt",
                                  "src-00085.txt", "src-00109.txt", "src-00255.txt",
                                  "src-00387.txt", "src-00393.txt"};
    char *lines[512];
    size_t nl = 0;
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        size_t len;
        char *t = ck_slurp(ck_data(files[f]), &len);
        if (!t)
            continue;
        for (char *p = t, *e; nl < 512 && p < t + len; p = e + 1) {
            e = memchr(p, '\n', (size_t)(t + len - p));
            if (!e)
                e = t + len;
            if (e - p >= 30)
                lines[nl++] = strndup(p, (size_t)(e - p));
        }
        free(t);
    }
    char **docs = calloc(ndocs, sizeof(char *));
    *lens = calloc(ndocs, sizeof(size_t));
    uint64_t st = 7;
    for (size_t d = 0; nl && d < ndocs; d++) {
        ty_buf_t b = {0};
        ty_buf_puts(&b, "本文档由系统自动生成，未经许可不得转载或者用于任何商业用途。\n");
        int n = 3 + (int)(rnd_next(&st) % 4);
        for (int k = 0; k < n; k++) {
            size_t at = b.len;
            ty_buf_puts(&b, lines[rnd_next(&st) % (nl < 60 ? nl : 60 + d % (nl - 60 + 1))]);
            ty_buf_puts(&b, "\n");
            if (rnd_next(&st) % 4 == 0 && b.len > at + 8)
                b.data[at + 4] =
                    b.data[at + 4] == 'x' ? 'y' : (b.data[at + 4] & 0x80 ? b.data[at + 4] : 'x');
        }
        docs[d] = b.data;
        (*lens)[d] = b.len;
    }
    for (size_t i = 0; i < nl; i++)
        free(lines[i]);
    return docs;
}

static void trace_run(char **docs, const size_t *lens, size_t n, int exact, uint32_t max_df,
                      int threads, int batch, trace_t *t)
{
    ty_opts_t to;
    ty_opts_init(&to);
    to.min_len = 10;
    ty_spans_opts_t o;
    ty_spans_opts_init(&o);
    o.exact = exact;
    o.max_df = max_df;
    o.threads = threads;
    o.batch = batch;
    memset(t, 0, sizeof(*t));
    ty_spans_t *sp = ty_spans_new(&o, &to, on_trace, t);
    CHECK(sp != NULL);
    if (!sp)
        return;
    char name[32];
    for (size_t i = 0; i < n; i++) {
        snprintf(name, sizeof name, "d%zu", i);
        CHECK_EQ_INT(ty_spans_add(sp, name, docs[i], lens[i]), TY_OK);
    }
    CHECK_EQ_INT(ty_spans_finish(sp), TY_OK);
    ty_spans_free(sp);
}

static void test_spans_threads_and_batches_change_nothing(void)
{
    size_t n = 600, *lens;
    char **docs = make_docs(n, &lens);
    CHECK(docs[0] != NULL);
    if (!docs[0])
        return;
    static const int runs[][2] = {{4, 512}, {2, 7}, {3, 64}, {1, 200}};
    for (int exact = 0; exact <= 1; exact++)
        for (int df = 0; df < 2; df++) {
            uint32_t max_df = df ? 64 : 4; /* 4: minimizers turn boilerplate inside batches */
            trace_t ref, got;
            trace_run(docs, lens, n, exact, max_df, 1, 1, &ref);
            CHECKF(ref.removed > 1000, "exact %d max_df %u: %zu code points removed", exact, max_df,
                   ref.removed);
            for (size_t r = 0; r < sizeof runs / sizeof runs[0]; r++) {
                trace_run(docs, lens, n, exact, max_df, runs[r][0], runs[r][1], &got);
                CHECKF(got.b.len == ref.b.len && memcmp(got.b.data, ref.b.data, ref.b.len) == 0,
                       "exact %d max_df %u: %d threads, batch %d: output differs", exact, max_df,
                       runs[r][0], runs[r][1]);
                ty_buf_free(&got.b);
            }
            ty_buf_free(&ref.b);
        }
    for (size_t i = 0; i < n; i++)
        free(docs[i]);
    free(docs);
    free(lens);
}

int main(void)
{
    RUN(test_spans_removes_the_later_copy);
    RUN(test_spans_exact_removes_a_verbatim_copy);
    RUN(test_spans_bad_options);
    RUN(test_spans_threads_and_batches_change_nothing);
    return ck_summary("test_spans");
}
