/*
 * Tag state: creation, options, taxonomy and attribute schema.
 * SPDX-License-Identifier: MIT
 */
#include "core/utf8.h"
#include "tags/tags_internal.h"

#define GUARD(h, fn)                                                   \
  do {                                                                 \
    if ((h) == NULL) return LP_EINVAL;                                 \
    if ((h)->busy) return lp_error_reentered(LP_ERR_OF_CONST(h), fn); \
  } while (0)

int tags_check_text(lp_error *e, const char *what, const char *s, size_t max, bool required) {
  size_t len = s == NULL ? 0 : strlen(s);
  if (required && len == 0) return lp_error_set(e, LP_EINVAL, "%s: empty", what);
  if (len > max)
    return lp_error_set(e, LP_EINVAL, "%s: %zu bytes, longer than %zu", what, len, max);
  size_t bad = 0;
  int r = lp_utf8_check(s == NULL ? "" : s, len, &bad);
  if (r != LP_UTF8_OK)
    return lp_error_set(e, LP_EINVAL, "%s: %s at byte %zu", what, lp_utf8_reason(r), bad);
  if (required) /* a name: quotable in the rule language, no control bytes */
    for (size_t i = 0; i < len; i++)
      if ((unsigned char)s[i] < 0x20 || s[i] == '`' || s[i] == 0x7f)
        return lp_error_set(e, LP_EINVAL, "%s: control byte or backtick at byte %zu", what, i);
  return LP_OK;
}

int tags_str_set(const lp_mem *m, tags_str *dst, const char *s, size_t len) {
  tags_str n = {NULL, len};
  if (len > 0) {
    n.p = lp_mem_alloc(m, len + 1);
    if (n.p == NULL) return LP_ENOMEM;
    memcpy(n.p, s, len);
    n.p[len] = '\0';
  }
  tags_str_free(m, dst);
  *dst = n;
  return LP_OK;
}

void tags_str_free(const lp_mem *m, tags_str *s) {
  if (s->p != NULL) lp_mem_free(m, s->p, s->len + 1);
  s->p = NULL;
  s->len = 0;
}

bool tags_lookup_tag(const lp_tags *h, const char *s, size_t len, uint32_t *id) {
  for (uint32_t i = 0; i < (uint32_t)h->tags.len; i++)
    if (tags_str_eq(&tags_tag_at(h, i)->name, s, len)) {
      *id = i;
      return true;
    }
  return false;
}

bool tags_lookup_attr(const lp_tags *h, const char *s, size_t len, uint32_t *id) {
  for (uint32_t i = 0; i < (uint32_t)h->attrs.len; i++)
    if (tags_str_eq(&tags_attr_at(h, i)->name, s, len)) {
      *id = i;
      return true;
    }
  return false;
}

void tags_tag_init(tags_tag *t) {
  memset(t, 0, sizeof *t);
  lp_bitmap_init(&t->has);
  lp_map64_init(&t->idx);
  lp_vec_init(&t->recs, sizeof(tags_rec));
  lp_strpool_init(&t->strs);
}

void tags_tag_release(const lp_mem *m, tags_tag *t) {
  tags_str *texts[] = {&t->name, &t->category, &t->description, &t->owner,
                       &t->purpose, &t->consent_for, &t->rule_text};
  for (size_t i = 0; i < LP_ARRAY_LEN(texts); i++) tags_str_free(m, texts[i]);
  tags_prog_free(m, t->prog);
  t->prog = NULL;
  lp_bitmap_release(&t->has, m);
  lp_hmap_free(&t->idx, m);
  lp_vec_free(&t->recs, m);
  lp_strpool_free(&t->strs, m);
}

void tags_attr_release(const lp_mem *m, tags_attr *a) {
  tags_str_free(m, &a->name);
  if (a->col != NULL) lp_mem_free_array(m, a->col, a->cap, sizeof *a->col);
  a->col = NULL;
  a->cap = 0;
  lp_strpool_free(&a->strs, m);
}

