/*
 * Tag snapshot loading: decode into a state built aside, validate every
 * invariant (rules recompiled and type-checked against the loaded
 * taxonomy, cycles refused, bitmaps within the live profiles, records
 * consistent with their bitmaps), swap in only on success.
 * SPDX-License-Identifier: MIT
 */
#include "core/codec.h"
#include "core/utf8.h"
#include "tags/tags_internal.h"

/* Little-endian u64 from bytes: one load on little-endian hosts (the
 * columns are hundreds of megabytes), the portable helper elsewhere. */
static inline uint64_t rd64(const uint8_t *p) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  uint64_t v;
  memcpy(&v, p, sizeof v);
  return v;
#else
  return lp_get_u64le(p);
#endif
}

static int corrupt(lp_tags *h, const char *what) {
  return lp_error_set(&h->err, LP_ECORRUPT, "tags snapshot: %s", what);
}

static void image_init(lp_tags *im, const lp_tags *h) {
  memset(im, 0, sizeof *im);
  im->mem = h->mem;
  lp_vec_init(&im->tags, sizeof(tags_tag));
  lp_vec_init(&im->attrs, sizeof(tags_attr));
  lp_map64_init(&im->index);
  lp_vec_init(&im->ids, sizeof(uint64_t));
  lp_bitmap_init(&im->live);
  lp_vec_init(&im->holes, sizeof(uint32_t));
}

static void image_free(lp_tags *im) {
  const lp_mem *m = &im->mem;
  for (uint32_t i = 0; i < (uint32_t)im->tags.len; i++) tags_tag_release(m, tags_tag_at(im, i));
  for (uint32_t i = 0; i < (uint32_t)im->attrs.len; i++) tags_attr_release(m, tags_attr_at(im, i));
  lp_vec_free(&im->tags, m);
  lp_vec_free(&im->attrs, m);
  lp_hmap_free(&im->index, m);
  lp_vec_free(&im->ids, m);
  lp_bitmap_release(&im->live, m);
  lp_vec_free(&im->holes, m);
}

/* A length-prefixed text: pointer into the payload. */
static bool r_str(lp_cursor *c, const char **s, size_t *len, size_t max) {
  uint32_t n = lp_cursor_u32(c);
  if (!c->ok || n > max) return false;
  *s = (const char *)lp_cursor_take(c, n);
  *len = n;
  return c->ok;
}

static bool text_ok(const char *s, size_t len, bool name) {
  if (lp_utf8_check(s == NULL ? "" : s, len, NULL) != LP_UTF8_OK) return false;
  if (name) {
    if (len == 0) return false;
    for (size_t i = 0; i < len; i++)
      if ((unsigned char)s[i] < 0x20 || s[i] == '`' || s[i] == 0x7f) return false;
  }
  return true;
}

static int r_bitmap(lp_tags *h, lp_cursor *c, lp_bitmap *b) {
  size_t n;
  if (!lp_cursor_count(c, 1, &n)) return corrupt(h, "bad bitmap length");
  const uint8_t *p = lp_cursor_take(c, n);
  size_t used;
  int rc = lp_bitmap_deserialize(b, &h->mem, p, n, &used);
  if (rc == LP_ECORRUPT || (rc == LP_OK && used != n)) return corrupt(h, "invalid bitmap");
  if (rc != LP_OK) return lp_error_set(&h->err, rc, "cannot load: %s", lp_strerror(rc));
  return LP_OK;
}

static int decode_opts(lp_tags *h, lp_tags *im, lp_cursor *c, bool *fresh) {
  im->min_audience = lp_cursor_i64(c);
  im->tax_version = lp_cursor_u64(c);
  uint64_t ev = lp_cursor_u64(c);
  im->eval_as_of = lp_cursor_i64(c);
  uint64_t fr = lp_cursor_u64(c);
  if (!lp_cursor_done(c)) return corrupt(h, "options section has the wrong size");
  if (im->min_audience < 0 || im->min_audience > (INT64_C(1) << 32) || ev > 1 || fr > ev ||
      (ev == 0 && im->eval_as_of != 0) || im->tax_version > (UINT64_C(1) << 62))
    return corrupt(h, "options out of range");
  im->evaluated = ev == 1;
  *fresh = fr == 1;
  return LP_OK;
}

