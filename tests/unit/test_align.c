/*
 * test_align.c — align.c and passage.c: which passages of a suspect come from a source.
 *
 * The suspects are built here from real text (tests/data/text/src-00596.txt, GIMP help) the
 * way a spinner and a copy-paster build them: verbatim copies, copies inside unrelated text,
 * word substitutions with half-width punctuation and spam phrases, swapped paragraphs,
 * Traditional script. Each result is checked for what a user relies on: the number of
 * passages, where they start and end in both texts (code points and bytes, which must slice
 * out the same characters), and that nothing is found between unrelated documents.
 */
#include <pthread.h>
#include <stdint.h>

#include "check.h"
#include "tongyuan.h"

#define MAXP 64

static ty_opts_t opts(void)
{
    ty_opts_t o;
    ty_opts_init(&o);
    return o;
}

/* Code points in s[0..n), counting each byte of an invalid sequence as one (the library's
 * TY_UTF8_REPLACE rule; the test's own decoder). */
static size_t ncp(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t c = 0, i = 0;
    while (i < n) {
        unsigned b = s[i];
        size_t l = b < 0x80 ? 1 : b < 0xC2 ? 0 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : b < 0xF5 ? 4 : 0;
        int ok = l > 0 && i + l <= n;
        for (size_t t = 1; ok && t < l; t++)
            ok = (s[i + t] & 0xC0) == 0x80;
        if (ok && l == 3) {
            uint32_t v = ((b & 0x0Fu) << 12) | ((s[i + 1] & 0x3Fu) << 6);
            ok = v >= 0x800 && !(v >= 0xD800 && v <= 0xDFFF);
        }
        if (ok && l == 4) {
            uint32_t v = ((b & 0x07u) << 18) | ((s[i + 1] & 0x3Fu) << 12);
            ok = v >= 0x10000 && v <= 0x10FFFF;
        }
        i += ok ? l : 1;
        c++;
    }
    return c;
}

/* ---- building texts ----------------------------------------------------------------------- */

typedef struct {
    char *a;
    size_t n, m;
} str_t;

static void put(str_t *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->m) {
        b->m = (b->n + n + 1) * 2;
        b->a = realloc(b->a, b->m);
    }
    memcpy(b->a + b->n, s, n);
    b->n += n;
    b->a[b->n] = 0;
}

static void puts_(str_t *b, const char *s) { put(b, s, strlen(s)); }

/* s with every `from` replaced by `to`; frees s */
static char *replace_all(char *s, const char *from, const char *to)
{
    str_t b = {0};
    size_t fl = strlen(from);
    const char *p = s, *q;
    while ((q = strstr(p, from)) != NULL) {
        put(&b, p, (size_t)(q - p));
        puts_(&b, to);
        p = q + fl;
    }
    puts_(&b, p);
    free(s);
    return b.a;
}

/* A fixture split into lines (each keeps its '\n'). */
typedef struct {
    char *text;
    size_t len;
    int n;
    const char *line[256];
    size_t llen[256];
} lines_t;

static void lines_load(lines_t *l, const char *name)
{
    memset(l, 0, sizeof *l);
    l->text = ck_slurp(ck_data(name), &l->len);
    if (!l->text)
        return;
    const char *p = l->text, *e = l->text + l->len;
    while (p < e && l->n < 256) {
        const char *nl = memchr(p, '\n', (size_t)(e - p));
        size_t n = nl ? (size_t)(nl - p) + 1 : (size_t)(e - p);
        l->line[l->n] = p;
        l->llen[l->n++] = n;
        p += n;
    }
}

/* code point offset of line i */
static size_t line_cp(const lines_t *l, int i)
{
    return ncp(l->text, (size_t)(l->line[i] - l->text));
}

/* ---- running a comparison ------------------------------------------------------------------ */

typedef struct {
    ty_doc_t *src, *sus;
    ty_passage_t p[MAXP];
    size_t n;
} result_t;

/* Every passage is well formed: inside both texts, code point and byte spans slice out the
 * same characters, token ranges lie inside the spans, score in [0, 1], sorted by suspect. */
static void check_runs(const char *what, const ty_aligner_t *a, const ty_doc_t *src,
                       const ty_doc_t *sus, const ty_passage_t *p, size_t n, size_t *covered_out);

static void check_passages(const char *what, const ty_aligner_t *a, const ty_doc_t *src,
                           const ty_doc_t *sus, const ty_passage_t *p, size_t n, const ty_opts_t *o)
{
    size_t sl, ql;
    const char *st = ty_doc_text(src, &sl), *qt = ty_doc_text(sus, &ql);
    for (size_t i = 0; i < n; i++) {
        const ty_passage_t *x = &p[i];
        CHECKF(x->src_byte_off + x->src_byte_len <= sl && x->sus_byte_off + x->sus_byte_len <= ql,
               "%s passage %zu: byte span beyond the text", what, i);
        if (x->src_byte_off + x->src_byte_len > sl || x->sus_byte_off + x->sus_byte_len > ql)
            continue;
        CHECKF(ncp(st, x->src_byte_off) == x->src_off &&
                   ncp(st + x->src_byte_off, x->src_byte_len) == x->src_len,
               "%s passage %zu: source cp %zu+%zu but bytes %zu+%zu hold cp %zu+%zu", what, i,
               x->src_off, x->src_len, x->src_byte_off, x->src_byte_len, ncp(st, x->src_byte_off),
               ncp(st + x->src_byte_off, x->src_byte_len));
        CHECKF(ncp(qt, x->sus_byte_off) == x->sus_off &&
                   ncp(qt + x->sus_byte_off, x->sus_byte_len) == x->sus_len,
               "%s passage %zu: suspect cp %zu+%zu but bytes %zu+%zu hold cp %zu+%zu", what, i,
               x->sus_off, x->sus_len, x->sus_byte_off, x->sus_byte_len, ncp(qt, x->sus_byte_off),
               ncp(qt + x->sus_byte_off, x->sus_byte_len));
        CHECKF(x->src_tok_beg < x->src_tok_end && x->src_tok_end <= ty_doc_ntokens(src) &&
                   x->sus_tok_beg < x->sus_tok_end && x->sus_tok_end <= ty_doc_ntokens(sus),
               "%s passage %zu: bad token ranges", what, i);
        ty_token_t t0, t1;
        if (ty_doc_token(src, x->src_tok_beg, &t0) == TY_OK &&
            ty_doc_token(src, x->src_tok_end - 1, &t1) == TY_OK)
            CHECKF(t0.byte_off >= x->src_byte_off &&
                       t1.byte_off + t1.byte_len <= x->src_byte_off + x->src_byte_len,
                   "%s passage %zu: source tokens outside the byte span", what, i);
        if (ty_doc_token(sus, x->sus_tok_beg, &t0) == TY_OK &&
            ty_doc_token(sus, x->sus_tok_end - 1, &t1) == TY_OK)
            CHECKF(t0.byte_off >= x->sus_byte_off &&
                       t1.byte_off + t1.byte_len <= x->sus_byte_off + x->sus_byte_len,
                   "%s passage %zu: suspect tokens outside the byte span", what, i);
        CHECKF(x->score >= 0 && x->score <= 1, "%s passage %zu: score %g", what, i, x->score);
        CHECKF(x->score >= o->min_score, "%s passage %zu: score %g below min_score", what, i,
               x->score);
        CHECKF(x->matched > 0 && x->matched <= x->sus_tok_end - x->sus_tok_beg &&
                   x->matched <= x->src_tok_end - x->src_tok_beg,
               "%s passage %zu: matched %zu of %zu suspect and %zu source tokens", what, i,
               x->matched, x->sus_tok_end - x->sus_tok_beg, x->src_tok_end - x->src_tok_beg);
        CHECKF((double)x->matched * x->score >= (double)o->min_len - 1e-9,
               "%s passage %zu: matched %zu x score %g below min_len %d", what, i, x->matched,
               x->score, o->min_len);
        CHECKF(i == 0 || p[i - 1].sus_off <= x->sus_off, "%s: passages not sorted", what);
    }
    CHECKF(ty_passages_coverage(p, n) <= ty_doc_ntokens(sus), "%s: coverage beyond the text", what);
    check_runs(what, a, src, sus, p, n, NULL);
}

