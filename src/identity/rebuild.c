/*
 * Identity: unmerge and erasure. Both edit the stored events and rebuild
 * the profiles from scratch, so the result is by construction the graph
 * that the edited events would have produced.
 * SPDX-License-Identifier: MIT
 */
#include <stdlib.h>

#include "identity/hashing.h"
#include "identity/observe.h"
#include "identity/rebuild.h"
#include "identity/state.h"

static int copy_tombstones(const lp_mem *m, const idg_state *from, idg_state *to) {
  int rc = lp_hmap_reserve(&to->tombstones, m, from->tombstones.len);
  size_t pos = 0;
  const uint64_t *key;
  uint64_t v;
  while (rc == LP_OK && lp_hmap_next(&from->tombstones, &pos, &key, &v)) {
    uint64_t *slot;
    bool added;
    rc = lp_hmap_upsert(&to->tombstones, m, key, &slot, &added);
    if (rc == LP_OK) *slot = v;
  }
  return rc;
}

/* Tombstones copied and room reserved in @p to for everything @p from
 * holds, so a rebuild never regrows (and rehashes the index) midway.
 * Capacity only. */
static int reserve_like(const lp_idgraph *h, const idg_state *from, idg_state *to) {
  const lp_mem *mem = &h->mem;
  size_t nn = from->nodes.len;
  int rc = copy_tombstones(mem, from, to);
  if (rc == LP_OK) rc = lp_vec_reserve(&to->nodes, mem, nn);
  if (rc == LP_OK && h->store_raw) rc = lp_vec_reserve(&to->raws, mem, nn);
  if (rc == LP_OK) rc = lp_vec_reserve(&to->counts, mem, nn * h->count_bytes);
  if (rc == LP_OK) rc = lp_vec_reserve(&to->events, mem, from->events.len);
  if (rc == LP_OK) rc = lp_vec_reserve(&to->members, mem, from->members.len);
  if (rc == LP_OK) rc = idg_index_reserve(to, mem, nn);
  return rc;
}

int idg_replay_all(lp_idgraph *h, const idg_state *from, const idg_filter *f, idg_state *to) {
  idg_state_init(to);
  size_t ne = from->events.len;
  uint32_t *order = NULL;
  int rc = reserve_like(h, from, to);
  if (rc == LP_OK && ne > 0) rc = lp_mem_alloc_array(&h->mem, ne, sizeof *order, (void **)&order);
  if (rc != LP_OK) {
    idg_state_free(to, &h->mem);
    return lp_error_set(&h->err, rc, "out of memory rebuilding the identity graph");
  }
  to->blocked = from->blocked;
  to->invalid = from->invalid;
  to->tombstoned = from->tombstoned;
  /* A snapshot stores its events in canonical order: checked in one pass,
   * and only a stream out of order (edited events, a merge, a hostile
   * file) is sorted. Equal events are identical, so their order does not
   * matter. */
  if (ne > 0 && idg_canonical_order(from, &h->mem, order) != LP_OK) {
    lp_mem_free_array(&h->mem, order, ne, sizeof *order);
    idg_state_free(to, &h->mem);
    return lp_error_set(&h->err, LP_ENOMEM, "out of memory rebuilding the identity graph");
  }
  for (size_t k = 0; k < ne && rc == LP_OK; k++) {
    const idg_event *e = idg_event_at(from, order[k]);
    if (f != NULL && f->drop_event != NULL && f->drop_event(f->ctx, from, order[k])) continue;
    const uint32_t *m = idg_members(from, e);
    idg_item items[LP_IDGRAPH_MAX_EVENT_IDS];
    size_t n = 0;
    for (uint32_t i = 0, ecnt = idg_event_count(from, e); i < ecnt; i++) {
      uint32_t x = m[i] & IDG_ORD_MASK;
      if (f != NULL && f->drop_member != NULL && f->drop_member(f->ctx, from, order[k], x))
        continue;
      const idg_node *nd = idg_node_at(from, x);
      items[n].hash = idg_node_hash(nd);
      items[n].type = idg_node_type(nd);
      uint32_t raw = idg_raw(from, x);
      items[n].raw = raw != IDG_NONE ? lp_strpool_get(&from->values, raw, &items[n].raw_len) : NULL;
      if (items[n].raw == NULL) items[n].raw_len = 0;
      n++;
    }
    if (n == 0) continue;
    size_t slen;
    const char *src = lp_strpool_get(&from->sources, e->source, &slen);
    rc = idg_store_event(h, to, items, n, idg_event_ts(e), src, slen, false, NULL);
  }
  lp_mem_free_array(&h->mem, order, ne, sizeof *order);
  if (rc != LP_OK) idg_state_free(to, &h->mem);
  return rc;
}

/* ---- Load's replay -------------------------------------------------------
 * The events of a snapshot are canonical and their members sorted by hash,
 * so storing them one by one (idg_replay_all) does no late-event work: the
 * only recomputations come from quarantines, and quarantine is a property
 * of the set of events. So the result is built in passes instead: the
 * storage (identifiers numbered by first appearance, sources and values
 * interned in first-use order, the index filled and sized by the same calls
 * as idg_store_event makes), the co-occurrence sketches and with them the
 * quarantine flags, the clusters of the open identifiers, then the rule
 * engine on every event in canonical order. No per-occurrence hashing,
 * interning or comparison. The identity tests compare every query, the
 * saved bytes and later observes with the event-by-event replay. */
/* Root of x in the compact union-find `up` (path halving). */
static uint32_t up_find(uint32_t *up, uint32_t x) {
  while (up[x] != x) {
    up[x] = up[up[x]];
    x = up[x];
  }
  return x;
}

/* Scratch of idg_replay_sorted: compact per-identifier arrays (a few
 * bytes each instead of a 44-byte record per random access). */
typedef struct sorted_scratch {
  uint32_t *newid;  /* from's identifier -> to's */
  uint32_t *srcmap; /* from's source -> to's */
  uint8_t *bit;     /* from's identifier: its sketch bit */
  uint64_t *sketch; /* to's identifier: co-occurrence sketch; then, as
                       nn + 1 words, the clusters' union-find */
  uint32_t *order;  /* events grouped by cluster, canonical within */
  size_t nn, ns, ne;
} sorted_scratch;

