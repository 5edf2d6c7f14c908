/*
 * Profile store: one call per fact. Each fact is kept under the keyed hash
 * of the identifier it arrived with (the rule of docs/profiles.md); the
 * view is only marked stale here.
 * SPDX-License-Identifier: MIT
 */
#include <string.h>

#include "core/utf8.h"
#include "profiles/profiles_internal.h"

static const char fact_source[] = LP_PROFILES_FACT_SOURCE;

void prf_mark_stale(lp_profiles *h) { h->view.valid = false; }

void prf_mark_fold_stale(lp_profiles *h) {
  h->view.valid = false;
  h->fold_gen++;
}

void prf_mark_models_stale(lp_profiles *h) {
  h->view.valid = false;
  h->model_gen++;
}

lp_hash128 prf_tag_key(const uint8_t *hash, uint32_t tag) {
  lp_hash128 k = {lp_get_u64le(hash) ^ lp_mix64((uint64_t)tag + 1), lp_get_u64le(hash + 8)};
  return k;
}

void prf_tagf_free_all(const lp_mem *m, lp_vec *tagf) {
  for (size_t i = 0; i < tagf->len; i++) {
    prf_tagf *f = lp_vec_at(tagf, i);
    if (f->str != NULL) lp_mem_free(m, f->str, f->len);
    f->str = NULL;
  }
}

static size_t tagf_find(const lp_profiles *h, const uint8_t *hash, uint32_t tag) {
  uint64_t v;
  if (!lp_map128_get(&h->tag_index, prf_tag_key(hash, tag), &v)) return SIZE_MAX;
  const prf_tagf *f = lp_vec_at(&h->tagf, (size_t)(v - 1));
  if (f->tag != tag || memcmp(f->hash, hash, LP_IDGRAPH_HASH_SIZE) != 0) return SIZE_MAX;
  return (size_t)(v - 1);
}

/* Remove fact i (swap with the last); never allocates. */
static void tagf_remove(lp_profiles *h, size_t i) {
  prf_tagf *f = lp_vec_at(&h->tagf, i);
  lp_map128_del(&h->tag_index, prf_tag_key(f->hash, f->tag), NULL);
  if (f->str != NULL) lp_mem_free(&h->mem, f->str, f->len);
  size_t last = h->tagf.len - 1;
  if (i != last) {
    prf_tagf *l = lp_vec_at(&h->tagf, last);
    *f = *l;
    lp_map128_put(&h->tag_index, &h->mem, prf_tag_key(f->hash, f->tag), (uint64_t)i + 1);
  }
  h->tagf.len--;
}

int lp_profiles_observe(lp_profiles *h, const lp_idgraph_ident *ids, size_t n, int64_t ts,
                        const char *source, size_t source_len, uint64_t *profile_id) {
  PRF_GUARD(h, "lp_profiles_observe");
  int rc = lp_idgraph_observe(h->g, ids, n, ts, source, source_len, profile_id);
  if (rc != LP_OK) return prf_fail(h, rc, "observe", lp_idgraph_errmsg(h->g));
  prf_mark_fold_stale(h);
  return LP_OK;
}

int lp_profiles_observe_prepared(lp_profiles *h, const lp_idgraph_prepared *ids, size_t n,
                                 int64_t ts, const char *source, size_t source_len,
                                 uint64_t *profile_id) {
  PRF_GUARD(h, "lp_profiles_observe_prepared");
  int rc = lp_idgraph_observe_prepared(h->g, ids, n, ts, source, source_len, profile_id);
  if (rc != LP_OK) return prf_fail(h, rc, "observe", lp_idgraph_errmsg(h->g));
  prf_mark_fold_stale(h);
  return LP_OK;
}

/* Hash an identifier for a fact (invalid, blocked, host hash failure). */
static int fact_hash(lp_profiles *h, const char *what, const lp_idgraph_ident *id,
                     uint8_t *hash) {
  if (id == NULL) return lp_error_set(&h->err, LP_EINVAL, "%s: identifier is NULL", what);
  int rc = lp_idgraph_identifier_hash(h->g, id, hash);
  if (rc != LP_OK) return prf_fail(h, rc, what, lp_idgraph_errmsg(h->g));
  return LP_OK;
}

