/*
 * Profile store: load one PRFS snapshot. Everything is built aside (a new
 * graph, taxonomy, models and fact tables) and swapped in only when the
 * whole snapshot is valid, so a failed load leaves the store unchanged.
 * SPDX-License-Identifier: MIT
 */
#include <stdlib.h>
#include <string.h>

#include "core/codec.h"
#include "core/utf8.h"
#include "profiles/profiles_internal.h"

/* n > max through a uint64_t parameter: where size_t is 32 bits the limit
 * (2^32 - 1) cannot be passed, and a direct comparison is a type-limits
 * warning there; the check still matters on 64-bit hosts. */
static bool exceeds(uint64_t n, uint64_t max) { return n > max; }

typedef struct guarded {
  const lp_profiles *h;
  lp_reader r;
  void *ud;
} guarded;

static int guarded_read(void *ud, void *buf, size_t cap, size_t *got) {
  guarded *g = ud;
  PRF_MUT(g->h)->busy++;
  int rc = g->r(g->ud, buf, cap, got);
  PRF_MUT(g->h)->busy--;
  return rc;
}

/* What a load builds before it is swapped in. */
typedef struct staged {
  int64_t opt[11];
  prf_type types[LP_IDGRAPH_MAX_TYPES];
  uint32_t ntypes;
  lp_idgraph *g;
  lp_tags *tax;
  lp_clv *clv;
  lp_kmeans *km;
  lp_vec orders, tagf, blocks;
  lp_map128 tag_index;
} staged;

static void staged_free(const lp_profiles *h, staged *s) {
  lp_idgraph_free(s->g);
  lp_tags_free(s->tax);
  lp_clv_free(s->clv);
  lp_kmeans_free(s->km);
  lp_vec_free(&s->orders, &h->mem);
  prf_tagf_free_all(&h->mem, &s->tagf);
  lp_vec_free(&s->tagf, &h->mem);
  lp_hmap_free(&s->tag_index, &h->mem);
  prf_blocks_free(&h->mem, &s->blocks);
}

static int corrupt(const lp_profiles *h, const char *what) {
  return lp_error_set(LP_ERR_OF_CONST(h), LP_ECORRUPT, "load: %s", what);
}

static int read_opts(const lp_profiles *h, staged *s, const uint8_t *d, size_t len) {
  lp_cursor c;
  lp_cursor_init(&c, d, len);
  uint32_t fmt = lp_cursor_u32(&c);
  if (c.ok && fmt != PRF_FORMAT)
    return lp_error_set(LP_ERR_OF_CONST(h), LP_EVERSION, "load: store format %u not supported", (unsigned)fmt);
  for (size_t i = 0; i < 11; i++) s->opt[i] = lp_cursor_i64(&c);
  if (!lp_cursor_done(&c)) return corrupt(h, "options section has the wrong size");
  static const int64_t lo[] = {-LP_RFM_MAX_TIMESTAMP, 1, 0, 0, 1, 1, 0, 1, 0, 0, 0};
  static const int64_t hi[] = {LP_RFM_MAX_TIMESTAMP, LP_RFM_MAX_BINS, LP_RFM_MAP_RFM11, 100000,
                               10000, 1000000, 1, 63, 1, INT64_MAX, 0};
  for (size_t i = 0; i < 11; i++)
    if (s->opt[i] < lo[i] || s->opt[i] > hi[i]) return corrupt(h, "an option is out of range");
  return LP_OK;
}

static const prf_type *type_named(const lp_profiles *h, const char *name) {
  for (uint32_t i = 0; i < h->ntypes; i++)
    if (strcmp(h->types[i].name, name) == 0) return &h->types[i];
  return NULL;
}

