/*
 * fuzz_docx.c — arbitrary bytes → a Word .docx or an OpenDocument .odt file (docx.c: libzip
 * opening the archive from memory, libxml2 parsing word/document.xml, footnotes, endnotes,
 * content.xml and the properties).
 *
 * The input's first byte picks the format: even DOCX, odd ODT (it stays part of the archive:
 * zip archives start with "PK", even; an ODT seed is given a leading odd byte, which libzip
 * ignores as prefix data before the archive).
 *
 * Invariants checked (fz_load_extracted): a known outcome (a damaged archive or part is
 * TY_ECORRUPT, an encrypted entry TY_EUNSUPPORTED, no text TY_EEMPTY); text and title
 * well-formed UTF-8; a failure names the file.
 */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int odt = size && (data[0] & 1);
    fz_load_extracted(data, size, odt ? TY_FORMAT_ODT : TY_FORMAT_DOCX, NULL);
    return 0;
}