/* ty_compare_runs(): each passage's exact runs are really equal tokens, lie inside the
 * passage's token ranges and come in suspect order. covered_out[i] (if not NULL): suspect
 * tokens of passage i inside at least one run. */
static void check_runs(const char *what, const ty_aligner_t *a, const ty_doc_t *src,
                       const ty_doc_t *sus, const ty_passage_t *p, size_t n, size_t *covered_out)
{
    for (size_t i = 0; i < n; i++) {
        const ty_match_t *r = NULL;
        size_t nr = 0, covered = 0, upto = 0;
        if (!CHECKF(ty_compare_runs(a, i, &r, &nr) == TY_OK, "%s passage %zu: no runs", what, i))
            continue;
        CHECKF(nr > 0, "%s passage %zu: zero runs", what, i);
        for (size_t x = 0; x < nr; x++) {
            const ty_match_t *m = &r[x];
            int inside = m->len > 0 && m->src_tok >= p[i].src_tok_beg &&
                         m->src_tok + m->len <= p[i].src_tok_end &&
                         m->sus_tok >= p[i].sus_tok_beg && m->sus_tok + m->len <= p[i].sus_tok_end;
            if (!CHECKF(inside,
                        "%s passage %zu run %zu (src %zu sus %zu len %zu) outside the "
                        "passage (src %zu-%zu sus %zu-%zu)",
                        what, i, x, m->src_tok, m->sus_tok, m->len, p[i].src_tok_beg,
                        p[i].src_tok_end, p[i].sus_tok_beg, p[i].sus_tok_end))
                break;
            CHECKF(x == 0 || r[x - 1].sus_tok <= m->sus_tok,
                   "%s passage %zu: runs not in "
                   "suspect order",
                   what, i);
            for (size_t t = 0; t < m->len; t++) {
                ty_token_t u, v;
                ty_doc_token(src, m->src_tok + t, &u);
                ty_doc_token(sus, m->sus_tok + t, &v);
                if (!CHECKF(u.id == v.id, "%s passage %zu run %zu: token %zu differs", what, i, x,
                            t))
                    break;
            }
            size_t b = m->sus_tok > upto ? m->sus_tok : upto, e = m->sus_tok + m->len;
            if (e > b)
                covered += e - b;
            if (e > upto)
                upto = e;
        }
        CHECKF(covered > 0, "%s passage %zu: runs cover nothing", what, i);
        if (covered_out)
            covered_out[i] = covered;
        /* one-to-one: the runs' source tokens, each counted once, bound matched too (a
         * suspect holding its source twice must not count the source twice) */
        size_t sb = p[i].src_tok_beg, sn = p[i].src_tok_end - sb, scov = 0;
        unsigned char *seen = calloc(sn ? sn : 1, 1);
        for (size_t x = 0; seen && x < nr; x++)
            for (size_t t = r[x].src_tok; t < r[x].src_tok + r[x].len; t++)
                if (t >= sb && t - sb < sn && !seen[t - sb]) {
                    seen[t - sb] = 1;
                    scov++;
                }
        free(seen);
        CHECKF(p[i].matched <= covered && p[i].matched <= scov,
               "%s passage %zu: matched %zu, but its runs cover %zu suspect and %zu source "
               "tokens",
               what, i, p[i].matched, covered, scov);
    }
    const ty_match_t *r;
    size_t nr;
    CHECKF(ty_compare_runs(a, n, &r, &nr) == TY_EINVAL, "%s: runs of passage %zu (of %zu)", what, n,
           n);
}

/* Compare two texts with aligner a (a fresh one with default options if NULL). */
static int utf8_mode = TY_UTF8_STRICT; /* for the documents run_with() loads */

static void run_with(result_t *r, ty_aligner_t *a, const char *what, const char *src, size_t slen,
                     const char *sus, size_t qlen)
{
    ty_opts_t o = opts();
    o.utf8_mode = utf8_mode;
    memset(r, 0, sizeof *r);
    r->src = ty_doc_new();
    r->sus = ty_doc_new();
    CHECKF(ty_doc_load_mem(r->src, "src", src, slen, &o) == TY_OK, "%s: %s", what,
           ty_doc_errmsg(r->src));
    CHECKF(ty_doc_load_mem(r->sus, "sus", sus, qlen, &o) == TY_OK, "%s: %s", what,
           ty_doc_errmsg(r->sus));
    ty_aligner_t *own = a ? NULL : ty_aligner_new(&o);
    const ty_passage_t *p = (const ty_passage_t *)1;
    size_t n = 99;
    int rc = ty_compare(a ? a : own, r->src, r->sus, &p, &n);
    CHECKF(rc == TY_OK, "%s: ty_compare: %d %s", what, rc, ty_aligner_errmsg(a ? a : own));
    CHECKF(n <= MAXP, "%s: %zu passages", what, n);
    if (rc == TY_OK) {
        r->n = n < MAXP ? n : MAXP;
        if (r->n)
            memcpy(r->p, p, r->n * sizeof(ty_passage_t));
        check_passages(what, a ? a : own, r->src, r->sus, p, n, &o);
    }
    ty_aligner_free(own);
}

static void run(result_t *r, const char *what, const char *src, const char *sus)
{
    run_with(r, NULL, what, src, strlen(src), sus, strlen(sus));
}

static void done(result_t *r)
{
    ty_doc_free(r->src);
    ty_doc_free(r->sus);
}

static void show(const char *what, const result_t *r)
{
    for (size_t i = 0; i < r->n; i++)
        fprintf(stderr, "  %s passage %zu: src %zu+%zu sus %zu+%zu score %.3f\n", what, i,
                r->p[i].src_off, r->p[i].src_len, r->p[i].sus_off, r->p[i].sus_len, r->p[i].score);
}

/* Exactly one passage, at the expected places within tol code points. */
#define CHECK_ONE_PASSAGE(what, r, s_off, s_len, q_off, q_len, tol) \
    check_one(__FILE__, __LINE__, what, r, s_off, s_len, q_off, q_len, tol)
