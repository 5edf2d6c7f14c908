/*
 * Events held back and handed on in time order (see event_window.h).
 * SPDX-License-Identifier: MIT
 */
#include "event_window.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "cli.h"
#include "radix.h"

/* One held event: its identifiers are ids[first, first + n), its source
 * and values are in text. */
typedef struct held {
  int64_t ts;
  uint64_t line;
  size_t source_at, source_len;
  size_t first, n;
} held;

#define NO_VALUE SIZE_MAX

int pctl_event_window_init(pctl_event_window *w, size_t cap, const lp_allocator *alloc,
                           pctl_event_fn fn, void *ud) {
  w->cap = cap > 0 ? cap : 1;
  w->fn = fn;
  w->ud = ud;
  int rc = lp_mem_init(&w->mem, alloc) == LP_OK ? 0 : -1;
  lp_vec_init(&w->events, sizeof(held));
  lp_vec_init(&w->ids, sizeof(lp_idgraph_prepared));
  lp_vec_init(&w->values, sizeof(size_t));
  lp_vec_init(&w->text, 1);
  lp_vec_init(&w->order, sizeof(pctl_radix_item));
  return rc;
}

void pctl_event_window_free(pctl_event_window *w) {
  lp_vec_free(&w->events, &w->mem);
  lp_vec_free(&w->ids, &w->mem);
  lp_vec_free(&w->values, &w->mem);
  lp_vec_free(&w->text, &w->mem);
  lp_vec_free(&w->order, &w->mem);
}

/* Copy `ev` in, all or nothing: false (the window as it was) when memory
 * for the copy cannot be had. */
static bool hold(pctl_event_window *w, const pctl_event *ev) {
  size_t ne = w->events.len, ni = w->ids.len, nt = w->text.len;
  held h = {ev->ts, ev->line, nt, ev->source_len, ni, ev->n};
  bool ok = ev->source_len == 0 || lp_vec_append(&w->text, &w->mem, ev->source, ev->source_len) == LP_OK;
  for (size_t i = 0; ok && i < ev->n; i++) {
    lp_idgraph_prepared p = ev->ids[i];
    size_t at = NO_VALUE;
    if (p.value != NULL) {
      at = w->text.len;
      ok = p.len == 0 || lp_vec_append(&w->text, &w->mem, p.value, p.len) == LP_OK;
    }
    p.value = NULL; /* rebuilt from `at` when handed on */
    ok = ok && lp_vec_push(&w->ids, &w->mem, &p) == LP_OK &&
         lp_vec_push(&w->values, &w->mem, &at) == LP_OK;
  }
  ok = ok && lp_vec_push(&w->events, &w->mem, &h) == LP_OK;
  if (!ok) {
    w->events.len = ne;
    w->ids.len = w->values.len = ni;
    w->text.len = nt;
  }
  return ok;
}

static const char *text_at(const pctl_event_window *w, size_t at) {
  return w->text.data != NULL ? (const char *)w->text.data + at : "";
}

static int hand_on(const pctl_event_window *w, const held *h) {
  lp_idgraph_prepared ids[PCTL_EVENT_MAX_IDS];
  const lp_idgraph_prepared *src = lp_vec_at(&w->ids, h->first);
  const size_t *at = lp_vec_at(&w->values, h->first);
  for (size_t i = 0; i < h->n; i++) {
    ids[i] = src[i];
    if (at[i] != NO_VALUE) ids[i].value = text_at(w, at[i]);
  }
  pctl_event ev;
  ev.ts = h->ts;
  ev.source = text_at(w, h->source_at);
  ev.source_len = h->source_len;
  ev.ids = ids;
  ev.n = h->n;
  ev.line = h->line;
  return w->fn(w->ud, &ev);
}

int pctl_event_window_flush(pctl_event_window *w) {
  size_t n = w->events.len;
  const held *hs = (const held *)w->events.data;
  bool sorted = true;
  for (size_t i = 1; i < n && sorted; i++) sorted = hs[i - 1].ts <= hs[i].ts;
  /* Without memory for the sort the events go in arrival order: the same
   * result, only more replays. */
  const pctl_radix_item *order = NULL;
  if (!sorted && lp_vec_reserve(&w->order, &w->mem, n) == LP_OK) {
    pctl_radix_item *o = (pctl_radix_item *)w->order.data;
    for (size_t i = 0; i < n; i++) {
      o[i].key = (uint64_t)hs[i].ts ^ (UINT64_C(1) << 63); /* signed order as unsigned */
      o[i].v.ptr = &hs[i];
    }
    if (pctl_radix_sort(o, n) == 0) order = o;
  }
  int st = PCTL_EXIT_OK;
  for (size_t i = 0; i < n && st == PCTL_EXIT_OK; i++)
    st = hand_on(w, order != NULL ? (const held *)order[i].v.ptr : &hs[i]);
  w->events.len = w->ids.len = w->values.len = w->text.len = 0;
  return st;
}

int pctl_event_window_add(void *ud, const pctl_event *ev) {
  pctl_event_window *w = ud;
  if (w->events.len >= w->cap) {
    int st = pctl_event_window_flush(w);
    if (st != PCTL_EXIT_OK) return st;
  }
  if (w->cap > 1 && hold(w, ev)) return PCTL_EXIT_OK;
  /* No window, or no memory for the copy: what is held goes first. */
  int st = pctl_event_window_flush(w);
  return st != PCTL_EXIT_OK ? st : w->fn(w->ud, ev);
}
