/*
 * Profiles, attribute values and host-set tag values: set, get, remove
 * (erasure) and merge, each atomic (fallible steps first, rollback of the
 * bitmap steps when a later one fails).
 * SPDX-License-Identifier: MIT
 */
#include "core/utf8.h"
#include "tags/tags_internal.h"

#define GUARD(h, fn)                                                   \
  do {                                                                 \
    if ((h) == NULL) return LP_EINVAL;                                 \
    if ((h)->busy) return lp_error_reentered(LP_ERR_OF_CONST(h), fn); \
  } while (0)

/* ---- free-ordinal min-heap: the lowest free ordinal is reused first, so
 * ordinal assignment depends on the state only, not on its history ---- */
static uint32_t *heap(const lp_tags *h) { return (uint32_t *)h->holes.data; }

static void heap_push(lp_tags *h, uint32_t v) {
  (void)lp_vec_push(&h->holes, &h->mem, &v); /* room reserved */
  uint32_t *a = heap(h);
  size_t i = h->holes.len - 1;
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (a[p] <= a[i]) break;
    uint32_t t = a[p];
    a[p] = a[i];
    a[i] = t;
    i = p;
  }
}

static uint32_t heap_pop(lp_tags *h) {
  uint32_t *a = heap(h), top = a[0];
  size_t n = --h->holes.len;
  a[0] = a[n];
  size_t i = 0;
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < n && a[l] < a[m]) m = l;
    if (r < n && a[r] < a[m]) m = r;
    if (m == i) break;
    uint32_t t = a[m];
    a[m] = a[i];
    a[i] = t;
    i = m;
  }
  return top;
}

static uint32_t next_ord(const lp_tags *h, uint64_t id) {
  uint32_t ord;
  if (tags_find_ord(h, id, &ord)) return ord;
  return h->holes.len > 0 ? heap(h)[0] : (uint32_t)h->ids.len;
}

int tags_ensure_profile(lp_tags *h, uint64_t id, uint32_t *ord, bool *added) {
  *added = false;
  if (tags_find_ord(h, id, ord)) return LP_OK;
  if (h->index.len >= LP_TAGS_MAX_PROFILES)
    return lp_error_set(&h->err, LP_ELIMIT, "too many profiles (%u)", LP_TAGS_MAX_PROFILES);
  int rc = lp_hmap_reserve(&h->index, &h->mem, h->index.len + 1);
  if (rc == LP_OK && h->holes.len == 0) rc = lp_vec_reserve(&h->ids, &h->mem, h->ids.len + 1);
  uint32_t o = next_ord(h, id);
  if (rc == LP_OK) rc = lp_bitmap_add(&h->live, &h->mem, o);
  if (rc != LP_OK) return lp_error_set(&h->err, rc, "cannot add profile: %s", lp_strerror(rc));
  if (h->holes.len > 0) {
    (void)heap_pop(h);
    ((uint64_t *)h->ids.data)[o] = id;
  } else {
    (void)lp_vec_push(&h->ids, &h->mem, &id);
  }
  (void)lp_map64_put(&h->index, &h->mem, id, o);
  *ord = o;
  *added = true;
  h->data_gen++;
  return LP_OK;
}

void tags_drop_new_profile(lp_tags *h, uint64_t id, uint32_t ord) {
  /* Removing the value just added to `live` needs no memory in practice;
   * if it ever fails the profile simply stays, empty (a valid state). */
  if (lp_bitmap_remove(&h->live, &h->mem, ord) != LP_OK) return;
  (void)lp_map64_del(&h->index, id, NULL);
  if (ord + 1 == h->ids.len) {
    h->ids.len--;
  } else {
    (void)lp_vec_reserve(&h->holes, &h->mem, h->holes.len + 1);
    if (h->holes.len < h->holes.cap) {
      ((uint64_t *)h->ids.data)[ord] = 0;
      heap_push(h, ord);
    }
  }
}

int lp_tags_add_profile(lp_tags *h, uint64_t profile_id) {
  GUARD(h, "lp_tags_add_profile");
  uint32_t ord;
  bool added;
  return tags_ensure_profile(h, profile_id, &ord, &added);
}