int lp_tags_create(const lp_allocator *alloc, lp_tags **out) {
  if (out == NULL) return LP_EINVAL;
  *out = NULL;
  lp_tags *h;
  int rc = lp_mem_new_handle(alloc, sizeof *h, (void **)&h);
  if (rc != LP_OK) return rc;
  lp_vec_init(&h->tags, sizeof(tags_tag));
  lp_vec_init(&h->attrs, sizeof(tags_attr));
  lp_map64_init(&h->index);
  lp_vec_init(&h->ids, sizeof(uint64_t));
  lp_bitmap_init(&h->live);
  lp_vec_init(&h->holes, sizeof(uint32_t));
  *out = h;
  return LP_OK;
}

void lp_tags_free(lp_tags *h) {
  if (h == NULL) return;
  for (uint32_t i = 0; i < (uint32_t)h->tags.len; i++) tags_tag_release(&h->mem, tags_tag_at(h, i));
  for (uint32_t i = 0; i < (uint32_t)h->attrs.len; i++)
    tags_attr_release(&h->mem, tags_attr_at(h, i));
  lp_vec_free(&h->tags, &h->mem);
  lp_vec_free(&h->attrs, &h->mem);
  lp_hmap_free(&h->index, &h->mem);
  lp_vec_free(&h->ids, &h->mem);
  lp_bitmap_release(&h->live, &h->mem);
  lp_vec_free(&h->holes, &h->mem);
  lp_mem_free_handle(h, sizeof *h);
}

const char *lp_tags_errmsg(const lp_tags *h) {
  return h == NULL ? LP_ERRMSG_NULL_HANDLE : lp_error_msg(&h->err);
}

static bool option_bounds(uint32_t key, int64_t *lo, int64_t *hi, bool *ro) {
  *ro = key != LP_TAGS_MIN_AUDIENCE_SIZE;
  switch (key) {
    case LP_TAGS_MIN_AUDIENCE_SIZE: *lo = 0; *hi = INT64_C(1) << 32; return true;
    case LP_TAGS_TAXONOMY_VERSION: *lo = 0; *hi = INT64_MAX; return true;
    case LP_TAGS_PROFILE_COUNT: *lo = 0; *hi = LP_TAGS_MAX_PROFILES; return true;
    default: return false;
  }
}

int lp_tags_set_int(lp_tags *h, uint32_t key, int64_t value) {
  GUARD(h, "lp_tags_set_int");
  int64_t lo, hi;
  bool ro;
  if (!option_bounds(key, &lo, &hi, &ro))
    return lp_error_set(&h->err, LP_EINVAL, "key: unknown option %u", key);
  if (ro) return lp_error_set(&h->err, LP_EINVAL, "key: option %u is read-only", key);
  if (value < lo || value > hi)
    return lp_error_set(&h->err, LP_ERANGE, "value %lld outside %lld..%lld", (long long)value,
                        (long long)lo, (long long)hi);
  h->min_audience = value;
  return LP_OK;
}

int lp_tags_get_int(const lp_tags *h, uint32_t key, int64_t *value) {
  GUARD(h, "lp_tags_get_int");
  if (value == NULL) return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL, "value: NULL");
  switch (key) {
    case LP_TAGS_MIN_AUDIENCE_SIZE: *value = h->min_audience; return LP_OK;
    case LP_TAGS_TAXONOMY_VERSION: *value = (int64_t)h->tax_version; return LP_OK;
    case LP_TAGS_PROFILE_COUNT: *value = (int64_t)h->index.len; return LP_OK;
    default: return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL, "key: unknown option %u", key);
  }
}

int lp_tags_int_bounds(const lp_tags *h, uint32_t key, int64_t *min, int64_t *max) {
  GUARD(h, "lp_tags_int_bounds");
  if (min == NULL || max == NULL)
    return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL, "min/max: NULL");
  bool ro;
  if (!option_bounds(key, min, max, &ro))
    return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL, "key: unknown option %u", key);
  return LP_OK;
}

/* ---- taxonomy ---- */

static int name_free(lp_tags *h, const char *name) {
  uint32_t id;
  size_t len = strlen(name);
  if (tags_lookup_tag(h, name, len, &id))
    return lp_error_set(&h->err, LP_ECONFLICT, "name \"%s\" is already a tag", name);
  if (tags_lookup_attr(h, name, len, &id))
    return lp_error_set(&h->err, LP_ECONFLICT, "name \"%s\" is already an attribute", name);
  return LP_OK;
}

