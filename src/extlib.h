/*
 * extlib.h — the libraries of the extraction stages, loaded on first use (extlib.c): libxml2
 * (html.c, docx.c), libzip (docx.c), uchardet (encoding.c) and poppler-glib (pdf.c). Not
 * installed.
 *
 * Why not link them: together they bring some 50 shared libraries (poppler alone: cairo,
 * freetype, fontconfig, NSS, lcms ...; libxml2: ICU), which every start of `tongyuan` would
 * map and relocate — many times what comparing a pair of UTF-8 files costs. Loaded with
 * dlopen() the first time a document needs them, a run on UTF-8 text never pays for them.
 *
 * Each ty__lib_*() returns the table of functions (valid for the life of the process), or
 * NULL with a message in err (TY_ERRMSG_SIZE) naming what to install. Thread-safe: the first
 * call loads the library once (pthread_once).
 */
#ifndef TY_EXTLIB_H
#define TY_EXTLIB_H

#include <glib.h>
#include <libxml/HTMLparser.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <poppler.h>
#include <uchardet.h>
#include <zip.h>

#include "extract.h"

typedef struct {
    void (*xmlInitParser)(void);
    htmlDocPtr (*htmlReadMemory)(const char *, int, const char *, const char *, int);
    xmlParserCtxtPtr (*xmlNewParserCtxt)(void);
    xmlDocPtr (*xmlCtxtReadMemory)(xmlParserCtxtPtr, const char *, int, const char *, const char *,
                                   int);
    void (*xmlFreeParserCtxt)(xmlParserCtxtPtr);
    xmlNodePtr (*xmlDocGetRootElement)(const xmlDoc *);
    void (*xmlFreeDoc)(xmlDocPtr);
    xmlChar *(*xmlGetProp)(const xmlNode *, const xmlChar *);
    xmlChar *(*xmlNodeGetContent)(const xmlNode *);
    xmlFreeFunc xfree; /* the value of libxml2's xmlFree */
} ty__libxml_t;

typedef struct {
    void (*zip_error_init)(zip_error_t *);
    void (*zip_error_fini)(zip_error_t *);
    int (*zip_error_code_zip)(const zip_error_t *);
    const char *(*zip_error_strerror)(zip_error_t *);
    zip_source_t *(*zip_source_buffer_create)(const void *, zip_uint64_t, int, zip_error_t *);
    void (*zip_source_free)(zip_source_t *);
    zip_t *(*zip_open_from_source)(zip_source_t *, int, zip_error_t *);
    void (*zip_discard)(zip_t *);
    zip_int64_t (*zip_name_locate)(zip_t *, const char *, zip_flags_t);
    void (*zip_stat_init)(zip_stat_t *);
    int (*zip_stat_index)(zip_t *, zip_uint64_t, zip_flags_t, zip_stat_t *);
    zip_file_t *(*zip_fopen_index)(zip_t *, zip_uint64_t, zip_flags_t);
    zip_error_t *(*zip_get_error)(zip_t *);
    zip_int64_t (*zip_fread)(zip_file_t *, void *, zip_uint64_t);
    zip_error_t *(*zip_file_get_error)(zip_file_t *);
    int (*zip_fclose)(zip_file_t *);
} ty__libzip_t;

typedef struct {
    uchardet_t (*uchardet_new)(void);
    void (*uchardet_delete)(uchardet_t);
    int (*uchardet_handle_data)(uchardet_t, const char *, size_t);
    void (*uchardet_data_end)(uchardet_t);
    const char *(*uchardet_get_charset)(uchardet_t);
} ty__libuchardet_t;

typedef struct {
    PopplerDocument *(*poppler_document_new_from_bytes)(GBytes *, const char *, GError **);
    int (*poppler_document_get_n_pages)(PopplerDocument *);
    PopplerPage *(*poppler_document_get_page)(PopplerDocument *, int);
    char *(*poppler_page_get_text)(PopplerPage *);
    gchar *(*poppler_document_get_title)(PopplerDocument *);
    GQuark (*poppler_error_quark)(void);
    GBytes *(*g_bytes_new_static)(gconstpointer, gsize);
    void (*g_bytes_unref)(GBytes *);
    void (*g_error_free)(GError *);
    void (*g_free)(gpointer);
    gboolean (*g_utf8_validate)(const gchar *, gssize, const gchar **);
    gchar *(*g_utf8_make_valid)(const gchar *, gssize);
    guint (*g_log_set_handler)(const gchar *, GLogLevelFlags, GLogFunc, gpointer);
    void (*g_object_unref)(gpointer);
} ty__libpoppler_t;

const ty__libxml_t *ty__lib_xml(char *err);
/* The text of node n (html.c: an HTML <title>, docx.c: a dc:title) into s (set here): its
 * content, white space folded as ty__str_put_ws() does and trimmed at the end; -1 when
 * libxml2 gave none (s empty). */
int ty__xml_text(const ty__libxml_t *X, const xmlNode *n, ty__str_t *s);
const ty__libzip_t *ty__lib_zip(char *err);
const ty__libuchardet_t *ty__lib_uchardet(char *err);
const ty__libpoppler_t *ty__lib_poppler(char *err);

#endif
