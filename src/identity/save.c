/*
 * Identity: saving snapshots. The stored facts (identifiers, events,
 * sources, tombstones), then the optional derived section (derived.h):
 * the partition the rules made, which a load under the same rules takes
 * after structural checks instead of replaying the rules.
 * SPDX-License-Identifier: MIT
 */
#include <stdlib.h>

#include "core/codec.h"
#include "core/snapshot_direct.h"
#include "identity/derived.h"
#include "identity/hashing.h"
#include "identity/state.h"

/* Tombstones by (hi, lo) word: keys are distinct, so the order is total. */
static int cmp_tomb(const void *a, const void *b) {
  const uint64_t *x = a, *y = b;
  if (x[1] != y[1]) return x[1] < y[1] ? -1 : 1;
  return x[0] < y[0] ? -1 : (x[0] > y[0]);
}

static int put_bytes(lp_snapshot_writer *w, const void *p, size_t len) {
  int rc = lp_snapw_u32(w, (uint32_t)len);
  if (rc == LP_OK && len > 0) rc = lp_snapshot_writer_write(w, p, len);
  return rc;
}

/* Orders and ranks for a canonical byte stream. */
typedef struct save_plan {
  uint32_t *node_order, *node_rank, *event_order, *src_order, *src_rank;
  /* Bit x: identifier x is the root of its profile (roots[2 * w]) or of
   * its raw cluster (roots[2 * w + 1]), w = x / 64. The derived pass asks
   * it of each identifier's parent and cluster link instead of reading
   * their records, far apart: 2 * ceil(nn / 64) words. */
  uint64_t *roots;
  size_t nn, ne, ns, nused;
} save_plan;

static size_t roots_words(size_t nn) { return 2 * ((nn + 63) / 64); }

static void plan_free(const lp_mem *m, save_plan *p) {
  lp_mem_free_array(m, p->roots, roots_words(p->nn), sizeof(uint64_t));
  lp_mem_free_array(m, p->node_order, p->nn, sizeof(uint32_t));
  lp_mem_free_array(m, p->node_rank, p->nn, sizeof(uint32_t));
  lp_mem_free_array(m, p->event_order, p->ne, sizeof(uint32_t));
  lp_mem_free_array(m, p->src_order, p->ns, sizeof(uint32_t));
  lp_mem_free_array(m, p->src_rank, p->ns, sizeof(uint32_t));
}

static int alloc_u32(const lp_mem *m, size_t n, uint32_t **out) {
  *out = NULL;
  return n == 0 ? LP_OK : lp_mem_alloc_array(m, n, sizeof(uint32_t), (void **)out);
}

/* ---- Orders by merging ------------------------------------------------
 * A loaded graph is numbered by hash and holds its events in the canonical
 * order; what was observed since is appended after. Then only the appended
 * tail is sorted and merged into the ordered head, instead of sorting all.
 * A tail longer than a quarter takes the full sorts (state.c). */
static bool idg_save_tail_small(const lp_idgraph *h, size_t head, size_t n) {
  return !h->save_sort && n - head <= n / 4;
}

static int idg_save_cmp_hash_ctx(const void *ctx, uint32_t a, uint32_t b) {
  const idg_state *s = ctx;
  return idg_cmp_hash(idg_node_hash(idg_node_at(s, a)), idg_node_hash(idg_node_at(s, b)));
}

static lp_hash128 idg_save_hash(const idg_state *s, size_t x) {
  return idg_node_hash(idg_node_at(s, (uint32_t)x));
}

/* The identifiers in hash order as a strictly increasing run through the
 * numbering (into run[], its length returned), skipping those out of
 * place: one that a later one undercuts (an erasure moves the last
 * identifiers into the holes it leaves) or that the run passed already
 * (added since the load). How many were skipped says what is left to
 * sort. */
