/*
 * Profile store: rule-computed tags. The view's values are given to the
 * rules as attributes of a tag state built from the view (one profile per
 * profile id, the folded host tag values, the attributes below); the rule
 * tags are evaluated there at as_of and their live values join the view's
 * tag list. The tag state is part of the view (rebuilt with it), so a
 * forgotten profile leaves no computed value behind and "view == rebuild
 * from the facts" covers the computed tags too.
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <string.h>

#include "profiles/profiles_internal.h"

#define DAY INT64_C(86400)
#define DEC_SCALE 6u
#define DEC_ONE INT64_C(1000000)

/* The view's attributes, in definition order (docs/profiles.md). */
enum {
  A_RECENCY, A_FREQUENCY, A_TRANSACTIONS, A_MONETARY, A_R, A_F, A_M, A_SEGMENT, A_LIFECYCLE,
  A_P_ALIVE, A_EXPECTED, A_CLV, A_CLUSTER, A_IDENTIFIERS, A_FIRST_SEEN, A_LAST_SEEN, A_COUNT
};

typedef struct attr_def {
  const char *name;
  uint32_t type, scale;
} attr_def;

static const attr_def attrs[A_COUNT] = {
    {"recency_days", LP_TAGS_INT, 0},       {"frequency", LP_TAGS_INT, 0},
    {"transactions", LP_TAGS_INT, 0},       {"monetary", LP_TAGS_DECIMAL, DEC_SCALE},
    {"r", LP_TAGS_INT, 0},                  {"f", LP_TAGS_INT, 0},
    {"m", LP_TAGS_INT, 0},                  {"segment", LP_TAGS_STRING, 0},
    {"lifecycle", LP_TAGS_STRING, 0},       {"p_alive", LP_TAGS_DECIMAL, DEC_SCALE},
    {"expected_purchases", LP_TAGS_DECIMAL, DEC_SCALE},
    {"clv", LP_TAGS_DECIMAL, DEC_SCALE},    {"cluster", LP_TAGS_INT, 0},
    {"identifiers", LP_TAGS_INT, 0},        {"first_seen", LP_TAGS_TIME, 0},
    {"last_seen", LP_TAGS_TIME, 0},
};

/* Define the attributes `t` lacks; their ids are written to ids (may be
 * NULL). An existing attribute of another type, or a tag of that name, is
 * a conflict. */
static int define_attrs(const lp_profiles *h, lp_tags *t, uint32_t *ids) {
  for (uint32_t i = 0; i < A_COUNT; i++) {
    uint32_t id, type, scale;
    int rc = lp_tags_find_attr(t, attrs[i].name, &id, &type, &scale);
    if (rc == LP_OK && (type != attrs[i].type || scale != attrs[i].scale))
      return lp_error_set(LP_ERR_OF_CONST(h), LP_ECONFLICT,
                          "attribute %s exists with another type", attrs[i].name);
    if (rc != LP_OK && (rc = lp_tags_define_attr(t, attrs[i].name, attrs[i].type, attrs[i].scale, &id)) != LP_OK)
      return prf_fail(h, rc, "view attributes", lp_tags_errmsg(t));
    if (ids != NULL) ids[i] = id;
  }
  return LP_OK;
}

int prf_define_attrs(const lp_profiles *h, lp_tags *t) { return define_attrs(h, t, NULL); }

bool prf_has_rules(const lp_tags *t) {
  uint32_t n = lp_tags_tag_count(t);
  for (uint32_t i = 0; i < n; i++) {
    lp_tags_info info = LP_TAGS_INFO_INIT;
    if (lp_tags_describe(t, i, &info) == LP_OK && !info.retired && info.rule != NULL &&
        info.rule[0] != 0)
      return true;
  }
  return false;
}

/* x in units of 10^-6, rounded half away from zero; false when x is not
 * finite or out of range. Exact steps only (x - trunc(x) is exact). */
