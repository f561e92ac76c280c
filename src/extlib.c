/*
 * extlib.c — libxml2, libzip, uchardet and poppler-glib, loaded with dlopen() the first time a
 * document needs them (see extlib.h for why). The names loaded are the libraries' sonames as
 * the build found them (the Makefile passes TY_SONAME_*; the Debian 12 names otherwise), so a
 * binary built against one version loads that version.
 *
 * A missing library is an error for the documents that need it (TY_EUNSUPPORTED from the
 * stage, with this message), not for the program: UTF-8 text and JSONL never load them.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "extlib.h"
#include "internal.h"

#ifndef TY_SONAME_XML
#define TY_SONAME_XML "libxml2.so.2"
#endif
#ifndef TY_SONAME_ZIP
#define TY_SONAME_ZIP "libzip.so.4"
#endif
#ifndef TY_SONAME_UCHARDET
#define TY_SONAME_UCHARDET "libuchardet.so.0"
#endif
#ifndef TY_SONAME_POPPLER
#define TY_SONAME_POPPLER "libpoppler-glib.so.8"
#endif

typedef struct {
    const char *soname, *package, *why;
    pthread_once_t once;
    int ok;
    char err[256];
    void *h;
} lib_t;

/* dlsym into *slot (a function pointer of the table); 0, or -1 with l->err set. Function and
 * object pointers share one representation on every POSIX system (dlsym depends on it). */
static int sym(lib_t *l, const char *name, void *slot)
{
    void *p = dlsym(l->h, name);
    if (!p) {
        snprintf(l->err, sizeof l->err, "%s lacks %s (a different version?)", l->soname, name);
        return -1;
    }
    memcpy(slot, &p, sizeof p);
    return 0;
}

static int open_lib(lib_t *l)
{
    l->h = dlopen(l->soname, RTLD_NOW | RTLD_LOCAL);
    if (!l->h) {
        const char *e = dlerror();
        snprintf(l->err, sizeof l->err, "%s: %s (Debian: apt-get install %s)", l->why,
                 e ? e : l->soname, l->package);
        return -1;
    }
    return 0;
}

#define SYM(l, t, f) (sym(l, #f, &(t).f) == 0)

/* table once load() has filled it from l (every thread waiting for the first), or NULL with
 * l's message in err. */
static const void *lib_get(lib_t *l, void (*load)(void), const void *table, char *err)
{
    pthread_once(&l->once, load);
    if (!l->ok) {
        ty__err(err, TY_EUNSUPPORTED, "%s", l->err);
        return NULL;
    }
    return table;
}

/* ---- libxml2 ---- */
static lib_t xml_lib = {.soname = TY_SONAME_XML,
                        .package = "libxml2",
                        .why = "reading HTML, .docx and .odt needs libxml2",
                        .once = PTHREAD_ONCE_INIT};
static ty__libxml_t xml_t;

static void load_xml(void)
{
    lib_t *l = &xml_lib;
    xmlFreeFunc *fp = NULL;
    if (open_lib(l) || !SYM(l, xml_t, xmlInitParser) || !SYM(l, xml_t, htmlReadMemory) ||
        !SYM(l, xml_t, xmlNewParserCtxt) || !SYM(l, xml_t, xmlCtxtReadMemory) ||
        !SYM(l, xml_t, xmlFreeParserCtxt) || !SYM(l, xml_t, xmlDocGetRootElement) ||
        !SYM(l, xml_t, xmlFreeDoc) || !SYM(l, xml_t, xmlGetProp) ||
        !SYM(l, xml_t, xmlNodeGetContent) || sym(l, "xmlFree", &fp) != 0 || !fp || !*fp)
        return;
    xml_t.xfree = *fp;
    xml_t.xmlInitParser(); /* once, before any thread parses (libxml2's rule) */
    l->ok = 1;
}

const ty__libxml_t *ty__lib_xml(char *err) { return lib_get(&xml_lib, load_xml, &xml_t, err); }