static bool name_taken(const lp_tags *im, const char *s, size_t len) {
  uint32_t id;
  return tags_lookup_tag(im, s, len, &id) || tags_lookup_attr(im, s, len, &id);
}

static int decode_taxonomy(lp_tags *h, lp_tags *im, lp_cursor *c) {
  size_t n;
  if (!lp_cursor_count(c, 6 * 4 + 24 + 7 * 4, &n) || n > LP_TAGS_MAX_TAGS)
    return corrupt(h, "bad tag count");
  int rc = lp_vec_reserve(&im->tags, &im->mem, n);
  if (rc != LP_OK) return lp_error_set(&h->err, rc, "cannot load: %s", lp_strerror(rc));
  for (size_t i = 0; i < n; i++) {
    uint32_t f[6];
    for (int j = 0; j < 6; j++) f[j] = lp_cursor_u32(c);
    int64_t ttl = lp_cursor_i64(c);
    uint64_t since = lp_cursor_u64(c), changed = lp_cursor_u64(c);
    const char *s[7];
    size_t len[7];
    const size_t max[7] = {LP_TAGS_MAX_NAME, LP_TAGS_MAX_TEXT, LP_TAGS_MAX_TEXT, LP_TAGS_MAX_TEXT,
                           LP_TAGS_MAX_NAME, LP_TAGS_MAX_NAME, LP_TAGS_MAX_RULE_TEXT};
    for (int j = 0; j < 7; j++)
      if (!r_str(c, &s[j], &len[j], max[j])) return corrupt(h, "truncated tag record");
    bool ok = f[0] >= LP_TAGS_FLAG && f[0] <= LP_TAGS_TIME && tags_merge_ok(f[0], f[1]) &&
              f[2] <= LP_TAGS_SENS_SPECIAL &&
              (f[0] == LP_TAGS_DECIMAL ? f[3] <= LP_TAGS_MAX_SCALE : f[3] == 0) && f[4] <= 1 &&
              f[5] == 0 && ttl >= 0 && since >= 1 && since <= changed && changed <= im->tax_version;
    for (int j = 0; ok && j < 7; j++) ok = text_ok(s[j], len[j], j == 0 || ((j == 4 || j == 5) && len[j] > 0));
    if (ok && len[5] > 0 && f[0] != LP_TAGS_FLAG) ok = false;
    if (ok && len[6] > 0 && f[4] == 1) ok = false;
    if (!ok) return corrupt(h, "invalid tag record");
    if (name_taken(im, s[0], len[0])) return corrupt(h, "duplicate name");
    tags_tag t;
    tags_tag_init(&t);
    tags_str *dst[7] = {&t.name, &t.category, &t.description, &t.owner, &t.purpose, &t.consent_for,
                        &t.rule_text};
    for (int j = 0; rc == LP_OK && j < 7; j++) rc = tags_str_set(&im->mem, dst[j], s[j], len[j]);
    if (rc != LP_OK) {
      tags_tag_release(&im->mem, &t);
      return lp_error_set(&h->err, rc, "cannot load: %s", lp_strerror(rc));
    }
    t.type = f[0];
    t.merge = f[1];
    t.sensitivity = f[2];
    t.scale = f[3];
    t.retired = f[4];
    t.ttl = ttl;
    t.since_version = since;
    t.changed_version = changed;
    (void)lp_vec_push(&im->tags, &im->mem, &t);
  }
  if (!lp_cursor_done(c)) return corrupt(h, "trailing bytes after the taxonomy");
  return LP_OK;
}

