/*
 * test_shard.c — sharded indexes (index_shard.c, search.c): shards of consecutive runs of the
 * input plus a MANIFEST, opened as one index, give the results of one index of the same
 * input (candidates, shared counts, sources, passages) with the default cut and with cuts
 * that bite (max_df, max_df_frac); the merged histogram equals the unsharded index's and
 * does not depend on how the key space is split; ids, names, stats, tombstones per shard;
 * read-only; duplicate names; every damaged layout refused with the path in the message.
 */
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "index_fixture.h"
#include "index_impl.h"
#include "tongyuan.h"

static char tmpdir[256];

static const char *const FILES[] = {
    "README.md",     "hay-00031.txt", "hay-00207.txt",     "src-00001.t2s.txt", "src-00001.txt",
    "src-00085.txt", "src-00109.txt", "src-00255.txt",     "src-00387.txt",     "src-00393.txt",
    "src-00456.txt", "src-00596.txt", "src-00596.s2t.txt", "sus-00017.txt",     "sus-00068.txt",
    "sus-00097.txt", "sus-00158.txt", "sus-00180.txt",     "sus-00243.txt"};
#define NFILES (sizeof FILES / sizeof FILES[0])
static const size_t CUTS[] = {0, 7, 13, NFILES}; /* three shards */
#define NSHARDS 3

static const char *path_of(const char *name) { return ck_path(tmpdir, name); }

/* Build path (TY_INDEX_CREATE) from FILES[from..to). */
static int build(const char *path, size_t from, size_t to)
{
    ty_index_t *ix = ty_index_new();
    ty_reader_t *r = ty_reader_new(NULL);
    int rc = ty_index_open(ix, path, TY_INDEX_CREATE, NULL);
    CHECKF(rc == TY_OK, "create %s: %s", path, ty_index_errmsg(ix));
    for (size_t i = from; !rc && i < to; i++)
        rc = ty_reader_add(r, ck_data(FILES[i]));
    ty_opts_t o;
    ty_opts_init(&o);
    if (!rc)
        rc = ty_index_add_docs(ix, r, &o, NULL);
    if (!rc)
        rc = ty_index_finish(ix);
    CHECKF(rc == TY_OK, "build %s: %s", path, ty_index_errmsg(ix));
    ty_reader_free(r);
    ty_index_free(ix);
    return rc;
}

/* dir/shard-000i from the runs of CUTS; the histogram in `parts` parts; the MANIFEST. */
static int build_sharded(const char *dir, uint32_t parts)
{
    mkdir(dir, 0777);
    char p[600];
    for (size_t i = 0; i < NSHARDS; i++) {
        snprintf(p, sizeof p, "%s/shard-%04zu", dir, i);
        if (build(p, CUTS[i], CUTS[i + 1]))
            return -1;
    }
    uint64_t hist[TY_INDEX_DF_BUCKETS], h[TY_INDEX_DF_BUCKETS];
    memset(hist, 0, sizeof hist);
    ty_index_shards_t *sh = ty_index_shards_new(dir, NSHARDS);
    CHECK(sh != NULL);
    int rc = ty_index_shards_dup_names(sh, 0, 1, NULL, NULL);
    CHECKF(rc == TY_OK, "names: %s", ty_index_shards_errmsg(sh));
    for (uint32_t part = 0; !rc && part < parts; part++) {
        rc = ty_index_shards_df_hist(sh, part, parts, h);
        CHECKF(rc == TY_OK, "hist: %s", ty_index_shards_errmsg(sh));
        for (int b = 0; b < TY_INDEX_DF_BUCKETS; b++)
            hist[b] += h[b];
    }
    if (!rc)
        rc = ty_index_shards_commit(sh, hist);
    CHECKF(rc == TY_OK, "commit: %s", ty_index_shards_errmsg(sh));
    ty_index_shards_free(sh);
    return rc;
}

/* Everything a query gives, as text: candidates (id, shared) and sources with passages and
 * other holders (id, shared, covered; how many in all). */