/* Store a fact's identifier as a one-identifier event at
 * LP_PROFILES_FACT_LATEST_TS. That time is the same whatever the fact's own
 * time and whatever the graph held before, so the graph stays a function of
 * the set of events (order independence, and "yesterday's state + today's
 * facts == one run" in any split), and the event is canonically after every
 * real event: a fact never makes its identifier a profile's first
 * identifier, so it never moves an existing profile's id. The event links
 * nothing (the partition is unchanged) but keeps the identifier in the
 * graph with its facts when unlink or remove_source later take its other
 * events away. *pid 0: the identifier is erased. */
/* Whether the view's fold can take the next changes as additions. */
static bool fold_current(const lp_profiles *h) {
  return h->view.rfm != NULL && h->view.fold_gen == h->fold_gen;
}

/* *additive: the fold stays current (an identifier the graph held, or a
 * new identifier's own new profile, recorded in pend_pids); else the fold
 * is marked stale. */
static int fact_observe(lp_profiles *h, const char *what, const lp_idgraph_ident *id,
                        const uint8_t *hash, uint64_t *pid, bool *additive) {
  uint64_t before = 0;
  bool current = fold_current(h);
  bool existed = current && lp_idgraph_profile_of_hash(h->g, hash, &before) == LP_OK;
  int rc = lp_idgraph_observe(h->g, id, 1, LP_PROFILES_FACT_LATEST_TS, fact_source,
                              sizeof fact_source - 1, pid);
  if (rc != LP_OK) return prf_fail(h, rc, what, lp_idgraph_errmsg(h->g));
  /* A fact's event links nothing: a held identifier keeps its profile, a
   * new one is a profile of its own (unless orders kept under it from
   * before a removal would join it: then fold again). */
  *additive = current && (*pid == 0 || (existed ? *pid == before : !h->view.orphans));
  if (*additive && *pid != 0 && !existed &&
      lp_vec_push(&h->pend_pids, &h->mem, pid) != LP_OK)
    *additive = false;
  if (*additive) prf_mark_stale(h);
  else prf_mark_fold_stale(h);
  return LP_OK;
}

int lp_profiles_add_order(lp_profiles *h, const lp_profiles_order *o, uint64_t *profile_id) {
  PRF_GUARD(h, "lp_profiles_add_order");
  if (o == NULL || o->struct_size < sizeof *o)
    return lp_error_set(&h->err, LP_EINVAL, "add_order: order is NULL or struct_size too small");
  if ((o->flags & ~LP_PROFILES_ORDER_HAS_ID) != 0)
    return lp_error_set(&h->err, LP_EINVAL, "add_order: unknown flags 0x%x", (unsigned)o->flags);
  if (o->ts < -LP_RFM_MAX_TIMESTAMP || o->ts > LP_RFM_MAX_TIMESTAMP)
    return lp_error_set(&h->err, LP_ERANGE, "add_order: timestamp %lld out of range",
                        (long long)o->ts);
  if (o->amount == INT64_MIN)
    return lp_error_set(&h->err, LP_ERANGE, "add_order: amount INT64_MIN");
  if ((uint64_t)h->orders.len >= LP_PROFILES_MAX_ORDERS)
    return lp_error_set(&h->err, LP_ELIMIT, "add_order: %llu orders kept already",
                        (unsigned long long)LP_PROFILES_MAX_ORDERS);
  prf_order f;
  memset(&f, 0, sizeof f);
  int rc = fact_hash(h, "add_order", &o->id, f.hash);
  if (rc != LP_OK) return rc;
  f.flags = o->flags;
  f.order_id = (o->flags & LP_PROFILES_ORDER_HAS_ID) ? o->order_id : 0;
  f.ts = o->ts;
  f.amount = o->amount;
  rc = lp_vec_reserve(&h->orders, &h->mem, h->orders.len + 1);
  if (rc != LP_OK) return lp_error_set(&h->err, rc, "add_order: out of memory");
  uint64_t pid;
  bool additive;
  rc = fact_observe(h, "add_order", &o->id, f.hash, &pid, &additive);
  if (rc != LP_OK) return rc;
  if (pid == 0) {
    h->erased_facts++;
  } else {
    lp_vec_push(&h->orders, &h->mem, &f); /* reserved: cannot fail */
    if (additive) {
      lp_rfm_txn x;
      prf_order_txn(&f, pid, &x);
      /* no room: fold again instead */
      if (lp_vec_push(&h->pend_txns, &h->mem, &x) != LP_OK) prf_mark_fold_stale(h);
    }
  }
  if (profile_id != NULL) *profile_id = pid;
  return LP_OK;
}