static int decode_attrs(lp_tags *h, lp_tags *im, lp_cursor *c) {
  size_t n;
  if (!lp_cursor_count(c, 12, &n) || n > LP_TAGS_MAX_ATTRS) return corrupt(h, "bad attribute count");
  int rc = lp_vec_reserve(&im->attrs, &im->mem, n);
  if (rc != LP_OK) return lp_error_set(&h->err, rc, "cannot load: %s", lp_strerror(rc));
  for (size_t i = 0; i < n; i++) {
    uint32_t type = lp_cursor_u32(c), scale = lp_cursor_u32(c);
    const char *s;
    size_t len = 0;
    if (!r_str(c, &s, &len, LP_TAGS_MAX_NAME)) return corrupt(h, "truncated attribute");
    if (!(type == LP_TAGS_INT || type == LP_TAGS_DECIMAL || type == LP_TAGS_STRING || type == LP_TAGS_TIME) ||
        (type == LP_TAGS_DECIMAL ? scale > LP_TAGS_MAX_SCALE : scale != 0) || !text_ok(s, len, true))
      return corrupt(h, "invalid attribute");
    if (name_taken(im, s, len)) return corrupt(h, "duplicate name");
    tags_attr a;
    memset(&a, 0, sizeof a);
    lp_strpool_init(&a.strs);
    rc = tags_str_set(&im->mem, &a.name, s, len);
    if (rc != LP_OK) return lp_error_set(&h->err, rc, "cannot load: %s", lp_strerror(rc));
    a.type = type;
    a.scale = scale;
    (void)lp_vec_push(&im->attrs, &im->mem, &a);
  }
  if (!lp_cursor_done(c)) return corrupt(h, "trailing bytes after the attributes");
  return LP_OK;
}

/* Compile every rule against the loaded taxonomy; refuse cycles. */
static int compile_rules(lp_tags *h, lp_tags *im) {
  for (uint32_t i = 0; i < (uint32_t)im->tags.len; i++) {
    tags_tag *t = tags_tag_at(im, i);
    if (t->rule_text.len == 0) continue;
    lp_error scratch;
    tags_prog *p;
    int rc = tags_compile(im, &scratch, t->rule_text.p, t->rule_text.len, tags_want_type(t->type),
                          t->scale, &p);
    if (rc == LP_ENOMEM) return lp_error_set(&h->err, rc, "cannot load: %s", lp_strerror(rc));
    if (rc != LP_OK) return corrupt(h, "a rule does not compile against the taxonomy");
    t->prog = p;
    tags_str canon = {NULL, 0};
    rc = tags_prog_text(im, p, &canon);
    if (rc != LP_OK) return lp_error_set(&h->err, rc, "cannot load: %s", lp_strerror(rc));
    bool same = tags_str_eq(&canon, t->rule_text.p, t->rule_text.len);
    tags_str_free(&im->mem, &canon);
    if (!same) return corrupt(h, "a rule is not in canonical form");
  }
  /* cycle check: repeatedly retire rules whose computed inputs are done */
  uint32_t n = (uint32_t)im->tags.len;
  uint8_t *done = lp_mem_zalloc(&im->mem, n ? n : 1);
  if (done == NULL) return lp_error_set(&h->err, LP_ENOMEM, "cannot load: out of memory");
  uint32_t left = 0;
  for (uint32_t i = 0; i < n; i++) {
    done[i] = tags_tag_at(im, i)->prog == NULL;
    left += !done[i];
  }
  bool progress = true;
  while (left > 0 && progress) {
    progress = false;
    for (uint32_t i = 0; i < n; i++) {
      if (done[i]) continue;
      const tags_prog *p = tags_tag_at(im, i)->prog;
      bool ready = true;
      for (uint32_t k = 0; k < p->n && ready; k++)
        if ((p->nodes[k].op == OP_TAG || p->nodes[k].op == OP_TAGVAL) && !done[p->nodes[k].a]) ready = false;
      if (ready) {
        done[i] = 1;
        left--;
        progress = true;
      }
    }
  }
  lp_mem_free(&im->mem, done, n ? n : 1);
  if (left > 0) return corrupt(h, "rules depend on each other in a cycle");
  return LP_OK;
}

/* Loader scratch: the live ordinals as plain words, for fast checks. */
typedef struct live_bits {
  uint64_t *w;
  size_t nwords;
} live_bits;

