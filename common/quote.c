/* ovscan — quoting of guest names (see quote.h for the scheme). */
#include "quote.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

size_t
ov_utf8_sequence_length (const unsigned char *s, size_t avail)
{
  unsigned c = s[0];
  size_t n, i;
  unsigned long cp;

  if (avail == 0)
    return 0;
  if (c < 0x80)
    return 1;
  if (c >= 0xc2 && c <= 0xdf) { n = 2; cp = c & 0x1f; }
  else if (c >= 0xe0 && c <= 0xef) { n = 3; cp = c & 0x0f; }
  else if (c >= 0xf0 && c <= 0xf4) { n = 4; cp = c & 0x07; }
  else
    return 0;
  if (avail < n)
    return 0;
  for (i = 1; i < n; i++) {
    if ((s[i] & 0xc0) != 0x80)
      return 0;
    cp = (cp << 6) | (s[i] & 0x3f);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
      (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
    return 0;
  return n;
}

char *
ov_quote_bytes (const char *s, size_t len)
{
  const unsigned char *u = (const unsigned char *) s;
  /* Worst case: every byte becomes \xNN (4 bytes). */
  char *out, *p;
  size_t i = 0;

  if (len > (SIZE_MAX - 1) / 4)
    return NULL;
  out = p = malloc (len * 4 + 1);
  if (out == NULL)
    return NULL;
  while (i < len) {
    unsigned c = u[i];
    size_t n;

    if (c == '\\') { *p++ = '\\'; *p++ = '\\'; i++; continue; }
    if (c == '\n') { *p++ = '\\'; *p++ = 'n'; i++; continue; }
    if (c == '\t') { *p++ = '\\'; *p++ = 't'; i++; continue; }
    if (c == '\r') { *p++ = '\\'; *p++ = 'r'; i++; continue; }
    if (c < 0x20 || c == 0x7f) {
      p += sprintf (p, "\\x%02x", c);
      i++;
      continue;
    }
    n = ov_utf8_sequence_length (u + i, len - i);
    if (n == 0) {
      p += sprintf (p, "\\x%02x", c);
      i++;
      continue;
    }
    /* C1 control characters (U+0080..U+009F) can drive terminals too. */
    if (n == 2 && c == 0xc2 && u[i + 1] < 0xa0) {
      p += sprintf (p, "\\x%02x\\x%02x", c, u[i + 1]);
      i += 2;
      continue;
    }
    memcpy (p, u + i, n);
    p += n;
    i += n;
  }
  *p = '\0';
  return out;
}

void
ov_json_write_string (FILE *fp, const char *s)
{
  const unsigned char *u = (const unsigned char *) s;

  putc ('"', fp);
  for (; *u; u++) {
    switch (*u) {
    case '"':  fputs ("\\\"", fp); break;
    case '\\': fputs ("\\\\", fp); break;
    case '\n': fputs ("\\n", fp); break;
    case '\t': fputs ("\\t", fp); break;
    case '\r': fputs ("\\r", fp); break;
    default:
      if (*u < 0x20 || *u == 0x7f)
        fprintf (fp, "\\u%04x", *u);
      else
        putc (*u, fp);
    }
  }
  putc ('"', fp);
}
