/*
 * input.c — reading documents for the corpus index and for `check`: files, directories
 * (recursive, sorted), JSONL files, gzip/zstd compressed files and standard input.
 *
 * Layers, bottom up:
 *   stream  a file descriptor, decompressed on the fly when its first bytes are a gzip or
 *           zstd magic number (stream.c);
 *   lines   a growable line buffer over a stream, for JSONL (stream.c);
 *   reader  (this file) the queue of paths (directories are listed when added, so the total size is
 *           known for progress reports and a missing path fails early) and the iteration.
 *
 * Errors name the file and, for JSONL, the line; after an error the reader has moved past
 * the bad record or file, so the caller decides whether to skip it or stop. Nothing is
 * dropped silently: blank JSONL lines are the only thing skipped without a word.
 *
 * What a whole file's bytes become is extraction's business (extract.c: charsets, HTML,
 * DOCX, ODT, PDF); a WARC file is split into records by warc.c, each record extracted the
 * same way. Both hook in at the end of this file (read_whole, next_warc).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "extract.h"
#include "input.h"
#include "stream.h"
#include "warc.h"

enum { FMT_TEXT = 0, FMT_JSONL = 1, FMT_WARC = 2 }; /* FMT_TEXT: any one-document file */

/* ---- reader ------------------------------------------------------------------------------ */

typedef struct {
    char *path; /* to open */
    char *name; /* document name for whole-file documents */
    int fmt;    /* FMT_* */
    int is_stdin;
    uint64_t size;               /* bytes of a regular file (0 otherwise) */
    int ranged;                  /* JSONL lines starting in [rbeg, rend) (ty__reader_add_range) */
    uint64_t rbeg, rend, rlines; /* rlines: line breaks before rbeg */
    dev_t dev;                   /* the file's identity when queued (both 0: not a regular */
    ino_t ino;                   /* file), for ty_reader_find_file() */
} item_t;

struct ty_reader {
    ty_reader_opts_t o;
    TY_VEC(item_t) items;
    TY_VEC(char *) notes; /* directory entries not read, and why (ty_reader_note) */
    size_t next;          /* next item to open */
    int stdin_queued;
    uint64_t total; /* sum of regular file sizes */
    uint64_t done;  /* raw bytes of finished files */
    /* current file */
    int open;
    item_t *cur;
    int fmt;
    ty_stream_t st;
    ty_lbuf_t lb;
    uint64_t line;
    uint64_t base; /* ranged item: file offset the stream started at */
    /* current record */
    ty_jsonl_t js;      /* the parsed JSONL object and its name */
    ty__text_t x;       /* the text of a whole file or WARC record (extract.c), owned */
    ty__warc_t *warc;   /* the open WARC file's records */
    ty__sites_t *sites; /* blocks seen on the pages of each site (WARC) */
    char *recname;      /* a WARC record's name when it has no URI, and its label */
    char err[TY_ERRMSG_SIZE];
};

void ty_reader_opts_init(ty_reader_opts_t *o)
{
    memset(o, 0, sizeof(*o));
    o->text_field = "text";
    o->id_field = "id";
    o->stdin_format = TY_STDIN_AUTO;
    o->max_doc_bytes = (size_t)64 << 20;
}

int ty_reader_opts_check(const ty_reader_opts_t *o, char *msg, size_t msg_size)
{
    const char *bad = NULL;
    if (o->text_field && !*o->text_field)
        bad = "text_field must name a JSON member (NULL: \"text\")";
    else if (o->id_field && !*o->id_field)
        bad = "id_field must name a JSON member (NULL: \"id\")";
    else if (o->stdin_format < TY_STDIN_AUTO || o->stdin_format > TY_STDIN_JSONL)
        bad = "stdin_format must be one of TY_STDIN_*";
    else if (o->max_doc_bytes > ((size_t)1 << 32) - 1)
        bad = "max_doc_bytes must be between 1 and 4294967295 (0: the default)";
    else if (o->format < TY_FORMAT_AUTO || o->format > TY_FORMAT_WARC)
        bad = "format must be one of TY_FORMAT_*";
    else if (o->utf8_mode != TY_UTF8_STRICT && o->utf8_mode != TY_UTF8_REPLACE)
        bad = "utf8_mode must be TY_UTF8_STRICT or TY_UTF8_REPLACE";
    return ty__opts_verdict(o, (ty__optrows_t){NULL, 0}, bad, o->encoding, msg, msg_size);
}

