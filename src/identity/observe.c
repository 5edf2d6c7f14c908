/*
 * Identity ingest: lp_idgraph_observe, storing an event and resolving
 * profiles by the rules, either incrementally (in-order event) or by
 * replaying its cluster (late event).
 * SPDX-License-Identifier: MIT
 */
#include <stdlib.h>

#include "core/utf8.h"
#include "identity/hashing.h"
#include "identity/observe.h"
#include "identity/state.h"

static bool violates(const lp_idgraph *h, const idg_state *s, uint32_t ra, uint32_t rb) {
  const uint8_t *ca = idg_counts(s, h->count_bytes, ra), *cb = idg_counts(s, h->count_bytes, rb);
  for (uint32_t t = 0; t < h->ntypes; t++)
    if (idg_count(h, ca, t) + idg_count(h, cb, t) > h->types[t].limit) return true;
  return false;
}

static void join(const lp_idgraph *h, idg_state *s, uint32_t ra, uint32_t rb) {
  idg_node *a = idg_node_at(s, ra), *b = idg_node_at(s, rb);
  if (idg_cmp_nodes(s, rb, ra) < 0) { /* the first identifier stays the root */
    idg_node *t = a;
    a = b;
    b = t;
    uint32_t r = ra;
    ra = rb;
    rb = r;
  }
  idg_set_parent(b, ra);
  idg_count_add_row(h, idg_counts(s, h->count_bytes, ra), idg_counts(s, h->count_bytes, rb));
  uint32_t next = idg_next(a);
  idg_set_next(a, idg_next(b));
  idg_set_next(b, next);
}

static int cmp_priority(const lp_idgraph *h, const idg_state *s, uint32_t x, uint32_t y) {
  const idg_node *a = idg_node_at(s, x), *b = idg_node_at(s, y);
  int32_t pa = h->types[idg_node_type(a)].priority, pb = h->types[idg_node_type(b)].priority;
  if (pa != pb) return pa > pb ? -1 : 1;
  if (idg_node_hash(a).hi != idg_node_hash(b).hi) return idg_node_hash(a).hi < idg_node_hash(b).hi ? -1 : 1;
  return idg_node_hash(a).lo < idg_node_hash(b).lo ? -1 : (idg_node_hash(a).lo > idg_node_hash(b).lo);
}

/* The rule engine: the event's highest-priority identifier that is not
 * quarantined is the anchor; every other non-quarantined one joins the
 * anchor's profile unless the merged profile would break a limit (then it
 * is refused: "dropped from the event"). Allocation-free. */
uint32_t idg_apply_event(const lp_idgraph *h, idg_state *s, uint32_t ei) {
  idg_event *e = idg_event_at(s, ei);
  uint32_t *m = idg_members(s, e);
  uint32_t order[LP_IDGRAPH_MAX_EVENT_IDS];
  for (uint32_t i = 0, ecnt = idg_event_count(s, e); i < ecnt; i++) {
    m[i] &= IDG_ORD_MASK;
    idg_node *n = idg_node_at(s, m[i]);
    if (n->first_event == IDG_NONE) n->first_event = ei;
    uint32_t j = i;
    while (j > 0 && cmp_priority(h, s, m[i], m[order[j - 1]]) < 0) {
      order[j] = order[j - 1];
      j--;
    }
    order[j] = i;
  }
  uint32_t anchor = IDG_NONE;
  for (uint32_t k = 0, ecnt = idg_event_count(s, e); k < ecnt; k++) {
    uint32_t i = order[k], x = m[i];
    idg_node *n = idg_node_at(s, x);
    if (idg_quarantined(n)) continue;
    if (anchor == IDG_NONE) {
      anchor = x;
      m[i] |= IDG_LINKED;
      continue;
    }
    uint32_t ra = idg_find(s, anchor), rx = idg_find(s, x);
    if (ra == rx) {
      m[i] |= IDG_LINKED;
      continue;
    }
    if (violates(h, s, ra, rx)) {
      m[i] |= IDG_REFUSED;
      continue;
    }
    join(h, s, ra, rx);
    m[i] |= IDG_LINKED;
  }
  return anchor != IDG_NONE ? anchor : m[order[0]];
}

static void reset_node(const lp_idgraph *h, idg_state *s, uint32_t x) {
  idg_node *n = idg_node_at(s, x);
  idg_set_parent(n, x);
  idg_set_next(n, x);
  /* A quarantined identifier's events span clusters: a replay of one of
   * them must not forget its first event elsewhere (idg_store_event adds
   * the new event's). */
  if (!idg_quarantined(n)) n->first_event = IDG_NONE;
  idg_count_one(h, idg_counts(s, h->count_bytes, x), idg_node_type(n));
}

static int cmp_change(const void *a, const void *b) {
  const idg_change *x = a, *y = b;
  if (x->old_id != y->old_id) return x->old_id < y->old_id ? -1 : 1;
  return x->new_id < y->new_id ? -1 : (x->new_id > y->new_id);
}