static bool to_micro(double x, int64_t *out) {
  double y = x * (double)DEC_ONE;
  if (!(y > -9.0e18 && y < 9.0e18)) return false;
  int64_t t = (int64_t)y;
  double frac = y - (double)t;
  if (frac >= 0.5) t++;
  else if (frac <= -0.5) t--;
  *out = t;
  return true;
}

/* minor / scale in units of 10^-6, rounded half away from zero. */
static bool money_micro(int64_t minor, int64_t scale, int64_t *out) {
  int64_t q = minor / scale, r = minor % scale; /* |r| < scale <= 10^6 */
  int64_t num = r * DEC_ONE, d = num / scale, rem = num % scale;
  if (2 * (rem < 0 ? -rem : rem) >= scale) d += num < 0 ? -1 : 1;
  int64_t v;
  if (lp_i64_mul_overflow(q, DEC_ONE, &v) || lp_i64_add_overflow(v, d, &v) || v == INT64_MIN)
    return false;
  *out = v;
  return true;
}

static int tfail(const lp_profiles *h, int rc, const lp_tags *t) {
  return prf_fail(h, rc, "view tags", lp_tags_errmsg(t));
}

static int set_int(const lp_profiles *h, lp_tags *t, uint64_t pid, uint32_t attr, int64_t v) {
  int rc = lp_tags_set_attr_int(t, pid, attr, v);
  return rc == LP_OK ? LP_OK : tfail(h, rc, t);
}

static int set_str(const lp_profiles *h, lp_tags *t, uint64_t pid, uint32_t attr, const char *s) {
  int rc = lp_tags_set_attr_string(t, pid, attr, s, strlen(s));
  return rc == LP_OK ? LP_OK : tfail(h, rc, t);
}

static bool name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '/' || c == '.' || (unsigned char)c >= 0x80;
}

/* Whether `name` occurs in `text` as a whole name (an over-approximation
 * of "the rule uses it": a string literal may contain it too). */
static bool mentions(const char *text, const char *name) {
  size_t n = strlen(name);
  for (const char *p = strstr(text, name); p != NULL; p = strstr(p + 1, name))
    if ((p == text || !name_char(p[-1])) && !name_char(p[n])) return true;
  return false;
}

/* used[k]: attribute k is set in the state. Every one for the tags view
 * (a host's queries may use any), else the ones a rule names: the others
 * cannot change a computed value. */
static void used_attrs(const lp_profiles *h, const lp_tags *t, bool *used) {
  for (uint32_t k = 0; k < A_COUNT; k++) used[k] = h->want_tags_view;
  if (h->want_tags_view) return;
  uint32_t n = lp_tags_tag_count(t);
  for (uint32_t i = 0; i < n; i++) {
    lp_tags_info info = LP_TAGS_INFO_INIT;
    if (lp_tags_describe(t, i, &info) != LP_OK || info.retired || info.rule[0] == 0) continue;
    for (uint32_t k = 0; k < A_COUNT; k++) used[k] |= mentions(info.rule, attrs[k].name);
  }
}