bool tags_merge_ok(uint32_t type, uint32_t merge) {
  if (merge < LP_TAGS_MERGE_OR || merge > LP_TAGS_MERGE_SUM) return false;
  if (type == LP_TAGS_FLAG) return merge == LP_TAGS_MERGE_OR;
  if (merge == LP_TAGS_MERGE_SUM) return type == LP_TAGS_INT || type == LP_TAGS_DECIMAL;
  return true;
}

static const char *opt(const char *s) { return s == NULL ? "" : s; }

int lp_tags_define(lp_tags *h, const lp_tags_def *def, uint32_t *tag_id) {
  GUARD(h, "lp_tags_define");
  if (def == NULL) return lp_error_set(&h->err, LP_EINVAL, "def: NULL");
  if (def->struct_size != sizeof(lp_tags_def))
    return lp_error_set(&h->err, LP_EINVAL, "def: struct_size %u, expected %zu", def->struct_size,
                        sizeof(lp_tags_def));
  if (def->type < LP_TAGS_FLAG || def->type > LP_TAGS_TIME)
    return lp_error_set(&h->err, LP_EINVAL, "def->type: unknown type %u", def->type);
  if (!tags_merge_ok(def->type, def->merge))
    return lp_error_set(&h->err, LP_EINVAL, "def->merge: policy %u not allowed for this type "
                                            "(flags: or; sum: int and decimal only)", def->merge);
  if (def->sensitivity > LP_TAGS_SENS_SPECIAL)
    return lp_error_set(&h->err, LP_EINVAL, "def->sensitivity: unknown class %u", def->sensitivity);
  if ((def->type == LP_TAGS_DECIMAL && def->scale > LP_TAGS_MAX_SCALE) ||
      (def->type != LP_TAGS_DECIMAL && def->scale != 0))
    return lp_error_set(&h->err, LP_EINVAL, "def->scale: %u not allowed (decimal: 0..%u, else 0)",
                        def->scale, LP_TAGS_MAX_SCALE);
  if (def->reserved != 0) return lp_error_set(&h->err, LP_EINVAL, "def->reserved: must be 0");
  if (def->default_ttl < 0) return lp_error_set(&h->err, LP_EINVAL, "def->default_ttl: negative");
  int rc = tags_check_text(&h->err, "def->name", def->name, LP_TAGS_MAX_NAME, true);
  if (rc == LP_OK) rc = tags_check_text(&h->err, "def->category", def->category, LP_TAGS_MAX_TEXT, false);
  if (rc == LP_OK)
    rc = tags_check_text(&h->err, "def->description", def->description, LP_TAGS_MAX_TEXT, false);
  if (rc == LP_OK) rc = tags_check_text(&h->err, "def->owner", def->owner, LP_TAGS_MAX_TEXT, false);
  if (rc == LP_OK && def->purpose != NULL && def->purpose[0] != '\0')
    rc = tags_check_text(&h->err, "def->purpose", def->purpose, LP_TAGS_MAX_NAME, true);
  if (rc == LP_OK && def->consent_for != NULL && def->consent_for[0] != '\0') {
    rc = tags_check_text(&h->err, "def->consent_for", def->consent_for, LP_TAGS_MAX_NAME, true);
    if (rc == LP_OK && def->type != LP_TAGS_FLAG)
      rc = lp_error_set(&h->err, LP_EINVAL, "def->consent_for: only flag tags grant consent");
  }
  if (rc != LP_OK) return rc;
  rc = name_free(h, def->name);
  if (rc != LP_OK) return rc;
  if (h->tags.len >= LP_TAGS_MAX_TAGS)
    return lp_error_set(&h->err, LP_ELIMIT, "taxonomy full (%u tags)", LP_TAGS_MAX_TAGS);
  rc = lp_vec_reserve(&h->tags, &h->mem, h->tags.len + 1);
  tags_tag t;
  tags_tag_init(&t);
  const char *texts[] = {def->name, opt(def->category), opt(def->description), opt(def->owner),
                         opt(def->purpose), opt(def->consent_for)};
  tags_str *dst[] = {&t.name, &t.category, &t.description, &t.owner, &t.purpose, &t.consent_for};
  for (size_t i = 0; rc == LP_OK && i < LP_ARRAY_LEN(texts); i++)
    rc = tags_str_set(&h->mem, dst[i], texts[i], strlen(texts[i]));
  if (rc != LP_OK) {
    tags_tag_release(&h->mem, &t);
    return lp_error_set(&h->err, rc, "cannot define tag: %s", lp_strerror(rc));
  }
  t.type = def->type;
  t.merge = def->merge;
  t.sensitivity = def->sensitivity;
  t.scale = def->scale;
  t.ttl = def->default_ttl;
  h->tax_version++;
  t.since_version = t.changed_version = h->tax_version;
  uint32_t id = (uint32_t)h->tags.len;
  (void)lp_vec_push(&h->tags, &h->mem, &t);
  h->data_gen++;
  if (tag_id != NULL) *tag_id = id;
  return LP_OK;
}

