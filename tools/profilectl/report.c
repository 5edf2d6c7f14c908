/*
 * profilectl - the HTML report of 'run' and 'demo': inline CSS and SVG,
 * no script, deterministic bytes.
 * SPDX-License-Identifier: MIT
 */
#define _POSIX_C_SOURCE 200809L
#include "report.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "decimal.h"
#include "radix.h"
#include "timeparse.h"

#define OTHERS_SLOT (PCTL_REPORT_MAX_SEGMENTS - 1u)
#define CLV_BUCKETS 20u

/* Stages in funnel order (prospects first, the lapsed last). */
static const uint32_t funnel_order[] = {
    LP_RFM_STAGE_PROSPECT, LP_RFM_STAGE_NEW,     LP_RFM_STAGE_ACTIVE, LP_RFM_STAGE_REACTIVATED,
    LP_RFM_STAGE_AT_RISK,  LP_RFM_STAGE_DORMANT, LP_RFM_STAGE_CHURNED};

int pctl_report_init(pctl_report *r) {
  memset(r, 0, sizeof *r);
  r->money_decimals = 2;
  r->bins = 5;
  r->drift_days = 30;
  r->clv_horizon = 365;
  r->cell_votes = calloc((size_t)PCTL_REPORT_MAX_BINS * PCTL_REPORT_MAX_BINS *
                             PCTL_REPORT_MAX_SEGMENTS,
                         sizeof *r->cell_votes);
  if (r->cell_votes == NULL) {
    pctl_error("report: %s", strerror(ENOMEM));
    return PCTL_EXIT_FAILURE;
  }
  return PCTL_EXIT_OK;
}

void pctl_report_free(pctl_report *r) {
  if (r == NULL) return;
  free(r->clv);
  free(r->cell_votes);
  for (size_t i = 0; r->tag_names != NULL && i < r->ntags; i++) free(r->tag_names[i]);
  free(r->tag_names);
  free(r->tag_count);
  memset(r, 0, sizeof *r);
}

int pctl_report_set_tags(pctl_report *r, const char *const *names, size_t n) {
  r->tag_names = calloc(n ? n : 1, sizeof *r->tag_names);
  r->tag_count = calloc(n ? n : 1, sizeof *r->tag_count);
  if (r->tag_names == NULL || r->tag_count == NULL) {
    pctl_error("report: %s", strerror(ENOMEM));
    return PCTL_EXIT_FAILURE;
  }
  r->ntags = n;
  for (size_t i = 0; i < n; i++) {
    size_t len = strlen(names[i]) + 1;
    r->tag_names[i] = malloc(len);
    if (r->tag_names[i] == NULL) {
      pctl_error("report: %s", strerror(ENOMEM));
      return PCTL_EXIT_FAILURE;
    }
    memcpy(r->tag_names[i], names[i], len);
  }
  return PCTL_EXIT_OK;
}

static void add_big(pctl_report *r, uint64_t id, uint64_t n) {
  /* sorted by identifiers descending, then id ascending; ids arrive in
   * ascending order, so an equal count never displaces an earlier one */
  size_t pos = r->nbig;
  while (pos > 0 && r->big[pos - 1].identifiers < n) pos--;
  if (pos >= PCTL_REPORT_TOP) return;
  size_t last = r->nbig < PCTL_REPORT_TOP ? r->nbig : PCTL_REPORT_TOP - 1;
  memmove(&r->big[pos + 1], &r->big[pos], (last - pos) * sizeof r->big[0]);
  r->big[pos].profile_id = id;
  r->big[pos].identifiers = n;
  if (r->nbig < PCTL_REPORT_TOP) r->nbig++;
}

static size_t size_bucket(uint64_t n) {
  if (n <= 4) return n == 0 ? 0 : (size_t)(n - 1);
  if (n < 10) return 4;
  return n < 20 ? 5 : 6;
}

