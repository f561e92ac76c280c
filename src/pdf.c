/*
 * pdf.c — a PDF file → its text in reading order (poppler-glib: poppler's own text layout,
 * the one pdftotext uses), a form feed between pages so that the page of any offset is one
 * more than the form feeds before it ("page 3" in reports), and the document's title.
 *
 * Chinese PDFs with the standard CID fonts (STSong-Light and the like, Adobe-GB1) need
 * poppler-data's CMaps to map glyphs back to characters: scripts/deps.sh installs it.
 *
 * Shortcuts taken on purpose:
 *   - poppler-glib is loaded on the first PDF (extlib.c), not linked.
 *   - poppler is called under one process-wide mutex: its global state (font caches,
 *     GlobalParams) has not always been safe to use from several threads at once, and PDF
 *     extraction is rare next to tokenizing; the mutex costs nothing when one thread reads.
 *   - poppler reports syntax errors in damaged files through GLib's log ("Poppler" domain),
 *     which prints to stderr by default. A library must not print: the first use installs a
 *     handler that drops the Poppler domain's messages (the error that matters comes back as
 *     a GError and becomes our message).
 *   - an encrypted PDF that needs a password is TY_EUNSUPPORTED; one with an owner password
 *     only (printing, copying restricted) opens without one and is read.
 */
#include <pthread.h>
#include <string.h>

#include "extlib.h"
#include "extract.h"

static pthread_mutex_t pdf_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t pdf_once = PTHREAD_ONCE_INIT;

static void quiet(const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer user)
{
    (void)domain;
    (void)level;
    (void)msg;
    (void)user;
}

static const ty__libpoppler_t *P; /* set once by pdf_init */

static void pdf_init(void)
{
    char err[TY_ERRMSG_SIZE];
    P = ty__lib_poppler(err);
    if (P)
        P->g_log_set_handler("Poppler", (GLogLevelFlags)(G_LOG_LEVEL_MASK | G_LOG_FLAG_RECURSION),
                             quiet, NULL);
}

int ty__pdf_extract(ty__text_t *out, const char *buf, size_t len, const char *name, char *err)
{
    pthread_once(&pdf_once, pdf_init);
    if (!P) {
        char why[TY_ERRMSG_SIZE];
        ty__lib_poppler(why);
        return ty__err(err, TY_EUNSUPPORTED, "%s: %s", name, why);
    }
    if (len > (size_t)INT32_MAX)
        return ty__err(err, TY_ETOOBIG, "%s: PDF too large", name);
    pthread_mutex_lock(&pdf_mu);
    GBytes *gb = P->g_bytes_new_static(buf, len);
    GError *e = NULL;
    PopplerDocument *doc = P->poppler_document_new_from_bytes(gb, NULL, &e);
    int rc = TY_OK;
    ty__str_t s = {0};
    char *title = NULL;
    uint32_t pages = 0;
    if (!doc) {
        if (e && e->domain == P->poppler_error_quark() && e->code == POPPLER_ERROR_ENCRYPTED)
            rc = ty__err(err, TY_EUNSUPPORTED,
                         "%s: an encrypted PDF that needs a password: not read", name);
        else
            rc = ty__err(err, TY_ECORRUPT, "%s: not a PDF that can be read (%s)", name,
                         e && e->message ? e->message : "poppler failed");
    } else {
        int n = P->poppler_document_get_n_pages(doc);
        pages = n > 0 ? (uint32_t)n : 0;
        for (int i = 0; i < n && !s.oom; i++) {
            PopplerPage *pg = P->poppler_document_get_page(doc, i);
            char *t = pg ? P->poppler_page_get_text(pg) : NULL;
            if (t) {
                size_t tl = strlen(t);
                if (!P->g_utf8_validate(t, (gssize)tl, NULL)) {
                    char *v = P->g_utf8_make_valid(t, (gssize)tl);
                    P->g_free(t);
                    t = v;
                    tl = strlen(t);
                }
                /* no form feeds of its own: ours mark the pages */
                for (size_t k = 0; k < tl; k++)
                    if (t[k] == '\f')
                        t[k] = '\n';
                ty__str_put(&s, t, tl);
                P->g_free(t);
            }
            if (pg)
                P->g_object_unref(pg);
            if (s.n && s.a[s.n - 1] != '\n')
                ty__str_putc(&s, '\n');
            if (i + 1 < n)
                ty__str_putc(&s, '\f');
        }
        char *ti = P->poppler_document_get_title(doc);
        if (ti && *ti && P->g_utf8_validate(ti, -1, NULL)) {
            title = strdup(ti);
            if (!title)
                s.oom = 1;
        }
        P->g_free(ti);
        P->g_object_unref(doc);
    }
    if (e)
        P->g_error_free(e);
    P->g_bytes_unref(gb);
    pthread_mutex_unlock(&pdf_mu);
    if (!rc && !s.a && !(s.a = calloc(1, 1)))
        s.oom = 1;
    if (!rc && s.oom)
        rc = ty__err(err, TY_ENOMEM, "%s: out of memory", name);
    if (rc) {
        free(s.a);
        free(title);
        return rc;
    }
    out->text = s.a;
    out->len = s.n;
    out->title = title;
    out->pages = pages;
    return TY_OK;
}