void idg_emit(lp_idgraph *h, const idg_state *after, idg_change *ch, size_t n) {
  if (h->notify == NULL) return;
  for (size_t i = 0; i < n; i++) {
    if (i > 0 && ch[i].old_id == ch[i - 1].old_id && ch[i].new_id == ch[i - 1].new_id) continue;
    uint32_t kind = LP_IDGRAPH_REMOVED;
    if (ch[i].new_id != 0) {
      uint32_t x;
      kind = idg_profile_node(after, ch[i].old_id, &x) ? LP_IDGRAPH_SPLIT : LP_IDGRAPH_MERGED;
    }
    idg_busy_begin(h);
    h->notify(h->notify_ud, kind, ch[i].old_id, ch[i].new_id);
    idg_busy_end(h);
  }
}

void idg_sort_changes(idg_change *ch, size_t n) {
  if (n > 1) qsort(ch, n, sizeof *ch, cmp_change);
}

void idg_scratch_free(const lp_mem *mem, replay_scratch *r) {
  lp_mem_free_array(mem, r->events, r->nevents, sizeof(uint32_t));
  lp_mem_free_array(mem, r->all, r->nevents, sizeof(uint32_t));
  lp_mem_free_array(mem, r->roots, r->nevents, sizeof(uint32_t));
  lp_mem_free_array(mem, r->old, r->nmembers, sizeof(uint64_t));
  lp_mem_free_array(mem, r->orphan_old, r->nmembers, sizeof(uint64_t));
  lp_mem_free_array(mem, r->changes, r->nmembers, sizeof(idg_change));
}

int idg_scratch_alloc(const lp_mem *mem, replay_scratch *r) {
  size_t ne = r->nevents, nm = r->nmembers;
  memset(r, 0, sizeof *r);
  int rc = lp_mem_alloc_array(mem, ne, sizeof(uint32_t), (void **)&r->events);
  if (rc == LP_OK) rc = lp_mem_alloc_array(mem, ne, sizeof(uint32_t), (void **)&r->all);
  if (rc == LP_OK) rc = lp_mem_alloc_array(mem, ne, sizeof(uint32_t), (void **)&r->roots);
  if (rc == LP_OK) rc = lp_mem_alloc_array(mem, nm, sizeof(uint64_t), (void **)&r->old);
  if (rc == LP_OK) rc = lp_mem_alloc_array(mem, nm, sizeof(uint64_t), (void **)&r->orphan_old);
  if (rc == LP_OK) rc = lp_mem_alloc_array(mem, nm, sizeof(idg_change), (void **)&r->changes);
  r->nevents = ne;
  r->nmembers = nm;
  if (rc != LP_OK) idg_scratch_free(mem, r);
  return rc;
}

/* Recompute one cluster from its stored events in canonical order; nodes
 * from `fresh_from` on are new in this call (no notification for them).
 * Without `tell` no change is looked for (nobody is notified). */
static size_t replay(const lp_idgraph *h, idg_state *s, uint32_t root, replay_scratch *r,
                     uint32_t fresh_from, size_t nch, bool tell) {
  size_t ne = 0, nm = 0;
  uint32_t head = idg_node_at(s, root)->cluster_max, ei = head;
  do {
    r->events[ne++] = ei;
    const idg_event *e = idg_event_at(s, ei);
    const uint32_t *m = idg_members(s, e);
    for (uint32_t i = 0, ecnt = idg_event_count(s, e); i < ecnt && tell; i++) {
      r->old[nm++] = idg_pid(s, m[i] & IDG_ORD_MASK);
    }
    ei = e->next;
  } while (ei != head);
  for (size_t k = 0; k < ne; k++) {
    const idg_event *e = idg_event_at(s, r->events[k]);
    const uint32_t *m = idg_members(s, e);
    for (uint32_t i = 0, ecnt = idg_event_count(s, e); i < ecnt; i++) reset_node(h, s, m[i] & IDG_ORD_MASK);
  }
  idg_sort(r->events, ne, idg_cmp_events_ctx, s);
  for (size_t k = 0; k < ne; k++) idg_apply_event(h, s, r->events[k]);
  if (!tell) return nch;
  /* Walk in the original list order again so `old` lines up. */
  size_t j = 0;
  ei = head;
  do {
    const idg_event *e = idg_event_at(s, ei);
    const uint32_t *m = idg_members(s, e);
    for (uint32_t i = 0, ecnt = idg_event_count(s, e); i < ecnt; i++, j++) {
      uint32_t x = m[i] & IDG_ORD_MASK;
      uint64_t pid = idg_pid(s, x);
      if (x < fresh_from && r->old[j] != pid) {
        r->changes[nch].old_id = r->old[j];
        r->changes[nch].new_id = pid;
        nch++;
      }
    }
    ei = e->next;
  } while (ei != head);
  return nch;
}

static int cmp_items(const void *a, const void *b) {
  const idg_item *x = a, *y = b;
  if (x->hash.hi != y->hash.hi) return x->hash.hi < y->hash.hi ? -1 : 1;
  return x->hash.lo < y->hash.lo ? -1 : (x->hash.lo > y->hash.lo);
}

static int reserve_all(lp_idgraph *h, idg_state *s, size_t n) {
  const lp_mem *m = &h->mem;
  int rc = idg_vec_reserve(&s->nodes, m, s->nodes.len + n);
  if (rc == LP_OK && h->store_raw) rc = idg_vec_reserve(&s->raws, m, s->raws.len + n);
  if (rc == LP_OK) rc = idg_vec_reserve(&s->counts, m, s->counts.len + n * h->count_bytes);
  if (rc == LP_OK) rc = idg_vec_reserve(&s->events, m, s->events.len + 1);
  if (rc == LP_OK) rc = idg_vec_reserve(&s->members, m, s->members.len + n);
  if (rc == LP_OK) rc = idg_index_reserve(s, m, n);
  return rc;
}

