/*
 * Identity: loading a snapshot. Everything is decoded into a temporary
 * state, checked, and the profiles are rebuilt aside (from the derived
 * section when it is there and made under the same rules, else by the
 * replay); the handle changes only when all of that succeeded.
 * SPDX-License-Identifier: MIT
 */
#include "core/codec.h"
#include "identity/derived.h"
#include "identity/hashing.h"
#include "identity/observe.h"
#include "identity/rebuild.h"
#include "identity/state.h"

typedef struct loader {
  lp_idgraph *h;
  idg_state t;
  uint32_t type_map[LP_IDGRAPH_MAX_TYPES];
  uint32_t ntypes;
  uint32_t seen; /* bit per section kind, in file order */
  uint32_t *first; /* per decoded identifier: the first event that holds it */
  size_t nfirst;
  bool built; /* t was completed from the derived section */
  bool canonical; /* EVNT's events are in the canonical order (read_events) */
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
  /* Raw values only for a handle that keeps them (the others skip the
   * bytes: no slots, no pool). */
  bool raws = l->h->store_raw;
  int rc = lp_vec_reserve(&l->t.nodes, m, n);
  if (rc == LP_OK && raws) rc = lp_vec_reserve(&l->t.raws, m, n);
  if (rc != LP_OK) return lp_error_set(&l->h->err, rc, "out of memory loading identifiers");
  lp_hash128 prev = {0, 0};
  idg_node *nodes = (idg_node *)l->t.nodes.data; /* reserved: decoded in place */
  for (size_t i = 0; i < n; i++) {
    /* the fixed 24 bytes with one bounds check */
    const uint8_t *q = lp_cursor_take(c, 24);
    if (q == NULL) return corrupt(l, "IDNT is truncated");
    uint32_t type = lp_get_u32le(q);
    lp_hash128 hash;
    hash.lo = lp_get_u64le(q + 4);
    hash.hi = lp_get_u64le(q + 12);
    uint32_t rawlen = lp_get_u32le(q + 20);
    if (type >= l->ntypes) return corrupt(l, "IDNT type out of range");
    if (i > 0 && (hash.hi < prev.hi || (hash.hi == prev.hi && hash.lo <= prev.lo)))
      return corrupt(l, "IDNT is not strictly sorted by hash");
    prev = hash;
    uint32_t raw = IDG_NONE;
    if (rawlen != NO_RAW) {
      if (rawlen > LP_IDGRAPH_MAX_VALUE_LEN) return corrupt(l, "IDNT raw value too long");
      const uint8_t *v = lp_cursor_take(c, rawlen);
      if (v == NULL) return corrupt(l, "IDNT raw value is truncated");
      if (raws) {
        rc = lp_strpool_intern(&l->t.values, m, rawlen > 0 ? (const char *)v : "", rawlen, &raw, NULL);
        if (rc != LP_OK) return lp_error_set(&l->h->err, rc, "loading raw values failed");
      }
    } else if (raws) {
      return lp_error_set(&l->h->err, LP_ECONFLICT,
                          "raw storage is on but the snapshot holds hashes only");
    }
    nodes[i] = idg_node_make(hash, l->type_map[type], 0, 0); /* links set later */
    l->t.nodes.len = i + 1;
    if (raws) (void)lp_vec_push(&l->t.raws, m, &raw);
  }
  return lp_cursor_done(c) ? LP_OK : corrupt(l, "IDNT has trailing bytes");
}

/* EVNT in one pass: the member words are what the records leave of the
 * length (16 bytes a header, 4 a word), so the arrays are sized exactly
 * before anything is decoded, and each record is checked as it is
 * decoded. The canonical order (which the derived section needs) is
 * checked on the way too, while both events are in cache. */