/* The attributes of profile i (those in use). */
static int profile_attrs(const lp_profiles *h, const prf_view *v, lp_tags *t, const uint32_t *a,
                         const bool *used, size_t i) {
  uint64_t pid = v->pids[i];
  int rc = LP_OK;
  if (used[A_IDENTIFIERS]) {
    size_t nid;
    rc = lp_idgraph_profile_identifiers(h->g, pid, NULL, 0, &nid);
    if (rc != LP_OK) return prf_fail(h, rc, "view", lp_idgraph_errmsg(h->g));
    if ((rc = set_int(h, t, pid, a[A_IDENTIFIERS], (int64_t)nid)) != LP_OK) return rc;
  }
  if (used[A_LIFECYCLE] && (rc = set_str(h, t, pid, a[A_LIFECYCLE], lp_rfm_stage_name(v->stage[i]))) != LP_OK)
    return rc;
  if (v->row[i] == UINT32_MAX) {
    if (used[A_FREQUENCY] && (rc = set_int(h, t, pid, a[A_FREQUENCY], 0)) != LP_OK) return rc;
    if (used[A_TRANSACTIONS] && (rc = set_int(h, t, pid, a[A_TRANSACTIONS], 0)) != LP_OK) return rc;
    return used[A_MONETARY] ? set_int(h, t, pid, a[A_MONETARY], 0) : LP_OK;
  }
  const lp_rfm_row *row = &v->rows[v->row[i]];
  lp_rfm_profile p = LP_RFM_PROFILE_INIT;
  if (used[A_TRANSACTIONS] || used[A_MONETARY] || used[A_FIRST_SEEN] || used[A_LAST_SEEN] ||
      used[A_FREQUENCY]) {
    rc = lp_rfm_get(v->rfm, pid, &p);
    if (rc != LP_OK) return prf_fail(h, rc, "view", lp_rfm_errmsg(v->rfm));
  }
  int64_t mon;
  const int64_t ints[][2] = {{A_RECENCY, row->recency / DAY}, {A_FREQUENCY, (int64_t)p.orders},
                             {A_TRANSACTIONS, (int64_t)p.transactions}, {A_R, row->r},
                             {A_F, row->f}, {A_M, row->m}, {A_FIRST_SEEN, p.first_ts},
                             {A_LAST_SEEN, p.last_ts}};
  for (size_t k = 0; rc == LP_OK && k < sizeof ints / sizeof ints[0]; k++)
    if (used[ints[k][0]] && ints[k][1] != INT64_MIN) rc = set_int(h, t, pid, a[ints[k][0]], ints[k][1]);
  if (rc == LP_OK && used[A_MONETARY] && money_micro(p.monetary, h->money_scale, &mon))
    rc = set_int(h, t, pid, a[A_MONETARY], mon);
  if (rc == LP_OK && used[A_SEGMENT])
    rc = set_str(h, t, pid, a[A_SEGMENT],
                 v->segmap != NULL ? lp_rfm_segmap_name(v->segmap, row->segment) : "others");
  int64_t d;
  if (rc == LP_OK && (v->flags[i] & LP_PROFILES_VIEW_HAS_CLV)) {
    if (used[A_P_ALIVE] && to_micro(v->p_alive[i], &d)) rc = set_int(h, t, pid, a[A_P_ALIVE], d);
    if (rc == LP_OK && used[A_EXPECTED] && to_micro(v->expected[i], &d))
      rc = set_int(h, t, pid, a[A_EXPECTED], d);
  }
  if (rc == LP_OK && used[A_CLV] && (v->flags[i] & LP_PROFILES_VIEW_HAS_VALUE) && to_micro(v->clv[i], &d))
    rc = set_int(h, t, pid, a[A_CLV], d);
  if (rc == LP_OK && used[A_CLUSTER] && (v->flags[i] & LP_PROFILES_VIEW_HAS_CLUSTER))
    rc = set_int(h, t, pid, a[A_CLUSTER], v->cluster[i]);
  return rc;
}

/* The tag state of the view: profiles, attributes, folded host values,
 * evaluated rules. */
static int build_state(const lp_profiles *h, const prf_view *v, lp_tags **out) {
  lp_tags *t = NULL;
  int rc = prf_copy(h, prf_kind_of(PRF_KIND_TAXONOMY), h->tax, (void **)&t);
  if (rc != LP_OK) return rc;
  uint32_t a[A_COUNT];
  bool used[A_COUNT];
  rc = define_attrs(h, t, a);
  used_attrs(h, t, used);
  for (size_t i = 0; rc == LP_OK && i < v->n; i++) {
    if ((rc = lp_tags_add_profile(t, v->pids[i])) != LP_OK) rc = tfail(h, rc, t);
    else rc = profile_attrs(h, v, t, a, used, i);
  }
  for (size_t k = 0; rc == LP_OK && k < v->tagv.len; k++) {
    const prf_tagv *tv = lp_vec_at(&v->tagv, k);
    lp_tags_value x = LP_TAGS_VALUE_INIT;
    x.num = tv->t.num;
    x.str = tv->t.str;
    x.len = tv->t.len;
    x.set_at = tv->t.set_at;
    x.expires_at = tv->t.expires_at;
    if ((rc = lp_tags_set(t, tv->pid, tv->t.tag_id, &x)) != LP_OK) rc = tfail(h, rc, t);
  }
  if (rc == LP_OK && (rc = lp_tags_evaluate(t, h->as_of)) != LP_OK) rc = tfail(h, rc, t);
  if (rc != LP_OK) {
    lp_tags_free(t);
    return rc;
  }
  *out = t;
  return LP_OK;
}