tags_rec *tags_rec_of(const tags_tag *t, uint32_t ord) {
  uint64_t i;
  if (t->idx.len == 0 || !lp_map64_get(&t->idx, ord, &i)) return NULL;
  return (tags_rec *)lp_vec_at(&t->recs, (size_t)i);
}

bool tags_live(const tags_tag *t, uint32_t ord, int64_t as_of, const tags_rec **rec) {
  *rec = NULL;
  if (!lp_bitmap_contains(&t->has, ord)) return false;
  const tags_rec *r = tags_rec_of(t, ord);
  *rec = r;
  return r == NULL || as_of < r->expires_at;
}

/* Swap-remove the rec of ord (if any). Cannot fail. */
static void rec_delete(lp_tags *h, tags_tag *t, uint32_t ord) {
  uint64_t i;
  if (t->idx.len == 0 || !lp_map64_del(&t->idx, ord, &i)) return;
  tags_rec *recs = (tags_rec *)t->recs.data;
  if (recs[i].expires_at != LP_TAGS_NEVER) t->n_expiring--;
  size_t last = t->recs.len - 1;
  if (i != last) {
    recs[i] = recs[last];
    uint64_t *slot;
    bool ins;
    uint64_t key = recs[i].ord;
    (void)lp_hmap_upsert(&t->idx, &h->mem, &key, &slot, &ins); /* present: no growth */
    *slot = i;
  }
  t->recs.len--;
}

/* Store rec r for r->ord (room reserved when new). Cannot fail. */
static void rec_store(lp_tags *h, tags_tag *t, const tags_rec *r) {
  tags_rec *old = tags_rec_of(t, r->ord);
  if (old != NULL) {
    if (old->expires_at != LP_TAGS_NEVER) t->n_expiring--;
    *old = *r;
  } else {
    uint64_t i = t->recs.len;
    (void)lp_vec_push(&t->recs, &h->mem, r);
    (void)lp_map64_put(&t->idx, &h->mem, r->ord, i);
  }
  if (r->expires_at != LP_TAGS_NEVER) t->n_expiring++;
}

static int rec_reserve(lp_tags *h, tags_tag *t, size_t more) {
  int rc = lp_vec_reserve(&t->recs, &h->mem, t->recs.len + more);
  if (rc == LP_OK) rc = lp_hmap_reserve(&t->idx, &h->mem, t->idx.len + more);
  return rc;
}

/* A flag that never expires needs no rec: the bitmap is the value. */
static bool needs_rec(const tags_tag *t, const tags_rec *r) {
  return tags_valued(t) || r->expires_at != LP_TAGS_NEVER;
}

int tags_clear_values(lp_tags *h, tags_tag *t) {
  lp_bitmap_release(&t->has, &h->mem);
  lp_hmap_free(&t->idx, &h->mem);
  lp_vec_free(&t->recs, &h->mem);
  lp_strpool_free(&t->strs, &h->mem);
  lp_map64_init(&t->idx);
  lp_vec_init(&t->recs, sizeof(tags_rec));
  lp_strpool_init(&t->strs);
  t->n_expiring = 0;
  return LP_OK;
}

static int host_tag(lp_tags *h, uint32_t tag_id, tags_tag **out) {
  if (tag_id >= h->tags.len) return lp_error_set(&h->err, LP_ENOTFOUND, "tag %u: no such tag", tag_id);
  tags_tag *t = tags_tag_at(h, tag_id);
  if (t->retired)
    return lp_error_set(&h->err, LP_ENOTFOUND, "tag \"%s\" is retired", tags_str_c(&t->name));
  if (t->prog != NULL)
    return lp_error_set(&h->err, LP_ECONFLICT, "tag \"%s\" is computed by a rule",
                        tags_str_c(&t->name));
  *out = t;
  return LP_OK;
}

static int check_string(lp_error *e, const char *s, size_t len) {
  if (s == NULL && len > 0) return lp_error_set(e, LP_EINVAL, "str: NULL with len %zu", len);
  if (len > LP_TAGS_MAX_STRING)
    return lp_error_set(e, LP_ELIMIT, "string value: %zu bytes, longer than %u", len,
                        LP_TAGS_MAX_STRING);
  size_t bad;
  int r = lp_utf8_check(s == NULL ? "" : s, len, &bad);
  if (r != LP_UTF8_OK)
    return lp_error_set(e, LP_EINVAL, "string value: %s at byte %zu", lp_utf8_reason(r), bad);
  return LP_OK;
}