static size_t idg_save_node_run(const idg_state *s, uint32_t *run, uint64_t *roots) {
  size_t nn = s->nodes.len, n = 0;
  uint64_t prof = 0, clus = 0;
  for (size_t i = 0; i < nn; i++) {
    /* the roots, from the records read here anyway */
    const idg_node *nd = idg_node_at(s, (uint32_t)i);
    prof |= (uint64_t)(idg_parent(nd) == i) << (i % 64);
    clus |= (uint64_t)(idg_cluster(nd) == i) << (i % 64);
    if (i % 64 == 63 || i + 1 == nn) {
      roots[2 * (i / 64)] = prof;
      roots[2 * (i / 64) + 1] = clus;
      prof = clus = 0;
    }
    lp_hash128 x = idg_save_hash(s, i);
    if (n > 0 && idg_cmp_hash(x, idg_save_hash(s, run[n - 1])) <= 0) continue;
    if (i + 1 < nn && idg_cmp_hash(x, idg_save_hash(s, i + 1)) > 0) continue;
    run[n++] = (uint32_t)i;
  }
  return n;
}

/* Nodes by hash (distinct hashes: one order): the run[0..nr) (increasing)
 * and the other nodes, sorted, merged. */
static int idg_save_merge_nodes(const lp_idgraph *h, const uint32_t *run, size_t nr, uint32_t *order) {
  const idg_state *s = &h->st;
  size_t nn = s->nodes.len, nt = nn - nr;
  uint32_t *tail = NULL;
  int rc = alloc_u32(&h->mem, nt, &tail);
  if (rc != LP_OK) return rc;
  for (size_t i = 0, r = 0, t = 0; i < nn; i++) {
    if (r < nr && run[r] == i) r++;
    else tail[t++] = (uint32_t)i;
  }
  idg_sort(tail, nt, idg_save_cmp_hash_ctx, s);
  size_t i = 0, j = 0, k = 0;
  while (i < nr && j < nt) {
    if (idg_cmp_hash(idg_save_hash(s, run[i]), idg_save_hash(s, tail[j])) < 0)
      order[k++] = run[i++];
    else
      order[k++] = tail[j++];
  }
  while (i < nr) order[k++] = run[i++];
  while (j < nt) order[k++] = tail[j++];
  lp_mem_free_array(&h->mem, tail, nt, sizeof *tail);
  return LP_OK;
}

typedef struct idg_save_ranks {
  const idg_state *s;
  const uint32_t *rank, *src_rank;
} idg_save_ranks;

static int idg_save_cmp_events_ctx(const void *ctx, uint32_t a, uint32_t b) {
  const idg_save_ranks *r = ctx;
  return idg_cmp_events_ranked(r->s, r->rank, r->src_rank, a, b);
}

/* Equal events (same time, source and identifiers) whose member words
 * differ: their order shows in the derived section, and the full sort
 * may order equal events otherwise than their index does. */
static bool idg_save_clash(const idg_state *s, uint32_t a, uint32_t b) {
  const idg_event *ea = idg_event_at(s, a), *eb = idg_event_at(s, b);
  return memcmp(idg_members(s, ea), idg_members(s, eb), (size_t)idg_event_count(s, ea) * 4) != 0;
}

/* The length of the canonical head of the stored events; *clash when two
 * equal neighbours in it differ in their words. The same pass marks
 * used[source] of every event (1), the head's and the rest's. */
static size_t idg_save_event_head(const idg_save_ranks *r, bool *clash, uint32_t *used) {
  const idg_state *s = r->s;
  size_t ne = s->events.len, i = 1;
  *clash = false;
  if (ne > 0) used[idg_event_at(s, 0)->source] = 1;
  for (; i < ne; i++) {
    used[idg_event_at(s, (uint32_t)i)->source] = 1;
    int c = idg_cmp_events_ranked(s, r->rank, r->src_rank, (uint32_t)(i - 1), (uint32_t)i);
    if (c > 0) break;
    if (c == 0 && idg_save_clash(s, (uint32_t)(i - 1), (uint32_t)i)) *clash = true;
  }
  for (size_t j = i; j < ne; j++) used[idg_event_at(s, (uint32_t)j)->source] = 1;
  return ne == 0 ? 0 : i;
}

/* EVNT's sources: only those events use (used[] marks, in src_order), by
 * name, numbered 0.. in src_rank. */
static void plan_used_sources(const idg_state *s, save_plan *p) {
  p->nused = 0;
  for (uint32_t i = 0; i < p->ns; i++)
    if (p->src_order[i] != 0) p->src_order[p->nused++] = i; /* nused <= i */
  idg_sort(p->src_order, p->nused, idg_cmp_sources_ctx, &s->sources);
  for (uint32_t i = 0; i < p->ns; i++) p->src_rank[i] = NO_RAW;
  for (uint32_t i = 0; i < p->nused; i++) p->src_rank[p->src_order[i]] = i;
}