static int tag_arg(lp_tags *h, uint32_t tag_id, tags_tag **out) {
  if (tag_id >= h->tags.len) return lp_error_set(&h->err, LP_ENOTFOUND, "tag %u: no such tag", tag_id);
  tags_tag *t = tags_tag_at(h, tag_id);
  if (t->retired)
    return lp_error_set(&h->err, LP_ENOTFOUND, "tag \"%s\" is retired", tags_str_c(&t->name));
  *out = t;
  return LP_OK;
}

/* Does the rule graph reach `target` from the tags `p` uses? */
static int reaches(lp_tags *h, const tags_prog *p, uint32_t target, bool *found) {
  size_t n = h->tags.len;
  uint32_t *stack;
  uint8_t *seen;
  int rc = lp_mem_alloc_array(&h->mem, n, sizeof *stack, (void **)&stack);
  if (rc != LP_OK) return rc;
  seen = lp_mem_zalloc(&h->mem, n);
  if (seen == NULL) {
    lp_mem_free_array(&h->mem, stack, n, sizeof *stack);
    return LP_ENOMEM;
  }
  size_t top = 0;
  *found = false;
  for (uint32_t i = 0; i < n; i++)
    if (tags_prog_uses(p, i)) {
      seen[i] = 1;
      stack[top++] = i;
    }
  while (top > 0 && !*found) {
    uint32_t t = stack[--top];
    if (t == target) {
      *found = true;
      break;
    }
    const tags_prog *q = tags_tag_at(h, t)->prog;
    if (q == NULL) continue;
    for (uint32_t i = 0; i < n; i++)
      if (!seen[i] && tags_prog_uses(q, i)) {
        seen[i] = 1;
        stack[top++] = i;
      }
  }
  lp_mem_free(&h->mem, seen, n);
  lp_mem_free_array(&h->mem, stack, n, sizeof *stack);
  return LP_OK;
}

uint32_t tags_want_type(uint32_t type) {
  switch (type) {
    case LP_TAGS_FLAG: return TY_BOOL;
    case LP_TAGS_STRING: return TY_STR;
    case LP_TAGS_TIME: return TY_TIME;
    default: return TY_NUM;
  }
}

int lp_tags_set_rule(lp_tags *h, uint32_t tag_id, const char *rule) {
  GUARD(h, "lp_tags_set_rule");
  tags_tag *t = NULL;
  int rc = tag_arg(h, tag_id, &t);
  if (rc != LP_OK) return rc;
  tags_prog *p = NULL;
  tags_str text = {NULL, 0};
  if (rule != NULL) {
    rc = tags_compile(h, &h->err, rule, strlen(rule), tags_want_type(t->type), t->scale, &p);
    if (rc != LP_OK) return rc;
    bool cyc = false;
    rc = reaches(h, p, tag_id, &cyc);
    if (rc == LP_OK && cyc)
      rc = lp_error_set(&h->err, LP_ECONFLICT, "rule of \"%s\" makes it depend on itself",
                        tags_str_c(&t->name));
    else if (rc == LP_OK) rc = tags_prog_text(h, p, &text);
    if (rc != LP_OK) {
      tags_prog_free(&h->mem, p);
      if (rc == LP_ENOMEM) lp_error_set(&h->err, rc, "cannot set rule: out of memory");
      return rc;
    }
  }
  /* Nothing below fails: clearing values only releases memory. */
  (void)tags_clear_values(h, t);
  tags_prog_free(&h->mem, t->prog);
  tags_str_free(&h->mem, &t->rule_text);
  t->prog = p;
  t->rule_text = text;
  h->tax_version++;
  t->changed_version = h->tax_version;
  h->data_gen++;
  return LP_OK;
}

