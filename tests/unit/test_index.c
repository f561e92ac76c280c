/*
 * test_index.c — the corpus index (index.c, index_add.c, search.c): build, reopen, stats,
 * stored texts, add in transactions with merging, duplicates, compaction, determinism
 * across thread counts, bad records, every kind of bad INDEX file (missing, foreign,
 * truncated, another format or parameters), and queries on real dev-set pairs — also from
 * several threads at once.
 */
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "index_fixture.h"
#include "index_impl.h"
#include "tongyuan.h"

static char tmpdir[256];

static const char *path_of(const char *name)
{
    static char buf[64][512]; /* enough that no test reuses a slot it still holds */
    static int slot;
    char *p = buf[slot++ % 64];
    snprintf(p, sizeof buf[0], "%s/%s", tmpdir, name);
    return p;
}

static const char *const SOURCES[] = {
    "src-00387.txt", "src-00393.txt", "src-00255.txt", "src-00085.txt", "src-00109.txt",
    "src-00456.txt", "src-00596.txt", "src-00001.txt", "hay-00031.txt", "hay-00207.txt"};
#define NSRC (sizeof SOURCES / sizeof SOURCES[0])

typedef struct {
    int progress, skipped, commits, dups;
    int stop_on_skip;
    char last_msg[512];
} events_t;

static int on_event(void *user, int ev, const char *msg, const ty_index_progress_t *p)
{
    events_t *e = user;
    (void)p;
    if (ev == TY_EVENT_PROGRESS)
        e->progress++;
    else if (ev == TY_EVENT_COMMIT)
        e->commits++;
    else if (ev == TY_EVENT_DUPLICATE)
        e->dups++;
    else
        e->skipped++;
    if (ev != TY_EVENT_PROGRESS && ev != TY_EVENT_COMMIT)
        snprintf(e->last_msg, sizeof e->last_msg, "%s", msg);
    return ev == TY_EVENT_SKIPPED && e->stop_on_skip;
}

/* Add the paths (from..to of SOURCES, or the given list) to an open index. */
static int add_paths(ty_index_t *ix, const char *const *paths, size_t n, int threads,
                     uint64_t commit, events_t *ev)
{
    ty_reader_t *r = ty_reader_new(NULL);
    for (size_t i = 0; i < n; i++)
        CHECKF(ty_reader_add(r, paths[i]) == TY_OK, "add %s: %s", paths[i], ty_reader_errmsg(r));
    ty_opts_t o;
    ty_opts_init(&o);
    ty_index_add_opts_t ao;
    ty_index_add_opts_init(&ao);
    ao.threads = threads;
    ao.commit_docs = commit;
    ao.event = on_event;
    ao.user = ev;
    int rc = ty_index_add_docs(ix, r, &o, &ao);
    ty_reader_free(r);
    return rc;
}

static const char **src_paths(size_t from, size_t to)
{
    static const char *p[NSRC];
    static char buf[NSRC][512];
    for (size_t i = from; i < to; i++) {
        snprintf(buf[i - from], sizeof buf[0], "%s", ck_data(SOURCES[i]));
        p[i - from] = buf[i - from];
    }
    return p;
}

/* Build path from SOURCES[0..n) with the given threads. */
static int build(const char *path, size_t n, int threads)
{
    ty_index_t *ix = ty_index_new();
    int rc = ty_index_open(ix, path, TY_INDEX_CREATE, NULL);
    CHECKF(rc == TY_OK, "create %s: %s", path, ty_index_errmsg(ix));
    events_t ev;
    memset(&ev, 0, sizeof ev);
    if (!rc)
        rc = add_paths(ix, src_paths(0, n), n, threads, 0, &ev);
    CHECKF(rc == TY_OK, "add: %s", ty_index_errmsg(ix));
    if (!rc)
        rc = ty_index_finish(ix);
    CHECKF(rc == TY_OK, "finish: %s", ty_index_errmsg(ix));
    ty_index_free(ix);
    return rc;
}

/* A new index of the first n sources (threads: threads) at path_of(name), opened in mode; NULL
 * after a failed check. */
static ty_index_t *built(const char *name, size_t n, int threads, int mode)
{
    const char *ip = path_of(name);
    return build(ip, n, threads) ? NULL : ck_index_open(ip, mode);
}

/* Names of the sources q reuses according to ix, best first, "a,b," */
static void sources_of(ty_index_t *ix, const char *file, char *out, size_t size)
{
    ty_opts_t o;
    ty_opts_init(&o);
    ty_searcher_t *s = ty_searcher_new(ix, &o, NULL);
    ty_doc_t *q = ty_doc_new();
    out[0] = 0;
    CHECK(s && q);
    CHECKF(ty_doc_load_file(q, ck_data(file), &o) == TY_OK, "%s", ty_doc_errmsg(q));
    const ty_source_t *src;
    size_t n, off = 0;
    int rc = ty_searcher_check(s, q, &src, &n);
    CHECKF(rc == TY_OK, "check: %s", ty_searcher_errmsg(s));
    for (size_t i = 0; rc == TY_OK && i < n && off < size; i++) {
        const char *nm = strrchr(ty_doc_name(src[i].doc), '/');
        off +=
            (size_t)snprintf(out + off, size - off, "%s,", nm ? nm + 1 : ty_doc_name(src[i].doc));
        CHECK(src[i].npassages > 0);
        CHECK(src[i].covered > 0);
        CHECK(src[i].shared >= 3);
    }
    ty_doc_free(q);
    ty_searcher_free(s);
}

/* sources_of in one buffer (valid until the next call; not for threads). */
static const char *sources(ty_index_t *ix, const char *file)
{
    static char out[512];
    sources_of(ix, file, out, sizeof out);
    return out;
}

/* ---- build, reopen, stats, stored documents -------------------------------------------- */