static void sorted_free(const lp_mem *m, sorted_scratch *x) {
  lp_mem_free_array(m, x->newid, x->nn, sizeof *x->newid);
  lp_mem_free_array(m, x->srcmap, x->ns, sizeof *x->srcmap);
  lp_mem_free_array(m, x->bit, x->nn, sizeof *x->bit);
  lp_mem_free_array(m, x->sketch, x->nn, sizeof *x->sketch);
  lp_mem_free_array(m, x->order, x->ne, sizeof *x->order);
}

static int sorted_alloc(const lp_mem *m, sorted_scratch *x) {
  int rc = LP_OK;
  if (x->nn > 0) {
    rc = lp_mem_alloc_array(m, x->nn, sizeof *x->newid, (void **)&x->newid);
    if (rc == LP_OK) rc = lp_mem_alloc_array(m, x->nn, sizeof *x->bit, (void **)&x->bit);
    if (rc == LP_OK) rc = lp_mem_alloc_array(m, x->nn, sizeof *x->sketch, (void **)&x->sketch);
  }
  if (rc == LP_OK && x->ns > 0)
    rc = lp_mem_alloc_array(m, x->ns, sizeof *x->srcmap, (void **)&x->srcmap);
  if (rc == LP_OK && x->ne > 0)
    rc = lp_mem_alloc_array(m, x->ne, sizeof *x->order, (void **)&x->order);
  if (rc != LP_OK) {
    sorted_free(m, x);
    x->newid = x->srcmap = x->order = NULL;
    x->bit = NULL;
    x->sketch = NULL;
  }
  return rc;
}

/* First open (not quarantined) member of to's event, or IDG_NONE. */
static uint32_t first_open(const idg_state *to, const uint8_t *q, uint32_t ei) {
  const idg_event *e = idg_event_at(to, ei);
  const uint32_t *m = idg_members(to, e);
  for (uint32_t i = 0, ecnt = idg_event_count(to, e); i < ecnt; i++)
    if (!q[m[i]]) return m[i];
  return IDG_NONE;
}

int idg_replay_sorted(lp_idgraph *h, const idg_state *from, idg_state *to) {
  const lp_mem *mem = &h->mem;
  idg_state_init(to);
  sorted_scratch x;
  memset(&x, 0, sizeof x);
  x.nn = from->nodes.len;
  x.ns = lp_strpool_count(&from->sources);
  x.ne = from->events.len;
  size_t ne = x.ne, nn = x.nn;
  int rc = reserve_like(h, from, to);
  if (rc == LP_OK) rc = sorted_alloc(mem, &x);
  else memset(&x, 0, sizeof x);
  if (rc == LP_OK) {
    to->blocked = from->blocked;
    to->invalid = from->invalid;
    to->tombstoned = from->tombstoned;
    for (size_t i = 0; i < nn; i++) {
      x.newid[i] = IDG_NONE;
      x.bit[i] = (uint8_t)(idg_node_hash(idg_node_at(from, (uint32_t)i)).lo & 63);
      x.sketch[i] = 0;
    }
    for (size_t i = 0; i < x.ns; i++) x.srcmap[i] = IDG_NONE;
  }
  /* Storage, in the order idg_store_event would have made it, and the
   * sketches (the bits of every other member of each event). */
  for (uint32_t ei = 0; rc == LP_OK && ei < ne; ei++) {
    const idg_event *fe = idg_event_at(from, ei);
    uint32_t fcount = idg_event_count(from, fe);
    const uint32_t *fm = idg_members(from, fe);
    if (ei + 8 < ne) { /* the identifiers of an event a little ahead */
      const idg_event *ahead = idg_event_at(from, ei + 8);
      const uint32_t *am = idg_members(from, ahead);
      for (uint32_t i = 0, ecnt = idg_event_count(from, ahead); i < ecnt; i++) {
        uint32_t f = am[i] & IDG_ORD_MASK;
        IDG_PREFETCH(&x.newid[f]);
        IDG_PREFETCH(&x.bit[f]);
        IDG_PREFETCH(idg_node_at(from, f));
      }
    }

    if (x.srcmap[fe->source] == IDG_NONE) {
      size_t slen;
      const char *src = lp_strpool_get(&from->sources, fe->source, &slen);
      rc = lp_strpool_intern(&to->sources, mem, src, slen, &x.srcmap[fe->source], NULL);
    }
    if (rc == LP_OK) rc = idg_index_reserve(to, mem, fcount);
    uint32_t words[LP_IDGRAPH_MAX_EVENT_IDS];
    uint64_t bits[LP_IDGRAPH_MAX_EVENT_IDS], before = 0;
    for (uint32_t i = 0; rc == LP_OK && i < fcount; i++) {
      uint32_t f = fm[i] & IDG_ORD_MASK;
      if (x.newid[f] == IDG_NONE) {
        const idg_node *src = idg_node_at(from, f);
        uint32_t id = (uint32_t)to->nodes.len;
        bool added;
        (void)idg_index_upsert(to, mem, idg_node_hash(src), id, &added);
        if (h->store_raw) {
          uint32_t raw = IDG_NONE, fr = idg_raw(from, f);
          if (fr != IDG_NONE) {
            size_t len;
            const char *v = lp_strpool_get(&from->values, fr, &len);
            rc = lp_strpool_intern(&to->values, mem, v, len, &raw, NULL);
          }
          if (rc == LP_OK) (void)lp_vec_push(&to->raws, mem, &raw);
        }
        if (rc != LP_OK) break;
        idg_node nd = idg_node_make(idg_node_hash(src), idg_node_type(src), id, ei);
        (void)lp_vec_push(&to->nodes, mem, &nd);
        (void)lp_vec_append(&to->counts, mem, NULL, h->count_bytes);
        idg_count_one(h, idg_counts(to, h->count_bytes, id), idg_node_type(src));
        x.newid[f] = id;
      }
      words[i] = x.newid[f];
      bits[i] = UINT64_C(1) << x.bit[f];
    }
    if (rc != LP_OK) break;
    for (uint32_t i = 0; i < fcount; i++) {
      uint64_t after = 0;
      for (uint32_t j = i + 1; j < fcount; j++) after |= bits[j];
      x.sketch[words[i]] |= before | after;
      before |= bits[i];
    }
    idg_event ev = idg_event_make(idg_event_ts(fe), x.srcmap[fe->source], (uint32_t)to->members.len, ei);
    (void)lp_vec_append(&to->members, mem, words, fcount);
    (void)lp_vec_push(&to->events, mem, &ev);
  }
  if (rc != LP_OK) {
    sorted_free(mem, &x);
    idg_state_free(to, mem);
    return lp_error_set(&h->err, rc, "out of memory rebuilding the identity graph");
  }
  /* Nothing can fail from here on. Quarantine from the whole sketch (the
   * flags go to x.bit, now indexed by to's identifiers). */
  uint8_t *q = x.bit;
  for (uint32_t i = 0; i < nn; i++) {
    idg_node *nd = idg_node_at(to, i);
    idg_set_sketch(nd, x.sketch[i]);
    q[i] = idg_popcount64(x.sketch[i]) > h->quarantine_after;
    if (q[i]) idg_set_quarantined(nd, true);
  }
  /* 8 bytes an identifier hold the nn + 1 words of the union-find (nn >= 1
   * when there are events; none: nothing below runs). */
  uint32_t *up = (uint32_t *)(void *)x.sketch;
  for (uint32_t i = 0; i < nn; i++) up[i] = i;
  /* Clusters: every event's open identifiers together. */
  for (uint32_t ei = 0; ei < ne; ei++) {
    const idg_event *e = idg_event_at(to, ei);
    const uint32_t *m = idg_members(to, e);
    uint32_t f = IDG_NONE;
    for (uint32_t i = 0, ecnt = idg_event_count(to, e); i < ecnt; i++) {
      if (q[m[i]]) continue;
      uint32_t b = up_find(up, m[i]);
      if (f == IDG_NONE) f = b;
      else if (b != f) up[b] = f;
    }
  }
  for (uint32_t i = 0; i < nn; i++) idg_set_cluster(idg_node_at(to, i), up_find(up, i));
  /* Events grouped by cluster (a counting sort on the root, stable, so
   * canonical within each): the rules then work on one cluster's few
   * records at a time. Clusters share nothing the rules change, so the
   * result is that of the canonical order. Events of quarantined
   * identifiers only join no cluster and get no rules. */
  uint32_t *cnt = up; /* reused: nn + 1 counters */
  if (nn > 0) memset(cnt, 0, (nn + 1) * sizeof *cnt);
  /* Each event's cluster root parks in its list link until it is linked. */
  for (uint32_t ei = 0; ei < ne; ei++) {
    idg_event *e = idg_event_at(to, ei);
    uint32_t f = first_open(to, q, ei);
    e->next = f != IDG_NONE ? idg_cluster(idg_node_at(to, f)) : IDG_NONE;
    if (f != IDG_NONE) cnt[e->next + 1]++;
  }
  for (size_t i = 1; i <= nn; i++) cnt[i] += cnt[i - 1];
  size_t grouped = nn > 0 ? cnt[nn] : 0;
  for (uint32_t ei = 0; ei < ne; ei++) {
    idg_event *e = idg_event_at(to, ei);
    if (e->next != IDG_NONE) x.order[cnt[e->next]++] = ei;
    else e->next = ei; /* quarantined identifiers only: a list of its own */
  }
  for (size_t k = 0; k < grouped; k++) {
    uint32_t ei = x.order[k];
    if (k + 16 < grouped) IDG_PREFETCH(idg_event_at(to, x.order[k + 16]));
    if (k + 8 < grouped) IDG_PREFETCH(idg_members(to, idg_event_at(to, x.order[k + 8])));

    idg_event *e = idg_event_at(to, ei);
    idg_node *root = idg_node_at(to, e->next);
    e->next = ei;
    if (root->cluster_max == IDG_NONE) {
      root->cluster_max = ei;
    } else {
      idg_event *last = idg_event_at(to, root->cluster_max);
      e->next = last->next;
      last->next = ei;
      /* (the first of equal events stays the last, as attach_event keeps it) */
      if (idg_cmp_events(to, ei, root->cluster_max) > 0) root->cluster_max = ei;
    }
    (void)idg_apply_event(h, to, ei);
  }
  sorted_free(mem, &x);
  return LP_OK;
}

