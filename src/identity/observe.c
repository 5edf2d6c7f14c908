/*
 * Identity: storing an event and resolving profiles by the rules, either
 * incrementally (in-order event) or by replaying its cluster (late event).
 * SPDX-License-Identifier: MIT
 */
#include <stdlib.h>

#include "identity/idgraph.h"

static bool violates(const lp_idgraph *h, const idg_state *s, uint32_t ra, uint32_t rb) {
  const uint8_t *ca = idg_counts(s, h->ntypes, ra), *cb = idg_counts(s, h->ntypes, rb);
  for (uint32_t t = 0; t < h->ntypes; t++)
    if ((unsigned)ca[t] + cb[t] > h->types[t].limit) return true;
  return false;
}

static void join(const lp_idgraph *h, idg_state *s, uint32_t ra, uint32_t rb) {
  idg_node *a = idg_node_at(s, ra), *b = idg_node_at(s, rb);
  if (idg_cmp_nodes(s, b->comp_first, a->comp_first) < 0) {
    idg_node *t = a;
    a = b;
    b = t;
    uint32_t r = ra;
    ra = rb;
    rb = r;
  }
  uint64_t loser = idg_pid_of_hash(idg_node_at(s, b->comp_first)->hash);
  b->parent = ra;
  uint8_t *ca = idg_counts(s, h->ntypes, ra), *cb = idg_counts(s, h->ntypes, rb);
  for (uint32_t t = 0; t < h->ntypes; t++) ca[t] = (uint8_t)(ca[t] + cb[t]);
  uint32_t next = a->next_member;
  a->next_member = b->next_member;
  b->next_member = next;
  uint64_t v;
  if (lp_map64_get(&s->pids, loser, &v) && v == b->comp_first) lp_map64_del(&s->pids, loser, NULL);
}

static int cmp_priority(const lp_idgraph *h, const idg_state *s, uint32_t x, uint32_t y) {
  const idg_node *a = idg_node_at(s, x), *b = idg_node_at(s, y);
  int32_t pa = h->types[a->type].priority, pb = h->types[b->type].priority;
  if (pa != pb) return pa > pb ? -1 : 1;
  if (a->hash.hi != b->hash.hi) return a->hash.hi < b->hash.hi ? -1 : 1;
  return a->hash.lo < b->hash.lo ? -1 : (a->hash.lo > b->hash.lo);
}

/* The rule engine: the event's highest-priority usable identifier is the
 * anchor; every other one joins the anchor's profile unless it is
 * quarantined or the merged profile would break a limit (then it is
 * refused: "dropped from the event"). Allocation-free. */