static void test_build_reopen_stats(void)
{
    const char *ip = path_of("a.idx");
    CHECK_EQ_INT(build(ip, NSRC, 2), TY_OK);
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", ip, (long)getpid());
    CHECK(access(tmp, F_OK) != 0); /* moved into place */
    ty_index_t *ix = ck_index_open(ip, TY_INDEX_READ);
    if (!ix)
        return;
    /* a delete on a handle opened read-only: TY_EREADONLY, not TY_EINVAL */
    CHECK_EQ_INT(ty_index_delete(ix, "new", NULL), TY_EREADONLY);
    CHECK_CONTAINS(ty_index_errmsg(ix), "read-only");
    ty_index_stats_t st;
    CHECK_EQ_INT(ty_index_stats(ix, &st), TY_OK);
    CHECK_EQ_UINT(st.docs, NSRC);
    CHECK_EQ_UINT(st.format, TY_INDEX_FORMAT);
    CHECK_EQ_INT(st.k, 4);
    CHECK_EQ_INT(st.w, 8);
    CHECK_EQ_UINT(st.segments, 1);
    CHECK(st.postings > 1000 && st.keys > 500 && st.keys <= st.postings);
    CHECK(st.stored_bytes > 0 && st.stored_bytes < st.bytes);
    CHECK(st.file_bytes >= st.map_bytes && st.map_bytes > 0);
    CHECK_EQ_HEX(st.norm_fingerprint, ty__norm_fingerprint());
    uint64_t bytes = 0, cps = 0;
    ty_opts_t o;
    ty_opts_init(&o);
    ty_doc_t *d = ty_doc_new(), *f = ty_doc_new();
    for (uint32_t i = 0; i < NSRC; i++) {
        const char *p = ck_data(SOURCES[i]);
        uint32_t id = 99;
        CHECKF(ty_index_find(ix, p, &id) == TY_OK, "find %s: %s", p, ty_index_errmsg(ix));
        CHECK_EQ_UINT(id, i); /* ids follow the input order */
        CHECK_EQ_INT(ty_index_get_doc(ix, i, d, &o), TY_OK);
        CHECK_EQ_INT(ty_doc_load_file(f, p, &o), TY_OK);
        size_t l1, l2;
        const char *t1 = ty_doc_text(d, &l1), *t2 = ty_doc_text(f, &l2);
        CHECK_EQ_MEM(t1, l1, t2, l2);
        CHECK_EQ_STR(ty_doc_name(d), p);
        CHECK_EQ_UINT(ty_doc_ntokens(d), ty_doc_ntokens(f));
        char name[512], file[512];
        uint64_t line = 7;
        CHECK_EQ_INT(ty_index_doc_info(ix, i, name, sizeof name, file, sizeof file, &line), TY_OK);
        CHECK_EQ_STR(name, p);
        CHECK_EQ_STR(file, p);
        CHECK_EQ_UINT(line, 0);
        bytes += l2;
        cps += ty_doc_ncodepoints(f);
    }
    CHECK_EQ_UINT(st.bytes, bytes);
    CHECK_EQ_UINT(st.codepoints, cps);
    uint32_t id;
    CHECK_EQ_INT(ty_index_find(ix, "no such name", &id), TY_ENOTFOUND);
    CHECK_EQ_INT(ty_index_get_doc(ix, NSRC, d, &o), TY_ENOTFOUND);
    CHECK_EQ_INT(ty_index_doc_info(ix, NSRC, NULL, 0, NULL, 0, NULL), TY_ENOTFOUND);
    CHECK_EQ_INT(ty_index_verify(ix), TY_OK);
    /* a read-only handle does not write */
    ty_reader_t *r = ty_reader_new(NULL);
    CHECK_EQ_INT(ty_index_add_docs(ix, r, &o, NULL), TY_EINVAL);
    CHECK_EQ_INT(ty_index_compact(ix), TY_EINVAL);
    ty_reader_free(r);
    ty_doc_free(d);
    ty_doc_free(f);
    ty_index_free(ix);
    ty_index_free(NULL);
}

/* ---- queries ----------------------------------------------------------------------------- */

static void test_check_finds_the_sources(void)
{
    ty_index_t *ix = built("q.idx", NSRC, 1, TY_INDEX_READ);
    if (!ix)
        return;
    char out[512];
    CHECK_EQ_STR(sources(ix, "sus-00243.txt"), "src-00387.txt,"); /* spin10 */
    CHECK_EQ_STR(sources(ix, "sus-00068.txt"), "src-00393.txt,"); /* verbatim part */
    CHECK_EQ_STR(sources(ix, "sus-00180.txt"), "src-00255.txt,"); /* spin35 + Traditional */
    CHECK_EQ_STR(sources(ix, "sus-00097.txt"), "src-00085.txt,"); /* spin35 + shuffle */
    /* two passages, two sources */
    sources_of(ix, "sus-00017.txt", out, sizeof out);
    CHECK(strcmp(out, "src-00109.txt,src-00456.txt,") == 0 ||
          strcmp(out, "src-00456.txt,src-00109.txt,") == 0);
    CHECK_EQ_STR(sources(ix, "sus-00158.txt"), ""); /* unrelated */
    /* an indexed text, Traditional */
    CHECK_EQ_STR(sources(ix, "src-00596.s2t.txt"), "src-00596.txt,");
    /* the candidate step alone */
    ty_opts_t o;
    ty_opts_init(&o);
    ty_searcher_t *s = ty_searcher_new(ix, &o, NULL);
    ty_doc_t *q = ty_doc_new();
    ty_doc_load_file(q, ck_data("sus-00243.txt"), &o);
    uint32_t ids[4], sh[4];
    size_t n = 0;
    CHECK_EQ_INT(ty_searcher_candidates(s, q, ids, sh, 4, &n), TY_OK);
    CHECK(n >= 1);
    CHECK_EQ_UINT(ids[0], 0); /* src-00387 */
    CHECK(sh[0] > 50);
    CHECK_EQ_INT(ty_searcher_candidates(s, q, NULL, NULL, 0, &n), TY_OK);
    CHECK_EQ_UINT(n, 0);
    /* a query too short for one k-mer, and an empty one */
    ty_doc_load_mem(q, "short", "一二", 6, &o);
    const ty_source_t *src;
    CHECK_EQ_INT(ty_searcher_check(s, q, &src, &n), TY_OK);
    CHECK_EQ_UINT(n, 0);
    ty_doc_load_mem(q, "empty", "", 0, &o);
    CHECK_EQ_INT(ty_searcher_check(s, q, &src, &n), TY_OK);
    CHECK_EQ_UINT(n, 0);
    ty_doc_free(q);
    ty_searcher_free(s);
    ty_searcher_free(NULL);
    ty_index_free(ix);
}

/* A deleted document is no source any more, and cannot be loaded; the others are unaffected */
static void test_deleted_documents_are_not_sources(void)
{
    ty_index_t *ix = built("del.idx", NSRC, 1, TY_INDEX_WRITE);
    if (!ix)
        return;
    CHECK_EQ_STR(sources(ix, "sus-00243.txt"), "src-00387.txt,");
    uint32_t id = UINT32_MAX, id2;
    CHECKF(ty_index_find(ix, ck_data("src-00387.txt"), &id) == TY_OK, "find: %s",
           ty_index_errmsg(ix));
    CHECKF(ty_index_delete(ix, ck_data("src-00387.txt"), &id2) == TY_OK, "delete: %s",
           ty_index_errmsg(ix));
    CHECK(id == id2);
    CHECK(ty_index_is_deleted(ix, id) == 1);
    CHECK_EQ_STR(sources(ix, "sus-00243.txt"), "");
    CHECK_EQ_STR(sources(ix, "sus-00068.txt"), "src-00393.txt,"); /* another source: still found */
    ty_opts_t o;
    ty_opts_init(&o);
    ty_doc_t *d = ty_doc_new();
    CHECK(ty_index_get_doc(ix, id, d, &o) == TY_ENOTFOUND);
    CHECK(strstr(ty_index_errmsg(ix), "deleted") != NULL);
    ty_doc_free(d);
    ty_index_free(ix);
}