static void check_one(const char *file, int line, const char *what, const result_t *r, size_t s_off,
                      size_t s_len, size_t q_off, size_t q_len, double tol)
{
    if (!ck_report(r->n == 1, file, line, "%s: %zu passages, expected 1", what, r->n)) {
        show(what, r);
        return;
    }
    const ty_passage_t *p = &r->p[0];
    int ok = fabs((double)p->src_off - (double)s_off) <= tol &&
             fabs((double)(p->src_off + p->src_len) - (double)(s_off + s_len)) <= tol &&
             fabs((double)p->sus_off - (double)q_off) <= tol &&
             fabs((double)(p->sus_off + p->sus_len) - (double)(q_off + q_len)) <= tol;
    ck_report(ok, file, line,
              "%s: passage src %zu+%zu sus %zu+%zu, expected src %zu+%zu sus %zu+%zu (within %g)",
              what, p->src_off, p->src_len, p->sus_off, p->sus_len, s_off, s_len, q_off, q_len,
              tol);
}

/* ---- the cases ------------------------------------------------------------------------------ */

static lines_t gimp, hay;

/* The source copied whole: one passage, everything, score 1, bytes identical. */
static void test_verbatim_copy(void)
{
    result_t r;
    run(&r, "verbatim", gimp.text, gimp.text);
    size_t n = ncp(gimp.text, gimp.len);
    CHECK_ONE_PASSAGE("verbatim", &r, 0, n, 0, n, 0);
    if (r.n == 1) {
        const ty_passage_t *p = &r.p[0];
        CHECK_NEAR(p->score, 1.0, 1e-9);
        CHECK_EQ_UINT(p->src_byte_off, 0);
        CHECK_EQ_UINT(p->src_byte_len, gimp.len);
        CHECK_EQ_UINT(p->sus_byte_len, gimp.len);
        CHECK_EQ_UINT(p->matched, ty_doc_ntokens(r.sus));
        CHECK_EQ_UINT(p->src_tok_beg, 0);
        CHECK_EQ_UINT(p->src_tok_end, ty_doc_ntokens(r.src));
        CHECK_EQ_UINT(ty_passages_coverage(r.p, r.n), ty_doc_ntokens(r.sus));
    }
    done(&r);
    /* re-indented and re-punctuated: the same passage, bytes differ */
    char *s = malloc(gimp.len + 1);
    memcpy(s, gimp.text, gimp.len + 1);
    s = replace_all(s, "\n", "\n\n　　");
    s = replace_all(s, "，", ",");
    s = replace_all(s, "。", ".");
    s = replace_all(s, "：", ":");
    run(&r, "verbatim reindented", gimp.text, s);
    CHECK_EQ_UINT(r.n, 1);
    if (r.n == 1) {
        CHECK_NEAR(r.p[0].score, 1.0, 1e-9);
        CHECK_EQ_UINT(r.p[0].sus_off, 0);
        CHECK_NEAR(r.p[0].sus_off + r.p[0].sus_len, ncp(s, strlen(s)), 3);
    }
    done(&r);
    free(s);
}

/* Whole paragraphs copied into the middle of an unrelated document, after characters of 3
 * and 4 bytes, so code points and bytes diverge before the passage. */
static void test_copy_embedded_in_unrelated_text(void)
{
    str_t b = {0};
    for (int i = 0; i < 4; i++)
        put(&b, hay.line[i], hay.llen[i]);
    puts_(&b, "表情😀😀和扩展字𠀀𠀁在这一行。\n");
    size_t q_off = ncp(b.a, b.n);
    size_t s_from = line_cp(&gimp, 2), s_to = line_cp(&gimp, 5) + ncp(gimp.line[5], gimp.llen[5]);
    for (int i = 2; i <= 5; i++)
        put(&b, gimp.line[i], gimp.llen[i]);
    size_t q_end = ncp(b.a, b.n);
    for (int i = 4; i < hay.n; i++)
        put(&b, hay.line[i], hay.llen[i]);
    result_t r;
    run(&r, "embedded paragraphs", gimp.text, b.a);
    CHECK_ONE_PASSAGE("embedded paragraphs", &r, s_from, s_to - s_from, q_off, q_end - q_off, 2);
    if (r.n == 1) { /* verbatim: the two byte spans hold the same bytes */
        const ty_passage_t *p = &r.p[0];
        CHECK_EQ_MEM(gimp.text + p->src_byte_off, p->src_byte_len, b.a + p->sus_byte_off,
                     p->sus_byte_len);
        CHECK_NEAR(p->score, 1.0, 0.01);
    }
    done(&r);
    /* the other way round: the unrelated text is the source */
    run(&r, "embedded, roles swapped", b.a, gimp.text);
    CHECK_ONE_PASSAGE("embedded, roles swapped", &r, q_off, q_end - q_off, s_from, s_to - s_from,
                      2);
    done(&r);
    free(b.a);
}

/* A few sentences cut from inside a paragraph, put inside an unrelated paragraph: the ends
 * are sentence ends, not line ends. */
static void test_sentences_embedded_mid_paragraph(void)
{
    const char *para = gimp.line[0]; /* GIMP 1 text tool: many sentences */
    const char *from = strstr(para, "新一代文本工具"), *to = strstr(para, "可以从纯文本文件");
    CHECK(from && to && from < to);
    if (!from || !to || from >= to)
        return;
    str_t b = {0};
    const char *hp = hay.line[0], *cut = strstr(hp, "不应该在无线网络");
    CHECK(cut != NULL);
    if (!cut)
        return;
    put(&b, hp, (size_t)(cut - hp));
    size_t q_off = ncp(b.a, b.n);
    put(&b, from, (size_t)(to - from));
    size_t q_end = ncp(b.a, b.n);
    puts_(&b, cut);
    for (int i = 1; i < hay.n; i++)
        put(&b, hay.line[i], hay.llen[i]);
    size_t s_off = ncp(gimp.text, (size_t)(from - gimp.text));
    size_t s_len = ncp(from, (size_t)(to - from));
    result_t r;
    run(&r, "sentences mid-paragraph", gimp.text, b.a);
    CHECK_ONE_PASSAGE("sentences mid-paragraph", &r, s_off, s_len, q_off, q_end - q_off, 3);
    done(&r);
    free(b.a);
}

/* Word substitutions (a spinner's thesaurus, ~20% of the words), half-width punctuation,
 * re-indentation and two spam phrases: still one passage over the whole text. */
static const char *spin_pairs[][2] = {
    {"修改", "更改"},
    {"创建", "建立"},
    {"可以", "能够"},
    {"改进", "改良"},
    {"特殊", "特别"},
    {"麻烦", "繁琐"},
    {"现在", "如今"},
    {"显示", "呈现"},
    {"移动", "挪动"},
    {"精确", "精准"},
    {"曲线", "弧线"},
    {"节点", "结点"},
    {"存在", "具有"},
    {"界面", "页面"},
    {"导入", "导进"},
    {"选择", "挑选"},
    {"首先", "起首"},
    {"注意", "留意"},
    {"另外", "此外"},
    {"比较", "相对"},
    {"同时", "一起"},
    {"全新", "崭新"},
    {"简要", "扼要"},
    {"增加", "添加"},
    {"移除", "删掉"},
    {"改变", "改动"},
    {"连接", "联接"},
    {"包含", "包括"},
    {"分别", "各自"},
    {"相关", "有关"},
    {"常用", "惯用"},
    {"引入", "引进"},
    {"之前", "以前"},
    {"只是", "仅仅"},
    {"，", ","},
    {"。", "."},
    {"：", ":"},
    {"（", "("},
    {"）", ")"},
    {"\n", "\n　　"},
    {"在设计模式中", "在设计模式中南美注册,"},
    {"可以按 Shift 键。", "可以按 Shift 键。点击进入官网查看更多优惠"},
};

