/*
 * Identity: the invariant checker. Everything a correct graph satisfies,
 * checked without allocating, so the tests can call it after every
 * injected failure and the fuzz target after every input.
 * SPDX-License-Identifier: MIT
 */
#include "identity/check.h"
#include "identity/hashing.h"
#include "identity/observe.h"
#include "identity/state.h"

#define BROKEN(...) lp_error_set(LP_ERR_OF_CONST(h), LP_ECORRUPT, "identity invariant: " __VA_ARGS__)

static bool erased_and_stored(const idg_state *s, lp_hash128 hash) {
  return s->tombstones.len > 0 && lp_map128_get(&s->tombstones, idg_tomb_hash(hash), NULL);
}

/* Root of x through `parent` (cluster: through `cluster`), without path
 * shortening and safe on a corrupt graph: IDG_NONE on a cycle. */
static uint32_t root_of(const idg_state *s, uint32_t x, bool cluster) {
  for (size_t k = 0; k <= s->nodes.len; k++) {
    const idg_node *n = idg_node_at(s, x);
    uint32_t up = cluster ? idg_cluster(n) : idg_parent(n);
    if (up == x) return x;
    x = up;
  }
  return IDG_NONE;
}

static uint32_t first_open(const idg_state *s, const idg_event *e) {
  const uint32_t *m = idg_members(s, e);
  for (uint32_t i = 0, ecnt = idg_event_count(s, e); i < ecnt; i++)
    if (!idg_quarantined(idg_node_at(s, m[i] & IDG_ORD_MASK))) return m[i] & IDG_ORD_MASK;
  return IDG_NONE;
}

/* Storage: sizes, ranges, the index, member words. */
static int check_storage(const lp_idgraph *h) {
  const idg_state *s = &h->st;
  size_t nn = s->nodes.len, ne = s->events.len;
  if (nn > IDG_MAX_NODES) return BROKEN("%zu identifiers, more than the maximum", nn);
  if (s->raws.len != 0 && (s->raws.len != nn || !h->store_raw))
    return BROKEN("%zu raw-value slots for %zu identifiers", s->raws.len, nn);
  if (s->counts.len != nn * h->count_bytes) return BROKEN("per-type count table has the wrong size");
  if (s->index.len != nn)
    return BROKEN("the index holds %zu entries for %zu identifiers", s->index.len, nn);
  if (!idg_index_sound(s)) return BROKEN("the index's slots are inconsistent");
  for (uint32_t x = 0; x < nn; x++) {
    const idg_node *n = idg_node_at(s, x);
    uint32_t y;
    if (!idg_index_get(s, idg_node_hash(n), &y) || y != x)
      return BROKEN("identifier %u is not found through the index", (unsigned)x);
    if (idg_node_type(n) >= h->ntypes) return BROKEN("identifier %u has an unknown type", (unsigned)x);
    if (idg_parent(n) >= nn || idg_cluster(n) >= nn || idg_next(n) >= nn || n->first_event >= ne)
      return BROKEN("identifier %u links out of range", (unsigned)x);
    if (idg_cluster(n) != x && n->cluster_max != IDG_NONE)
      return BROKEN("identifier %u has an event list but is not a cluster root", (unsigned)x);
    if (idg_quarantined(n) != (idg_popcount64(idg_sketch(n)) > h->quarantine_after))
      return BROKEN("identifier %u: quarantine flag and sketch disagree", (unsigned)x);
    uint32_t raw = idg_raw(s, x);
    if (raw != IDG_NONE && raw >= lp_strpool_count(&s->values))
      return BROKEN("identifier %u has a raw value out of range", (unsigned)x);
    if (erased_and_stored(s, idg_node_hash(n))) return BROKEN("identifier %u is tombstoned", (unsigned)x);
  }
  size_t members = 0;
  for (uint32_t ei = 0; ei < ne; ei++) {
    const idg_event *e = idg_event_at(s, ei);
    uint32_t cnt = idg_event_count(s, e); /* a first word before the previous one wraps */
    if (cnt == 0 || cnt > LP_IDGRAPH_MAX_EVENT_IDS || e->first != members ||
        e->source >= lp_strpool_count(&s->sources) || e->next >= ne)
      return BROKEN("event %u has a bad header", (unsigned)ei);
    const uint32_t *m = idg_members(s, e);
    for (uint32_t i = 0, ecnt = idg_event_count(s, e); i < ecnt; i++) {
      uint32_t x = m[i] & IDG_ORD_MASK;
      if (x >= nn || (m[i] & IDG_LINKED && m[i] & IDG_REFUSED))
        return BROKEN("event %u has a bad member word", (unsigned)ei);
      if (i > 0 && idg_cmp_hash(idg_node_hash(idg_node_at(s, m[i - 1] & IDG_ORD_MASK)),
                                idg_node_hash(idg_node_at(s, x))) >= 0)
        return BROKEN("event %u members are not strictly sorted by hash", (unsigned)ei);
      if (idg_cmp_events(s, ei, idg_node_at(s, x)->first_event) < 0)
        return BROKEN("identifier %u is in an event before its first event", (unsigned)x);
    }
    members += cnt;
  }
  if (members != s->members.len) return BROKEN("member words do not add up");
  for (uint32_t x = 0; x < nn; x++) {
    const idg_node *n = idg_node_at(s, x);
    const idg_event *e = idg_event_at(s, n->first_event);
    const uint32_t *m = idg_members(s, e);
    bool in = false;
    for (uint32_t i = 0, ecnt = idg_event_count(s, e); i < ecnt && !in; i++) in = (m[i] & IDG_ORD_MASK) == x;
    if (!in) return BROKEN("identifier %u is not in its first event", (unsigned)x);
  }
  return LP_OK;
}