void pctl_report_add(pctl_report *r, const lp_profiles_view *v, uint64_t identifiers,
                     uint32_t later_stage) {
  r->profiles++;
  add_big(r, v->profile_id, identifiers);
  r->sizes[size_bucket(identifiers)]++;
  uint32_t stage = v->stage < PCTL_REPORT_STAGES ? v->stage : LP_RFM_STAGE_NONE;
  r->stages[stage]++;
  r->drift[stage][later_stage < PCTL_REPORT_STAGES ? later_stage : LP_RFM_STAGE_NONE]++;
  if ((v->flags & LP_PROFILES_VIEW_HAS_ORDERS) == 0) return;
  r->buyers++;
  r->revenue += v->monetary;
  uint32_t slot = v->segment < OTHERS_SLOT ? v->segment : OTHERS_SLOT;
  pctl_report_segment *s = &r->segments[slot];
  if (s->customers == 0)
    snprintf(s->name, sizeof s->name, "%s", v->segment_name != NULL ? v->segment_name : "others");
  s->customers++;
  s->revenue += v->monetary;
  if (slot != OTHERS_SLOT && slot + 1 > r->nsegments) r->nsegments = slot + 1;
  if (r->bins >= 1 && r->bins <= PCTL_REPORT_MAX_BINS && v->r >= 1 && v->r <= r->bins &&
      v->f >= 1 && v->f <= r->bins) {
    r->cell_customers[v->r - 1][v->f - 1]++;
    r->cell_revenue[v->r - 1][v->f - 1] += v->monetary;
    size_t cell = (size_t)(v->r - 1) * PCTL_REPORT_MAX_BINS + (v->f - 1);
    r->cell_votes[cell * PCTL_REPORT_MAX_SEGMENTS + slot]++;
  }
  if ((v->flags & LP_PROFILES_VIEW_HAS_CLV) != 0 && isfinite(v->p_alive)) {
    r->p_alive_sum += v->p_alive;
    r->p_alive_n++;
  }
  if ((v->flags & LP_PROFILES_VIEW_HAS_VALUE) != 0 && isfinite(v->clv)) {
    if (r->nclv == r->clv_cap) {
      size_t cap = r->clv_cap ? 2 * r->clv_cap : 4096;
      double *p = realloc(r->clv, cap * sizeof *p);
      if (p == NULL) {
        r->failed = true;
        return;
      }
      r->clv = p;
      r->clv_cap = cap;
    }
    r->clv[r->nclv++] = v->clv;
  }
  if ((v->flags & LP_PROFILES_VIEW_HAS_CLUSTER) != 0 && v->cluster < r->k &&
      v->cluster < PCTL_REPORT_MAX_K) {
    r->cluster_size[v->cluster]++;
    r->cluster_revenue[v->cluster] += v->monetary;
    double *sum = &r->cluster_sum[v->cluster * LP_PROFILES_FEATURES];
    sum[0] += (double)v->recency / 86400.0;
    sum[1] += (double)v->orders;
    sum[2] += (double)v->monetary;
    if (v->cluster + 1 > r->clusters_seen) r->clusters_seen = v->cluster + 1;
  }
}

void pctl_report_add_tag(pctl_report *r, size_t tag) {
  if (tag < r->ntags) r->tag_count[tag]++;
}

/* ---- text helpers ---- */

static void esc(FILE *f, const char *s) {
  for (; *s; s++) {
    switch (*s) {
      case '&': fputs("&amp;", f); break;
      case '<': fputs("&lt;", f); break;
      case '>': fputs("&gt;", f); break;
      case '"': fputs("&quot;", f); break;
      case '\'': fputs("&#39;", f); break;
      default: fputc(*s, f); break;
    }
  }
}

/* 1234567 -> "1,234,567" */
static const char *count(char buf[32], uint64_t v) {
  char tmp[24];
  int n = snprintf(tmp, sizeof tmp, "%" PRIu64, v);
  size_t o = 0;
  for (int i = 0; i < n; i++) {
    if (i > 0 && (n - i) % 3 == 0) buf[o++] = ',';
    buf[o++] = tmp[i];
  }
  buf[o] = '\0';
  return buf;
}

static const char *money(char buf[32], const pctl_report *r, int64_t minor) {
  if (pctl_decimal_format(minor, r->money_decimals, buf, 32) != LP_OK) snprintf(buf, 32, "?");
  return buf;
}

static double share(double part, double whole) { return whole != 0.0 ? 100.0 * part / whole : 0.0; }

static const char *pct(char buf[32], double part, double whole) {
  snprintf(buf, 32, "%.1f%%", share(part, whole));
  return buf;
}