static int read_types(const lp_profiles *h, staged *s, const uint8_t *d, size_t len) {
  lp_cursor c;
  lp_cursor_init(&c, d, len);
  uint32_t n = lp_cursor_u32(&c);
  if (!c.ok || n > LP_IDGRAPH_MAX_TYPES) return corrupt(h, "bad type count");
  for (uint32_t i = 0; i < n; i++) {
    uint32_t nl = lp_cursor_u32(&c);
    int32_t prio = (int32_t)lp_cursor_u32(&c);
    uint32_t limit = lp_cursor_u32(&c), uniq = lp_cursor_u32(&c), norm = lp_cursor_u32(&c);
    uint32_t cc = lp_cursor_u32(&c), zero = lp_cursor_u32(&c);
    if (!c.ok || nl == 0 || nl > LP_IDGRAPH_MAX_TYPE_NAME_LEN || zero != 0 || uniq > 1 ||
        norm > LP_IDGRAPH_NORM_CALLBACK)
      return corrupt(h, "bad type definition");
    const uint8_t *name = lp_cursor_take(&c, nl);
    if (name == NULL) return corrupt(h, "truncated type name");
    size_t bad;
    if (lp_utf8_check((const char *)name, nl, &bad) != 0) return corrupt(h, "type name is not UTF-8");
    prf_type *t = &s->types[i];
    memcpy(t->name, name, nl);
    t->name[nl] = 0;
    for (uint32_t k = 0; k < i; k++)
      if (strcmp(s->types[k].name, t->name) == 0) return corrupt(h, "duplicate type name");
    lp_idgraph_type_def def = LP_IDGRAPH_TYPE_DEF_INIT;
    def.name = t->name;
    def.priority = prio;
    def.limit = limit;
    def.unique = uniq;
    def.normalizer = norm;
    def.country_code = cc;
    const prf_type *mine = type_named(h, t->name);
    if (h->ntypes > 0 && (mine == NULL || (uint32_t)(mine - h->types) != i))
      return lp_error_set(LP_ERR_OF_CONST(h), LP_ECONFLICT,
                          "load: type %s is not registered at position %u in this store", t->name, (unsigned)i);
    if (mine != NULL) {
      def = mine->def; /* the store's own definition (it may carry a host normaliser) */
    } else if (norm == LP_IDGRAPH_NORM_CALLBACK) {
      return lp_error_set(LP_ERR_OF_CONST(h), LP_ECONFLICT,
                          "load: type %s needs a host normaliser: register it first", t->name);
    }
    def.name = t->name;
    t->def = def;
  }
  if (!lp_cursor_done(&c)) return corrupt(h, "trailing bytes in the type section");
  if (h->ntypes > 0 && n != h->ntypes)
    return lp_error_set(LP_ERR_OF_CONST(h), LP_ECONFLICT, "load: the snapshot has %u types, this store %u",
                        (unsigned)n, (unsigned)h->ntypes);
  s->ntypes = n;
  return LP_OK;
}

static int read_blocks(const lp_profiles *h, staged *s, const uint8_t *d, size_t len) {
  lp_cursor c;
  lp_cursor_init(&c, d, len);
  uint32_t n = lp_cursor_u32(&c);
  if (!c.ok || n > len / 9) return corrupt(h, "bad blocked value count");
  int rc = lp_vec_reserve(&s->blocks, &h->mem, n);
  if (rc != LP_OK) return lp_error_set(LP_ERR_OF_CONST(h), rc, "load: out of memory");
  for (uint32_t i = 0; i < n; i++) {
    prf_block b = {lp_cursor_u32(&c), lp_cursor_u32(&c), NULL};
    const uint8_t *v = c.ok && b.len > 0 && b.len <= LP_IDGRAPH_MAX_VALUE_LEN ? lp_cursor_take(&c, b.len) : NULL;
    size_t bad;
    if (v == NULL || b.type >= s->ntypes || lp_utf8_check((const char *)v, b.len, &bad) != 0)
      return corrupt(h, "bad blocked value");
    b.value = (char *)(uintptr_t)v;
    if (i > 0 && prf_cmp_block(lp_vec_at(&s->blocks, i - 1), &b) >= 0)
      return corrupt(h, "blocked values are not in canonical order");
    if ((b.value = lp_mem_alloc(&h->mem, b.len)) == NULL)
      return lp_error_set(LP_ERR_OF_CONST(h), LP_ENOMEM, "load: out of memory");
    memcpy(b.value, v, b.len);
    lp_vec_push(&s->blocks, &h->mem, &b); /* reserved */
  }
  if (!lp_cursor_done(&c)) return corrupt(h, "trailing bytes in the blocked values");
  return LP_OK;
}

static int load_graph(const lp_profiles *h, staged *s, const uint8_t *d, size_t len) {
  int64_t o[3] = {s->opt[6], s->opt[7], s->opt[8]};
  int rc = prf_new_graph(h, s->types, s->ntypes, o, &s->blocks, &s->g);
  if (rc != LP_OK) return rc;
  return prf_nested_load(h, prf_kind_of(PRF_KIND_GRAPH), s->g, d, len);
}



/* The graph's snapshot from consecutive IDGC sections (1.2): the graph
 * reads through this callback, which moves to the next section when one
 * is used up. A section of another type there ends the bytes (the graph
 * then reports its snapshot truncated). */