/* Events in the canonical order: the head [0, head) is, the tail is
 * sorted and merged in (the head first among equal events). Every pair
 * that ends up adjacent was compared, so false when equal events that
 * differ in their words meet (the caller sorts all). */
static bool idg_save_merge_events(const idg_save_ranks *r, size_t head, uint32_t *order, uint32_t *tail) {
  const idg_state *s = r->s;
  size_t ne = s->events.len, nt = ne - head;
  for (size_t i = 0; i < nt; i++) tail[i] = (uint32_t)(head + i);
  idg_sort(tail, nt, idg_save_cmp_events_ctx, r);
  for (size_t j = 1; j < nt; j++) {
    int c = idg_cmp_events_ranked(s, r->rank, r->src_rank, tail[j - 1], tail[j]);
    if (c == 0 && idg_save_clash(s, tail[j - 1], tail[j])) return false;
  }
  size_t i = 0, j = 0, k = 0;
  while (i < head && j < nt) {
    int64_t ta = idg_event_ts(idg_event_at(s, (uint32_t)i)), tb = idg_event_ts(idg_event_at(s, tail[j]));
    int c = ta != tb ? (ta < tb ? -1 : 1) : idg_cmp_events_ranked(s, r->rank, r->src_rank, (uint32_t)i, tail[j]);
    if (c == 0 && idg_save_clash(s, (uint32_t)i, tail[j])) return false;
    if (c <= 0) {
      order[k++] = (uint32_t)i++;
    } else {
      order[k++] = tail[j++]; /* before head event i, strictly */
    }
  }
  while (i < head) order[k++] = (uint32_t)i++;
  while (j < nt) order[k++] = tail[j++];
  return true;
}

static int plan(const lp_idgraph *h, save_plan *p) {
  const idg_state *s = &h->st;
  memset(p, 0, sizeof *p);
  p->nn = s->nodes.len;
  p->ne = s->events.len;
  p->ns = lp_strpool_count(&s->sources);
  int rc = alloc_u32(&h->mem, p->nn, &p->node_order);
  if (rc == LP_OK) rc = alloc_u32(&h->mem, p->nn, &p->node_rank);
  if (rc == LP_OK) rc = alloc_u32(&h->mem, p->ne, &p->event_order);
  if (rc == LP_OK) rc = alloc_u32(&h->mem, p->ns, &p->src_order);
  if (rc == LP_OK) rc = alloc_u32(&h->mem, p->ns, &p->src_rank);
  if (rc == LP_OK && p->nn > 0)
    rc = lp_mem_alloc_array(&h->mem, roots_words(p->nn), sizeof(uint64_t), (void **)&p->roots);
  if (rc != LP_OK) {
    plan_free(&h->mem, p);
    return rc;
  }
  /* Numbered by hash already (a graph loaded from its derived section):
   * one sequential pass says so, and the order is the numbering. A graph
   * loaded and then grown or erased from: most of it is, the rest is
   * merged in (node_rank holds the run meanwhile). */
  size_t nrun = idg_save_node_run(s, p->node_rank, p->roots);
  bool by_hash = nrun == p->nn;
  if (by_hash) {
    for (uint32_t i = 0; i < p->nn; i++) p->node_order[i] = i;
  } else if (!idg_save_tail_small(h, nrun, p->nn) ||
             idg_save_merge_nodes(h, p->node_rank, nrun, p->node_order) != LP_OK) {
    rc = idg_hash_order(s, &h->mem, p->node_order);
    if (rc != LP_OK) {
      plan_free(&h->mem, p);
      return rc;
    }
  }
  for (uint32_t i = 0; i < p->nn; i++) p->node_rank[p->node_order[i]] = i;
  /* Every source ranked by name first: events compare by these ranks as
   * by the used ones' (they keep the order), so the pass that checks the
   * events' order also finds the used sources, not a pass of its own. */
  for (uint32_t i = 0; i < p->ns; i++) p->src_order[i] = i;
  idg_sort(p->src_order, p->ns, idg_cmp_sources_ctx, &s->sources);
  for (uint32_t i = 0; i < p->ns; i++) p->src_rank[p->src_order[i]] = i;
  for (uint32_t i = 0; i < p->ns; i++) p->src_order[i] = 0; /* used[] now */
  /* Events already in the canonical order (the usual case after a load):
   * checked on the ranks, without reading the identifiers' records; or
   * a canonical head and a short tail, merged. */
  idg_save_ranks r = {s, by_hash ? NULL : p->node_rank, p->src_rank};
  bool clash;
  size_t ehead = idg_save_event_head(&r, &clash, p->src_order);
  bool ordered = ehead == p->ne;
  if (ordered) {
    for (uint32_t i = 0; i < p->ne; i++) p->event_order[i] = i;
  } else if (!clash && idg_save_tail_small(h, ehead, p->ne)) {
    uint32_t *tail = NULL;
    rc = alloc_u32(&h->mem, p->ne - ehead, &tail);
    ordered = rc == LP_OK && idg_save_merge_events(&r, ehead, p->event_order, tail);
    lp_mem_free_array(&h->mem, tail, p->ne - ehead, sizeof *tail);
  }
  rc = ordered ? LP_OK : idg_canonical_order(s, &h->mem, p->event_order);
  if (rc != LP_OK) {
    plan_free(&h->mem, p);
    return rc;
  }
  plan_used_sources(s, p);
  return LP_OK;
}