int lp_tags_set(lp_tags *h, uint64_t profile_id, uint32_t tag_id, const lp_tags_value *v) {
  GUARD(h, "lp_tags_set");
  if (v == NULL || v->struct_size != sizeof(lp_tags_value))
    return lp_error_set(&h->err, LP_EINVAL, "v: NULL or bad struct_size");
  tags_tag *t = NULL;
  int rc = host_tag(h, tag_id, &t);
  if (rc != LP_OK) return rc;
  tags_rec r;
  memset(&r, 0, sizeof r);
  r.set_at = v->set_at;
  r.num = 1;
  if (v->expires_at == LP_TAGS_EXPIRES_DEFAULT) {
    if (t->ttl <= 0 || lp_i64_add_overflow(v->set_at, t->ttl, &r.expires_at))
      r.expires_at = LP_TAGS_NEVER;
  } else {
    r.expires_at = v->expires_at;
  }
  if (t->type == LP_TAGS_STRING) {
    rc = check_string(&h->err, v->str, v->len);
    if (rc != LP_OK) return rc;
  } else if (tags_valued(t)) {
    if (v->num == TAGS_MISSING)
      return lp_error_set(&h->err, LP_EINVAL, "v->num: INT64_MIN is not a storable value");
    r.num = v->num;
  }
  r.ord = next_ord(h, profile_id);
  bool rec = needs_rec(t, &r);
  if (rec) rc = rec_reserve(h, t, 1);
  if (rc == LP_OK && t->type == LP_TAGS_STRING) {
    uint32_t sid;
    rc = lp_strpool_intern(&t->strs, &h->mem, v->str == NULL ? "" : v->str, v->len, &sid, NULL);
    r.num = sid;
  }
  if (rc != LP_OK) return lp_error_set(&h->err, rc, "cannot set tag: %s", lp_strerror(rc));
  uint32_t ord;
  bool added;
  rc = tags_ensure_profile(h, profile_id, &ord, &added);
  if (rc != LP_OK) return rc;
  rc = lp_bitmap_add(&t->has, &h->mem, ord);
  if (rc != LP_OK) {
    if (added) tags_drop_new_profile(h, profile_id, ord);
    return lp_error_set(&h->err, rc, "cannot set tag: %s", lp_strerror(rc));
  }
  if (rec) rec_store(h, t, &r);
  else rec_delete(h, t, ord);
  h->data_gen++;
  return LP_OK;
}

int lp_tags_unset(lp_tags *h, uint64_t profile_id, uint32_t tag_id) {
  GUARD(h, "lp_tags_unset");
  tags_tag *t = NULL;
  int rc = host_tag(h, tag_id, &t);
  if (rc != LP_OK) return rc;
  uint32_t ord;
  if (!tags_find_ord(h, profile_id, &ord))
    return lp_error_set(&h->err, LP_ENOTFOUND, "profile %llu: unknown", (unsigned long long)profile_id);
  rc = lp_bitmap_remove(&t->has, &h->mem, ord);
  if (rc != LP_OK) return lp_error_set(&h->err, rc, "cannot unset tag: %s", lp_strerror(rc));
  rec_delete(h, t, ord);
  h->data_gen++;
  return LP_OK;
}

static void fill_value(const tags_tag *t, const tags_rec *r, lp_tags_value *out) {
  out->type = t->type;
  out->num = r != NULL ? r->num : 1;
  out->str = NULL;
  out->len = 0;
  out->set_at = r != NULL ? r->set_at : 0;
  out->expires_at = r != NULL ? r->expires_at : LP_TAGS_NEVER;
  if (t->type == LP_TAGS_STRING && r != NULL) {
    out->str = lp_strpool_get(&t->strs, (uint32_t)r->num, &out->len);
    out->num = 0;
  }
}

