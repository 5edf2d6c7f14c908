/*
 * Profile store: life cycle, options, configuration of the owned graph and
 * taxonomy, and the installed models.
 * SPDX-License-Identifier: MIT
 */
#include <string.h>

#include "profiles/profiles_internal.h"

int prf_fail(const lp_profiles *h, int rc, const char *what, const char *msg) {
  return lp_error_set(LP_ERR_OF_CONST(h), rc, "%s: %s", what, msg);
}

int lp_profiles_create(const lp_allocator *alloc, lp_profiles **out) {
  if (out == NULL) return LP_EINVAL;
  *out = NULL;
  lp_profiles *h;
  int rc = lp_mem_new_handle(alloc, sizeof *h, (void **)&h);
  if (rc != LP_OK) return rc;
  lp_mem_allocator(&h->mem, &h->alloc);
  h->store_raw = 0;
  h->quarantine_after = 20;
  h->default_blocklist = 1;
  h->trust_derived = 1;
  h->bins = 5;
  h->segmap = LP_RFM_MAP_RF10;
  h->horizon = 365;
  h->period_scale = 1;
  h->money_scale = 1;
  h->graph_chunk = PRF_GRAPH_CHUNK;
  lp_vec_init(&h->orders, sizeof(prf_order));
  lp_vec_init(&h->tagf, sizeof(prf_tagf));
  lp_map128_init(&h->tag_index);
  lp_vec_init(&h->blocks, sizeof(prf_block));
  lp_vec_init(&h->pend_txns, sizeof(lp_rfm_txn));
  lp_vec_init(&h->pend_pids, sizeof(uint64_t));
  rc = lp_idgraph_create(&h->alloc, &h->g);
  if (rc == LP_OK) rc = lp_tags_create(&h->alloc, &h->tax);
  if (rc != LP_OK) {
    lp_profiles_free(h);
    return rc;
  }
  *out = h;
  return LP_OK;
}

void prf_release(lp_profiles *h) {
  prf_view_free(h, &h->view);
  lp_idgraph_free(h->g);
  lp_tags_free(h->tax);
  lp_clv_free(h->clv);
  lp_kmeans_free(h->km);
  lp_vec_free(&h->orders, &h->mem);
  prf_tagf_free_all(&h->mem, &h->tagf);
  lp_vec_free(&h->tagf, &h->mem);
  lp_hmap_free(&h->tag_index, &h->mem);
  prf_blocks_free(&h->mem, &h->blocks);
  lp_vec_free(&h->pend_txns, &h->mem);
  lp_vec_free(&h->pend_pids, &h->mem);
}

void prf_set_graph_chunk(lp_profiles *h, size_t bytes) { h->graph_chunk = bytes > 0 ? bytes : 1; }

void prf_blocks_free(const lp_mem *m, lp_vec *blocks) {
  for (size_t i = 0; i < blocks->len; i++) {
    prf_block *b = lp_vec_at(blocks, i);
    lp_mem_free(m, b->value, b->len);
  }
  lp_vec_free(blocks, m);
}

int prf_cmp_block(const prf_block *a, const prf_block *b) {
  if (a->type != b->type) return a->type < b->type ? -1 : 1;
  size_t n = a->len < b->len ? a->len : b->len;
  int c = memcmp(a->value, b->value, n);
  if (c != 0) return c;
  return a->len < b->len ? -1 : (a->len > b->len);
}

void lp_profiles_free(lp_profiles *h) {
  if (h == NULL) return;
  prf_release(h);
  lp_mem_free_handle(h, sizeof *h);
}

const char *lp_profiles_errmsg(const lp_profiles *h) {
  if (h == NULL) return LP_ERRMSG_NULL_HANDLE;
  return lp_error_msg(&h->err);
}

/* Option table: key, bounds, field. */
typedef struct prf_opt {
  uint32_t key;
  const char *name;
  int64_t min, max;
  bool graph; /* forwarded to the graph: only while it is empty */
  bool any_time; /* forwarded to the graph at any time; changes nothing stored */
} prf_opt;

