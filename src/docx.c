/*
 * docx.c — Word .docx and OpenDocument .odt files → text: paragraphs in document order, one
 * a line (a table cell's paragraphs too, row by row), then the footnotes and endnotes; the
 * title from the document's properties. Both are zip archives of XML (ECMA-376 and ODF 1.2):
 * libzip opens the archive from memory, libxml2 parses the parts.
 *
 *   .docx  word/document.xml (w:p paragraphs; w:t text, w:tab, w:br; deleted text w:del,
 *          field codes w:instrText and mc:Fallback duplicates left out), word/footnotes.xml
 *          and word/endnotes.xml (separator notes left out), docProps/core.xml (dc:title)
 *   .odt   content.xml (text:p and text:h; text:s spaces, text:tab, text:line-break; note
 *          bodies moved after the text; annotations and tracked deletions left out),
 *          meta.xml (dc:title)
 * Page headers and footers are not read: they repeat on every page and are not the text.
 *
 * Damage is an error naming the file and the part: a truncated archive (its central
 * directory is at the end), a missing part, XML that is not well-formed (with its line), a
 * part larger than the document limit (a zip bomb), an encrypted entry.
 */
#include <string.h>
#include <strings.h>

#include "extlib.h"
#include "extract.h"

#define PART_MAX ((zip_uint64_t)256 << 20) /* uncompressed bytes of one XML part */

typedef struct {
    ty__str_t body;  /* the text */
    ty__str_t notes; /* ODT note bodies, appended at the end */
    int odt;
    const ty__libxml_t *X;
    const ty__libzip_t *Z;
} docx_t;

static int is(const xmlNode *n, const char *local)
{
    return n->type == XML_ELEMENT_NODE && n->name && strcmp((const char *)n->name, local) == 0;
}

/* End the current paragraph (no empty lines). */
static void para_end(ty__str_t *s)
{
    ty__str_trim_end(s);
    if (s->n && s->a[s->n - 1] != '\n')
        ty__str_putc(s, '\n');
}

static void put_text(ty__str_t *s, const xmlNode *n)
{
    for (const xmlNode *c = n->children; c; c = c->next)
        if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && c->content)
            ty__str_put(s, (const char *)c->content, strlen((const char *)c->content));
}

static void walk_docx(ty__str_t *s, const xmlNode *n, int depth)
{
    for (; n && depth < 256; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (is(n, "t")) {
            put_text(s, n);
        } else if (is(n, "tab") || is(n, "ptab")) {
            ty__str_putc(s, '\t');
        } else if (is(n, "br") || is(n, "cr")) {
            ty__str_putc(s, '\n');
        } else if (is(n, "noBreakHyphen")) {
            ty__str_putc(s, '-');
        } else if (is(n, "del") || is(n, "delText") || is(n, "instrText") || is(n, "Fallback") ||
                   is(n, "rPr") || is(n, "pPr") || is(n, "sectPr") || is(n, "moveFrom") ||
                   is(n, "delInstrText")) {
            continue;
        } else {
            walk_docx(s, n->children, depth + 1);
            if (is(n, "p"))
                para_end(s);
        }
    }
}

static void walk_odt(docx_t *d, ty__str_t *s, const xmlNode *n, int depth)
{
    for (; n && depth < 256; n = n->next) {
        if (n->type == XML_TEXT_NODE && n->content) {
            /* ODF: runs of spaces in text are one space; text:s gives more */
            ty__str_put_ws(s, (const char *)n->content, strlen((const char *)n->content), 0);
            continue;
        }
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (is(n, "s")) {
            xmlChar *c = d->X->xmlGetProp(n, (const xmlChar *)"c");
            long k = c ? strtol((const char *)c, NULL, 10) : 1;
            d->X->xfree(c);
            for (long i = 0; i < k && i < 1000; i++)
                ty__str_putc(s, ' ');
        } else if (is(n, "tab")) {
            ty__str_putc(s, '\t');
        } else if (is(n, "line-break")) {
            ty__str_putc(s, '\n');
        } else if (is(n, "note-citation") || is(n, "annotation") || is(n, "tracked-changes") ||
                   is(n, "annotation-end")) {
            continue;
        } else if (is(n, "note-body")) {
            walk_odt(d, &d->notes, n->children, depth + 1);
            para_end(&d->notes);
        } else {
            walk_odt(d, s, n->children, depth + 1);
            if (is(n, "p") || is(n, "h"))
                para_end(s);
        }
    }
}

/* The entry's bytes (malloc()ed, NUL-terminated): 1; 0 if the archive has no such entry; an
 * error code with err set. */
