/*
 * doc.c — documents: load bytes from memory, a file or standard input, check them (size,
 * NUL bytes) and tokenize them (normalize.c). A file's bytes go through extraction first
 * (extract.c: another charset decoded, HTML/DOCX/ODT/PDF turned into text); the document
 * keeps what it was read from (ty_docinfo).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "extract.h"

ty_doc_t *ty_doc_new(void) { return calloc(1, sizeof(ty_doc_t)); }

const char *ty_doc_errmsg(const ty_doc_t *d) { return d ? d->err : "no document"; }
const char *ty_doc_name(const ty_doc_t *d) { return d->name ? d->name : ""; }
size_t ty_doc_ntokens(const ty_doc_t *d) { return d->ntok; }
size_t ty_doc_ncodepoints(const ty_doc_t *d) { return d->ncp; }

const char *ty_doc_text(const ty_doc_t *d, size_t *len)
{
    if (len)
        *len = d->len;
    return d->text ? d->text : "";
}

int ty_doc_token(const ty_doc_t *d, size_t i, ty_token_t *t)
{
    if (i >= d->ntok)
        return TY_EINVAL;
    t->id = d->tok[i];
    t->cp_off = d->cp_off[i];
    t->cp_len = d->cp_end[i] - d->cp_off[i];
    t->byte_off = d->byte_off[i];
    t->byte_len = d->byte_end[i] - d->byte_off[i];
    return TY_OK;
}

static int set_name(ty_doc_t *d, const char *name)
{
    size_t l = strlen(name ? name : "");
    char *p = realloc(d->name, l + 1);
    if (!p)
        return TY_ENOMEM;
    memcpy(p, name ? name : "", l + 1);
    d->name = p;
    return TY_OK;
}

/* Plain UTF-8 text of unknown origin: the docinfo of ty_doc_load_mem. */
static void info_reset(ty_doc_t *d)
{
    free(d->title);
    free(d->file_off);
    d->title = NULL;
    d->file_off = NULL;
    d->charset[0] = 0;
    memset(&d->info, 0, sizeof d->info);
    d->info.format = TY_FORMAT_TEXT;
    d->info.charset = d->charset;
    d->info.title = "";
}

/* Empty the document first, so that a failed load never leaves the previous text and
 * tokens under the new name. */
static void clear(ty_doc_t *d)
{
    d->len = 0;
    d->ncp = 0;
    d->ntok = 0;
    if (d->text)
        d->text[0] = 0;
    d->err[0] = 0;
    info_reset(d);
}

void ty__doc_release(ty_doc_t *d)
{
    clear(d);
    free(d->text);
    d->text = NULL;
    uint32_t **arrs[] = TY__DOC_TOKEN_ARRAYS(d);
    for (size_t i = 0; i < sizeof arrs / sizeof *arrs; i++) {
        free(*arrs[i]);
        *arrs[i] = NULL;
    }
    d->mtok = 0;
}

size_t ty__doc_mem(ty_doc_t *d)
{
    uint32_t **arrs[] = TY__DOC_TOKEN_ARRAYS(d);
    return (d->text ? d->len + 1 : 0) + d->mtok * (sizeof arrs / sizeof *arrs) * sizeof(uint32_t);
}

void ty_doc_free(ty_doc_t *d)
{
    if (!d)
        return;
    ty__doc_release(d); /* the title and file offsets too (clear) */
    free(d->name);
    free(d);
}

const ty_docinfo_t *ty_docinfo(const ty_doc_t *d)
{
    static const ty_docinfo_t none = {TY_FORMAT_TEXT, "", "", 0, NULL, 0};
    return d && d->info.charset ? &d->info : &none;
}

int ty_doc_set_info(ty_doc_t *d, const ty_docinfo_t *in)
{
    if (!d || !in || (in->file_off && in->nfile_off != d->ncp + 1))
        return TY_EINVAL;
    char *title = in->title && *in->title ? strdup(in->title) : NULL;
    uint32_t *off = in->file_off ? malloc(in->nfile_off * sizeof(uint32_t)) : NULL;
    if ((in->title && *in->title && !title) || (in->file_off && !off)) {
        free(title);
        free(off);
        return TY_ENOMEM;
    }
    if (off)
        memcpy(off, in->file_off, in->nfile_off * sizeof(uint32_t));
    info_reset(d);
    d->title = title;
    d->file_off = off;
    snprintf(d->charset, sizeof d->charset, "%s", in->charset ? in->charset : "");
    d->info.format = in->format;
    d->info.title = title ? title : "";
    d->info.pages = in->pages;
    d->info.file_off = off;
    d->info.nfile_off = off ? in->nfile_off : 0;
    return TY_OK;
}