static void what(FILE *f, const char *sentence) {
  fputs("<p class=\"what\">", f);
  esc(f, sentence);
  fputs("</p>\n", f);
}

/* Horizontal bars: one row per label, bar length by value, the text after it. */
static void hbars(FILE *f, const char *title, size_t n, const char *const *labels,
                  const double *values, const char *const *texts) {
  double max = 0.0;
  for (size_t i = 0; i < n; i++)
    if (values[i] > max) max = values[i];
  const int row = 22, label_w = 170, bar_w = 340;
  int h = (int)n * row + 8;
  fprintf(f, "<svg class=\"chart\" role=\"img\" viewBox=\"0 0 640 %d\" width=\"640\" height=\"%d\">"
             "<title>", h, h);
  esc(f, title);
  fputs("</title>\n", f);
  for (size_t i = 0; i < n; i++) {
    int y = 4 + (int)i * row;
    double w = max > 0.0 ? bar_w * values[i] / max : 0.0;
    if (values[i] > 0.0 && w < 1.0) w = 1.0;
    fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", label_w - 8, y + 15);
    esc(f, labels[i]);
    fprintf(f, "</text><rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" class=\"bar\"/>"
               "<text x=\"%.1f\" y=\"%d\">",
            label_w, y + 2, w, row - 6, label_w + w + 6, y + 15);
    esc(f, texts[i]);
    fputs("</text>\n", f);
  }
  fputs("</svg>\n", f);
}

/* ---- sections ---- */

static void section_identity(FILE *f, const pctl_report *r) {
  char a[32], b[32];
  const lp_idgraph_stats *s = &r->identity;
  fputs("<section id=\"identity\"><h2>Identity</h2>\n", f);
  what(f, "Identifiers seen together in an event were merged into profiles; the bars show the "
          "values the graph refused and why, so a rise in one reason points at one feed.");
  fputs("<table class=\"kv\">\n", f);
  fprintf(f, "<tr><th>Profiles</th><td>%s</td></tr>\n", count(a, s->profiles));
  fprintf(f, "<tr><th>Identifiers</th><td>%s</td></tr>\n", count(a, s->identifiers));
  fprintf(f, "<tr><th>Events stored</th><td>%s</td></tr>\n", count(a, s->events));
  fprintf(f, "<tr><th>Merges (identifiers joined to another)</th><td>%s</td></tr>\n",
          count(a, s->merges));
  fprintf(f, "<tr><th>Facts refused as erased</th><td>%s</td></tr>\n", count(a, r->erased_facts));
  fputs("</table>\n", f);
  const char *labels[] = {"conflict (unique/limit)", "blocked value", "invalid value",
                          "quarantined", "erased (tombstone)"};
  double values[] = {(double)s->conflicts, (double)s->blocked, (double)s->invalid,
                     (double)s->quarantined, (double)s->tombstoned};
  char texts[5][32];
  const char *tp[5];
  for (size_t i = 0; i < 5; i++) tp[i] = count(texts[i], (uint64_t)values[i]);
  fputs("<h3>Refusals by reason</h3>\n", f);
  hbars(f, "Refusals by reason", 5, labels, values, tp);

  fputs("<h3>Profiles by number of identifiers</h3>\n", f);
  what(f, "How many identifiers each profile holds: most people have a few; a long tail of "
          "large profiles can mean a shared device or an over-merge.");
  const char *slabels[PCTL_REPORT_SIZE_BUCKETS] = {"1", "2", "3", "4", "5-9", "10-19", "20+"};
  double sv[PCTL_REPORT_SIZE_BUCKETS];
  char st[PCTL_REPORT_SIZE_BUCKETS][32];
  const char *stp[PCTL_REPORT_SIZE_BUCKETS];
  for (size_t i = 0; i < PCTL_REPORT_SIZE_BUCKETS; i++) {
    sv[i] = (double)r->sizes[i];
    stp[i] = count(st[i], r->sizes[i]);
  }
  hbars(f, "Profiles by number of identifiers", PCTL_REPORT_SIZE_BUCKETS, slabels, sv, stp);

  fputs("<h3>Largest profiles</h3>\n", f);
  what(f, "The profiles with the most identifiers, worth a look with 'profilectl identity "
          "--explain' when one is far larger than the rest.");
  fputs("<table><tr><th>profile_id</th><th>identifiers</th></tr>\n", f);
  for (size_t i = 0; i < r->nbig; i++)
    fprintf(f, "<tr><td>%" PRIu64 "</td><td>%s</td></tr>\n", r->big[i].profile_id,
            count(b, r->big[i].identifiers));
  fputs("</table></section>\n", f);
}