static const prf_opt opts[] = {
    {LP_PROFILES_AS_OF, "LP_PROFILES_AS_OF", -LP_RFM_MAX_TIMESTAMP, LP_RFM_MAX_TIMESTAMP, false, false},
    {LP_PROFILES_BINS, "LP_PROFILES_BINS", 1, LP_RFM_MAX_BINS, false, false},
    {LP_PROFILES_SEGMAP, "LP_PROFILES_SEGMAP", 0, LP_RFM_MAP_RFM11, false, false},
    {LP_PROFILES_CLV_HORIZON, "LP_PROFILES_CLV_HORIZON", 0, 100000, false, false},
    {LP_PROFILES_STORE_RAW, "LP_PROFILES_STORE_RAW", 0, 1, true, false},
    {LP_PROFILES_QUARANTINE_AFTER, "LP_PROFILES_QUARANTINE_AFTER", 1, 63, true, false},
    {LP_PROFILES_DEFAULT_BLOCKLIST, "LP_PROFILES_DEFAULT_BLOCKLIST", 0, 1, true, false},
    {LP_PROFILES_CLV_PERIOD_SCALE, "LP_PROFILES_CLV_PERIOD_SCALE", 1, 10000, false, false},
    {LP_PROFILES_CLV_MONEY_SCALE, "LP_PROFILES_CLV_MONEY_SCALE", 1, 1000000, false, false},
    {LP_PROFILES_TRUST_DERIVED, "LP_PROFILES_TRUST_DERIVED", 0, 1, true, true},
};

static int64_t *opt_field(lp_profiles *h, uint32_t key) {
  switch (key) {
  case LP_PROFILES_AS_OF: return &h->as_of;
  case LP_PROFILES_BINS: return &h->bins;
  case LP_PROFILES_SEGMAP: return &h->segmap;
  case LP_PROFILES_CLV_HORIZON: return &h->horizon;
  case LP_PROFILES_STORE_RAW: return &h->store_raw;
  case LP_PROFILES_QUARANTINE_AFTER: return &h->quarantine_after;
  case LP_PROFILES_CLV_PERIOD_SCALE: return &h->period_scale;
  case LP_PROFILES_CLV_MONEY_SCALE: return &h->money_scale;
  case LP_PROFILES_TRUST_DERIVED: return &h->trust_derived;
  default: return &h->default_blocklist;
  }
}

static const prf_opt *opt_find(const lp_profiles *h, uint32_t key) {
  for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
    if (opts[i].key == key) return &opts[i];
  lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL, "unknown option key %u", (unsigned)key);
  return NULL;
}

static uint32_t graph_key(uint32_t key) {
  return key == LP_PROFILES_STORE_RAW          ? LP_IDGRAPH_STORE_RAW
         : key == LP_PROFILES_QUARANTINE_AFTER ? LP_IDGRAPH_QUARANTINE_AFTER
         : key == LP_PROFILES_TRUST_DERIVED    ? LP_IDGRAPH_TRUST_DERIVED
                                               : LP_IDGRAPH_DEFAULT_BLOCKLIST;
}

int lp_profiles_set_int(lp_profiles *h, uint32_t key, int64_t value) {
  PRF_GUARD(h, "lp_profiles_set_int");
  const prf_opt *o = opt_find(h, key);
  if (o == NULL) return LP_EINVAL;
  if (value < o->min || value > o->max)
    return lp_error_set(&h->err, LP_ERANGE, "%s: %lld outside [%lld, %lld]", o->name,
                        (long long)value, (long long)o->min, (long long)o->max);
  if (o->graph) {
    int rc = lp_idgraph_set_int(h->g, graph_key(key), value);
    if (rc != LP_OK) return prf_fail(h, rc, o->name, lp_idgraph_errmsg(h->g));
  }
  int64_t *f = opt_field(h, key);
  if (o->any_time) { /* how the next load reads a file: no view changes */
    *f = value;
    return LP_OK;
  }
  if (*f != value && o->graph) prf_mark_fold_stale(h);
  else if (*f != value) prf_mark_models_stale(h);
  *f = value;
  return LP_OK;
}