static char *spin(const char *text, size_t len, size_t npairs)
{
    char *s = malloc(len + 1);
    memcpy(s, text, len);
    s[len] = 0;
    /* spam first: they anchor on the original words */
    for (size_t i = npairs; i-- > 0;)
        s = replace_all(s, spin_pairs[i][0], spin_pairs[i][1]);
    return s;
}

static void test_spun_copy(void)
{
    const size_t np = sizeof spin_pairs / sizeof spin_pairs[0];
    char *s = spin(gimp.text, gimp.len, np);
    CHECK(strstr(s, "南美注册,") && strstr(s, "能够") && !strstr(s, "可以"));
    result_t r;
    run(&r, "spun", gimp.text, s);
    size_t n = ncp(s, strlen(s));
    CHECK_ONE_PASSAGE("spun", &r, 0, ncp(gimp.text, gimp.len), 0, n, 3);
    if (r.n == 1) {
        CHECKF(r.p[0].score > 0.6 && r.p[0].score < 1, "spun: score %g", r.p[0].score);
        CHECK(ty_passages_coverage(r.p, r.n) * 10 >= ty_doc_ntokens(r.sus) * 9);
    }
    done(&r);
    /* spun and moved into unrelated text: found at its place */
    str_t b = {0};
    for (int i = 0; i < 6; i++)
        put(&b, hay.line[i], hay.llen[i]);
    size_t q_off = ncp(b.a, b.n);
    puts_(&b, s);
    size_t q_end = ncp(b.a, b.n);
    for (int i = 6; i < hay.n; i++)
        put(&b, hay.line[i], hay.llen[i]);
    run(&r, "spun, embedded", gimp.text, b.a);
    CHECK_ONE_PASSAGE("spun, embedded", &r, 0, ncp(gimp.text, gimp.len), q_off, q_end - q_off, 3);
    done(&r);
    free(b.a);
    free(s);
}

/* Spun, then converted to Traditional (here: the OpenCC conversion of the source). */
static void test_traditional_copy(void)
{
    lines_t t;
    lines_load(&t, "src-00596.s2t.txt");
    if (!t.text)
        return;
    result_t r;
    run(&r, "traditional", gimp.text, t.text);
    size_t n = ncp(gimp.text, gimp.len);
    CHECK_ONE_PASSAGE("traditional", &r, 0, n, 0, ncp(t.text, t.len), 0);
    if (r.n == 1)
        CHECK_NEAR(r.p[0].score, 1.0, 1e-9);
    done(&r);
    const size_t np = sizeof spin_pairs / sizeof spin_pairs[0];
    char *s = spin(t.text, t.len, np); /* most pairs do not apply to Traditional text */
    s = replace_all(s, "修改", "更改");
    s = replace_all(s, "創建", "建立");
    run(&r, "traditional, spun", gimp.text, s);
    CHECK_ONE_PASSAGE("traditional, spun", &r, 0, n, 0, ncp(s, strlen(s)), 3);
    done(&r);
    free(s);
    free(t.text);
}

/* Paragraphs swapped: the reused text is still one passage. */
static void test_shuffled_copy(void)
{
    static const int orders[][8] = {
        {1, 0, 2, 3, 4, 5, 6, 7}, /* first two swapped */
        {0, 1, 2, 5, 4, 3, 6, 7}, /* 3 and 5 swapped */
        {3, 4, 0, 1, 2, 5, 6, 7}, /* a block moved up */
        {7, 6, 5, 4, 3, 2, 1, 0}, /* reversed */
    };
    CHECK_EQ_INT(gimp.n, 8);
    if (gimp.n != 8)
        return;
    for (size_t k = 0; k < sizeof orders / sizeof orders[0]; k++) {
        str_t b = {0};
        for (int i = 0; i < 8; i++)
            put(&b, gimp.line[orders[k][i]], gimp.llen[orders[k][i]]);
        char what[64];
        snprintf(what, sizeof what, "shuffled order %zu", k);
        result_t r;
        run(&r, what, gimp.text, b.a);
        CHECK_ONE_PASSAGE(what, &r, 0, ncp(gimp.text, gimp.len), 0, ncp(b.a, b.n), 3);
        done(&r);
        /* shuffled and spun */
        char *s = spin(b.a, b.n, sizeof spin_pairs / sizeof spin_pairs[0]);
        snprintf(what, sizeof what, "shuffled order %zu, spun", k);
        run(&r, what, gimp.text, s);
        /* a heavily spun sentence at the very start may stay out (it depends on the gap
         * cost): allow one sentence */
        CHECK_ONE_PASSAGE(what, &r, 0, ncp(gimp.text, gimp.len), 0, ncp(s, strlen(s)), 30);
        done(&r);
        free(s);
        free(b.a);
    }
}

/* Real documents with nothing in common: nothing found. */
static void test_unrelated_documents(void)
{
    static const char *pairs[][2] = {
        {"src-00596.txt", "src-00387.txt"}, {"src-00596.txt", "hay-00031.txt"},
        {"hay-00031.txt", "hay-00207.txt"}, {"src-00001.txt", "src-00596.txt"},
        {"src-00393.txt", "sus-00158.txt"}, {"src-00387.txt", "sus-00017.txt"},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        size_t a, b;
        char *x = ck_slurp(ck_data(pairs[i][0]), &a), *y = ck_slurp(ck_data(pairs[i][1]), &b);
        if (!x || !y)
            continue;
        char what[128];
        snprintf(what, sizeof what, "%s vs %s", pairs[i][0], pairs[i][1]);
        result_t r;
        run_with(&r, NULL, what, x, a, y, b);
        CHECKF(r.n == 0, "%s: %zu passages, expected none", what, r.n);
        show(what, &r);
        done(&r);
        run_with(&r, NULL, what, y, b, x, a);
        CHECKF(r.n == 0, "%s (swapped): %zu passages, expected none", what, r.n);
        done(&r);
        free(x);
        free(y);
    }
}

/* Two separate copies from two places of the source: two passages, in suspect order. */
static void test_two_passages(void)
{
    str_t b = {0};
    put(&b, hay.line[0], hay.llen[0]);
    size_t q1 = ncp(b.a, b.n);
    put(&b, gimp.line[5], gimp.llen[5]); /* GIMP 2.0 paragraph */
    size_t q1e = ncp(b.a, b.n);
    for (int i = 1; i < hay.n; i++)
        put(&b, hay.line[i], hay.llen[i]);
    size_t q2 = ncp(b.a, b.n);
    put(&b, gimp.line[0], gimp.llen[0]); /* GIMP 1 paragraph */
    size_t q2e = ncp(b.a, b.n);
    result_t r;
    run(&r, "two passages", gimp.text, b.a);
    CHECK_EQ_UINT(r.n, 2);
    if (r.n == 2) {
        CHECK_NEAR(r.p[0].sus_off, q1, 2);
        CHECK_NEAR(r.p[0].sus_off + r.p[0].sus_len, q1e, 2);
        CHECK_NEAR(r.p[0].src_off, line_cp(&gimp, 5), 2);
        CHECK_NEAR(r.p[1].sus_off, q2, 2);
        CHECK_NEAR(r.p[1].sus_off + r.p[1].sus_len, q2e, 2);
        CHECK_NEAR(r.p[1].src_off, 0, 2);
    } else {
        show("two passages", &r);
    }
    done(&r);
    free(b.a);
}

