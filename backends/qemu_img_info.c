/* ovscan — parse `qemu-img info --output=json` (see qemu_img.h).
 *
 * The text comes from qemu-img, but some of what it reports comes from the
 * image file: bitmap names, the backing file name (which a guest can
 * influence when the image was created by a tool acting on guest data).
 * So every member is type-checked and bound-checked, and nothing here
 * trusts a length or count beyond qcow2's own limits.  Unknown members are
 * ignored: newer qemu adds fields.
 *
 * Cost: one json-c parse of the text, O(size); the text is a few hundred
 * bytes plus ~100 bytes per bitmap.
 */
#include "backends/qemu_img.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/quote.h"

/* Deeper than anything qemu-img prints (4 levels), shallower than json-c's
 * default, so a hostile text cannot recurse far. */
#define INFO_MAX_DEPTH 16

/* json-c objects freed at scope exit. */
static inline void
put_json (struct json_object **obj)
{
  if (*obj)
    json_object_put (*obj);
}
#define CLEANUP_JSON __attribute__ ((cleanup (put_json)))

void
ov_image_info_free (struct ov_image_info *info)
{
  size_t i;

  free (info->format);
  free (info->backing_filename);
  free (info->full_backing_filename);
  free (info->backing_format);
  for (i = 0; i < info->bitmaps.len; i++)
    free (info->bitmaps.ptr[i].name);
  ov_bitmap_infos_reset (&info->bitmaps);
  memset (info, 0, sizeof *info);
}

const struct ov_bitmap_info *
ov_image_info_find_bitmap (const struct ov_image_info *info,
                           const char *name)
{
  size_t i;

  for (i = 0; i < info->bitmaps.len; i++)
    if (strcmp (info->bitmaps.ptr[i].name, name) == 0)
      return &info->bitmaps.ptr[i];
  return NULL;
}

/* A JSON string as a malloc'd C string.  Rejects non-strings, embedded NUL
 * and strings longer than max bytes.  what names the member. */
static int
get_string (struct json_object *obj, const char *what, size_t max,
            char **out)
{
  const char *s;
  int len;

  if (!json_object_is_type (obj, json_type_string)) {
    ov_error ("\"%s\" is not a string", what);
    return -1;
  }
  s = json_object_get_string (obj);
  len = json_object_get_string_len (obj);
  if (len < 0 || (size_t) len > max) {
    ov_error ("\"%s\" is %d bytes long (at most %zu)", what, len, max);
    return -1;
  }
  if (memchr (s, '\0', len) != NULL) {
    ov_error ("\"%s\" holds a NUL byte", what);
    return -1;
  }
  *out = strndup (s, len);
  if (*out == NULL) {
    ov_error ("out of memory");
    return -1;
  }
  return 0;
}

/* A JSON integer in [min, max]. */
static int
get_integer (struct json_object *obj, const char *what, int64_t min,
             int64_t max, int64_t *out)
{
  int64_t v;

  if (!json_object_is_type (obj, json_type_int)) {
    ov_error ("\"%s\" is not an integer", what);
    return -1;
  }
  /* json-c clamps to INT64_MIN/INT64_MAX (values above INT64_MAX are kept
   * as uint64): bounds below INT64_MAX reject them. */
  v = json_object_get_int64 (obj);
  if (v < min || v > max) {
    ov_error ("\"%s\" is out of range [%" PRId64 ", %" PRId64 "]",
              what, min, max);
    return -1;
  }
  *out = v;
  return 0;
}

/* An optional string member: *out stays NULL when absent. */
static int
get_optional_string (struct json_object *parent, const char *key,
                     size_t max, char **out)
{
  struct json_object *obj;

  if (!json_object_object_get_ex (parent, key, &obj))
    return 0;
  return get_string (obj, key, max, out);
}

/* qemu paths: PATH_MAX-ish, generous. */
#define INFO_MAX_PATH 65536