static void query(ty_index_t *ix, const ty_query_opts_t *qo, const char *file, char *out,
                  size_t size)
{
    ty_opts_t o;
    ty_opts_init(&o);
    ty_searcher_t *s = ty_searcher_new(ix, &o, qo);
    ty_doc_t *q = ty_doc_new();
    size_t off = 0;
    out[0] = 0;
    CHECK(s && q);
    if (!s || !q || ty_doc_load_file(q, ck_data(file), &o) != TY_OK)
        goto done;
    uint32_t ids[200], shared[200];
    size_t n = 0;
    CHECKF(ty_searcher_candidates(s, q, ids, shared, 200, &n) == TY_OK, "%s",
           ty_searcher_errmsg(s));
    for (size_t i = 0; i < n && off + 40 < size; i++)
        off += (size_t)snprintf(out + off, size - off, "c%u:%u ", ids[i], shared[i]);
    const ty_source_t *src;
    CHECKF(ty_searcher_check(s, q, &src, &n) == TY_OK, "%s", ty_searcher_errmsg(s));
    for (size_t i = 0; i < n && off + 200 < size; i++) {
        off += (size_t)snprintf(out + off, size - off, "| %u %s %u %zu:", src[i].id,
                                ty_doc_name(src[i].doc), src[i].shared, src[i].covered);
        for (size_t j = 0; j < src[i].npassages && off + 100 < size; j++) {
            const ty_passage_t *p = &src[i].passages[j];
            off += (size_t)snprintf(out + off, size - off, " %zu+%zu/%zu+%zu@%.4f", p->src_off,
                                    p->src_len, p->sus_off, p->sus_len, p->score);
        }
        off += (size_t)snprintf(out + off, size - off, " also %zu:", src[i].also_total);
        for (size_t j = 0; j < src[i].nalso && off + 100 < size; j++)
            off += (size_t)snprintf(out + off, size - off, " %u %s %u %zu", src[i].also[j].id,
                                    src[i].also[j].name, src[i].also[j].shared,
                                    src[i].also[j].covered);
    }
done:
    ty_doc_free(q);
    ty_searcher_free(s);
}

static void same_results_n(ty_index_t *one, ty_index_t *sh, const ty_query_opts_t *qo,
                           const char *what, int min_nonempty)
{
    static char a[16384], b[16384];
    int nonempty = 0, holders = 0;
    for (size_t i = 0; i < NFILES; i++) {
        query(one, qo, FILES[i], a, sizeof a);
        query(sh, qo, FILES[i], b, sizeof b);
        CHECKF(strcmp(a, b) == 0, "%s, query %s:\n  one:     %.300s\n  sharded: %.300s", what,
               FILES[i], a, b);
        nonempty += strchr(a, '|') != NULL;
        /* the indexed copies (src-00001 and its t2s, the sus documents and their sources)
         * are other holders of each other's text */
        for (const char *p = a; (p = strstr(p, " also ")) != NULL; p += 6)
            holders += p[6] != '0';
    }
    CHECKF(nonempty >= min_nonempty, "%s: only %d queries found sources", what, nonempty);
    CHECKF(holders >= (min_nonempty ? 2 : 0), "%s: only %d sources with other holders", what,
           holders);
}
#define same_results(a, b, q, w) same_results_n(a, b, q, w, 10)