/* ---- libzip ---- */
static lib_t zip_lib = {.soname = TY_SONAME_ZIP,
                        .package = "libzip4",
                        .why = "reading .docx and .odt needs libzip",
                        .once = PTHREAD_ONCE_INIT};
static ty__libzip_t zip_t_;

static void load_zip(void)
{
    lib_t *l = &zip_lib;
    ty__libzip_t *t = &zip_t_;
    if (open_lib(l) || !SYM(l, *t, zip_error_init) || !SYM(l, *t, zip_error_fini) ||
        !SYM(l, *t, zip_error_code_zip) || !SYM(l, *t, zip_error_strerror) ||
        !SYM(l, *t, zip_source_buffer_create) || !SYM(l, *t, zip_source_free) ||
        !SYM(l, *t, zip_open_from_source) || !SYM(l, *t, zip_discard) ||
        !SYM(l, *t, zip_name_locate) || !SYM(l, *t, zip_stat_init) || !SYM(l, *t, zip_stat_index) ||
        !SYM(l, *t, zip_fopen_index) || !SYM(l, *t, zip_get_error) || !SYM(l, *t, zip_fread) ||
        !SYM(l, *t, zip_file_get_error) || !SYM(l, *t, zip_fclose))
        return;
    l->ok = 1;
}

const ty__libzip_t *ty__lib_zip(char *err) { return lib_get(&zip_lib, load_zip, &zip_t_, err); }

/* ---- uchardet ---- */
static lib_t ud_lib = {.soname = TY_SONAME_UCHARDET,
                       .package = "libuchardet0",
                       .why = "telling the charset of text that is not UTF-8 needs uchardet",
                       .once = PTHREAD_ONCE_INIT};
static ty__libuchardet_t ud_t;

static void load_uchardet(void)
{
    lib_t *l = &ud_lib;
    if (open_lib(l) || !SYM(l, ud_t, uchardet_new) || !SYM(l, ud_t, uchardet_delete) ||
        !SYM(l, ud_t, uchardet_handle_data) || !SYM(l, ud_t, uchardet_data_end) ||
        !SYM(l, ud_t, uchardet_get_charset))
        return;
    l->ok = 1;
}

const ty__libuchardet_t *ty__lib_uchardet(char *err)
{
    return lib_get(&ud_lib, load_uchardet, &ud_t, err);
}

/* ---- poppler-glib (GLib and GObject come with it: dlsym searches its dependencies) ---- */
static lib_t pdf_lib = {.soname = TY_SONAME_POPPLER,
                        .package = "libpoppler-glib8 poppler-data",
                        .why = "reading PDF needs poppler-glib",
                        .once = PTHREAD_ONCE_INIT};
static ty__libpoppler_t pdf_t;

static void load_poppler(void)
{
    lib_t *l = &pdf_lib;
    ty__libpoppler_t *t = &pdf_t;
    if (open_lib(l) || !SYM(l, *t, poppler_document_new_from_bytes) ||
        !SYM(l, *t, poppler_document_get_n_pages) || !SYM(l, *t, poppler_document_get_page) ||
        !SYM(l, *t, poppler_page_get_text) || !SYM(l, *t, poppler_document_get_title) ||
        !SYM(l, *t, poppler_error_quark) || !SYM(l, *t, g_bytes_new_static) ||
        !SYM(l, *t, g_bytes_unref) || !SYM(l, *t, g_error_free) || !SYM(l, *t, g_free) ||
        !SYM(l, *t, g_utf8_validate) || !SYM(l, *t, g_utf8_make_valid) ||
        !SYM(l, *t, g_log_set_handler) || !SYM(l, *t, g_object_unref))
        return;
    l->ok = 1;
}

const ty__libpoppler_t *ty__lib_poppler(char *err)
{
    return lib_get(&pdf_lib, load_poppler, &pdf_t, err);
}