int lp_tags_get(const lp_tags *h, uint64_t profile_id, uint32_t tag_id, int64_t as_of,
                lp_tags_value *out) {
  GUARD(h, "lp_tags_get");
  lp_error *e = LP_ERR_OF_CONST(h);
  if (out == NULL || out->struct_size != sizeof(lp_tags_value))
    return lp_error_set(e, LP_EINVAL, "out: NULL or bad struct_size");
  if (tag_id >= h->tags.len || tags_tag_at(h, tag_id)->retired)
    return lp_error_set(e, LP_ENOTFOUND, "tag %u: no such tag (or retired)", tag_id);
  const tags_tag *t = tags_tag_at(h, tag_id);
  uint32_t ord;
  if (!tags_find_ord(h, profile_id, &ord))
    return lp_error_set(e, LP_ENOTFOUND, "profile %llu: unknown", (unsigned long long)profile_id);
  const tags_rec *r;
  if (!tags_live(t, ord, as_of, &r))
    return lp_error_set(e, LP_ENOTFOUND, "profile %llu has no live value of \"%s\"",
                        (unsigned long long)profile_id, tags_str_c(&t->name));
  fill_value(t, r, out);
  return LP_OK;
}

/* ---- attributes ---- */

static int attr_arg(lp_tags *h, uint32_t attr_id, tags_attr **out) {
  if (attr_id >= h->attrs.len)
    return lp_error_set(&h->err, LP_ENOTFOUND, "attribute %u: no such attribute", attr_id);
  *out = tags_attr_at(h, attr_id);
  return LP_OK;
}

static int col_reserve(lp_tags *h, tags_attr *a, uint32_t ord) {
  if (ord < a->cap) return LP_OK;
  size_t cap = a->cap < 1024 ? 1024 : a->cap;
  while (cap <= ord) cap *= 2;
  int64_t *col = a->col;
  int rc = a->col == NULL ? lp_mem_alloc_array(&h->mem, cap, sizeof *col, (void **)&col)
                          : lp_mem_realloc_array(&h->mem, (void **)&col, a->cap, cap, sizeof *col);
  if (rc != LP_OK) return rc;
  for (size_t i = a->cap; i < cap; i++) col[i] = TAGS_MISSING;
  a->col = col;
  a->cap = cap;
  return LP_OK;
}

static int set_attr(lp_tags *h, uint64_t profile_id, tags_attr *a, int64_t v, const char *s,
                    size_t len) {
  uint32_t o = next_ord(h, profile_id);
  int rc = col_reserve(h, a, o);
  if (rc == LP_OK && a->type == LP_TAGS_STRING) {
    uint32_t sid;
    rc = lp_strpool_intern(&a->strs, &h->mem, s == NULL ? "" : s, len, &sid, NULL);
    v = sid;
  }
  if (rc != LP_OK) return lp_error_set(&h->err, rc, "cannot set attribute: %s", lp_strerror(rc));
  uint32_t ord;
  bool added;
  rc = tags_ensure_profile(h, profile_id, &ord, &added);
  if (rc != LP_OK) return rc;
  a->col[ord] = v;
  h->data_gen++;
  return LP_OK;
}

int lp_tags_set_attr_int(lp_tags *h, uint64_t profile_id, uint32_t attr_id, int64_t value) {
  GUARD(h, "lp_tags_set_attr_int");
  tags_attr *a = NULL;
  int rc = attr_arg(h, attr_id, &a);
  if (rc != LP_OK) return rc;
  if (a->type == LP_TAGS_STRING)
    return lp_error_set(&h->err, LP_EINVAL, "attribute \"%s\" is a string", tags_str_c(&a->name));
  if (value == TAGS_MISSING)
    return lp_error_set(&h->err, LP_ERANGE, "value: INT64_MIN is not a storable value");
  return set_attr(h, profile_id, a, value, NULL, 0);
}

int lp_tags_set_attr_string(lp_tags *h, uint64_t profile_id, uint32_t attr_id, const char *s,
                            size_t len) {
  GUARD(h, "lp_tags_set_attr_string");
  tags_attr *a = NULL;
  int rc = attr_arg(h, attr_id, &a);
  if (rc != LP_OK) return rc;
  if (a->type != LP_TAGS_STRING)
    return lp_error_set(&h->err, LP_EINVAL, "attribute \"%s\" is not a string", tags_str_c(&a->name));
  rc = check_string(&h->err, s, len);
  if (rc != LP_OK) return rc;
  return set_attr(h, profile_id, a, 0, s, len);
}