ty_docinfo_t *ty_docinfo_dup(const ty_docinfo_t *in)
{
    if (!in)
        return NULL;
    size_t cl = strlen(in->charset ? in->charset : "") + 1;
    size_t tl = strlen(in->title ? in->title : "") + 1;
    size_t ol = in->file_off ? in->nfile_off * sizeof(uint32_t) : 0;
    /* one block: the struct, the offsets, then the two strings */
    char *p = malloc(sizeof(ty_docinfo_t) + ol + cl + tl);
    if (!p)
        return NULL;
    ty_docinfo_t *o = (ty_docinfo_t *)p;
    *o = *in;
    uint32_t *off = (uint32_t *)(p + sizeof(ty_docinfo_t));
    if (ol)
        memcpy(off, in->file_off, ol);
    o->file_off = ol ? off : NULL;
    o->nfile_off = ol ? in->nfile_off : 0;
    char *cs = p + sizeof(ty_docinfo_t) + ol, *ti = cs + cl;
    memcpy(cs, in->charset ? in->charset : "", cl);
    memcpy(ti, in->title ? in->title : "", tl);
    o->charset = cs;
    o->title = ti;
    return o;
}

void ty_docinfo_free(ty_docinfo_t *info) { free(info); }

/* Takes ownership of buf (malloc()ed, len bytes, at least len + 1 allocated). */
static int load_owned(ty_doc_t *d, char *buf, size_t len, const ty_opts_t *o)
{
    free(d->text);
    d->text = buf;
    d->len = len;
    d->ntok = 0;
    d->ncp = 0;
    buf[len] = 0;
    const char *nul = memchr(buf, 0, len);
    if (nul) {
        size_t off = (size_t)(nul - buf), line, col;
        ty__line_col(buf, off, &line, &col);
        d->len = 0;
        return ty__err(d->err, TY_EBINARY,
                       "%s: binary file (NUL byte at line %zu, byte %zu); not compared", d->name,
                       line, off);
    }
    d->err[0] = 0;
    int rc = ty__tokenize(d, o);
    if (rc) {
        d->ntok = 0;
        d->len = 0;
    }
    return rc;
}

/* Extract buf (owned, len bytes, len + 1 allocated) as o says, then load the text. */
static int load_extracted(ty_doc_t *d, char *buf, size_t len, const ty_opts_t *o)
{
    ty__xopts_t xo;
    memset(&xo, 0, sizeof xo);
    xo.format = o->input_format;
    xo.encoding = o->encoding;
    xo.utf8_mode = o->utf8_mode;
    xo.name = d->name;
    ty__text_t t;
    int rc = ty__extract(&t, buf, len, &xo, d->err);
    if (rc) {
        d->len = 0;
        d->ntok = 0;
        return rc;
    }
    if (t.len > o->max_doc_bytes) {
        ty__text_free(&t);
        return ty__err(d->err, TY_ETOOBIG,
                       "%s: %zu bytes of text, more than the limit of %zu bytes (max_doc_bytes)",
                       d->name, t.len, o->max_doc_bytes);
    }
    rc = load_owned(d, t.text, t.len, o);
    t.text = NULL;
    if (rc == TY_OK && t.file_off && t.nfile_off != d->ncp + 1) {
        /* cannot happen: the decoded text is valid UTF-8, one code point a character */
        free(t.file_off);
        t.file_off = NULL;
        t.nfile_off = 0;
    }
    if (rc == TY_OK) {
        d->info.format = t.format;
        snprintf(d->charset, sizeof d->charset, "%s", t.charset);
        d->title = t.title;
        d->info.title = t.title ? t.title : "";
        d->info.pages = t.pages;
        d->file_off = t.file_off;
        d->info.file_off = t.file_off;
        d->info.nfile_off = t.file_off ? t.nfile_off : 0;
        t.title = NULL;
        t.file_off = NULL;
    }
    ty__text_free(&t);
    return rc;
}

/* The start of loading from memory: d emptied and named, buf copied into *copy (len + 1
 * allocated). TY_OK or an error with d->err set. */