static void test_max_sources_and_ranking(void)
{
    ty_index_t *ix = built("r.idx", NSRC, 1, TY_INDEX_READ);
    if (!ix)
        return;
    ty_opts_t o;
    ty_opts_init(&o);
    ty_query_opts_t qo;
    ty_query_opts_init(&qo);
    qo.max_sources = 1;
    ty_searcher_t *s = ty_searcher_new(ix, &o, &qo);
    ty_doc_t *q = ty_doc_new();
    ty_doc_load_file(q, ck_data("sus-00017.txt"), &o);
    const ty_source_t *src;
    size_t n;
    CHECK_EQ_INT(ty_searcher_check(s, q, &src, &n), TY_OK);
    CHECK_EQ_UINT(n, 1);
    ty_searcher_free(s);
    qo.max_sources = 10;
    s = ty_searcher_new(ix, &o, &qo);
    CHECK_EQ_INT(ty_searcher_check(s, q, &src, &n), TY_OK);
    CHECK_EQ_UINT(n, 2);
    for (size_t i = 1; i < n; i++) { /* best first: most characters matched in order */
        size_t m0 = 0, m1 = 0;
        for (size_t p = 0; p < src[i - 1].npassages; p++)
            m0 += src[i - 1].passages[p].matched;
        for (size_t p = 0; p < src[i].npassages; p++)
            m1 += src[i].passages[p].matched;
        CHECK(m0 >= m1);
    }
    for (size_t i = 0; i < n; i++)
        for (size_t p = 1; p < src[i].npassages; p++)
            CHECK(src[i].passages[p - 1].sus_off <= src[i].passages[p].sus_off);
    ty_doc_free(q);
    ty_searcher_free(s);
    ty_index_free(ix);
}

/* Versions of one article (as news sites repost it): version v of src-00387.txt drops its
 * sentences i with i % 5 == v and keeps the others; written to dir/v<v>.txt. */
static int write_versions(const char *dir, int nv)
{
    FILE *f = fopen(ck_data("src-00387.txt"), "rb");
    char text[8192];
    size_t len = f ? fread(text, 1, sizeof text - 1, f) : 0;
    if (f)
        fclose(f);
    CHECK(len > 1000);
    text[len] = 0;
    for (int v = 0; v < nv; v++) {
        char p[600];
        snprintf(p, sizeof p, "%s/v%d.txt", dir, v);
        FILE *o = fopen(p, "wb");
        if (!o)
            return -1;
        int i = 0;
        for (const char *s = text; *s;) { /* sentences end after "。" (3 bytes) or "\n" */
            const char *e = s;
            while (*e && strncmp(e, "。", 3) != 0 && *e != '\n')
                e++;
            e += *e == '\n' ? 1 : *e ? 3 : 0;
            if (i++ % 5 != v)
                fwrite(s, 1, (size_t)(e - s), o);
            s = e;
        }
        fclose(o);
    }
    return 0;
}

/* Several versions of one article indexed (v0 first): a copy of a later version is found
 * in that version, not in the first one indexed (which the first holder of each shared
 * minimizer is), and the other versions are listed as other holders of its text. */
static void test_near_duplicate_versions(void)
{
    const char *dir = path_of("versions");
    mkdir(dir, 0777);
    if (write_versions(dir, 4))
        return;
    char vp[4][600];
    const char *paths[6];
    for (int v = 0; v < 4; v++) {
        snprintf(vp[v], sizeof vp[v], "%s/v%d.txt", dir, v);
        paths[v] = vp[v];
    }
    paths[4] = ck_data("src-00393.txt"); /* and unrelated documents */
    paths[5] = ck_data("hay-00031.txt");
    const char *ip = path_of("versions.idx");
    ty_index_t *ix = ty_index_new();
    events_t ev;
    memset(&ev, 0, sizeof ev);
    CHECK(ty_index_open(ix, ip, TY_INDEX_CREATE, NULL) == TY_OK);
    CHECK(add_paths(ix, paths, 6, 1, 0, &ev) == TY_OK);
    CHECK(ty_index_finish(ix) == TY_OK);
    ty_index_free(ix);
    ix = ck_index_open(ip, TY_INDEX_READ);
    if (!ix)
        return;
    ty_opts_t o;
    ty_opts_init(&o);
    ty_searcher_t *s = ty_searcher_new(ix, &o, NULL);
    ty_doc_t *q = ty_doc_new();
    for (int v = 1; v < 4; v++) { /* the query: version v itself */
        CHECK(ty_doc_load_file(q, vp[v], &o) == TY_OK);
        const ty_source_t *src;
        size_t n = 0;
        CHECK_EQ_INT(ty_searcher_check(s, q, &src, &n), TY_OK);
        CHECK_EQ_UINT(n, 1);
        if (n < 1)
            continue;
        CHECK_EQ_STR(ty_doc_name(src[0].doc), vp[v]);
        CHECK_EQ_UINT(src[0].also_total, 3);
        CHECK_EQ_UINT(src[0].nalso, 3);
        int seen = 0; /* every other version, each once, with its name */
        for (size_t i = 0; i < src[0].nalso; i++)
            for (int w = 0; w < 4; w++)
                if (w != v && strcmp(src[0].also[i].name, vp[w]) == 0) {
                    CHECK(src[0].also[i].shared >= 3);
                    seen |= 1 << w;
                }
        CHECK_EQ_INT(seen, 15 & ~(1 << v));
        /* the candidates: the first indexed version holds most of the text (primary), the
         * queried one is its rival and is aligned too */
        uint32_t ids[32], sh[32];
        size_t nc = 0;
        CHECK_EQ_INT(ty_searcher_candidates(s, q, ids, sh, 32, &nc), TY_OK);
        int has_v = 0;
        for (size_t i = 0; i < nc; i++)
            has_v |= ids[i] == (uint32_t)v;
        CHECK(has_v);
        /* --max-also: the cap and the count past it */
        ty_query_opts_t qo;
        ty_query_opts_init(&qo);
        qo.max_also = 1;
        ty_searcher_t *s1 = ty_searcher_new(ix, &o, &qo);
        CHECK_EQ_INT(ty_searcher_check(s1, q, &src, &n), TY_OK);
        if (n >= 1) {
            CHECK_EQ_UINT(src[0].nalso, 1);
            CHECK_EQ_UINT(src[0].also_total, 3);
        }
        ty_searcher_free(s1);
    }
    ty_doc_free(q);
    ty_searcher_free(s);
    ty_index_free(ix);
}

typedef struct {
    ty_index_t *ix;
    char out[6][256];
} par_t;

static void *par_main(void *arg)
{
    par_t *p = arg;
    static const char *const Q[] = {"sus-00243.txt", "sus-00068.txt", "sus-00180.txt",
                                    "sus-00097.txt", "sus-00017.txt", "sus-00158.txt"};
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 6; i++)
            sources_of(p->ix, Q[i], p->out[i], sizeof p->out[i]);
    return NULL;
}