/* Events, and member words, in the cluster of `x` (0 when it has none). */
static void cluster_size(const idg_state *s, uint32_t x, size_t *ne, size_t *nm) {
  uint32_t head = idg_node_at(s, idg_cluster_find(s, x))->cluster_max, ei = head;
  if (head == IDG_NONE) return;
  do {
    const idg_event *e = idg_event_at(s, ei);
    (*ne)++;
    *nm += idg_event_count(s, e);
    ei = e->next;
  } while (ei != head);
}


/* The identifier that names an event's profile: its highest-priority
 * identifier that is not quarantined, else its highest-priority one. */
static uint32_t event_anchor(const lp_idgraph *h, const idg_state *s, uint32_t ei) {
  const idg_event *e = idg_event_at(s, ei);
  const uint32_t *m = idg_members(s, e);
  uint32_t best = IDG_NONE;
  bool best_q = true;
  for (uint32_t i = 0, ecnt = idg_event_count(s, e); i < ecnt; i++) {
    uint32_t x = m[i] & IDG_ORD_MASK;
    bool q = idg_quarantined(idg_node_at(s, x)) != 0;
    if (best == IDG_NONE || (best_q && !q) || (q == best_q && cmp_priority(h, s, x, best) < 0)) {
      best = x;
      best_q = q;
    }
  }
  return best;
}

/* Put event `ei` into the event list of cluster root `root` (after its
 * last event; it becomes the list's start when it is the new last). */
static void attach_event(idg_state *s, uint32_t root, uint32_t ei) {
  idg_node *rn = idg_node_at(s, root);
  idg_event *e = idg_event_at(s, ei);
  if (rn->cluster_max == IDG_NONE) {
    rn->cluster_max = ei;
    e->next = ei;
    return;
  }
  idg_event *last = idg_event_at(s, rn->cluster_max);
  e->next = last->next;
  last->next = ei;
  if (idg_cmp_events(s, ei, rn->cluster_max) > 0) rn->cluster_max = ei;
}

/* First member of an event that is not quarantined, or IDG_NONE. */
static uint32_t first_open_member(const idg_state *s, uint32_t ei) {
  const idg_event *e = idg_event_at(s, ei);
  const uint32_t *m = idg_members(s, e);
  for (uint32_t i = 0, ecnt = idg_event_count(s, e); i < ecnt; i++)
    if (!idg_quarantined(idg_node_at(s, m[i] & IDG_ORD_MASK))) return m[i] & IDG_ORD_MASK;
  return IDG_NONE;
}

/* A late event, or an identifier that has just been quarantined: rebuild
 * the clusters the event touches (quarantined identifiers join nothing)
 * and replay each of them in canonical order. Returns the number of
 * profile changes written to r->changes. */
static size_t recompute(const lp_idgraph *h, idg_state *s, replay_scratch *r, size_t ne,
                        uint32_t fresh_from, bool tell);

static size_t recompute_clusters(const lp_idgraph *h, idg_state *s, const uint32_t *node,
                                 const bool *was_q, size_t n, uint32_t ei, replay_scratch *r,
                                 uint32_t fresh_from, bool tell) {
  size_t ne = 0, nseen = 0;
  uint32_t seen[LP_IDGRAPH_MAX_EVENT_IDS]; /* the clusters gathered (n <= that many) */
  for (size_t i = 0; i < n; i++) {
    if (was_q[i]) continue;
    uint32_t c = idg_cluster_find(s, node[i]);
    const idg_node *root = idg_node_at(s, c);
    bool again = false;
    for (size_t k = 0; k < nseen && !again; k++) again = seen[k] == c;
    if (root->cluster_max == IDG_NONE || again) continue;
    seen[nseen++] = c;
    uint32_t head = root->cluster_max, e = head;
    do {
      r->all[ne++] = e;
      e = idg_event_at(s, e)->next;
    } while (e != head);
  }
  r->all[ne++] = ei;
  return recompute(h, s, r, ne, fresh_from, tell);
}

size_t idg_recompute_events(const lp_idgraph *h, idg_state *s, replay_scratch *r, size_t ne,
                            uint32_t fresh_from) {
  return recompute(h, s, r, ne, fresh_from, true);
}

/* idg_recompute_events; without `tell` no change is looked for (none is
 * notified) and 0 is returned. */