typedef struct chunks {
  lp_snapshot_reader *sr;
  const uint8_t *d;
  size_t len, pos;
  bool end;
} chunks;

static int chunk_read(void *ud, void *buf, size_t cap, size_t *got) {
  chunks *c = ud;
  *got = 0;
  while (c->pos == c->len && !c->end) {
    uint32_t type;
    int rc = lp_snapshot_reader_next(c->sr, &type, NULL, &c->d, &c->len);
    if (rc != LP_OK) return rc;
    c->pos = 0;
    if (type != PRF_SEC_GRAPH_CHUNK) {
      c->end = true;
      c->len = 0;
    }
  }
  size_t n = c->len - c->pos < cap ? c->len - c->pos : cap;
  if (n > 0) memcpy(buf, c->d + c->pos, n);
  c->pos += n;
  *got = n;
  return LP_OK;
}

static int load_graph_chunks(const lp_profiles *h, staged *s, lp_snapshot_reader *sr, const uint8_t *d,
                             size_t len) {
  int64_t o[3] = {s->opt[6], s->opt[7], s->opt[8]};
  int rc = prf_new_graph(h, s->types, s->ntypes, o, &s->blocks, &s->g);
  if (rc != LP_OK) return rc;
  chunks c = {sr, d, len, 0, false};
  const prf_kind *k = prf_kind_of(PRF_KIND_GRAPH);
  rc = k->load(s->g, chunk_read, &c);
  if (rc != LP_OK) {
    /* the container's own failure (a section after the first) is its message */
    if (strcmp(lp_snapshot_reader_errmsg(sr), "no error") != 0)
      return prf_fail(h, rc, "load", lp_snapshot_reader_errmsg(sr));
    return c.end ? corrupt(h, "the graph's chunks end before its snapshot")
                 : prf_fail(h, rc, k->what, k->errmsg(s->g));
  }
  if (c.pos != c.len) return corrupt(h, "graph: trailing bytes after its snapshot");
  return LP_OK;
}

static int load_km(const lp_profiles *h, staged *s, const uint8_t *d, size_t len) {
  int rc = prf_nested_new(h, prf_kind_of(PRF_KIND_KMEANS), d, len, (void **)&s->km);
  if (rc != LP_OK) return rc;
  if (lp_kmeans_dim(s->km) != LP_PROFILES_FEATURES) return corrupt(h, "k-means model has the wrong dimension");
  return LP_OK;
}

static int read_orders(const lp_profiles *h, staged *s, const uint8_t *d, size_t len) {
  lp_cursor c;
  lp_cursor_init(&c, d, len);
  size_t n;
  if (!lp_cursor_count(&c, PRF_ORDER_BYTES, &n) || exceeds(n, LP_PROFILES_MAX_ORDERS))
    return corrupt(h, "bad order count");
  int rc = lp_vec_reserve(&s->orders, &h->mem, n);
  if (rc != LP_OK) return lp_error_set(LP_ERR_OF_CONST(h), rc, "load: out of memory");
  prf_order prev, *dst = (prf_order *)(void *)s->orders.data; /* reserved: decoded in place */
  for (size_t i = 0; i < n; i++) {
    prf_order o;
    memset(&o, 0, sizeof o);
    const uint8_t *hp = lp_cursor_take(&c, LP_IDGRAPH_HASH_SIZE);
    if (hp == NULL) return corrupt(h, "truncated order");
    memcpy(o.hash, hp, LP_IDGRAPH_HASH_SIZE);
    o.flags = lp_cursor_u32(&c);
    o.order_id = lp_cursor_u64(&c);
    o.ts = lp_cursor_i64(&c);
    o.amount = lp_cursor_i64(&c);
    if ((o.flags & ~LP_PROFILES_ORDER_HAS_ID) != 0 ||
        (!(o.flags & LP_PROFILES_ORDER_HAS_ID) && o.order_id != 0) ||
        o.ts < -LP_RFM_MAX_TIMESTAMP || o.ts > LP_RFM_MAX_TIMESTAMP || o.amount == INT64_MIN)
      return corrupt(h, "bad order");
    if (i > 0 && prf_cmp_order(&prev, &o) > 0) return corrupt(h, "orders are not in canonical order");
    /* sorted by hash: one tombstone lookup per identifier */
    if ((i == 0 || prf_cmp_hash(prev.hash, o.hash) != 0) && prf_hash_erased(s->g, o.hash))
      return corrupt(h, "an order is kept under an erased identifier");
    dst[i] = o;
    s->orders.len = i + 1;
    prev = o;
  }
  if (!lp_cursor_done(&c)) return corrupt(h, "trailing bytes in the order section");
  return LP_OK;
}