static int read_part(const docx_t *d, zip_t *z, const char *part, const char *name, char **out,
                     size_t *len, char *err)
{
    const ty__libzip_t *Z = d->Z;
    *out = NULL;
    *len = 0;
    zip_int64_t i = Z->zip_name_locate(z, part, 0);
    if (i < 0)
        return 0;
    zip_stat_t st;
    Z->zip_stat_init(&st);
    if (Z->zip_stat_index(z, (zip_uint64_t)i, 0, &st) == 0 && (st.valid & ZIP_STAT_SIZE) &&
        st.size > PART_MAX)
        return ty__err(err, TY_ETOOBIG, "%s: %s: %llu bytes uncompressed, more than %llu", name,
                       part, (unsigned long long)st.size, (unsigned long long)PART_MAX);
    if ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) && st.encryption_method != ZIP_EM_NONE)
        return ty__err(err, TY_EUNSUPPORTED, "%s: %s is encrypted: not read", name, part);
    zip_file_t *f = Z->zip_fopen_index(z, (zip_uint64_t)i, 0);
    if (!f) {
        zip_error_t *ze = Z->zip_get_error(z);
        int code = Z->zip_error_code_zip(ze);
        return ty__err(err,
                       code == ZIP_ER_NOPASSWD || code == ZIP_ER_WRONGPASSWD ? TY_EUNSUPPORTED
                                                                             : TY_ECORRUPT,
                       "%s: %s: %s", name, part, Z->zip_error_strerror(ze));
    }
    size_t cap = (st.valid & ZIP_STAT_SIZE) && st.size < PART_MAX ? (size_t)st.size + 1 : 65536;
    char *b = malloc(cap + 1);
    size_t n = 0;
    int rc = b ? TY_OK : ty__err(err, TY_ENOMEM, "%s: out of memory", name);
    while (rc == TY_OK) {
        if (n == cap) {
            if (cap >= PART_MAX) {
                rc = ty__err(err, TY_ETOOBIG, "%s: %s: more than %llu bytes uncompressed", name,
                             part, (unsigned long long)PART_MAX);
                break;
            }
            char *p = realloc(b, cap * 2 + 1);
            if (!p) {
                rc = ty__err(err, TY_ENOMEM, "%s: out of memory", name);
                break;
            }
            b = p;
            cap *= 2;
        }
        zip_int64_t r = Z->zip_fread(f, b + n, cap - n);
        if (r < 0) {
            rc = ty__err(err, TY_ECORRUPT, "%s: %s: %s (a damaged archive)", name, part,
                         Z->zip_error_strerror(Z->zip_file_get_error(f)));
            break;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    Z->zip_fclose(f);
    if (rc) {
        free(b);
        return rc;
    }
    b[n] = 0;
    *out = b;
    *len = n;
    return 1;
}

/* Parse one XML part; NULL with err set. */
static xmlDoc *parse_part(const docx_t *d, const char *buf, size_t len, const char *part,
                          const char *name, char *err)
{
    const ty__libxml_t *X = d->X;
    xmlParserCtxtPtr ctx = X->xmlNewParserCtxt();
    if (!ctx) {
        ty__err(err, TY_ENOMEM, "%s: out of memory", name);
        return NULL;
    }
    /* no network, no external entities (not substituted: XML_PARSE_NOENT is not set) */
    xmlDoc *doc = len > (size_t)INT32_MAX
                      ? NULL
                      : X->xmlCtxtReadMemory(ctx, buf, (int)len, NULL, NULL,
                                             XML_PARSE_NONET | XML_PARSE_NOERROR |
                                                 XML_PARSE_NOWARNING | XML_PARSE_COMPACT);
    if (!doc || !ctx->wellFormed) {
        const xmlError *e = &ctx->lastError;
        char msg[160];
        snprintf(msg, sizeof msg, "%s", e->message ? e->message : "not well-formed");
        size_t ml = strlen(msg);
        while (ml && (msg[ml - 1] == '\n' || msg[ml - 1] == ' '))
            msg[--ml] = 0;
        ty__err(err, TY_ECORRUPT, "%s: %s: XML broken at line %d: %s", name, part, e->line, msg);
        if (doc)
            X->xmlFreeDoc(doc);
        doc = NULL;
    }
    X->xmlFreeParserCtxt(ctx);
    return doc;
}

/* The text of the first element named local (dc:title) */
static char *first_text(const ty__libxml_t *X, const xmlNode *n, const char *local, int depth)
{
    for (; n && depth < 64; n = n->next) {
        if (is(n, local)) {
            ty__str_t r;
            if (ty__xml_text(X, n, &r))
                return NULL;
            if (r.oom || !r.n || (r.n == 1 && r.a[0] == ' ')) {
                free(r.a);
                return NULL;
            }
            return r.a;
        }
        char *x = n->type == XML_ELEMENT_NODE ? first_text(X, n->children, local, depth + 1) : NULL;
        if (x)
            return x;
    }
    return NULL;
}

/* Read part into the walk (required: a missing part is an error). */
static int do_part(zip_t *z, docx_t *d, const char *part, int required, int notes, const char *name,
                   char *err)
{
    char *x;
    size_t xl;
    int rc = read_part(d, z, part, name, &x, &xl, err);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return required ? ty__err(err, TY_ECORRUPT, "%s: no %s in the archive: not a %s file", name,
                                  part, d->odt ? "OpenDocument text (.odt)" : "Word (.docx)")
                        : TY_OK;
    xmlDoc *doc = parse_part(d, x, xl, part, name, err);
    free(x);
    if (!doc)
        return TY_ECORRUPT;
    const xmlNode *root = d->X->xmlDocGetRootElement(doc);
    if (d->odt) {
        walk_odt(d, &d->body, root, 0);
    } else if (!notes) {
        walk_docx(&d->body, root, 0);
    } else {
        /* footnotes/endnotes: each note but the separators */
        for (const xmlNode *n = root ? root->children : NULL; n; n = n->next) {
            if (!is(n, "footnote") && !is(n, "endnote"))
                continue;
            xmlChar *type = NULL;
            for (xmlAttr *a = n->properties; a; a = a->next)
                if (a->name && strcmp((const char *)a->name, "type") == 0)
                    type = d->X->xmlNodeGetContent((const xmlNode *)a);
            int sep = type && strcmp((const char *)type, "normal") != 0;
            d->X->xfree(type);
            if (!sep)
                walk_docx(&d->notes, n->children, 1);
        }
    }
    d->X->xmlFreeDoc(doc);
    return TY_OK;
}

int ty__docx_extract(ty__text_t *out, const char *buf, size_t len, int format, const char *name,
                     char *err)
{
    char why[TY_ERRMSG_SIZE];
    const ty__libxml_t *X = ty__lib_xml(why);
    const ty__libzip_t *Z = X ? ty__lib_zip(why) : NULL;
    if (!X || !Z)
        return ty__err(err, TY_EUNSUPPORTED, "%s: %s", name, why);
    zip_error_t ze;
    Z->zip_error_init(&ze);
    zip_source_t *src = Z->zip_source_buffer_create(buf, len, 0, &ze);
    if (!src) {
        Z->zip_error_fini(&ze);
        return ty__err(err, TY_ENOMEM, "%s: out of memory", name);
    }
    zip_t *z = Z->zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &ze);
    if (!z) {
        int trunc = len < 22 || Z->zip_error_code_zip(&ze) == ZIP_ER_NOZIP ||
                    Z->zip_error_code_zip(&ze) == ZIP_ER_INCONS;
        ty__err(err, TY_ECORRUPT, "%s: not a readable zip archive (%s)%s", name,
                Z->zip_error_strerror(&ze),
                trunc ? ": truncated or damaged (a .docx/.odt is a zip archive)" : "");
        Z->zip_source_free(src);
        Z->zip_error_fini(&ze);
        return TY_ECORRUPT;
    }
    Z->zip_error_fini(&ze);
    docx_t d;
    memset(&d, 0, sizeof d);
    d.odt = format == TY_FORMAT_ODT;
    d.X = X;
    d.Z = Z;
    int rc;
    char *title = NULL;
    if (d.odt) {
        rc = do_part(z, &d, "content.xml", 1, 0, name, err);
    } else {
        rc = do_part(z, &d, "word/document.xml", 1, 0, name, err);
        if (!rc)
            rc = do_part(z, &d, "word/footnotes.xml", 0, 1, name, err);
        if (!rc)
            rc = do_part(z, &d, "word/endnotes.xml", 0, 1, name, err);
    }
    if (!rc) {
        /* the title: a damaged properties part is not worth failing the document for */
        char *x;
        size_t xl;
        char ignored[TY_ERRMSG_SIZE];
        if (read_part(&d, z, d.odt ? "meta.xml" : "docProps/core.xml", name, &x, &xl, ignored) ==
            1) {
            xmlDoc *doc = parse_part(&d, x, xl, "properties", name, ignored);
            if (doc) {
                title = first_text(X, X->xmlDocGetRootElement(doc), "title", 0);
                X->xmlFreeDoc(doc);
            }
            free(x);
        }
    }
    Z->zip_discard(z);
    if (!rc && d.notes.n) {
        para_end(&d.body);
        ty__str_put(&d.body, d.notes.a, d.notes.n);
    }
    if (!rc && (d.body.oom || d.notes.oom))
        rc = ty__err(err, TY_ENOMEM, "%s: out of memory", name);
    if (!rc && !d.body.a && !(d.body.a = calloc(1, 1)))
        rc = ty__err(err, TY_ENOMEM, "%s: out of memory", name);
    free(d.notes.a);
    if (rc) {
        free(d.body.a);
        free(title);
        return rc;
    }
    out->text = d.body.a;
    out->len = d.body.n;
    out->title = title;
    return TY_OK;
}