static size_t recompute(const lp_idgraph *h, idg_state *s, replay_scratch *r, size_t ne,
                        uint32_t fresh_from, bool tell) {
  /* Profile ids before, for members of events that will join no cluster. */
  size_t no = 0;
  for (size_t k = 0; k < ne && tell; k++) {
    const idg_event *e = idg_event_at(s, r->all[k]);
    const uint32_t *m = idg_members(s, e);
    if (first_open_member(s, r->all[k]) == IDG_NONE)
      for (uint32_t i = 0, ecnt = idg_event_count(s, e); i < ecnt; i++) r->orphan_old[no++] = idg_pid(s, m[i] & IDG_ORD_MASK);
  }
  for (size_t k = 0; k < ne; k++) {
    const idg_event *e = idg_event_at(s, r->all[k]);
    const uint32_t *m = idg_members(s, e);
    for (uint32_t i = 0, ecnt = idg_event_count(s, e); i < ecnt; i++) {
      idg_node *x = idg_node_at(s, m[i] & IDG_ORD_MASK);
      idg_set_cluster(x, m[i] & IDG_ORD_MASK);
      x->cluster_max = IDG_NONE;
    }
  }
  for (size_t k = 0; k < ne; k++) {
    const idg_event *e = idg_event_at(s, r->all[k]);
    const uint32_t *m = idg_members(s, e);
    uint32_t f = first_open_member(s, r->all[k]);
    for (uint32_t i = 0, ecnt = idg_event_count(s, e); f != IDG_NONE && i < ecnt; i++) {
      uint32_t y = m[i] & IDG_ORD_MASK;
      if (idg_quarantined(idg_node_at(s, y))) continue;
      uint32_t a = idg_cluster_find(s, f), b = idg_cluster_find(s, y);
      if (a != b) idg_set_cluster(idg_node_at(s, b), a);
    }
  }
  size_t nroots = 0;
  for (size_t k = 0; k < ne; k++) {
    uint32_t f = first_open_member(s, r->all[k]);
    if (f == IDG_NONE) {
      idg_event_at(s, r->all[k])->next = r->all[k];
      continue;
    }
    uint32_t root = idg_cluster_find(s, f);
    /* every root is a member reset above: its first event here is new */
    if (idg_node_at(s, root)->cluster_max == IDG_NONE) r->roots[nroots++] = root;
    attach_event(s, root, r->all[k]);
  }
  size_t nch = 0;
  for (size_t k = 0; k < nroots; k++) nch = replay(h, s, r->roots[k], r, fresh_from, nch, tell);
  /* Identifiers only in events of quarantined identifiers: alone. */
  no = 0;
  for (size_t k = 0; k < ne; k++) {
    const idg_event *e = idg_event_at(s, r->all[k]);
    uint32_t *m = idg_members(s, e);
    if (first_open_member(s, r->all[k]) != IDG_NONE) continue;
    for (uint32_t i = 0, ecnt = idg_event_count(s, e); i < ecnt; i++, no++) {
      uint32_t x = m[i] & IDG_ORD_MASK;
      /* Keep its canonically first event (reset_node forgets it). */
      uint32_t fe = idg_node_at(s, x)->first_event;
      if (fe == IDG_NONE || idg_cmp_events(s, r->all[k], fe) < 0) fe = r->all[k];
      reset_node(h, s, x);
      idg_node_at(s, x)->first_event = fe;
      m[i] = x; /* neither linked nor refused */
      uint64_t pid = idg_pid_of_hash(idg_node_hash(idg_node_at(s, x)));
      if (tell && x < fresh_from && r->orphan_old[no] != pid) {
        r->changes[nch].old_id = r->orphan_old[no];
        r->changes[nch].new_id = pid;
        nch++;
      }
    }
  }
  idg_sort_changes(r->changes, nch);
  return nch;
}

static void link_clusters(idg_state *s, uint32_t a, uint32_t b) {
  idg_node *ra = idg_node_at(s, a), *rb = idg_node_at(s, b);
  idg_set_cluster(rb, a);
  uint32_t bmax = rb->cluster_max;
  rb->cluster_max = IDG_NONE; /* a root's field only */
  if (bmax == IDG_NONE) return;
  if (ra->cluster_max == IDG_NONE) {
    ra->cluster_max = bmax;
    return;
  }
  idg_event *ea = idg_event_at(s, ra->cluster_max), *eb = idg_event_at(s, bmax);
  uint32_t t = ea->next;
  ea->next = eb->next;
  eb->next = t;
  if (idg_cmp_events(s, bmax, ra->cluster_max) > 0) ra->cluster_max = bmax;
}

#define SMALL_REPLAY 64 /* events of a replay without notification kept on the stack */