/* One rule tag's computed values: its members (ascending ids), found
 * through an audience when the tag can be queried for itself (no purpose:
 * consent would filter it), else NULL: every profile is asked. */
typedef struct rule_col {
  uint32_t tag;
  uint64_t *ids;
  size_t n, at, cap;
} rule_col;

static bool plain_name(const char *s) {
  for (; *s; s++)
    if (*s == '`') return false;
  return true;
}

static int rule_members(const lp_profiles *h, lp_tags *t, const lp_tags_info *info, rule_col *c) {
  c->ids = NULL;
  c->n = c->at = c->cap = 0;
  if (info->purpose[0] != 0 || !plain_name(info->name)) return LP_OK;
  char text[LP_TAGS_MAX_NAME + 3];
  snprintf(text, sizeof text, "`%s`", info->name);
  lp_tags_query q = LP_TAGS_QUERY_INIT;
  q.text = text;
  q.as_of = h->as_of;
  lp_tags_audience *a;
  int rc = lp_tags_audience_create(t, &q, &a);
  if (rc != LP_OK) return tfail(h, rc, t);
  size_t n = (size_t)lp_tags_audience_size(a), got = 0;
  rc = lp_mem_alloc_array(&h->mem, n + 1, sizeof *c->ids, (void **)&c->ids);
  if (rc == LP_OK) {
    c->cap = n + 1;
    while (c->n < n && (rc = lp_tags_audience_next(a, c->ids + c->n, n - c->n, &got)) == LP_OK && got > 0)
      c->n += got;
  } else {
    rc = lp_error_set(LP_ERR_OF_CONST(h), LP_ENOMEM, "view: out of memory");
  }
  lp_tags_audience_free(a);
  return rc;
}

static void rule_cols_free(const lp_profiles *h, rule_col *cols, size_t used, size_t n) {
  for (size_t i = 0; i < used; i++)
    if (cols[i].ids != NULL) lp_mem_free_array(&h->mem, cols[i].ids, cols[i].cap, sizeof *cols[i].ids);
  lp_mem_free_array(&h->mem, cols, n + 1, sizeof *cols);
}

/* Whether profile pid may hold a computed value of column c (members are
 * visited in ascending order, as the profiles are). */
static bool may_hold(rule_col *c, uint64_t pid) {
  if (c->cap == 0) return true; /* no member list: ask */
  while (c->at < c->n && c->ids[c->at] < pid) c->at++;
  return c->at < c->n && c->ids[c->at] == pid;
}

/* Merge the live computed values into the view's tag list (ascending
 * (profile, tag)), reading them from the state. */