int idg_commit(lp_idgraph *h, idg_state *next) {
  size_t nn = h->st.nodes.len;
  idg_change *ch = NULL;
  int rc = nn > 0 ? lp_mem_alloc_array(&h->mem, nn, sizeof *ch, (void **)&ch) : LP_OK;
  if (rc != LP_OK) {
    idg_state_free(next, &h->mem);
    return lp_error_set(&h->err, rc, "out of memory rebuilding the identity graph");
  }
  size_t nch = 0;
  for (uint32_t x = 0; x < nn; x++) {
    uint64_t before = idg_pid(&h->st, x), after = 0;
    uint32_t y;
    if (idg_index_get(next, idg_node_hash(idg_node_at(&h->st, x)), &y)) after = idg_pid(next, y);
    if (before != after) {
      ch[nch].old_id = before;
      ch[nch].new_id = after;
      nch++;
    }
  }
  idg_state_free(&h->st, &h->mem);
  h->st = *next;
  idg_sort_changes(ch, nch);
  idg_emit(h, &h->st, ch, nch);
  lp_mem_free_array(&h->mem, ch, nn, sizeof *ch);
  return LP_OK;
}

/* Rebuild h's state through filter `f`, add `ntomb` tombstones, swap, and
 * notify the host of every profile that changed. */
static int rebuild(lp_idgraph *h, const idg_filter *f, const lp_hash128 *tombs, size_t ntomb) {
  idg_state next;
  int rc = idg_replay_all(h, &h->st, f, &next);
  if (rc != LP_OK) return rc;
  rc = lp_hmap_reserve(&next.tombstones, &h->mem, next.tombstones.len + ntomb);
  if (rc != LP_OK) {
    idg_state_free(&next, &h->mem);
    return lp_error_set(&h->err, rc, "out of memory rebuilding the identity graph");
  }
  for (size_t i = 0; i < ntomb; i++)
    (void)lp_map128_put(&next.tombstones, &h->mem, idg_tomb_hash(tombs[i]), 1);
  return idg_commit(h, &next);
}

typedef struct pair_ctx {
  uint32_t a, b;
  size_t hits;
} pair_ctx;

static bool event_has(const idg_state *s, uint32_t ei, uint32_t x) {
  const idg_event *e = idg_event_at(s, ei);
  const uint32_t *m = idg_members(s, e);
  for (uint32_t i = 0, ecnt = idg_event_count(s, e); i < ecnt; i++)
    if ((m[i] & IDG_ORD_MASK) == x) return true;
  return false;
}