static int decode_profiles(lp_tags *h, lp_tags *im, lp_cursor *c, live_bits *lb) {
  size_t n;
  if (!lp_cursor_count(c, 8, &n)) return corrupt(h, "bad profile count");
  if (n > LP_TAGS_MAX_PROFILES) return lp_error_set(&h->err, LP_ELIMIT, "too many profiles");
  const uint8_t *ids = lp_cursor_take(c, n * 8);
  int rc = r_bitmap(h, c, &im->live);
  if (rc != LP_OK) return rc;
  if (!lp_cursor_done(c)) return corrupt(h, "trailing bytes after the profiles");
  uint64_t card = lp_bitmap_cardinality(&im->live);
  uint32_t mx;
  if (card > 0 && (!lp_bitmap_maximum(&im->live, &mx) || mx >= n)) return corrupt(h, "live profile beyond the table");
  rc = n > 0 ? lp_vec_append(&im->ids, &im->mem, ids, n) : LP_OK;
  if (rc == LP_OK && n > card) rc = lp_vec_reserve(&im->holes, &im->mem, n - (size_t)card);
  if (rc != LP_OK) return lp_error_set(&h->err, rc, "cannot load: %s", lp_strerror(rc));
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
  /* the column is little-endian on disk: bring it to host order */
  for (size_t i = 0; i < n; i++) ((uint64_t *)im->ids.data)[i] = lp_get_u64le(ids + 8 * i);
#endif
  lp_bitmap_iter it;
  uint32_t buf[256];
  size_t got;
  lb->nwords = n / 64 + 1;
  lb->w = lp_mem_zalloc(&im->mem, lb->nwords * sizeof *lb->w);
  if (lb->w == NULL) return lp_error_set(&h->err, LP_ENOMEM, "cannot load: out of memory");
  lp_bitmap_iter_init(&it, &im->live, 0);
  while ((got = lp_bitmap_iter_next(&it, buf, LP_ARRAY_LEN(buf))) > 0)
    for (size_t i = 0; i < got; i++) lb->w[buf[i] >> 6] |= UINT64_C(1) << (buf[i] & 63);
  /* The id map of the live ordinals (id -> ordinal), built at once: one
   * insert per profile would be a cache miss into a table of the
   * profiles' size each. */
  rc = lp_map64_build(&im->index, &im->mem, (const uint64_t *)im->ids.data, NULL, n, lb->w);
  if (rc == LP_ECORRUPT) return corrupt(h, "duplicate profile id");
  if (rc != LP_OK) return lp_error_set(&h->err, rc, "cannot load: %s", lp_strerror(rc));
  /* holes, ascending: a sorted array is a valid min-heap */
  for (size_t i = 0; i < n; i++)
    if (lb->w[i >> 6] == UINT64_MAX) i |= 63; /* a word of live profiles */
    else if (!((lb->w[i >> 6] >> (i & 63)) & 1)) {
      if (tags_id_of(im, (uint32_t)i) != 0) return corrupt(h, "a free profile slot holds an id");
      uint32_t o = (uint32_t)i;
      (void)lp_vec_push(&im->holes, &im->mem, &o);
    }
  return LP_OK;
}

/* String table into pool; ids must come out dense 0..n-1. */
static int r_strtab(lp_tags *h, lp_tags *im, lp_cursor *c, lp_strpool *pool, size_t *count) {
  size_t n;
  if (!lp_cursor_count(c, 4, &n)) return corrupt(h, "bad string table");
  for (size_t i = 0; i < n; i++) {
    const char *s;
    size_t len = 0;
    if (!r_str(c, &s, &len, LP_TAGS_MAX_STRING) || !text_ok(s, len, false))
      return corrupt(h, "invalid string value");
    uint32_t id;
    bool added;
    int rc = lp_strpool_intern(pool, &im->mem, len ? s : "", len, &id, &added);
    if (rc == LP_ENOMEM) return lp_error_set(&h->err, rc, "cannot load: %s", lp_strerror(rc));
    if (rc != LP_OK || !added) return corrupt(h, "duplicate string value");
  }
  *count = n;
  return LP_OK;
}