/* Check a host tag and a value for it; fills the resolved fact fields. */
static int tag_value(lp_profiles *h, const char *what, uint32_t tag_id, const lp_tags_value *v,
                     prf_tagf *f) {
  lp_tags_info info = LP_TAGS_INFO_INIT;
  int rc = lp_tags_describe(h->tax, tag_id, &info);
  if (rc != LP_OK) return prf_fail(h, rc, what, lp_tags_errmsg(h->tax));
  if (info.retired) return lp_error_set(&h->err, LP_ECONFLICT, "%s: tag %s is retired", what, info.name);
  if (info.rule != NULL && info.rule[0] != 0)
    return lp_error_set(&h->err, LP_ECONFLICT, "%s: tag %s is computed by a rule", what, info.name);
  if (v == NULL) return LP_OK; /* unset: the tag only */
  if (v->struct_size < sizeof *v)
    return lp_error_set(&h->err, LP_EINVAL, "%s: value struct_size too small", what);
  f->tag = tag_id;
  f->set_at = v->set_at;
  f->num = info.type == LP_TAGS_FLAG ? 1 : v->num;
  if (info.type == LP_TAGS_STRING) {
    f->num = 0;
    if ((v->str == NULL && v->len > 0) || v->len > LP_TAGS_MAX_STRING)
      return lp_error_set(&h->err, LP_EINVAL, "%s: string value NULL or longer than %u bytes",
                          what, (unsigned)LP_TAGS_MAX_STRING);
    size_t bad;
    if (v->len > 0 && lp_utf8_check(v->str, v->len, &bad) != 0)
      return lp_error_set(&h->err, LP_EINVAL, "%s: string value is not UTF-8 (byte %zu)", what, bad);
  } else if (f->num == INT64_MIN) {
    return lp_error_set(&h->err, LP_EINVAL, "%s: value INT64_MIN", what);
  }
  int64_t exp = v->expires_at;
  if (exp == LP_TAGS_EXPIRES_DEFAULT) {
    exp = LP_TAGS_NEVER;
    if (info.default_ttl > 0 && v->set_at <= LP_TAGS_NEVER - info.default_ttl)
      exp = v->set_at + info.default_ttl;
  } else if (exp != LP_TAGS_NEVER && exp <= v->set_at) {
    return lp_error_set(&h->err, LP_EINVAL, "%s: expires_at %lld not after set_at %lld", what,
                        (long long)exp, (long long)v->set_at);
  }
  f->expires_at = exp;
  f->len = info.type == LP_TAGS_STRING ? v->len : 0;
  return LP_OK;
}

/* Reserve room for `n` more facts (vector and index). */
static int tagf_reserve(lp_profiles *h, const char *what, size_t n) {
  if ((uint64_t)h->tagf.len + n > LP_PROFILES_MAX_TAG_FACTS)
    return lp_error_set(&h->err, LP_ELIMIT, "%s: too many tag facts", what);
  int rc = lp_vec_reserve(&h->tagf, &h->mem, h->tagf.len + n);
  if (rc == LP_OK) rc = lp_hmap_reserve(&h->tag_index, &h->mem, h->tagf.len + n);
  if (rc != LP_OK) return lp_error_set(&h->err, rc, "%s: out of memory", what);
  return LP_OK;
}

