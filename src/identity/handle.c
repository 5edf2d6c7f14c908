/*
 * Identity: handle life cycle, options, types, the blocklist and
 * normalize.
 * SPDX-License-Identifier: MIT
 */
#include "core/utf8.h"
#include "identity/hashing.h"
#include "identity/normalize.h"
#include "identity/state.h"

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
  h->trust_derived = true;
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
  IDG_GUARD(h, "lp_idgraph_set_key");
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
  IDG_GUARD(h, "lp_idgraph_set_hash");
  int rc = check_empty(h, "set_hash");
  if (rc != LP_OK) return rc;
  h->hash_fn = fn;
  h->hash_ud = ud;
  return LP_OK;
}

/* Options: one row per key, so set, get and bounds cannot disagree. */
typedef struct idg_option {
  uint32_t key;
  const char *name;
  int64_t min, max;
} idg_option;

static const idg_option options[] = {
    {LP_IDGRAPH_STORE_RAW, "LP_IDGRAPH_STORE_RAW", 0, 1},
    {LP_IDGRAPH_QUARANTINE_AFTER, "LP_IDGRAPH_QUARANTINE_AFTER", 1, 63},
    {LP_IDGRAPH_DEFAULT_BLOCKLIST, "LP_IDGRAPH_DEFAULT_BLOCKLIST", 0, 1},
    {LP_IDGRAPH_TRUST_DERIVED, "LP_IDGRAPH_TRUST_DERIVED", 0, 1},
};

static const idg_option *find_option(const lp_idgraph *h, uint32_t key) {
  for (size_t i = 0; i < LP_ARRAY_LEN(options); i++)
    if (options[i].key == key) return &options[i];
  lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL, "unknown identity option key %u", (unsigned)key);
  return NULL;
}

int lp_idgraph_set_int(lp_idgraph *h, uint32_t key, int64_t value) {
  IDG_GUARD(h, "lp_idgraph_set_int");
  const idg_option *o = find_option(h, key);
  if (o == NULL) return LP_EINVAL;
  if (value < o->min || value > o->max)
    return lp_error_set(&h->err, LP_ERANGE, "%s must be in %lld..%lld (got %lld)", o->name,
                        (long long)o->min, (long long)o->max, (long long)value);
  /* a load-time choice: it changes nothing stored */
  if (key == LP_IDGRAPH_TRUST_DERIVED) {
    h->trust_derived = value != 0;
    return LP_OK;
  }
  int rc = check_empty(h, o->name);
  if (rc != LP_OK) return rc;
  if (key == LP_IDGRAPH_STORE_RAW) h->store_raw = value != 0;
  else if (key == LP_IDGRAPH_DEFAULT_BLOCKLIST) h->default_blocklist = value != 0;
  else h->quarantine_after = (uint32_t)value;
  return LP_OK;
}

int lp_idgraph_get_int(const lp_idgraph *h, uint32_t key, int64_t *value) {
  IDG_GUARD(h, "lp_idgraph_get_int");
  if (value == NULL) return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL, "value is NULL");
  if (find_option(h, key) == NULL) return LP_EINVAL;
  if (key == LP_IDGRAPH_STORE_RAW) *value = h->store_raw;
  else if (key == LP_IDGRAPH_DEFAULT_BLOCKLIST) *value = h->default_blocklist;
  else if (key == LP_IDGRAPH_TRUST_DERIVED) *value = h->trust_derived;
  else *value = h->quarantine_after;
  return LP_OK;
}

int lp_idgraph_int_bounds(const lp_idgraph *h, uint32_t key, int64_t *min, int64_t *max) {
  IDG_GUARD(h, "lp_idgraph_int_bounds");
  if (min == NULL || max == NULL)
    return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL, "min and max must not be NULL");
  const idg_option *o = find_option(h, key);
  if (o == NULL) return LP_EINVAL;
  *min = o->min;
  *max = o->max;
  return LP_OK;
}