static void test_same_results_as_one_index(void)
{
    const char *one_p = path_of("one.idx"), *dir = path_of("sh");
    if (build(one_p, 0, NFILES) || build_sharded(dir, 1))
        return;
    ty_index_t *one = ck_index_open(one_p, TY_INDEX_READ), *sh = ck_index_open(dir, TY_INDEX_READ);
    if (!one || !sh)
        goto out;
    ty_query_opts_t qo;
    ty_query_opts_init(&qo);
    same_results(one, sh, &qo, "defaults");
    qo.min_shared = 1;
    same_results(one, sh, &qo, "min_shared 1");
    ty_query_opts_init(&qo);
    qo.min_df_cut = 1;
    qo.max_df = 2; /* minimizers in 3 documents or more are cut: most shared ones span shards */
    same_results(one, sh, &qo, "max_df 2");
    ty_query_opts_init(&qo);
    qo.min_df_cut = 1;
    qo.max_df_frac = 0.01; /* the percentile cut, from the merged histogram */
    same_results(one, sh, &qo, "max_df_frac 0.01");
    qo.max_candidates = 2;
    qo.max_sources = 1;
    same_results(one, sh, &qo, "2 candidates, 1 source");
    /* the manifest's histogram is the one index's segment histogram */
    MDB_txn *txn;
    seginfo_t *sg = NULL;
    size_t ns = 0;
    char err[TY_ERRMSG_SIZE];
    CHECK(mdb_txn_begin(one->part[0].env, NULL, MDB_RDONLY, &txn) == 0);
    CHECK(ty__read_segs(&one->part[0], txn, &sg, &ns, err) == TY_OK);
    mdb_txn_abort(txn);
    CHECK_EQ_INT((int)ns, 1);
    if (ns == 1)
        CHECK(memcmp(sg[0].rec.hist, sh->shards->hist, sizeof sg[0].rec.hist) == 0);
    free(sg);
    /* ids, names, stats */
    ty_index_stats_t s1, s2;
    CHECK(ty_index_stats(one, &s1) == TY_OK && ty_index_stats(sh, &s2) == TY_OK);
    CHECK_EQ_UINT(s1.docs, s2.docs);
    CHECK_EQ_UINT(s1.postings, s2.postings);
    CHECK_EQ_UINT(s1.bytes, s2.bytes);
    CHECK_EQ_UINT(s2.segments, NSHARDS);
    for (uint32_t id = 0; id < s1.docs; id++) {
        char n1[512], n2[512];
        uint32_t back = 9999;
        CHECK(ty_index_doc_info(one, id, n1, sizeof n1, NULL, 0, NULL) == TY_OK);
        CHECK(ty_index_doc_info(sh, id, n2, sizeof n2, NULL, 0, NULL) == TY_OK);
        CHECK_EQ_STR(n1, n2);
        CHECK(ty_index_find(sh, n2, &back) == TY_OK);
        CHECK_EQ_UINT(back, id);
    }
    CHECK_EQ_INT(ty_index_doc_info(sh, (uint32_t)s1.docs, NULL, 0, NULL, 0, NULL), TY_ENOTFOUND);
    CHECK_EQ_INT(ty_index_find(sh, "no such name", &(uint32_t){0}), TY_ENOTFOUND);
    ty_opts_t o;
    ty_opts_init(&o);
    ty_doc_t *d = ty_doc_new();
    CHECK(ty_index_get_doc(sh, 15, d, &o) == TY_OK);
    CHECK_EQ_STR(ty_doc_name(d), ck_data(FILES[15]));
    ty_doc_free(d);
    CHECKF(ty_index_verify(sh) == TY_OK, "verify: %s", ty_index_errmsg(sh));
    /* the histogram does not depend on how the key space is split */
    const char *dir4 = path_of("sh4parts");
    if (build_sharded(dir4, 4) == 0) {
        ty_index_t *s4 = ck_index_open(dir4, TY_INDEX_READ);
        if (s4)
            CHECK(memcmp(s4->shards->hist, sh->shards->hist, sizeof sh->shards->hist) == 0);
        ty_index_free(s4);
    }
out:
    ty_index_free(one);
    ty_index_free(sh);
}

static void test_tombstones_and_read_only(void)
{
    const char *dir = path_of("tomb");
    if (build_sharded(dir, 2))
        return;
    /* delete in a shard, opened as the ordinary index it is */
    char p[600];
    snprintf(p, sizeof p, "%s/shard-0001", dir);
    ty_index_t *w = ty_index_new();
    CHECK(ty_index_open(w, p, TY_INDEX_WRITE, NULL) == TY_OK);
    uint32_t local = 0;
    CHECKF(ty_index_delete(w, ck_data("src-00387.txt"), &local) == TY_OK, "%s", ty_index_errmsg(w));
    ty_index_free(w);
    ty_index_t *sh = ck_index_open(dir, TY_INDEX_READ);
    if (!sh)
        return;
    uint32_t id = 0;
    CHECK(ty_index_find(sh, ck_data("src-00387.txt"), &id) == TY_OK);
    CHECK_EQ_UINT(id, CUTS[1] + local);
    CHECK_EQ_INT(ty_index_is_deleted(sh, id), 1);
    CHECK_EQ_INT(ty_index_is_deleted(sh, 0), 0);
    uint64_t nd = 0;
    CHECK(ty_index_deleted_count(sh, &nd) == TY_OK);
    CHECK_EQ_UINT(nd, 1);
    ty_opts_t o;
    ty_opts_init(&o);
    ty_doc_t *d = ty_doc_new();
    CHECK_EQ_INT(ty_index_get_doc(sh, id, d, &o), TY_ENOTFOUND);
    /* not a source any more: src-00387 is sus-00243's source */
    char out[16384];
    ty_query_opts_t qo;
    ty_query_opts_init(&qo);
    query(sh, &qo, "src-00387.txt", out, sizeof out);
    CHECK(strstr(out, "src-00387.txt") == NULL);
    /* read-only */
    ty_reader_t *r = ty_reader_new(NULL);
    CHECK_EQ_INT(ty_index_add_docs(sh, r, &o, NULL), TY_EREADONLY);
    CHECK_CONTAINS(ty_index_errmsg(sh), "read-only");
    CHECK_EQ_INT(ty_index_delete(sh, ck_data("src-00085.txt"), NULL), TY_EREADONLY);
    CHECK_EQ_INT(ty_index_compact(sh), TY_EREADONLY);
    ty_reader_free(r);
    ty_doc_free(d);
    ty_index_free(sh);
    ty_index_t *x = ty_index_new();
    CHECK_EQ_INT(ty_index_open(x, dir, TY_INDEX_WRITE, NULL), TY_EREADONLY);
    CHECK_CONTAINS(ty_index_errmsg(x), "read-only");
    ty_index_free(x);
}