/* A varint in its shortest form (false: truncated, overlong, or more
 * than 64 bits), so that one set of orders has one encoding. */
static bool get_varint(lp_cursor *c, uint64_t *out) {
  uint64_t v = 0;
  for (unsigned shift = 0; shift < 64; shift += 7) {
    if (c->left == 0) {
      c->ok = false;
      return false;
    }
    uint8_t b = *c->p++;
    c->left--;
    if (shift == 63 && b > 1) break;
    v |= (uint64_t)(b & 0x7F) << shift;
    if (b < 0x80) {
      *out = v;
      return shift == 0 || b != 0;
    }
  }
  c->ok = false;
  return false;
}

static int64_t unzigzag(uint64_t u) { return (int64_t)((u >> 1) ^ (0 - (u & 1))); }

/* ORDC (1.2): see write_orders() in profiles_save.c and docs/profiles.md.
 * Each order takes at least two bytes (head, amount), which bounds the
 * count before anything is reserved. */
static int read_orders_compact(const lp_profiles *h, staged *s, const uint8_t *d, size_t len) {
  lp_cursor c;
  lp_cursor_init(&c, d, len);
  size_t n;
  if (!lp_cursor_count(&c, 2, &n) || exceeds(n, LP_PROFILES_MAX_ORDERS)) return corrupt(h, "bad order count");
  int rc = lp_vec_reserve(&s->orders, &h->mem, n);
  if (rc != LP_OK) return lp_error_set(LP_ERR_OF_CONST(h), rc, "load: out of memory");
  prf_order prev, *dst = (prf_order *)(void *)s->orders.data; /* reserved: decoded in place */
  memset(&prev, 0, sizeof prev);
  for (size_t i = 0; i < n;) {
    const uint8_t *hp = lp_cursor_take(&c, LP_IDGRAPH_HASH_SIZE);
    uint64_t k;
    if (hp == NULL || !get_varint(&c, &k) || k == 0 || k > n - i) return corrupt(h, "bad order group");
    if (i > 0 && prf_cmp_hash(prev.hash, hp) >= 0) return corrupt(h, "orders are not in canonical order");
    if (prf_hash_erased(s->g, hp)) return corrupt(h, "an order is kept under an erased identifier");
    for (uint64_t j = 0; j < k; j++, i++) {
      prf_order o;
      memset(&o, 0, sizeof o);
      memcpy(o.hash, hp, LP_IDGRAPH_HASH_SIZE);
      uint64_t head, amount;
      if (!get_varint(&c, &head)) return corrupt(h, "truncated order");
      uint64_t t = head >> 1;
      if (j == 0) {
        o.ts = unzigzag(t);
        if (o.ts < -LP_RFM_MAX_TIMESTAMP || o.ts > LP_RFM_MAX_TIMESTAMP) return corrupt(h, "bad order");
      } else {
        if (t > (uint64_t)(LP_RFM_MAX_TIMESTAMP - prev.ts)) return corrupt(h, "bad order");
        o.ts = prev.ts + (int64_t)t;
      }
      if (head & 1) {
        o.flags = LP_PROFILES_ORDER_HAS_ID;
        if (!get_varint(&c, &o.order_id)) return corrupt(h, "truncated order");
      }
      if (!get_varint(&c, &amount)) return corrupt(h, "truncated order");
      o.amount = unzigzag(amount);
      if (o.amount == INT64_MIN) return corrupt(h, "bad order");
      if (j > 0 && prf_cmp_order(&prev, &o) > 0) return corrupt(h, "orders are not in canonical order");
      dst[i] = o;
      s->orders.len = i + 1;
      prev = o;
    }
  }
  if (!lp_cursor_done(&c)) return corrupt(h, "trailing bytes in the order section");
  return LP_OK;
}