/* Encoding straight into the open section (snapshot_direct.h): a window
 * of room in the writer's buffer, filled, then committed, so the many
 * small fields of IDNT, EVNT and DRVD cost one store each and no copy. */
typedef struct out_sec {
  lp_snapshot_writer *w;
  uint8_t *b; /* the window (NULL: none) */
  size_t n;   /* bytes filled */
  size_t cap; /* bytes in the window */
} out_sec;

static void sec_init(out_sec *o, lp_snapshot_writer *w) {
  o->w = w;
  o->b = NULL;
  o->n = o->cap = 0;
}

/* The filled bytes appended to the section; no window after. */
static void sec_commit(out_sec *o) {
  lp_snapshot_writer_commit(o->w, o->n);
  o->b = NULL;
  o->n = o->cap = 0;
}

/* Room for `need` more bytes in the window: a new window (all the room
 * the section's buffer has, at least `need`) when the old one is full. */
static int sec_room(out_sec *o, size_t need) {
  if (o->cap - o->n >= need) return LP_OK;
  sec_commit(o);
  return lp_snapshot_writer_room(o->w, need, &o->b, &o->cap);
}

static void sec_u32(out_sec *o, uint32_t v) {
  lp_put_u32le(o->b + o->n, v);
  o->n += 4;
}
static void sec_u64(out_sec *o, uint64_t v) {
  lp_put_u64le(o->b + o->n, v);
  o->n += 8;
}

/* The bytes of the largest of IDNT, EVNT and DRVD (at most: the values'
 * arena counts their slack too), reserved once so that neither section
 * regrows the buffer. */
static size_t sections_hint(const idg_state *s, size_t nn, size_t ne) {
  size_t idnt = 8 + 28 * nn + s->values.arena.total;
  size_t evnt = 8 + 16 * ne + 4 * s->members.len;
  size_t drvd = 28 + (size_t)IDG_DERIVED_NODE * nn + IDG_DERIVED_BITS(s->members.len);
  size_t m = idnt > evnt ? idnt : evnt;
  return m > drvd ? m : drvd;
}

/* The stored value of an identifier (NULL, 0: none), read from the pool's
 * entries directly: once per identifier, in the save's inner loop. */
static const char *save_value(const idg_state *s, uint32_t x, size_t *len) {
  uint32_t raw = idg_raw(s, x);
  *len = 0;
  if (raw == IDG_NONE || raw >= lp_strpool_count(&s->values)) return NULL;
  const lp_strpool_entry *e = lp_vec_at(&s->values.entries, raw);
  *len = e->len;
  return e->str;
}

/* The member decisions of DRVD (2 bits a word, derived.h), gathered while
 * EVNT is written (the same order): no third pass over the events. */