/* Profiles: union-find roots, member lists, per-type counts and limits,
 * the first identifier that names each profile, accepted links. */
static int check_profiles(const lp_idgraph *h) {
  const idg_state *s = &h->st;
  size_t nn = s->nodes.len, seen = 0;
  for (uint32_t x = 0; x < nn; x++)
    if (root_of(s, x, false) == IDG_NONE || root_of(s, x, true) == IDG_NONE)
      return BROKEN("identifier %u is on a union-find cycle", (unsigned)x);
  for (uint32_t r = 0; r < nn; r++) {
    const idg_node *root = idg_node_at(s, r);
    if (idg_parent(root) != r) continue;
    uint32_t count[LP_IDGRAPH_MAX_TYPES] = {0};
    uint32_t y = r, first = r; /* the root names its profile */
    size_t k = 0;
    bool has_first = false;
    do {
      if (++k > nn) return BROKEN("the member list of profile root %u does not close", (unsigned)r);
      if (root_of(s, y, false) != r)
        return BROKEN("identifier %u is listed in another profile", (unsigned)y);
      count[idg_node_type(idg_node_at(s, y))]++;
      has_first = has_first || y == first;
      if (idg_cmp_nodes(s, y, first) < 0)
        return BROKEN("profile root %u is not named by its first identifier", (unsigned)r);
      y = idg_next(idg_node_at(s, y));
    } while (y != r);
    if (!has_first) return BROKEN("profile root %u names an identifier outside it", (unsigned)r);
    seen += k;
    const uint8_t *c = idg_counts(s, h->count_bytes, r);
    uint8_t want[LP_IDGRAPH_MAX_TYPES] = {0}; /* the row these counts make */
    for (uint32_t t = 0; t < h->ntypes; t++) {
      if (idg_count(h, c, t) != count[t]) return BROKEN("profile root %u miscounts type %u", (unsigned)r, (unsigned)t);
      if (count[t] > h->types[t].limit)
        return BROKEN("profile root %u breaks the limit of type %u", (unsigned)r, (unsigned)t);
      idg_count_set(h, want, t, count[t]);
    }
    /* the bits between fields stay zero (joins add rows byte by byte) */
    if (memcmp(c, want, h->count_bytes) != 0)
      return BROKEN("profile root %u has stray bits in its counter row", (unsigned)r);
  }
  if (seen != nn) return BROKEN("member lists cover %zu of %zu identifiers", seen, nn);
  for (uint32_t ei = 0; ei < s->events.len; ei++) {
    const idg_event *e = idg_event_at(s, ei);
    const uint32_t *m = idg_members(s, e);
    uint32_t linked = IDG_NONE;
    for (uint32_t i = 0, ecnt = idg_event_count(s, e); i < ecnt; i++) {
      uint32_t x = m[i] & IDG_ORD_MASK;
      if (!(m[i] & IDG_LINKED)) continue;
      uint32_t r = root_of(s, x, false);
      if (linked == IDG_NONE) linked = r;
      else if (r != linked) return BROKEN("event %u links identifiers of two profiles", (unsigned)ei);
    }
  }
  return LP_OK;
}