int lp_profiles_get_int(const lp_profiles *h, uint32_t key, int64_t *value) {
  PRF_GUARD(h, "lp_profiles_get_int");
  if (value == NULL) return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL, "value is NULL");
  if (opt_find(h, key) == NULL) return LP_EINVAL;
  *value = *opt_field(PRF_MUT(h), key);
  return LP_OK;
}

int lp_profiles_int_bounds(const lp_profiles *h, uint32_t key, int64_t *min, int64_t *max) {
  PRF_GUARD(h, "lp_profiles_int_bounds");
  if (min == NULL || max == NULL)
    return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL, "min or max is NULL");
  const prf_opt *o = opt_find(h, key);
  if (o == NULL) return LP_EINVAL;
  *min = o->min;
  *max = o->max;
  return LP_OK;
}

int lp_profiles_add_type(lp_profiles *h, const lp_idgraph_type_def *def, uint32_t *type_id) {
  PRF_GUARD(h, "lp_profiles_add_type");
  if (def == NULL || def->struct_size < sizeof *def)
    return lp_error_set(&h->err, LP_EINVAL, "add_type: definition is NULL or too small");
  uint32_t id;
  int rc = lp_idgraph_add_type(h->g, def, &id);
  if (rc != LP_OK) return prf_fail(h, rc, "add_type", lp_idgraph_errmsg(h->g));
  /* The graph accepted it, so the name fits. */
  prf_type *t = &h->types[h->ntypes++];
  size_t len = strlen(def->name);
  memcpy(t->name, def->name, len + 1);
  t->def = *def;
  t->def.struct_size = (uint32_t)sizeof t->def;
  t->def.name = t->name;
  if (type_id != NULL) *type_id = id;
  return LP_OK;
}

int lp_profiles_set_key(lp_profiles *h, const void *key, size_t len) {
  PRF_GUARD(h, "lp_profiles_set_key");
  int rc = lp_idgraph_set_key(h->g, key, len);
  if (rc != LP_OK) return prf_fail(h, rc, "set_key", lp_idgraph_errmsg(h->g));
  memcpy(h->key, key, len);
  h->key_len = len;
  return LP_OK;
}

int lp_profiles_set_hash(lp_profiles *h, lp_idgraph_hash_fn fn, void *ud) {
  PRF_GUARD(h, "lp_profiles_set_hash");
  int rc = lp_idgraph_set_hash(h->g, fn, ud);
  if (rc != LP_OK) return prf_fail(h, rc, "set_hash", lp_idgraph_errmsg(h->g));
  h->hash_fn = fn;
  h->hash_ud = fn != NULL ? ud : NULL;
  return LP_OK;
}

int lp_profiles_define_tag(lp_profiles *h, const lp_tags_def *def, uint32_t *tag_id) {
  PRF_GUARD(h, "lp_profiles_define_tag");
  int rc = lp_tags_define(h->tax, def, tag_id);
  if (rc != LP_OK) return prf_fail(h, rc, "define_tag", lp_tags_errmsg(h->tax));
  prf_mark_stale(h);
  return LP_OK;
}

