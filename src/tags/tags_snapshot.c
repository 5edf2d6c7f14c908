/*
 * Tag snapshots: canonical save (records by ordinal, string tables in
 * first-use order, so the same state gives the same bytes whatever its
 * history).
 * SPDX-License-Identifier: MIT
 */
#include "core/codec.h"
#include "tags/tags_internal.h"

/* Records encoded per writer call. */
#define TAGS_CHUNK 4096

static int w_str(lp_snapshot_writer *w, const char *s, size_t len) {
  int rc = lp_snapw_u32(w, (uint32_t)len);
  if (rc == LP_OK && len > 0) rc = lp_snapshot_writer_write(w, s, len);
  return rc;
}
static int w_tstr(lp_snapshot_writer *w, const tags_str *s) { return w_str(w, s->p, s->len); }

static int w_bitmap(const lp_tags *h, lp_snapshot_writer *w, const lp_bitmap *b) {
  size_t n = lp_bitmap_serialized_size(b);
  uint8_t *buf = lp_mem_alloc(&h->mem, n ? n : 1);
  if (buf == NULL) return LP_ENOMEM;
  lp_bitmap_serialize(b, buf);
  int rc = lp_snapw_u64(w, n);
  if (rc == LP_OK) rc = lp_snapshot_writer_write(w, buf, n);
  lp_mem_free(&h->mem, buf, n ? n : 1);
  return rc;
}

static int write_opts(const lp_tags *h, lp_snapshot_writer *w) {
  int rc = lp_snapshot_writer_begin_section(w, TAGS_SEC_OPTS, LP_SECTION_REQUIRED);
  if (rc == LP_OK) rc = lp_snapw_i64(w, h->min_audience);
  if (rc == LP_OK) rc = lp_snapw_u64(w, h->tax_version);
  bool fresh = h->evaluated && h->eval_gen == h->data_gen;
  if (rc == LP_OK) rc = lp_snapw_u64(w, h->evaluated ? 1 : 0);
  if (rc == LP_OK) rc = lp_snapw_i64(w, h->evaluated ? h->eval_as_of : 0);
  if (rc == LP_OK) rc = lp_snapw_u64(w, fresh ? 1 : 0);
  if (rc == LP_OK) rc = lp_snapshot_writer_end_section(w);
  return rc;
}

static int write_taxonomy(const lp_tags *h, lp_snapshot_writer *w) {
  int rc = lp_snapshot_writer_begin_section(w, TAGS_SEC_TAXONOMY, LP_SECTION_REQUIRED);
  if (rc == LP_OK) rc = lp_snapw_u64(w, h->tags.len);
  for (uint32_t i = 0; rc == LP_OK && i < (uint32_t)h->tags.len; i++) {
    const tags_tag *t = tags_tag_at(h, i);
    const uint32_t f[6] = {t->type, t->merge, t->sensitivity, t->scale, t->retired, 0};
    for (int j = 0; rc == LP_OK && j < 6; j++) rc = lp_snapw_u32(w, f[j]);
    if (rc == LP_OK) rc = lp_snapw_i64(w, t->ttl);
    if (rc == LP_OK) rc = lp_snapw_u64(w, t->since_version);
    if (rc == LP_OK) rc = lp_snapw_u64(w, t->changed_version);
    const tags_str *s[] = {&t->name, &t->category, &t->description, &t->owner,
                           &t->purpose, &t->consent_for, &t->rule_text};
    for (size_t j = 0; rc == LP_OK && j < LP_ARRAY_LEN(s); j++) rc = w_tstr(w, s[j]);
  }
  if (rc == LP_OK) rc = lp_snapshot_writer_end_section(w);
  return rc;
}

static int write_attrs(const lp_tags *h, lp_snapshot_writer *w) {
  int rc = lp_snapshot_writer_begin_section(w, TAGS_SEC_ATTRS, LP_SECTION_REQUIRED);
  if (rc == LP_OK) rc = lp_snapw_u64(w, h->attrs.len);
  for (uint32_t i = 0; rc == LP_OK && i < (uint32_t)h->attrs.len; i++) {
    const tags_attr *a = tags_attr_at(h, i);
    rc = lp_snapw_u32(w, a->type);
    if (rc == LP_OK) rc = lp_snapw_u32(w, a->scale);
    if (rc == LP_OK) rc = w_tstr(w, &a->name);
  }
  if (rc == LP_OK) rc = lp_snapshot_writer_end_section(w);
  return rc;
}

