/*
 * Identity: handle life cycle, configuration and the observe entry point.
 * SPDX-License-Identifier: MIT
 */
#include "identity/idgraph.h"

#define IDG_DEFAULT_QUARANTINE 20

int lp_idgraph_create(const lp_allocator *alloc, lp_idgraph **out) {
  if (out == NULL) return LP_EINVAL;
  *out = NULL;
  lp_idgraph *h;
  int rc = lp_mem_new_handle(alloc, sizeof *h, (void **)&h);
  if (rc != LP_OK) return rc;
  lp_error_clear(&h->err);
  h->quarantine_after = IDG_DEFAULT_QUARANTINE;
  h->default_blocklist = true;
  lp_map128_init(&h->blocklist);
  idg_state_init(&h->st);
  *out = h;
  return LP_OK;
}

void lp_idgraph_free(lp_idgraph *h) {
  if (h == NULL) return;
  idg_state_free(&h->st, &h->mem);
  lp_hmap_free(&h->blocklist, &h->mem);
  memset(h->key, 0, sizeof h->key);
  lp_mem_free_handle(h, sizeof *h);
}

const char *lp_idgraph_errmsg(const lp_idgraph *h) {
  return h == NULL ? LP_ERRMSG_NULL_HANDLE : lp_error_msg(&h->err);
}

static int check_empty(lp_idgraph *h, const char *what) {
  if (h->st.nodes.len > 0 || h->st.tombstones.len > 0)
    return lp_error_set(&h->err, LP_EMISUSE, "%s: only allowed before identifiers are stored",
                        what);
  return LP_OK;
}

int lp_idgraph_set_key(lp_idgraph *h, const void *key, size_t len) {
  if (h == NULL) return LP_EINVAL;
  if (key == NULL || len == 0 || len > IDG_KEY_CAP)
    return lp_error_set(&h->err, LP_EINVAL, "key must be 1 to %d bytes", IDG_KEY_CAP);
  int rc = check_empty(h, "set_key");
  if (rc != LP_OK) return rc;
  memset(h->key, 0, sizeof h->key);
  memcpy(h->key, key, len);
  h->key_len = len;
  return LP_OK;
}

int lp_idgraph_set_hash(lp_idgraph *h, lp_idgraph_hash_fn fn, void *ud) {
  if (h == NULL) return LP_EINVAL;
  int rc = check_empty(h, "set_hash");
  if (rc != LP_OK) return rc;
  h->hash_fn = fn;
  h->hash_ud = ud;
  return LP_OK;
}

int lp_idgraph_set_int(lp_idgraph *h, uint32_t key, int64_t value) {
  if (h == NULL) return LP_EINVAL;
  if (key < LP_IDGRAPH_STORE_RAW || key > LP_IDGRAPH_DEFAULT_BLOCKLIST)
    return lp_error_set(&h->err, LP_EINVAL, "unknown setting %u", (unsigned)key);
  int64_t lo = key == LP_IDGRAPH_QUARANTINE_AFTER ? 1 : 0;
  int64_t hi = key == LP_IDGRAPH_QUARANTINE_AFTER ? 63 : 1;
  if (value < lo || value > hi)
    return lp_error_set(&h->err, LP_ERANGE, "setting %u must be in %lld..%lld", (unsigned)key,
                        (long long)lo, (long long)hi);
  int rc = check_empty(h, "set_int");
  if (rc != LP_OK) return rc;
  if (key == LP_IDGRAPH_STORE_RAW) h->store_raw = value != 0;
  else if (key == LP_IDGRAPH_DEFAULT_BLOCKLIST) h->default_blocklist = value != 0;
  else h->quarantine_after = (uint32_t)value;
  return LP_OK;
}

int lp_idgraph_set_notify(lp_idgraph *h, lp_idgraph_notify_fn fn, void *ud) {
  if (h == NULL) return LP_EINVAL;
  h->notify = fn;
  h->notify_ud = ud;
  return LP_OK;
}