int prf_new_graph(const lp_profiles *h, const prf_type *types, uint32_t ntypes,
                  const int64_t o[3], const lp_vec *blocks, lp_idgraph **out) {
  lp_idgraph *g;
  int rc = lp_idgraph_create(&h->alloc, &g);
  if (rc != LP_OK) return lp_error_set(LP_ERR_OF_CONST(h), rc, "out of memory creating a graph");
  const char *what = "graph options";
  rc = lp_idgraph_set_int(g, LP_IDGRAPH_STORE_RAW, o[0]);
  if (rc == LP_OK) rc = lp_idgraph_set_int(g, LP_IDGRAPH_QUARANTINE_AFTER, o[1]);
  if (rc == LP_OK) rc = lp_idgraph_set_int(g, LP_IDGRAPH_DEFAULT_BLOCKLIST, o[2]);
  if (rc == LP_OK) rc = lp_idgraph_set_int(g, LP_IDGRAPH_TRUST_DERIVED, h->trust_derived);
  if (rc == LP_OK && h->key_len > 0) {
    what = "graph key";
    rc = lp_idgraph_set_key(g, h->key, h->key_len);
  }
  if (rc == LP_OK && h->hash_fn != NULL) {
    what = "graph hash";
    rc = lp_idgraph_set_hash(g, h->hash_fn, h->hash_ud);
  }
  for (uint32_t i = 0; rc == LP_OK && i < ntypes; i++) {
    what = "identifier type";
    uint32_t id;
    rc = lp_idgraph_add_type(g, &types[i].def, &id);
  }
  for (size_t i = 0; rc == LP_OK && blocks != NULL && i < blocks->len; i++) {
    const prf_block *b = lp_vec_at(blocks, i);
    what = "blocked value";
    rc = lp_idgraph_block_value(g, b->type, b->value, b->len);
  }
  if (rc != LP_OK) {
    rc = prf_fail(h, rc == LP_ENOMEM ? LP_ENOMEM : LP_ECORRUPT, what, lp_idgraph_errmsg(g));
    lp_idgraph_free(g);
    return rc;
  }
  *out = g;
  return LP_OK;
}

static int graph_create(const lp_allocator *a, void **o) { return lp_idgraph_create(a, (lp_idgraph **)o); }
static void graph_free(void *x) { lp_idgraph_free(x); }
static int graph_save(const void *x, lp_writer w, void *ud) { return lp_idgraph_save(x, w, ud); }
static int graph_load(void *x, lp_reader r, void *ud) { return lp_idgraph_load(x, r, ud); }
static const char *graph_msg(const void *x) { return lp_idgraph_errmsg(x); }
static const prf_kind kind_graph = {"identity graph", graph_create, graph_free, graph_save, graph_load, graph_msg};

static int tax_create(const lp_allocator *a, void **o) { return lp_tags_create(a, (lp_tags **)o); }
static void tax_free(void *x) { lp_tags_free(x); }
static int tax_save(const void *x, lp_writer w, void *ud) { return lp_tags_save(x, w, ud); }
static int tax_load(void *x, lp_reader r, void *ud) { return lp_tags_load(x, r, ud); }
static const char *tax_msg(const void *x) { return lp_tags_errmsg(x); }
static const prf_kind kind_taxonomy = {"taxonomy", tax_create, tax_free, tax_save, tax_load, tax_msg};

static int clv_create(const lp_allocator *a, void **o) { return lp_clv_create(a, (lp_clv **)o); }
static void clv_free(void *x) { lp_clv_free(x); }
static int clv_save(const void *x, lp_writer w, void *ud) { return lp_clv_save(x, w, ud); }
static int clv_load(void *x, lp_reader r, void *ud) { return lp_clv_load(x, r, ud); }
static const char *clv_msg(const void *x) { return lp_clv_errmsg(x); }
static const prf_kind kind_clv = {"CLV model", clv_create, clv_free, clv_save, clv_load, clv_msg};

static int km_create(const lp_allocator *a, void **o) { return lp_kmeans_create(a, (lp_kmeans **)o); }
static void km_free(void *x) { lp_kmeans_free(x); }
static int km_save(const void *x, lp_writer w, void *ud) { return lp_kmeans_save(x, w, ud); }
static int km_load(void *x, lp_reader r, void *ud) { return lp_kmeans_load(x, r, ud); }
static const char *km_msg(const void *x) { return lp_kmeans_errmsg(x); }
static const prf_kind kind_kmeans = {"k-means model", km_create, km_free, km_save, km_load, km_msg};

const prf_kind *prf_kind_of(uint32_t which) {
  static const prf_kind *const all[] = {&kind_graph, &kind_taxonomy, &kind_clv, &kind_kmeans};
  return all[which];
}

int prf_nested_load(const lp_profiles *h, const prf_kind *k, void *x, const uint8_t *d, size_t len) {
  lp_memreader mr;
  lp_memreader_init(&mr, d, len);
  int rc = k->load(x, lp_memreader_read, &mr);
  if (rc != LP_OK) return prf_fail(h, rc, k->what, k->errmsg(x));
  if (mr.pos != len)
    return lp_error_set(LP_ERR_OF_CONST(h), LP_ECORRUPT, "%s: trailing bytes after its snapshot", k->what);
  return LP_OK;
}

