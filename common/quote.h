/* ovscan — making guest-controlled names safe to print.
 *
 * A guest file name is arbitrary bytes: newlines, terminal escapes, invalid
 * UTF-8, thousands of bytes.  Every name ovscan prints — text or JSON — first
 * goes through ov_quote_path(), which gives valid UTF-8 with no control
 * characters and stays unambiguous (reversible):
 *
 *   backslash                   -> \\
 *   bytes < 0x20, 0x7f          -> \n \t \r, or \xNN
 *   bytes that are not part of
 *   a valid UTF-8 sequence      -> \xNN
 *   everything else (valid UTF-8, incl. spaces and quotes) unchanged.
 *
 * The JSON writer then escapes `"` (and nothing else is needed).
 */
#ifndef OVSCAN_COMMON_QUOTE_H
#define OVSCAN_COMMON_QUOTE_H

#include <stddef.h>
#include <stdio.h>

/* malloc'd quoted copy of s (len bytes), or NULL on ENOMEM. */
char *ov_quote_bytes (const char *s, size_t len);
static inline char *ov_quote_path (const char *s) { return ov_quote_bytes (s, __builtin_strlen (s)); }

/* Write s (must already be valid UTF-8, e.g. from ov_quote_path) as a JSON
 * string literal with its quotes. */
void ov_json_write_string (FILE *fp, const char *s);

/* Length of the valid UTF-8 sequence at s (1-4), or 0 if s[0..avail) does not
 * start one (overlongs, surrogates and > U+10FFFF are invalid). */
size_t ov_utf8_sequence_length (const unsigned char *s, size_t avail);

#endif