static void test_searchers_in_threads(void)
{
    ty_index_t *ix = built("t.idx", NSRC, 1, TY_INDEX_READ);
    if (!ix)
        return;
    par_t p[4];
    pthread_t th[4];
    for (int t = 0; t < 4; t++) {
        p[t].ix = ix;
        pthread_create(&th[t], NULL, par_main, &p[t]);
    }
    for (int t = 0; t < 4; t++)
        pthread_join(th[t], NULL);
    for (int t = 1; t < 4; t++)
        for (int i = 0; i < 6; i++)
            CHECK_EQ_STR(p[t].out[i], p[0].out[i]);
    CHECK_EQ_STR(p[0].out[0], "src-00387.txt,");
    ty_index_free(ix);
}

/* ---- adding, merging, compaction --------------------------------------------------------- */

static void test_add_in_transactions(void)
{
    ty_index_t *ix = built("add.idx", 2, 1, TY_INDEX_WRITE);
    if (!ix)
        return;
    events_t ev;
    memset(&ev, 0, sizeof ev);
    /* one document per transaction: eight segments are made and merged as they pile up */
    CHECK_EQ_INT(add_paths(ix, src_paths(2, NSRC), NSRC - 2, 3, 1, &ev), TY_OK);
    CHECK_EQ_INT(ev.commits, (int)NSRC - 2);
    CHECK_EQ_INT(ev.skipped, 0);
    ty_index_stats_t st;
    CHECK_EQ_INT(ty_index_stats(ix, &st), TY_OK);
    CHECK_EQ_UINT(st.docs, NSRC);
    CHECK(st.segments >= 1 && st.segments < 4 + 1); /* tier merging keeps them few */
    CHECK_EQ_INT(ty_index_verify(ix), TY_OK);
    char out[512];
    sources_of(ix, "sus-00017.txt", out, sizeof out);
    CHECK(strstr(out, "src-00109.txt") && strstr(out, "src-00456.txt"));
    /* the same again: every name is known, nothing is added */
    memset(&ev, 0, sizeof ev);
    CHECK_EQ_INT(add_paths(ix, src_paths(0, NSRC), NSRC, 2, 3, &ev), TY_OK);
    CHECK_EQ_INT(ev.dups, (int)NSRC);
    ty_index_stats_t st2;
    ty_index_stats(ix, &st2);
    CHECK_EQ_UINT(st2.docs, NSRC);
    CHECK_EQ_UINT(st2.postings, st.postings);
    /* compaction: one segment, the same postings and answers */
    CHECK_EQ_INT(ty_index_compact(ix), TY_OK);
    ty_index_stats(ix, &st2);
    CHECK_EQ_UINT(st2.segments, 1);
    CHECK_EQ_UINT(st2.postings, st.postings);
    CHECK_EQ_UINT(st2.keys, st.keys - (st.keys - st2.keys)); /* keys merge across segments */
    CHECK_EQ_INT(ty_index_verify(ix), TY_OK);
    char out2[512];
    sources_of(ix, "sus-00017.txt", out2, sizeof out2);
    CHECK_EQ_STR(out2, out);
    ty_index_free(ix);
    /* an index built at once has the same documents and postings */
    const char *ip2 = path_of("add2.idx");
    if (build(ip2, NSRC, 2))
        return;
    ty_index_t *ix2 = ck_index_open(ip2, TY_INDEX_READ);
    ty_index_stats_t st3;
    ty_index_stats(ix2, &st3);
    CHECK_EQ_UINT(st3.postings, st.postings);
    CHECK_EQ_UINT(st3.keys, st2.keys);
    CHECK_EQ_UINT(st3.codepoints, st.codepoints);
    ty_index_free(ix2);
}

static void test_threads_do_not_change_the_index(void)
{
    const char *a = path_of("th1.idx"), *b = path_of("th4.idx");
    if (build(a, NSRC, 1) || build(b, NSRC, 4))
        return;
    ty_index_t *x = ck_index_open(a, TY_INDEX_READ), *y = ck_index_open(b, TY_INDEX_READ);
    if (!x || !y)
        return;
    ty_index_stats_t s1, s2;
    ty_index_stats(x, &s1);
    ty_index_stats(y, &s2);
    CHECK_EQ_UINT(s1.postings, s2.postings);
    CHECK_EQ_UINT(s1.keys, s2.keys);
    CHECK_EQ_UINT(s1.stored_bytes, s2.stored_bytes);
    for (uint32_t i = 0; i < NSRC; i++) {
        char n1[512], n2[512];
        ty_index_doc_info(x, i, n1, sizeof n1, NULL, 0, NULL);
        ty_index_doc_info(y, i, n2, sizeof n2, NULL, 0, NULL);
        CHECK_EQ_STR(n1, n2);
    }
    ty_index_free(x);
    ty_index_free(y);
}

static void test_bad_records(void)
{
    const char *jl = path_of("bad.jsonl");
    FILE *f = fopen(jl, "w");
    fprintf(f, "{\"id\":\"a\",\"text\":\"第一篇文章的正文内容，足够长。\"}\n"
               "{\"id\":\"b\",\"text\":\"未闭合\"\n"
               "{\"id\":\"c\",\"text\":\"\xff\xfe 坏字节\"}\n"
               "{\"id\":\"d\",\"text\":\"最后一篇文章的正文。\"}\n");
    fclose(f);
    const char *ip = path_of("bad.idx");
    ty_index_t *ix = ty_index_new();
    CHECK_EQ_INT(ty_index_open(ix, ip, TY_INDEX_CREATE, NULL), TY_OK);
    events_t ev;
    memset(&ev, 0, sizeof ev);
    const char *p[1] = {jl};
    CHECK_EQ_INT(add_paths(ix, p, 1, 2, 0, &ev), TY_OK);
    CHECK_EQ_INT(ev.skipped, 2); /* line 2, and line 3: JSON with an invalid byte is not JSON */
    CHECK_EQ_INT(ty_index_finish(ix), TY_OK);
    ty_index_stats_t st;
    ty_index_stats(ix, &st);
    CHECK_EQ_UINT(st.docs, 2);
    ty_index_free(ix);
    /* stopping at the first bad record */
    ix = ty_index_new();
    ty_index_open(ix, path_of("bad2.idx"), TY_INDEX_CREATE, NULL);
    memset(&ev, 0, sizeof ev);
    ev.stop_on_skip = 1;
    CHECK_EQ_INT(add_paths(ix, p, 1, 1, 0, &ev), TY_ECANCELED);
    char want[600];
    snprintf(want, sizeof want, "%s:2", jl);
    CHECK_CONTAINS(ev.last_msg, want);
    CHECK_CONTAINS(ty_index_errmsg(ix), "stopped after 1 documents");
    ty_index_free(ix); /* not finished: nothing left behind */
    CHECK(access(path_of("bad2.idx"), F_OK) != 0);
    /* strict UTF-8: the line with bad bytes inside a valid JSON string (\u escapes) */
    f = fopen(jl, "w");
    fprintf(f, "{\"id\":\"x\",\"text\":\"ok 文本\"}\n{\"id\":\"y\",\"text\":\"\\u0001\\ud800\"}\n");
    fclose(f);
    ix = ty_index_new();
    ty_index_open(ix, path_of("bad3.idx"), TY_INDEX_CREATE, NULL);
    memset(&ev, 0, sizeof ev);
    CHECK_EQ_INT(add_paths(ix, p, 1, 1, 0, &ev), TY_OK);
    CHECK_EQ_INT(ev.skipped, 1);
    CHECK_CONTAINS(ev.last_msg, ":2");
    ty_index_free(ix);
}