/* ---- Partial erasure ------------------------------------------------------
 * Dropping identifiers from events changes only the cluster they are in:
 * the other clusters' events, identifiers, profiles and co-occurrence
 * sketches stay as they are. When every dropped identifier is open (not
 * quarantined) and in one cluster, that cluster alone is replayed: its
 * identifiers are reset, the open ones' sketches recomputed from the kept
 * events, the storage compacted (identifiers left in no event go, the
 * last ones move into their slots; emptied events go, the rest keep their
 * order) and the cluster's events recomputed as a late event's are. A
 * quarantined identifier kept in an event that loses a member has events
 * elsewhere: its sketch and first event are recomputed over every event
 * (one pass each); should it fall back under the quarantine threshold it
 * would join clusters, and then, as in raw mode (values would stay in the
 * pool) and for a quarantined identifier being dropped, the full replay
 * does the erasure. The tests compare both paths' bytes, profile ids
 * and notifications. */
typedef struct erase_req {
  const uint32_t *drop; /* identifiers to drop from events */
  size_t ndrop;
  uint32_t with; /* IDG_NONE, or drop them only from the events that contain it */
} erase_req;

static bool in_list(const uint32_t *a, size_t n, uint32_t x) {
  for (size_t i = 0; i < n; i++)
    if (a[i] == x) return true;
  return false;
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : (x > y);
}