int idg_store_event(lp_idgraph *h, idg_state *s, const idg_item *items_in, size_t n, int64_t ts,
                    const char *src, size_t src_len, bool notify, uint64_t *pid) {
  idg_item items[LP_IDGRAPH_MAX_EVENT_IDS];
  for (size_t i = 0; i < n; i++) { /* insertion sort: events are small */
    size_t j = i;
    while (j > 0 && cmp_items(&items_in[i], &items[j - 1]) < 0) {
      items[j] = items[j - 1];
      j--;
    }
    items[j] = items_in[i];
  }
  if (s->nodes.len + n > IDG_MAX_NODES || s->members.len + n > UINT32_MAX - 1 ||
      s->events.len >= LP_IDGRAPH_MAX_EVENTS)
    return lp_error_set(&h->err, LP_ELIMIT, "identity graph is full");
  /* Each identifier's index slot is a cache miss: start them all now, so
   * they overlap with each other and with the interning below. */
  for (size_t i = 0; i < n; i++)
    idg_index_prefetch(s, items[i].hash.lo);
  uint32_t raw[LP_IDGRAPH_MAX_EVENT_IDS], source;
  int rc = LP_OK;
  for (size_t i = 0; i < n && rc == LP_OK; i++) {
    raw[i] = IDG_NONE;
    if (h->store_raw && items[i].raw != NULL)
      rc = lp_strpool_intern(&s->values, &h->mem, items[i].raw, items[i].raw_len, &raw[i], NULL);
  }
  if (rc == LP_OK) rc = lp_strpool_intern(&s->sources, &h->mem, src, src_len, &source, NULL);
  if (rc == LP_OK) rc = reserve_all(h, s, n);
  if (rc != LP_OK) return lp_error_set(&h->err, rc, "out of memory storing an event");

  uint32_t ei = (uint32_t)s->events.len, fresh_from = (uint32_t)s->nodes.len;
  /* Room is reserved: plain stores instead of copies of a variable size. */
  idg_event *evs = (idg_event *)s->events.data;
  /* (its members are appended below, before anything asks its count) */
  evs[s->events.len++] = idg_event_make(ts, source, (uint32_t)s->members.len, ei);
  /* The nodes the slots name (their hash is checked, their union-find
   * roots are read next): fetch them before the upserts read them. */
  uint32_t node[LP_IDGRAPH_MAX_EVENT_IDS];
  for (size_t i = 0; i < n; i++) {
    node[i] = idg_index_hint(s, items[i].hash.lo);
    if (node[i] != IDG_NONE) IDG_PREFETCH(idg_node_at(s, node[i]));
  }
  idg_node *nodes = (idg_node *)s->nodes.data;
  for (size_t i = 0; i < n; i++) {
    bool added = false;
    /* The first candidate found above, when it is this identifier's own
     * (not another's with the same tag bits): no second probe. Upserts
     * of new identifiers add entries, they do not change what an
     * existing one names. */
    if (node[i] == IDG_NONE || idg_node_hash(&nodes[node[i]]).lo != items[i].hash.lo ||
        idg_node_hash(&nodes[node[i]]).hi != items[i].hash.hi)
      node[i] = idg_index_upsert(s, &h->mem, items[i].hash, (uint32_t)s->nodes.len, &added);
    if (added) {
      nodes[s->nodes.len++] = idg_node_make(items[i].hash, items[i].type, node[i], ei);
      if (h->store_raw) ((uint32_t *)s->raws.data)[s->raws.len++] = raw[i];
      idg_count_one(h, s->counts.data + s->counts.len, items[i].type);
      s->counts.len += h->count_bytes;
    } else {
      if (raw[i] != IDG_NONE) *(uint32_t *)lp_vec_at(&s->raws, node[i]) = raw[i];
      const idg_node *nd = &nodes[node[i]];
      IDG_PREFETCH(&nodes[idg_cluster(nd)]);
      IDG_PREFETCH(&nodes[idg_parent(nd)]);
    }
  }
  uint32_t *mw = (uint32_t *)s->members.data + s->members.len;
  for (size_t i = 0; i < n; i++) mw[i] = node[i];
  s->members.len += n;

  /* Co-occurrence sketches, computed aside and committed with the rest:
   * quarantine is a property of the set of events, not of their order. */
  uint64_t sketch[LP_IDGRAPH_MAX_EVENT_IDS];
  bool was_q[LP_IDGRAPH_MAX_EVENT_IDS], is_q[LP_IDGRAPH_MAX_EVENT_IDS], newly = false;
  for (size_t i = 0; i < n; i++) {
    const idg_node *nd = idg_node_at(s, node[i]);
    sketch[i] = idg_sketch(nd);
    for (size_t j = 0; j < n; j++)
      if (j != i) sketch[i] |= UINT64_C(1) << (items[j].hash.lo & 63);
    was_q[i] = idg_quarantined(nd) != 0;
    is_q[i] = was_q[i] || idg_popcount64(sketch[i]) > h->quarantine_after;
    newly = newly || (is_q[i] && !was_q[i]);
  }
  /* The rules (idg_apply_event) compare the profile roots' first events
   * and read their count rows when a member joins: fetch those of the
   * existing members' roots now. A read-only walk (no path halving: the
   * rules' own finds must leave the same parents). */
  for (size_t i = 0; i < n; i++) {
    if (node[i] >= fresh_from || is_q[i]) continue;
    uint32_t r = node[i];
    for (int step = 0; step < 4 && idg_parent(&nodes[r]) != r; step++) r = idg_parent(&nodes[r]);
    if (nodes[r].first_event < s->events.len) IDG_PREFETCH(idg_event_at(s, nodes[r].first_event));
    IDG_PREFETCH(idg_counts(s, h->count_bytes, r));
  }
  bool late = false;
  const idg_node *croot[LP_IDGRAPH_MAX_EVENT_IDS];
  for (size_t i = 0; i < n; i++) { /* the clusters' last events: fetch them all, then compare */
    if (is_q[i]) continue;
    croot[i] = idg_node_at(s, idg_cluster_find(s, node[i]));
    if (croot[i]->cluster_max != IDG_NONE) IDG_PREFETCH(idg_event_at(s, croot[i]->cluster_max));
  }
  for (size_t i = 0; i < n; i++) {
    if (is_q[i]) continue;
    const idg_node *r = croot[i];
    if (r->cluster_max != IDG_NONE && idg_cmp_events(s, r->cluster_max, ei) > 0) late = true;
  }
  bool recompute = late || newly;
  bool tell = notify && h->notify != NULL;
  size_t ne = 1, nm = n;
  replay_scratch scratch = {0};
  /* Without notification a replay needs only the event lists: small ones
   * live on the stack (no allocation per late event). */
  uint32_t small[3][SMALL_REPLAY];
  bool heap = false;
  if (recompute) {
    /* Distinct clusters only: count each root once. */
    for (size_t i = 0; i < n; i++) {
      if (was_q[i]) continue;
      uint32_t r = idg_cluster_find(s, node[i]);
      bool seen = false;
      for (size_t j = 0; j < i; j++) seen = seen || (!was_q[j] && idg_cluster_find(s, node[j]) == r);
      if (!seen) cluster_size(s, node[i], &ne, &nm);
    }
    scratch.nevents = ne;
    scratch.nmembers = nm;
    heap = tell || ne > SMALL_REPLAY;
    if (heap) {
      rc = idg_scratch_alloc(&h->mem, &scratch);
    } else {
      scratch.events = small[0];
      scratch.all = small[1];
      scratch.roots = small[2];
    }
    if (rc != LP_OK) {
      for (size_t i = n; i-- > 0;)
        if (node[i] >= fresh_from) idg_index_del(s, items[i].hash);
      s->nodes.len = fresh_from;
      if (s->raws.len > fresh_from) s->raws.len = fresh_from;
      s->counts.len = (size_t)fresh_from * h->count_bytes;
      s->events.len--;
      s->members.len -= n;
      return lp_error_set(&h->err, rc, "out of memory recomputing profiles");
    }
  }

  /* Nothing can fail from here on. */
  for (size_t i = 0; i < n; i++) {
    idg_node *nd = idg_node_at(s, node[i]);
    idg_set_sketch(nd, sketch[i]);
    if (is_q[i]) idg_set_quarantined(nd, true);
  }
  idg_change local[LP_IDGRAPH_MAX_EVENT_IDS];
  size_t nch = 0;
  uint32_t anchor;
  if (!recompute) {
    uint32_t root = IDG_NONE;
    for (size_t i = 0; i < n; i++) {
      if (is_q[i]) continue;
      uint32_t r = idg_cluster_find(s, node[i]);
      if (root == IDG_NONE) root = r;
      else if (r != root) link_clusters(s, root, r);
    }
    if (root != IDG_NONE) attach_event(s, root, ei);
    /* Net change of every existing member: a brand-new identifier's
     * momentary singleton profile is never reported. */
    uint64_t before[LP_IDGRAPH_MAX_EVENT_IDS];
    for (size_t i = 0; i < n && tell; i++)
      before[i] = node[i] < fresh_from ? idg_pid(s, node[i]) : 0;
    anchor = idg_apply_event(h, s, ei);
    for (size_t i = 0; i < n && tell; i++) {
      uint64_t after = idg_pid(s, node[i]);
      if (node[i] < fresh_from && before[i] != after) {
        local[nch].old_id = before[i];
        local[nch].new_id = after;
        nch++;
      }
    }
    idg_sort_changes(local, nch);
  } else {
    nch = recompute_clusters(h, s, node, was_q, n, ei, &scratch, fresh_from, tell);
    anchor = event_anchor(h, s, ei);
  }
  for (size_t i = 0; i < n; i++) { /* (open identifiers: set by the rules above) */
    idg_node *nd = idg_node_at(s, node[i]);
    if (is_q[i] && (nd->first_event == IDG_NONE || idg_cmp_events(s, ei, nd->first_event) < 0))
      nd->first_event = ei;
  }
  if (pid != NULL) *pid = idg_pid(s, anchor);
  if (notify) idg_emit(h, s, recompute ? scratch.changes : local, nch);
  if (heap) idg_scratch_free(&h->mem, &scratch);
  return LP_OK;
}