static void test_abandoned_build_leaves_nothing(void)
{
    mkdir(path_of("ab"), 0755);
    const char *ip = path_of("ab/x.idx");
    ty_index_t *ix = ty_index_new();
    CHECK_EQ_INT(ty_index_open(ix, ip, TY_INDEX_CREATE, NULL), TY_OK);
    events_t ev;
    memset(&ev, 0, sizeof ev);
    CHECK_EQ_INT(add_paths(ix, src_paths(0, 3), 3, 2, 0, &ev), TY_OK);
    ty_index_free(ix);
    CHECK(access(ip, F_OK) != 0);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "test -z \"$(ls -A '%s')\"", path_of("ab"));
    CHECKF(system(cmd) == 0, "files left in %s", path_of("ab"));
}

static void test_empty_and_tiny_documents(void)
{
    const char *jl = path_of("tiny.jsonl");
    FILE *f = fopen(jl, "w");
    fprintf(f, "{\"id\":\"empty\",\"text\":\"\"}\n{\"id\":\"two\",\"text\":\"一二\"}\n"
               "{\"id\":\"punct\",\"text\":\"。，！\"}\n");
    fclose(f);
    ty_index_t *ix = ty_index_new();
    const char *ip = path_of("tiny.idx");
    ty_index_open(ix, ip, TY_INDEX_CREATE, NULL);
    events_t ev;
    memset(&ev, 0, sizeof ev);
    const char *p[1] = {jl};
    CHECK_EQ_INT(add_paths(ix, p, 1, 1, 0, &ev), TY_OK);
    CHECK_EQ_INT(ty_index_finish(ix), TY_OK);
    ty_index_stats_t st;
    ty_index_stats(ix, &st);
    CHECK_EQ_UINT(st.docs, 3);
    CHECK_EQ_UINT(st.postings, 0);
    CHECK_EQ_UINT(st.segments, 0);
    CHECK_EQ_INT(ty_index_verify(ix), TY_OK);
    CHECK_EQ_STR(sources(ix, "sus-00243.txt"), "");
    ty_opts_t o;
    ty_opts_init(&o);
    ty_doc_t *d = ty_doc_new();
    CHECK_EQ_INT(ty_index_get_doc(ix, 0, d, &o), TY_OK);
    CHECK_EQ_STR(ty_doc_name(d), "empty");
    CHECK_EQ_UINT(ty_doc_ncodepoints(d), 0);
    char file[512];
    uint64_t line = 0;
    ty_index_doc_info(ix, 2, NULL, 0, file, sizeof file, &line);
    CHECK_EQ_STR(file, jl);
    CHECK_EQ_UINT(line, 3);
    ty_doc_free(d);
    ty_index_free(ix);
}

/* ---- bad INDEX files ----------------------------------------------------------------------- */

static int open_rc(const char *path, int mode, const ty_index_opts_t *io, char *msg, size_t n)
{
    ty_index_t *ix = ty_index_new();
    int rc = ty_index_open(ix, path, mode, io);
    snprintf(msg, n, "%s", ty_index_errmsg(ix));
    ty_index_free(ix);
    return rc;
}

static void copy_file(const char *from, const char *to, long keep)
{
    size_t n;
    char *b = ck_slurp(from, &n);
    if (!b)
        return;
    FILE *f = fopen(to, "wb");
    fwrite(b, 1, keep >= 0 && (size_t)keep < n ? (size_t)keep : n, f);
    fclose(f);
    free(b);
}

/* Opening path in each mode from mode0 to mode1 is refused with want, the message holding say
 * (and say2 unless NULL), and leaves the file byte for byte as it was: a refused open never
 * writes. what names the case in a failure. */
static void refused_untouched(const char *what, const char *path, int mode0, int mode1, int want,
                              const char *say, const char *say2)
{
    char msg[TY_ERRMSG_SIZE];
    size_t n0, n1;
    char *before = ck_slurp(path, &n0);
    for (int mode = mode0; mode <= mode1; mode++) {
        int rc = open_rc(path, mode, NULL, msg, sizeof msg);
        CHECKF(rc == want, "%s, mode %d: rc %d, not %d (%s)", what, mode, rc, want, msg);
        CHECKF(strstr(msg, say) && (!say2 || strstr(msg, say2)), "%s, mode %d: %s", what, mode,
               msg);
    }
    char *after = ck_slurp(path, &n1);
    CHECKF(before && after && n0 == n1 && memcmp(before, after, n0) == 0, "%s: the file changed",
           what);
    free(before);
    free(after);
}

/* An LMDB environment at path that is not an index: one table "stuff". */
static void make_foreign_lmdb(const char *path)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    mdb_env_create(&env);
    mdb_env_set_maxdbs(env, 4);
    mdb_env_open(env, path, MDB_NOSUBDIR, 0644);
    mdb_txn_begin(env, NULL, 0, &txn);
    mdb_dbi_open(txn, "stuff", MDB_CREATE, &dbi);
    MDB_val k = {3, "key"}, v = {5, "value"};
    mdb_put(txn, dbi, &k, &v, 0);
    mdb_txn_commit(txn);
    mdb_env_close(env);
}