int prf_nested_new(const lp_profiles *h, const prf_kind *k, const uint8_t *d, size_t len, void **out) {
  void *x;
  int rc = k->create(&h->alloc, &x);
  if (rc != LP_OK) return lp_error_set(LP_ERR_OF_CONST(h), rc, "%s: out of memory", k->what);
  rc = prf_nested_load(h, k, x, d, len);
  if (rc != LP_OK) {
    k->free(x);
    return rc;
  }
  *out = x;
  return LP_OK;
}

int prf_copy(const lp_profiles *h, const prf_kind *k, const void *src, void **out) {
  lp_membuf *b;
  int rc = lp_membuf_create(&h->alloc, &b);
  if (rc != LP_OK) return lp_error_set(LP_ERR_OF_CONST(h), rc, "%s: out of memory", k->what);
  rc = k->save(src, lp_membuf_write, b);
  if (rc != LP_OK) rc = prf_fail(h, rc, k->what, k->errmsg(src));
  else rc = prf_nested_new(h, k, lp_membuf_data(b), lp_membuf_size(b), out);
  lp_membuf_free(b);
  return rc;
}

int lp_profiles_set_clv(lp_profiles *h, const lp_clv *model) {
  PRF_GUARD(h, "lp_profiles_set_clv");
  lp_clv *c = NULL;
  if (model != NULL) {
    bool any = false;
    for (uint32_t m = LP_CLV_MODEL_BGNBD; m <= LP_CLV_MODEL_GG; m++) any |= lp_clv_has_model(model, m) != 0;
    if (!any) return lp_error_set(&h->err, LP_EMISUSE, "set_clv: the handle holds no model");
    int rc = prf_copy(h, prf_kind_of(PRF_KIND_CLV), model, (void **)&c);
    if (rc != LP_OK) return rc;
  }
  lp_clv_free(h->clv);
  h->clv = c;
  prf_mark_models_stale(h);
  return LP_OK;
}

int lp_profiles_set_kmeans(lp_profiles *h, const lp_kmeans *model) {
  PRF_GUARD(h, "lp_profiles_set_kmeans");
  lp_kmeans *c = NULL;
  if (model != NULL) {
    if (lp_kmeans_k(model) > 0 && lp_kmeans_dim(model) != LP_PROFILES_FEATURES)
      return lp_error_set(&h->err, LP_EINVAL, "set_kmeans: the model has %zu columns, not %u",
                          lp_kmeans_dim(model), (unsigned)LP_PROFILES_FEATURES);
    int rc = prf_copy(h, prf_kind_of(PRF_KIND_KMEANS), model, (void **)&c);
    if (rc != LP_OK) return rc;
  }
  lp_kmeans_free(h->km);
  h->km = c;
  prf_mark_models_stale(h);
  return LP_OK;
}

const lp_idgraph *lp_profiles_idgraph(const lp_profiles *h) { return h ? h->g : NULL; }
const lp_tags *lp_profiles_taxonomy(const lp_profiles *h) { return h ? h->tax : NULL; }