static int read_tags(const lp_profiles *h, staged *s, const uint8_t *d, size_t len) {
  lp_cursor c;
  lp_cursor_init(&c, d, len);
  size_t n;
  if (!lp_cursor_count(&c, PRF_TAGF_BYTES, &n) || exceeds(n, LP_PROFILES_MAX_TAG_FACTS))
    return corrupt(h, "bad tag fact count");
  int rc = lp_vec_reserve(&s->tagf, &h->mem, n);
  if (rc == LP_OK) rc = lp_hmap_reserve(&s->tag_index, &h->mem, n);
  if (rc != LP_OK) return lp_error_set(LP_ERR_OF_CONST(h), rc, "load: out of memory");
  uint32_t ntags = lp_tags_tag_count(s->tax);
  for (size_t i = 0; i < n; i++) {
    prf_tagf f;
    memset(&f, 0, sizeof f);
    const uint8_t *hp = lp_cursor_take(&c, LP_IDGRAPH_HASH_SIZE);
    if (hp == NULL) return corrupt(h, "truncated tag fact");
    memcpy(f.hash, hp, LP_IDGRAPH_HASH_SIZE);
    f.tag = lp_cursor_u32(&c);
    f.num = lp_cursor_i64(&c);
    f.set_at = lp_cursor_i64(&c);
    f.expires_at = lp_cursor_i64(&c);
    f.len = lp_cursor_u32(&c);
    const uint8_t *str = lp_cursor_take(&c, f.len);
    if (!c.ok || f.tag >= ntags) return corrupt(h, "bad tag fact");
    lp_tags_info info = LP_TAGS_INFO_INIT;
    if (lp_tags_describe(s->tax, f.tag, &info) != LP_OK) return corrupt(h, "bad tag fact");
    size_t bad;
    bool ok = info.retired == 0 && (info.rule == NULL || info.rule[0] == 0) &&
              (f.expires_at == LP_TAGS_NEVER || f.expires_at > f.set_at) &&
              f.expires_at != LP_TAGS_EXPIRES_DEFAULT;
    if (info.type == LP_TAGS_STRING)
      ok = ok && f.num == 0 && f.len <= LP_TAGS_MAX_STRING &&
           (f.len == 0 || lp_utf8_check((const char *)str, f.len, &bad) == 0);
    else
      ok = ok && f.len == 0 && f.num != INT64_MIN && (info.type != LP_TAGS_FLAG || f.num == 1);
    if (!ok) return corrupt(h, "bad tag fact");
    if (i > 0) {
      const prf_tagf *p = lp_vec_at(&s->tagf, i - 1);
      int cmp = prf_cmp_hash(p->hash, f.hash);
      if (cmp > 0 || (cmp == 0 && p->tag >= f.tag)) return corrupt(h, "tag facts are not in canonical order");
    }
    if (prf_hash_erased(s->g, f.hash)) return corrupt(h, "a tag fact is kept under an erased identifier");
    if (f.len > 0) {
      f.str = lp_mem_alloc(&h->mem, f.len);
      if (f.str == NULL) return lp_error_set(LP_ERR_OF_CONST(h), LP_ENOMEM, "load: out of memory");
      memcpy(f.str, str, f.len);
    }
    lp_vec_push(&s->tagf, &h->mem, &f);
    uint64_t *slot;
    bool ins;
    lp_hash128 k = prf_tag_key(f.hash, f.tag);
    uint64_t kw[2] = {k.lo, k.hi};
    lp_hmap_upsert(&s->tag_index, &h->mem, kw, &slot, &ins); /* reserved */
    if (!ins) return corrupt(h, "tag fact key collision");
    *slot = (uint64_t)i + 1;
  }
  if (!lp_cursor_done(&c)) return corrupt(h, "trailing bytes in the tag section");
  return LP_OK;
}