int lp_idgraph_add_type(lp_idgraph *h, const lp_idgraph_type_def *def, uint32_t *type_id) {
  if (h == NULL) return LP_EINVAL;
  if (def == NULL || type_id == NULL)
    return lp_error_set(&h->err, LP_EINVAL, "def and type_id must not be NULL");
  if (def->struct_size < sizeof *def)
    return lp_error_set(&h->err, LP_EINVAL, "def->struct_size is %u, expected %u",
                        (unsigned)def->struct_size, (unsigned)sizeof *def);
  size_t len = def->name != NULL ? strlen(def->name) : 0;
  if (len == 0 || len >= IDG_NAME_CAP)
    return lp_error_set(&h->err, LP_EINVAL, "def->name must be 1 to %d bytes", IDG_NAME_CAP - 1);
  if (def->limit > 255)
    return lp_error_set(&h->err, LP_EINVAL, "def->limit must be 0..255 (got %u)",
                        (unsigned)def->limit);
  if (def->normalizer > LP_IDGRAPH_NORM_CALLBACK)
    return lp_error_set(&h->err, LP_EINVAL, "def->normalizer %u is unknown",
                        (unsigned)def->normalizer);
  if ((def->normalizer == LP_IDGRAPH_NORM_CALLBACK) != (def->normalize != NULL))
    return lp_error_set(&h->err, LP_EINVAL,
                        "def->normalize must be set exactly for LP_IDGRAPH_NORM_CALLBACK");
  if (def->country_code > 999 ||
      (def->country_code != 0 && def->normalizer != LP_IDGRAPH_NORM_PHONE))
    return lp_error_set(&h->err, LP_EINVAL,
                        "def->country_code must be 0, or 1..999 for a phone type");
  uint32_t found;
  if (lp_idgraph_find_type(h, def->name, &found) == LP_OK)
    return lp_error_set(&h->err, LP_EINVAL, "type \"%s\" is already registered", def->name);
  if (h->ntypes == LP_IDGRAPH_MAX_TYPES)
    return lp_error_set(&h->err, LP_ELIMIT, "at most %d identifier types",
                        LP_IDGRAPH_MAX_TYPES);
  int rc = check_empty(h, "add_type");
  if (rc != LP_OK) return rc;
  idg_type *t = &h->types[h->ntypes];
  memset(t, 0, sizeof *t);
  memcpy(t->name, def->name, len);
  t->name_len = len;
  t->priority = def->priority;
  t->unique = def->unique != 0;
  t->limit = (uint8_t)(t->unique ? 1 : (def->limit == 0 ? 255 : def->limit));
  t->norm = def->normalizer;
  t->country_code = def->country_code;
  t->normalize = def->normalize;
  t->normalize_ud = def->normalize_ud;
  *type_id = h->ntypes++;
  return LP_OK;
}

int lp_idgraph_find_type(const lp_idgraph *h, const char *name, uint32_t *type_id) {
  if (h == NULL || name == NULL || type_id == NULL) return LP_EINVAL;
  size_t len = strlen(name);
  for (uint32_t i = 0; i < h->ntypes; i++)
    if (h->types[i].name_len == len && memcmp(h->types[i].name, name, len) == 0) {
      *type_id = i;
      return LP_OK;
    }
  return LP_ENOTFOUND;
}

static int check_value(lp_idgraph *h, uint32_t type, const char *value, size_t len) {
  if (type >= h->ntypes)
    return lp_error_set(&h->err, LP_EINVAL, "unknown identifier type %u", (unsigned)type);
  if (value == NULL || len > LP_IDGRAPH_MAX_VALUE_LEN)
    return lp_error_set(&h->err, LP_EINVAL, "value is NULL or longer than %d bytes",
                        LP_IDGRAPH_MAX_VALUE_LEN);
  return LP_OK;
}

int lp_idgraph_block_value(lp_idgraph *h, uint32_t type, const char *value, size_t len) {
  if (h == NULL) return LP_EINVAL;
  int rc = check_value(h, type, value, len);
  if (rc != LP_OK) return rc;
  rc = check_empty(h, "block_value");
  if (rc != LP_OK) return rc;
  char norm[LP_IDGRAPH_MAX_VALUE_LEN];
  size_t nlen;
  const char *why;
  if (idg_normalize(&h->types[type], value, len, norm, &nlen, &why) != LP_OK)
    return lp_error_set(&h->err, LP_EINVAL, "cannot block an invalid %s value: %s",
                        h->types[type].name, why);
  rc = lp_map128_put(&h->blocklist, &h->mem, idg_block_hash(&h->types[type], norm, nlen), 1);
  if (rc != LP_OK) return lp_error_set(&h->err, rc, "out of memory growing the blocklist");
  return LP_OK;
}