typedef struct member_bits {
  uint8_t *b;
  size_t cap;  /* bytes */
  size_t k;    /* words seen */
  uint8_t acc; /* the byte being filled */
  bool ok;     /* false: more words than room (the derived pass redoes it) */
} member_bits;

static void bits_add(member_bits *mb, const uint32_t *m, uint32_t cnt) {
  if (!mb->ok) return;
  if (IDG_DERIVED_BITS(mb->k + cnt) > mb->cap) {
    mb->ok = false;
    return;
  }
  size_t k = mb->k;
  uint8_t acc = mb->acc;
  for (uint32_t j = 0; j < cnt; j++, k++) {
    uint32_t v = (m[j] & IDG_LINKED ? 1u : 0u) | (m[j] & IDG_REFUSED ? 2u : 0u);
    acc = (uint8_t)(acc | v << (2 * (k % 4)));
    if (k % 4 == 3) {
      mb->b[k / 4] = acc;
      acc = 0;
    }
  }
  mb->k = k;
  mb->acc = acc;
}

/* The bytes of the member decisions in event order; *len their number. */
static const uint8_t *bits_done(member_bits *mb, size_t *len) {
  if (mb->k % 4 != 0) mb->b[mb->k / 4] = mb->acc;
  *len = IDG_DERIVED_BITS(mb->k);
  return mb->b;
}

/* The member decisions, a pass of their own through a small buffer (when
 * gathering them during EVNT ran out of room). */
static int write_member_bits_pass(const idg_state *s, lp_snapshot_writer *w, const save_plan *p) {
  uint8_t buf[4096];
  member_bits mb = {buf, sizeof buf, 0, 0, true};
  int rc = LP_OK;
  for (size_t i = 0; i < p->ne && rc == LP_OK; i++) {
    if (i + 8 < p->ne) IDG_PREFETCH(idg_event_at(s, p->event_order[i + 8]));
    const idg_event *e = idg_event_at(s, p->event_order[i]);
    uint32_t cnt = idg_event_count(s, e);
    if (IDG_DERIVED_BITS(mb.k + cnt) > mb.cap) { /* the full bytes out (cnt is at most 64) */
      rc = lp_snapshot_writer_write(w, buf, mb.k / 4);
      mb.k %= 4;
    }
    bits_add(&mb, idg_members(s, e), cnt);
  }
  size_t len;
  const uint8_t *rest = bits_done(&mb, &len);
  if (rc == LP_OK) rc = lp_snapshot_writer_write(w, rest, len);
  return rc;
}

/* Whether x is a root of its profile (which 0) or raw cluster (1). */
static bool save_is_root(const save_plan *p, uint32_t x, unsigned which) {
  return (p->roots[2 * (x / 64) + which] >> (x % 64) & 1u) != 0;
}

/* The root of x's profile (idg_find) and of its raw cluster
 * (idg_cluster_find), without the call and without reading the root's
 * record when x's link is the root (nearly always: a load links every
 * identifier to its root). */
static uint32_t save_find(const idg_state *s, const save_plan *p, uint32_t x) {
  uint32_t r = idg_parent(idg_node_at(s, x));
  return save_is_root(p, r, 0) ? r : idg_find(s, x);
}
static uint32_t save_cluster_find(const idg_state *s, const save_plan *p, uint32_t x) {
  uint32_t r = idg_cluster(idg_node_at(s, x));
  return save_is_root(p, r, 1) ? r : idg_cluster_find(s, x);
}

/* The derived section (derived.h): what a load would recompute. Each
 * profile is named by the IDNT rank of its first identifier, each cluster
 * by the smallest IDNT rank of its open identifiers (a quarantined one by
 * its own), so the bytes depend only on the state. One pass in storage
 * order finds each identifier's profile name and cluster root (kept in
 * names[], profile name high, root low) and the clusters' smallest ranks;
 * the pass in IDNT order then reads only names[] and cmin[], not the
 * roots' records again. */