static uint32_t cell_label(const pctl_report *r, uint32_t ri, uint32_t fi) {
  const uint32_t *v = &r->cell_votes[((size_t)ri * PCTL_REPORT_MAX_BINS + fi) *
                                     PCTL_REPORT_MAX_SEGMENTS];
  uint32_t best = OTHERS_SLOT;
  for (uint32_t s = 0; s < PCTL_REPORT_MAX_SEGMENTS; s++)
    if (v[s] > 0 && (best == OTHERS_SLOT || v[s] > v[best])) best = s;
  return best;
}

static void heat_color(double t, char out[16]) {
  /* from #eef3fa (empty) to #1d4f91 (the fullest cell) */
  int r0 = 0xee, g0 = 0xf3, b0 = 0xfa, r1 = 0x1d, g1 = 0x4f, b1 = 0x91;
  int r = (int)lround(r0 + (r1 - r0) * t), g = (int)lround(g0 + (g1 - g0) * t),
      b = (int)lround(b0 + (b1 - b0) * t);
  snprintf(out, 16, "#%02x%02x%02x", r, g, b);
}

static void section_rfm(FILE *f, const pctl_report *r) {
  char a[32], b[32], c[32];
  fputs("<section id=\"rfm\"><h2>RFM</h2>\n", f);
  fprintf(f, "<p>%s of %s profiles have an order; revenue %s.</p>\n", count(a, r->buyers),
          count(b, r->profiles), money(c, r, r->revenue));
  if (r->bins >= 1 && r->bins <= PCTL_REPORT_MAX_BINS && r->buyers > 0) {
    what(f, "Customers by recency score (rows, most recent at the top) and frequency score "
            "(columns); each cell names its segment and gives its customers and share of "
            "revenue, darker cells hold more customers.");
    uint64_t max = 0;
    for (uint32_t i = 0; i < r->bins; i++)
      for (uint32_t j = 0; j < r->bins; j++)
        if (r->cell_customers[i][j] > max) max = r->cell_customers[i][j];
    const int cw = 104, ch = 58, left = 40, top = 8;
    int w = left + (int)r->bins * cw + 8, h = top + (int)r->bins * ch + 40;
    fprintf(f, "<svg class=\"chart\" role=\"img\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\">"
               "<title>RFM R x F heatmap</title>\n", w, h, w, h);
    for (uint32_t row = 0; row < r->bins; row++) {
      uint32_t ri = r->bins - 1 - row; /* R = bins at the top */
      int y = top + (int)row * ch;
      fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">R%u</text>\n", left - 6,
              y + ch / 2 + 4, ri + 1);
      for (uint32_t fi = 0; fi < r->bins; fi++) {
        int x = left + (int)fi * cw;
        uint64_t n = r->cell_customers[ri][fi];
        double t = max > 0 ? (double)n / (double)max : 0.0;
        char col[16];
        heat_color(t, col);
        fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\" class=\"cell\"/>",
                x, y, cw - 2, ch - 2, col);
        const char *cls = t > 0.55 ? "light" : "dark";
        if (n > 0) {
          uint32_t s = cell_label(r, ri, fi);
          fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"%s small\">", x + 6, y + 16, cls);
          esc(f, r->segments[s].name);
          fprintf(f, "</text><text x=\"%d\" y=\"%d\" class=\"%s\">%s</text>"
                     "<text x=\"%d\" y=\"%d\" class=\"%s small\">%s rev.</text>",
                  x + 6, y + 33, cls, count(a, n), x + 6, y + 49, cls,
                  pct(b, (double)r->cell_revenue[ri][fi], (double)r->revenue));
        }
        fputc('\n', f);
      }
    }
    for (uint32_t fi = 0; fi < r->bins; fi++)
      fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">F%u</text>", left + (int)fi * cw + cw / 2,
              top + (int)r->bins * ch + 16, fi + 1);
    fputs("\n</svg>\n", f);
  }
  fputs("<h3>Segments</h3>\n", f);
  what(f, "Customers and revenue of each RFM segment; the share column is the segment's part "
          "of all revenue.");
  fputs("<table><tr><th>segment</th><th>customers</th><th>revenue</th><th>revenue share</th></tr>\n", f);
  for (size_t i = 0; i <= r->nsegments; i++) {
    const pctl_report_segment *s = &r->segments[i < r->nsegments ? i : OTHERS_SLOT];
    if (s->customers == 0) continue;
    fputs("<tr><td>", f);
    esc(f, s->name);
    fprintf(f, "</td><td>%s</td><td>%s</td><td>%s</td></tr>\n", count(a, s->customers),
            money(b, r, s->revenue), pct(c, (double)s->revenue, (double)r->revenue));
  }
  fputs("</table></section>\n", f);
}