/* Rewrite the header of the index at path with h (LMDB opened directly). */
static void forge_header(const char *path, const index_header_t *h)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi meta;
    mdb_env_create(&env);
    mdb_env_set_maxdbs(env, 16);
    /* a map of 64 MB, not the 1 TiB the index file records: under ThreadSanitizer so much
     * address space is not always there (ENOMEM); the library settles for less the same way */
    mdb_env_set_mapsize(env, (size_t)64 << 20);
    int orc = mdb_env_open(env, path, MDB_NOSUBDIR, 0644);
    CHECK_EQ_INT(orc, 0);
    if (orc) {
        mdb_env_close(env);
        return;
    }
    mdb_txn_begin(env, NULL, 0, &txn);
    CHECK_EQ_INT(mdb_dbi_open(txn, "meta", 0, &meta), 0);
    uint8_t b[TY_HEADER_SIZE];
    ty__header_encode(h, b);
    MDB_val k = {6, "header"}, v = {sizeof b, b};
    CHECK_EQ_INT(mdb_put(txn, meta, &k, &v, 0), 0);
    CHECK_EQ_INT(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

static void test_bad_index_files(void)
{
    const char *good = path_of("good.idx");
    if (build(good, 3, 1))
        return;
    char msg[TY_ERRMSG_SIZE];
    CHECK_EQ_INT(open_rc(path_of("missing.idx"), TY_INDEX_READ, NULL, msg, sizeof msg),
                 TY_ENOTFOUND);
    CHECK_CONTAINS(msg, "missing.idx");
    CHECK_EQ_INT(open_rc(tmpdir, TY_INDEX_READ, NULL, msg, sizeof msg), TY_ECORRUPT);
    CHECK_CONTAINS(msg, "is a directory");
    /* foreign files: text, empty, random bytes — also opened for writing, which must not
     * turn them into an index */
    const char *txt = ck_data("src-00387.txt");
    const char *foreign = path_of("foreign.idx");
    copy_file(txt, foreign, -1);
    refused_untouched("foreign", foreign, TY_INDEX_READ, TY_INDEX_WRITE, TY_ECORRUPT,
                      "foreign.idx: not a tongyuan index", NULL);
    const char *empty = path_of("empty.idx");
    fclose(fopen(empty, "w"));
    CHECK_EQ_INT(open_rc(empty, TY_INDEX_WRITE, NULL, msg, sizeof msg), TY_ECORRUPT);
    CHECK_CONTAINS(msg, "empty file");
    struct stat st;
    stat(empty, &st);
    CHECK_EQ_INT(st.st_size, 0);
    /* truncated copies: at a page boundary and in the middle of one */
    size_t full;
    char *g = ck_slurp(good, &full);
    free(g);
    const long cuts[] = {4096, 8192, (long)full / 2, (long)full - 4096, (long)full - 100};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        const char *cut = path_of("cut.idx");
        copy_file(good, cut, cuts[i]);
        char lock[600];
        snprintf(lock, sizeof lock, "%s-lock", cut);
        unlink(lock);
        int rc = open_rc(cut, TY_INDEX_READ, NULL, msg, sizeof msg);
        CHECKF(rc == TY_ECORRUPT, "cut at %ld: rc %d (%s)", cuts[i], rc, msg);
        CHECKF(strstr(msg, "cut.idx") != NULL, "cut at %ld: %s", cuts[i], msg);
    }
    /* an LMDB environment that is not ours */
    const char *other = path_of("other.mdb");
    make_foreign_lmdb(other);
    CHECK_EQ_INT(open_rc(other, TY_INDEX_READ, NULL, msg, sizeof msg), TY_ECORRUPT);
    CHECK_CONTAINS(msg, "an LMDB file but not a tongyuan index");
    /* another format, parameters, normalization table */
    ty_index_t *ix = ck_index_open(good, TY_INDEX_READ);
    index_header_t h = ix ? ix->hdr : (index_header_t){{0}, 0, 0, 0, 0, 0, 0, 0, 0, {0}};
    ty_index_free(ix);
    const char *forged = path_of("forged.idx");
    index_header_t x = h;
    x.format = TY_INDEX_FORMAT + 1;
    copy_file(good, forged, -1);
    forge_header(forged, &x);
    CHECK_EQ_INT(open_rc(forged, TY_INDEX_READ, NULL, msg, sizeof msg), TY_EVERSION);
    CHECK_CONTAINS(msg, "is newer than this tongyuan reads");
    x = h;
    x.norm_fingerprint ^= 1;
    forge_header(forged, &x);
    CHECK_EQ_INT(open_rc(forged, TY_INDEX_READ, NULL, msg, sizeof msg), TY_EVERSION);
    CHECK_CONTAINS(msg, "another normalization table");
    x = h;
    memcpy(x.magic, "NOTOURS!", 8);
    forge_header(forged, &x);
    CHECK_EQ_INT(open_rc(forged, TY_INDEX_READ, NULL, msg, sizeof msg), TY_ECORRUPT);
    CHECK_CONTAINS(msg, "bad magic");
    ty_index_opts_t io;
    ty_index_opts_init(&io);
    io.w = 5;
    CHECK_EQ_INT(open_rc(good, TY_INDEX_WRITE, &io, msg, sizeof msg), TY_EVERSION);
    CHECK_CONTAINS(msg, "k=4 w=8");
    io.w = 8;
    CHECK_EQ_INT(open_rc(good, TY_INDEX_WRITE, &io, msg, sizeof msg), TY_OK);
    /* bad arguments */
    io.k = 1;
    CHECK_EQ_INT(open_rc(path_of("k1.idx"), TY_INDEX_CREATE, &io, msg, sizeof msg), TY_EINVAL);
    CHECK_EQ_INT(open_rc(good, 7, NULL, msg, sizeof msg), TY_EINVAL);
    CHECK_EQ_INT(ty_index_open(NULL, good, TY_INDEX_READ, NULL), TY_EINVAL);
}

/* ---- one document from memory ------------------------------------------------------------ */