static int write_derived(const lp_idgraph *h, lp_snapshot_writer *w, const save_plan *p, member_bits *mb) {
  const idg_state *s = &h->st;
  size_t nn = p->nn;
  uint32_t *cmin = NULL;
  uint64_t *names = NULL;
  int rc = alloc_u32(&h->mem, nn, &cmin);
  if (rc == LP_OK && nn > 0) rc = lp_mem_alloc_array(&h->mem, nn, sizeof *names, (void **)&names);
  if (rc != LP_OK) {
    lp_mem_free_array(&h->mem, cmin, nn, sizeof *cmin);
    return lp_error_set(LP_ERR_OF_CONST(h), rc, "out of memory saving the identity graph");
  }
  for (size_t i = 0; i < nn; i++) cmin[i] = IDG_NONE;
  for (uint32_t x = 0; x < nn; x++) {
    /* the cluster's slot and the profile's name 8 ahead (the roots'
     * records are not read: p->roots says they are roots) */
    if (x + 8 < nn) {
      const idg_node *a = idg_node_at(s, x + 8);
      IDG_PREFETCH(&cmin[idg_cluster(a)]);
      IDG_PREFETCH(&p->node_rank[idg_parent(a)]);
    }
    uint64_t prof = p->node_rank[save_find(s, p, x)];
    uint32_t c = 0;
    if (!idg_quarantined(idg_node_at(s, x))) {
      uint32_t r = p->node_rank[x];
      c = save_cluster_find(s, p, x);
      if (r < cmin[c]) cmin[c] = r;
    }
    names[x] = prof << 32 | c;
  }
  rc = lp_snapshot_writer_begin_section(w, SEC_DERIVED, 0);
  if (rc == LP_OK) rc = lp_snapw_u32(w, IDG_DERIVED_VERSION);
  if (rc == LP_OK) rc = lp_snapw_u64(w, idg_rules_fingerprint(h, NULL, h->ntypes));
  if (rc == LP_OK) rc = lp_snapw_u64(w, nn);
  if (rc == LP_OK) rc = lp_snapw_u64(w, s->members.len);
  out_sec o;
  sec_init(&o, w);
  for (size_t i = 0; i < nn && rc == LP_OK; i++) {
    /* in stages: the record and names 16 ahead, the cluster's slot 8 ahead */
    if (i + 16 < nn) {
      IDG_PREFETCH(idg_node_at(s, p->node_order[i + 16]));
      IDG_PREFETCH(&names[p->node_order[i + 16]]);
    }
    if (i + 8 < nn) IDG_PREFETCH(&cmin[(uint32_t)names[p->node_order[i + 8]]]);
    rc = sec_room(&o, IDG_DERIVED_NODE);
    if (rc != LP_OK) break;
    uint32_t x = p->node_order[i];
    const idg_node *n = idg_node_at(s, x);
    uint32_t prof = (uint32_t)(names[x] >> 32);
    uint32_t clus = idg_quarantined(n) ? (uint32_t)i : cmin[(uint32_t)names[x]];
    sec_u64(&o, idg_sketch(n));
    sec_u32(&o, prof);
    sec_u32(&o, clus);
  }
  if (rc == LP_OK) {
    sec_commit(&o);
    if (mb->ok) {
      size_t len;
      const uint8_t *bits = bits_done(mb, &len);
      rc = lp_snapshot_writer_write(w, bits, len);
    } else {
      rc = write_member_bits_pass(s, w, p);
    }
  }
  if (rc == LP_OK) rc = lp_snapshot_writer_end_section(w);
  lp_mem_free_array(&h->mem, cmin, nn, sizeof *cmin);
  if (names != NULL) lp_mem_free_array(&h->mem, names, nn, sizeof *names);
  return rc;
}