static int write_profiles(const lp_tags *h, lp_snapshot_writer *w) {
  uint8_t *buf = lp_mem_alloc(&h->mem, TAGS_CHUNK * 8);
  if (buf == NULL) return LP_ENOMEM;
  int rc = lp_snapshot_writer_begin_section(w, TAGS_SEC_PROFILES, LP_SECTION_REQUIRED);
  if (rc == LP_OK) rc = lp_snapw_u64(w, h->ids.len);
  for (size_t i = 0; rc == LP_OK && i < h->ids.len; i += TAGS_CHUNK) {
    size_t k = h->ids.len - i < TAGS_CHUNK ? h->ids.len - i : TAGS_CHUNK;
    for (size_t j = 0; j < k; j++) lp_put_u64le(buf + 8 * j, tags_id_of(h, (uint32_t)(i + j)));
    rc = lp_snapshot_writer_write(w, buf, 8 * k);
  }
  lp_mem_free(&h->mem, buf, TAGS_CHUNK * 8);
  if (rc == LP_OK) rc = w_bitmap(h, w, &h->live);
  if (rc == LP_OK) rc = lp_snapshot_writer_end_section(w);
  return rc;
}

/* Canonical string table of a pool: ids in order of first use by
 * ascending ordinal. map (pool size) receives old id -> new id. */
typedef struct strtab {
  uint32_t *map;
  size_t n;    /* pool size */
  uint32_t used;
} strtab;

static int strtab_init(const lp_tags *h, strtab *st, const lp_strpool *pool) {
  st->n = lp_strpool_count(pool);
  st->used = 0;
  st->map = NULL;
  if (st->n == 0) return LP_OK;
  int rc = lp_mem_alloc_array(&h->mem, st->n, sizeof *st->map, (void **)&st->map);
  if (rc == LP_OK) memset(st->map, 0xff, st->n * sizeof *st->map);
  return rc;
}
static void strtab_use(strtab *st, int64_t id) {
  if (st->map[id] == UINT32_MAX) st->map[id] = st->used++;
}
static void strtab_free(const lp_tags *h, strtab *st) {
  if (st->map != NULL) lp_mem_free_array(&h->mem, st->map, st->n, sizeof *st->map);
}
static int strtab_write(const lp_tags *h, lp_snapshot_writer *w, const strtab *st,
                        const lp_strpool *pool) {
  uint32_t *inv = NULL;
  if (st->used > 0 && lp_mem_alloc_array(&h->mem, st->used, sizeof *inv, (void **)&inv) != LP_OK)
    return LP_ENOMEM;
  for (size_t i = 0; i < st->n; i++)
    if (st->map[i] != UINT32_MAX) inv[st->map[i]] = (uint32_t)i;
  int rc = lp_snapw_u64(w, st->used);
  for (uint32_t k = 0; rc == LP_OK && k < st->used; k++) {
    size_t len = 0;
    const char *s = lp_strpool_get(pool, inv[k], &len);
    rc = w_str(w, s, len);
  }
  if (inv != NULL) lp_mem_free_array(&h->mem, inv, st->used, sizeof *inv);
  return rc;
}

static int write_values(const lp_tags *h, lp_snapshot_writer *w, uint32_t id) {
  const tags_tag *t = tags_tag_at(h, id);
  strtab st;
  int rc = strtab_init(h, &st, &t->strs);
  lp_bitmap_iter it;
  uint32_t buf[256];
  size_t got;
  if (rc == LP_OK && t->type == LP_TAGS_STRING) {
    lp_bitmap_iter_init(&it, &t->has, 0);
    while ((got = lp_bitmap_iter_next(&it, buf, LP_ARRAY_LEN(buf))) > 0)
      for (size_t i = 0; i < got; i++) strtab_use(&st, tags_rec_of(t, buf[i])->num);
  }
  if (rc == LP_OK) rc = lp_snapshot_writer_begin_section(w, TAGS_SEC_VALUES, LP_SECTION_REQUIRED);
  if (rc == LP_OK) rc = lp_snapw_u32(w, id);
  if (rc == LP_OK) rc = lp_snapw_u32(w, 0);
  if (rc == LP_OK) rc = w_bitmap(h, w, &t->has);
  if (rc == LP_OK) rc = strtab_write(h, w, &st, &t->strs);
  if (rc == LP_OK) rc = lp_snapw_u64(w, t->recs.len);
  if (rc == LP_OK) {
    lp_bitmap_iter_init(&it, &t->has, 0);
    while (rc == LP_OK && (got = lp_bitmap_iter_next(&it, buf, LP_ARRAY_LEN(buf))) > 0)
      for (size_t i = 0; rc == LP_OK && i < got; i++) {
        const tags_rec *r = tags_rec_of(t, buf[i]);
        if (r == NULL) continue;
        uint8_t b[32];
        int64_t num = t->type == LP_TAGS_STRING ? (int64_t)st.map[r->num] : r->num;
        lp_put_u32le(b, r->ord);
        lp_put_u32le(b + 4, 0);
        lp_put_u64le(b + 8, (uint64_t)num);
        lp_put_u64le(b + 16, (uint64_t)r->expires_at);
        lp_put_u64le(b + 24, (uint64_t)r->set_at);
        rc = lp_snapshot_writer_write(w, b, sizeof b);
      }
  }
  if (rc == LP_OK) rc = lp_snapshot_writer_end_section(w);
  strtab_free(h, &st);
  return rc;
}