/* Clusters (every stored event's open identifiers, no rules): each event
 * with an open identifier is on the event list of its cluster's root, the
 * list's maximum is its canonically last event, a profile never spans two
 * clusters. */
static int check_clusters(const lp_idgraph *h) {
  const idg_state *s = &h->st;
  size_t ne = s->events.len, open = 0, listed = 0;
  for (uint32_t ei = 0; ei < ne; ei++) {
    const idg_event *e = idg_event_at(s, ei);
    uint32_t f = first_open(s, e);
    if (f == IDG_NONE) {
      if (e->next != ei) return BROKEN("event %u of quarantined identifiers is listed", (unsigned)ei);
      continue;
    }
    open++;
    uint32_t c = root_of(s, f, true);
    const uint32_t *m = idg_members(s, e);
    for (uint32_t i = 0, ecnt = idg_event_count(s, e); i < ecnt; i++) {
      uint32_t x = m[i] & IDG_ORD_MASK;
      if (!idg_quarantined(idg_node_at(s, x)) && root_of(s, x, true) != c)
        return BROKEN("event %u spans two clusters", (unsigned)ei);
    }
  }
  for (uint32_t r = 0; r < s->nodes.len; r++) {
    const idg_node *n = idg_node_at(s, r);
    if (idg_quarantined(n)) {
      if (idg_parent(n) != r || idg_next(n) != r)
        return BROKEN("quarantined identifier %u is joined to a profile", (unsigned)r);
    } else if (root_of(s, root_of(s, r, false), true) != root_of(s, r, true)) {
      return BROKEN("the profile of identifier %u spans two clusters", (unsigned)r);
    }
    if (idg_cluster(n) != r || n->cluster_max == IDG_NONE) continue;
    if (n->cluster_max >= ne) return BROKEN("cluster root %u links out of range", (unsigned)r);
    uint32_t ei = n->cluster_max;
    size_t k = 0;
    do {
      if (++k > ne) return BROKEN("the event list of cluster %u does not close", (unsigned)r);
      const idg_event *e = idg_event_at(s, ei);
      uint32_t f = first_open(s, e);
      if (f == IDG_NONE || root_of(s, f, true) != r)
        return BROKEN("event %u is on the list of another cluster", (unsigned)ei);
      if (idg_cmp_events(s, ei, n->cluster_max) > 0)
        return BROKEN("cluster %u has an event after its last", (unsigned)r);
      ei = e->next;
    } while (ei != n->cluster_max);
    listed += k;
  }
  if (listed != open) return BROKEN("cluster lists hold %zu of %zu events", listed, open);
  return LP_OK;
}

int idg_check(const lp_idgraph *h) {
  if (h == NULL) return LP_EINVAL;
  if (h->busy != 0) return lp_error_set(LP_ERR_OF_CONST(h), LP_ECORRUPT, "identity invariant: busy outside a callback");
  if (h->ntypes > LP_IDGRAPH_MAX_TYPES || h->key_len > IDG_KEY_CAP ||
      h->quarantine_after < 1 || h->quarantine_after > 63)
    return BROKEN("configuration out of range");
  for (uint32_t t = 0; t < h->ntypes; t++) {
    const idg_type *ty = &h->types[t];
    if (ty->name_len == 0 || ty->name_len >= IDG_NAME_CAP || ty->name[ty->name_len] != 0 ||
        ty->limit == 0 || (ty->unique && ty->limit != 1))
      return BROKEN("type %u is malformed", (unsigned)t);
  }
  int rc = check_storage(h);
  if (rc == LP_OK) rc = check_profiles(h);
  if (rc == LP_OK) rc = check_clusters(h);
  return rc;
}
