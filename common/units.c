/* ovscan — sizes and durations typed by users (see units.h). */
#include "units.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "error.h"

int
ov_parse_size (const char *s, uint64_t *out)
{
  unsigned long long v;
  char *end;
  unsigned shift = 0;

  if (s == NULL || !isdigit ((unsigned char) s[0]))
    goto bad;
  errno = 0;
  v = strtoull (s, &end, 10);
  if (errno == ERANGE)
    goto bad;
  switch (toupper ((unsigned char) *end)) {
  case 'K': shift = 10; end++; break;
  case 'M': shift = 20; end++; break;
  case 'G': shift = 30; end++; break;
  case 'T': shift = 40; end++; break;
  }
  if (shift && (strcasecmp (end, "iB") == 0 || strcasecmp (end, "B") == 0))
    end += strlen (end);
  else if (!shift && strcasecmp (end, "B") == 0)
    end++;
  if (*end != '\0')
    goto bad;
  if (shift && v > (UINT64_MAX >> shift))
    goto bad;
  *out = (uint64_t) v << shift;
  return 0;
 bad:
  ov_error ("invalid size '%s' (expected a number with an optional K, M, G or T suffix)",
            s ? s : "");
  return -1;
}

int
ov_parse_duration (const char *s, double *seconds)
{
  static const struct { const char *unit; double seconds; } units[] = {
    { "", 1 }, { "s", 1 }, { "sec", 1 }, { "m", 60 }, { "min", 60 },
    { "h", 3600 }, { "d", 86400 },
  };
  char *end;
  double v;

  /* Digits and one optional fraction only: no sign, blank, hex or
   * exponent that strtod would take. */
  if (s == NULL || !isdigit ((unsigned char) s[0]))
    goto bad;
  errno = 0;
  v = strtod (s, &end);
  if (errno || !isfinite (v) || v <= 0
      || strspn (s, "0123456789.") != (size_t) (end - s))
    goto bad;
  for (size_t i = 0; i < sizeof units / sizeof *units; i++)
    if (strcmp (end, units[i].unit) == 0) {
      if (v * units[i].seconds > OV_MAX_DURATION)
        goto bad;
      *seconds = v * units[i].seconds;
      return 0;
    }
 bad:
  ov_error ("bad duration '%s' (a positive number with s, m, h or d, "
            "e.g. 45m; at most 365d)", s ? s : "");
  return -1;
}

const char *
ov_format_size (uint64_t bytes, char *buf, size_t len)
{
  static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
  double v = bytes;
  unsigned u = 0;

  while (v >= 1024 && u + 1 < sizeof units / sizeof units[0]) {
    v /= 1024;
    u++;
  }
  if (u == 0)
    snprintf (buf, len, "%llu B", (unsigned long long) bytes);
  else
    snprintf (buf, len, "%.2f %s", v, units[u]);
  return buf;
}