static uint32_t apply_event(const lp_idgraph *h, idg_state *s, uint32_t ei) {
  idg_event *e = idg_event_at(s, ei);
  uint32_t *m = idg_members(s, e);
  uint32_t order[LP_IDGRAPH_MAX_EVENT_IDS];
  for (uint32_t i = 0; i < e->count; i++) {
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
  for (uint32_t k = 0; k < e->count; k++) {
    uint32_t i = order[k], x = m[i];
    idg_node *n = idg_node_at(s, x);
    if (n->flags & IDG_QUARANTINED) continue;
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
    if (n->links < UINT32_MAX) n->links++;
    if (n->links > h->quarantine_after) {
      n->flags |= IDG_QUARANTINED;
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
  n->parent = x;
  n->next_member = x;
  n->comp_first = x;
  n->first_event = IDG_NONE;
  n->links = 0;
  n->flags = 0;
  uint8_t *c = idg_counts(s, h->ntypes, x);
  memset(c, 0, h->ntypes);
  c[n->type] = 1;
}

static int cmp_events_ctx(const void *ctx, uint32_t a, uint32_t b) {
  return idg_cmp_events((const idg_state *)ctx, a, b);
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
      uint64_t v;
      bool alive = lp_map64_get(&after->pids, ch[i].old_id, &v) &&
                   idg_pid(after, (uint32_t)v) == ch[i].old_id;
      kind = alive ? LP_IDGRAPH_SPLIT : LP_IDGRAPH_MERGED;
    }
    h->notify(h->notify_ud, kind, ch[i].old_id, ch[i].new_id);
  }
}


void idg_sort_changes(idg_change *ch, size_t n) {
  if (n > 1) qsort(ch, n, sizeof *ch, cmp_change);
}

/* Scratch for a replay, allocated before anything changes. */
typedef struct replay_scratch {
  uint32_t *events;
  uint64_t *old;
  idg_change *changes;
  size_t nevents, nmembers;
} replay_scratch;

static int scratch_alloc(const lp_mem *mem, replay_scratch *r) {
  r->old = NULL;
  r->changes = NULL;
  int rc = lp_mem_alloc_array(mem, r->nevents, sizeof(uint32_t), (void **)&r->events);
  if (rc == LP_OK) rc = lp_mem_alloc_array(mem, r->nmembers, sizeof(uint64_t), (void **)&r->old);
  if (rc == LP_OK)
    rc = lp_mem_alloc_array(mem, r->nmembers, sizeof(idg_change), (void **)&r->changes);
  if (rc != LP_OK) {
    lp_mem_free_array(mem, r->old, r->nmembers, sizeof(uint64_t));
    lp_mem_free_array(mem, r->events, r->nevents, sizeof(uint32_t));
  }
  return rc;
}

static void scratch_free(const lp_mem *mem, replay_scratch *r) {
  lp_mem_free_array(mem, r->events, r->nevents, sizeof(uint32_t));
  lp_mem_free_array(mem, r->old, r->nmembers, sizeof(uint64_t));
  lp_mem_free_array(mem, r->changes, r->nmembers, sizeof(idg_change));
}

/* Recompute one cluster from its stored events in canonical order; nodes
 * from `fresh_from` on are new in this call (no notification for them). */
static size_t replay(const lp_idgraph *h, idg_state *s, uint32_t root, replay_scratch *r,
                     uint32_t fresh_from) {
  size_t ne = 0, nm = 0;
  uint32_t head = idg_node_at(s, root)->cluster_head, ei = head;
  do {
    r->events[ne++] = ei;
    const idg_event *e = idg_event_at(s, ei);
    const uint32_t *m = idg_members(s, e);
    for (uint32_t i = 0; i < e->count; i++) {
      uint32_t x = m[i] & IDG_ORD_MASK, rx = idg_find(s, x);
      r->old[nm++] = idg_pid(s, x);
      uint64_t pid = r->old[nm - 1], v;
      if (rx == x && lp_map64_get(&s->pids, pid, &v) && v == idg_node_at(s, x)->comp_first)
        lp_map64_del(&s->pids, pid, NULL);
    }
    ei = e->next;
  } while (ei != head);
  for (size_t k = 0; k < ne; k++) {
    const idg_event *e = idg_event_at(s, r->events[k]);
    const uint32_t *m = idg_members(s, e);
    for (uint32_t i = 0; i < e->count; i++) reset_node(h, s, m[i] & IDG_ORD_MASK);
  }
  idg_sort(r->events, ne, cmp_events_ctx, s);
  for (size_t k = 0; k < ne; k++) apply_event(h, s, r->events[k]);
  /* Walk in the original list order again so `old` lines up. */
  size_t nch = 0, j = 0;
  ei = head;
  do {
    const idg_event *e = idg_event_at(s, ei);
    const uint32_t *m = idg_members(s, e);
    for (uint32_t i = 0; i < e->count; i++, j++) {
      uint32_t x = m[i] & IDG_ORD_MASK, rx = idg_find(s, x);
      uint32_t first = idg_node_at(s, rx)->comp_first;
      uint64_t pid = idg_pid_of_hash(idg_node_at(s, first)->hash);
      (void)lp_map64_put(&s->pids, &h->mem, pid, first); /* room reserved */
      if (x < fresh_from && r->old[j] != pid) {
        r->changes[nch].old_id = r->old[j];
        r->changes[nch].new_id = pid;
        nch++;
      }
    }
    ei = e->next;
  } while (ei != head);
  idg_sort_changes(r->changes, nch);
  return nch;
}

static int cmp_items(const void *a, const void *b) {
  const idg_item *x = a, *y = b;
  if (x->hash.hi != y->hash.hi) return x->hash.hi < y->hash.hi ? -1 : 1;
  return x->hash.lo < y->hash.lo ? -1 : (x->hash.lo > y->hash.lo);
}

static int reserve_all(lp_idgraph *h, idg_state *s, size_t n) {
  const lp_mem *m = &h->mem;
  int rc = lp_vec_reserve(&s->nodes, m, s->nodes.len + n);
  if (rc == LP_OK) rc = lp_vec_reserve(&s->counts, m, s->counts.len + n * h->ntypes);
  if (rc == LP_OK) rc = lp_vec_reserve(&s->events, m, s->events.len + 1);
  if (rc == LP_OK) rc = lp_vec_reserve(&s->members, m, s->members.len + n);
  if (rc == LP_OK) rc = lp_hmap_reserve(&s->index, m, s->index.len + n);
  if (rc == LP_OK) rc = lp_hmap_reserve(&s->pids, m, s->pids.len + n);
  return rc;
}

/* Events, and member words, in the cluster of `x` (0 when it has none). */
static void cluster_size(const idg_state *s, uint32_t x, size_t *ne, size_t *nm) {
  uint32_t head = idg_node_at(s, idg_cluster_find(s, x))->cluster_head, ei = head;
  if (head == IDG_NONE) return;
  do {
    const idg_event *e = idg_event_at(s, ei);
    (*ne)++;
    *nm += e->count;
    ei = e->next;
  } while (ei != head);
}

static void link_clusters(idg_state *s, uint32_t a, uint32_t b) {
  idg_node *ra = idg_node_at(s, a), *rb = idg_node_at(s, b);
  rb->cluster = a;
  if (rb->cluster_head == IDG_NONE) return;
  if (ra->cluster_head == IDG_NONE) {
    ra->cluster_head = rb->cluster_head;
    ra->cluster_max = rb->cluster_max;
    return;
  }
  idg_event *ea = idg_event_at(s, ra->cluster_head), *eb = idg_event_at(s, rb->cluster_head);
  uint32_t t = ea->next;
  ea->next = eb->next;
  eb->next = t;
  if (idg_cmp_events(s, rb->cluster_max, ra->cluster_max) > 0) ra->cluster_max = rb->cluster_max;
}

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
      s->events.len >= UINT32_MAX - 1)
    return lp_error_set(&h->err, LP_ELIMIT, "identity graph is full");
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
  idg_event ev = {ts, source, (uint32_t)s->members.len, (uint32_t)n, ei};
  (void)lp_vec_push(&s->events, &h->mem, &ev);
  uint32_t node[LP_IDGRAPH_MAX_EVENT_IDS];
  for (size_t i = 0; i < n; i++) {
    uint64_t k[2] = {items[i].hash.lo, items[i].hash.hi}, *slot;
    bool added;
    (void)lp_hmap_upsert(&s->index, &h->mem, k, &slot, &added);
    if (added) {
      node[i] = (uint32_t)s->nodes.len;
      *slot = node[i];
      idg_node nd = {items[i].hash, node[i], node[i], node[i], ei, node[i], IDG_NONE, IDG_NONE,
                     raw[i], 0, (uint8_t)items[i].type, 0};
      (void)lp_vec_push(&s->nodes, &h->mem, &nd);
      (void)lp_vec_append(&s->counts, &h->mem, NULL, h->ntypes);
      idg_counts(s, h->ntypes, node[i])[items[i].type] = 1;
    } else {
      node[i] = (uint32_t)*slot;
      if (raw[i] != IDG_NONE) idg_node_at(s, node[i])->raw = raw[i];
    }
  }
  (void)lp_vec_append(&s->members, &h->mem, node, n);

  bool late = false;
  size_t ne = 1, nm = n;
  for (size_t i = 0; i < n; i++) {
    const idg_node *r = idg_node_at(s, idg_cluster_find(s, node[i]));
    if (r->cluster_max != IDG_NONE && idg_cmp_events(s, r->cluster_max, ei) > 0) late = true;
  }
  replay_scratch scratch = {0};
  if (late) {
    /* Distinct clusters only: count each root once. */
    for (size_t i = 0; i < n; i++) {
      uint32_t r = idg_cluster_find(s, node[i]);
      bool seen = false;
      for (size_t j = 0; j < i; j++) seen = seen || idg_cluster_find(s, node[j]) == r;
      if (!seen) cluster_size(s, node[i], &ne, &nm);
    }
    scratch.nevents = ne;
    scratch.nmembers = nm;
    rc = scratch_alloc(&h->mem, &scratch);
    if (rc == LP_OK) {
      /* A late event can split profiles: room for one id per identifier. */
      rc = lp_hmap_reserve(&s->pids, &h->mem, s->pids.len + nm);
      if (rc != LP_OK) scratch_free(&h->mem, &scratch);
    }
    if (rc != LP_OK) {
      for (size_t i = n; i-- > 0;)
        if (node[i] >= fresh_from) lp_map128_del(&s->index, items[i].hash, NULL);
      s->nodes.len = fresh_from;
      s->counts.len = (size_t)fresh_from * h->ntypes;
      s->events.len--;
      s->members.len -= n;
      return lp_error_set(&h->err, rc, "out of memory recomputing a profile for a late event");
    }
  }

  /* Nothing can fail from here on. */
  uint32_t root = idg_cluster_find(s, node[0]);
  for (size_t i = 1; i < n; i++) {
    uint32_t r = idg_cluster_find(s, node[i]);
    if (r != root) link_clusters(s, root, r);
  }
  idg_node *rn = idg_node_at(s, root);
  if (rn->cluster_head == IDG_NONE) {
    rn->cluster_head = ei;
  } else {
    idg_event *head = idg_event_at(s, rn->cluster_head), *e = idg_event_at(s, ei);
    e->next = head->next;
    head->next = ei;
  }
  if (rn->cluster_max == IDG_NONE || idg_cmp_events(s, ei, rn->cluster_max) > 0)
    rn->cluster_max = ei;

  idg_change local[LP_IDGRAPH_MAX_EVENT_IDS];
  size_t nch = 0;
  uint32_t anchor;
  if (!late) {
    /* Net change of every existing member: a brand-new identifier's
     * momentary singleton profile is never reported (nor registered:
     * a new identifier gets a profile id only if it stays a root). */
    bool tell = notify && h->notify != NULL;
    uint64_t before[LP_IDGRAPH_MAX_EVENT_IDS];
    for (size_t i = 0; i < n && tell; i++)
      before[i] = node[i] < fresh_from ? idg_pid(s, node[i]) : 0;
    anchor = apply_event(h, s, ei);
    for (size_t i = 0; i < n; i++)
      if (node[i] >= fresh_from && idg_node_at(s, node[i])->parent == node[i])
        (void)lp_map64_put(&s->pids, &h->mem, idg_pid(s, node[i]), idg_node_at(s, node[i])->comp_first);
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
    nch = replay(h, s, root, &scratch, fresh_from);
    /* Every linked member is in the anchor's profile. */
    const uint32_t *m = idg_members(s, idg_event_at(s, ei));
    anchor = m[0] & IDG_ORD_MASK;
    for (size_t i = 0; i < n; i++)
      if (m[i] & IDG_LINKED) {
        anchor = m[i] & IDG_ORD_MASK;
        break;
      }
  }
  if (pid != NULL) *pid = idg_pid(s, anchor);
  if (notify) idg_emit(h, s, late ? scratch.changes : local, nch);
  if (late) scratch_free(&h->mem, &scratch);
  return LP_OK;
}