/* Invalid bytes around and inside a copy, read in replace mode: each bad byte is one code
 * point, and the passage's code point and byte offsets still agree (check_passages). */
static void test_invalid_bytes_replace_mode(void)
{
    str_t b = {0};
    put(&b, hay.line[0], hay.llen[0]);
    puts_(&b, "\xff\xfe\xc0\xaf乱码\xe4\xb8\n");
    size_t q_off = ncp(b.a, b.n);
    for (int i = 2; i <= 4; i++) {
        const char *l = gimp.line[i];
        const char *mid = strstr(l, "，"); /* a bad byte inside each copied line */
        size_t cut = mid ? (size_t)(mid - l) + 3 : 0;
        put(&b, l, cut);
        puts_(&b, "\x80");
        put(&b, l + cut, gimp.llen[i] - cut);
    }
    size_t q_end = ncp(b.a, b.n);
    puts_(&b, "\xf0\x9f\x98"); /* an emoji cut short */
    for (int i = 1; i < hay.n; i++)
        put(&b, hay.line[i], hay.llen[i]);
    size_t s_from = line_cp(&gimp, 2), s_to = line_cp(&gimp, 5);
    result_t r;
    utf8_mode = TY_UTF8_REPLACE;
    run_with(&r, NULL, "replace mode", gimp.text, gimp.len, b.a, b.n);
    CHECK_ONE_PASSAGE("replace mode", &r, s_from, s_to - s_from, q_off, q_end - q_off, 2);
    CHECK_EQ_UINT(ty_doc_ncodepoints(r.sus), ncp(b.a, b.n));
    done(&r);
    run_with(&r, NULL, "replace mode, swapped", b.a, b.n, gimp.text, gimp.len);
    CHECK_ONE_PASSAGE("replace mode, swapped", &r, q_off, q_end - q_off, s_from, s_to - s_from, 2);
    done(&r);
    utf8_mode = TY_UTF8_STRICT;
    free(b.a);
}

/* A fresh aligner whose first comparison finds no chain at all. Its scratch vectors were
 * never allocated: passing their NULL pointers to qsort()/memcpy() is undefined behaviour,
 * which the ASan+UBSan build (make test-asan) turns into an abort. */
static void test_fresh_aligner_nothing_found(void)
{
    ty_opts_t o = opts();
    ty_doc_t *s = ty_doc_new(), *q = ty_doc_new();
    CHECK_EQ_INT(ty_doc_load_mem(s, "s", gimp.text, gimp.len, &o), TY_OK);
    CHECK_EQ_INT(ty_doc_load_mem(q, "q", hay.text, hay.len, &o), TY_OK);
    for (int k = 0; k < 3; k++) {
        ty_aligner_t *a = ty_aligner_new(&o);
        const ty_passage_t *p;
        size_t n = 99;
        if (k == 0) {
            CHECK_EQ_INT(ty_compare(a, s, q, &p, &n), TY_OK); /* unrelated */
        } else if (k == 1) {
            CHECK_EQ_INT(ty_compare(a, q, s, &p, &n), TY_OK); /* unrelated, swapped */
        } else {
            ty_doc_t *e = ty_doc_new();
            CHECK_EQ_INT(ty_doc_load_mem(e, "e", "", 0, &o), TY_OK);
            CHECK_EQ_INT(ty_compare(a, e, e, &p, &n), TY_OK); /* empty */
            ty_doc_free(e);
        }
        CHECK_EQ_UINT(n, 0);
        ty_aligner_free(a);
    }
    ty_doc_free(s);
    ty_doc_free(q);
}

/* Empty and tiny documents, and repetitive text: no crash, nothing found. */
static void test_degenerate_inputs(void)
{
    result_t r;
    run(&r, "empty vs empty", "", "");
    CHECK_EQ_UINT(r.n, 0);
    done(&r);
    run(&r, "empty vs text", "", gimp.text);
    CHECK_EQ_UINT(r.n, 0);
    done(&r);
    run(&r, "text vs empty", gimp.text, "");
    CHECK_EQ_UINT(r.n, 0);
    done(&r);
    run(&r, "short", "中文", "中文");
    CHECK_EQ_UINT(r.n, 0);
    done(&r);
    run(&r, "punctuation only", "，。！", "，。！");
    CHECK_EQ_UINT(r.n, 0);
    done(&r);
    /* one character repeated: every k-mer is frequent, must stay fast and find nothing odd */
    str_t b = {0};
    for (int i = 0; i < 20000; i++)
        puts_(&b, "的");
    run(&r, "repetitive", b.a, b.a);
    CHECK(r.n <= 1);
    done(&r);
    /* a short sentence repeated many times in both */
    b.n = 0;
    for (int i = 0; i < 500; i++)
        puts_(&b, "可以移动路径。");
    run(&r, "repeated sentence", b.a, b.a);
    CHECK(r.n <= 1);
    done(&r);
    free(b.a);
}

/* Results do not depend on call order or on reusing an aligner. */
static int same_result(const result_t *x, const result_t *y)
{
    if (x->n != y->n)
        return 0;
    for (size_t i = 0; i < x->n; i++) {
        const ty_passage_t *a = &x->p[i], *b = &y->p[i];
        if (a->src_off != b->src_off || a->src_len != b->src_len || a->sus_off != b->sus_off ||
            a->sus_len != b->sus_len || a->src_byte_off != b->src_byte_off ||
            a->src_byte_len != b->src_byte_len || a->sus_byte_off != b->sus_byte_off ||
            a->sus_byte_len != b->sus_byte_len || a->src_tok_beg != b->src_tok_beg ||
            a->src_tok_end != b->src_tok_end || a->sus_tok_beg != b->sus_tok_beg ||
            a->sus_tok_end != b->sus_tok_end || a->matched != b->matched || a->score != b->score)
            return 0;
    }
    return 1;
}

typedef struct {
    const char *src, *sus;
    size_t slen, qlen;
} pair_t;