int lp_tags_clear_attr(lp_tags *h, uint64_t profile_id, uint32_t attr_id) {
  GUARD(h, "lp_tags_clear_attr");
  tags_attr *a = NULL;
  int rc = attr_arg(h, attr_id, &a);
  if (rc != LP_OK) return rc;
  uint32_t ord;
  if (!tags_find_ord(h, profile_id, &ord))
    return lp_error_set(&h->err, LP_ENOTFOUND, "profile %llu: unknown", (unsigned long long)profile_id);
  if (ord < a->cap) a->col[ord] = TAGS_MISSING;
  h->data_gen++;
  return LP_OK;
}

int lp_tags_get_attr(const lp_tags *h, uint64_t profile_id, uint32_t attr_id, lp_tags_value *out) {
  GUARD(h, "lp_tags_get_attr");
  lp_error *e = LP_ERR_OF_CONST(h);
  if (out == NULL || out->struct_size != sizeof(lp_tags_value))
    return lp_error_set(e, LP_EINVAL, "out: NULL or bad struct_size");
  if (attr_id >= h->attrs.len)
    return lp_error_set(e, LP_ENOTFOUND, "attribute %u: no such attribute", attr_id);
  const tags_attr *a = tags_attr_at(h, attr_id);
  uint32_t ord;
  if (!tags_find_ord(h, profile_id, &ord))
    return lp_error_set(e, LP_ENOTFOUND, "profile %llu: unknown", (unsigned long long)profile_id);
  if (ord >= a->cap || a->col[ord] == TAGS_MISSING)
    return lp_error_set(e, LP_ENOTFOUND, "profile %llu has no \"%s\"", (unsigned long long)profile_id,
                        tags_str_c(&a->name));
  out->type = a->type;
  out->num = a->col[ord];
  out->str = NULL;
  out->len = 0;
  out->set_at = 0;
  out->expires_at = LP_TAGS_NEVER;
  if (a->type == LP_TAGS_STRING) {
    out->str = lp_strpool_get(&a->strs, (uint32_t)out->num, &out->len);
    out->num = 0;
  }
  return LP_OK;
}

/* ---- removal and merge ---- */

/* Fallible half of removing ordinal ord: clear its bit in every tag bitmap
 * and in `live`, rolling back on failure. tagv (room for every tag)
 * receives the tags that held it. */
static int remove_bits(lp_tags *h, uint32_t ord, uint32_t *tagv, size_t *nt) {
  size_t n = 0;
  int rc = LP_OK;
  for (uint32_t i = 0; i < (uint32_t)h->tags.len; i++) {
    tags_tag *t = tags_tag_at(h, i);
    if (!lp_bitmap_contains(&t->has, ord)) continue;
    rc = lp_bitmap_remove(&t->has, &h->mem, ord);
    if (rc != LP_OK) break;
    tagv[n++] = i;
  }
  if (rc == LP_OK) rc = lp_bitmap_remove(&h->live, &h->mem, ord);
  if (rc == LP_OK) {
    *nt = n;
    return LP_OK;
  }
  /* Roll back. Re-adding can only fail if memory runs out again; such a
   * tag then loses this profile's value (its record goes too, so the
   * state stays consistent). */
  for (size_t j = 0; j < n; j++) {
    tags_tag *t = tags_tag_at(h, tagv[j]);
    if (lp_bitmap_add(&t->has, &h->mem, ord) != LP_OK) rec_delete(h, t, ord);
  }
  return rc;
}

/* Infallible half: records, attributes, id, ordinal (room in holes
 * reserved). */
static void remove_rest(lp_tags *h, uint32_t ord, const uint32_t *tagv, size_t nt) {
  for (size_t j = 0; j < nt; j++) rec_delete(h, tags_tag_at(h, tagv[j]), ord);
  for (uint32_t i = 0; i < (uint32_t)h->attrs.len; i++) {
    tags_attr *a = tags_attr_at(h, i);
    if (ord < a->cap) a->col[ord] = TAGS_MISSING;
  }
  uint64_t *ids = (uint64_t *)h->ids.data;
  (void)lp_map64_del(&h->index, ids[ord], NULL);
  ids[ord] = 0;
  heap_push(h, ord);
  h->data_gen++;
}

