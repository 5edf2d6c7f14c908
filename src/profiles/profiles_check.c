/*
 * Profile store: the invariant checker. profiles_check() validates the
 * owned handles, every kept fact (ranges, tag types, no fact under an
 * erased identifier) and the tag index; profiles_check_view() also
 * rebuilds the view from the facts and compares it with the cached one.
 * SPDX-License-Identifier: MIT
 */
#include <string.h>

#include "identity/check.h"
#include "identity/hashing.h"
#include "profiles/profiles_internal.h"
#include "tags/tags_internal.h"

bool prf_hash_erased(const lp_idgraph *g, const uint8_t *hash) {
  if (g->st.tombstones.len == 0) return false;
  lp_hash128 k = {lp_get_u64le(hash), lp_get_u64le(hash + 8)};
  return lp_map128_get(&g->st.tombstones, idg_tomb_hash(k), NULL);
}

static int bad(const lp_profiles *h, const char *what) {
  return lp_error_set(LP_ERR_OF_CONST(h), LP_ECORRUPT, "profiles_check: %s", what);
}

int profiles_check(const lp_profiles *h) {
  if (h == NULL) return LP_EINVAL;
  if (h->g == NULL || h->tax == NULL) return bad(h, "missing graph or taxonomy");
  if (idg_check(h->g) != LP_OK) return bad(h, "the identity graph is inconsistent");
  if (tags_check(h->tax) != LP_OK) return bad(h, "the taxonomy is inconsistent");
  if (h->ntypes > LP_IDGRAPH_MAX_TYPES) return bad(h, "type count");
  for (uint32_t i = 0; i < h->ntypes; i++) {
    uint32_t id;
    if (lp_idgraph_find_type(h->g, h->types[i].name, &id) != LP_OK || id != i)
      return bad(h, "a kept type definition is not the graph's");
  }
  if (h->orders_sorted > h->orders.len) return bad(h, "the canonical prefix is longer than the orders");
  for (size_t i = 0; i < h->orders.len; i++) {
    const prf_order *o = lp_vec_at(&h->orders, i);
    if (i > 0 && i < h->orders_sorted && prf_cmp_order(lp_vec_at(&h->orders, i - 1), o) > 0)
      return bad(h, "the canonical prefix of the orders is not in order");
    if ((o->flags & ~LP_PROFILES_ORDER_HAS_ID) != 0 || o->amount == INT64_MIN ||
        o->ts < -LP_RFM_MAX_TIMESTAMP || o->ts > LP_RFM_MAX_TIMESTAMP ||
        (!(o->flags & LP_PROFILES_ORDER_HAS_ID) && o->order_id != 0))
      return bad(h, "an order is out of range");
    if (prf_hash_erased(h->g, o->hash)) return bad(h, "an order is kept under an erased identifier");
  }
  for (size_t i = 0; i < h->blocks.len; i++) {
    const prf_block *b = lp_vec_at(&h->blocks, i);
    if (b->type >= h->ntypes || b->len == 0 || b->value == NULL) return bad(h, "a blocked value is bad");
    if (i > 0 && prf_cmp_block(lp_vec_at(&h->blocks, i - 1), b) >= 0)
      return bad(h, "blocked values are not in canonical order");
  }
  if (h->tag_index.len != h->tagf.len) return bad(h, "the tag index has the wrong size");
  uint32_t ntags = lp_tags_tag_count(h->tax);
  for (size_t i = 0; i < h->tagf.len; i++) {
    const prf_tagf *f = lp_vec_at(&h->tagf, i);
    uint64_t v;
    if (f->tag >= ntags) return bad(h, "a tag fact names an unknown tag");
    if (!lp_map128_get(&h->tag_index, prf_tag_key(f->hash, f->tag), &v) || v != i + 1)
      return bad(h, "the tag index does not find a fact");
    if ((f->len > 0) != (f->str != NULL)) return bad(h, "a tag string is missing");
    if (f->expires_at == LP_TAGS_EXPIRES_DEFAULT ||
        (f->expires_at != LP_TAGS_NEVER && f->expires_at <= f->set_at))
      return bad(h, "a tag fact has a bad expiry");
    if (prf_hash_erased(h->g, f->hash)) return bad(h, "a tag fact is kept under an erased identifier");
  }
  return LP_OK;
}

static bool same_tag(const lp_profiles_tag *a, const lp_profiles_tag *b) {
  return a->tag_id == b->tag_id && a->type == b->type && a->num == b->num && a->len == b->len &&
         a->set_at == b->set_at && a->expires_at == b->expires_at &&
         (a->len == 0 || memcmp(a->str, b->str, a->len) == 0);
}

static bool same_double(double a, double b) { return memcmp(&a, &b, sizeof a) == 0; }

int profiles_check_view(const lp_profiles *h) {
  int rc = profiles_check(h);
  if (rc != LP_OK || !h->view.valid) return rc;
  prf_view f;
  rc = prf_view_build(h, &f);
  if (rc != LP_OK) return rc;
  const prf_view *v = &h->view;
  const char *why = NULL;
  if (f.n != v->n || f.nrows != v->nrows || f.tagv.len != v->tagv.len) why = "sizes differ";
  for (size_t i = 0; why == NULL && i < f.n; i++) {
    if (f.pids[i] != v->pids[i] || f.row[i] != v->row[i] || f.stage[i] != v->stage[i] ||
        f.flags[i] != v->flags[i] || f.cluster[i] != v->cluster[i] ||
        !same_double(f.p_alive[i], v->p_alive[i]) || !same_double(f.expected[i], v->expected[i]) ||
        !same_double(f.clv[i], v->clv[i]) || f.tag_first[i] != v->tag_first[i])
      why = "a profile differs";
  }
  if (why == NULL && f.nrows > 0 && memcmp(f.rows, v->rows, f.nrows * sizeof *f.rows) != 0)
    why = "an RFM row differs";
  for (size_t i = 0; why == NULL && i < f.tagv.len; i++) {
    const prf_tagv *a = lp_vec_at(&f.tagv, i), *b = lp_vec_at(&v->tagv, i);
    if (a->pid != b->pid || !same_tag(&a->t, &b->t)) why = "a tag value differs";
  }
  prf_view_free(h, &f);
  return why == NULL ? LP_OK : bad(h, why);
}