int lp_tags_rename(lp_tags *h, uint32_t tag_id, const char *new_name) {
  GUARD(h, "lp_tags_rename");
  tags_tag *t = NULL;
  int rc = tag_arg(h, tag_id, &t);
  if (rc == LP_OK) rc = tags_check_text(&h->err, "new_name", new_name, LP_TAGS_MAX_NAME, true);
  if (rc != LP_OK) return rc;
  if (tags_str_eq(&t->name, new_name, strlen(new_name))) return LP_OK;
  rc = name_free(h, new_name);
  if (rc != LP_OK) return rc;
  uint32_t n = (uint32_t)h->tags.len;
  tags_str *texts;
  rc = lp_mem_alloc_array(&h->mem, n, sizeof *texts, (void **)&texts);
  if (rc != LP_OK) return lp_error_set(&h->err, rc, "cannot rename: out of memory");
  memset(texts, 0, n * sizeof *texts);
  tags_str old = t->name, nn = {NULL, 0};
  rc = tags_str_set(&h->mem, &nn, new_name, strlen(new_name));
  if (rc == LP_OK) {
    t->name = nn; /* the canonical texts below use the new name */
    for (uint32_t i = 0; rc == LP_OK && i < n; i++) {
      const tags_tag *u = tags_tag_at(h, i);
      if (u->prog != NULL && tags_prog_uses(u->prog, tag_id)) rc = tags_prog_text(h, u->prog, &texts[i]);
    }
    if (rc != LP_OK) t->name = old;
  }
  if (rc != LP_OK) {
    for (uint32_t i = 0; i < n; i++) tags_str_free(&h->mem, &texts[i]);
    tags_str_free(&h->mem, &nn);
    lp_mem_free_array(&h->mem, texts, n, sizeof *texts);
    return lp_error_set(&h->err, rc, "cannot rename: out of memory");
  }
  tags_str_free(&h->mem, &old);
  for (uint32_t i = 0; i < n; i++)
    if (texts[i].p != NULL) {
      tags_tag *u = tags_tag_at(h, i);
      tags_str_free(&h->mem, &u->rule_text);
      u->rule_text = texts[i];
    }
  lp_mem_free_array(&h->mem, texts, n, sizeof *texts);
  h->tax_version++;
  t->changed_version = h->tax_version;
  return LP_OK;
}

int lp_tags_retire(lp_tags *h, uint32_t tag_id) {
  GUARD(h, "lp_tags_retire");
  tags_tag *t = NULL;
  int rc = tag_arg(h, tag_id, &t);
  if (rc != LP_OK) return rc;
  for (uint32_t i = 0; i < (uint32_t)h->tags.len; i++) {
    const tags_tag *u = tags_tag_at(h, i);
    if (i != tag_id && u->prog != NULL && tags_prog_uses(u->prog, tag_id))
      return lp_error_set(&h->err, LP_ECONFLICT, "tag \"%s\" is used by the rule of \"%s\"",
                          tags_str_c(&t->name), tags_str_c(&u->name));
  }
  (void)tags_clear_values(h, t);
  tags_prog_free(&h->mem, t->prog);
  t->prog = NULL;
  tags_str_free(&h->mem, &t->rule_text);
  t->retired = 1;
  h->tax_version++;
  t->changed_version = h->tax_version;
  h->data_gen++;
  return LP_OK;
}

uint32_t lp_tags_tag_count(const lp_tags *h) { return h == NULL ? 0 : (uint32_t)h->tags.len; }

int lp_tags_find(const lp_tags *h, const char *name, uint32_t *tag_id) {
  GUARD(h, "lp_tags_find");
  if (name == NULL || tag_id == NULL)
    return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL, "name/tag_id: NULL");
  if (!tags_lookup_tag(h, name, strlen(name), tag_id))
    return lp_error_set(LP_ERR_OF_CONST(h), LP_ENOTFOUND, "no tag named \"%.128s\"", name);
  return LP_OK;
}