/* Put fact `f` (string already owned) under its key; room is reserved. */
static void tagf_put(lp_profiles *h, const prf_tagf *f) {
  size_t i = tagf_find(h, f->hash, f->tag);
  if (i != SIZE_MAX) {
    prf_tagf *old = lp_vec_at(&h->tagf, i);
    if (old->str != NULL) lp_mem_free(&h->mem, old->str, old->len);
    *old = *f;
    return;
  }
  lp_vec_push(&h->tagf, &h->mem, f);
  lp_map128_put(&h->tag_index, &h->mem, prf_tag_key(f->hash, f->tag), (uint64_t)h->tagf.len);
}

static int copy_str(lp_profiles *h, const char *what, const lp_tags_value *v, prf_tagf *f) {
  f->str = NULL;
  if (f->len == 0) return LP_OK;
  f->str = lp_mem_alloc(&h->mem, f->len);
  if (f->str == NULL) return lp_error_set(&h->err, LP_ENOMEM, "%s: out of memory", what);
  memcpy(f->str, v->str, f->len);
  return LP_OK;
}

int lp_profiles_set_tag(lp_profiles *h, const lp_idgraph_ident *id, uint32_t tag_id,
                        const lp_tags_value *v, uint64_t *profile_id) {
  PRF_GUARD(h, "lp_profiles_set_tag");
  const char *what = "set_tag";
  if (v == NULL) return lp_error_set(&h->err, LP_EINVAL, "%s: value is NULL", what);
  prf_tagf f;
  memset(&f, 0, sizeof f);
  int rc = tag_value(h, what, tag_id, v, &f);
  if (rc == LP_OK) rc = fact_hash(h, what, id, f.hash);
  if (rc == LP_OK) rc = tagf_reserve(h, what, 1);
  if (rc == LP_OK) rc = copy_str(h, what, v, &f);
  if (rc != LP_OK) return rc;
  uint64_t pid;
  bool additive;
  rc = fact_observe(h, what, id, f.hash, &pid, &additive);
  if (rc != LP_OK || pid == 0) {
    if (f.str != NULL) lp_mem_free(&h->mem, f.str, f.len);
    if (rc != LP_OK) return rc;
    h->erased_facts++;
  } else {
    tagf_put(h, &f);
  }
  if (profile_id != NULL) *profile_id = pid;
  return LP_OK;
}

/* The identifiers of a profile (caller frees n entries). */
static int profile_idents(lp_profiles *h, const char *what, uint64_t pid,
                          lp_idgraph_ident_info **out, size_t *n) {
  int rc = lp_idgraph_profile_identifiers(h->g, pid, NULL, 0, n);
  if (rc != LP_OK) return prf_fail(h, rc, what, lp_idgraph_errmsg(h->g));
  rc = lp_mem_alloc_array(&h->mem, *n, sizeof **out, (void **)out);
  if (rc != LP_OK) return lp_error_set(&h->err, rc, "%s: out of memory", what);
  rc = lp_idgraph_profile_identifiers(h->g, pid, *out, *n, n);
  if (rc != LP_OK) {
    lp_mem_free_array(&h->mem, *out, *n, sizeof **out);
    return prf_fail(h, rc, what, lp_idgraph_errmsg(h->g));
  }
  return LP_OK;
}