static void section_lifecycle(FILE *f, const pctl_report *r) {
  char a[32], b[32];
  fputs("<section id=\"lifecycle\"><h2>Lifecycle</h2>\n", f);
  what(f, "The funnel counts profiles in each lifecycle stage at the report's date, from "
          "prospects (no order yet) to churned customers.");
  size_t n = PCTL_ARRAY_LEN(funnel_order);
  const char *labels[PCTL_ARRAY_LEN(funnel_order)];
  double values[PCTL_ARRAY_LEN(funnel_order)];
  char texts[PCTL_ARRAY_LEN(funnel_order)][72];
  const char *tp[PCTL_ARRAY_LEN(funnel_order)];
  for (size_t i = 0; i < n; i++) {
    uint32_t s = funnel_order[i];
    labels[i] = lp_rfm_stage_name(s);
    values[i] = (double)r->stages[s];
    snprintf(texts[i], sizeof texts[i], "%s (%s)", count(a, r->stages[s]),
             pct(b, (double)r->stages[s], (double)r->profiles));
    tp[i] = texts[i];
  }
  hbars(f, "Profiles per lifecycle stage", n, labels, values, tp);
  fprintf(f, "<h3>Transitions after %" PRId64 " days without an order</h3>\n", r->drift_days);
  char sentence[256];
  snprintf(sentence, sizeof sentence,
           "Where the profiles of each stage (rows) will be in %" PRId64
           " days if they place no new order (columns): the customers about to lapse are "
           "the ones to reach now.", r->drift_days);
  what(f, sentence);
  fputs("<table><tr><th>now \\ later</th>", f);
  for (size_t j = 0; j < n; j++) fprintf(f, "<th>%s</th>", lp_rfm_stage_name(funnel_order[j]));
  fputs("</tr>\n", f);
  for (size_t i = 0; i < n; i++) {
    uint32_t s = funnel_order[i];
    if (r->stages[s] == 0) continue;
    fprintf(f, "<tr><th>%s</th>", lp_rfm_stage_name(s));
    for (size_t j = 0; j < n; j++) {
      uint64_t v = r->drift[s][funnel_order[j]];
      fprintf(f, "<td%s>%s</td>", v > 0 && j != i ? " class=\"moved\"" : "", count(a, v));
    }
    fputs("</tr>\n", f);
  }
  fputs("</table></section>\n", f);
}

static int cmp_double_desc(const void *x, const void *y) {
  double a = *(const double *)x, b = *(const double *)y;
  return a < b ? 1 : a > b ? -1 : 0;
}

/* A double's descending sort key: unsigned order of the keys is the
 * descending order of the values (finite ones), -0.0 and 0.0 alike. */
static uint64_t desc_key(double v) {
  uint64_t u;
  if (v == 0.0) v = 0.0;
  memcpy(&u, &v, sizeof u);
  u = (u >> 63) != 0 ? ~u : u | (UINT64_C(1) << 63);
  return ~u;
}

/* Finite values in descending order, equal ones in their first order (a
 * radix sort of the keys; qsort where its memory is not to be had). */