int lp_idgraph_normalize(lp_idgraph *h, uint32_t type, const char *value, size_t len,
                         char *out, size_t cap, size_t *out_len) {
  if (h == NULL) return LP_EINVAL;
  int rc = check_value(h, type, value, len);
  if (rc != LP_OK) return rc;
  if ((out == NULL && cap > 0) || out_len == NULL)
    return lp_error_set(&h->err, LP_EINVAL, "out_len must not be NULL, out only when cap is 0");
  char norm[LP_IDGRAPH_MAX_VALUE_LEN];
  size_t nlen;
  lp_hash128 hash;
  rc = idg_prepare(h, type, value, len, norm, &nlen, &hash);
  if (rc != LP_OK) return rc;
  *out_len = nlen;
  if (nlen > cap)
    return lp_error_set(&h->err, LP_ELIMIT, "normalised value needs %zu bytes", nlen);
  if (nlen > 0) memcpy(out, norm, nlen);
  return LP_OK;
}

int lp_idgraph_observe(lp_idgraph *h, const lp_idgraph_ident *ids, size_t n, int64_t ts,
                       const char *source, size_t source_len, uint64_t *profile_id) {
  if (h == NULL) return LP_EINVAL;
  if (ids == NULL || n == 0)
    return lp_error_set(&h->err, LP_EINVAL, "ids must hold at least one identifier");
  if (n > LP_IDGRAPH_MAX_EVENT_IDS)
    return lp_error_set(&h->err, LP_ELIMIT, "%zu identifiers in one event (at most %d)", n,
                        LP_IDGRAPH_MAX_EVENT_IDS);
  if ((source == NULL && source_len > 0) || source_len > IDG_MAX_SOURCE_LEN)
    return lp_error_set(&h->err, LP_EINVAL, "source is NULL or longer than %d bytes",
                        IDG_MAX_SOURCE_LEN);
  for (size_t i = 0; i < n; i++) {
    int rc = check_value(h, ids[i].type, ids[i].value, ids[i].len);
    if (rc != LP_OK) return rc;
  }
  char (*norm)[LP_IDGRAPH_MAX_VALUE_LEN] = h->norm;
  idg_item items[LP_IDGRAPH_MAX_EVENT_IDS];
  size_t k = 0;
  uint64_t blocked = 0, invalid = 0, tomb = 0;
  for (size_t i = 0; i < n; i++) {
    size_t nlen;
    lp_hash128 hash;
    int rc = idg_prepare(h, ids[i].type, ids[i].value, ids[i].len, norm[k], &nlen, &hash);
    if (rc == LP_ECONFLICT) blocked++;
    else if (rc == LP_EINVAL) invalid++;
    else if (rc != LP_OK) return rc;
    if (rc != LP_OK) continue;
    if (h->st.tombstones.len > 0 && lp_map128_get(&h->st.tombstones, idg_tomb_hash(hash), NULL)) {
      tomb++;
      continue;
    }
    bool dup = false;
    for (size_t j = 0; j < k && !dup; j++)
      dup = items[j].hash.lo == hash.lo && items[j].hash.hi == hash.hi;
    if (dup) continue;
    items[k].hash = hash;
    items[k].type = ids[i].type;
    items[k].raw = norm[k];
    items[k].raw_len = nlen;
    k++;
  }
  uint64_t pid = 0;
  if (k > 0) {
    int rc = idg_store_event(h, &h->st, items, k, ts, source != NULL ? source : "", source_len,
                             true, &pid);
    if (rc != LP_OK) return rc;
  }
  h->st.blocked += blocked;
  h->st.invalid += invalid;
  h->st.tombstoned += tomb;
  if (profile_id != NULL) *profile_id = pid;
  return LP_OK;
}