static int
parse_bitmap (struct json_object *obj, size_t index,
              struct ov_bitmap_info *bm)
{
  struct json_object *name, *gran, *flags;
  int64_t g;
  size_t i, n;

  if (!json_object_is_type (obj, json_type_object)) {
    ov_error ("bitmap %zu is not an object", index);
    return -1;
  }
  if (!json_object_object_get_ex (obj, "name", &name) ||
      !json_object_object_get_ex (obj, "granularity", &gran) ||
      !json_object_object_get_ex (obj, "flags", &flags)) {
    ov_error ("bitmap %zu lacks \"name\", \"granularity\" or \"flags\"",
              index);
    return -1;
  }
  if (get_string (name, "name", OV_QCOW2_MAX_BITMAP_NAME, &bm->name) == -1)
    goto bad;
  if (bm->name[0] == '\0') {
    ov_error ("empty name");
    goto bad;
  }
  if (get_integer (gran, "granularity", OV_BITMAP_MIN_GRANULARITY,
                   OV_BITMAP_MAX_GRANULARITY, &g) == -1)
    goto bad;
  if ((g & (g - 1)) != 0) {
    ov_error ("granularity %" PRId64 " is not a power of 2", g);
    goto bad;
  }
  bm->granularity = (uint32_t) g;
  if (!json_object_is_type (flags, json_type_array)) {
    ov_error ("\"flags\" is not an array");
    goto bad;
  }
  n = json_object_array_length (flags);
  for (i = 0; i < n; i++) {
    struct json_object *f = json_object_array_get_idx (flags, i);
    const char *s;

    if (!json_object_is_type (f, json_type_string)) {
      ov_error ("flag %zu is not a string", i);
      goto bad;
    }
    s = json_object_get_string (f);
    if (strcmp (s, "in-use") == 0)
      bm->in_use = true;
    else if (strcmp (s, "auto") == 0)
      bm->enabled = true;
    /* Other flags (future qemu) are ignored. */
  }
  return 0;

 bad:
  {
    CLEANUP_FREE char *q = bm->name ? ov_quote_path (bm->name) : NULL;
    if (q)
      ov_error_prefix ("bitmap %zu (%s)", index, q);
    else
      ov_error_prefix ("bitmap %zu", index);
  }
  free (bm->name);
  bm->name = NULL;
  return -1;
}

static int
parse_qcow2_specific (struct json_object *root, struct ov_image_info *info)
{
  struct json_object *spec, *type, *data, *bitmaps, *corrupt;
  size_t i, n;

  if (!json_object_object_get_ex (root, "format-specific", &spec))
    return 0;
  if (!json_object_is_type (spec, json_type_object) ||
      !json_object_object_get_ex (spec, "type", &type) ||
      !json_object_is_type (type, json_type_string)) {
    ov_error ("\"format-specific\" is not an object with a \"type\"");
    return -1;
  }
  if (strcmp (json_object_get_string (type), "qcow2") != 0)
    return 0;
  if (!json_object_object_get_ex (spec, "data", &data) ||
      !json_object_is_type (data, json_type_object)) {
    ov_error ("qcow2 \"format-specific\" has no \"data\" object");
    return -1;
  }
  if (json_object_object_get_ex (data, "corrupt", &corrupt)) {
    if (!json_object_is_type (corrupt, json_type_boolean)) {
      ov_error ("\"corrupt\" is not a boolean");
      return -1;
    }
    info->corrupt = json_object_get_boolean (corrupt);
  }
  if (!json_object_object_get_ex (data, "bitmaps", &bitmaps))
    return 0;
  if (!json_object_is_type (bitmaps, json_type_array)) {
    ov_error ("\"bitmaps\" is not an array");
    return -1;
  }
  n = json_object_array_length (bitmaps);
  if (n > OV_QCOW2_MAX_BITMAPS) {
    ov_error ("%zu bitmaps (qcow2 holds at most %d)", n,
              OV_QCOW2_MAX_BITMAPS);
    return -1;
  }
  if (ov_bitmap_infos_reserve (&info->bitmaps, n) == -1) {
    ov_error ("out of memory");
    return -1;
  }
  for (i = 0; i < n; i++) {
    struct ov_bitmap_info bm = { 0 };

    if (parse_bitmap (json_object_array_get_idx (bitmaps, i), i, &bm) == -1)
      return -1;
    if (ov_image_info_find_bitmap (info, bm.name) != NULL) {
      CLEANUP_FREE char *q = ov_quote_path (bm.name);
      ov_error ("bitmap %s is listed twice", q ? q : "?");
      free (bm.name);
      return -1;
    }
    info->bitmaps.ptr[info->bitmaps.len++] = bm;   /* reserved above */
  }
  return 0;
}