static int read_events(loader *l, lp_cursor *c) {
  const lp_mem *m = &l->h->mem;
  idg_state *t = &l->t;
  size_t n, nn = t->nodes.len, ns = lp_strpool_count(&t->sources);
  if (!lp_cursor_count(c, 20, &n) || n >= UINT32_MAX) return corrupt(l, "EVNT count");
  size_t rest = c->left - n * 16, words = rest / 4;
  if (rest % 4 != 0) return corrupt(l, "EVNT has a partial member word");
  if (words > UINT32_MAX - 1) return corrupt(l, "EVNT size");
  int rc = lp_vec_reserve(&t->events, m, n);
  if (rc == LP_OK) rc = lp_vec_reserve(&t->members, m, words);
  if (rc != LP_OK) return lp_error_set(&l->h->err, rc, "out of memory loading events");
  /* The first event of each identifier; a bitmap (cache-resident) says
   * which have one, so a later occurrence reads no record. */
  uint32_t *first = NULL;
  uint64_t *seen = NULL;
  size_t nw = (nn + 63) / 64;
  if (nn > 0 && lp_mem_alloc_array(m, nn, sizeof *first, (void **)&first) != LP_OK)
    return lp_error_set(&l->h->err, LP_ENOMEM, "out of memory loading events");
  l->first = first;
  l->nfirst = nn;
  if (nn > 0 && (seen = lp_mem_zalloc(m, nw * sizeof *seen)) == NULL)
    return lp_error_set(&l->h->err, LP_ENOMEM, "out of memory loading events");
  idg_event *ev = (idg_event *)t->events.data;
  uint32_t *mw = (uint32_t *)t->members.data;
  const uint8_t *p = c->p;
  size_t w = 0;
  l->canonical = true;
  for (size_t i = 0; i < n && rc == LP_OK; i++) {
    /* words - w bounds the count: the bytes of this record and of one
     * header for each record after it are then there */
    uint32_t cnt = lp_get_u32le(p + 12);
    if (lp_get_u32le(p + 8) >= ns) {
      rc = corrupt(l, "EVNT source out of range");
      break;
    }
    if (cnt == 0 || cnt > LP_IDGRAPH_MAX_EVENT_IDS || cnt > words - w) {
      rc = corrupt(l, "EVNT member count");
      break;
    }
    ev[i] = idg_event_make((int64_t)lp_get_u64le(p), lp_get_u32le(p + 8), (uint32_t)w, (uint32_t)i);
    p += 16;
    for (uint32_t k = 0; k < cnt; k++, p += 4) {
      uint32_t x = lp_get_u32le(p);
      if (x >= nn || (k > 0 && x <= mw[w + k - 1])) {
        rc = corrupt(l, "EVNT members out of range or not sorted");
        break;
      }
      mw[w + k] = x;
      if (!(seen[x / 64] >> (x % 64) & 1)) {
        seen[x / 64] |= UINT64_C(1) << (x % 64);
        first[x] = (uint32_t)i;
      }
    }
    w += cnt;
    t->events.len = i + 1;
    t->members.len = w;
    if (rc == LP_OK && i > 0 && l->canonical &&
        idg_cmp_events_ranked(t, NULL, NULL, (uint32_t)(i - 1), (uint32_t)i) > 0)
      l->canonical = false;
  }
  if (rc == LP_OK && w != words) rc = corrupt(l, "EVNT has trailing bytes");
  for (size_t i = 0; i < nw && rc == LP_OK; i++)
    if (seen[i] != (i + 1 < nw || nn % 64 == 0 ? UINT64_MAX : (UINT64_C(1) << (nn % 64)) - 1))
      rc = corrupt(l, "IDNT holds an identifier no event uses");
  if (seen != NULL) lp_mem_free(m, seen, nw * sizeof *seen);
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

/* ---- The derived section --------------------------------------------------
 * Under the saving handle's rules (same fingerprint) the decoded state is
 * completed in place from DRVD in linear passes instead of being rebuilt
 * by the rules: identifiers keep their IDNT numbering (by hash) and
 * events their EVNT order (canonical), so nothing is renumbered or
 * copied; the index is filled in one bulk build; then each identifier's
 * sketch, quarantine flag, profile and cluster, then each member word's
 * decision and the clusters' event lists. The numbering differs from the
 * replay's (first appearance), which nothing outside the state can see:
 * every order the graph shows comes from hashes, times and names.
 * The section is trusted for what the rules decided but checked for
 * everything the graph's invariants need (each name an identifier that
 * names itself and comes canonically first, the type limits, linked
 * members in one profile, an event's open members in one cluster, a
 * profile in one cluster, quarantined identifiers alone and undecided), so
 * a crafted section can give a different partition but not a broken one:
 * what fails a check is refused as corrupt. */

/* The index in one build (IDNT's hashes are strictly increasing:
 * distinct), keyed as idg_index_build keys it (a hash's low half) but
 * from keys[] (scratch, nn words): the build reads every key twice, from
 * 8 bytes an identifier instead of its 44-byte record. */
static uint64_t key_in(const void *keys, uint32_t x) { return ((const uint64_t *)keys)[x]; }

static int drv_index(lp_idgraph *h, idg_state *t, uint64_t *keys) {
  for (uint32_t i = 0, nn = (uint32_t)t->nodes.len; i < nn; i++) keys[i] = idg_node_hash(idg_node_at(t, i)).lo;
  return lp_oindex_build(&t->index, &h->mem, t->nodes.len, key_in, keys);
}

/* Per identifier: its fields, then (all names set) the checks and the
 * member lists. pc[] gets each identifier's cluster (high word) and
 * profile (low word), or DRV_QUARANTINED: 8 bytes where the record takes
 * 44, so the scattered reads (here and in the event pass) touch a fifth
 * of the memory (fewer cache lines and pages). fh[] (scratch, nn words)
 * holds each identifier's first event (high word) and the head of its
 * member list so far (low word): the checks of a name and the linking of
 * its list read and write these two small rows, never the name's record,
 * whose next link is written in a last sequential pass. A list is the
 * name, then its members from the highest number down. */
#define DRV_QUARANTINED UINT64_MAX
static bool drv_nodes(const lp_idgraph *h, const uint8_t *recs, const uint32_t *first, uint64_t *pc,
                      uint64_t *fh, idg_state *t) {
  uint32_t nn = (uint32_t)t->nodes.len;
  for (uint32_t i = 0; i < nn; i++) {
    const uint8_t *r = recs + (size_t)i * IDG_DERIVED_NODE;
    idg_node *nd = idg_node_at(t, i);
    uint32_t p = lp_get_u32le(r + 8), c = lp_get_u32le(r + 12);
    if (p >= nn || c >= nn) return false;
    idg_set_sketch(nd, lp_get_u64le(r));
    idg_set_quarantined(nd, idg_popcount64(idg_sketch(nd)) > h->quarantine_after);
    if ((idg_quarantined(nd) && (p != i || c != i)) || c > i) return false;
    idg_set_parent(nd, p);
    idg_set_cluster(nd, c);
    nd->first_event = first[i];
    nd->cluster_max = IDG_NONE;
    idg_count_set(h, idg_counts(t, h->count_bytes, i), idg_node_type(nd), 1);
    pc[i] = idg_quarantined(nd) ? DRV_QUARANTINED : (uint64_t)c << 32 | p;
    fh[i] = (uint64_t)first[i] << 32 | i;
  }
  for (uint32_t i = 0; i < nn; i++) {
    uint64_t v = pc[i];
    if (i + 32 < nn && pc[i + 32] != DRV_QUARANTINED) {
      uint64_t ahead = pc[i + 32];
      IDG_PREFETCH(&pc[(uint32_t)ahead]);
      IDG_PREFETCH(&pc[ahead >> 32]);
      IDG_PREFETCH(&fh[(uint32_t)ahead]);
      IDG_PREFETCH(idg_counts(t, h->count_bytes, (uint32_t)ahead));
    }
    if (v == DRV_QUARANTINED) continue; /* its own name and cluster (checked above) */
    uint32_t p = (uint32_t)v, c = (uint32_t)(v >> 32);
    if (c != i) {
      uint64_t cv = pc[c];
      if (cv == DRV_QUARANTINED || (uint32_t)(cv >> 32) != c) return false;
    }
    if (p == i) continue;
    /* the name is the profile's first identifier: by first event, then
     * by hash (the numbering's order) */
    uint64_t rv = pc[p], rf = fh[p];
    uint32_t rfirst = (uint32_t)(rf >> 32), mine = (uint32_t)(fh[i] >> 32);
    if (rv == DRV_QUARANTINED || (uint32_t)rv != p || (uint32_t)(rv >> 32) != c || rfirst > mine ||
        (rfirst == mine && p > i))
      return false;
    idg_node *nd = idg_node_at(t, i);
    uint8_t *cnt = idg_counts(t, h->count_bytes, p);
    uint32_t ty = idg_node_type(nd), k = idg_count(h, cnt, ty);
    if (k >= h->types[ty].limit) return false;
    idg_count_set(h, cnt, ty, k + 1);
    idg_set_next(nd, (uint32_t)rf);
    fh[p] = (rf & ~(uint64_t)UINT32_MAX) | i;
  }
  for (uint32_t i = 0; i < nn; i++)
    if (pc[i] == DRV_QUARANTINED || (uint32_t)pc[i] == i) idg_set_next(idg_node_at(t, i), (uint32_t)fh[i]);
  return true;
}

/* Per event: its decisions, checked, and its cluster's list. Each list
 * is linked backwards (an event to the cluster's previous one) and closed
 * at the end, so an event costs no visit to an earlier one; ends[] (nn
 * words) holds each cluster's first event (high half) and last so far,
 * so the records are written in one sequential pass at the end. The last
 * event is the cluster's canonically last (of equal last events, any one
 * names the same event). The members' clusters and profiles come from
 * pc[] (drv_nodes), not their records. */
#define DRV_NO_EVENT UINT64_MAX
static bool drv_events(const uint8_t *bits, const uint64_t *pc, uint64_t *ends, idg_state *t) {
  uint32_t ne = (uint32_t)t->events.len, nn = (uint32_t)t->nodes.len;
  for (uint32_t i = 0; i < nn; i++) ends[i] = DRV_NO_EVENT;
  for (uint32_t ei = 0; ei < ne; ei++) {
    idg_event *e = idg_event_at(t, ei);
    uint32_t *m = idg_members(t, e);
    /* in stages: the members' words 96 ahead, the list ends of the first
     * member's cluster 48 ahead (its word fetched by now); half these
     * distances left the load 5 % slower on a virtual machine whose
     * memory is slow to answer */
    if (ei + 96 < ne) {
      const idg_event *ahead = idg_event_at(t, ei + 96);
      const uint32_t *am = idg_members(t, ahead);
      for (uint32_t i = 0, ecnt = idg_event_count(t, ahead); i < ecnt; i++) IDG_PREFETCH(&pc[am[i]]);
    }
    if (ei + 48 < ne) {
      uint32_t ac = (uint32_t)(pc[idg_members(t, idg_event_at(t, ei + 48))[0] & IDG_ORD_MASK] >> 32);
      if (ac < nn) IDG_PREFETCH(&ends[ac]);
    }
    uint32_t prof = IDG_NONE, clus = IDG_NONE;
    for (uint32_t i = 0, ecnt = idg_event_count(t, e); i < ecnt; i++) {
      size_t w = (size_t)e->first + i;
      uint32_t d = (bits[w / 4] >> (2 * (w % 4))) & 3u;
      uint64_t v = pc[m[i]];
      if (v == DRV_QUARANTINED) {
        if (d != 0) return false;
        continue;
      }
      if (d == 0 || d == 3) return false;
      m[i] |= d == 1 ? IDG_LINKED : IDG_REFUSED;
      uint32_t nc = (uint32_t)(v >> 32), np = (uint32_t)v;
      if (clus == IDG_NONE) clus = nc;
      else if (nc != clus) return false;
      if (d != 1) continue;
      if (prof == IDG_NONE) prof = np;
      else if (np != prof) return false;
    }
    if (clus == IDG_NONE) continue; /* quarantined identifiers only: a list of its own */
    uint64_t end = ends[clus];
    if (end != DRV_NO_EVENT) {
      e->next = (uint32_t)end;
      ends[clus] = (end & ~(uint64_t)UINT32_MAX) | ei;
    } else {
      ends[clus] = (uint64_t)ei << 32 | ei;
    }
  }
  for (uint32_t c = 0; c < nn; c++) {
    if (c + 16 < nn && ends[c + 16] != DRV_NO_EVENT) /* the first event of the list 16 ahead */
      IDG_PREFETCH(idg_event_at(t, (uint32_t)(ends[c + 16] >> 32)));
    if (ends[c] == DRV_NO_EVENT) continue;
    uint32_t last = (uint32_t)ends[c];
    idg_node *root = idg_node_at(t, c);
    idg_event_at(t, (uint32_t)(ends[c] >> 32))->next = last;
    root->cluster_max = last;
  }
  return true;
}

static int read_derived(loader *l, lp_cursor *c) {
  lp_idgraph *h = l->h;
  idg_state *t = &l->t;
  /* LP_IDGRAPH_TRUST_DERIVED 0: the section is not even read; the replay */
  if (!h->trust_derived) return LP_OK;
  uint32_t version = lp_cursor_u32(c);
  uint64_t fp = lp_cursor_u64(c), nn = lp_cursor_u64(c), nm = lp_cursor_u64(c);
  if (!c->ok) return corrupt(l, "DRVD is truncated");
  /* Another layout or other rules: the replay. */
  if (version != IDG_DERIVED_VERSION || h->load_replay ||
      fp != idg_rules_fingerprint(h, l->type_map, l->ntypes))
    return LP_OK;
  if (nn != t->nodes.len || nm != t->members.len) return corrupt(l, "DRVD counts");
  if (c->left / IDG_DERIVED_NODE < nn || c->left - nn * IDG_DERIVED_NODE != IDG_DERIVED_BITS(nm))
    return corrupt(l, "DRVD size");
  const uint8_t *recs = lp_cursor_take(c, (size_t)nn * IDG_DERIVED_NODE);
  const uint8_t *bits = lp_cursor_take(c, IDG_DERIVED_BITS((size_t)nm));
  if (nm % 4 != 0 && (bits[nm / 4] >> (2 * (nm % 4))) != 0) return corrupt(l, "DRVD padding bits");
  /* a hand-made event order: the replay */
  if (!l->canonical) return LP_OK;
  const lp_mem *mem = &h->mem;
  /* pc (drv_nodes) and then the list ends (drv_events): 2 nn words;
   * before them the index's keys, then fh (drv_nodes) in the second half */
  size_t nw = nn > 0 ? (size_t)nn : 1;
  uint64_t *pc = NULL;
  int rc = lp_mem_alloc_array(mem, nw, 2 * sizeof *pc, (void **)&pc);
  if (rc == LP_OK) rc = lp_vec_append(&t->counts, mem, NULL, (size_t)nn * h->count_bytes);
  if (rc == LP_OK) rc = drv_index(h, t, pc + nw);
  if (rc != LP_OK) {
    if (pc != NULL) lp_mem_free_array(mem, pc, nw, 2 * sizeof *pc);
    return lp_error_set(&h->err, rc, "out of memory loading the identity graph");
  }
  bool ok = drv_nodes(h, recs, l->first, pc, pc + nw, t) && drv_events(bits, pc, pc + nw, t);
  lp_mem_free_array(mem, pc, nw, 2 * sizeof *pc);
  if (!ok) return corrupt(l, "DRVD disagrees with the events");
  l->built = true;
  return LP_OK;
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
    } else if (type == SEC_DERIVED && next == LP_ARRAY_LEN(order)) {
      if (l->built) return corrupt(l, "sections out of order or repeated");
      rc = read_derived(l, &c);
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
    if (lp_map128_get(&l->t.tombstones, idg_tomb_hash(idg_node_hash(idg_node_at(&l->t, (uint32_t)i))), NULL))
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
  lp_mem_free_array(&h->mem, l.first, l.nfirst, sizeof *l.first);
  if (rc == LP_OK) rc = check_erased(&l);
  idg_state next;
  if (rc == LP_OK && l.built) {
    next = l.t; /* completed in place */
    idg_state_init(&l.t);
  } else if (rc == LP_OK) {
    /* Without a usable derived section: snapshots written by
     * lp_idgraph_save hold canonical events; any other order (a hand-made
     * file) takes the event-by-event replay. */
    bool canonical = !h->load_replay && idg_events_canonical(&l.t);
    rc = canonical ? idg_replay_sorted(h, &l.t, &next) : idg_replay_all(h, &l.t, NULL, &next);
  }
  idg_state_free(&l.t, &h->mem);
  if (rc != LP_OK) return rc;
  idg_state_free(&h->st, &h->mem);
  h->st = next;
  return LP_OK;
}