static void sort_desc(double *v, size_t n) {
  pctl_radix_item *a = malloc((n ? n : 1) * sizeof *a);
  for (size_t i = 0; a != NULL && i < n; i++) {
    a[i].key = desc_key(v[i]);
    a[i].v.num = v[i];
  }
  if (a == NULL || pctl_radix_sort(a, n) != 0) {
    qsort(v, n, sizeof *v, cmp_double_desc);
  } else {
    for (size_t i = 0; i < n; i++) v[i] = a[i].v.num;
  }
  free(a);
}

/* The paragraph of a section without a figure; closes the section. */
static void absent(FILE *f, const char *what_is_missing, const char *why) {
  fprintf(f, "<p>%s: ", what_is_missing);
  esc(f, why);
  fputs(".</p></section>\n", f);
}

static void section_clv(FILE *f, pctl_report *r) {
  char a[32], b[32];
  fputs("<section id=\"clv\"><h2>Customer lifetime value</h2>\n", f);
  if (r->clv_model == NULL || r->nclv == 0) {
    absent(f, "No CLV", r->clv_note != NULL ? r->clv_note : "no customer could be valued");
    return;
  }
  sort_desc(r->clv, r->nclv);
  double total = 0.0, top = 0.0;
  size_t ntop = (r->nclv + 9) / 10;
  for (size_t i = 0; i < r->nclv; i++) {
    total += r->clv[i];
    if (i < ntop) top += r->clv[i];
  }
  fputs("<p>Model: ", f);
  esc(f, r->clv_model);
  fprintf(f, "; horizon %u days; %s customers valued; mean P(alive) %.3f.</p>\n", r->clv_horizon,
          count(a, r->nclv), r->p_alive_n ? r->p_alive_sum / (double)r->p_alive_n : 0.0);
  fprintf(f, "<p class=\"big\">The top 10%% of customers (%s) hold <b>%s</b> of the expected "
             "value.</p>\n", count(a, ntop), pct(b, top, total));
  what(f, "Customers by expected value over the horizon, in equal-width bands up to the 99th "
          "percentile (the last band holds everyone above it).");
  double lo = r->clv[r->nclv - 1] < 0.0 ? r->clv[r->nclv - 1] : 0.0;
  double hi = r->clv[r->nclv / 100];
  if (!(hi > lo)) hi = r->clv[0] > lo ? r->clv[0] : lo + 1.0;
  uint64_t hist[CLV_BUCKETS] = {0};
  double width = (hi - lo) / (CLV_BUCKETS - 1);
  for (size_t i = 0; i < r->nclv; i++) {
    double t = (r->clv[i] - lo) / width;
    size_t k = t >= (double)(CLV_BUCKETS - 1) ? CLV_BUCKETS - 1 : (size_t)(t < 0 ? 0 : t);
    hist[k]++;
  }
  uint64_t max = 0;
  for (size_t k = 0; k < CLV_BUCKETS; k++)
    if (hist[k] > max) max = hist[k];
  const int left = 50, bw = 28, ph = 160, top_y = 10;
  int w = left + (int)CLV_BUCKETS * bw + 10, h = top_y + ph + 44;
  fprintf(f, "<svg class=\"chart\" role=\"img\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\">"
             "<title>CLV distribution</title>\n", w, h, w, h);
  for (size_t k = 0; k < CLV_BUCKETS; k++) {
    double bh = max ? (double)ph * (double)hist[k] / (double)max : 0.0;
    if (hist[k] > 0 && bh < 1.0) bh = 1.0;
    fprintf(f, "<rect x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%.1f\" class=\"bar\"><title>%s</title></rect>\n",
            left + (int)k * bw, top_y + ph - bh, bw - 3, bh, count(a, hist[k]));
  }
  fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>", left - 6, top_y + 10,
          count(a, max));
  fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">0</text>", left - 6, top_y + ph);
  fprintf(f, "<text x=\"%d\" y=\"%d\">%.2f</text>", left, top_y + ph + 18, lo);
  fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%.2f+</text>", left + (int)CLV_BUCKETS * bw,
          top_y + ph + 18, hi);
  fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">expected value per customer</text>\n",
          left + (int)CLV_BUCKETS * bw / 2, top_y + ph + 36);
  fputs("</svg></section>\n", f);
}