static int
parse_root (struct json_object *root, struct ov_image_info *info)
{
  struct json_object *obj;
  int64_t size;

  if (!json_object_is_type (root, json_type_object)) {
    ov_error ("not a JSON object");
    return -1;
  }
  if (!json_object_object_get_ex (root, "format", &obj)) {
    ov_error ("no \"format\"");
    return -1;
  }
  if (get_string (obj, "format", 64, &info->format) == -1)
    return -1;
  if (!json_object_object_get_ex (root, "virtual-size", &obj)) {
    ov_error ("no \"virtual-size\"");
    return -1;
  }
  /* INT64_MAX - 1: json-c clamps larger numbers to INT64_MAX. */
  if (get_integer (obj, "virtual-size", 0, INT64_MAX - 1, &size) == -1)
    return -1;
  info->virtual_size = (uint64_t) size;
  if (get_optional_string (root, "backing-filename", INFO_MAX_PATH,
                           &info->backing_filename) == -1 ||
      get_optional_string (root, "full-backing-filename", INFO_MAX_PATH,
                           &info->full_backing_filename) == -1 ||
      get_optional_string (root, "backing-filename-format", 64,
                           &info->backing_format) == -1)
    return -1;
  return parse_qcow2_specific (root, info);
}

int
ov_image_info_parse (const char *json, size_t len, const char *image,
                     struct ov_image_info *info)
{
  struct json_tokener *tok;
  CLEANUP_JSON struct json_object *root = NULL;
  CLEANUP_FREE char *qimage = ov_quote_path (image);
  size_t end;

  memset (info, 0, sizeof *info);
  if (len > INT32_MAX) {
    ov_error ("%s: qemu-img info: %zu bytes of JSON is too much",
              qimage ? qimage : "?", len);
    return -1;
  }
  tok = json_tokener_new_ex (INFO_MAX_DEPTH);
  if (tok == NULL) {
    ov_error ("out of memory");
    return -1;
  }
  root = json_tokener_parse_ex (tok, json, (int) len);
  if (root == NULL) {
    enum json_tokener_error e = json_tokener_get_error (tok);
    ov_error ("%s: qemu-img info: invalid JSON at byte %zu: %s",
              qimage ? qimage : "?", json_tokener_get_parse_end (tok),
              e == json_tokener_continue ? "unexpected end"
              : json_tokener_error_desc (e));
    json_tokener_free (tok);
    return -1;
  }
  end = json_tokener_get_parse_end (tok);
  json_tokener_free (tok);
  for (; end < len; end++)
    if (json[end] != ' ' && json[end] != '\t' && json[end] != '\r' &&
        json[end] != '\n') {
      ov_error ("%s: qemu-img info: text after the JSON object at byte %zu",
                qimage ? qimage : "?", end);
      return -1;
    }
  if (parse_root (root, info) == -1) {
    ov_error_prefix ("%s: qemu-img info", qimage ? qimage : "?");
    ov_image_info_free (info);
    return -1;
  }
  return 0;
}