int lp_profiles_set_tag_profile(lp_profiles *h, uint64_t profile_id, uint32_t tag_id,
                                const lp_tags_value *v) {
  PRF_GUARD(h, "lp_profiles_set_tag_profile");
  const char *what = "set_tag_profile";
  if (v == NULL) return lp_error_set(&h->err, LP_EINVAL, "%s: value is NULL", what);
  prf_tagf f;
  memset(&f, 0, sizeof f);
  int rc = tag_value(h, what, tag_id, v, &f);
  if (rc != LP_OK) return rc;
  lp_idgraph_ident_info *ids;
  size_t n;
  rc = profile_idents(h, what, profile_id, &ids, &n);
  if (rc != LP_OK) return rc;
  char **strs = NULL;
  rc = tagf_reserve(h, what, n);
  if (rc == LP_OK && f.len > 0) {
    rc = lp_mem_alloc_array(&h->mem, n, sizeof *strs, (void **)&strs);
    if (rc != LP_OK) {
      rc = lp_error_set(&h->err, rc, "%s: out of memory", what);
    } else {
      memset(strs, 0, n * sizeof *strs);
      for (size_t i = 0; i < n && rc == LP_OK; i++) {
        rc = copy_str(h, what, v, &f);
        strs[i] = f.str;
      }
    }
  }
  if (rc == LP_OK) {
    for (size_t i = 0; i < n; i++) {
      memcpy(f.hash, ids[i].hash, LP_IDGRAPH_HASH_SIZE);
      f.str = strs != NULL ? strs[i] : NULL;
      tagf_put(h, &f);
    }
    prf_mark_stale(h);
  } else if (strs != NULL) {
    for (size_t i = 0; i < n; i++)
      if (strs[i] != NULL) lp_mem_free(&h->mem, strs[i], f.len);
  }
  if (strs != NULL) lp_mem_free_array(&h->mem, strs, n, sizeof *strs);
  lp_mem_free_array(&h->mem, ids, n, sizeof *ids);
  return rc;
}

int lp_profiles_unset_tag(lp_profiles *h, const lp_idgraph_ident *id, uint32_t tag_id) {
  PRF_GUARD(h, "lp_profiles_unset_tag");
  uint8_t hash[LP_IDGRAPH_HASH_SIZE];
  int rc = tag_value(h, "unset_tag", tag_id, NULL, NULL);
  if (rc == LP_OK) rc = fact_hash(h, "unset_tag", id, hash);
  if (rc != LP_OK) return rc;
  size_t i = tagf_find(h, hash, tag_id);
  if (i != SIZE_MAX) {
    tagf_remove(h, i);
    prf_mark_stale(h);
  }
  return LP_OK;
}

int lp_profiles_unset_tag_profile(lp_profiles *h, uint64_t profile_id, uint32_t tag_id) {
  PRF_GUARD(h, "lp_profiles_unset_tag_profile");
  int rc = tag_value(h, "unset_tag_profile", tag_id, NULL, NULL);
  if (rc != LP_OK) return rc;
  lp_idgraph_ident_info *ids;
  size_t n;
  rc = profile_idents(h, "unset_tag_profile", profile_id, &ids, &n);
  if (rc != LP_OK) return rc;
  for (size_t k = 0; k < n; k++) {
    size_t i = tagf_find(h, ids[k].hash, tag_id);
    if (i != SIZE_MAX) tagf_remove(h, i);
  }
  lp_mem_free_array(&h->mem, ids, n, sizeof *ids);
  prf_mark_stale(h);
  return LP_OK;
}

int lp_profiles_unlink(lp_profiles *h, const lp_idgraph_ident *a, const lp_idgraph_ident *b) {
  PRF_GUARD(h, "lp_profiles_unlink");
  int rc = lp_idgraph_unlink(h->g, a, b);
  if (rc != LP_OK) return prf_fail(h, rc, "unlink", lp_idgraph_errmsg(h->g));
  prf_mark_fold_stale(h);
  return LP_OK;
}

int lp_profiles_remove_identifier(lp_profiles *h, const lp_idgraph_ident *id) {
  PRF_GUARD(h, "lp_profiles_remove_identifier");
  int rc = lp_idgraph_remove_identifier(h->g, id);
  if (rc != LP_OK) return prf_fail(h, rc, "remove_identifier", lp_idgraph_errmsg(h->g));
  prf_mark_fold_stale(h);
  return LP_OK;
}

int lp_profiles_remove_source(lp_profiles *h, const char *source, size_t source_len) {
  PRF_GUARD(h, "lp_profiles_remove_source");
  int rc = lp_idgraph_remove_source(h->g, source, source_len);
  if (rc != LP_OK) return prf_fail(h, rc, "remove_source", lp_idgraph_errmsg(h->g));
  prf_mark_fold_stale(h);
  return LP_OK;
}

/* Delete every fact whose hash is in `set` (a map of erased hashes); never
 * allocates. */