static void section_kmeans(FILE *f, const pctl_report *r) {
  char a[32], b[32];
  fputs("<section id=\"clusters\"><h2>Clusters</h2>\n", f);
  if (r->k == 0) {
    absent(f, "No clustering", r->kmeans_note != NULL ? r->kmeans_note : "no k-means model");
    return;
  }
  size_t k = r->k < PCTL_REPORT_MAX_K ? r->k : PCTL_REPORT_MAX_K;
  double means[PCTL_REPORT_MAX_K * LP_PROFILES_FEATURES];
  const double *centre = r->centroids;
  if (r->centroid_means) {
    if (r->clusters_seen < k) k = r->clusters_seen;
    for (size_t j = 0; j < k * LP_PROFILES_FEATURES; j++)
      means[j] = r->cluster_size[j / LP_PROFILES_FEATURES]
                     ? r->cluster_sum[j] / (double)r->cluster_size[j / LP_PROFILES_FEATURES]
                     : 0.0;
    centre = means;
    what(f, "k-means groups the customers by recency, number of orders and spend, with the "
            "model kept from the saved store; each row is the mean of a cluster's customers "
            "in those units with its size and revenue.");
  } else {
    what(f, "k-means groups the customers by recency, number of orders and spend; each row is "
            "a cluster's centre in those units with its size and revenue.");
  }
  fputs("<table><tr><th>cluster</th><th>customers</th><th>recency (days)</th><th>orders</th>"
        "<th>spend</th><th>revenue share</th></tr>\n", f);
  double scale = pow(10.0, (double)r->money_decimals);
  for (size_t j = 0; j < k; j++) {
    const double *cj = &centre[j * LP_PROFILES_FEATURES];
    fprintf(f, "<tr><td>%zu</td><td>%s</td><td>%.1f</td><td>%.2f</td><td>%.2f</td><td>%s</td></tr>\n",
            j, count(a, r->cluster_size[j]), cj[0], cj[1], cj[2] / scale,
            pct(b, (double)r->cluster_revenue[j], (double)r->revenue));
  }
  fputs("</table>\n", f);
  const char *labels[PCTL_REPORT_MAX_K];
  double values[PCTL_REPORT_MAX_K];
  char names[PCTL_REPORT_MAX_K][16], texts[PCTL_REPORT_MAX_K][32];
  const char *tp[PCTL_REPORT_MAX_K];
  for (size_t j = 0; j < k; j++) {
    snprintf(names[j], sizeof names[j], "cluster %zu", j);
    labels[j] = names[j];
    values[j] = (double)r->cluster_size[j];
    tp[j] = count(texts[j], r->cluster_size[j]);
  }
  hbars(f, "Customers per cluster", k, labels, values, tp);
  fputs("</section>\n", f);
}

static void section_tags(FILE *f, const pctl_report *r) {
  char a[32], b[32];
  fputs("<section id=\"tags\"><h2>Tag coverage</h2>\n", f);
  if (r->ntags == 0) {
    absent(f, "No tags", "the store has no host-set tag (see --taxonomy)");
    return;
  }
  what(f, "For each tag of the taxonomy, the profiles holding a live value at the report's "
          "date, as a share of all profiles.");
  const char **labels = malloc(r->ntags * sizeof *labels);
  double *values = malloc(r->ntags * sizeof *values);
  char(*texts)[72] = malloc(r->ntags * sizeof *texts);
  const char **tp = malloc(r->ntags * sizeof *tp);
  if (labels && values && texts && tp) {
    for (size_t i = 0; i < r->ntags; i++) {
      labels[i] = r->tag_names[i];
      values[i] = (double)r->tag_count[i];
      snprintf(texts[i], sizeof texts[i], "%s (%s)", count(a, r->tag_count[i]),
               pct(b, (double)r->tag_count[i], (double)r->profiles));
      tp[i] = texts[i];
    }
    hbars(f, "Profiles with a live value per tag", r->ntags, labels, values, tp);
  }
  free(labels);
  free(values);
  free(texts);
  free(tp);
  fputs("</section>\n", f);
}