/* ---- observe = prepare (pure) + apply (in order) ---- */

/* The checks of an event that come before its identifiers. */
static int check_event(lp_idgraph *h, bool no_ids, size_t n, const char *source,
                       size_t source_len) {
  if (no_ids || n == 0)
    return lp_error_set(&h->err, LP_EINVAL, "ids must hold at least one identifier");
  if (n > LP_IDGRAPH_MAX_EVENT_IDS)
    return lp_error_set(&h->err, LP_ELIMIT, "%zu identifiers in one event (at most %d)", n,
                        LP_IDGRAPH_MAX_EVENT_IDS);
  if ((source == NULL && source_len > 0) || source_len > IDG_MAX_SOURCE_LEN)
    return lp_error_set(&h->err, LP_EINVAL, "source is NULL or longer than %d bytes",
                        IDG_MAX_SOURCE_LEN);
  if (source_len > 0 && lp_utf8_check(source, source_len, NULL) != LP_UTF8_OK)
    return lp_error_set(&h->err, LP_EINVAL, "source name is not UTF-8 without NUL");
  return LP_OK;
}

static int check_ids(const lp_idgraph *h, const lp_idgraph_ident *ids, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (ids[i].type >= h->ntypes)
      return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL,
                          "identifier %zu: unknown identifier type %u", i, (unsigned)ids[i].type);
    if (ids[i].value == NULL)
      return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL, "identifier %zu: value is NULL", i);
  }
  return LP_OK;
}