static void test_order_and_reuse_independent(void)
{
    const size_t np = sizeof spin_pairs / sizeof spin_pairs[0];
    char *spun = spin(gimp.text, gimp.len, np);
    str_t emb = {0};
    put(&emb, hay.line[0], hay.llen[0]);
    put(&emb, gimp.line[3], gimp.llen[3]);
    put(&emb, gimp.line[4], gimp.llen[4]);
    put(&emb, hay.line[1], hay.llen[1]);
    const pair_t P[] = {
        {gimp.text, spun, gimp.len, strlen(spun)},
        {hay.text, gimp.text, hay.len, gimp.len},
        {gimp.text, emb.a, gimp.len, emb.n},
        {gimp.text, gimp.text, gimp.len, gimp.len},
        {"", gimp.text, 0, gimp.len},
        {emb.a, spun, emb.n, strlen(spun)},
    };
    enum { N = sizeof P / sizeof P[0] };
    result_t fresh[N], r;
    for (int i = 0; i < N; i++)
        run_with(&fresh[i], NULL, "fresh", P[i].src, P[i].slen, P[i].sus, P[i].qlen);
    CHECK_EQ_UINT(fresh[0].n, 1);
    CHECK_EQ_UINT(fresh[1].n, 0);
    CHECK_EQ_UINT(fresh[2].n, 1);
    /* one aligner, forward, backward, and each pair twice in a row */
    ty_opts_t o = opts();
    ty_aligner_t *a = ty_aligner_new(&o);
    for (int pass = 0; pass < 3; pass++) {
        for (int k = 0; k < N; k++) {
            int i = pass == 1 ? N - 1 - k : k;
            for (int rep = 0; rep < (pass == 2 ? 2 : 1); rep++) {
                run_with(&r, a, "reused", P[i].src, P[i].slen, P[i].sus, P[i].qlen);
                CHECKF(same_result(&r, &fresh[i]),
                       "pair %d pass %d rep %d: result differs from a "
                       "fresh aligner's",
                       i, pass, rep);
                done(&r);
            }
        }
    }
    ty_aligner_free(a);
    /* the same documents compared twice with no reload */
    ty_doc_t *s = ty_doc_new(), *q = ty_doc_new();
    ty_doc_load_mem(s, "s", gimp.text, gimp.len, &o);
    ty_doc_load_mem(q, "q", spun, strlen(spun), &o);
    a = ty_aligner_new(&o);
    const ty_passage_t *p1, *p2;
    size_t n1, n2;
    CHECK_EQ_INT(ty_compare(a, s, q, &p1, &n1), TY_OK);
    result_t x = {.n = n1 < MAXP ? n1 : MAXP}, y;
    memcpy(x.p, p1, x.n * sizeof(ty_passage_t));
    CHECK_EQ_INT(ty_compare(a, s, q, &p2, &n2), TY_OK);
    y.n = n2 < MAXP ? n2 : MAXP;
    memcpy(y.p, p2, y.n * sizeof(ty_passage_t));
    CHECK(same_result(&x, &y));
    CHECK(same_result(&x, &fresh[0]));
    ty_aligner_free(a);
    ty_doc_free(s);
    ty_doc_free(q);
    for (int i = 0; i < N; i++)
        done(&fresh[i]);
    free(emb.a);
    free(spun);
}

/* Loaded documents are read-only: threads with their own aligners share them. */
typedef struct {
    const ty_doc_t *src, *sus;
    result_t r;
    int rc;
} job_t;

static void *thread_main(void *arg)
{
    job_t *j = arg;
    ty_opts_t o = opts();
    ty_aligner_t *a = ty_aligner_new(&o);
    for (int rep = 0; rep < 5; rep++) {
        const ty_passage_t *p;
        size_t n;
        j->rc |= ty_compare(a, j->src, j->sus, &p, &n);
        j->r.n = n < MAXP ? n : MAXP;
        memcpy(j->r.p, p, j->r.n * sizeof(ty_passage_t));
    }
    ty_aligner_free(a);
    return NULL;
}

static void test_threads_share_documents(void)
{
    ty_opts_t o = opts();
    char *spun = spin(gimp.text, gimp.len, sizeof spin_pairs / sizeof spin_pairs[0]);
    ty_doc_t *s = ty_doc_new(), *q = ty_doc_new();
    CHECK_EQ_INT(ty_doc_load_mem(s, "s", gimp.text, gimp.len, &o), TY_OK);
    CHECK_EQ_INT(ty_doc_load_mem(q, "q", spun, strlen(spun), &o), TY_OK);
    job_t j[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        memset(&j[i], 0, sizeof j[i]);
        j[i].src = s;
        j[i].sus = q;
        CHECK_EQ_INT(pthread_create(&th[i], NULL, thread_main, &j[i]), 0);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < 4; i++) {
        CHECK_EQ_INT(j[i].rc, TY_OK);
        CHECK_EQ_UINT(j[i].r.n, 1);
        CHECKF(same_result(&j[i].r, &j[0].r), "thread %d result differs", i);
    }
    ty_doc_free(s);
    ty_doc_free(q);
    free(spun);
}

/* ty_compare_runs(): a verbatim copy is one run over everything; no passage, no runs; the
 * runs follow the aligner's last comparison. */
static void test_compare_runs(void)
{
    ty_opts_t o = opts();
    ty_aligner_t *a = ty_aligner_new(&o);
    const ty_match_t *r = NULL;
    size_t nr = 99;
    CHECK_EQ_INT(ty_compare_runs(a, 0, &r, &nr), TY_EINVAL); /* nothing compared yet */
    CHECK_EQ_INT(ty_compare_runs(NULL, 0, &r, &nr), TY_EINVAL);
    ty_doc_t *s = ty_doc_new(), *q = ty_doc_new(), *u = ty_doc_new();
    ty_doc_load_mem(s, "s", gimp.text, gimp.len, &o);
    ty_doc_load_mem(u, "u", hay.text, hay.len, &o);
    str_t b = {0};
    put(&b, hay.line[0], hay.llen[0]);
    put(&b, gimp.line[5], gimp.llen[5]);
    ty_doc_load_mem(q, "q", b.a, b.n, &o);
    const ty_passage_t *p;
    size_t n;
    CHECK_EQ_INT(ty_compare(a, s, s, &p, &n), TY_OK);
    CHECK_EQ_UINT(n, 1);
    CHECK_EQ_INT(ty_compare_runs(a, 0, &r, &nr), TY_OK);
    CHECK_EQ_UINT(nr, 1);
    if (nr == 1) {
        CHECK_EQ_UINT(r[0].src_tok, 0);
        CHECK_EQ_UINT(r[0].sus_tok, 0);
        CHECK_EQ_UINT(r[0].len, ty_doc_ntokens(s));
    }
    CHECK_EQ_INT(ty_compare_runs(a, 1, &r, &nr), TY_EINVAL);
    /* embedded paragraph: one run, at its token offsets */
    CHECK_EQ_INT(ty_compare(a, s, q, &p, &n), TY_OK);
    CHECK_EQ_UINT(n, 1);
    CHECK_EQ_INT(ty_compare_runs(a, 0, &r, &nr), TY_OK);
    CHECK_EQ_UINT(nr, 1);
    if (n == 1 && nr == 1) {
        CHECK_EQ_UINT(r[0].sus_tok, p[0].sus_tok_beg);
        CHECK_EQ_UINT(r[0].src_tok, p[0].src_tok_beg);
        CHECK_EQ_UINT(r[0].len, p[0].sus_tok_end - p[0].sus_tok_beg);
        ty_token_t t;
        ty_doc_token(q, r[0].sus_tok, &t);
        CHECK_EQ_UINT(t.byte_off, hay.llen[0] + (gimp.line[5][0] == ' ' ? 1 : 0));
    }
    /* then nothing found: the old runs are gone */
    CHECK_EQ_INT(ty_compare(a, s, u, &p, &n), TY_OK);
    CHECK_EQ_UINT(n, 0);
    CHECK_EQ_INT(ty_compare_runs(a, 0, &r, &nr), TY_EINVAL);
    ty_aligner_free(a);
    ty_doc_free(s);
    ty_doc_free(q);
    ty_doc_free(u);
    free(b.a);
}

