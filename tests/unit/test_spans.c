/*
 * test_spans.c — the passage-level cleaner (src/spans.c) on real text: a passage of an
 * earlier document is removed from a later one and only there, the kept text is the
 * original minus the removed passages, in both modes (spans and exact); bad input is an
 * event, not a stop; bad options are refused.
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
    ty_opts_t to;
    ty_opts_init(&to);
    CHECK(ty_spans_new(&o, &to, NULL, NULL) == NULL);
    ty_spans_free(NULL);
}

int main(void)
{
    RUN(test_spans_removes_the_later_copy);
    RUN(test_spans_exact_removes_a_verbatim_copy);
    RUN(test_spans_bad_options);
    return ck_summary("test_spans");
}
