/* ovscan — fsmap: the LVM2 text metadata format, parsed into a tree.
 *
 * What LVM2 writes into a PV's metadata area (lib/format_text/export.c):
 *   item    := NAME "=" value | NAME "{" item* "}"
 *   value   := "string" | integer | "[" [value {"," value}] "]"
 * with "#" comments to the end of the line.  Strings may escape '"' and '\'
 * with a backslash.  A decimal fraction (never in VG metadata) is accepted
 * and truncated.
 *
 * Invariants: the text is guest data.  Nesting is bounded (32 levels), the
 * number of nodes too (1,000,000), integers are range-checked; a syntax
 * error names its line.  Never reads past `len`.
 * Cost: one pass, O(len) memory.
 */
#include "fsmap/lvm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"

#define MAX_DEPTH 32
#define MAX_NODES 1000000

struct parser {
  const char *p, *end;
  unsigned line;
  size_t nodes;
};

static void
skip_space (struct parser *ps)
{
  while (ps->p < ps->end) {
    char c = *ps->p;
    if (c == '\n') {
      ps->line++;
      ps->p++;
    }
    else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v')
      ps->p++;
    else if (c == '#') {
      while (ps->p < ps->end && *ps->p != '\n')
        ps->p++;
    }
    else if (c == '\0')          /* padding after the text */
      ps->p = ps->end;
    else
      break;
  }
}

static bool
is_name_char (char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
    || (c >= '0' && c <= '9') || c == '_' || c == '+' || c == '.'
    || c == '-';
}

static int
syntax (struct parser *ps, const char *what)
{
  ov_error ("LVM metadata line %u: %s", ps->line, what);
  return -1;
}

static int
add_kid (struct parser *ps, struct ov_lvm_node *parent,
         struct ov_lvm_node **out)
{
  struct ov_lvm_node *v;

  if (++ps->nodes > MAX_NODES)
    return syntax (ps, "more than 1000000 nodes");
  /* Capacity doubles (it is the next power of two >= nkids, implicit):
   * growing by one made a 1,000,000-item array quadratic (minutes). */
  if ((parent->nkids & (parent->nkids - 1)) == 0) {
    size_t want = parent->nkids ? 2 * parent->nkids : 1;
    v = realloc (parent->kids, want * sizeof *v);
    if (v == NULL) {
      ov_error_errno (errno, "LVM metadata");
      return -1;
    }
    parent->kids = v;
  }
  v = parent->kids;
  *out = &v[parent->nkids++];
  memset (*out, 0, sizeof **out);
  return 0;
}

static int
parse_string (struct parser *ps, char **out)
{
  const char *start = ++ps->p;   /* after the opening quote */
  size_t n = 0;
  char *s;

  while (ps->p < ps->end && *ps->p != '"') {
    if (*ps->p == '\\' && ps->p + 1 < ps->end)
      ps->p++;
    if (*ps->p == '\n')
      ps->line++;
    ps->p++;
    n++;
  }
  if (ps->p >= ps->end)
    return syntax (ps, "unterminated string");
  ps->p++;
  s = malloc (n + 1);
  if (s == NULL) {
    ov_error_errno (errno, "LVM metadata");
    return -1;
  }
  for (n = 0; start < ps->p - 1; start++) {
    if (*start == '\\' && start + 1 < ps->p - 1)
      start++;
    s[n++] = *start;
  }
  s[n] = '\0';
  *out = s;
  return 0;
}

static int
parse_number (struct parser *ps, int64_t *out)
{
  bool neg = false;
  uint64_t v = 0;
  bool any = false;

  if (*ps->p == '-') {
    neg = true;
    ps->p++;
  }
  while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') {
    unsigned d = (unsigned) (*ps->p - '0');
    if (v > ((uint64_t) INT64_MAX - d) / 10)
      return syntax (ps, "integer out of range");
    v = v * 10 + d;
    ps->p++;
    any = true;
  }
  if (!any)
    return syntax (ps, "expected a number");
  if (ps->p < ps->end && *ps->p == '.') {
    ps->p++;
    while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
      ps->p++;
  }
  *out = neg ? -(int64_t) v : (int64_t) v;
  return 0;
}