int lp_tags_describe(const lp_tags *h, uint32_t tag_id, lp_tags_info *out) {
  GUARD(h, "lp_tags_describe");
  if (out == NULL || out->struct_size != sizeof(lp_tags_info))
    return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL, "out: NULL or bad struct_size");
  if (tag_id >= h->tags.len)
    return lp_error_set(LP_ERR_OF_CONST(h), LP_ENOTFOUND, "tag %u: no such tag", tag_id);
  const tags_tag *t = tags_tag_at(h, tag_id);
  out->type = t->type;
  out->merge = t->merge;
  out->sensitivity = t->sensitivity;
  out->scale = t->scale;
  out->retired = t->retired;
  out->default_ttl = t->ttl;
  out->since_version = t->since_version;
  out->changed_version = t->changed_version;
  out->values = lp_bitmap_cardinality(&t->has);
  out->name = tags_str_c(&t->name);
  out->category = tags_str_c(&t->category);
  out->description = tags_str_c(&t->description);
  out->owner = tags_str_c(&t->owner);
  out->purpose = tags_str_c(&t->purpose);
  out->consent_for = tags_str_c(&t->consent_for);
  out->rule = tags_str_c(&t->rule_text);
  return LP_OK;
}

/* ---- attributes ---- */

int lp_tags_define_attr(lp_tags *h, const char *name, uint32_t type, uint32_t scale,
                        uint32_t *attr_id) {
  GUARD(h, "lp_tags_define_attr");
  int rc = tags_check_text(&h->err, "name", name, LP_TAGS_MAX_NAME, true);
  if (rc != LP_OK) return rc;
  if (type != LP_TAGS_INT && type != LP_TAGS_DECIMAL && type != LP_TAGS_STRING && type != LP_TAGS_TIME)
    return lp_error_set(&h->err, LP_EINVAL, "type: %u is not an attribute type", type);
  if ((type == LP_TAGS_DECIMAL && scale > LP_TAGS_MAX_SCALE) || (type != LP_TAGS_DECIMAL && scale != 0))
    return lp_error_set(&h->err, LP_EINVAL, "scale: %u not allowed", scale);
  rc = name_free(h, name);
  if (rc != LP_OK) return rc;
  if (h->attrs.len >= LP_TAGS_MAX_ATTRS)
    return lp_error_set(&h->err, LP_ELIMIT, "attribute schema full (%u)", LP_TAGS_MAX_ATTRS);
  tags_attr a;
  memset(&a, 0, sizeof a);
  lp_strpool_init(&a.strs);
  rc = lp_vec_reserve(&h->attrs, &h->mem, h->attrs.len + 1);
  if (rc == LP_OK) rc = tags_str_set(&h->mem, &a.name, name, strlen(name));
  if (rc != LP_OK) return lp_error_set(&h->err, rc, "cannot define attribute: %s", lp_strerror(rc));
  a.type = type;
  a.scale = scale;
  uint32_t id = (uint32_t)h->attrs.len;
  (void)lp_vec_push(&h->attrs, &h->mem, &a);
  if (attr_id != NULL) *attr_id = id;
  return LP_OK;
}

uint32_t lp_tags_attr_count(const lp_tags *h) { return h == NULL ? 0 : (uint32_t)h->attrs.len; }

int lp_tags_find_attr(const lp_tags *h, const char *name, uint32_t *attr_id, uint32_t *type,
                      uint32_t *scale) {
  GUARD(h, "lp_tags_find_attr");
  if (name == NULL) return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL, "name: NULL");
  uint32_t id;
  if (!tags_lookup_attr(h, name, strlen(name), &id))
    return lp_error_set(LP_ERR_OF_CONST(h), LP_ENOTFOUND, "no attribute named \"%.128s\"", name);
  const tags_attr *a = tags_attr_at(h, id);
  if (attr_id != NULL) *attr_id = id;
  if (type != NULL) *type = a->type;
  if (scale != NULL) *scale = a->scale;
  return LP_OK;
}

const char *lp_tags_attr_name(const lp_tags *h, uint32_t attr_id) {
  if (h == NULL || attr_id >= h->attrs.len) return NULL;
  return tags_str_c(&tags_attr_at(h, attr_id)->name);
}

uint64_t lp_tags_bitmap_bytes(const lp_tags *h) {
  if (h == NULL) return 0;
  uint64_t b = lp_bitmap_size_in_bytes(&h->live);
  for (uint32_t i = 0; i < (uint32_t)h->tags.len; i++) b += lp_bitmap_size_in_bytes(&tags_tag_at(h, i)->has);
  return b;
}
