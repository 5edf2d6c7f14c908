/*
 * Identity: loading a snapshot. Everything is decoded into a temporary
 * state, checked, and the profiles are rebuilt aside; the handle changes
 * only when all of that succeeded.
 * SPDX-License-Identifier: MIT
 */
#include "core/codec.h"
#include "identity/hashing.h"
#include "identity/rebuild.h"
#include "identity/state.h"

typedef struct loader {
  lp_idgraph *h;
  idg_state t;
  uint32_t type_map[LP_IDGRAPH_MAX_TYPES];
  uint32_t ntypes;
  uint32_t seen; /* bit per section kind, in file order */
} loader;

static int corrupt(loader *l, const char *what) {
  return lp_error_set(&l->h->err, LP_ECORRUPT, "corrupt identity snapshot: %s", what);
}

static const uint8_t *take_bytes(lp_cursor *c, size_t *len) {
  uint32_t n = lp_cursor_u32(c);
  *len = n;
  if (!c->ok || n > c->left) {
    c->ok = false;
    return NULL;
  }
  return n == 0 ? (const uint8_t *)"" : lp_cursor_take(c, n);
}

static int read_meta(loader *l, lp_cursor *c) {
  lp_idgraph *h = l->h;
  uint32_t format = lp_cursor_u32(c);
  uint64_t fp = lp_cursor_u64(c);
  l->t.blocked = lp_cursor_u64(c);
  l->t.invalid = lp_cursor_u64(c);
  l->t.tombstoned = lp_cursor_u64(c);
  l->ntypes = lp_cursor_u32(c);
  if (!c->ok) return corrupt(l, "META is truncated");
  if (format != IDG_FORMAT)
    return lp_error_set(&h->err, LP_EVERSION, "identity snapshot format %u is not supported",
                        (unsigned)format);
  if (l->ntypes > LP_IDGRAPH_MAX_TYPES) return corrupt(l, "too many types");
  for (uint32_t i = 0; i < l->ntypes; i++) {
    size_t len;
    const uint8_t *name = take_bytes(c, &len);
    if (name == NULL) return corrupt(l, "META type name is truncated");
    uint32_t id = UINT32_MAX;
    for (uint32_t k = 0; k < h->ntypes; k++)
      if (h->types[k].name_len == len && memcmp(h->types[k].name, name, len) == 0) id = k;
    if (id == UINT32_MAX)
      return lp_error_set(&h->err, LP_ECONFLICT,
                          "snapshot uses identifier type \"%.*s\", which is not registered",
                          (int)(len < LP_IDGRAPH_MAX_TYPE_NAME_LEN ? len : LP_IDGRAPH_MAX_TYPE_NAME_LEN),
                          (const char *)name);
    l->type_map[i] = id;
  }
  if (!lp_cursor_done(c)) return corrupt(l, "META has trailing bytes");
  uint64_t mine;
  int rc = idg_key_fingerprint(h, &mine);
  if (rc != LP_OK) return rc;
  if (fp != mine)
    return lp_error_set(&h->err, LP_ECONFLICT,
                        "snapshot was made with a different hash key or hash function");
  return LP_OK;
}

static int read_sources(loader *l, lp_cursor *c) {
  size_t n;
  if (!lp_cursor_count(c, 4, &n)) return corrupt(l, "SRCS count");
  for (size_t i = 0; i < n; i++) {
    size_t len;
    const uint8_t *s = take_bytes(c, &len);
    if (s == NULL) return corrupt(l, "SRCS is truncated");
    uint32_t id;
    bool added;
    int rc = lp_strpool_intern(&l->t.sources, &l->h->mem, (const char *)s, len, &id, &added);
    if (rc != LP_OK) return lp_error_set(&l->h->err, rc, "loading sources failed");
    if (!added || len > 255) return corrupt(l, "SRCS has a duplicate or oversized source");
  }
  return lp_cursor_done(c) ? LP_OK : corrupt(l, "SRCS has trailing bytes");
}

