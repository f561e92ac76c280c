/*
 * test_full.c — adding to an index on a full disk: nothing acknowledged is lost, nothing
 * refused is half there, and a full disk says so.
 *
 * The disk is tests/lib/fullfs.c, included here: it takes the place of write(), pwrite(),
 * writev() and statvfs() in this process, so that the files below a trial's directory may
 * grow by a set number of bytes only (a short write, then ENOSPC, as a real disk gives).
 * Each of TRIALS random trials (a seed each) gives an index a random amount of room, adds
 * documents one at a time (ty_index_add_doc()) and then in transactions of a few
 * (ty_index_add_docs()), sometimes freeing room half-way; then, with room again:
 *  - the index verifies and holds exactly the documents acknowledged (TY_OK from add_doc, a
 *    TY_EVENT_COMMIT covering them from add_docs) — none refused;
 *  - every refusal says "No space left on device" and names the index;
 *  - a merge that failed after a commit was a warning (TY_OK: the document is there), and
 *    across the trials the three outcomes (clean, warning, refusal) each happen.
 */
#include <sys/stat.h>

#include "../lib/fullfs.c"
#include "check.h"
#include "tongyuan.h"

#define TRIALS 24
#define NDOCS 40 /* documents per trial: NDOCS / 2 one at a time, the rest in transactions */

static char tmpdir[256];
static char *docs[NDOCS];
static size_t lens[NDOCS];
static char names[NDOCS][32];

/* Documents of 4,000 random CJK characters (12 KB): about a thousand postings of their own
 * each, so that a commit and the merge after it each need pages of their own — either may
 * find the disk full. */
static int load_docs(void)
{
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (int i = 0; i < NDOCS; i++) {
        size_t n = 0;
        docs[i] = malloc(4000 * 3);
        for (int j = 0; j < 4000; j++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            uint32_t c = 0x4E00 + (uint32_t)(x % 0x5000);
            docs[i][n++] = (char)(0xE0 | c >> 12);
            docs[i][n++] = (char)(0x80 | (c >> 6 & 0x3F));
            docs[i][n++] = (char)(0x80 | (c & 0x3F));
        }
        lens[i] = n;
        snprintf(names[i], sizeof names[i], "doc-%02d", i);
    }
    return 0;
}

typedef struct {
    uint64_t committed; /* documents in the index at the last commit */
    int warnings;
    char warning[512];
} seen_t;

static int on_event(void *user, int ev, const char *msg, const ty_index_progress_t *p)
{
    seen_t *s = user;
    if (ev == TY_EVENT_COMMIT)
        s->committed = p->committed;
    if (ev == TY_EVENT_WARNING) {
        s->warnings++;
        snprintf(s->warning, sizeof s->warning, "%s", msg);
    }
    return 0;
}

static int outcomes[3]; /* adds: clean, with a warning, refused (over all trials) */

static void refusal_says_why(ty_index_t *ix, const char *ip, int rc, const char *when)
{
    CHECKF(rc == TY_EIO, "%s: rc %d (%s)", when, rc, ty_index_errmsg(ix));
    CHECKF(strstr(ty_index_errmsg(ix), "No space left on device") != NULL, "%s: %s", when,
           ty_index_errmsg(ix));
    CHECKF(strstr(ty_index_errmsg(ix), ip) != NULL, "%s: %s", when, ty_index_errmsg(ix));
}