int lp_idgraph_set_notify(lp_idgraph *h, lp_idgraph_notify_fn fn, void *ud) {
  IDG_GUARD(h, "lp_idgraph_set_notify");
  h->notify = fn;
  h->notify_ud = ud;
  return LP_OK;
}

static uint32_t type_named(const lp_idgraph *h, const char *name, size_t len) {
  for (uint32_t i = 0; i < h->ntypes; i++)
    if (h->types[i].name_len == len && memcmp(h->types[i].name, name, len) == 0) return i;
  return IDG_NONE;
}

/* The counter row's layout: each type's field as wide as its limit needs,
 * in type order, the next byte when it would not fit the current one. */
static void idg_count_layout(lp_idgraph *h) {
  uint32_t byte = 0, bit = 0;
  for (uint32_t i = 0; i < h->ntypes; i++) {
    idg_type *t = &h->types[i];
    uint32_t w = 1;
    while ((1u << w) - 1 < t->limit) w++;
    if (bit + w > 8) {
      byte++;
      bit = 0;
    }
    t->cnt_byte = (uint8_t)byte;
    t->cnt_shift = (uint8_t)bit;
    t->cnt_mask = (uint8_t)((1u << w) - 1);
    bit += w;
  }
  h->count_bytes = h->ntypes > 0 ? byte + 1 : 0;
}

int lp_idgraph_add_type(lp_idgraph *h, const lp_idgraph_type_def *def, uint32_t *type_id) {
  IDG_GUARD(h, "lp_idgraph_add_type");
  if (def == NULL || type_id == NULL)
    return lp_error_set(&h->err, LP_EINVAL, "def and type_id must not be NULL");
  if (def->struct_size < sizeof *def)
    return lp_error_set(&h->err, LP_EINVAL, "def->struct_size is %u, expected %u",
                        (unsigned)def->struct_size, (unsigned)sizeof *def);
  size_t len = def->name != NULL ? strlen(def->name) : 0;
  if (len == 0 || len > LP_IDGRAPH_MAX_TYPE_NAME_LEN)
    return lp_error_set(&h->err, LP_EINVAL, "def->name must be 1 to %d bytes (got %zu)",
                        LP_IDGRAPH_MAX_TYPE_NAME_LEN, len);
  size_t bad;
  int u = lp_utf8_check(def->name, len, &bad);
  if (u != LP_UTF8_OK)
    return lp_error_set(&h->err, LP_EINVAL, "def->name %s (byte %zu); type names are UTF-8",
                        lp_utf8_reason(u), bad);
  if (def->limit > LP_IDGRAPH_MAX_TYPE_LIMIT)
    return lp_error_set(&h->err, LP_EINVAL, "def->limit must be 0..%d (got %u)",
                        LP_IDGRAPH_MAX_TYPE_LIMIT, (unsigned)def->limit);
  if (def->normalizer > LP_IDGRAPH_NORM_CALLBACK)
    return lp_error_set(&h->err, LP_EINVAL, "def->normalizer %u is unknown",
                        (unsigned)def->normalizer);
  if ((def->normalizer == LP_IDGRAPH_NORM_CALLBACK) != (def->normalize != NULL))
    return lp_error_set(&h->err, LP_EINVAL,
                        "def->normalize must be set exactly for LP_IDGRAPH_NORM_CALLBACK");
  if (def->country_code > LP_IDGRAPH_MAX_COUNTRY_CODE ||
      (def->country_code != 0 && def->normalizer != LP_IDGRAPH_NORM_PHONE))
    return lp_error_set(&h->err, LP_EINVAL,
                        "def->country_code must be 0, or 1..%d for a phone type",
                        LP_IDGRAPH_MAX_COUNTRY_CODE);
  if (type_named(h, def->name, len) != IDG_NONE)
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
  t->limit = (uint8_t)(t->unique ? 1 : (def->limit == 0 ? LP_IDGRAPH_MAX_TYPE_LIMIT : def->limit));
  t->norm = def->normalizer;
  t->country_code = def->country_code;
  t->normalize = def->normalize;
  t->normalize_ud = def->normalize_ud;
  *type_id = h->ntypes++;
  idg_count_layout(h);
  return LP_OK;
}