static const char style[] =
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;"
    "color:#1b1f24;background:#fff;margin:0 auto;max-width:980px;padding:16px 24px;line-height:1.4}"
    "h1{font-size:1.6em;margin:.2em 0}h2{border-bottom:2px solid #1d4f91;padding-bottom:4px;"
    "margin-top:1.6em}h3{margin-bottom:.3em}"
    ".sub{color:#57606a}.what{color:#3b4450;font-style:italic;margin:.3em 0 .6em}"
    ".big{font-size:1.15em}"
    "table{border-collapse:collapse;margin:.4em 0 1em}th,td{border:1px solid #d0d7de;"
    "padding:3px 8px;text-align:right}th{background:#f3f6fa}td:first-child,th:first-child{text-align:left}"
    "table.kv th{text-align:left;font-weight:normal}td.moved{background:#fff4d6}"
    "nav a{margin-right:12px}"
    "svg.chart{display:block;max-width:100%;height:auto;font-size:12px}"
    "svg.chart text{fill:#1b1f24}svg.chart text.light{fill:#fff}svg.chart text.small{font-size:10px}"
    ".bar{fill:#3b7dd8}.cell{stroke:#fff}";

static void render(FILE *f, pctl_report *r) {
  char when[32], a[32];
  if (pctl_time_format_iso8601(r->as_of, when, sizeof when) != LP_OK) snprintf(when, sizeof when, "%" PRId64, r->as_of);
  const char *title = r->title != NULL ? r->title : "Customer profiles";
  fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<link rel=\"icon\" href=\"data:,\">\n<title>", f);
  esc(f, title);
  fprintf(f, "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>", style);
  esc(f, title);
  fprintf(f, "</h1>\n<p class=\"sub\">As of %s &middot; %s profiles</p>\n", when,
          count(a, r->profiles));
  fputs("<nav><a href=\"#identity\">Identity</a><a href=\"#rfm\">RFM</a>"
        "<a href=\"#lifecycle\">Lifecycle</a><a href=\"#clv\">CLV</a>"
        "<a href=\"#clusters\">Clusters</a><a href=\"#tags\">Tags</a></nav>\n", f);
  section_identity(f, r);
  section_rfm(f, r);
  section_lifecycle(f, r);
  section_clv(f, r);
  section_kmeans(f, r);
  section_tags(f, r);
  fputs("<footer><p class=\"sub\">Written by " PCTL_PROGRAM
        "; the same store and options give the same file.</p></footer>\n</body>\n</html>\n", f);
}

int pctl_report_write(pctl_report *r, const char *path) {
  if (r->failed) {
    pctl_error("report: %s", strerror(ENOMEM));
    return PCTL_EXIT_FAILURE;
  }
  FILE *f = fopen(path, "wb");
  if (f == NULL) {
    pctl_error("cannot write '%s': %s", path, strerror(errno));
    return PCTL_EXIT_FAILURE;
  }
  render(f, r);
  int err = ferror(f) ? (errno ? errno : EIO) : 0;
  if (fclose(f) != 0 && err == 0) err = errno ? errno : EIO;
  if (err != 0) {
    pctl_error("cannot write '%s': %s", path, strerror(err));
    return PCTL_EXIT_FAILURE;
  }
  return PCTL_EXIT_OK;
}

int pctl_report_render(pctl_report *r, char **out, size_t *len) {
  *out = NULL;
  *len = 0;
  if (r->failed) return ENOMEM;
  char *buf = NULL;
  size_t n = 0;
  FILE *f = open_memstream(&buf, &n);
  if (f == NULL) return ENOMEM;
  render(f, r);
  bool bad = ferror(f) != 0;
  if (fclose(f) != 0 || bad) {
    free(buf);
    return ENOMEM;
  }
  *out = buf;
  *len = n;
  return 0;
}

int pctl_report_write_bytes(const char *bytes, size_t len, const char *path) {
  FILE *f = fopen(path, "wb");
  if (f == NULL) {
    pctl_error("cannot write '%s': %s", path, strerror(errno));
    return PCTL_EXIT_FAILURE;
  }
  errno = 0;
  int err = len > 0 && fwrite(bytes, 1, len, f) != len ? (errno ? errno : EIO) : 0;
  if (fclose(f) != 0 && err == 0) err = errno ? errno : EIO;
  if (err != 0) {
    pctl_error("cannot write '%s': %s", path, strerror(err));
    return PCTL_EXIT_FAILURE;
  }
  return PCTL_EXIT_OK;
}