/* Entries of the ascending a[0..n) below x. */
static size_t below(const uint32_t *a, size_t n, uint32_t x) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (a[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

static bool in_sorted(const uint32_t *a, size_t n, uint32_t x) {
  size_t i = below(a, n, x);
  return i < n && a[i] == x;
}

/* Index of event `ei` once the ascending `gone` events are removed. It
 * runs for every event and identifier, and few events go: a short list is
 * counted without branches. */
static uint32_t event_after(const uint32_t *gone, size_t ng, uint32_t ei) {
  if (ei == IDG_NONE) return ei;
  if (ng > 16) return ei - (uint32_t)below(gone, ng, ei);
  uint32_t n = 0;
  for (size_t i = 0; i < ng; i++) n += gone[i] < ei;
  return ei - n;
}

typedef struct erase_plan {
  uint32_t *events;  /* the cluster's events, ascending */
  uint32_t *gone_ev; /* events left empty, ascending */
  uint32_t *gone_nd; /* identifiers left in no event, ascending */
  uint32_t *mover;   /* new index of identifier N' + i (IDG_NONE: it goes) */
  uint32_t *pre_node;
  uint64_t *pre_pid; /* profile id before, per member word of the cluster */
  uint32_t *sq;      /* quarantined identifiers kept in events that lose a member */
  uint64_t *sq_sketch; /* their sketches over the kept events */
  uint32_t *sq_first;  /* their first event outside the cluster (IDG_NONE: none) */
  idg_change *ch;
  replay_scratch r;
  size_t ne, nm, ng, nv, nd, nq;
} erase_plan;

static void erase_plan_free(const lp_mem *m, erase_plan *p) {
  size_t ne = p->ne > 0 ? p->ne : 1, nm = p->nm > 0 ? p->nm : 1, nd = p->nd > 0 ? p->nd : 1;
  lp_mem_free_array(m, p->events, ne, sizeof(uint32_t));
  lp_mem_free_array(m, p->gone_ev, ne, sizeof(uint32_t));
  lp_mem_free_array(m, p->gone_nd, nd, sizeof(uint32_t));
  lp_mem_free_array(m, p->mover, nd, sizeof(uint32_t));
  lp_mem_free_array(m, p->pre_node, nm, sizeof(uint32_t));
  lp_mem_free_array(m, p->pre_pid, nm, sizeof(uint64_t));
  lp_mem_free_array(m, p->ch, nm, sizeof(idg_change));
  lp_mem_free_array(m, p->sq, nm, sizeof(uint32_t));
  lp_mem_free_array(m, p->sq_sketch, nm, sizeof(uint64_t));
  lp_mem_free_array(m, p->sq_first, nm, sizeof(uint32_t));
  if (p->r.events != NULL) idg_scratch_free(m, &p->r);
}

static int erase_plan_alloc(const lp_mem *m, erase_plan *p) {
  size_t ne = p->ne, nm = p->nm, nd = p->nd;
  int rc = lp_mem_alloc_array(m, ne, sizeof(uint32_t), (void **)&p->events);
  if (rc == LP_OK) rc = lp_mem_alloc_array(m, ne, sizeof(uint32_t), (void **)&p->gone_ev);
  if (rc == LP_OK) rc = lp_mem_alloc_array(m, nd, sizeof(uint32_t), (void **)&p->gone_nd);
  if (rc == LP_OK) rc = lp_mem_alloc_array(m, nd, sizeof(uint32_t), (void **)&p->mover);
  if (rc == LP_OK) rc = lp_mem_alloc_array(m, nm, sizeof(uint32_t), (void **)&p->pre_node);
  if (rc == LP_OK) rc = lp_mem_alloc_array(m, nm, sizeof(uint64_t), (void **)&p->pre_pid);
  if (rc == LP_OK) rc = lp_mem_alloc_array(m, nm, sizeof(idg_change), (void **)&p->ch);
  if (rc == LP_OK) rc = lp_mem_alloc_array(m, nm, sizeof(uint32_t), (void **)&p->sq);
  if (rc == LP_OK) rc = lp_mem_alloc_array(m, nm, sizeof(uint64_t), (void **)&p->sq_sketch);
  if (rc == LP_OK) rc = lp_mem_alloc_array(m, nm, sizeof(uint32_t), (void **)&p->sq_first);
  if (rc == LP_OK) {
    p->r.nevents = ne;
    p->r.nmembers = nm;
    rc = idg_scratch_alloc(m, &p->r);
    if (rc != LP_OK) memset(&p->r, 0, sizeof p->r);
  }
  return rc;
}


/* The kept members of event `ei` (all of them outside the erased cluster). */
static uint32_t kept_members(const idg_state *s, const erase_req *q, uint32_t ei, uint32_t *out) {
  const idg_event *e = idg_event_at(s, ei);
  const uint32_t *m = idg_members(s, e);
  bool here = q->with == IDG_NONE || event_has(s, ei, q->with);
  uint32_t n = 0;
  for (uint32_t i = 0, ecnt = idg_event_count(s, e); i < ecnt; i++) {
    uint32_t x = m[i] & IDG_ORD_MASK;
    if (!(here && in_list(q->drop, q->ndrop, x))) out[n++] = x;
  }
  return n;
}

/* OR into the sketch of every kept member of `ei` that `want` lists (want
 * NULL: every open one) the bits of its kept co-members. */
static void add_sketches(idg_state *s, const erase_req *q, uint32_t ei, const uint32_t *want,
                         size_t nwant, uint64_t *into) {
  uint32_t kept[LP_IDGRAPH_MAX_EVENT_IDS];
  uint32_t n = kept_members(s, q, ei, kept);
  for (uint32_t i = 0; i < n; i++) {
    idg_node *nd = NULL;
    uint64_t *dst = NULL;
    if (want == NULL) {
      nd = idg_node_at(s, kept[i]);
      if (idg_quarantined(nd)) continue;
    } else {
      size_t k = 0;
      while (k < nwant && want[k] != kept[i]) k++;
      if (k == nwant) continue;
      dst = &into[k];
    }
    uint64_t bits = nd != NULL ? idg_sketch(nd) : *dst;
    for (uint32_t j = 0; j < n; j++)
      if (j != i) bits |= UINT64_C(1) << (idg_node_hash(idg_node_at(s, kept[j])).lo & 63);
    if (nd != NULL) idg_set_sketch(nd, bits);
    else *dst = bits;
  }
}

/* The sketches of p->sq over every kept event; false when one of them
 * would leave the quarantine (it would join clusters: full replay). The
 * same pass finds their first event among the events outside the cluster
 * (those keep their members, so they compare the same after the
 * compaction; lowest index among equals), so the erasure scans the events
 * once for them, not twice.
 * Most of the time no scan is needed, or only a part of one. Dropping
 * members only takes bits away, and a sketch holds the bit of every
 * identifier seen with it, so once the kept events seen so far (the
 * cluster's first: they are listed) give all of a sketch's bits, they
 * are the sketch. A first event outside the cluster stays the first (the
 * events out there keep their members); only one inside it needs the
 * scan of every event. */
static bool quarantined_stay(lp_idgraph *h, const erase_req *q, erase_plan *p) {
  idg_state *s = &h->st;
  if (p->nq == 0) return true;
  memset(p->sq_sketch, 0, p->nq * sizeof *p->sq_sketch);
  for (size_t j = 0; j < p->ne; j++) add_sketches(s, q, p->events[j], p->sq, p->nq, p->sq_sketch);
  size_t open = 0; /* sketches still short of their bits, or first events to find */
  bool find_first = false;
  for (size_t k = 0; k < p->nq; k++) {
    const idg_node *nd = idg_node_at(s, p->sq[k]);
    bool inside = in_sorted(p->events, p->ne, nd->first_event);
    p->sq_first[k] = inside ? IDG_NONE : nd->first_event;
    find_first = find_first || inside;
    open += inside || (idg_sketch(nd) & ~p->sq_sketch[k]) != 0;
  }
  if (find_first) /* the whole scan: each first as it finds it */
    for (size_t k = 0; k < p->nq; k++) p->sq_first[k] = IDG_NONE;
  for (uint32_t ei = 0; ei < s->events.len && open > 0; ei++) {
    const idg_event *e = idg_event_at(s, ei);
    const uint32_t *m = idg_members(s, e);
    bool has = false, outside = false;
    for (uint32_t i = 0, ecnt = idg_event_count(s, e); i < ecnt; i++) {
      uint32_t x = m[i] & IDG_ORD_MASK;
      size_t k = 0;
      while (k < p->nq && p->sq[k] != x) k++;
      if (k == p->nq) continue;
      if (!has) outside = !in_sorted(p->events, p->ne, ei);
      has = true;
      uint32_t *f = &p->sq_first[k];
      if (find_first && outside && (*f == IDG_NONE || idg_cmp_events(s, ei, *f) < 0)) *f = ei;
    }
    if (!has || !outside) continue; /* the cluster's events are in already */
    add_sketches(s, q, ei, p->sq, p->nq, p->sq_sketch);
    if (find_first) continue;
    open = 0;
    for (size_t k = 0; k < p->nq; k++) open += (idg_sketch(idg_node_at(s, p->sq[k])) & ~p->sq_sketch[k]) != 0;
  }
  for (size_t k = 0; k < p->nq; k++) {
    uint32_t bits = 0;
    for (uint64_t v = p->sq_sketch[k]; v != 0; v &= v - 1) bits++;
    if (bits <= h->quarantine_after) return false;
  }
  return true;
}

/* Survey the cluster: its events, the emptied ones, the identifiers that
 * go. *fast false (and nothing held) when the partial path does not apply. */
static int erase_survey(lp_idgraph *h, const erase_req *q, erase_plan *p, bool *fast) {
  idg_state *s = &h->st;
  *fast = false;
  memset(p, 0, sizeof *p);
  if (h->erase_full || h->store_raw || q->ndrop == 0 || (q->with != IDG_NONE && q->ndrop != 1))
    return LP_OK;
  uint32_t c = idg_cluster_find(s, q->drop[0]);
  for (size_t i = 0; i < q->ndrop; i++)
    if (idg_quarantined(idg_node_at(s, q->drop[i])) ||
        idg_cluster_find(s, q->drop[i]) != c)
      return LP_OK;
  uint32_t head = idg_node_at(s, c)->cluster_max, ei = head;
  if (head == IDG_NONE) return LP_OK;
  do {
    p->ne++;
    p->nm += idg_event_count(s, idg_event_at(s, ei));
    ei = idg_event_at(s, ei)->next;
  } while (ei != head);
  p->nd = q->ndrop;
  int rc = erase_plan_alloc(&h->mem, p);
  if (rc != LP_OK) {
    erase_plan_free(&h->mem, p);
    return lp_error_set(&h->err, rc, "out of memory erasing identifiers");
  }
  size_t k = 0;
  do {
    p->events[k++] = ei;
    ei = idg_event_at(s, ei)->next;
  } while (ei != head);
  qsort(p->events, p->ne, sizeof *p->events, cmp_u32);
  size_t occ = 0, gone_occ = 0;
  for (k = 0; k < p->ne; k++) {
    uint32_t e = p->events[k];
    const idg_event *ev = idg_event_at(s, e);
    const uint32_t *m = idg_members(s, ev);
    bool here = q->with == IDG_NONE || event_has(s, e, q->with);
    uint32_t kept = 0;
    for (uint32_t i = 0, ecnt = idg_event_count(s, ev); i < ecnt; i++) {
      uint32_t x = m[i] & IDG_ORD_MASK;
      bool listed = in_list(q->drop, q->ndrop, x);
      occ += listed;
      if (listed && here) gone_occ++;
      else kept++;
    }
    for (uint32_t i = 0, ecnt = idg_event_count(s, ev); kept < ecnt && i < ecnt; i++) {
      uint32_t x = m[i] & IDG_ORD_MASK;
      if (idg_quarantined(idg_node_at(s, x)) && !in_list(p->sq, p->nq, x))
        p->sq[p->nq++] = x;
    }
    if (kept == 0) p->gone_ev[p->ng++] = e;
  }
  if (!quarantined_stay(h, q, p)) {
    erase_plan_free(&h->mem, p);
    return LP_OK;
  }
  if (q->with == IDG_NONE || occ == gone_occ) {
    memcpy(p->gone_nd, q->drop, q->ndrop * sizeof *q->drop);
    p->nv = q->ndrop;
    qsort(p->gone_nd, p->nv, sizeof *p->gone_nd, cmp_u32);
  }
  *fast = true;
  return LP_OK;
}

/* The storage without the dropped member words, the emptied events and
 * the identifiers that go (allocation-free). Returns the new number of
 * identifiers; p->mover tells where the moved ones went. */
static uint32_t erase_compact(lp_idgraph *h, const erase_req *q, erase_plan *p) {
  idg_state *s = &h->st;
  uint32_t nt = h->count_bytes, n0 = (uint32_t)s->nodes.len, n1 = n0 - (uint32_t)p->nv;
  for (size_t i = 0; i < p->nv; i++) idg_index_del(s, idg_node_hash(idg_node_at(s, p->gone_nd[i])));
  size_t hole = 0;
  for (uint32_t x = n1; x < n0; x++) {
    if (in_sorted(p->gone_nd, p->nv, x)) {
      p->mover[x - n1] = IDG_NONE;
      continue;
    }
    uint32_t to = p->gone_nd[hole++];
    p->mover[x - n1] = to;
    idg_index_move(s, idg_node_hash(idg_node_at(s, x)), x, to);
    *idg_node_at(s, to) = *idg_node_at(s, x);
    memcpy(idg_counts(s, nt, to), idg_counts(s, nt, x), nt);
  }
  if (p->nv > 0) memset(idg_node_at(s, n1), 0, (size_t)(n0 - n1) * sizeof(idg_node));
  s->nodes.len = n1;
  s->counts.len = (size_t)n1 * nt;
#define ERASE_NODE(x) ((x) < n1 ? (x) : p->mover[(x) - n1])
  size_t ne0 = s->events.len, nw0 = s->members.len, w = 0, g = 0, a = 0;
  uint32_t *words = (uint32_t *)s->members.data, out = 0;
  /* The events before the first of the cluster's or the first that goes
   * keep their place and their words: there only links to later events
   * and words naming moved identifiers change, and only those are
   * written (most of the storage is read, not rewritten). */
  uint32_t keep = p->ne > 0 ? p->events[0] : (uint32_t)ne0;
  if (p->ng > 0 && p->gone_ev[0] < keep) keep = p->gone_ev[0];
  if (ne0 > 0 && idg_event_at(s, 0)->first != 0) keep = 0; /* words to close up from the start */
  for (uint32_t ei = 0; ei < keep && (p->ng > 0 || p->nv > 0); ei++) {
    idg_event *e = idg_event_at(s, ei);
    uint32_t next = event_after(p->gone_ev, p->ng, e->next);
    if (next != e->next) e->next = next;
    for (uint32_t i = 0, cnt = p->nv > 0 ? idg_event_count(s, e) : 0; i < cnt; i++) {
      uint32_t word = words[e->first + i], x = word & IDG_ORD_MASK;
      if (x >= n1) words[e->first + i] = (word & ~IDG_ORD_MASK) | ERASE_NODE(x);
    }
  }
  out = keep;
  w = keep < ne0 ? idg_event_at(s, keep)->first : nw0;
  for (uint32_t ei = keep; ei < ne0; ei++) {
    idg_event e = *idg_event_at(s, ei);
    uint32_t cnt = idg_event_count(s, idg_event_at(s, ei)); /* before it is overwritten */
    bool in_cluster = a < p->ne && p->events[a] == ei;
    a += in_cluster;
    if (g < p->ng && p->gone_ev[g] == ei) {
      g++;
      continue;
    }
    bool here = in_cluster && (q->with == IDG_NONE || event_has(s, ei, q->with));
    uint32_t n = 0;
    for (uint32_t i = 0; i < cnt; i++) {
      uint32_t word = words[e.first + i], x = word & IDG_ORD_MASK;
      if (here && in_list(q->drop, q->ndrop, x)) continue;
      words[w + n++] = (word & ~IDG_ORD_MASK) | ERASE_NODE(x);
    }
    e.first = (uint32_t)w; /* the count is n: the next event's first is w + n */
    e.next = in_cluster ? out : event_after(p->gone_ev, p->ng, e.next);
    *idg_event_at(s, out) = e;
    out++;
    w += n;
  }
  if (out < ne0) memset(idg_event_at(s, out), 0, (ne0 - out) * sizeof(idg_event));
  if (w < nw0) memset(words + w, 0, (nw0 - w) * sizeof *words);
  s->events.len = out;
  s->members.len = w;
  /* One pass over the nodes for both remaps (the event pass reads no
   * node field): moved identifiers, then the events after gone ones. */
  if (p->nv > 0 || p->ng > 0)
    for (uint32_t y = 0; y < n1; y++) {
      /* links to the moved ones are few: written only where they change */
      idg_node *nd = idg_node_at(s, y);
      if (p->nv > 0 && (idg_parent(nd) >= n1 || idg_cluster(nd) >= n1 || idg_next(nd) >= n1)) {
        idg_set_parent(nd, ERASE_NODE(idg_parent(nd)));
        idg_set_cluster(nd, ERASE_NODE(idg_cluster(nd)));
        idg_set_next(nd, ERASE_NODE(idg_next(nd)));
      }
      if (p->ng > 0) {
        nd->first_event = event_after(p->gone_ev, p->ng, nd->first_event);
        nd->cluster_max = event_after(p->gone_ev, p->ng, nd->cluster_max);
      }
    }
#undef ERASE_NODE
  return n1;
}

/* Erase through the partial path; *fast false (nothing changed) when it
 * does not apply. Tombstones are added for `tombs`. */
static int erase_partial(lp_idgraph *h, const erase_req *q, const lp_hash128 *tombs, size_t ntomb,
                         bool *fast) {
  idg_state *s = &h->st;
  erase_plan p;
  int rc = erase_survey(h, q, &p, fast);
  if (rc != LP_OK || !*fast) return rc;
  rc = lp_hmap_reserve(&s->tombstones, &h->mem, s->tombstones.len + ntomb);
  if (rc != LP_OK) {
    erase_plan_free(&h->mem, &p);
    return lp_error_set(&h->err, rc, "out of memory erasing identifiers");
  }
  /* Nothing can fail from here on. Profile ids before; then every
   * identifier of the cluster alone and outside any cluster. */
  size_t k = 0;
  for (size_t j = 0; j < p.ne; j++) {
    const idg_event *e = idg_event_at(s, p.events[j]);
    const uint32_t *m = idg_members(s, e);
    for (uint32_t i = 0, ecnt = idg_event_count(s, e); i < ecnt; i++, k++) {
      p.pre_node[k] = m[i] & IDG_ORD_MASK;
      p.pre_pid[k] = idg_pid(s, p.pre_node[k]);
    }
  }
  for (k = 0; k < p.nm; k++) {
    idg_node *nd = idg_node_at(s, p.pre_node[k]);
    idg_set_parent(nd, p.pre_node[k]);
    idg_set_cluster(nd, p.pre_node[k]);
    idg_set_next(nd, p.pre_node[k]);
    nd->cluster_max = IDG_NONE;
    if (!idg_quarantined(nd)) idg_set_sketch(nd, 0);
  }
  /* Sketches of the open identifiers: every event of theirs is here. */
  for (size_t j = 0; j < p.ne; j++) add_sketches(s, q, p.events[j], NULL, 0, NULL);
  uint32_t n1 = erase_compact(h, q, &p);
  size_t na = 0;
  for (size_t j = 0, g = 0; j < p.ne; j++) {
    while (g < p.ng && p.gone_ev[g] < p.events[j]) g++;
    if (g < p.ng && p.gone_ev[g] == p.events[j]) continue;
    p.r.all[na++] = p.events[j] - (uint32_t)g;
  }
  /* The kept quarantined ones: sketch, and first event: the one outside
   * the cluster (the survey's, renumbered) against the cluster's kept
   * events, which lost members and compare differently now. */
  for (size_t j = 0; j < p.nq; j++) {
    uint32_t x = p.sq[j];
    p.sq[j] = x < n1 ? x : p.mover[x - n1];
    idg_set_sketch(idg_node_at(s, p.sq[j]), p.sq_sketch[j]);
    idg_node_at(s, p.sq[j])->first_event = event_after(p.gone_ev, p.ng, p.sq_first[j]);
  }
  for (size_t j = 0; p.nq > 0 && j < na; j++) {
    uint32_t ei = p.r.all[j];
    const idg_event *e = idg_event_at(s, ei);
    const uint32_t *m = idg_members(s, e);
    for (uint32_t i = 0, ecnt = idg_event_count(s, e); i < ecnt; i++) {
      idg_node *nd = idg_node_at(s, m[i] & IDG_ORD_MASK);
      if (!in_list(p.sq, p.nq, m[i] & IDG_ORD_MASK)) continue;
      int c = nd->first_event == IDG_NONE ? -1 : idg_cmp_events(s, ei, nd->first_event);
      if (c < 0 || (c == 0 && ei < nd->first_event)) nd->first_event = ei;
    }
  }
  (void)idg_recompute_events(h, s, &p.r, na, n1);
  for (size_t i = 0; i < ntomb; i++)
    (void)lp_map128_put(&s->tombstones, &h->mem, idg_tomb_hash(tombs[i]), 1);
  size_t nch = 0;
  for (k = 0; k < p.nm; k++) {
    uint32_t x = p.pre_node[k];
    uint64_t after = 0;
    if (!in_sorted(p.gone_nd, p.nv, x)) after = idg_pid(s, x < n1 ? x : p.mover[x - n1]);
    if (after != p.pre_pid[k]) {
      p.ch[nch].old_id = p.pre_pid[k];
      p.ch[nch].new_id = after;
      nch++;
    }
  }
  idg_sort_changes(p.ch, nch);
  idg_emit(h, s, p.ch, nch);
  erase_plan_free(&h->mem, &p);
  return LP_OK;
}

/* The partial path when it applies, else the full replay through `f`. */
static int erase(lp_idgraph *h, const erase_req *q, const idg_filter *f, const lp_hash128 *tombs,
                 size_t ntomb) {
  bool fast;
  int rc = erase_partial(h, q, tombs, ntomb, &fast);
  if (rc != LP_OK || fast) return rc;
  return rebuild(h, f, tombs, ntomb);
}

static bool drop_linked(void *ctx, const idg_state *s, uint32_t ei, uint32_t x) {
  pair_ctx *p = ctx;
  if (x != p->b || !event_has(s, ei, p->a)) return false;
  p->hits++;
  return true;
}

int lp_idgraph_unlink(lp_idgraph *h, const lp_idgraph_ident *a, const lp_idgraph_ident *b) {
  IDG_GUARD(h, "lp_idgraph_unlink");
  pair_ctx p = {0, 0, 0};
  lp_hash128 ha, hb;
  int rc = idg_lookup(h, a, &p.a, &ha);
  if (rc == LP_OK) rc = idg_lookup(h, b, &p.b, &hb);
  if (rc != LP_OK) return rc;
  bool linked = false;
  for (uint32_t ei = 0; ei < h->st.events.len && !linked; ei++)
    linked = p.a != p.b && event_has(&h->st, ei, p.a) && event_has(&h->st, ei, p.b);
  if (!linked) return lp_error_set(&h->err, LP_ENOTFOUND, "the two identifiers are never seen together");
  idg_filter f = {&p, NULL, drop_linked};
  erase_req q = {&p.b, 1, p.a};
  return erase(h, &q, &f, NULL, 0);
}

static bool drop_node(void *ctx, const idg_state *s, uint32_t ei, uint32_t x) {
  (void)s;
  (void)ei;
  return x == *(const uint32_t *)ctx;
}

int lp_idgraph_remove_identifier(lp_idgraph *h, const lp_idgraph_ident *id) {
  IDG_GUARD(h, "lp_idgraph_remove_identifier");
  uint32_t x;
  lp_hash128 hash;
  int rc = idg_lookup(h, id, &x, &hash);
  if (rc != LP_OK) return rc;
  idg_filter f = {&x, NULL, drop_node};
  erase_req q = {&x, 1, IDG_NONE};
  return erase(h, &q, &f, NULL, 0);
}

static bool drop_source(void *ctx, const idg_state *s, uint32_t ei) {
  return idg_event_at(s, ei)->source == *(const uint32_t *)ctx;
}

int lp_idgraph_remove_source(lp_idgraph *h, const char *source, size_t source_len) {
  IDG_GUARD(h, "lp_idgraph_remove_source");
  if (source == NULL && source_len > 0) return lp_error_set(&h->err, LP_EINVAL, "source is NULL");
  uint32_t id;
  if (!lp_strpool_find(&h->st.sources, source != NULL ? source : "", source_len, &id))
    return lp_error_set(&h->err, LP_ENOTFOUND, "no events from that source");
  bool any = false;
  for (uint32_t ei = 0; ei < h->st.events.len && !any; ei++) any = drop_source(&id, &h->st, ei);
  if (!any) return lp_error_set(&h->err, LP_ENOTFOUND, "no events from that source");
  idg_filter f = {&id, drop_source, NULL};
  return rebuild(h, &f, NULL, 0);
}

typedef struct profile_ctx {
  uint32_t root;
} profile_ctx;

static bool drop_profile_member(void *ctx, const idg_state *s, uint32_t ei, uint32_t x) {
  (void)ei;
  return idg_find(s, x) == ((const profile_ctx *)ctx)->root;
}

int idg_profile_root(const lp_idgraph *h, uint64_t pid, uint32_t *root) {
  uint32_t x;
  if (!idg_profile_node(&h->st, pid, &x))
    return lp_error_set(LP_ERR_OF_CONST(h), LP_ENOTFOUND, "no profile %llu",
                        (unsigned long long)pid);
  *root = idg_find(&h->st, x);
  return LP_OK;
}

int lp_idgraph_forget_profile(lp_idgraph *h, uint64_t profile_id) {
  IDG_GUARD(h, "lp_idgraph_forget_profile");
  profile_ctx p;
  int rc = idg_profile_root(h, profile_id, &p.root);
  if (rc != LP_OK) return rc;
  size_t n = 0;
  uint32_t x = p.root;
  do {
    n++;
    x = idg_next(idg_node_at(&h->st, x));
  } while (x != p.root);
  lp_hash128 *tombs;
  uint32_t *nodes = NULL;
  rc = lp_mem_alloc_array(&h->mem, n, sizeof *tombs, (void **)&tombs);
  if (rc == LP_OK) {
    rc = lp_mem_alloc_array(&h->mem, n, sizeof *nodes, (void **)&nodes);
    if (rc != LP_OK) lp_mem_free_array(&h->mem, tombs, n, sizeof *tombs);
  }
  if (rc != LP_OK) return lp_error_set(&h->err, rc, "out of memory erasing a profile");
  n = 0;
  do {
    nodes[n] = x;
    tombs[n++] = idg_node_hash(idg_node_at(&h->st, x));
    x = idg_next(idg_node_at(&h->st, x));
  } while (x != p.root);
  idg_filter f = {&p, NULL, drop_profile_member};
  erase_req q = {nodes, n, IDG_NONE};
  rc = erase(h, &q, &f, tombs, n);
  memset(tombs, 0, n * sizeof *tombs);
  lp_mem_free_array(&h->mem, tombs, n, sizeof *tombs);
  lp_mem_free_array(&h->mem, nodes, n, sizeof *nodes);
  return rc;
}

int lp_idgraph_forget_identifier(lp_idgraph *h, const lp_idgraph_ident *id) {
  IDG_GUARD(h, "lp_idgraph_forget_identifier");
  uint32_t x = IDG_NONE;
  lp_hash128 hash;
  int rc = idg_lookup(h, id, &x, &hash);
  if (rc == LP_ENOTFOUND && x == IDG_NONE && id != NULL && id->type < h->ntypes &&
      id->value != NULL) {
    /* Not stored (or not valid): only a valid value can be tombstoned. */
    char norm[LP_IDGRAPH_MAX_VALUE_LEN];
    size_t nlen;
    rc = idg_prepare(h, id->type, id->value, id->len, norm, &nlen, &hash);
    if (rc != LP_OK) return rc == LP_ECONFLICT ? LP_OK : rc;
    rc = lp_map128_put(&h->st.tombstones, &h->mem, idg_tomb_hash(hash), 1);
    return rc == LP_OK ? LP_OK : lp_error_set(&h->err, rc, "out of memory adding a tombstone");
  }
  if (rc != LP_OK) return rc;
  idg_filter f = {&x, NULL, drop_node};
  erase_req q = {&x, 1, IDG_NONE};
  return erase(h, &q, &f, &hash, 1);
}

int lp_idgraph_lift_tombstone(lp_idgraph *h, const lp_idgraph_ident *id) {
  IDG_GUARD(h, "lp_idgraph_lift_tombstone");
  if (id == NULL || id->type >= h->ntypes || id->value == NULL)
    return lp_error_set(&h->err, LP_EINVAL, "identifier is NULL or of an unknown type");
  char norm[LP_IDGRAPH_MAX_VALUE_LEN];
  size_t nlen;
  lp_hash128 hash;
  int rc = idg_prepare(h, id->type, id->value, id->len, norm, &nlen, &hash);
  if (rc == LP_EINVAL || rc == LP_ECONFLICT) return lp_error_set(&h->err, LP_ENOTFOUND, "no tombstone for that value");
  if (rc != LP_OK) return rc;
  if (!lp_map128_del(&h->st.tombstones, idg_tomb_hash(hash), NULL))
    return lp_error_set(&h->err, LP_ENOTFOUND, "no tombstone for that value");
  return LP_OK;
}