typedef struct {
    int n;
    uint32_t shard;
    char name[512];
} dups_t;

static int on_dup(void *user, uint32_t shard, const char *name)
{
    dups_t *d = user;
    d->n++;
    d->shard = shard;
    snprintf(d->name, sizeof d->name, "%s", name);
    return 0;
}

static void test_duplicate_names(void)
{
    const char *dir = path_of("dup"), *one = path_of("dup.idx");
    mkdir(dir, 0777);
    char p[600];
    snprintf(p, sizeof p, "%s/shard-0000", dir);
    build(p, 0, 5);
    snprintf(p, sizeof p, "%s/shard-0001", dir);
    build(p, 4, 8); /* FILES[4] in both */
    ty_index_shards_t *ix = ty_index_shards_new(dir, 2);
    CHECK_EQ_INT(ty_index_shards_dup_names(ix, 0, 1, NULL, NULL), TY_EINVAL);
    CHECK_CONTAINS(ty_index_shards_errmsg(ix), "src-00001.txt' is in shard-0000 and shard-0001");
    /* a shard set of no shards is refused with a message */
    ty_index_shards_t *none = ty_index_shards_new(dir, 0);
    uint64_t hz[TY_INDEX_DF_BUCKETS];
    CHECK_EQ_INT(ty_index_shards_df_hist(none, 0, 1, hz), TY_EINVAL);
    CHECK_CONTAINS(ty_index_shards_errmsg(none), "0 shards");
    ty_index_shards_free(none);
    /* every part finds it in its own part only; together they find it */
    int found = 0;
    for (uint32_t part = 0; part < 5; part++)
        found += ty_index_shards_dup_names(ix, part, 5, NULL, NULL) != TY_OK;
    CHECK_EQ_INT(found, 1);
    dups_t d;
    memset(&d, 0, sizeof d);
    CHECK_EQ_INT(ty_index_shards_dup_names(ix, 0, 1, on_dup, &d), TY_OK);
    CHECK_EQ_INT(d.n, 1);
    CHECK_EQ_UINT(d.shard, 1);
    CHECK_EQ_STR(d.name, ck_data(FILES[4]));
    /* a manifest written over such shards: verify names the document */
    uint64_t h0[TY_INDEX_DF_BUCKETS];
    CHECK(ty_index_shards_df_hist(ix, 0, 1, h0) == TY_OK);
    CHECK(ty_index_shards_commit(ix, h0) == TY_OK);
    ty_index_t *v = ck_index_open(dir, TY_INDEX_READ);
    if (v) {
        CHECK_EQ_INT(ty_index_verify(v), TY_EINVAL);
        CHECK_CONTAINS(ty_index_errmsg(v), "src-00001.txt' is in shard-0000 and shard-0001");
    }
    ty_index_free(v);
    /* shard 1 built again skipping that name: one index of FILES[0..5) + FILES[4..8), the
     * second FILES[4] skipped, is that of FILES[0..8) */
    ty_index_t *w = ty_index_new();
    ty_reader_t *r = ty_reader_new(NULL);
    const char *skip[] = {d.name};
    int rc = ty_index_open(w, p, TY_INDEX_CREATE, NULL);
    CHECK_EQ_INT(ty_index_skip_names(w, skip, 1), TY_OK);
    for (size_t i = 4; !rc && i < 8; i++)
        rc = ty_reader_add(r, ck_data(FILES[i]));
    ty_opts_t o;
    ty_opts_init(&o);
    CHECK(!rc && ty_index_add_docs(w, r, &o, NULL) == TY_OK && ty_index_finish(w) == TY_OK);
    ty_reader_free(r);
    ty_index_free(w);
    CHECK_EQ_INT(ty_index_shards_dup_names(ix, 0, 1, NULL, NULL), TY_OK);
    uint64_t h[TY_INDEX_DF_BUCKETS];
    CHECK(ty_index_shards_df_hist(ix, 0, 1, h) == TY_OK);
    CHECK(ty_index_shards_commit(ix, h) == TY_OK);
    ty_index_shards_free(ix);
    if (build(one, 0, 8) == 0) {
        ty_index_t *a = ck_index_open(one, TY_INDEX_READ), *b = ck_index_open(dir, TY_INDEX_READ);
        ty_index_stats_t sa, sb;
        CHECK(a && b && ty_index_stats(a, &sa) == TY_OK && ty_index_stats(b, &sb) == TY_OK);
        CHECK_EQ_UINT(sa.docs, 8);
        CHECK_EQ_UINT(sb.docs, 8);
        if (a && b) {
            ty_query_opts_t qo;
            ty_query_opts_init(&qo);
            same_results_n(a, b, &qo, "names skipped", 3);
        }
        ty_index_free(a);
        ty_index_free(b);
    }
    /* only a new index takes names to skip */
    ty_index_t *x = ck_index_open(one, TY_INDEX_READ);
    CHECK_EQ_INT(ty_index_skip_names(x, skip, 1), TY_EINVAL);
    ty_index_free(x);
}