static int read_idents(loader *l, lp_cursor *c) {
  const lp_mem *m = &l->h->mem;
  size_t n;
  if (!lp_cursor_count(c, 24, &n) || n > IDG_MAX_NODES) return corrupt(l, "IDNT count");
  int rc = lp_vec_reserve(&l->t.nodes, m, n);
  if (rc == LP_OK) rc = lp_vec_reserve(&l->t.raws, m, n);
  if (rc != LP_OK) return lp_error_set(&l->h->err, rc, "out of memory loading identifiers");
  lp_hash128 prev = {0, 0};
  for (size_t i = 0; i < n; i++) {
    uint32_t type = lp_cursor_u32(c);
    lp_hash128 hash;
    hash.lo = lp_cursor_u64(c);
    hash.hi = lp_cursor_u64(c);
    uint32_t rawlen = lp_cursor_u32(c);
    if (!c->ok) return corrupt(l, "IDNT is truncated");
    if (type >= l->ntypes) return corrupt(l, "IDNT type out of range");
    if (i > 0 && (hash.hi < prev.hi || (hash.hi == prev.hi && hash.lo <= prev.lo)))
      return corrupt(l, "IDNT is not strictly sorted by hash");
    prev = hash;
    idg_node nd;
    memset(&nd, 0, sizeof nd);
    nd.hash = hash;
    nd.type = (uint8_t)l->type_map[type];
    uint32_t raw = IDG_NONE;
    if (rawlen != NO_RAW) {
      if (rawlen > LP_IDGRAPH_MAX_VALUE_LEN) return corrupt(l, "IDNT raw value too long");
      const uint8_t *v = lp_cursor_take(c, rawlen);
      if (v == NULL) return corrupt(l, "IDNT raw value is truncated");
      rc = lp_strpool_intern(&l->t.values, m, rawlen > 0 ? (const char *)v : "", rawlen, &raw, NULL);
      if (rc != LP_OK) return lp_error_set(&l->h->err, rc, "loading raw values failed");
    } else if (l->h->store_raw) {
      return lp_error_set(&l->h->err, LP_ECONFLICT,
                          "raw storage is on but the snapshot holds hashes only");
    }
    (void)lp_vec_push(&l->t.nodes, m, &nd);
    (void)lp_vec_push(&l->t.raws, m, &raw);
  }
  return lp_cursor_done(c) ? LP_OK : corrupt(l, "IDNT has trailing bytes");
}

static int read_events(loader *l, lp_cursor *c) {
  const lp_mem *m = &l->h->mem;
  size_t n, nn = l->t.nodes.len, ns = lp_strpool_count(&l->t.sources);
  if (!lp_cursor_count(c, 20, &n) || n >= UINT32_MAX) return corrupt(l, "EVNT count");
  int rc = lp_vec_reserve(&l->t.events, m, n);
  if (rc != LP_OK) return lp_error_set(&l->h->err, rc, "out of memory loading events");
  uint8_t *used = NULL;
  if (nn > 0 && (used = lp_mem_zalloc(m, nn)) == NULL)
    return lp_error_set(&l->h->err, LP_ENOMEM, "out of memory loading events");
  rc = LP_OK;
  for (size_t i = 0; i < n && rc == LP_OK; i++) {
    idg_event e;
    e.ts = lp_cursor_i64(c);
    e.source = lp_cursor_u32(c);
    e.count = lp_cursor_u32(c);
    e.first = (uint32_t)l->t.members.len;
    e.next = (uint32_t)i;
    if (!c->ok) rc = corrupt(l, "EVNT is truncated");
    else if (e.source >= ns) rc = corrupt(l, "EVNT source out of range");
    else if (e.count == 0 || e.count > LP_IDGRAPH_MAX_EVENT_IDS || e.count > c->left / 4)
      rc = corrupt(l, "EVNT member count");
    uint32_t mem[LP_IDGRAPH_MAX_EVENT_IDS];
    for (uint32_t k = 0; rc == LP_OK && k < e.count; k++) {
      mem[k] = lp_cursor_u32(c);
      if (mem[k] >= nn || (k > 0 && mem[k] <= mem[k - 1]))
        rc = corrupt(l, "EVNT members out of range or not sorted");
      else used[mem[k]] = 1;
    }
    if (rc == LP_OK && l->t.members.len + e.count > UINT32_MAX - 1) rc = corrupt(l, "EVNT size");
    if (rc == LP_OK) rc = lp_vec_append(&l->t.members, m, mem, e.count);
    if (rc == LP_OK) (void)lp_vec_push(&l->t.events, m, &e);
    else if (rc == LP_ENOMEM) lp_error_set(&l->h->err, rc, "out of memory loading events");
  }
  for (size_t i = 0; i < nn && rc == LP_OK; i++)
    if (!used[i]) rc = corrupt(l, "IDNT holds an identifier no event uses");
  if (used != NULL) lp_mem_free(m, used, nn);
  if (rc == LP_OK && !lp_cursor_done(c)) rc = corrupt(l, "EVNT has trailing bytes");
  return rc;
}