static int read_all(const lp_profiles *h, staged *s, lp_snapshot_reader *sr) {
  uint32_t kind;
  int rc = lp_snapshot_reader_header(sr, &kind, NULL);
  if (rc != LP_OK) return prf_fail(h, rc, "load", lp_snapshot_reader_errmsg(sr));
  if (kind != LP_PROFILES_SNAPSHOT_KIND) return corrupt(h, "not a profile store snapshot");
  /* BLCK (1.1) is optional; the six before CLVM are required. */
  static const uint32_t order[] = {PRF_SEC_OPTS,   PRF_SEC_TYPES, PRF_SEC_BLOCKS, PRF_SEC_GRAPH,
                                   PRF_SEC_TAXONOMY, PRF_SEC_ORDERS, PRF_SEC_TAGS, PRF_SEC_CLV,
                                   PRF_SEC_KMEANS};
  size_t next = 0;
  for (;;) {
    uint32_t type, flags;
    const uint8_t *d;
    size_t len;
    rc = lp_snapshot_reader_next(sr, &type, &flags, &d, &len);
    if (rc != LP_OK) return prf_fail(h, rc, "load", lp_snapshot_reader_errmsg(sr));
    if (type == LP_SECTION_END) break;
    if (type == PRF_SEC_GRAPH_CHUNK && next > 3) return corrupt(h, "a graph chunk after the graph");
    /* the chunks of the graph (1.2) stand where its one section was, the
     * compact orders (1.2) where ORDR was */
    uint32_t slot = type == PRF_SEC_GRAPH_CHUNK ? PRF_SEC_GRAPH : type == PRF_SEC_ORDERS_C ? PRF_SEC_ORDERS : type;
    size_t at = next;
    while (at < sizeof order / sizeof order[0] && order[at] != slot) at++;
    if (at == sizeof order / sizeof order[0]) {
      if (flags & LP_SECTION_REQUIRED)
        return lp_error_set(LP_ERR_OF_CONST(h), LP_EVERSION, "load: unknown required section");
      continue;
    }
    /* skipping is allowed only over BLCK (index 2) and the optional models */
    bool skips_required = false;
    for (size_t k = next; k < at; k++) skips_required |= k <= 6 && k != 2;
    if (skips_required) return corrupt(h, "a section is missing or out of order");
    next = at + 1;
    switch (type) {
    case PRF_SEC_OPTS: rc = read_opts(h, s, d, len); break;
    case PRF_SEC_TYPES: rc = read_types(h, s, d, len); break;
    case PRF_SEC_BLOCKS: rc = read_blocks(h, s, d, len); break;
    case PRF_SEC_GRAPH: rc = load_graph(h, s, d, len); break;
    case PRF_SEC_GRAPH_CHUNK: rc = load_graph_chunks(h, s, sr, d, len); break;
    case PRF_SEC_TAXONOMY: rc = prf_nested_new(h, prf_kind_of(PRF_KIND_TAXONOMY), d, len, (void **)&s->tax); break;
    case PRF_SEC_ORDERS: rc = read_orders(h, s, d, len); break;
    case PRF_SEC_ORDERS_C: rc = read_orders_compact(h, s, d, len); break;
    case PRF_SEC_TAGS: rc = read_tags(h, s, d, len); break;
    case PRF_SEC_CLV: rc = prf_nested_new(h, prf_kind_of(PRF_KIND_CLV), d, len, (void **)&s->clv); break;
    default: rc = load_km(h, s, d, len); break;
    }
    if (rc != LP_OK) return rc;
  }
  if (next < 7) return corrupt(h, "a section is missing");
  return LP_OK;
}

int lp_profiles_load(lp_profiles *h, lp_reader r, void *ud) {
  PRF_GUARD(h, "lp_profiles_load");
  if (r == NULL) return lp_error_set(&h->err, LP_EINVAL, "load: reader is NULL");
  staged s;
  memset(&s, 0, sizeof s);
  lp_vec_init(&s.orders, sizeof(prf_order));
  lp_vec_init(&s.tagf, sizeof(prf_tagf));
  lp_map128_init(&s.tag_index);
  lp_vec_init(&s.blocks, sizeof(prf_block));
  guarded g = {h, r, ud};
  lp_snapshot_reader *sr;
  int rc = lp_snapshot_reader_create(&h->alloc, guarded_read, &g, &sr);
  if (rc != LP_OK) return lp_error_set(&h->err, rc, "load: out of memory");
  rc = read_all(h, &s, sr);
  lp_snapshot_reader_free(sr);
  if (rc != LP_OK) {
    staged_free(h, &s);
    return rc;
  }
  /* Swap in: nothing below can fail. */
  prf_release(h);
  h->fold_gen++;
  h->g = s.g;
  h->tax = s.tax;
  h->clv = s.clv;
  h->km = s.km;
  h->orders = s.orders;
  h->orders_sorted = s.orders.len; /* checked canonical */
  h->tagf = s.tagf;
  h->tag_index = s.tag_index;
  h->blocks = s.blocks;
  if (h->ntypes == 0) {
    for (uint32_t i = 0; i < s.ntypes; i++) {
      h->types[i] = s.types[i];
      h->types[i].def.name = h->types[i].name;
    }
    h->ntypes = s.ntypes;
  }
  int64_t *o[] = {&h->as_of, &h->bins, &h->segmap, &h->horizon, &h->period_scale,
                  &h->money_scale, &h->store_raw, &h->quarantine_after, &h->default_blocklist};
  for (size_t i = 0; i < 9; i++) *o[i] = s.opt[i];
  h->erased_facts = (uint64_t)s.opt[9];
  return LP_OK;
}