static int copy_in(ty_doc_t *d, const char *name, const void *buf, size_t len, const ty_opts_t *o,
                   char **copy)
{
    if (!d || !o || (!buf && len))
        return TY_EINVAL;
    clear(d);
    if (set_name(d, name))
        return ty__err(d->err, TY_ENOMEM, "out of memory");
    if (len > o->max_doc_bytes)
        return ty__err(d->err, TY_ETOOBIG, "%s: %zu bytes, more than the limit of %zu bytes",
                       d->name, len, o->max_doc_bytes);
    *copy = malloc(len + 1);
    if (!*copy)
        return ty__err(d->err, TY_ENOMEM, "%s: out of memory", d->name);
    if (len)
        memcpy(*copy, buf, len);
    return TY_OK;
}

int ty_doc_load_mem(ty_doc_t *d, const char *name, const void *buf, size_t len, const ty_opts_t *o)
{
    char *copy;
    int rc = copy_in(d, name, buf, len, o, &copy);
    return rc ? rc : load_owned(d, copy, len, o);
}

int ty_doc_load_file(ty_doc_t *d, const char *path, const ty_opts_t *o)
{
    if (!d || !path || !o)
        return TY_EINVAL;
    int is_stdin = strcmp(path, "-") == 0;
    clear(d);
    if (set_name(d, is_stdin ? "-" : path))
        return ty__err(d->err, TY_ENOMEM, "out of memory");
    int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ty__err(d->err, TY_EIO, "%s: %s", path, strerror(errno));
    struct stat st;
    size_t cap = 65536, want = SIZE_MAX; /* want: a regular file's size, read no further */
    int64_t mark[4];
    ty__file_mark(fd, mark);
    if (fstat(fd, &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            if (!is_stdin)
                close(fd);
            return ty__err(d->err, TY_EIO, "%s: is a directory", path);
        }
        if (S_ISREG(st.st_mode)) {
            if ((uint64_t)st.st_size > o->max_doc_bytes) {
                if (!is_stdin)
                    close(fd);
                return ty__err(d->err, TY_ETOOBIG,
                               "%s: %lld bytes, more than the limit of %zu bytes (max_doc_bytes)",
                               path, (long long)st.st_size, o->max_doc_bytes);
            }
            /* size 0: empty, or a file whose size is not known in advance (/proc, /sys):
             * read to the end like a pipe */
            if (st.st_size > 0) {
                cap = (size_t)st.st_size + 1;
                want = (size_t)st.st_size;
            }
        }
    }
    char *buf = malloc(cap + 1);
    size_t len = 0;
    int rc = TY_OK;
    if (!buf)
        rc = ty__err(d->err, TY_ENOMEM, "%s: out of memory", path);
    /* A regular file is read up to the size fstat() gave (one read() for most files, no
     * extra call to see the end): a file that grows meanwhile is read as it was then. */
    while (rc == TY_OK && len < want) {
        if (len == cap) {
            if (cap > o->max_doc_bytes) {
                rc = ty__err(d->err, TY_ETOOBIG,
                             "%s: more than the limit of %zu bytes (max_doc_bytes)", path,
                             o->max_doc_bytes);
                break;
            }
            char *p = realloc(buf, cap * 2 + 1);
            if (!p) {
                rc = ty__err(d->err, TY_ENOMEM, "%s: out of memory", path);
                break;
            }
            buf = p;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + len, cap - len);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            rc = ty__err(d->err, TY_EIO, "%s: %s", path, strerror(errno));
        } else if (r == 0) {
            break;
        } else {
            len += (size_t)r;
        }
    }
    if (rc == TY_OK && ty__file_changed(fd, mark, path, d->err))
        rc = TY_EIO;
    if (!is_stdin)
        close(fd);
    if (rc == TY_OK && len > o->max_doc_bytes)
        rc = ty__err(d->err, TY_ETOOBIG, "%s: more than the limit of %zu bytes (max_doc_bytes)",
                     path, o->max_doc_bytes);
    if (rc) {
        free(buf);
        d->len = 0;
        d->ntok = 0;
        return rc;
    }
    return load_extracted(d, buf, len, o);
}

int ty_doc_load_bytes(ty_doc_t *d, const char *name, const void *buf, size_t len,
                      const ty_opts_t *o)
{
    char *copy;
    int rc = copy_in(d, name, buf, len, o, &copy);
    return rc ? rc : load_extracted(d, copy, len, o);
}