static int merge_computed(const lp_profiles *h, prf_view *v, lp_tags *t) {
  uint32_t ntags = lp_tags_tag_count(t), nrules = 0;
  rule_col *cols;
  int rc = lp_mem_alloc_array(&h->mem, (size_t)ntags + 1, sizeof *cols, (void **)&cols);
  if (rc != LP_OK) return lp_error_set(LP_ERR_OF_CONST(h), LP_ENOMEM, "view: out of memory");
  /* no minimum size on the view's own membership questions (the
   * taxonomy's is restored for the host's queries) */
  int64_t min_size = 0;
  if ((rc = lp_tags_get_int(t, LP_TAGS_MIN_AUDIENCE_SIZE, &min_size)) == LP_OK)
    rc = lp_tags_set_int(t, LP_TAGS_MIN_AUDIENCE_SIZE, 0);
  if (rc != LP_OK) rc = tfail(h, rc, t);
  for (uint32_t i = 0; rc == LP_OK && i < ntags; i++) {
    lp_tags_info info = LP_TAGS_INFO_INIT;
    if (lp_tags_describe(t, i, &info) != LP_OK || info.retired || info.rule[0] == 0) continue;
    cols[nrules].tag = i;
    rc = rule_members(h, t, &info, &cols[nrules]);
    nrules++; /* its ids (or NULL) are set even on failure */
  }
  lp_vec nt;
  lp_vec_init(&nt, sizeof(prf_tagv));
  if (rc == LP_OK && lp_vec_reserve(&nt, &h->mem, v->tagv.len) != LP_OK)
    rc = lp_error_set(LP_ERR_OF_CONST(h), LP_ENOMEM, "view: out of memory");
  for (size_t i = 0; rc == LP_OK && i < v->n; i++) {
    size_t a = v->tag_first[i], b = v->tag_first[i + 1];
    v->tag_first[i] = nt.len;
    uint32_t r = 0;
    for (;;) {
      const prf_tagv *host = a < b ? lp_vec_at(&v->tagv, a) : NULL;
      uint32_t next = r < nrules ? cols[r].tag : UINT32_MAX;
      if (host == NULL && next == UINT32_MAX) break;
      prf_tagv tv;
      if (host != NULL && host->t.tag_id < next) {
        tv = *host;
        a++;
      } else {
        lp_tags_value x = LP_TAGS_VALUE_INIT;
        bool live = may_hold(&cols[r++], v->pids[i]) &&
                    lp_tags_get(t, v->pids[i], next, h->as_of, &x) == LP_OK;
        if (!live) continue;
        memset(&tv, 0, sizeof tv);
        tv.pid = v->pids[i];
        tv.t.tag_id = next;
        tv.t.type = x.type;
        tv.t.num = x.num;
        tv.t.str = x.len > 0 ? x.str : NULL;
        tv.t.len = x.len;
        tv.t.set_at = x.set_at;
        tv.t.expires_at = x.expires_at;
      }
      if (lp_vec_push(&nt, &h->mem, &tv) != LP_OK) {
        rc = lp_error_set(LP_ERR_OF_CONST(h), LP_ENOMEM, "view: out of memory");
        break;
      }
    }
  }
  rule_cols_free(h, cols, nrules, ntags);
  if (rc == LP_OK && (rc = lp_tags_set_int(t, LP_TAGS_MIN_AUDIENCE_SIZE, min_size)) != LP_OK)
    rc = tfail(h, rc, t);
  if (rc != LP_OK) {
    lp_vec_free(&nt, &h->mem);
    return rc;
  }
  v->tag_first[v->n] = nt.len;
  lp_vec_free(&v->tagv, &h->mem);
  v->tagv = nt;
  return LP_OK;
}

int prf_view_rules(const lp_profiles *h, prf_view *v) {
  bool rules = prf_has_rules(h->tax);
  if (!rules && !h->want_tags_view) return LP_OK;
  lp_tags *t = NULL;
  int rc = build_state(h, v, &t);
  if (rc == LP_OK && rules) rc = merge_computed(h, v, t);
  if (rc != LP_OK) {
    lp_tags_free(t);
    return rc;
  }
  v->tags = t;
  v->tags_full = h->want_tags_view;
  return LP_OK;
}

int lp_profiles_tags_view(const lp_profiles *h, const lp_tags **out) {
  PRF_GUARD(h, "lp_profiles_tags_view");
  if (out == NULL) return lp_error_set(LP_ERR_OF_CONST(h), LP_EINVAL, "tags_view: out is NULL");
  lp_profiles *mh = PRF_MUT(h);
  if (h->view.valid && !h->view.tags_full) {
    mh->want_tags_view = true;
    mh->view.valid = false; /* rebuild once with the tag state */
  }
  bool was = h->want_tags_view;
  mh->want_tags_view = true;
  int rc = prf_view_ensure(h);
  if (rc != LP_OK) {
    mh->want_tags_view = was;
    return rc;
  }
  *out = h->view.tags;
  return LP_OK;
}