static int decode_values(lp_tags *h, lp_tags *im, lp_cursor *c, uint32_t *next_tag) {
  uint32_t id = lp_cursor_u32(c), pad = lp_cursor_u32(c);
  if (!c->ok || pad != 0 || id >= im->tags.len || id < *next_tag) return corrupt(h, "bad value section header");
  *next_tag = id + 1;
  tags_tag *t = tags_tag_at(im, id);
  if (t->retired) return corrupt(h, "values of a retired tag");
  int rc = r_bitmap(h, c, &t->has);
  if (rc != LP_OK) return rc;
  if (lp_bitmap_is_empty(&t->has) || lp_bitmap_andnot_cardinality(&t->has, &im->live) != 0)
    return corrupt(h, "tag bitmap outside the live profiles");
  size_t nstr = 0, n;
  rc = r_strtab(h, im, c, &t->strs, &nstr);
  if (rc != LP_OK) return rc;
  if (nstr > 0 && t->type != LP_TAGS_STRING) return corrupt(h, "strings for a non-string tag");
  if (!lp_cursor_count(c, 32, &n)) return corrupt(h, "bad record count");
  uint64_t card = lp_bitmap_cardinality(&t->has);
  if (tags_valued(t) ? n != card : n > card) return corrupt(h, "record count does not match the bitmap");
  rc = n > 0 ? lp_vec_reserve(&t->recs, &im->mem, n) : LP_OK;
  if (rc == LP_OK && n > 0) rc = lp_hmap_reserve(&t->idx, &im->mem, n);
  if (rc != LP_OK) return lp_error_set(&h->err, rc, "cannot load: %s", lp_strerror(rc));
  int64_t prev = -1;
  for (size_t i = 0; i < n; i++) {
    tags_rec r;
    r.ord = lp_cursor_u32(c);
    r.pad = lp_cursor_u32(c);
    r.num = lp_cursor_i64(c);
    r.expires_at = lp_cursor_i64(c);
    r.set_at = lp_cursor_i64(c);
    if (!c->ok) return corrupt(h, "truncated records");
    bool ok = r.pad == 0 && (int64_t)r.ord > prev && lp_bitmap_contains(&t->has, r.ord);
    if (ok && t->type == LP_TAGS_STRING) ok = r.num >= 0 && (uint64_t)r.num < nstr;
    else if (ok && t->type == LP_TAGS_FLAG) ok = r.num == 1 && r.expires_at != LP_TAGS_NEVER;
    else if (ok) ok = r.num != TAGS_MISSING;
    if (ok && t->prog != NULL) ok = r.expires_at == LP_TAGS_NEVER;
    if (!ok) return corrupt(h, "invalid record");
    prev = r.ord;
    (void)lp_map64_put(&t->idx, &im->mem, r.ord, t->recs.len);
    (void)lp_vec_push(&t->recs, &im->mem, &r);
    if (r.expires_at != LP_TAGS_NEVER) t->n_expiring++;
  }
  if (!lp_cursor_done(c)) return corrupt(h, "trailing bytes after records");
  return LP_OK;
}

static int decode_column(lp_tags *h, lp_tags *im, lp_cursor *c, uint32_t *next_attr,
                         const live_bits *lb) {
  uint32_t id = lp_cursor_u32(c), mode = lp_cursor_u32(c);
  if (!c->ok || mode > 1 || id >= im->attrs.len || id < *next_attr) return corrupt(h, "bad column header");
  *next_attr = id + 1;
  tags_attr *a = tags_attr_at(im, id);
  size_t nstr = 0, n;
  int rc = r_strtab(h, im, c, &a->strs, &nstr);
  if (rc != LP_OK) return rc;
  if (nstr > 0 && a->type != LP_TAGS_STRING) return corrupt(h, "strings for a non-string attribute");
  bool dense = mode == 1;
  if (!lp_cursor_count(c, dense ? 8 : 12, &n) || n == 0 || (dense && n != im->ids.len))
    return corrupt(h, "bad column count");
  size_t cap = im->ids.len < 1024 ? 1024 : im->ids.len;
  rc = lp_mem_alloc_array(&im->mem, cap, sizeof *a->col, (void **)&a->col);
  if (rc != LP_OK) return lp_error_set(&h->err, rc, "cannot load: %s", lp_strerror(rc));
  a->cap = cap;
  /* a dense column writes every slot below n itself */
  for (size_t k = dense ? n : 0; k < cap; k++) a->col[k] = TAGS_MISSING;
  const uint8_t *p = lp_cursor_take(c, n * (dense ? 8 : 12));
  const uint64_t *live = lb->w;
  int64_t prev = -1;
  size_t present = 0;
  for (size_t i = 0; i < n; i++) {
    uint32_t ord = dense ? (uint32_t)i : lp_get_u32le(p + 12 * i);
    int64_t v = (int64_t)rd64(dense ? p + 8 * i : p + 12 * i + 4);
    if (dense && v == TAGS_MISSING) {
      a->col[i] = TAGS_MISSING;
      continue;
    }
    if ((int64_t)ord <= prev || ord >= im->ids.len || !((live[ord >> 6] >> (ord & 63)) & 1) ||
        v == TAGS_MISSING || (a->type == LP_TAGS_STRING && (v < 0 || (uint64_t)v >= nstr)))
      return corrupt(h, "invalid column value");
    prev = ord;
    a->col[ord] = v;
    present++;
  }
  if (present == 0) return corrupt(h, "empty column");
  if (!lp_cursor_done(c)) return corrupt(h, "trailing bytes after a column");
  return LP_OK;
}