static void erase_facts(lp_profiles *h, const lp_map128 *set) {
  size_t w = 0, sorted = 0; /* the compaction keeps the order: the canonical prefix stays one */
  for (size_t i = 0; i < h->orders.len; i++) {
    prf_order *o = lp_vec_at(&h->orders, i);
    lp_hash128 k = {lp_get_u64le(o->hash), lp_get_u64le(o->hash + 8)};
    if (lp_map128_get(set, k, NULL)) continue;
    if (w != i) *(prf_order *)lp_vec_at(&h->orders, w) = *o;
    w++;
    if (i < h->orders_sorted) sorted = w;
  }
  h->orders_sorted = sorted;
  /* Wipe the erased tail so no freed-but-kept capacity holds the values. */
  if (h->orders.len > w)
    memset(lp_vec_at(&h->orders, w), 0, (h->orders.len - w) * sizeof(prf_order));
  h->orders.len = w;
  for (size_t i = h->tagf.len; i-- > 0;) {
    prf_tagf *f = lp_vec_at(&h->tagf, i);
    lp_hash128 k = {lp_get_u64le(f->hash), lp_get_u64le(f->hash + 8)};
    if (lp_map128_get(set, k, NULL)) tagf_remove(h, i);
  }
  if (h->tagf.cap > h->tagf.len)
    memset(lp_vec_at(&h->tagf, h->tagf.len), 0, (h->tagf.cap - h->tagf.len) * sizeof(prf_tagf));
  prf_mark_fold_stale(h);
}

/* After the graph's erasure (status rc): delete the facts of `set`. */
static int forget(lp_profiles *h, const char *what, int rc, lp_map128 *set) {
  if (rc == LP_OK) erase_facts(h, set);
  else prf_fail(h, rc, what, lp_idgraph_errmsg(h->g));
  lp_hmap_free(set, &h->mem);
  return rc;
}

int lp_profiles_forget_identifier(lp_profiles *h, const lp_idgraph_ident *id) {
  PRF_GUARD(h, "lp_profiles_forget_identifier");
  uint8_t hash[LP_IDGRAPH_HASH_SIZE];
  if (id == NULL) return lp_error_set(&h->err, LP_EINVAL, "forget_identifier: identifier is NULL");
  int rc = lp_idgraph_identifier_hash(h->g, id, hash);
  bool blocked = rc == LP_ECONFLICT; /* never stored: no fact has it */
  if (rc != LP_OK && !blocked) return prf_fail(h, rc, "forget_identifier", lp_idgraph_errmsg(h->g));
  lp_map128 set;
  lp_map128_init(&set);
  lp_hash128 k = {lp_get_u64le(hash), lp_get_u64le(hash + 8)};
  if (!blocked && (rc = lp_map128_put(&set, &h->mem, k, 1)) != LP_OK)
    return lp_error_set(&h->err, rc, "forget_identifier: out of memory");
  return forget(h, "forget_identifier", lp_idgraph_forget_identifier(h->g, id), &set);
}

int lp_profiles_forget_profile(lp_profiles *h, uint64_t profile_id) {
  PRF_GUARD(h, "lp_profiles_forget_profile");
  lp_idgraph_ident_info *ids;
  size_t n;
  int rc = profile_idents(h, "forget_profile", profile_id, &ids, &n);
  if (rc != LP_OK) return rc;
  lp_map128 set;
  lp_map128_init(&set);
  rc = lp_hmap_reserve(&set, &h->mem, n);
  for (size_t i = 0; rc == LP_OK && i < n; i++) {
    lp_hash128 k = {lp_get_u64le(ids[i].hash), lp_get_u64le(ids[i].hash + 8)};
    rc = lp_map128_put(&set, &h->mem, k, 1);
  }
  lp_mem_free_array(&h->mem, ids, n, sizeof *ids);
  if (rc != LP_OK) {
    lp_hmap_free(&set, &h->mem);
    return lp_error_set(&h->err, rc, "forget_profile: out of memory");
  }
  return forget(h, "forget_profile", lp_idgraph_forget_profile(h->g, profile_id), &set);
}