static int
parse_value (struct parser *ps, struct ov_lvm_node *n, unsigned depth)
{
  skip_space (ps);
  if (ps->p >= ps->end)
    return syntax (ps, "expected a value");
  if (*ps->p == '"') {
    n->kind = OV_LVM_STRING;
    return parse_string (ps, &n->str);
  }
  if (*ps->p == '[') {
    n->kind = OV_LVM_ARRAY;
    if (depth >= MAX_DEPTH)
      return syntax (ps, "nested too deep");
    ps->p++;
    skip_space (ps);
    if (ps->p < ps->end && *ps->p == ']') {
      ps->p++;
      return 0;
    }
    for (;;) {
      struct ov_lvm_node *item;
      if (add_kid (ps, n, &item) == -1 || parse_value (ps, item, depth + 1) == -1)
        return -1;
      skip_space (ps);
      if (ps->p >= ps->end)
        return syntax (ps, "unterminated array");
      if (*ps->p == ']') {
        ps->p++;
        return 0;
      }
      if (*ps->p != ',')
        return syntax (ps, "expected ',' or ']' in an array");
      ps->p++;
    }
  }
  n->kind = OV_LVM_NUMBER;
  return parse_number (ps, &n->num);
}

/* Items until '}' (depth > 0) or the end of the text (depth 0). */
static int
parse_section (struct parser *ps, struct ov_lvm_node *sec, unsigned depth)
{
  sec->kind = OV_LVM_SECTION;
  for (;;) {
    struct ov_lvm_node *n;
    const char *name;

    skip_space (ps);
    if (ps->p >= ps->end) {
      if (depth > 0)
        return syntax (ps, "unterminated section");
      return 0;
    }
    if (*ps->p == '}') {
      if (depth == 0)
        return syntax (ps, "unexpected '}'");
      ps->p++;
      return 0;
    }
    name = ps->p;
    while (ps->p < ps->end && is_name_char (*ps->p))
      ps->p++;
    if (ps->p == name)
      return syntax (ps, "expected a name");
    if (add_kid (ps, sec, &n) == -1)
      return -1;
    n->key = strndup (name, (size_t) (ps->p - name));
    if (n->key == NULL) {
      ov_error_errno (errno, "LVM metadata");
      return -1;
    }
    skip_space (ps);
    if (ps->p >= ps->end)
      return syntax (ps, "expected '=' or '{'");
    if (*ps->p == '{') {
      if (depth >= MAX_DEPTH)
        return syntax (ps, "nested too deep");
      ps->p++;
      if (parse_section (ps, n, depth + 1) == -1)
        return -1;
    }
    else if (*ps->p == '=') {
      ps->p++;
      if (parse_value (ps, n, depth + 1) == -1)
        return -1;
    }
    else
      return syntax (ps, "expected '=' or '{'");
  }
}

int
ov_lvm_text_parse (const char *text, size_t len, struct ov_lvm_node *root)
{
  struct parser ps = { .p = text, .end = text + len, .line = 1 };

  memset (root, 0, sizeof *root);
  if (parse_section (&ps, root, 0) == -1) {
    ov_lvm_node_clear (root);
    return -1;
  }
  return 0;
}

void
ov_lvm_node_clear (struct ov_lvm_node *n)
{
  size_t i;

  for (i = 0; i < n->nkids; i++)
    ov_lvm_node_clear (&n->kids[i]);
  free (n->kids);
  free (n->key);
  free (n->str);
  memset (n, 0, sizeof *n);
}

const struct ov_lvm_node *
ov_lvm_get (const struct ov_lvm_node *sec, const char *key)
{
  size_t i;

  if (sec == NULL || sec->kind != OV_LVM_SECTION)
    return NULL;
  for (i = 0; i < sec->nkids; i++)
    if (sec->kids[i].key && strcmp (sec->kids[i].key, key) == 0)
      return &sec->kids[i];
  return NULL;
}

int
ov_lvm_get_num (const struct ov_lvm_node *sec, const char *key, int64_t *out)
{
  const struct ov_lvm_node *n = ov_lvm_get (sec, key);

  if (n == NULL || n->kind != OV_LVM_NUMBER)
    return -1;
  *out = n->num;
  return 0;
}

const char *
ov_lvm_get_str (const struct ov_lvm_node *sec, const char *key)
{
  const struct ov_lvm_node *n = ov_lvm_get (sec, key);

  return n && n->kind == OV_LVM_STRING ? n->str : NULL;
}