static int open_err(const char *path, char *msg, size_t size)
{
    ty_index_t *ix = ty_index_new();
    int rc = ty_index_open(ix, path, TY_INDEX_READ, NULL);
    snprintf(msg, size, "%s", ty_index_errmsg(ix));
    ty_index_free(ix);
    return rc;
}

static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void test_damaged_layouts(void)
{
    const char *dir = path_of("dmg");
    if (build_sharded(dir, 1))
        return;
    char mp[600], keep[600], msg[TY_ERRMSG_SIZE];
    snprintf(mp, sizeof mp, "%s/MANIFEST", dir);
    size_t n;
    char *good = ck_slurp(mp, &n);
    CHECK(good != NULL);
    if (!good)
        return;
    snprintf(keep, sizeof keep, "%s", good);
    CHECK_EQ_INT(open_err(dir, msg, sizeof msg), TY_OK);
    unlink(mp);
    CHECK_EQ_INT(open_err(dir, msg, sizeof msg), TY_ECORRUPT);
    CHECK_CONTAINS(msg, "without a MANIFEST");
    CHECK_CONTAINS(msg, dir);
    put(mp, "");
    CHECK_EQ_INT(open_err(dir, msg, sizeof msg), TY_ECORRUPT);
    put(mp, "tongyuan-shards 2\n");
    CHECK_EQ_INT(open_err(dir, msg, sizeof msg), TY_EVERSION);
    /* every truncation of the manifest is refused */
    for (size_t cut = 0; cut + 1 < n; cut += 7) {
        char t[4096];
        snprintf(t, sizeof t, "%.*s", (int)cut, keep);
        put(mp, t);
        CHECKF(open_err(dir, msg, sizeof msg) != TY_OK, "manifest cut at %zu accepted", cut);
    }
    /* a manifest claiming other counts */
    char *bad = strdup(keep), *q = strstr(bad, " docs ");
    if (q && (q = strstr(q + 1, " docs ")) != NULL) /* the first shard line's count */
        q[6] = q[6] == '9' ? '8' : '9';
    put(mp, bad);
    CHECK(open_err(dir, msg, sizeof msg) != TY_OK);
    free(bad);
    /* shards: missing, foreign */
    put(mp, keep);
    char sp[600], sv[600];
    snprintf(sp, sizeof sp, "%s/shard-0002", dir);
    snprintf(sv, sizeof sv, "%s/saved", dir);
    CHECK(rename(sp, sv) == 0);
    CHECK(open_err(dir, msg, sizeof msg) != TY_OK);
    CHECK_CONTAINS(msg, "shard-0002");
    put(sp, "not an index at all, but long enough to be looked at.");
    CHECK_EQ_INT(open_err(dir, msg, sizeof msg), TY_ECORRUPT);
    CHECK_CONTAINS(msg, "shard-0002");
    CHECK(rename(sv, sp) == 0);
    CHECK_EQ_INT(open_err(dir, msg, sizeof msg), TY_OK);
    free(good);
}

int main(void)
{
    static const ck_test_t tests[] = {CK_TEST(test_same_results_as_one_index),
                                      CK_TEST(test_tombstones_and_read_only),
                                      CK_TEST(test_duplicate_names), CK_TEST(test_damaged_layouts)};
    return ck_main("test_shard", tests, CK_COUNT(tests), tmpdir, sizeof tmpdir, "ty_shard");
}