ty_reader_t *ty_reader_new(const ty_reader_opts_t *o)
{
    ty_reader_t *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    if (o)
        r->o = *o;
    else
        ty_reader_opts_init(&r->o);
    if (!r->o.text_field)
        r->o.text_field = "text";
    if (!r->o.id_field)
        r->o.id_field = "id";
    if (!r->o.max_doc_bytes)
        r->o.max_doc_bytes = (size_t)64 << 20;
    r->st.fd = -1;
    return r;
}

static void close_current(ty_reader_t *r)
{
    if (!r->open)
        return;
    r->done += r->st.consumed;
    ty__warc_free(r->warc);
    r->warc = NULL;
    ty__stream_close(&r->st);
    free(r->lb.a);
    memset(&r->lb, 0, sizeof(r->lb));
    r->open = 0;
}

static void drop_record(ty_reader_t *r)
{
    if (r->js.j)
        json_decref(r->js.j);
    r->js.j = NULL;
    ty__text_free(&r->x);
}

void ty_reader_free(ty_reader_t *r)
{
    if (!r)
        return;
    drop_record(r);
    close_current(r);
    ty__sites_free(r->sites);
    free(r->recname);
    for (size_t i = 0; i < r->items.n; i++) {
        free(r->items.a[i].path);
        free(r->items.a[i].name);
    }
    free(r->items.a);
    for (size_t i = 0; i < r->notes.n; i++)
        free(r->notes.a[i]);
    free(r->notes.a);
    ty__jsonl_free(&r->js);
    free(r);
}

const char *ty_reader_errmsg(const ty_reader_t *r) { return r ? r->err : "no reader"; }

uint64_t ty_reader_pos(const ty_reader_t *r) { return r->done + (r->open ? r->st.consumed : 0); }

uint64_t ty_reader_size(const ty_reader_t *r) { return r->stdin_queued ? 0 : r->total; }

static int ends_with(const char *s, size_t n, const char *suf)
{
    size_t l = strlen(suf);
    return n >= l && memcmp(s + n - l, suf, l) == 0;
}

/* length of the name without a trailing .gz / .zst */
static size_t strip_z(const char *s)
{
    size_t n = strlen(s);
    if (ends_with(s, n, ".gz"))
        return n - 3;
    if (ends_with(s, n, ".zst"))
        return n - 4;
    return n;
}

static int fmt_of(const ty_reader_t *r, const char *path)
{
    if (r->o.format == TY_FORMAT_JSONL || r->o.format == TY_FORMAT_WARC)
        return r->o.format == TY_FORMAT_JSONL ? FMT_JSONL : FMT_WARC;
    size_t n = strip_z(path);
    return !r->o.format && (ends_with(path, n, ".jsonl") || ends_with(path, n, ".ndjson"))
               ? FMT_JSONL
               : FMT_TEXT;
}

static int wanted_in_dir(const char *name)
{
    static const char *const ext[] = {".txt",  ".md",  ".html", ".htm", ".xhtml",
                                      ".docx", ".odt", ".pdf",  ".warc"};
    size_t n = strip_z(name);
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++)
        if (ends_with(name, n, ext[i]))
            return 1;
    return 0;
}