int lp_tags_remove_profile(lp_tags *h, uint64_t profile_id) {
  GUARD(h, "lp_tags_remove_profile");
  uint32_t ord;
  if (!tags_find_ord(h, profile_id, &ord))
    return lp_error_set(&h->err, LP_ENOTFOUND, "profile %llu: unknown", (unsigned long long)profile_id);
  size_t n = h->tags.len ? h->tags.len : 1, nt = 0;
  uint32_t *tagv = NULL;
  int rc = lp_mem_alloc_array(&h->mem, n, sizeof *tagv, (void **)&tagv);
  if (rc == LP_OK) rc = lp_vec_reserve(&h->holes, &h->mem, h->holes.len + 1);
  if (rc == LP_OK) rc = remove_bits(h, ord, tagv, &nt);
  if (rc == LP_OK) remove_rest(h, ord, tagv, nt);
  if (tagv != NULL && n > 0) lp_mem_free_array(&h->mem, tagv, n, sizeof *tagv);
  if (rc != LP_OK) return lp_error_set(&h->err, rc, "cannot remove profile: %s", lp_strerror(rc));
  return LP_OK;
}

/* What a merge does to one tag of `into`. */
enum { M_KEEP = 0, M_SET = 1 };

static int cmp_vals(const tags_tag *t, const tags_rec *a, const tags_rec *b) {
  if (t->type == LP_TAGS_STRING) {
    size_t la = 0, lb = 0;
    const char *sa = lp_strpool_get(&t->strs, (uint32_t)a->num, &la);
    const char *sb = lp_strpool_get(&t->strs, (uint32_t)b->num, &lb);
    return tags_bytes_cmp(sa, la, sb, lb);
  }
  return (a->num > b->num) - (a->num < b->num);
}

/* The value `into` gets for tag t, or M_KEEP. LP_ERANGE on SUM overflow. */
static int merge_one(const tags_tag *t, const tags_rec *ir, bool il, const tags_rec *fr,
                     bool fl, uint32_t into_ord, tags_rec *out, int *action) {
  *action = M_KEEP;
  if (!fl) return LP_OK;
  tags_rec f = fr != NULL ? *fr : (tags_rec){1, LP_TAGS_NEVER, 0, 0, 0};
  f.ord = into_ord;
  if (!il) {
    *out = f;
    *action = M_SET;
    return LP_OK;
  }
  tags_rec i = ir != NULL ? *ir : (tags_rec){1, LP_TAGS_NEVER, 0, into_ord, 0};
  switch (t->merge) {
    case LP_TAGS_MERGE_OR:
      if (t->type != LP_TAGS_FLAG) return LP_OK;
      if (f.expires_at <= i.expires_at) return LP_OK;
      i.expires_at = f.expires_at;
      break;
    case LP_TAGS_MERGE_MAX:
      if (cmp_vals(t, &f, &i) <= 0) return LP_OK;
      i = f;
      break;
    case LP_TAGS_MERGE_MIN:
      if (cmp_vals(t, &f, &i) >= 0) return LP_OK;
      i = f;
      break;
    case LP_TAGS_MERGE_LATEST:
      if (f.set_at <= i.set_at) return LP_OK;
      i = f;
      break;
    case LP_TAGS_MERGE_SUM:
      if (lp_i64_add_overflow(i.num, f.num, &i.num) || i.num == TAGS_MISSING) return LP_ERANGE;
      if (f.expires_at < i.expires_at) i.expires_at = f.expires_at;
      if (f.set_at > i.set_at) i.set_at = f.set_at;
      break;
    default: return LP_OK;
  }
  *out = i;
  *action = M_SET;
  return LP_OK;
}