static void trial(int seed)
{
    srand((unsigned)seed);
    char dir[300], ip[320], jl[320];
    snprintf(dir, sizeof dir, "%s/t%02d", tmpdir, seed);
    snprintf(ip, sizeof ip, "%s/ix", dir);
    snprintf(jl, sizeof jl, "%s/rest-%02d.jsonl", tmpdir, seed); /* read, not on the disk */
    mkdir(dir, 0755);
    ty_opts_t o;
    ty_opts_init(&o);
    /* the start: an index of two documents, built with room to spare */
    ty_index_t *ix = ty_index_new();
    CHECK_EQ_INT(ty_index_open(ix, ip, TY_INDEX_CREATE, NULL), TY_OK);
    CHECK_EQ_INT(ty_index_add_doc(ix, "base-0", docs[0], lens[0], NULL, &o, NULL), TY_OK);
    CHECK_EQ_INT(ty_index_add_doc(ix, "base-1", docs[1], lens[1], NULL, &o, NULL), TY_OK);
    CHECK_EQ_INT(ty_index_finish(ix), TY_OK);
    ty_index_free(ix);
    int acked[NDOCS] = {0};
    ix = ty_index_new();
    CHECK_EQ_INT(ty_index_open(ix, ip, TY_INDEX_WRITE, NULL), TY_OK);
    /* room for nothing up to about every document; sometimes freed half-way */
    long long room = (long long)rand() % 600000;
    int free_at = rand() % 2 ? 2 + rand() % (NDOCS / 2) : NDOCS;
    fullfs_set(dir, room);
    for (int i = 2; i < NDOCS / 2; i++) {
        if (i == free_at)
            fullfs_set(dir, -1);
        int rc = ty_index_add_doc(ix, names[i], docs[i], lens[i], "trial", &o, NULL);
        if (rc == TY_OK) {
            acked[i] = 1;
            outcomes[ty_index_warning(ix)[0] ? 1 : 0]++;
            if (ty_index_warning(ix)[0])
                CHECKF(strstr(ty_index_warning(ix), "No space left on device"), "warning: %s",
                       ty_index_warning(ix));
        } else {
            outcomes[2]++;
            refusal_says_why(ix, ip, rc, names[i]);
        }
    }
    /* the rest through the threaded loop, three documents a transaction */
    FILE *f = fopen(jl, "w");
    for (int i = NDOCS / 2; i < NDOCS; i++) {
        fprintf(f, "{\"id\": \"%s\", \"text\": \"", names[i]);
        for (size_t b = 0; b < lens[i]; b++)
            if (docs[i][b] == '"' || docs[i][b] == '\\')
                fprintf(f, "\\%c", docs[i][b]);
            else if ((unsigned char)docs[i][b] >= 0x20)
                fputc(docs[i][b], f);
        fprintf(f, "\"}\n");
    }
    fclose(f);
    if (free_at == NDOCS && rand() % 2)
        fullfs_set(dir, (long long)rand() % 200000);
    ty_index_stats_t st;
    CHECK_EQ_INT(ty_index_stats(ix, &st), TY_OK);
    uint64_t before = st.docs;
    ty_reader_t *r = ty_reader_new(NULL);
    ty_reader_add(r, jl);
    ty_index_add_opts_t ao;
    ty_index_add_opts_init(&ao);
    ao.threads = 2;
    ao.commit_docs = 3;
    seen_t seen = {before, 0, ""};
    ao.event = on_event;
    ao.user = &seen;
    int rc = ty_index_add_docs(ix, r, &o, &ao);
    ty_reader_free(r);
    if (rc != TY_OK)
        refusal_says_why(ix, ip, rc, "add_docs");
    if (seen.warnings)
        CHECKF(strstr(seen.warning, "No space left on device"), "warning: %s", seen.warning);
    outcomes[1] += seen.warnings;
    for (uint64_t i = 0; i < seen.committed - before; i++)
        acked[NDOCS / 2 + i] = 1;
    ty_index_free(ix);
    /* room again: exactly the acknowledged documents are there */
    fullfs_set(NULL, -1);
    ix = ty_index_new();
    CHECK_EQ_INT(ty_index_open(ix, ip, TY_INDEX_READ, NULL), TY_OK);
    CHECKF(ty_index_verify(ix) == TY_OK, "seed %d: verify: %s", seed, ty_index_errmsg(ix));
    for (int i = 2; i < NDOCS; i++) {
        uint32_t id;
        int there = ty_index_find(ix, names[i], &id) == TY_OK;
        CHECKF(there == acked[i], "seed %d (room %lld): %s %s, but it was %s", seed, room, names[i],
               there ? "is there" : "is missing", acked[i] ? "acknowledged" : "refused");
    }
    ty_index_free(ix);
    /* and a later add, with room, merges what a failed merge left */
    ix = ty_index_new();
    CHECK_EQ_INT(ty_index_open(ix, ip, TY_INDEX_WRITE, NULL), TY_OK);
    CHECK_EQ_INT(ty_index_add_doc(ix, "later", docs[0], lens[0], NULL, &o, NULL), TY_OK);
    CHECK_EQ_STR(ty_index_warning(ix), "");
    CHECK_EQ_INT(ty_index_stats(ix, &st), TY_OK);
    CHECKF(st.segments < 4, "seed %d: %u segments after a merge with room", seed, st.segments);
    CHECK_EQ_INT(ty_index_verify(ix), TY_OK);
    ty_index_free(ix);
}

static void test_full_disk_trials(void)
{
    for (int seed = 1; seed <= TRIALS; seed++)
        trial(seed);
    fprintf(stderr, "full disk: %d adds clean, %d with a merge warning, %d refused\n", outcomes[0],
            outcomes[1], outcomes[2]);
    CHECKF(outcomes[0] && outcomes[1] && outcomes[2], "every outcome: %d %d %d", outcomes[0],
           outcomes[1], outcomes[2]);
}

int main(void)
{
    if (ck_tmpdir(tmpdir, sizeof tmpdir, "ty_full"))
        return 2;
    if (load_docs() != 0) {
        fprintf(stderr, "test_full: not enough test paragraphs\n");
        return 2;
    }
    RUN(test_full_disk_trials);
    ck_rmtree(tmpdir);
    for (int i = 0; i < NDOCS; i++)
        free(docs[i]);
    return ck_summary("test_full");
}