static int read_tombs(loader *l, lp_cursor *c) {
  size_t n;
  if (!lp_cursor_count(c, 16, &n)) return corrupt(l, "TOMB count");
  int rc = lp_hmap_reserve(&l->t.tombstones, &l->h->mem, n);
  if (rc != LP_OK) return lp_error_set(&l->h->err, rc, "out of memory loading tombstones");
  for (size_t i = 0; i < n; i++) {
    lp_hash128 k;
    k.lo = lp_cursor_u64(c);
    k.hi = lp_cursor_u64(c);
    (void)lp_map128_put(&l->t.tombstones, &l->h->mem, k, 1);
  }
  if (l->t.tombstones.len != n) return corrupt(l, "TOMB has duplicates");
  return lp_cursor_done(c) ? LP_OK : corrupt(l, "TOMB has trailing bytes");
}

static int read_sections(loader *l, lp_snapshot_reader *r) {
  static const uint32_t order[] = {SEC_META, SEC_SOURCES, SEC_IDENTS, SEC_EVENTS, SEC_TOMBS};
  uint32_t kind;
  int rc = lp_snapshot_reader_header(r, &kind, NULL);
  if (rc != LP_OK) return lp_error_set(&l->h->err, rc, "%s", lp_snapshot_reader_errmsg(r));
  if (kind != KIND_IDGRAPH)
    return lp_error_set(&l->h->err, LP_ECORRUPT, "snapshot is not an identity graph");
  size_t next = 0;
  for (;;) {
    uint32_t type, flags;
    const uint8_t *data;
    size_t len;
    rc = lp_snapshot_reader_next(r, &type, &flags, &data, &len);
    if (rc != LP_OK) return lp_error_set(&l->h->err, rc, "%s", lp_snapshot_reader_errmsg(r));
    if (type == LP_SECTION_END) break;
    lp_cursor c;
    lp_cursor_init(&c, data, len);
    if (next < LP_ARRAY_LEN(order) && type == order[next]) {
      switch (next++) {
      case 0: rc = read_meta(l, &c); break;
      case 1: rc = read_sources(l, &c); break;
      case 2: rc = read_idents(l, &c); break;
      case 3: rc = read_events(l, &c); break;
      default: rc = read_tombs(l, &c); break;
      }
      if (rc != LP_OK) return rc;
    } else {
      for (size_t k = 0; k < LP_ARRAY_LEN(order); k++)
        if (type == order[k]) return corrupt(l, "sections out of order or repeated");
      if (flags & LP_SECTION_REQUIRED)
        return lp_error_set(&l->h->err, LP_EVERSION, "unknown required section");
    }
  }
  return next == LP_ARRAY_LEN(order) ? LP_OK : corrupt(l, "a section is missing");
}

/* A consistent graph never stores an identifier that is also erased. */
static int check_erased(loader *l) {
  if (l->t.tombstones.len == 0) return LP_OK;
  for (size_t i = 0; i < l->t.nodes.len; i++)
    if (lp_map128_get(&l->t.tombstones, idg_tomb_hash(idg_node_at(&l->t, (uint32_t)i)->hash), NULL))
      return corrupt(l, "an identifier is both stored and tombstoned");
  return LP_OK;
}

int lp_idgraph_load(lp_idgraph *h, lp_reader r, void *ud) {
  IDG_GUARD(h, "lp_idgraph_load");
  if (r == NULL) return lp_error_set(&h->err, LP_EINVAL, "reader is NULL");
  loader l;
  memset(&l, 0, sizeof l);
  l.h = h;
  idg_state_init(&l.t);
  lp_allocator a;
  lp_mem_allocator(&h->mem, &a);
  lp_snapshot_reader *sr;
  idg_guarded_io io = {h, NULL, r, ud};
  int rc = lp_snapshot_reader_create(&a, idg_guarded_read, &io, &sr);
  if (rc != LP_OK) {
    idg_state_free(&l.t, &h->mem);
    return lp_error_set(&h->err, rc, "out of memory creating a snapshot reader");
  }
  rc = read_sections(&l, sr);
  lp_snapshot_reader_free(sr);
  if (rc == LP_OK) rc = check_erased(&l);
  idg_state next;
  if (rc == LP_OK) {
    /* Snapshots written by lp_idgraph_save hold canonical events; any
     * other order (a hand-made file) takes the event-by-event replay. */
    bool canonical = !h->load_replay && idg_events_canonical(&l.t);
    rc = canonical ? idg_replay_sorted(h, &l.t, &next) : idg_replay_all(h, &l.t, NULL, &next);
  }
  idg_state_free(&l.t, &h->mem);
  if (rc != LP_OK) return rc;
  idg_state_free(&h->st, &h->mem);
  h->st = next;
  return LP_OK;
}