static int push_item(ty_reader_t *r, const char *path, const char *name, int fmt, int is_stdin)
{
    item_t it = {strdup(path), strdup(name), fmt, is_stdin, 0, 0, 0, 0, 0, 0, 0};
    if (!it.path || !it.name || ty_vec_push(r->items, it)) {
        free(it.path);
        free(it.name);
        return ty__err(r->err, TY_ENOMEM, "out of memory");
    }
    return TY_OK;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A note on a directory entry that is not read (kept for ty_reader_note). */
static int add_note(ty_reader_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int add_note(ty_reader_t *r, const char *fmt, ...)
{
    char buf[TY_ERRMSG_SIZE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char *n = strdup(buf);
    if (!n || ty_vec_push(r->notes, n)) {
        free(n);
        return ty__err(r->err, TY_ENOMEM, "out of memory");
    }
    return TY_OK;
}

static const char *kind_of(mode_t m)
{
    return S_ISFIFO(m)   ? "a FIFO"
           : S_ISSOCK(m) ? "a socket"
           : S_ISCHR(m)  ? "a character device"
           : S_ISBLK(m)  ? "a block device"
                         : "not a regular file";
}

/* List dir (full path) recursively; rel is the name prefix relative to the top directory
 * ("" at the top). Entries that are not read are noted (ty_reader_note): special files,
 * dangling links, link loops, links to directories; files of other types are counted in
 * one note per directory given. */
static int add_dir(ty_reader_t *r, const char *dir, const char *rel, int depth, size_t *other)
{
    if (depth > 64)
        return ty__err(r->err, TY_EIO, "%s: directories nested more than 64 deep", dir);
    DIR *d = opendir(dir);
    if (!d)
        return ty__err(r->err, TY_EIO, "%s: %s", dir, strerror(errno));
    TY_VEC(char *) names = {0};
    int rc = TY_OK;
    struct dirent *e;
    errno = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char *s = strdup(e->d_name);
        if (!s || ty_vec_push(names, s)) {
            free(s);
            rc = ty__err(r->err, TY_ENOMEM, "out of memory");
            break;
        }
    }
    if (!rc && errno)
        rc = ty__err(r->err, TY_EIO, "%s: %s", dir, strerror(errno));
    closedir(d);
    if (names.n)
        qsort(names.a, names.n, sizeof(char *), cmp_str);
    size_t dl = strlen(dir);
    int slash = dl > 0 && dir[dl - 1] == '/';
    for (size_t i = 0; i < names.n && !rc; i++) {
        size_t nl = strlen(names.a[i]), rl = strlen(rel);
        char *full = malloc(dl + nl + 2), *rn = malloc(rl + nl + 2);
        if (!full || !rn) {
            free(full);
            free(rn);
            rc = ty__err(r->err, TY_ENOMEM, "out of memory");
            break;
        }
        snprintf(full, dl + nl + 2, "%s%s%s", dir, slash ? "" : "/", names.a[i]);
        snprintf(rn, rl + nl + 2, "%s%s%s", rel, rl ? "/" : "", names.a[i]);
        struct stat st, lst;
        if (stat(full, &st) != 0) {
            int se = errno;
            /* a dangling symlink, a link loop or a file that vanished: not a document we
             * were asked for, but say so */
            if (lstat(full, &lst) == 0 && S_ISLNK(lst.st_mode))
                rc =
                    add_note(r, "%s: %s, not read", full,
                             se == ELOOP ? "a loop of symbolic links" : "a dangling symbolic link");
            else if (se != ENOENT)
                rc = ty__err(r->err, TY_EIO, "%s: %s", full, strerror(se));
        } else if (S_ISDIR(st.st_mode)) {
            if (lstat(full, &lst) == 0 && !S_ISLNK(lst.st_mode))
                rc = add_dir(r, full, rn, depth + 1, other);
            else
                rc = add_note(r, "%s: a symbolic link to a directory, not followed", full);
        } else if (S_ISREG(st.st_mode) && wanted_in_dir(names.a[i])) {
            rc = push_item(r, full, rn, fmt_of(r, names.a[i]), 0);
            if (!rc) {
                item_t *it = &r->items.a[r->items.n - 1];
                it->size = (uint64_t)st.st_size;
                it->dev = st.st_dev;
                it->ino = st.st_ino;
            }
            r->total += (uint64_t)st.st_size;
        } else if (S_ISREG(st.st_mode)) {
            (*other)++;
        } else if (wanted_in_dir(names.a[i])) {
            rc = add_note(r, "%s: %s, not read", full, kind_of(st.st_mode));
        }
        free(full);
        free(rn);
    }
    for (size_t i = 0; i < names.n; i++)
        free(names.a[i]);
    free(names.a);
    return rc;
}

int ty_reader_add(ty_reader_t *r, const char *path)
{
    if (!r || !path || !*path)
        return TY_EINVAL;
    r->err[0] = 0;
    if (strcmp(path, "-") == 0) {
        if (r->stdin_queued)
            return ty__err(r->err, TY_EINVAL, "-: standard input given twice");
        r->stdin_queued = 1;
        return push_item(r, "-", "-", -1, 1);
    }
    struct stat st;
    if (stat(path, &st) != 0)
        return ty__err(r->err, TY_EIO, "%s: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode)) {
        size_t other = 0, before = r->items.n;
        int rc = add_dir(r, path, "", 0, &other);
        if (!rc && other)
            rc = add_note(r,
                          "%s: %zu file%s not read: only *.txt, *.md, *.html, *.htm, *.xhtml, "
                          "*.docx, *.odt, *.pdf and *.warc files (also .gz, .zst) are read "
                          "from a directory%s",
                          path, other, other == 1 ? "" : "s",
                          r->items.n == before ? " — name files or JSONL on the command line" : "");
        return rc;
    }
    if (S_ISREG(st.st_mode))
        r->total += (uint64_t)st.st_size;
    int rc = push_item(r, path, path, fmt_of(r, path), 0);
    if (!rc && S_ISREG(st.st_mode)) {
        item_t *it = &r->items.a[r->items.n - 1];
        it->size = (uint64_t)st.st_size;
        it->dev = st.st_dev;
        it->ino = st.st_ino;
    }
    return rc;
}

const char *ty_reader_note(const ty_reader_t *r, size_t i)
{
    return r && i < r->notes.n ? r->notes.a[i] : NULL;
}

int ty_reader_find_file(const ty_reader_t *r, const char *path, const char **input)
{
    struct stat st;
    if (!r || !path || stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return 0;
    for (size_t i = 0; i < r->items.n; i++) {
        const item_t *it = &r->items.a[i];
        if ((it->dev || it->ino) && it->dev == st.st_dev && it->ino == st.st_ino) {
            if (input)
                *input = it->path;
            return 1;
        }
    }
    return 0;
}

/* ---- the queue, for splitting the input among processes (input.h) ----------------------- */

size_t ty__reader_nitems(const ty_reader_t *r) { return r ? r->items.n : 0; }

int ty__reader_item(const ty_reader_t *r, size_t i, ty_reader_item_t *it)
{
    if (!r || !it || i >= r->items.n)
        return TY_EINVAL;
    const item_t *x = &r->items.a[i];
    it->path = x->path;
    it->name = x->name;
    it->jsonl = x->fmt == FMT_JSONL;
    it->is_stdin = x->is_stdin;
    it->size = x->size;
    return TY_OK;
}

int ty__reader_add_item(ty_reader_t *r, const ty_reader_t *from, size_t i)
{
    if (!r || !from || i >= from->items.n)
        return TY_EINVAL;
    const item_t *x = &from->items.a[i];
    int rc = push_item(r, x->path, x->name, x->fmt, x->is_stdin);
    if (rc)
        return rc;
    r->items.a[r->items.n - 1].size = x->size;
    r->items.a[r->items.n - 1].dev = x->dev;
    r->items.a[r->items.n - 1].ino = x->ino;
    r->total += x->size;
    if (x->is_stdin)
        r->stdin_queued = 1;
    return TY_OK;
}

int ty__reader_add_range(ty_reader_t *r, const ty_reader_t *from, size_t i, uint64_t begin,
                         uint64_t end, uint64_t lines_before)
{
    if (!r || !from || i >= from->items.n || from->items.a[i].fmt != FMT_JSONL ||
        from->items.a[i].is_stdin || begin > end)
        return TY_EINVAL;
    const item_t *x = &from->items.a[i];
    int rc = push_item(r, x->path, x->name, x->fmt, 0);
    if (rc)
        return rc;
    item_t *it = &r->items.a[r->items.n - 1];
    it->size = x->size;
    it->dev = x->dev;
    it->ino = x->ino;
    it->ranged = 1;
    it->rbeg = begin;
    it->rend = end;
    it->rlines = lines_before;
    uint64_t e = end < x->size ? end : x->size; /* end may be UINT64_MAX: to the end of file */
    r->total += e > begin ? e - begin : 0;
    return TY_OK;
}

/* Ranged item: file offset of the next unread byte (the stream is raw: no decompression). */
static uint64_t range_pos(const ty_reader_t *r)
{
    return r->base + r->st.consumed - (r->st.ilen - r->st.ipos) - (r->lb.end - r->lb.beg);
}

/* Ranged item just opened: seek to the first line starting at or after rbeg. */
static int range_open(ty_reader_t *r)
{
    item_t *it = r->cur;
    r->base = it->rbeg ? it->rbeg - 1 : 0;
    r->st.kind = Z_NONE; /* the caller gives uncompressed files only */
    r->st.kind_known = 1;
    r->line = it->rlines;
    if (!it->rbeg)
        return TY_OK;
    if (lseek(r->st.fd, (off_t)r->base, SEEK_SET) == (off_t)-1)
        return ty__err(r->err, TY_EIO, "%s: %s", it->path, strerror(errno));
    /* skip through the line break that ends the line holding byte rbeg - 1: nothing more
     * when that byte is itself a line break (rbeg starts a line) */
    int rc = ty__lbuf_more(&r->lb, &r->st, r->err);
    if (!rc)
        rc = ty__lbuf_skip_line(&r->lb, &r->st, r->err);
    if (!rc && range_pos(r) > it->rbeg)
        r->line++; /* the skipped line break lies at or after rbeg */
    return rc;
}

static int set_name(ty_jsonl_t *st, char *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int set_name(ty_jsonl_t *st, char *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(st->name, st->cap, fmt, ap);
    va_end(ap);
    if (n < 0)
        return ty__err(err, TY_EINVAL, "bad name");
    if ((size_t)n >= st->cap) {
        char *p = realloc(st->name, (size_t)n + 64);
        if (!p)
            return ty__err(err, TY_ENOMEM, "out of memory");
        st->name = p;
        st->cap = (size_t)n + 64;
        va_start(ap, fmt);
        vsnprintf(st->name, st->cap, fmt, ap);
        va_end(ap);
    }
    return TY_OK;
}

void ty__jsonl_free(ty_jsonl_t *st)
{
    if (st->j)
        json_decref(st->j);
    st->j = NULL;
    free(st->name);
    st->name = NULL;
    st->cap = 0;
    ty__jsonl_fast_free(&st->fast);
}

static int deliver(ty_reader_t *r, ty_record_t *rec, char *buf, size_t len, const char *label,
                   const char *ctype, const char *site, const char *name);

/* Read the rest of the current stream as one document (what the line buffer holds first). */
static int read_whole(ty_reader_t *r, ty_record_t *rec)
{
    size_t have = r->lb.end - r->lb.beg;
    size_t cap = have + IBUF_SIZE, len = have;
    char *buf = malloc(cap + 1);
    if (!buf)
        return ty__err(r->err, TY_ENOMEM, "%s: out of memory", r->cur->path);
    if (have)
        memcpy(buf, r->lb.a + r->lb.beg, have);
    int rc = TY_OK;
    for (;;) {
        if (len > r->o.max_doc_bytes) {
            rc =
                ty__err(r->err, TY_ETOOBIG, "%s: more than the limit of %zu bytes for one document",
                        r->cur->path, r->o.max_doc_bytes);
            break;
        }
        if (cap - len < IBUF_SIZE) {
            char *p = realloc(buf, cap * 2 + 1);
            if (!p) {
                rc = ty__err(r->err, TY_ENOMEM, "%s: out of memory", r->cur->path);
                break;
            }
            buf = p;
            cap *= 2;
        }
        size_t got;
        rc = ty__stream_read(&r->st, buf + len, cap - len, &got, r->err);
        if (rc || !got)
            break;
        len += got;
    }
    if (!rc && len > r->o.max_doc_bytes)
        rc = ty__err(r->err, TY_ETOOBIG, "%s: more than the limit of %zu bytes for one document",
                     r->cur->path, r->o.max_doc_bytes);
    if (!rc && ty__file_changed(r->st.fd, r->st.mark, r->cur->path, r->err))
        rc = TY_EIO;
    if (rc) {
        free(buf);
        return rc;
    }
    if (!len && r->cur->is_stdin) {
        /* `... | tongyuan index build -o x -` after a failed producer: say so rather than
         * store an empty document named "-" */
        free(buf);
        return ty__err(r->err, TY_EIO, "-: standard input is empty: no document read");
    }
    return deliver(r, rec, buf, len, r->cur->path, NULL, NULL, r->cur->name);
}

/* An empty name could not be looked up, fetched or deleted later: refused. */
static int empty_id(char *err, const char *path, unsigned long long line, const char *field)
{
    return ty__err(err, TY_ECORRUPT,
                   "%s:%llu: member \"%s\" is an empty string (a document needs a name; leave "
                   "the member out to be named %s:%llu)",
                   path, line, field, path, line);
}

int ty__jsonl_parse(ty_jsonl_t *st, const ty_reader_opts_t *o, const char *path, uint64_t ln,
                    const char *line, size_t len, ty_record_t *rec, char *err)
{
    unsigned long long L = (unsigned long long)ln;
    if (st->j)
        json_decref(st->j);
    st->j = NULL;
    if (ln == 1 && len >= 3 && memcmp(line, "\xEF\xBB\xBF", 3) == 0) {
        line += 3; /* a byte order mark before the first object */
        len -= 3;
    }
    if (!st->no_fast && ty__jsonl_fast(&st->fast, line, len, o->text_field, o->id_field)) {
        /* the common plain line, without jansson: same result (see jsonl_fast.c) */
        if (st->fast.text_len > o->max_doc_bytes)
            return ty__err(err, TY_ETOOBIG,
                           "%s:%llu: text of %zu bytes, more than the limit of %zu bytes", path, L,
                           st->fast.text_len, o->max_doc_bytes);
        if (st->fast.id_kind == TY_FAST_ID_STRING && !st->fast.id[0])
            return empty_id(err, path, L, o->id_field);
        int frc = st->fast.id_kind == TY_FAST_ID_STRING ? set_name(st, err, "%s", st->fast.id)
                                                        : set_name(st, err, "%s:%llu", path, L);
        if (frc)
            return frc;
        rec->name = st->name;
        rec->text = st->fast.text;
        rec->len = st->fast.text_len;
        rec->origin = path;
        rec->line = ln;
        return 1;
    }
    json_error_t je;
    json_t *j = json_loadb(line, len, 0, &je);
    if (!j)
        return ty__err(err, TY_ECORRUPT, "%s:%llu:%d: not valid JSON: %s", path, L, je.column,
                       je.text);
    if (!json_is_object(j)) {
        json_decref(j);
        return ty__err(err, TY_ECORRUPT, "%s:%llu: not a JSON object", path, L);
    }
    json_t *t = json_object_get(j, o->text_field);
    if (!t || !json_is_string(t)) {
        json_decref(j);
        return ty__err(err, TY_ECORRUPT, "%s:%llu: no string member \"%s\"%s", path, L,
                       o->text_field,
                       t ? " (it is not a string)" : " (use text_field to name another)");
    }
    size_t tl = json_string_length(t);
    if (tl > o->max_doc_bytes) {
        json_decref(j);
        return ty__err(err, TY_ETOOBIG,
                       "%s:%llu: text of %zu bytes, more than the limit of %zu bytes", path, L, tl,
                       o->max_doc_bytes);
    }
    json_t *id = json_object_get(j, o->id_field);
    int rc;
    if (!id || json_is_null(id)) {
        rc = set_name(st, err, "%s:%llu", path, L);
    } else if (json_is_string(id)) {
        const char *s = json_string_value(id);
        size_t sl = json_string_length(id);
        if (!sl) {
            json_decref(j);
            return empty_id(err, path, L, o->id_field);
        }
        if (memchr(s, 0, sl)) {
            json_decref(j);
            return ty__err(err, TY_ECORRUPT, "%s:%llu: member \"%s\" holds a NUL character", path,
                           L, o->id_field);
        }
        rc = set_name(st, err, "%s", s);
    } else if (json_is_integer(id)) {
        rc = set_name(st, err, "%lld", (long long)json_integer_value(id));
    } else {
        json_decref(j);
        return ty__err(err, TY_ECORRUPT, "%s:%llu: member \"%s\" is not a string or integer", path,
                       L, o->id_field);
    }
    if (rc) {
        json_decref(j);
        return rc;
    }
    st->j = j;
    rec->name = st->name;
    rec->text = json_string_value(t);
    rec->len = tl;
    rec->origin = path;
    rec->line = ln;
    return 1;
}

static int is_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return 0;
    return 1;
}

/* Line limit for JSONL: JSON escapes can take six bytes for one three-byte character. */
static size_t line_max(const ty_reader_t *r)
{
    size_t m = r->o.max_doc_bytes;
    return m > SIZE_MAX / 4 ? SIZE_MAX / 2 : m * 2 + (1 << 20);
}

/* Next JSONL record of the open file: 1, 0 at its end, or an error. raw: hand the line
 * out unparsed. */
static int next_jsonl(ty_reader_t *r, ty_record_t *rec, int raw)
{
    for (;;) {
        char *line = NULL;
        size_t len = 0;
        if (r->cur->ranged && range_pos(r) >= r->cur->rend)
            return 0;
        int rc = ty__lbuf_peek(&r->lb, &r->st, line_max(r), &line, &len, r->err);
        if (rc == 0)
            return 0;
        r->line++;
        if (rc == TY_ETOOBIG) {
            int e = ty__lbuf_skip_line(&r->lb, &r->st, r->err);
            if (e)
                return e;
            return ty__err(r->err, TY_ETOOBIG, "%s:%llu: line longer than %zu bytes", r->cur->path,
                           (unsigned long long)r->line, line_max(r));
        }
        if (rc < 0)
            return rc;
        ty__lbuf_consume(&r->lb, len);
        if (len && line[len - 1] == '\r')
            len--;
        if (is_blank(line, len))
            continue;
        if (raw) {
            /* valid until the next call: the line buffer only moves when it reads more */
            rec->name = NULL;
            rec->text = line;
            rec->len = len;
            rec->origin = r->cur->path;
            rec->line = r->line;
            return 1;
        }
        return ty__jsonl_parse(&r->js, &r->o, r->cur->path, r->line, line, len, rec, r->err);
    }
}

/* Standard input in auto mode: JSONL if the first non-blank line is a JSON object with a
 * string text field. Nothing is consumed: the bytes stay in the line buffer either way. */
static int sniff_stdin(ty_reader_t *r, int *fmt)
{
    ty_lbuf_t *b = &r->lb;
    *fmt = FMT_TEXT;
    for (;;) {
        size_t i = b->beg;
        while (i < b->end &&
               (b->a[i] == ' ' || b->a[i] == '\t' || b->a[i] == '\r' || b->a[i] == '\n'))
            i++;
        if (i + 3 <= b->end && memcmp(b->a + i, "\xEF\xBB\xBF", 3) == 0)
            i += 3;
        if (i < b->end && b->a[i] != '{' && b->a[i] != '\xEF')
            return TY_OK; /* text */
        char *nl = i < b->end ? memchr(b->a + i, '\n', b->end - i) : NULL;
        if (nl || (b->eof && i < b->end)) {
            size_t e = nl ? (size_t)(nl - b->a) : b->end;
            json_error_t je;
            json_t *j = json_loadb(b->a + i, e - i, 0, &je);
            if (j && json_is_object(j) && json_is_string(json_object_get(j, r->o.text_field)))
                *fmt = FMT_JSONL;
            if (j)
                json_decref(j);
            return TY_OK;
        }
        if (b->eof || b->end - b->beg > line_max(r))
            return TY_OK;
        int rc = ty__lbuf_more(b, &r->st, r->err);
        if (rc)
            return rc;
    }
}

/* ---- extraction: whole files and WARC records (extract.c, warc.c) ------------------------ */

/* A file's or record's bytes (buf, owned: passed on) → the record, extracted as its content
 * says. label names it in messages; ctype and site come from a WARC record. */
static int deliver(ty_reader_t *r, ty_record_t *rec, char *buf, size_t len, const char *label,
                   const char *ctype, const char *site, const char *name)
{
    ty__xopts_t xo;
    memset(&xo, 0, sizeof xo);
    xo.format = r->o.format == TY_FORMAT_WARC ? TY_FORMAT_AUTO : r->o.format;
    xo.encoding = r->o.encoding;
    xo.utf8_mode = r->o.utf8_mode;
    xo.name = label;
    xo.content_type = ctype;
    if (site) {
        if (!r->sites && !(r->sites = ty__sites_new())) {
            free(buf);
            return ty__err(r->err, TY_ENOMEM, "%s: out of memory", label);
        }
        xo.sites = r->sites;
        xo.site = site;
    }
    int rc = ty__extract(&r->x, buf, len, &xo, r->err);
    if (rc)
        return rc;
    if (r->x.len > r->o.max_doc_bytes) {
        ty__text_free(&r->x);
        return ty__err(r->err, TY_ETOOBIG,
                       "%s: %zu bytes of text, more than the limit of %zu bytes", label, r->x.len,
                       r->o.max_doc_bytes);
    }
    rec->name = name;
    rec->text = r->x.text;
    rec->len = r->x.len;
    rec->origin = r->cur->path;
    rec->line = 0;
    rec->info.format = r->x.format;
    rec->info.charset = r->x.charset;
    rec->info.title = r->x.title ? r->x.title : "";
    rec->info.pages = r->x.pages;
    rec->info.file_off = r->x.file_off;
    rec->info.nfile_off = r->x.file_off ? r->x.nfile_off : 0;
    return 1;
}

/* A file just opened: a WARC file if its (decompressed) content starts with "WARC/". */
static int sniff_warc(ty_reader_t *r)
{
    while (r->lb.end - r->lb.beg < 5 && !r->lb.eof) {
        int rc = ty__lbuf_more(&r->lb, &r->st, r->err);
        if (rc)
            return rc;
    }
    if (r->lb.end - r->lb.beg >= 5 && memcmp(r->lb.a + r->lb.beg, "WARC/", 5) == 0)
        r->fmt = FMT_WARC;
    return TY_OK;
}

/* The host of a URI ("http://news.example.cn:80/a" → "news.example.cn"), into out. */
static void host_of(const char *uri, char *out, size_t outsz)
{
    const char *p = strstr(uri, "://");
    p = p ? p + 3 : uri;
    size_t n = strcspn(p, "/:?#");
    if (n >= outsz)
        n = outsz - 1;
    memcpy(out, p, n);
    out[n] = 0;
}

/* The next document of the open WARC file: 1, 0 at its end, or an error (the next call goes
 * on with the next record, unless the file could not be read further). */
static int next_warc(ty_reader_t *r, ty_record_t *rec)
{
    if (!r->warc && !(r->warc = ty__warc_new(&r->lb, &r->st, r->cur->path, r->o.max_doc_bytes)))
        return ty__err(r->err, TY_ENOMEM, "%s: out of memory", r->cur->path);
    ty__warc_rec_t w;
    int rc = ty__warc_next(r->warc, &w, r->err);
    if (rc <= 0)
        return rc;
    /* the label for messages, then the name: the URI, else FILE:record N */
    size_t need = 2 * (strlen(r->cur->path) + strlen(w.uri)) + 96;
    char *p = realloc(r->recname, need);
    if (!p) {
        free(w.body);
        return ty__err(r->err, TY_ENOMEM, "%s: out of memory", r->cur->path);
    }
    r->recname = p;
    int lab = snprintf(p, need, "%s: record %llu (%s)", r->cur->path, (unsigned long long)w.number,
                       w.uri[0] ? w.uri : "no WARC-Target-URI");
    char *name = p + lab + 1;
    if (w.uri[0])
        snprintf(name, need - (size_t)lab - 1, "%s", w.uri);
    else
        snprintf(name, need - (size_t)lab - 1, "%s:record %llu", r->cur->path,
                 (unsigned long long)w.number);
    char host[256];
    host_of(w.uri, host, sizeof host);
    return deliver(r, rec, w.body, w.len, p, w.content_type, host, name);
}

const ty_reader_opts_t *ty__reader_opts(const ty_reader_t *r) { return &r->o; }

static int reader_next(ty_reader_t *r, ty_record_t *rec, int want_raw, int *raw)
{
    if (!r || !rec)
        return TY_EINVAL;
    *raw = 0;
    drop_record(r);
    r->err[0] = 0;
    memset(&rec->info, 0, sizeof rec->info);
    rec->info.format = TY_FORMAT_TEXT; /* a JSONL member: UTF-8 text, charset not known */
    rec->info.charset = "";
    rec->info.title = "";
    for (;;) {
        if (!r->open) {
            if (r->next >= r->items.n)
                return 0;
            r->cur = &r->items.a[r->next++];
            int rc = ty__stream_open(&r->st, r->cur->path, r->err);
            if (rc)
                return rc;
            r->open = 1;
            r->line = 0;
            r->fmt = r->cur->fmt;
            if (r->cur->ranged && (rc = range_open(r)) != TY_OK) {
                close_current(r);
                return rc;
            }
            if (r->cur->is_stdin) {
                if (r->o.stdin_format == TY_STDIN_JSONL)
                    r->fmt = FMT_JSONL;
                else if (r->o.stdin_format == TY_STDIN_TEXT)
                    r->fmt = FMT_TEXT;
                else if ((rc = sniff_stdin(r, &r->fmt)) != TY_OK) {
                    close_current(r);
                    return rc;
                }
            }
            if (r->fmt == FMT_TEXT && !r->o.format && (rc = sniff_warc(r)) != TY_OK) {
                close_current(r);
                return rc;
            }
        }
        if (r->fmt == FMT_WARC) {
            int rc = next_warc(r, rec);
            if (rc == 0 || rc == TY_EIO || rc == TY_ENOMEM)
                close_current(r); /* the end, or the rest of this file is lost */
            if (rc == 0)
                continue;
            return rc;
        }
        if (r->fmt == FMT_TEXT) {
            int rc = read_whole(r, rec);
            close_current(r);
            return rc;
        }
        int rc = next_jsonl(r, rec, want_raw);
        if (rc == 1 && want_raw)
            *raw = 1;
        if (rc == 0) {
            close_current(r);
            continue;
        }
        if (rc < 0 && rc != TY_ECORRUPT && rc != TY_ETOOBIG)
            close_current(r); /* a read error: the rest of this file is lost */
        return rc;
    }
}

int ty_reader_next(ty_reader_t *r, ty_record_t *rec)
{
    int raw;
    return reader_next(r, rec, 0, &raw);
}

int ty_reader_next_line(ty_reader_t *r, ty_record_t *rec)
{
    int raw;
    return reader_next(r, rec, 1, &raw);
}

int ty__reader_next_raw(ty_reader_t *r, ty_record_t *rec, int *raw)
{
    return reader_next(r, rec, 1, raw);
}
