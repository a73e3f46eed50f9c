/* ovscan — scanning a stream of bytes with libclamav through a pread callback.
 *
 * libclamav's fmap asks for pages of the stream through clcb_pread
 * (cl_fmap_open_handle with page aging, so a large file does not stay
 * resident); our callback clamps the request to the stream, loops until the
 * request is satisfied or the stream ends, counts the bytes it delivered, and
 * remembers the FIRST read error with its file offset.  libclamav's parsers
 * sometimes swallow a failed read and carry on, so a recorded read error makes
 * the verdict "error" even when cl_scanmap_callback says CL_CLEAN (a clean
 * verdict over bytes we could not read would be a lie); a detection still
 * wins, as its bytes were read.
 *
 * Scan options: exactly what clamscan 1.4 sets with no command-line options
 * (clamscan/manager.c + common/optparser.c defaults):
 *   general   = CL_SCAN_GENERAL_HEURISTICS      (--heuristic-alerts=yes)
 *   parse     = every CL_SCAN_PARSE_* bit        (--scan-archive/pe/elf/ole2/
 *               pdf/swf/html(+normalize)/mail/xmldocs/hwp3/onenote/image/
 *               image-fuzzy-hash, all default yes)
 *   heuristic = 0   (--alert-broken, -broken-media, -encrypted, -macros,
 *                    -exceeds-max, -phishing-ssl/-cloak,
 *                    -partition-intersection, --detect-structured: all no)
 *   mail      = 0   (CL_SCAN_MAIL_PARTIAL_MESSAGE is clamd/milter only)
 *   dev       = 0
 * Engine limits (max file size, max scan size) are set by signatures/ when the
 * engine is built; libclamav silently does not scan a map larger than the
 * engine's max file size, so such files are reported as skipped here before
 * any byte is read.
 *
 * Cost: libclamav reads each byte of a plain file once (plus re-reads by
 * parsers of containers); the callback adds one indirect call per page run.
 */
#include "scanner/internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <clamav.h>

#include "common/error.h"
#include "signatures/signatures.h"

const char *
ov_verdict_to_string (enum ov_verdict v)
{
  switch (v) {
  case OV_VERDICT_CLEAN: return "clean";
  case OV_VERDICT_INFECTED: return "infected";
  case OV_VERDICT_ERROR: return "error";
  case OV_VERDICT_SKIPPED: return "skipped";
  default: abort ();
  }
}

void
ov_scan_result_clear (struct ov_scan_result *result)
{
  free (result->error);
  memset (result, 0, sizeof *result);
}

void
ov_scan_default_options (struct cl_scan_options *o)
{
  memset (o, 0, sizeof *o);
  o->general = CL_SCAN_GENERAL_HEURISTICS;
  o->parse = ~0u;
  o->heuristic = 0;
  o->mail = 0;
  o->dev = 0;
}

struct stream {
  ov_scan_read_fn read;
  void *opaque;
  uint64_t size;
  uint64_t bytes_read;
  char *read_error;          /* first failure, malloc'd */
};

static off_t
stream_pread (void *handle, void *buf, size_t count, off_t offset)
{
  struct stream *s = handle;
  size_t done = 0;

  if (offset < 0)
    return -1;
  if ((uint64_t) offset >= s->size)
    return 0;
  if (count > s->size - (uint64_t) offset)
    count = s->size - (uint64_t) offset;

  while (done < count) {
    ssize_t r = s->read (s->opaque, (char *) buf + done, count - done,
                         (uint64_t) offset + done);
    if (r < 0) {
      if (s->read_error == NULL
          && asprintf (&s->read_error, "read failed at file offset %" PRIu64 ": %s",
                       (uint64_t) offset + done, ov_last_error ()) == -1)
        s->read_error = NULL;
      return -1;
    }
    if (r == 0) {            /* the content ends before its size */
      if (s->read_error == NULL
          && asprintf (&s->read_error, "read failed at file offset %" PRIu64
                       ": content ends before the file size (%" PRIu64 " bytes)",
                       (uint64_t) offset + done, s->size) == -1)
        s->read_error = NULL;
      return -1;
    }
    done += (size_t) r;
    s->bytes_read += (uint64_t) r;
  }
  return (off_t) done;
}

static void
set_error (struct ov_scan_result *result, enum ov_verdict verdict,
           const char *fmt, ...) __attribute__ ((format (printf, 3, 4)));

static void
set_error (struct ov_scan_result *result, enum ov_verdict verdict,
           const char *fmt, ...)
{
  va_list ap;
  result->verdict = verdict;
  free (result->error);
  va_start (ap, fmt);
  if (vasprintf (&result->error, fmt, ap) == -1)
    result->error = NULL;
  va_end (ap);
}

/* The largest file libclamav will scan with this engine and these limits. */
static uint64_t
effective_max_filesize (const struct cl_engine *engine,
                        const struct ov_scan_limits *limits, bool *by_engine)
{
  uint64_t ours = limits && limits->max_filesize ? limits->max_filesize
                                                 : OV_DEFAULT_MAX_FILESIZE;
  int err = 0;
  long long theirs = cl_engine_get_num (engine, CL_ENGINE_MAX_FILESIZE, &err);

  *by_engine = false;
  if (err == CL_SUCCESS && theirs > 0 && (uint64_t) theirs < ours) {
    *by_engine = true;
    return (uint64_t) theirs;
  }
  return ours;
}

void
ov_scan_stream (const struct cl_engine *engine,
                const struct ov_scan_limits *limits, uint64_t size,
                ov_scan_read_fn read, void *opaque,
                struct ov_scan_result *result)
{
  struct stream s = { .read = read, .opaque = opaque, .size = size };
  struct cl_scan_options options;
  const char *virname = NULL;
  cl_fmap_t *map;
  cl_error_t r;
  uint64_t max;
  bool by_engine;

  memset (result, 0, sizeof *result);
  result->verdict = OV_VERDICT_CLEAN;
  if (size == 0)
    return;

  max = effective_max_filesize (engine, limits, &by_engine);
  if (size > max) {
    if (by_engine)
      set_error (result, OV_VERDICT_SKIPPED,
                 "larger than the engine's maximum file size (%" PRIu64 " bytes)", max);
    else
      set_error (result, OV_VERDICT_SKIPPED,
                 "larger than --max-filesize (%" PRIu64 " bytes)", max);
    return;
  }

  map = cl_fmap_open_handle (&s, 0, (size_t) size, stream_pread, 1);
  if (map == NULL) {
    set_error (result, OV_VERDICT_ERROR, "cl_fmap_open_handle failed (out of memory?)");
    return;
  }
  ov_scan_default_options (&options);
  ov_clamav_clear_messages ();
  r = cl_scanmap_callback (map, NULL, &virname, NULL, engine, &options, NULL);
  cl_fmap_close (map);
  result->bytes_read = s.bytes_read;

  if (r == CL_VIRUS) {
    result->verdict = OV_VERDICT_INFECTED;
    snprintf (result->signature, sizeof result->signature, "%s",
              virname ? virname : "unknown");
  }
  else if (s.read_error != NULL) {
    result->verdict = OV_VERDICT_ERROR;
    result->error = s.read_error;
    s.read_error = NULL;
  }
  else if (r != CL_CLEAN) {
    const char *why = ov_clamav_messages ();
    if (*why)
      set_error (result, OV_VERDICT_ERROR, "libclamav: %s (%s)", cl_strerror (r), why);
    else
      set_error (result, OV_VERDICT_ERROR, "libclamav: %s", cl_strerror (r));
  }
  free (s.read_error);
}