static void test_passages_coverage(void)
{
    ty_passage_t p[4];
    memset(p, 0, sizeof p);
    CHECK_EQ_UINT(ty_passages_coverage(p, 0), 0);
    CHECK_EQ_UINT(ty_passages_coverage(NULL, 0), 0);
    p[0].sus_tok_beg = 0, p[0].sus_tok_end = 10;
    CHECK_EQ_UINT(ty_passages_coverage(p, 1), 10);
    p[1].sus_tok_beg = 5, p[1].sus_tok_end = 20; /* overlaps */
    CHECK_EQ_UINT(ty_passages_coverage(p, 2), 20);
    p[2].sus_tok_beg = 30, p[2].sus_tok_end = 40; /* apart */
    CHECK_EQ_UINT(ty_passages_coverage(p, 3), 30);
    p[3].sus_tok_beg = 2, p[3].sus_tok_end = 8; /* nested */
    CHECK_EQ_UINT(ty_passages_coverage(p, 4), 30);
    ty_passage_t q[3];
    memset(q, 0, sizeof q);
    q[0].sus_tok_beg = 30, q[0].sus_tok_end = 40; /* unsorted */
    q[1].sus_tok_beg = 0, q[1].sus_tok_end = 10;
    q[2].sus_tok_beg = 10, q[2].sus_tok_end = 15; /* touching */
    CHECK_EQ_UINT(ty_passages_coverage(q, 3), 25);
}

/* passage.matched counts "suspect tokens matched in order": it cannot exceed the suspect
 * tokens its exact runs cover. Shuffled text makes chains that overlap in the suspect; when
 * their boxes merge, their matched counts must not simply add up. */
static void test_matched_counts_suspect_tokens_once(void)
{
    size_t a, b;
    char *x = ck_slurp(ck_data("src-00085.txt"), &a), *y = ck_slurp(ck_data("sus-00097.txt"), &b);
    if (!x || !y)
        return;
    ty_opts_t o = opts();
    ty_doc_t *s = ty_doc_new(), *q = ty_doc_new();
    ty_doc_load_mem(s, "src-00085.txt", x, a, &o);
    ty_doc_load_mem(q, "sus-00097.txt", y, b, &o);
    ty_aligner_t *al = ty_aligner_new(&o);
    const ty_passage_t *p;
    size_t n, covered[MAXP];
    CHECK_EQ_INT(ty_compare(al, s, q, &p, &n), TY_OK);
    CHECK_EQ_UINT(n, 1);
    if (n >= 1 && n <= MAXP) {
        check_runs("src-00085 vs sus-00097", al, s, q, p, n, covered);
        for (size_t i = 0; i < n; i++)
            CHECKF(p[i].matched <= covered[i],
                   "passage %zu: matched %zu tokens, but its exact "
                   "runs cover only %zu suspect tokens (score %.3f)",
                   i, p[i].matched, covered[i], p[i].score);
    }
    ty_aligner_free(al);
    ty_doc_free(s);
    ty_doc_free(q);
    free(x);
    free(y);
}

/* ---- repetition and reordering (issue 16) -------------------------------------------------- */

/* One sentence repeated (a slogan page) and a long line made of one phrase, each against
 * itself: every k-mer occurs more often than max_occ, yet the text is one passage, whole. */
static void test_repeated_text_against_itself(void)
{
    const char *sentence = "对于 GIMP 1 中的文本工具来说，文字在渲染之后就不能修改了。";
    static const size_t times[] = {40, 100, 20000};
    for (size_t k = 0; k < sizeof times / sizeof times[0]; k++) {
        str_t b = {0};
        for (size_t i = 0; i < times[k]; i++)
            puts_(&b, sentence);
        if (k < 2)
            puts_(&b, "\n");
        char what[64];
        snprintf(what, sizeof what, "sentence x %zu against itself", times[k]);
        result_t r;
        run_with(&r, NULL, what, b.a, b.n, b.a, b.n);
        size_t n = ncp(b.a, b.n);
        CHECK_ONE_PASSAGE(what, &r, 0, n, 0, n, 0);
        if (r.n == 1) {
            CHECK_EQ_UINT(r.p[0].matched, ty_doc_ntokens(r.sus));
            CHECK_NEAR(r.p[0].score, 1.0, 1e-9);
        }
        done(&r);
        free(b.a);
    }
}

/* A suspect that holds its source two or three times: one passage per copy, each the whole
 * source, none claiming more matched tokens than the source has. */
static void test_source_held_several_times(void)
{
    for (int times = 2; times <= 3; times++) {
        str_t b = {0};
        size_t at[4];
        for (int i = 0; i < times; i++) {
            at[i] = ncp(b.a, b.n);
            put(&b, gimp.text, gimp.len);
        }
        at[times] = ncp(b.a, b.n);
        char what[64];
        snprintf(what, sizeof what, "source held %d times", times);
        result_t r;
        run_with(&r, NULL, what, gimp.text, gimp.len, b.a, b.n);
        CHECKF(r.n == (size_t)times, "%s: %zu passages", what, r.n);
        size_t n = ncp(gimp.text, gimp.len);
        for (size_t i = 0; i < r.n && r.n == (size_t)times; i++) {
            const ty_passage_t *p = &r.p[i];
            CHECKF(p->sus_off == at[i] && p->sus_off + p->sus_len == at[i + 1] && p->src_off == 0 &&
                       p->src_len == n,
                   "%s: passage %zu at sus %zu+%zu src %zu+%zu, expected sus %zu+%zu src 0+%zu",
                   what, i, p->sus_off, p->sus_len, p->src_off, p->src_len, at[i],
                   at[i + 1] - at[i], n);
            CHECK_EQ_UINT(p->matched, ty_doc_ntokens(r.src));
            CHECK_NEAR(p->score, 1.0, 1e-9);
        }
        if (r.n != (size_t)times)
            show(what, &r);
        done(&r);
        free(b.a);
    }
}

/* A paragraph repeated five times in tandem inside the text, against itself and against the
 * text with the paragraph once: one passage each (the copies are no second passage), and
 * matched never above either side (check_passages). */
static void test_tandem_paragraph(void)
{
    str_t t = {0};
    for (int i = 0; i < gimp.n; i++)
        for (int k = 0; k < (i == 3 ? 5 : 1); k++)
            put(&t, gimp.line[i], gimp.llen[i]);
    result_t r;
    size_t n = ncp(t.a, t.n);
    run_with(&r, NULL, "tandem against itself", t.a, t.n, t.a, t.n);
    CHECK_ONE_PASSAGE("tandem against itself", &r, 0, n, 0, n, 0);
    done(&r);
    char *s = spin(t.a, t.n, sizeof spin_pairs / sizeof spin_pairs[0]);
    run_with(&r, NULL, "tandem against its spun copy", t.a, t.n, s, strlen(s));
    CHECK_ONE_PASSAGE("tandem against its spun copy", &r, 0, n, 0, ncp(s, strlen(s)), 30);
    done(&r);
    free(s);
    free(t.a);
}

/* The sentences of text[0..len) (ending in 。！？；!?; or a line end), without line breaks. */
typedef struct {
    const char *p[256];
    size_t n[256];
    int count;
} sents_t;

static void split_sentences(sents_t *ss, const char *text, size_t len)
{
    static const char *ends[] = {"。", "！", "？", "；", "!", "?", ";", "\n"};
    ss->count = 0;
    size_t b = 0;
    for (size_t i = 0; i < len && ss->count < 256;) {
        size_t el = 0;
        for (size_t e = 0; e < sizeof ends / sizeof ends[0] && !el; e++)
            if (strncmp(text + i, ends[e], strlen(ends[e])) == 0)
                el = strlen(ends[e]);
        if (!el) {
            i++;
            continue;
        }
        size_t e = text[i] == '\n' ? i : i + el;
        if (e > b) {
            ss->p[ss->count] = text + b;
            ss->n[ss->count++] = e - b;
        }
        i += el;
        b = i;
    }
    if (b < len && ss->count < 256) {
        ss->p[ss->count] = text + b;
        ss->n[ss->count++] = len - b;
    }
}

