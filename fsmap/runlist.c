/* ovscan — fsmap: building and checking lists of struct ov_run (pure logic).
 *
 * Invariant of a finished list (checked by ov_runs_validate): runs sorted by
 * file_offset, each starting where the previous ended, the first at 0, the
 * last ending at the stream's size, no zero-length run, and every run that
 * names disk bytes (DATA, UNWRITTEN, RESIDENT, COMPRESSED) inside the
 * filesystem's byte range.  Appending merges neighbours of the same kind that
 * are contiguous on disk too, so a file in one extent is one run.
 * Cost: O(1) amortised per append, O(log n) per lookup.
 */
#include "fsmap/internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/vector.h"

static bool
kind_has_disk_bytes (enum ov_run_kind kind)
{
  return kind != OV_RUN_SPARSE;
}

uint64_t
ov_runlist_end (const struct ov_runlist *l)
{
  const struct ov_run *last;

  if (l->nruns == 0)
    return 0;
  last = &l->runs[l->nruns - 1];
  return last->file_offset + last->length;
}

int
ov_runlist_append (struct ov_runlist *l, enum ov_run_kind kind,
                   uint64_t file_offset, uint64_t disk_offset, uint64_t length)
{
  struct ov_run *last = l->nruns ? &l->runs[l->nruns - 1] : NULL;

  if (length == 0)
    return 0;
  if (file_offset != ov_runlist_end (l)) {
    ov_error ("run at file offset %" PRIu64 " does not follow the previous"
              " run (which ends at %" PRIu64 ")", file_offset,
              ov_runlist_end (l));
    return -1;
  }
  if (length > UINT64_MAX - file_offset
      || (kind_has_disk_bytes (kind) && length > UINT64_MAX - disk_offset)) {
    ov_error ("run at file offset %" PRIu64 " of %" PRIu64 " bytes overflows",
              file_offset, length);
    return -1;
  }
  if (kind == OV_RUN_SPARSE)
    disk_offset = 0;
  if (last && last->kind == kind
      && kind != OV_RUN_RESIDENT
      && (kind == OV_RUN_SPARSE
          || last->disk_offset + last->length == disk_offset)) {
    last->length += length;
    return 0;
  }
  if (l->nruns >= OV_MAX_RUNS) {
    ov_error ("more than %u runs", OV_MAX_RUNS);
    return -1;
  }
  if (ov_vector_reserve ((void **) &l->runs, &l->cap, l->nruns + 1,
                         sizeof *l->runs) == -1)
    return -1;
  l->runs[l->nruns++] = (struct ov_run) {
    .file_offset = file_offset, .disk_offset = disk_offset,
    .length = length, .kind = kind,
  };
  return 0;
}

void
ov_runlist_truncate (struct ov_runlist *l, uint64_t size)
{
  while (l->nruns > 0) {
    struct ov_run *last = &l->runs[l->nruns - 1];
    if (last->file_offset >= size) {
      l->nruns--;
      continue;
    }
    if (last->file_offset + last->length > size)
      last->length = size - last->file_offset;
    break;
  }
}

int
ov_runlist_zero_after (struct ov_runlist *l, uint64_t from)
{
  size_t i;

  for (i = 0; i < l->nruns; i++) {
    struct ov_run *r = &l->runs[i];
    uint64_t end = r->file_offset + r->length;

    if (end <= from || r->kind != OV_RUN_DATA)
      continue;
    if (r->file_offset >= from) {
      r->kind = OV_RUN_UNWRITTEN;
      continue;
    }
    /* Split r at `from`: [start, from) stays DATA, the rest is UNWRITTEN. */
    if (l->nruns >= OV_MAX_RUNS) {
      ov_error ("more than %u runs", OV_MAX_RUNS);
      return -1;
    }
    if (ov_vector_reserve ((void **) &l->runs, &l->cap, l->nruns + 1,
                           sizeof *l->runs) == -1)
      return -1;
    r = &l->runs[i];
    memmove (&l->runs[i + 2], &l->runs[i + 1],
             (l->nruns - i - 1) * sizeof *l->runs);
    l->nruns++;
    {
      uint64_t head = from - r->file_offset;
      l->runs[i + 1] = (struct ov_run) {
        .file_offset = from, .disk_offset = r->disk_offset + head,
        .length = r->length - head, .kind = OV_RUN_UNWRITTEN,
      };
      r->length = head;
    }
    i++;
  }
  return 0;
}

int
ov_runs_validate (const struct ov_run *runs, size_t nruns, uint64_t size,
                  uint64_t lo, uint64_t hi)
{
  uint64_t pos = 0;
  size_t i;

  for (i = 0; i < nruns; i++) {
    const struct ov_run *r = &runs[i];

    if (r->file_offset != pos) {
      ov_error ("run %zu starts at file offset %" PRIu64 ", expected %" PRIu64,
                i, r->file_offset, pos);
      return -1;
    }
    if (r->length == 0 || r->length > UINT64_MAX - pos) {
      ov_error ("run %zu at file offset %" PRIu64 " has bad length %" PRIu64,
                i, pos, r->length);
      return -1;
    }
    if (kind_has_disk_bytes (r->kind) && r->kind != OV_RUN_RESIDENT
        && (r->disk_offset < lo || r->disk_offset > hi
            || r->length > hi - r->disk_offset)) {
      ov_error ("run %zu (file offset %" PRIu64 ", %" PRIu64 " bytes) at disk"
                " offset %" PRIu64 " lies outside the filesystem (disk bytes %"
                PRIu64 "-%" PRIu64 ")", i, pos, r->length, r->disk_offset,
                lo, hi);
      return -1;
    }
    pos += r->length;
  }
  if (pos != size) {
    ov_error ("runs cover %" PRIu64 " bytes, file size is %" PRIu64, pos, size);
    return -1;
  }
  return 0;
}

size_t
ov_runs_find (const struct ov_run *runs, size_t nruns, uint64_t off)
{
  size_t lo = 0, hi = nruns;

  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (runs[mid].file_offset + runs[mid].length <= off)
      lo = mid + 1;
    else if (runs[mid].file_offset > off)
      hi = mid;
    else
      return mid;
  }
  return nruns;
}

int
ov_runs_map (const struct ov_run *runs, size_t nruns, uint64_t off,
             uint64_t *disk_offset)
{
  size_t i = ov_runs_find (runs, nruns, off);

  if (i == nruns || runs[i].kind != OV_RUN_DATA)
    return -1;
  *disk_offset = runs[i].disk_offset + (off - runs[i].file_offset);
  return 0;
}