/* Prepare ids[0..n) into out (NULL: only count), normalised values of the
 * valid ones into scratch (raw storage) while they fit in cap bytes.
 * Returns the bytes they take. Not quiet (observe): after a host hash
 * failure the later identifiers are not prepared, only marked failed
 * (observe stops at the first; the event fails either way). */
static size_t prepare_pass(const lp_idgraph *h, const lp_idgraph_ident *ids, size_t n,
                           lp_idgraph_prepared *out, char *scratch, size_t cap, bool quiet) {
  char tmp[LP_IDGRAPH_MAX_VALUE_LEN];
  size_t used = 0;
  bool failed = false;
  for (size_t i = 0; i < n; i++) {
    uint32_t st = LP_IDGRAPH_PREPARED_HASH_FAILED;
    size_t nlen = 0;
    lp_hash128 hash = {0, 0};
    if (!failed) {
      int rc = idg_prepare_q(h, ids[i].type, ids[i].value, ids[i].len, tmp, &nlen, &hash, quiet);
      st = rc == LP_OK          ? LP_IDGRAPH_PREPARED_OK
           : rc == LP_EINVAL    ? LP_IDGRAPH_PREPARED_INVALID
           : rc == LP_ECONFLICT ? LP_IDGRAPH_PREPARED_BLOCKED
                                : LP_IDGRAPH_PREPARED_HASH_FAILED;
      failed = !quiet && st == LP_IDGRAPH_PREPARED_HASH_FAILED;
    }
    /* A host normaliser that gives more on the writing pass than on the
     * counting one: the value is treated as invalid, never overflowed. */
    if (st == LP_IDGRAPH_PREPARED_OK && h->store_raw && out != NULL && nlen > cap - used)
      st = LP_IDGRAPH_PREPARED_INVALID;
    bool ok = st == LP_IDGRAPH_PREPARED_OK, keep = ok && h->store_raw;
    if (out != NULL) {
      lp_idgraph_prepared *p = &out[i];
      p->type = ids[i].type;
      p->status = st;
      lp_put_u64le(p->hash, ok ? hash.lo : 0);
      lp_put_u64le(p->hash + 8, ok ? hash.hi : 0);
      p->len = ok ? nlen : 0;
      p->value = NULL;
      if (keep) {
        p->value = scratch != NULL ? scratch + used : "";
        if (nlen > 0) memcpy(scratch + used, tmp, nlen);
      }
    }
    if (keep) used += nlen;
  }
  return used;
}

/* Most bytes the normalised values of ids can take (lp_idgraph_prepare's
 * documented bound). */
static size_t prepare_bound(const lp_idgraph *h, const lp_idgraph_ident *ids, size_t n) {
  size_t b = 0;
  for (size_t i = 0; i < n; i++) {
    const idg_type *t = &h->types[ids[i].type];
    size_t len = ids[i].len > LP_IDGRAPH_MAX_VALUE_LEN ? 0 : ids[i].len;
    if (t->norm == LP_IDGRAPH_NORM_CALLBACK) len = LP_IDGRAPH_MAX_VALUE_LEN;
    else if (t->norm == LP_IDGRAPH_NORM_PHONE) len = 16;
    b += len;
  }
  return b;
}

int lp_idgraph_prepare(const lp_idgraph *h, const lp_idgraph_ident *ids, size_t n,
                       lp_idgraph_prepared *out, char *scratch, size_t capacity,
                       size_t *needed) {
  IDG_GUARD(h, "lp_idgraph_prepare");
  if (needed == NULL || (ids == NULL && n > 0) || (scratch == NULL && capacity > 0))
    return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL,
                        "needed must not be NULL, ids only NULL when n is 0, scratch only NULL "
                        "when capacity is 0");
  int rc = check_ids(h, ids, n);
  if (rc != LP_OK) return rc;
  if (out == NULL || (h->store_raw && capacity < prepare_bound(h, ids, n))) {
    size_t need = prepare_pass(h, ids, n, NULL, NULL, 0, true);
    *needed = need;
    if (out == NULL) return LP_OK;
    if (need > capacity)
      return lp_error_set(LP_ERR_OF_CONST(h), LP_EBUFSIZE,
                          "normalised values need %zu bytes, capacity is %zu", need, capacity);
  }
  *needed = prepare_pass(h, ids, n, out, scratch, capacity, true);
  return LP_OK;
}

