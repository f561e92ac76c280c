/*
 * index_verify.c — `tongyuan index verify`: read one index file whole and check every
 * structure against the others — the counters against the records, each document's
 * record, text (decompressed to its recorded size) and name entry, each posting bucket
 * (order, ids in range, each segment's totals and histogram) — naming the first problem.
 * Slow on purpose: it reads everything.
 */
#include <string.h>

#include "index_impl.h"

int ty__part_verify(ty_part_t *pt, char *err)
{
    part_view_t pv;
    int rc = ty__part_view_open(pt, &pv, err);
    if (rc)
        return rc;
    MDB_txn *txn = pv.txn;
    const index_counts_t c = pv.c;
    const seginfo_t *sg = pv.seg;
    size_t ns = pv.nseg;
    MDB_cursor *cur = NULL;
    ZSTD_DCtx *dc = ZSTD_createDCtx();
    ty_doc_t *d = ty_doc_new();
    ty_opts_t o;
    ty_opts_init(&o);
    o.utf8_mode = TY_UTF8_REPLACE;
    o.max_doc_bytes = UINT32_MAX;
    char *buf = NULL;
    size_t cap = 0;
    uint64_t ncp = 0, nbytes = 0, nstored = 0;
    if (!dc || !d)
        rc = ty__err(err, TY_ENOMEM, "out of memory");
    /* documents: ids 0..docs-1, each with a record, a text of the recorded size, a name */
    if (!rc) {
        MDB_stat ms;
        if (mdb_stat(txn, pt->docs, &ms) == 0 && ms.ms_entries != c.docs)
            rc = ty__err(err, TY_ECORRUPT, "%s: %zu document records, stats say %llu", pt->path,
                         ms.ms_entries, (unsigned long long)c.docs);
        if (!rc && mdb_stat(txn, pt->text, &ms) == 0 && ms.ms_entries != c.docs)
            rc = ty__err(err, TY_ECORRUPT, "%s: %zu texts, stats say %llu", pt->path, ms.ms_entries,
                         (unsigned long long)c.docs);
        if (!rc && mdb_stat(txn, pt->names, &ms) == 0 && ms.ms_entries != c.docs)
            rc = ty__err(err, TY_ECORRUPT, "%s: %zu names, stats say %llu", pt->path, ms.ms_entries,
                         (unsigned long long)c.docs);
    }
    for (uint64_t id = 0; !rc && id < c.docs; id++) {
        rc = ty__index_load_doc(pt, txn, dc, (uint32_t)id, d, &o, &buf, &cap, err);
        if (rc)
            break;
        ncp += ty_doc_ncodepoints(d);
        size_t tl;
        ty_doc_text(d, &tl);
        nbytes += tl;
        uint8_t kb[16];
        ty__be32(kb, (uint32_t)id);
        MDB_val k = {4, kb}, v;
        if (mdb_get(txn, pt->text, &k, &v) == 0)
            nstored += v.mv_size;
        const char *nm = ty_doc_name(d);
        ty__name_key(nm, strlen(nm), kb);
        MDB_val nk = {16, kb}, nv;
        int e = mdb_get(txn, pt->names, &nk, &nv);
        if (e || nv.mv_size != 4 || ty__rd_le32(nv.mv_data) != id)
            rc = ty__err(err, TY_ECORRUPT, "%s: document %llu: name '%s' not mapped to it",
                         pt->path, (unsigned long long)id, nm);
    }
    if (!rc && (ncp != c.codepoints || nbytes != c.bytes || nstored != c.stored_bytes))
        rc = ty__err(err, TY_ECORRUPT,
                     "%s: texts hold %llu characters, %llu bytes, %llu stored; stats say %llu, "
                     "%llu, %llu",
                     pt->path, (unsigned long long)ncp, (unsigned long long)nbytes,
                     (unsigned long long)nstored, (unsigned long long)c.codepoints,
                     (unsigned long long)c.bytes, (unsigned long long)c.stored_bytes);
    /* postings: each key in a known segment, ids increasing and < docs, sums match */
    uint64_t tot_post = 0, tot_keys = 0;
    if (!rc && (rc = mdb_cursor_open(txn, pt->post, &cur)))
        rc = ty__mdb_err(err, pt->path, rc, "cursor");
    size_t si = 0;
    uint64_t sp = 0, sk = 0;
    uint64_t hist[TY_HIST_BUCKETS];
    memset(hist, 0, sizeof hist);
    int have_last = 0;
    uint32_t last_seg = 0, last_bucket = 0;
    MDB_val k, v;
    int e = rc ? MDB_NOTFOUND : mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    for (; !rc; e = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        uint32_t seg = UINT32_MAX;
        if (e == 0) {
            if (k.mv_size != 8) {
                rc = ty__err(err, TY_ECORRUPT, "%s: posting key of %zu bytes", pt->path, k.mv_size);
                break;
            }
            seg = ty__rd_be32(k.mv_data);
        } else if (e != MDB_NOTFOUND) {
            rc = ty__mdb_err(err, pt->path, e, "reading postings");
            break;
        }
        /* close finished segments */
        while (si < ns && seg > sg[si].id) {
            if (sp != sg[si].rec.postings || sk != sg[si].rec.keys ||
                memcmp(hist, sg[si].rec.hist, sizeof hist) != 0) {
                rc = ty__err(err, TY_ECORRUPT,
                             "%s: segment %u holds %llu postings in %llu keys, its record says "
                             "%llu in %llu",
                             pt->path, sg[si].id, (unsigned long long)sp, (unsigned long long)sk,
                             (unsigned long long)sg[si].rec.postings,
                             (unsigned long long)sg[si].rec.keys);
                break;
            }
            tot_post += sp;
            tot_keys += sk;
            sp = sk = 0;
            memset(hist, 0, sizeof hist);
            si++;
        }
        if (rc || e == MDB_NOTFOUND)
            break;
        if (si >= ns || seg != sg[si].id) {
            rc = ty__err(err, TY_ECORRUPT, "%s: postings of unknown segment %u", pt->path, seg);
            break;
        }
        /* every minimizer of the bucket: in order, ids increasing, in range */
        uint32_t bucket = ty__rd_be32((const uint8_t *)k.mv_data + 4);
        bucket_iter_t bi;
        int pr = ty__bucket_begin(&bi, v.mv_data, v.mv_size, bucket, sg[si].rec.bits);
        if (!pr && have_last && last_seg == seg && bucket <= last_bucket)
            pr = TY_ECORRUPT;
        while (!pr) {
            uint64_t key, cnt;
            const uint8_t *ip;
            size_t il;
            int br = ty__bucket_next(&bi, &key, &cnt, &ip, &il);
            if (br <= 0) {
                pr = br;
                break;
            }
            post_iter_t it;
            uint32_t id;
            if (ty__post_begin(&it, ip, il, cnt)) {
                pr = TY_ECORRUPT;
                break;
            }
            while ((pr = ty__post_next(&it, &id)) == 1)
                if (id >= c.docs || id < sg[si].rec.min_doc || id > sg[si].rec.max_doc) {
                    pr = TY_ECORRUPT;
                    break;
                }
            sp += cnt;
            sk++;
            hist[ty__hist_bucket(cnt)]++;
        }
        if (pr) {
            rc = ty__err(err, TY_ECORRUPT, "%s: segment %u, bucket %u: damaged postings", pt->path,
                         seg, bucket);
            break;
        }
        have_last = 1;
        last_seg = seg;
        last_bucket = bucket;
    }
    if (!rc && si != ns)
        rc = ty__err(err, TY_ECORRUPT, "%s: segment %u has no postings", pt->path, sg[si].id);
    if (!rc && (tot_post != c.postings || tot_keys != c.keys))
        rc = ty__err(err, TY_ECORRUPT, "%s: %llu postings in %llu keys; stats say %llu in %llu",
                     pt->path, (unsigned long long)tot_post, (unsigned long long)tot_keys,
                     (unsigned long long)c.postings, (unsigned long long)c.keys);
    if (cur)
        mdb_cursor_close(cur);
    ty__part_view_close(&pv);
    free(buf);
    ty_doc_free(d);
    ZSTD_freeDCtx(dc);
    return rc;
}