static int write_all(const lp_idgraph *h, lp_snapshot_writer *w, const save_plan *p, uint64_t fp,
                     member_bits *mb) {
  const idg_state *s = &h->st;
  int rc = lp_snapshot_writer_begin_section(w, SEC_META, LP_SECTION_REQUIRED);
  if (rc == LP_OK) rc = lp_snapw_u32(w, IDG_FORMAT);
  if (rc == LP_OK) rc = lp_snapw_u64(w, fp);
  if (rc == LP_OK) rc = lp_snapw_u64(w, s->blocked);
  if (rc == LP_OK) rc = lp_snapw_u64(w, s->invalid);
  if (rc == LP_OK) rc = lp_snapw_u64(w, s->tombstoned);
  if (rc == LP_OK) rc = lp_snapw_u32(w, h->ntypes);
  for (uint32_t t = 0; t < h->ntypes && rc == LP_OK; t++)
    rc = put_bytes(w, h->types[t].name, h->types[t].name_len);
  if (rc == LP_OK) rc = lp_snapshot_writer_end_section(w);

  if (rc == LP_OK) rc = lp_snapshot_writer_begin_section(w, SEC_SOURCES, LP_SECTION_REQUIRED);
  if (rc == LP_OK) rc = lp_snapw_u64(w, p->nused);
  for (size_t i = 0; i < p->nused && rc == LP_OK; i++) {
    size_t len;
    const char *str = lp_strpool_get(&s->sources, p->src_order[i], &len);
    rc = put_bytes(w, str, len);
  }
  if (rc == LP_OK) rc = lp_snapshot_writer_end_section(w);

  /* IDNT and EVNT encoded into the section buffer, reserved once for the
   * largest of the three long sections. */
  out_sec o;
  sec_init(&o, w);
  if (rc == LP_OK) rc = lp_snapshot_writer_begin_section(w, SEC_IDENTS, LP_SECTION_REQUIRED);
  /* a hint (it may ask more than the sections take): without it they grow */
  if (rc == LP_OK) (void)lp_snapshot_writer_reserve(w, sections_hint(s, p->nn, p->ne));
  if (rc == LP_OK) rc = lp_snapw_u64(w, p->nn);
  for (size_t i = 0; i < p->nn && rc == LP_OK; i++) {
    /* by hash: scattered; in stages: the record and the value's pool
     * entry 16 ahead, the value's bytes 8 ahead */
    if (i + 16 < p->nn) {
      uint32_t ahead = p->node_order[i + 16], raw = idg_raw(s, ahead);
      IDG_PREFETCH(idg_node_at(s, ahead));
      if (raw < lp_strpool_count(&s->values)) IDG_PREFETCH(lp_vec_at(&s->values.entries, raw));
    }
    if (i + 8 < p->nn) {
      size_t alen;
      const char *av = save_value(s, p->node_order[i + 8], &alen);
      if (av != NULL) IDG_PREFETCH(av);
    }
    uint32_t x = p->node_order[i];
    const idg_node *n = idg_node_at(s, x);
    size_t len;
    const char *v = save_value(s, x, &len);
    rc = sec_room(&o, 28 + len); /* len <= LP_IDGRAPH_MAX_VALUE_LEN */
    if (rc != LP_OK) break;
    lp_hash128 hash = idg_node_hash(n);
    sec_u32(&o, idg_node_type(n));
    sec_u64(&o, hash.lo);
    sec_u64(&o, hash.hi);
    sec_u32(&o, v == NULL ? NO_RAW : (uint32_t)len);
    if (len > 0) memcpy(o.b + o.n, v, len);
    o.n += len;
  }
  if (rc == LP_OK) {
    sec_commit(&o);
    rc = lp_snapshot_writer_end_section(w);
  }

  if (rc == LP_OK) rc = lp_snapshot_writer_begin_section(w, SEC_EVENTS, LP_SECTION_REQUIRED);
  if (rc == LP_OK) rc = lp_snapw_u64(w, p->ne);
  for (size_t i = 0; i < p->ne && rc == LP_OK; i++) {
    const idg_event *e = idg_event_at(s, p->event_order[i]);
    const uint32_t *m = idg_members(s, e);
    /* Cache misses, in stages: the event 48 ahead, the member words of
     * the one 32 ahead (its event fetched by now), the ranks of the one
     * 16 ahead (its words fetched by now); a third of these distances
     * left the save 8 % slower on a virtual machine whose memory is slow
     * to answer. */
    if (i + 48 < p->ne) IDG_PREFETCH(idg_event_at(s, p->event_order[i + 48]));
    if (i + 32 < p->ne) IDG_PREFETCH(idg_members(s, idg_event_at(s, p->event_order[i + 32])));
    if (i + 16 < p->ne) {
      const idg_event *ahead = idg_event_at(s, p->event_order[i + 16]);
      const uint32_t *am = idg_members(s, ahead);
      for (uint32_t k = 0, ecnt = idg_event_count(s, ahead); k < ecnt; k++) IDG_PREFETCH(&p->node_rank[am[k] & IDG_ORD_MASK]);
    }
    uint32_t cnt = idg_event_count(s, e);
    rc = sec_room(&o, 16 + (size_t)cnt * 4); /* count <= LP_IDGRAPH_MAX_EVENT_IDS */
    if (rc != LP_OK) break;
    sec_u64(&o, (uint64_t)idg_event_ts(e));
    sec_u32(&o, p->src_rank[e->source]);
    sec_u32(&o, cnt);
    for (uint32_t k = 0; k < cnt; k++) sec_u32(&o, p->node_rank[m[k] & IDG_ORD_MASK]);
    bits_add(mb, m, cnt);
  }
  if (rc == LP_OK) {
    sec_commit(&o);
    rc = lp_snapshot_writer_end_section(w);
  }

  if (rc == LP_OK) rc = lp_snapshot_writer_begin_section(w, SEC_TOMBS, LP_SECTION_REQUIRED);
  if (rc == LP_OK) rc = lp_snapw_u64(w, s->tombstones.len);
  /* Sorted: a map's iteration order depends on its capacity too (a loaded
   * map is sized at once, a grown one is not), so it is not canonical. */
  size_t nt = s->tombstones.len;
  uint64_t *tk = NULL;
  if (rc == LP_OK && nt > 0) {
    rc = lp_mem_alloc_array(&h->mem, nt, 2 * sizeof(uint64_t), (void **)&tk);
    if (rc != LP_OK) rc = lp_error_set(LP_ERR_OF_CONST(h), rc, "out of memory saving tombstones");
  }
  if (tk != NULL) {
    size_t pos = 0, i = 0;
    const uint64_t *key;
    uint64_t v;
    while (lp_hmap_next(&s->tombstones, &pos, &key, &v)) {
      tk[2 * i] = key[0];
      tk[2 * i + 1] = key[1];
      i++;
    }
    qsort(tk, nt, 2 * sizeof(uint64_t), cmp_tomb);
    for (i = 0; rc == LP_OK && i < nt; i++) {
      rc = lp_snapw_u64(w, tk[2 * i]);
      if (rc == LP_OK) rc = lp_snapw_u64(w, tk[2 * i + 1]);
    }
    lp_mem_free_array(&h->mem, tk, nt, 2 * sizeof(uint64_t));
  }
  if (rc == LP_OK) rc = lp_snapshot_writer_end_section(w);
  if (rc == LP_OK) rc = write_derived(h, w, p, mb);
  if (rc == LP_OK) rc = lp_snapshot_writer_finish(w);
  return rc;
}