/* Everything observe does after preparing (arguments checked). */
static int apply_prepared(lp_idgraph *h, const lp_idgraph_prepared *ids, size_t n, int64_t ts,
                          const char *source, size_t source_len, uint64_t *profile_id) {
  for (size_t i = 0; i < n; i++)
    if (ids[i].status == LP_IDGRAPH_PREPARED_HASH_FAILED)
      return lp_error_set(&h->err, LP_EIO, "host hash function failed");
  idg_item items[LP_IDGRAPH_MAX_EVENT_IDS];
  size_t k = 0;
  uint64_t blocked = 0, invalid = 0, tomb = 0;
  for (size_t i = 0; i < n; i++) {
    if (ids[i].status == LP_IDGRAPH_PREPARED_BLOCKED) blocked++;
    else if (ids[i].status == LP_IDGRAPH_PREPARED_INVALID) invalid++;
    if (ids[i].status != LP_IDGRAPH_PREPARED_OK) continue;
    lp_hash128 hash = {lp_get_u64le(ids[i].hash), lp_get_u64le(ids[i].hash + 8)};
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
    items[k].raw = ids[i].value;
    items[k].raw_len = ids[i].len;
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

int lp_idgraph_observe_prepared(lp_idgraph *h, const lp_idgraph_prepared *ids, size_t n,
                                int64_t ts, const char *source, size_t source_len,
                                uint64_t *profile_id) {
  IDG_GUARD(h, "lp_idgraph_observe_prepared");
  int rc = check_event(h, ids == NULL, n, source, source_len);
  if (rc != LP_OK) return rc;
  for (size_t i = 0; i < n; i++) {
    const lp_idgraph_prepared *p = &ids[i];
    if (p->type >= h->ntypes)
      return lp_error_set(&h->err, LP_EINVAL, "identifier %zu: unknown identifier type %u", i,
                          (unsigned)p->type);
    if (p->status > LP_IDGRAPH_PREPARED_HASH_FAILED)
      return lp_error_set(&h->err, LP_EINVAL, "identifier %zu: unknown status %u", i,
                          (unsigned)p->status);
    if (p->status == LP_IDGRAPH_PREPARED_OK &&
        (p->len > LP_IDGRAPH_MAX_VALUE_LEN || (h->store_raw && p->value == NULL)))
      return lp_error_set(&h->err, LP_EINVAL,
                          "identifier %zu: no normalised value (raw storage is on) or longer "
                          "than %d bytes",
                          i, LP_IDGRAPH_MAX_VALUE_LEN);
  }
  return apply_prepared(h, ids, n, ts, source, source_len, profile_id);
}

int lp_idgraph_prefetch(lp_idgraph *h, const lp_idgraph_prepared *ids, size_t n) {
  IDG_GUARD(h, "lp_idgraph_prefetch");
  if (ids == NULL && n > 0) return lp_error_set(&h->err, LP_EINVAL, "ids is NULL with n > 0");
  const idg_state *s = &h->st;
  uint32_t at = h->pf_at % IDG_PF_RING, k = 0;
  for (size_t i = 0; i < n && k < IDG_PF_IDS; i++) {
    if (ids[i].status != LP_IDGRAPH_PREPARED_OK) continue;
    uint64_t lo = lp_get_u64le(ids[i].hash);
    idg_index_prefetch(s, lo);
    h->pf_lo[at][k++] = lo;
  }
  h->pf_n[at] = (uint8_t)k;
  /* The event hinted IDG_PF_LAG calls ago: its slots have arrived by now;
   * fetch the records they name. */
  uint32_t back = (at + IDG_PF_RING - IDG_PF_LAG) % IDG_PF_RING;
  for (uint32_t j = 0; j < h->pf_n[back]; j++) {
    uint32_t v = idg_index_hint(s, h->pf_lo[back][j]);
    h->pf_node[back][j] = v;
    if (v != IDG_NONE) IDG_PREFETCH(idg_node_at(s, v));
  }
  /* IDG_PF_LAG2 ago: the records have arrived; their parents. */
  back = (at + IDG_PF_RING - IDG_PF_LAG2) % IDG_PF_RING;
  for (uint32_t j = 0; j < h->pf_n[back]; j++) {
    uint32_t v = h->pf_node[back][j];
    if (v >= s->nodes.len) continue;
    const idg_node *nd = idg_node_at(s, v);
    if (idg_cluster(nd) < s->nodes.len) IDG_PREFETCH(idg_node_at(s, idg_cluster(nd)));
    if (idg_parent(nd) < s->nodes.len) IDG_PREFETCH(idg_node_at(s, idg_parent(nd)));
  }
  /* IDG_PF_LAG3 ago: the cluster parent's newest event (the lateness
   * comparison reads it). The ring slot is then done. */
  back = (at + IDG_PF_RING - IDG_PF_LAG3) % IDG_PF_RING;
  for (uint32_t j = 0; j < h->pf_n[back]; j++) {
    uint32_t v = h->pf_node[back][j];
    if (v >= s->nodes.len) continue;
    uint32_t c = idg_cluster(idg_node_at(s, v));
    if (c >= s->nodes.len) continue;
    uint32_t e = idg_node_at(s, c)->cluster_max;
    if (e < s->events.len) IDG_PREFETCH(idg_event_at(s, e));
  }
  h->pf_n[back] = 0;
  h->pf_at = (at + 1) % IDG_PF_RING;
  return LP_OK;
}

int lp_idgraph_observe(lp_idgraph *h, const lp_idgraph_ident *ids, size_t n, int64_t ts,
                       const char *source, size_t source_len, uint64_t *profile_id) {
  IDG_GUARD(h, "lp_idgraph_observe");
  int rc = check_event(h, ids == NULL, n, source, source_len);
  if (rc == LP_OK) rc = check_ids(h, ids, n);
  if (rc != LP_OK) return rc;
  /* Not quiet: messages for invalid values, host callbacks run busy. */
  lp_idgraph_prepared prep[LP_IDGRAPH_MAX_EVENT_IDS];
  (void)prepare_pass(h, ids, n, prep, &h->norm[0][0], sizeof h->norm, false);
  return apply_prepared(h, prep, n, ts, source, source_len, profile_id);
}