int lp_idgraph_find_type(const lp_idgraph *h, const char *name, uint32_t *type_id) {
  IDG_GUARD(h, "lp_idgraph_find_type");
  if (name == NULL || type_id == NULL)
    return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL, "name and type_id must not be NULL");
  size_t len = strlen(name);
  uint32_t t = type_named(h, name, len);
  if (t == IDG_NONE)
    return lp_error_set(LP_ERR_OF_CONST(h), LP_ENOTFOUND, "no identifier type named \"%.*s\"",
                        (int)(len < LP_IDGRAPH_MAX_TYPE_NAME_LEN ? len : LP_IDGRAPH_MAX_TYPE_NAME_LEN),
                        name);
  *type_id = t;
  return LP_OK;
}

int lp_idgraph_type_name(const lp_idgraph *h, uint32_t type, const char **name) {
  IDG_GUARD(h, "lp_idgraph_type_name");
  if (name == NULL) return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL, "name must not be NULL");
  if (type >= h->ntypes)
    return lp_error_set(LP_ERR_OF_CONST(h), LP_ENOTFOUND, "no identifier type with id %u",
                        (unsigned)type);
  *name = h->types[type].name;
  return LP_OK;
}

static int check_value(const lp_idgraph *h, uint32_t type, const char *value) {
  if (type >= h->ntypes)
    return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL, "unknown identifier type %u",
                        (unsigned)type);
  if (value == NULL) return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL, "value is NULL");
  return LP_OK;
}

int lp_idgraph_block_value(lp_idgraph *h, uint32_t type, const char *value, size_t len) {
  IDG_GUARD(h, "lp_idgraph_block_value");
  int rc = check_value(h, type, value);
  if (rc != LP_OK) return rc;
  rc = check_empty(h, "block_value");
  if (rc != LP_OK) return rc;
  if (len > LP_IDGRAPH_MAX_VALUE_LEN || lp_utf8_check(value, len, NULL) != LP_UTF8_OK)
    return lp_error_set(&h->err, LP_EINVAL,
                        "cannot block a %s value that is longer than %d bytes or not UTF-8",
                        h->types[type].name, LP_IDGRAPH_MAX_VALUE_LEN);
  char norm[LP_IDGRAPH_MAX_VALUE_LEN];
  size_t nlen;
  const char *why;
  if (idg_normalize(h, &h->types[type], value, len, norm, &nlen, &why) != LP_OK)
    return lp_error_set(&h->err, LP_EINVAL, "cannot block an invalid %s value: %s",
                        h->types[type].name, why);
  rc = lp_map128_put(&h->blocklist, &h->mem, idg_block_hash(&h->types[type], norm, nlen), 1);
  if (rc != LP_OK) return lp_error_set(&h->err, rc, "out of memory growing the blocklist");
  return LP_OK;
}

int lp_idgraph_normalize(const lp_idgraph *h, uint32_t type, const char *value, size_t len,
                         char *out, size_t capacity, size_t *needed) {
  IDG_GUARD(h, "lp_idgraph_normalize");
  int rc = check_value(h, type, value);
  if (rc != LP_OK) return rc;
  if ((out == NULL && capacity > 0) || needed == NULL)
    return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL,
                        "needed must not be NULL, out only NULL when capacity is 0");
  char norm[LP_IDGRAPH_MAX_VALUE_LEN];
  size_t nlen;
  lp_hash128 hash;
  rc = idg_prepare(h, type, value, len, norm, &nlen, &hash);
  if (rc != LP_OK) return rc;
  *needed = nlen;
  if (out == NULL && capacity == 0) return LP_OK;
  if (nlen > capacity)
    return lp_error_set(LP_ERR_OF_CONST(h), LP_EBUFSIZE,
                        "normalised value needs %zu bytes, capacity is %zu", nlen, capacity);
  if (nlen > 0) memcpy(out, norm, nlen);
  return LP_OK;
}
