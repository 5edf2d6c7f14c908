/*
 * The invariant checker of a tag state (the tests call it after every
 * injected failure, the fuzz targets after every input).
 * SPDX-License-Identifier: MIT
 */
#include "tags/tags_internal.h"

#define FAIL() return LP_ECORRUPT

static int check_profiles(const lp_tags *h) {
  if (lp_bitmap_check(&h->live) != LP_OK) FAIL();
  uint64_t card = lp_bitmap_cardinality(&h->live);
  if (card != h->index.len || card + h->holes.len != h->ids.len) FAIL();
  uint32_t mx;
  if (card > 0 && (!lp_bitmap_maximum(&h->live, &mx) || mx >= h->ids.len)) FAIL();
  for (uint32_t o = 0; o < (uint32_t)h->ids.len; o++) {
    uint64_t id = tags_id_of(h, o), v;
    if (lp_bitmap_contains(&h->live, o)) {
      if (!lp_map64_get(&h->index, id, &v) || v != o) FAIL();
    } else if (id != 0) {
      FAIL();
    }
  }
  const uint32_t *heap = (const uint32_t *)h->holes.data;
  for (size_t i = 0; i < h->holes.len; i++) {
    if (lp_bitmap_contains(&h->live, heap[i]) || heap[i] >= h->ids.len) FAIL();
    if (i > 0 && heap[(i - 1) / 2] >= heap[i]) FAIL();
  }
  return LP_OK;
}

static int check_tag(const lp_tags *h, const tags_tag *t) {
  if (t->name.len == 0 || t->name.len > LP_TAGS_MAX_NAME) FAIL();
  if ((t->prog == NULL) != (t->rule_text.len == 0)) FAIL();
  if (t->retired && (t->prog != NULL || !lp_bitmap_is_empty(&t->has))) FAIL();
  if (!tags_merge_ok(t->type, t->merge)) FAIL();
  if (lp_bitmap_check(&t->has) != LP_OK) FAIL();
  if (lp_bitmap_andnot_cardinality(&t->has, &h->live) != 0) FAIL();
  if (t->recs.len != t->idx.len) FAIL();
  if (tags_valued(t) && t->recs.len != lp_bitmap_cardinality(&t->has)) FAIL();
  const tags_rec *r = (const tags_rec *)t->recs.data;
  uint64_t expiring = 0;
  for (size_t i = 0; i < t->recs.len; i++) {
    uint64_t v;
    if (!lp_map64_get(&t->idx, r[i].ord, &v) || v != i) FAIL();
    if (!lp_bitmap_contains(&t->has, r[i].ord)) FAIL();
    if (t->type == LP_TAGS_FLAG && (r[i].num != 1 || r[i].expires_at == LP_TAGS_NEVER)) FAIL();
    if (t->type == LP_TAGS_STRING && (r[i].num < 0 || (uint64_t)r[i].num >= lp_strpool_count(&t->strs)))
      FAIL();
    if (r[i].num == TAGS_MISSING) FAIL();
    if (t->prog != NULL && r[i].expires_at != LP_TAGS_NEVER) FAIL();
    expiring += r[i].expires_at != LP_TAGS_NEVER;
  }
  if (expiring != t->n_expiring) FAIL();
  return LP_OK;
}

static int check_attr(const lp_tags *h, const tags_attr *a) {
  if (a->name.len == 0) FAIL();
  for (size_t o = 0; o < a->cap; o++) {
    int64_t v = a->col[o];
    if (v == TAGS_MISSING) continue;
    if (o >= h->ids.len || !lp_bitmap_contains(&h->live, (uint32_t)o)) FAIL();
    if (a->type == LP_TAGS_STRING && (v < 0 || (uint64_t)v >= lp_strpool_count(&a->strs))) FAIL();
  }
  return LP_OK;
}

int tags_check(const lp_tags *h) {
  if (h == NULL) FAIL();
  if (h->tags.len > LP_TAGS_MAX_TAGS || h->attrs.len > LP_TAGS_MAX_ATTRS) FAIL();
  if (check_profiles(h) != LP_OK) FAIL();
  for (uint32_t i = 0; i < (uint32_t)h->tags.len; i++) {
    const tags_tag *t = tags_tag_at(h, i);
    uint32_t id;
    if (!tags_lookup_tag(h, t->name.p, t->name.len, &id) || id != i) FAIL();
    if (tags_lookup_attr(h, t->name.p, t->name.len, &id)) FAIL();
    if (check_tag(h, t) != LP_OK) FAIL();
  }
  for (uint32_t i = 0; i < (uint32_t)h->attrs.len; i++) {
    const tags_attr *a = tags_attr_at(h, i);
    uint32_t id;
    if (!tags_lookup_attr(h, a->name.p, a->name.len, &id) || id != i) FAIL();
    if (check_attr(h, a) != LP_OK) FAIL();
  }
  return LP_OK;
}