int lp_idgraph_save(const lp_idgraph *h, lp_writer w, void *ud) {
  IDG_GUARD(h, "lp_idgraph_save");
  lp_error *err = LP_ERR_OF_CONST(h);
  if (w == NULL) return lp_error_set(err, LP_EINVAL, "writer is NULL");
  uint64_t fp;
  int rc = idg_key_fingerprint(h, &fp);
  if (rc != LP_OK) return rc;
  save_plan p;
  rc = plan(h, &p);
  if (rc != LP_OK) return lp_error_set(err, rc, "out of memory saving the identity graph");
  lp_allocator a;
  lp_mem_allocator(&h->mem, &a);
  lp_snapshot_writer *sw;
  idg_guarded_io io = {h, w, NULL, ud};
  member_bits mb = {NULL, IDG_DERIVED_BITS(h->st.members.len), 0, 0, true};
  rc = mb.cap == 0 ? LP_OK : lp_mem_alloc_array(&h->mem, mb.cap, 1, (void **)&mb.b);
  if (rc == LP_OK) rc = lp_snapshot_writer_create(&a, idg_guarded_write, &io, KIND_IDGRAPH, &sw);
  if (rc == LP_OK) {
    rc = write_all(h, sw, &p, fp, &mb);
    if (rc != LP_OK) lp_error_set(err, rc, "saving: %s", lp_snapshot_writer_errmsg(sw));
    lp_snapshot_writer_free(sw);
  } else {
    lp_error_set(err, rc, "out of memory saving the identity graph");
  }
  if (mb.b != NULL) lp_mem_free_array(&h->mem, mb.b, mb.cap, 1);
  plan_free(&h->mem, &p);
  return rc;
}