int lp_tags_merge_profiles(lp_tags *h, uint64_t into, uint64_t from, int64_t as_of) {
  GUARD(h, "lp_tags_merge_profiles");
  if (into == from) return lp_error_set(&h->err, LP_EINVAL, "into and from are the same profile");
  uint32_t ford;
  if (!tags_find_ord(h, from, &ford))
    return lp_error_set(&h->err, LP_ENOTFOUND, "profile %llu: unknown", (unsigned long long)from);
  uint32_t iord = next_ord(h, into);
  size_t nt = h->tags.len ? h->tags.len : 1;
  uint32_t *tagv = NULL, *addv = NULL;
  tags_rec *newv = NULL;
  uint8_t *act = NULL;
  int rc = lp_mem_alloc_array(&h->mem, nt, sizeof *tagv, (void **)&tagv);
  if (rc == LP_OK) rc = lp_mem_alloc_array(&h->mem, nt, sizeof *addv, (void **)&addv);
  if (rc == LP_OK) rc = lp_mem_alloc_array(&h->mem, nt, sizeof *newv, (void **)&newv);
  if (rc == LP_OK) act = lp_mem_zalloc(&h->mem, nt);
  if (rc == LP_OK && act == NULL) rc = LP_ENOMEM;
  bool into_known = tags_find_ord(h, into, &iord);
  /* Plan: what into gets per tag (nothing changes yet). */
  for (uint32_t k = 0; rc == LP_OK && k < (uint32_t)h->tags.len; k++) {
    tags_tag *t = tags_tag_at(h, k);
    if (t->retired || t->prog != NULL) continue;
    const tags_rec *ir = NULL, *fr;
    bool il = into_known && tags_live(t, iord, as_of, &ir);
    bool fl = tags_live(t, ford, as_of, &fr);
    int a;
    rc = merge_one(t, ir, il, fr, fl, iord, &newv[k], &a);
    if (rc == LP_ERANGE)
      lp_error_set(&h->err, rc, "merge: the sum of \"%s\" overflows", tags_str_c(&t->name));
    act[k] = (uint8_t)a;
    if (rc == LP_OK && a == M_SET && needs_rec(t, &newv[k])) rc = rec_reserve(h, t, 1);
  }
  for (uint32_t i = 0; rc == LP_OK && i < (uint32_t)h->attrs.len; i++) {
    tags_attr *a = tags_attr_at(h, i);
    if (ford < a->cap && a->col[ford] != TAGS_MISSING) rc = col_reserve(h, a, iord);
  }
  if (rc == LP_OK) rc = lp_vec_reserve(&h->holes, &h->mem, h->holes.len + 1);
  if (rc != LP_OK && rc != LP_ERANGE) lp_error_set(&h->err, rc, "cannot merge: %s", lp_strerror(rc));
  bool added = false;
  if (rc == LP_OK) rc = tags_ensure_profile(h, into, &iord, &added);
  /* Fallible bitmap steps: bits for into, then from's removal. */
  size_t na = 0, nrem = 0;
  for (uint32_t k = 0; rc == LP_OK && k < (uint32_t)h->tags.len; k++) {
    tags_tag *t = tags_tag_at(h, k);
    if (act[k] != M_SET || lp_bitmap_contains(&t->has, iord)) continue;
    rc = lp_bitmap_add(&t->has, &h->mem, iord);
    if (rc == LP_OK) addv[na++] = k;
  }
  if (rc == LP_OK) rc = remove_bits(h, ford, tagv, &nrem);
  if (rc != LP_OK && rc != LP_ERANGE) {
    for (size_t j = 0; j < na; j++) (void)lp_bitmap_remove(&tags_tag_at(h, addv[j])->has, &h->mem, iord);
    if (added) tags_drop_new_profile(h, into, iord);
    lp_error_set(&h->err, rc, "cannot merge: %s", lp_strerror(rc));
  }
  if (rc == LP_OK) {
    for (uint32_t k = 0; k < (uint32_t)h->tags.len; k++) {
      if (act[k] != M_SET) continue;
      tags_tag *t = tags_tag_at(h, k);
      if (needs_rec(t, &newv[k])) rec_store(h, t, &newv[k]);
      else rec_delete(h, t, iord);
    }
    for (uint32_t i = 0; i < (uint32_t)h->attrs.len; i++) {
      tags_attr *a = tags_attr_at(h, i);
      if (ford < a->cap && a->col[ford] != TAGS_MISSING && a->col[iord] == TAGS_MISSING)
        a->col[iord] = a->col[ford];
    }
    remove_rest(h, ford, tagv, nrem);
  }
  if (act != NULL) lp_mem_free(&h->mem, act, nt);
  if (newv != NULL) lp_mem_free_array(&h->mem, newv, nt, sizeof *newv);
  if (addv != NULL) lp_mem_free_array(&h->mem, addv, nt, sizeof *addv);
  if (tagv != NULL) lp_mem_free_array(&h->mem, tagv, nt, sizeof *tagv);
  return rc;
}