/* Sentences [lo, hi) of ss in a fixed pseudo-random order (seeded), new paragraphs of three. */
static void put_shuffled(str_t *b, const sents_t *ss, int lo, int hi, unsigned seed)
{
    int ord[256];
    for (int i = lo; i < hi; i++)
        ord[i - lo] = i;
    for (int i = hi - lo - 1; i > 0; i--) { /* Fisher-Yates with an LCG */
        seed = seed * 1103515245u + 12345u;
        int j = (int)((seed >> 16) % (unsigned)(i + 1)), x = ord[i];
        ord[i] = ord[j];
        ord[j] = x;
    }
    for (int i = 0; i < hi - lo; i++) {
        put(b, ss->p[ord[i]], ss->n[ord[i]]);
        if (i % 3 == 2 || i + 1 == hi - lo)
            puts_(b, "\n");
    }
}

/* A whole text whose sentences a spinner put in random order — alone, spun, and between
 * two unrelated paragraphs: one passage for the reordered region, the whole source. */
static void test_reordered_copy(void)
{
    sents_t ss;
    split_sentences(&ss, gimp.text, gimp.len);
    CHECKF(ss.count >= 20, "%d sentences", ss.count);
    size_t n = ncp(gimp.text, gimp.len);
    for (unsigned seed = 1; seed <= 3; seed++) {
        str_t b = {0};
        put_shuffled(&b, &ss, 0, ss.count, seed);
        char what[64];
        result_t r;
        snprintf(what, sizeof what, "reordered (order %u)", seed);
        run(&r, what, gimp.text, b.a);
        CHECK_ONE_PASSAGE(what, &r, 0, n, 0, ncp(b.a, b.n), 3);
        done(&r);
        char *s = spin(b.a, b.n, sizeof spin_pairs / sizeof spin_pairs[0]);
        snprintf(what, sizeof what, "reordered and spun (order %u)", seed);
        run(&r, what, gimp.text, s);
        CHECK_ONE_PASSAGE(what, &r, 0, n, 0, ncp(s, strlen(s)), 30);
        done(&r);
        str_t e = {0};
        put(&e, hay.line[0], hay.llen[0]);
        size_t q_off = ncp(e.a, e.n);
        puts_(&e, s);
        size_t q_end = ncp(e.a, e.n);
        put(&e, hay.line[1], hay.llen[1]);
        snprintf(what, sizeof what, "reordered, spun, embedded (order %u)", seed);
        run(&r, what, gimp.text, e.a);
        CHECK_ONE_PASSAGE(what, &r, 0, n, q_off, q_end - q_off, 30);
        done(&r);
        free(e.a);
        free(s);
        free(b.a);
    }
}

/* Separate borrowings stay separate: the first and the last third of a text, each reordered
 * in itself, back to back; the middle third is not used. Two passages, each within its third
 * of the source. */
static void test_separate_borrowings_apart(void)
{
    size_t len;
    char *src = ck_slurp(ck_data("src-00387.txt"), &len);
    if (!src)
        return;
    sents_t ss;
    split_sentences(&ss, src, len);
    int t = ss.count / 3;
    CHECKF(t >= 5, "%d sentences", ss.count);
    str_t b = {0};
    put_shuffled(&b, &ss, 0, t, 7);
    size_t mid = ncp(b.a, b.n);
    put_shuffled(&b, &ss, ss.count - t, ss.count, 8);
    size_t first_end = ncp(src, (size_t)(ss.p[t - 1] + ss.n[t - 1] - src));
    size_t last_beg = ncp(src, (size_t)(ss.p[ss.count - t] - src));
    result_t r;
    run_with(&r, NULL, "two thirds apart", src, len, b.a, b.n);
    CHECKF(r.n == 2, "two thirds apart: %zu passages, expected 2", r.n);
    if (r.n == 2) {
        CHECK(r.p[0].src_off + r.p[0].src_len <= first_end + 3);
        CHECK(r.p[1].src_off + 3 >= last_beg);
        CHECK_NEAR(r.p[0].sus_off + r.p[0].sus_len, mid, 3);
        CHECK_NEAR(r.p[1].sus_off, mid, 3);
    }
    if (r.n != 2)
        show("two thirds apart", &r);
    done(&r);
    free(b.a);
    free(src);
}

/* The dev set's own pairs (real spinner output) with their truth offsets. */
static void test_dev_pairs(void)
{
    static const struct {
        const char *src, *sus;
        size_t s_off, s_len, q_off, q_len;
        double tol;
    } T[] = {
        {"src-00387.txt", "sus-00243.txt", 0, 1203, 0, 1238, 3},   /* spin10 */
        {"src-00393.txt", "sus-00068.txt", 223, 224, 0, 224, 3},   /* verbatim */
        {"src-00109.txt", "sus-00017.txt", 170, 378, 204, 386, 3}, /* partial, spin10 */
        {"src-00456.txt", "sus-00017.txt", 391, 284, 805, 284, 3}, /* partial, spin10 */
        {"src-00085.txt", "sus-00097.txt", 183, 282, 0, 325, 10},  /* shuffle + spin35 */
        {"src-00255.txt", "sus-00180.txt", 135, 268, 0, 306, 20},  /* trad + spin35 */
    };
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++) {
        size_t a, b;
        char *x = ck_slurp(ck_data(T[i].src), &a), *y = ck_slurp(ck_data(T[i].sus), &b);
        if (!x || !y)
            continue;
        char what[128];
        snprintf(what, sizeof what, "%s vs %s", T[i].src, T[i].sus);
        result_t r;
        run_with(&r, NULL, what, x, a, y, b);
        CHECK_ONE_PASSAGE(what, &r, T[i].s_off, T[i].s_len, T[i].q_off, T[i].q_len, T[i].tol);
        done(&r);
        free(x);
        free(y);
    }
}

int main(void)
{
    lines_load(&gimp, "src-00596.txt");
    lines_load(&hay, "hay-00031.txt");
    if (!gimp.text || !hay.text)
        return ck_summary("test_align");
    RUN(test_fresh_aligner_nothing_found);
    RUN(test_verbatim_copy);
    RUN(test_copy_embedded_in_unrelated_text);
    RUN(test_sentences_embedded_mid_paragraph);
    RUN(test_spun_copy);
    RUN(test_traditional_copy);
    RUN(test_shuffled_copy);
    RUN(test_unrelated_documents);
    RUN(test_two_passages);
    RUN(test_invalid_bytes_replace_mode);
    RUN(test_degenerate_inputs);
    RUN(test_order_and_reuse_independent);
    RUN(test_threads_share_documents);
    RUN(test_compare_runs);
    RUN(test_passages_coverage);
    RUN(test_matched_counts_suspect_tokens_once);
    RUN(test_dev_pairs);
    RUN(test_repeated_text_against_itself);
    RUN(test_source_held_several_times);
    RUN(test_tandem_paragraph);
    RUN(test_reordered_copy);
    RUN(test_separate_borrowings_apart);
    free(gimp.text);
    free(hay.text);
    return ck_summary("test_align");
}