static void swap_in(lp_tags *h, lp_tags *im) {
  lp_tags tmp = *h;
  /* keep the handle's own mem, error slot and busy flag */
  lp_error err = h->err;
  *h = *im;
  h->mem = tmp.mem;
  h->err = err;
  h->busy = tmp.busy;
  *im = tmp;
}

int lp_tags_load(lp_tags *h, lp_reader read, void *ud) {
  if (h == NULL) return LP_EINVAL;
  if (h->busy) return lp_error_reentered(&h->err, "lp_tags_load");
  if (read == NULL) return lp_error_set(&h->err, LP_EINVAL, "read: NULL");
  lp_allocator a;
  lp_mem_allocator(&h->mem, &a);
  lp_snapshot_reader *r;
  int rc = lp_snapshot_reader_create(&a, read, ud, &r);
  if (rc != LP_OK) return lp_error_set(&h->err, rc, "cannot read: %s", lp_strerror(rc));
  lp_tags im;
  image_init(&im, h);
  live_bits lb = {NULL, 0};
  bool fresh = false;
  unsigned seen = 0;
  uint32_t next_tag = 0, next_attr = 0;
  h->busy = 1;
  uint32_t kind = 0;
  rc = lp_snapshot_reader_header(r, &kind, NULL);
  if (rc != LP_OK) rc = lp_error_set(&h->err, rc, "tags snapshot: %s", lp_snapshot_reader_errmsg(r));
  else if (kind != LP_TAGS_SNAPSHOT_KIND) rc = corrupt(h, "not a tags snapshot (wrong kind)");
  while (rc == LP_OK) {
    uint32_t type, flags;
    const uint8_t *data;
    size_t len = 0;
    rc = lp_snapshot_reader_next(r, &type, &flags, &data, &len);
    if (rc != LP_OK) {
      rc = lp_error_set(&h->err, rc, "tags snapshot: %s", lp_snapshot_reader_errmsg(r));
      break;
    }
    if (type == LP_SECTION_END) break;
    lp_cursor c;
    lp_cursor_init(&c, data, len);
    unsigned bit = type == TAGS_SEC_OPTS ? 1u : type == TAGS_SEC_TAXONOMY ? 2u : type == TAGS_SEC_ATTRS ? 4u
                   : type == TAGS_SEC_PROFILES ? 8u : type == TAGS_SEC_VALUES ? 16u
                   : type == TAGS_SEC_COLUMN ? 32u : 0u;
    if (bit == 0) {
      if (flags & LP_SECTION_REQUIRED) rc = lp_error_set(&h->err, LP_EVERSION, "tags snapshot: unknown required section");
      continue;
    }
    /* order: options, taxonomy, attributes, profiles, then values, then columns */
    if ((bit <= 8 && seen != bit - 1) || (bit > 8 && (seen & 15) != 15) ||
        (bit == 16 && (seen & 32))) {
      rc = corrupt(h, "section missing, repeated or out of order");
      break;
    }
    seen |= bit;
    if (bit == 1) rc = decode_opts(h, &im, &c, &fresh);
    else if (bit == 2) rc = decode_taxonomy(h, &im, &c);
    else if (bit == 4) {
      rc = decode_attrs(h, &im, &c);
      if (rc == LP_OK) rc = compile_rules(h, &im);
    } else if (bit == 8) rc = decode_profiles(h, &im, &c, &lb);
    else if (bit == 16) rc = decode_values(h, &im, &c, &next_tag);
    else rc = decode_column(h, &im, &c, &next_attr, &lb);
  }
  if (rc == LP_OK && (seen & 15) != 15) rc = corrupt(h, "missing section");
  h->busy = 0;
  if (rc == LP_OK) {
    im.data_gen = h->data_gen + 1;
    im.eval_gen = fresh ? im.data_gen : 0;
    swap_in(h, &im);
  }
  if (lb.w != NULL) lp_mem_free(&h->mem, lb.w, lb.nwords * sizeof *lb.w);
  image_free(&im);
  lp_snapshot_reader_free(r);
  return rc;
}