static void test_add_one_document(void)
{
    const char *ip = path_of("one.idx");
    if (build(ip, 3, 1))
        return;
    ty_index_t *ix = ck_index_open(ip, TY_INDEX_WRITE);
    if (!ix)
        return;
    ty_opts_t o;
    ty_opts_init(&o);
    size_t n;
    char *text = ck_slurp(ck_data("src-00085.txt"), &n);
    /* the caller's buffer: copied, so it may change as soon as the call returns */
    char *buf = malloc(n);
    memcpy(buf, text, n);
    uint32_t id = 99;
    CHECKF(ty_index_add_doc(ix, "mem/1", buf, n, "unit test", &o, &id) == TY_OK, "%s",
           ty_index_errmsg(ix));
    memset(buf, 'x', n);
    free(buf);
    CHECK_EQ_UINT(id, 3);
    CHECK_EQ_STR(ty_index_warning(ix), "");
    uint32_t back = 0;
    CHECK_EQ_INT(ty_index_find(ix, "mem/1", &back), TY_OK);
    CHECK_EQ_UINT(back, 3);
    char name[64], file[64];
    uint64_t line = 7;
    CHECK_EQ_INT(ty_index_doc_info(ix, 3, name, sizeof name, file, sizeof file, &line), TY_OK);
    CHECK_EQ_STR(name, "mem/1");
    CHECK_EQ_STR(file, "unit test");
    CHECK_EQ_UINT(line, 0);
    ty_doc_t *d = ty_doc_new();
    CHECK_EQ_INT(ty_index_get_doc(ix, 3, d, &o), TY_OK);
    size_t tl;
    const char *t = ty_doc_text(d, &tl);
    CHECK_EQ_MEM(t, tl, text, n);
    /* a search finds it as a source */
    ty_searcher_t *s = ty_searcher_new(ix, &o, NULL);
    const ty_source_t *src;
    size_t ns = 0;
    CHECK_EQ_INT(ty_searcher_check(s, d, &src, &ns), TY_OK);
    CHECK(ns >= 1 && src[0].id == 3);
    ty_searcher_free(s);
    /* a taken name, bad text: errors naming the document, nothing stored */
    CHECK_EQ_INT(ty_index_add_doc(ix, "mem/1", "other text", 10, NULL, &o, NULL), TY_EEXIST);
    CHECK_CONTAINS(ty_index_errmsg(ix), "mem/1");
    CHECK_EQ_INT(ty_index_add_doc(ix, "mem/bad", "ab\xff", 3, NULL, &o, NULL), TY_EUTF8);
    CHECK_CONTAINS(ty_index_errmsg(ix), "mem/bad");
    CHECK_EQ_INT(ty_index_add_doc(ix, "mem/nul", "a\0b", 3, NULL, &o, NULL), TY_EBINARY);
    CHECK_EQ_INT(ty_index_find(ix, "mem/bad", &back), TY_ENOTFOUND);
    CHECK_EQ_INT(ty_index_add_doc(ix, "mem/empty", NULL, 0, NULL, &o, &id), TY_OK);
    CHECK_EQ_UINT(id, 4);
    CHECK_EQ_INT(ty_index_doc_info(ix, 4, NULL, 0, file, sizeof file, NULL), TY_OK);
    CHECK_EQ_STR(file, "");
    /* the threaded loop on the same handle goes on after them */
    events_t ev;
    memset(&ev, 0, sizeof ev);
    CHECK_EQ_INT(add_paths(ix, src_paths(5, 7), 2, 2, 1, &ev), TY_OK);
    ty_index_stats_t st;
    CHECK_EQ_INT(ty_index_stats(ix, &st), TY_OK);
    CHECK_EQ_UINT(st.docs, 7);
    CHECK_EQ_INT(ty_index_verify(ix), TY_OK);
    ty_index_free(ix);
    /* committed: there after reopening; a read-only handle adds nothing */
    ix = ck_index_open(ip, TY_INDEX_READ);
    CHECK_EQ_INT(ty_index_find(ix, "mem/1", &back), TY_OK);
    CHECK_EQ_INT(ty_index_add_doc(ix, "mem/2", "text", 4, NULL, &o, NULL), TY_EREADONLY);
    CHECK_CONTAINS(ty_index_errmsg(ix), "read-only");
    CHECK_EQ_INT(ty_index_verify(ix), TY_OK);
    ty_index_free(ix);
    /* a new index of documents from memory */
    const char *np = path_of("mem.idx");
    ix = ty_index_new();
    CHECK_EQ_INT(ty_index_open(ix, np, TY_INDEX_CREATE, NULL), TY_OK);
    CHECK_EQ_INT(ty_index_add_doc(ix, "a", text, n, "x", &o, &id), TY_OK);
    CHECK_EQ_INT(ty_index_add_doc(ix, "b", text, n / 2, "x", &o, &id), TY_OK);
    CHECK_EQ_INT(ty_index_add_doc(ix, "a", text, n, "x", &o, NULL), TY_EEXIST);
    CHECK_EQ_UINT(id, 1);
    CHECK_EQ_INT(ty_index_finish(ix), TY_OK);
    CHECK_EQ_INT(ty_index_stats(ix, &st), TY_OK);
    CHECK_EQ_UINT(st.docs, 2);
    CHECK_EQ_INT(ty_index_verify(ix), TY_OK);
    ty_index_free(ix);
    ty_doc_free(d);
    free(text);
}

/* ---- replacing an index: never under a writer, never a file that is not an index ---------- */

static void test_build_never_replaces_under_a_writer(void)
{
    const char *ip = path_of("held.idx");
    if (build(ip, 2, 1))
        return;
    ty_opts_t o;
    ty_opts_init(&o);
    ty_index_t *w = ck_index_open(ip, TY_INDEX_WRITE);
    char msg[TY_ERRMSG_SIZE];
    CHECK_EQ_INT(open_rc(ip, TY_INDEX_CREATE, NULL, msg, sizeof msg), TY_EBUSY);
    CHECK_CONTAINS(msg, "held.idx: open for writing");
    ty_index_free(w);
    /* a build that began before the writer opened: refused at the rename, the writer's
     * document kept, nothing of the build left */
    ty_index_t *b = ty_index_new();
    CHECK_EQ_INT(ty_index_open(b, ip, TY_INDEX_CREATE, NULL), TY_OK);
    events_t ev;
    memset(&ev, 0, sizeof ev);
    CHECK_EQ_INT(add_paths(b, src_paths(4, 6), 2, 1, 0, &ev), TY_OK);
    w = ck_index_open(ip, TY_INDEX_WRITE);
    CHECK_EQ_INT(ty_index_finish(b), TY_EBUSY);
    CHECK_CONTAINS(ty_index_errmsg(b), "open for writing");
    ty_index_free(b);
    CHECK_EQ_INT(ty_index_add_doc(w, "acknowledged", "青石岭小学的孩子们在新建的图书馆里读书。", 60,
                                  NULL, &o, NULL),
                 TY_OK);
    ty_index_free(w);
    w = ck_index_open(ip, TY_INDEX_READ);
    uint32_t id;
    CHECK_EQ_INT(ty_index_find(w, "acknowledged", &id), TY_OK);
    ty_index_free(w);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "! ls '%s' | grep -q 'held.idx.tmp'", tmpdir);
    CHECKF(system(cmd) == 0, "a temporary file of the refused build is left");
    /* the writer gone, the build replaces the index */
    CHECK_EQ_INT(build(ip, 1, 1), TY_OK);
}

static void test_build_replaces_only_an_index(void)
{
    char msg[TY_ERRMSG_SIZE];
    const char *txt = path_of("mine.txt");
    copy_file(ck_data("src-00387.txt"), txt, -1);
    refused_untouched("a text file", txt, TY_INDEX_CREATE, TY_INDEX_CREATE, TY_EEXIST,
                      "mine.txt: exists and is not a tongyuan index", NULL);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "! ls '%s' | grep -q 'mine.txt.tmp'", tmpdir);
    CHECKF(system(cmd) == 0, "a temporary file is left");
    /* an LMDB environment that is not ours */
    const char *other = path_of("other2.mdb");
    make_foreign_lmdb(other);
    CHECK_EQ_INT(open_rc(other, TY_INDEX_CREATE, NULL, msg, sizeof msg), TY_EEXIST);
    /* an empty file (mktemp's), an index, a damaged index: replaced */
    const char *empty = path_of("empty2.idx");
    fclose(fopen(empty, "w"));
    CHECK_EQ_INT(build(empty, 1, 1), TY_OK);
    CHECK_EQ_INT(build(empty, 2, 1), TY_OK);
    FILE *f = fopen(empty, "r+b");
    fseek(f, 4096 + 40, SEEK_SET);
    fwrite("garbage garbage garbage garbage garbage garbage", 1, 48, f);
    fclose(f);
    CHECK_EQ_INT(open_rc(empty, TY_INDEX_READ, NULL, msg, sizeof msg), TY_ECORRUPT);
    CHECK_EQ_INT(build(empty, 1, 1), TY_OK);
    CHECK_EQ_INT(open_rc(empty, TY_INDEX_READ, NULL, msg, sizeof msg), TY_OK);
}