/* Attribute values: dense (one i64 per ordinal, TAGS_MISSING when unset)
 * when that is no larger than (ordinal, value) pairs, else sparse. */
static int write_column(const lp_tags *h, lp_snapshot_writer *w, uint32_t id) {
  const tags_attr *a = tags_attr_at(h, id);
  size_t lim = a->cap < h->ids.len ? a->cap : h->ids.len, n = 0;
  for (size_t o = 0; o < lim; o++) n += a->col[o] != TAGS_MISSING;
  if (n == 0) return LP_OK;
  bool dense = n * 12 >= h->ids.len * 8;
  strtab st;
  int rc = strtab_init(h, &st, &a->strs);
  if (rc == LP_OK && a->type == LP_TAGS_STRING)
    for (size_t o = 0; o < lim; o++)
      if (a->col[o] != TAGS_MISSING) strtab_use(&st, a->col[o]);
  uint8_t *buf = rc == LP_OK ? lp_mem_alloc(&h->mem, TAGS_CHUNK * 12) : NULL;
  if (rc == LP_OK && buf == NULL) rc = LP_ENOMEM;
  if (rc == LP_OK) rc = lp_snapshot_writer_begin_section(w, TAGS_SEC_COLUMN, LP_SECTION_REQUIRED);
  if (rc == LP_OK) rc = lp_snapw_u32(w, id);
  if (rc == LP_OK) rc = lp_snapw_u32(w, dense ? 1 : 0);
  if (rc == LP_OK) rc = strtab_write(h, w, &st, &a->strs);
  if (rc == LP_OK) rc = lp_snapw_u64(w, dense ? h->ids.len : n);
  size_t k = 0, end = dense ? h->ids.len : lim;
  for (size_t o = 0; rc == LP_OK && o < end; o++) {
    int64_t v = o < lim ? a->col[o] : TAGS_MISSING;
    if (!dense && v == TAGS_MISSING) continue;
    if (v != TAGS_MISSING && a->type == LP_TAGS_STRING) v = (int64_t)st.map[v];
    if (dense) {
      lp_put_u64le(buf + 8 * k, (uint64_t)v);
    } else {
      lp_put_u32le(buf + 12 * k, (uint32_t)o);
      lp_put_u64le(buf + 12 * k + 4, (uint64_t)v);
    }
    if (++k == TAGS_CHUNK) {
      rc = lp_snapshot_writer_write(w, buf, k * (dense ? 8 : 12));
      k = 0;
    }
  }
  if (rc == LP_OK && k > 0) rc = lp_snapshot_writer_write(w, buf, k * (dense ? 8 : 12));
  if (rc == LP_OK) rc = lp_snapshot_writer_end_section(w);
  if (buf != NULL) lp_mem_free(&h->mem, buf, TAGS_CHUNK * 12);
  strtab_free(h, &st);
  return rc;
}

int lp_tags_save(const lp_tags *h, lp_writer write, void *ud) {
  if (h == NULL) return LP_EINVAL;
  lp_error *e = LP_ERR_OF_CONST(h);
  if (h->busy) return lp_error_reentered(e, "lp_tags_save");
  if (write == NULL) return lp_error_set(e, LP_EINVAL, "write: NULL");
  lp_tags *mh = (lp_tags *)(uintptr_t)h; /* busy flag: writable like the message slot */
  lp_allocator a;
  lp_mem_allocator(&h->mem, &a);
  lp_snapshot_writer *w = NULL;
  mh->busy = 1;
  int rc = lp_snapshot_writer_create(&a, write, ud, LP_TAGS_SNAPSHOT_KIND, &w);
  if (rc == LP_OK) rc = write_opts(h, w);
  if (rc == LP_OK) rc = write_taxonomy(h, w);
  if (rc == LP_OK) rc = write_attrs(h, w);
  if (rc == LP_OK) rc = write_profiles(h, w);
  for (uint32_t i = 0; rc == LP_OK && i < (uint32_t)h->tags.len; i++)
    if (!lp_bitmap_is_empty(&tags_tag_at(h, i)->has)) rc = write_values(h, w, i);
  for (uint32_t i = 0; rc == LP_OK && i < (uint32_t)h->attrs.len; i++) rc = write_column(h, w, i);
  if (rc == LP_OK) rc = lp_snapshot_writer_finish(w);
  mh->busy = 0;
  if (rc != LP_OK) {
    if (w != NULL && rc != LP_ENOMEM)
      lp_error_set(e, rc, "save failed: %s", lp_snapshot_writer_errmsg(w));
    else lp_error_set(e, rc, "save failed: %s", lp_strerror(rc));
  }
  lp_snapshot_writer_free(w);
  return rc;
}