int lp_profiles_set_rule(lp_profiles *h, uint32_t tag_id, const char *rule) {
  PRF_GUARD(h, "lp_profiles_set_rule");
  const char *what = "set_rule";
  lp_tags_info info = LP_TAGS_INFO_INIT;
  int rc = lp_tags_describe(h->tax, tag_id, &info);
  if (rc != LP_OK) return prf_fail(h, rc, what, lp_tags_errmsg(h->tax));
  for (size_t i = 0; i < h->tagf.len; i++)
    if (((const prf_tagf *)lp_vec_at(&h->tagf, i))->tag == tag_id)
      return lp_error_set(&h->err, LP_ECONFLICT,
                          "%s: the store keeps host values of tag %s: unset them first", what,
                          info.name);
  /* On a copy of the taxonomy, so that a failure (an attribute name taken,
   * a rule that does not compile) leaves the store's untouched. */
  lp_tags *t = NULL;
  rc = prf_copy(h, prf_kind_of(PRF_KIND_TAXONOMY), h->tax, (void **)&t);
  if (rc != LP_OK) return rc;
  if (rule != NULL) rc = prf_define_attrs(h, t);
  if (rc == LP_OK && (rc = lp_tags_set_rule(t, tag_id, rule)) != LP_OK)
    rc = prf_fail(h, rc, what, lp_tags_errmsg(t));
  /* Into the store's own handle through its atomic load, so the pointer
   * lp_profiles_taxonomy() gave stays valid. */
  lp_membuf *b = NULL;
  if (rc == LP_OK && lp_membuf_create(&h->alloc, &b) != LP_OK)
    rc = lp_error_set(&h->err, LP_ENOMEM, "%s: out of memory", what);
  if (rc == LP_OK && (rc = lp_tags_save(t, lp_membuf_write, b)) != LP_OK)
    rc = prf_fail(h, rc, what, lp_tags_errmsg(t));
  if (rc == LP_OK)
    rc = prf_nested_load(h, prf_kind_of(PRF_KIND_TAXONOMY), h->tax, lp_membuf_data(b),
                         lp_membuf_size(b));
  lp_membuf_free(b);
  lp_tags_free(t);
  if (rc == LP_OK) prf_mark_stale(h);
  return rc;
}

int lp_profiles_block_value(lp_profiles *h, uint32_t type, const char *value, size_t len) {
  PRF_GUARD(h, "lp_profiles_block_value");
  const char *what = "block_value";
  if (value == NULL) return lp_error_set(&h->err, LP_EINVAL, "%s: value is NULL", what);
  /* Kept normalised (saved in the store's snapshot, applied again by a
   * load, which builds a new graph); everything that can fail first. */
  char norm[LP_IDGRAPH_MAX_VALUE_LEN];
  size_t n;
  int rc = lp_idgraph_normalize(h->g, type, value, len, norm, sizeof norm, &n);
  if (rc == LP_EBUFSIZE) return lp_error_set(&h->err, LP_EINVAL, "%s: value too long", what);
  if (rc != LP_OK) return prf_fail(h, rc, what, lp_idgraph_errmsg(h->g));
  prf_block b = {type, n, norm};
  size_t at = 0;
  while (at < h->blocks.len && prf_cmp_block(lp_vec_at(&h->blocks, at), &b) < 0) at++;
  bool known = at < h->blocks.len && prf_cmp_block(lp_vec_at(&h->blocks, at), &b) == 0;
  if (!known) {
    if (lp_vec_reserve(&h->blocks, &h->mem, h->blocks.len + 1) != LP_OK ||
        (b.value = lp_mem_alloc(&h->mem, n)) == NULL)
      return lp_error_set(&h->err, LP_ENOMEM, "%s: out of memory", what);
    memcpy(b.value, norm, n);
  }
  rc = lp_idgraph_block_value(h->g, type, value, len);
  if (rc != LP_OK) {
    if (!known) lp_mem_free(&h->mem, b.value, n);
    return prf_fail(h, rc, what, lp_idgraph_errmsg(h->g));
  }
  if (!known) {
    h->blocks.len++; /* reserved */
    for (size_t i = h->blocks.len - 1; i > at; i--)
      *(prf_block *)lp_vec_at(&h->blocks, i) = *(prf_block *)lp_vec_at(&h->blocks, i - 1);
    *(prf_block *)lp_vec_at(&h->blocks, at) = b;
  }
  return LP_OK;
}

int lp_profiles_type_name(const lp_profiles *h, uint32_t type, const char **name) {
  PRF_GUARD(h, "lp_profiles_type_name");
  if (name == NULL) return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL, "type_name: name is NULL");
  if (type >= h->ntypes)
    return lp_error_set(LP_ERR_OF_CONST(h), LP_ENOTFOUND, "type_name: no type %u (%u registered)",
                        (unsigned)type, (unsigned)h->ntypes);
  *name = h->types[type].name;
  return LP_OK;
}