/* A damaged LMDB meta page: TY_ECORRUPT saying so, from every mode, the file not touched
 * (before: LMDB mapped the petabytes a garbage meta page asks for, "Cannot allocate memory") */
static void test_damaged_meta_page(void)
{
    const char *good = path_of("meta.idx");
    if (build(good, 2, 1))
        return;
    static const struct {
        long off;
        int len;
        const char *say;
    } hurt[] = {
        {4096 + 40, 96, "meta page 1"}, /* page 1's page size and tables */
        {4096 + 136, 8, "meta page 1"}, /* its last page */
        {0, 4096, "meta page 0"},       /* page 0 whole */
        {4096, 4096, "meta page 1"},    /* page 1 whole */
    };
    char msg[TY_ERRMSG_SIZE];
    srand(7);
    for (size_t i = 0; i < sizeof hurt / sizeof hurt[0]; i++) {
        const char *bad = path_of("hurt.idx");
        char lock[600];
        snprintf(lock, sizeof lock, "%s-lock", bad);
        unlink(lock);
        copy_file(good, bad, -1);
        FILE *f = fopen(bad, "r+b");
        fseek(f, hurt[i].off, SEEK_SET);
        for (int b = 0; b < hurt[i].len; b++)
            fputc(rand() & 0xff, f);
        fclose(f);
        char what[32];
        snprintf(what, sizeof what, "damage %zu", i);
        refused_untouched(what, bad, TY_INDEX_READ, TY_INDEX_WRITE, TY_ECORRUPT,
                          "hurt.idx: damaged: LMDB", hurt[i].say);
    }
    /* the fixture of tests/corrupt/ (tests/cli.sh and index.sh use it too) */
    int rc = open_rc("tests/corrupt/damaged-meta.idx", TY_INDEX_READ, NULL, msg, sizeof msg);
    CHECKF(rc == TY_ECORRUPT && strstr(msg, "damaged: LMDB meta page 1"), "fixture: %d %s", rc,
           msg);
}

/* ---- codecs --------------------------------------------------------------------------------- */

static void test_codecs(void)
{
    uint8_t b[16];
    const uint64_t vals[] = {0, 1, 127, 128, 16383, 16384, UINT32_MAX, UINT64_MAX};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        size_t n = ty__put_varint(b, vals[i]);
        const uint8_t *p = b;
        uint64_t v = 0;
        CHECK_EQ_INT(ty__get_varint(&p, b + n, &v), 0);
        CHECK_EQ_UINT(v, vals[i]);
        CHECK(p == b + n);
        p = b;
        if (n > 1)
            CHECK_EQ_INT(ty__get_varint(&p, b + n - 1, &v), -1); /* cut short */
    }
    for (uint64_t c = 1; c < 100000000; c = c * 3 + 1) {
        int k = ty__hist_bucket(c);
        CHECK(ty__hist_low(k) <= c);
        CHECK(k == TY_HIST_BUCKETS - 1 || ty__hist_low(k + 1) > c);
    }
    /* a bucket of three minimizers, then every truncation of it is refused */
    uint8_t val[256];
    uint8_t dir[64], ids[64];
    size_t dn = 0, in = 0;
    const uint64_t suf[3] = {5, 9, 300};
    const uint32_t docs[3][2] = {{1, 0}, {2, 7}, {3, 0}};
    const int cnt[3] = {1, 2, 1};
    for (int i = 0; i < 3; i++) {
        size_t before = in;
        in += ty__put_varint(ids + in, docs[i][0]);
        if (cnt[i] == 2)
            in += ty__put_varint(ids + in, docs[i][1] - docs[i][0]);
        dn += ty__put_varint(dir + dn, i ? suf[i] - suf[i - 1] : suf[i]);
        dn += ty__put_varint(dir + dn, (uint64_t)cnt[i]);
        dn += ty__put_varint(dir + dn, in - before);
    }
    if (dn > 32 || in > 32) /* (bounds the copies below for the compiler) */
        return;
    size_t vn = ty__put_varint(val, 3);
    vn += ty__put_varint(val + vn, dn);
    memcpy(val + vn, dir, dn);
    vn += dn;
    memcpy(val + vn, ids, in);
    vn += in;
    bucket_iter_t bi;
    CHECK_EQ_INT(ty__bucket_begin(&bi, val, vn, 3, 30), TY_OK);
    uint64_t key, c;
    const uint8_t *ip;
    size_t il;
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(ty__bucket_next(&bi, &key, &c, &ip, &il), 1);
        CHECK_EQ_HEX(key, ((uint64_t)3 << 10) | suf[i]);
        CHECK_EQ_UINT(c, (uint64_t)cnt[i]);
        post_iter_t it;
        uint32_t id;
        CHECK_EQ_INT(ty__post_begin(&it, ip, il, c), TY_OK);
        CHECK_EQ_INT(ty__post_next(&it, &id), 1);
        CHECK_EQ_UINT(id, docs[i][0]);
    }
    CHECK_EQ_INT(ty__bucket_next(&bi, &key, &c, &ip, &il), 0);
    for (size_t cut = 0; cut < vn; cut++) {
        int bad = ty__bucket_begin(&bi, val, cut, 3, 30) != TY_OK;
        while (!bad) {
            int r = ty__bucket_next(&bi, &key, &c, &ip, &il);
            if (r == 0)
                break;
            bad = r < 0;
        }
        CHECKF(bad, "a bucket cut to %zu of %zu bytes was accepted", cut, vn);
    }
    CHECK_EQ_INT(ty__bucket_begin(&bi, val, vn, 1u << 30, 30), TY_ECORRUPT); /* bucket too big */
    CHECK_EQ_INT(ty__bucket_begin(&bi, val, vn, 3, 33), TY_ECORRUPT);
}

int main(void)
{
    static const ck_test_t tests[] = {CK_TEST(test_build_reopen_stats),
                                      CK_TEST(test_check_finds_the_sources),
                                      CK_TEST(test_max_sources_and_ranking),
                                      CK_TEST(test_near_duplicate_versions),
                                      CK_TEST(test_deleted_documents_are_not_sources),
                                      CK_TEST(test_searchers_in_threads),
                                      CK_TEST(test_add_in_transactions),
                                      CK_TEST(test_threads_do_not_change_the_index),
                                      CK_TEST(test_bad_records),
                                      CK_TEST(test_abandoned_build_leaves_nothing),
                                      CK_TEST(test_empty_and_tiny_documents),
                                      CK_TEST(test_bad_index_files),
                                      CK_TEST(test_add_one_document),
                                      CK_TEST(test_build_never_replaces_under_a_writer),
                                      CK_TEST(test_build_replaces_only_an_index),
                                      CK_TEST(test_damaged_meta_page),
                                      CK_TEST(test_codecs)};
    return ck_main("test_index", tests, CK_COUNT(tests), tmpdir, sizeof tmpdir, "ty_index");
}
