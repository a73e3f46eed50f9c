/* ovscan — JSON-lines / CSV row writer (see table_output.h).  Cost: one
 * quoted copy per string field. */
#include "cli/table_output.h"

#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/quote.h"

/* A spreadsheet (Excel, LibreOffice, Sheets) reads a cell that starts
 * with one of these as a formula: "=HYPERLINK(...)" in a guest name would
 * run when the report is opened.  TAB and CR cannot survive ov_quote_path
 * (they become \t \r) but are listed as the usual guidance lists them. */
static bool
starts_like_formula (const char *s)
{
  return s[0] != '\0' && strchr ("=+-@\t\r", s[0]) != NULL;
}

void
ov_csv_write_field (FILE *fp, const char *s)
{
  CLEANUP_FREE char *q = s ? ov_quote_path (s) : NULL;

  fputc ('"', fp);
  if (q && starts_like_formula (q))
    fputc ('\'', fp);          /* shown as text, the apostrophe hidden */
  for (const char *p = q ? q : ""; *p; p++) {
    if (*p == '"')
      fputc ('"', fp);
    fputc (*p, fp);
  }
  fputc ('"', fp);
}

void
ov_json_write_quoted (FILE *fp, const char *s)
{
  CLEANUP_FREE char *q = s ? ov_quote_path (s) : NULL;

  if (s == NULL)
    fputs ("null", fp);
  else
    ov_json_write_string (fp, q ? q : "");
}

void
ov_row_csv_header (const char *const *keys, size_t n)
{
  for (size_t i = 0; i < n; i++)
    printf ("%s%s", i ? "," : "", keys[i]);
  putchar ('\n');
}

void
ov_row_begin (struct ov_row *r)
{
  r->fields = 0;
  if (r->format == OV_REPORT_JSON)
    putchar ('{');
}

/* Separator and key; the caller writes the value. */
static void
field (struct ov_row *r, const char *key)
{
  if (r->fields++)
    putchar (',');
  if (r->format == OV_REPORT_JSON)
    printf ("\"%s\":", key);
}

void
ov_row_str (struct ov_row *r, const char *key, const char *value)
{
  field (r, key);
  if (r->format == OV_REPORT_JSON)
    ov_json_write_quoted (stdout, value);
  else
    ov_csv_write_field (stdout, value);
}

void
ov_row_u64 (struct ov_row *r, const char *key, uint64_t value)
{
  field (r, key);
  printf ("%" PRIu64, value);
}

void
ov_row_i64 (struct ov_row *r, const char *key, int64_t value)
{
  field (r, key);
  printf ("%" PRId64, value);
}

void
ov_row_num (struct ov_row *r, const char *key, double value, int decimals,
            bool present)
{
  field (r, key);
  if (present)
    printf ("%.*f", decimals, value);
  else if (r->format == OV_REPORT_JSON)
    fputs ("null", stdout);
}

void
ov_row_end (struct ov_row *r)
{
  if (r->format == OV_REPORT_JSON)
    putchar ('}');
  putchar ('\n');
}

const char *
ov_format_time (double t, char *buf, size_t size)
{
  time_t s = (time_t) t;
  struct tm tm;

  if (t <= 0 || gmtime_r (&s, &tm) == NULL
      || strftime (buf, size, "%Y-%m-%d %H:%M:%S", &tm) == 0)
    snprintf (buf, size, "-");
  return buf;
}
