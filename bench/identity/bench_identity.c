/*
 * Identity benchmark: a deterministic stream of realistic events (people
 * with 2-6 identifiers across web, app and store; shared kiosk devices;
 * junk values; a share of late events) fed to lp_idgraph_observe. Prints
 * events/s, identifiers/s, bytes per stored identifier and peak RSS; then
 * the snapshot round trip, and the merge of two shards of the same stream
 * (which must equal the single graph byte for byte); last, erasure: 20
 * people's profiles forgotten one by one (mean and slowest CPU time), one
 * identifier forgotten through the full replay of every event (the path
 * before the partial one), and the save after.
 *
 *   bench_identity [--quick] [--late=PCT] [--kiosks=PCT] [--min-events=N] [--observe-only]
 *                  [--prepared] [--prefetch] [--lookup]
 *                  [--snapshot-only] [--load-store=FILE] [--facts=N] [--facts-ts=T] [identifiers]
 *   (default 1000000 identifiers, 3% late events, 1% kiosk events;
 *   --quick: 20000 identifiers; --observe-only skips the snapshot round
 *   trip, for profiling the observe path; --prepared prepares chunks of
 *   events first and times lp_idgraph_observe_prepared alone (line
 *   identity_apply), --prefetch also hints each event 8 ahead
 *   (lp_idgraph_prefetch); --lookup lists every identifier and looks their
 *   hashes up one by one and in batches (line identity_lookup);
 *   --min-events=N observes until at
 *   least N events too: 6000000 is the 1M-people profile store's graph;
 *   --snapshot-only stops after the snapshot round trip; --load-store=FILE
 *   instead loads, saves and loads again an identity snapshot written by
 *   'profilectl run' with the rules of 'profilectl demo' and its default
 *   key: the graph of a real store, e.g. cut out of its state.lps; the
 *   reload is of the first save, so it takes the derived section, and
 *   BENCH_IDENTITY_SAVE_TO=FILE keeps that save);
 *   --facts=N then observes N one-identifier events on identifiers seen
 *   before, all at one timestamp (--facts-ts, default INT64_MAX: the
 *   profile store's order and tag facts) from two sources, so save's
 *   canonical order meets long runs of one (timestamp, source))
 * SPDX-License-Identifier: MIT
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../bench_util.h"
#include "core/rng.h"
#include "identity/identity_internal.h"
#include "libprofile.h"

/* Where the graph's bytes go (capacity, slack included): the hash maps from
 * identifier hash and profile id, the per-identifier records, the stored
 * events with their member words. Reads the internal state: figures for the
 * benchmark report only. */
typedef struct breakdown {
  size_t index, records, events;
} breakdown;
static size_t vec_bytes(const lp_vec *v) { return v->cap * v->esz; }
static breakdown graph_breakdown(const lp_idgraph *g) {
  const idg_state *st = &g->st;
  breakdown b;
  b.index = lp_oindex_bytes(&st->index);
  b.records = vec_bytes(&st->nodes) + vec_bytes(&st->raws) + vec_bytes(&st->counts);
  b.events = vec_bytes(&st->events) + vec_bytes(&st->members);
  return b;
}

/* Bytes per identifier of each structure (capacity, slack included; the
 * length in use beside it) and of the rest of the live bytes (pools, maps of
 * tombstones and blocklist, the handle): line identity_structures. */
static void print_structures(const lp_idgraph *g, uint64_t ids, size_t live) {
  const idg_state *st = &g->st;
  const lp_vec *v[5] = {&st->nodes, &st->counts, &st->raws, &st->events, &st->members};
  static const char *const name[5] = {"nodes", "counts", "raws", "events", "members"};
  double n = ids > 0 ? (double)ids : 1.0;
  size_t held = 0;
  printf("{\"bench\":\"identity_structures\",\"identifiers\":%" PRIu64, ids);
  for (size_t i = 0; i < 5; i++) {
    held += vec_bytes(v[i]);
    printf(",\"%s\":%.1f,\"%s_used\":%.1f", name[i], (double)vec_bytes(v[i]) / n, name[i],
           (double)(v[i]->len * v[i]->esz) / n);
  }
  size_t ix = lp_oindex_bytes(&st->index);
  held += ix;
  printf(",\"index\":%.1f,\"index_slots\":%zu,\"index_entries\":%zu,\"index_slot_bytes\":%u,"
         "\"other\":%.1f}\n",
         (double)ix / n, st->index.cap, st->index.len, st->index.width,
         live > held ? (double)(live - held) / n : 0.0);
}

/* Counting allocator: the graph's live bytes give bytes per identifier. */
typedef struct counter {
  size_t live, peak;
} counter;
static void *c_alloc(void *ud, size_t n) {
  counter *c = ud;
  void *p = malloc(n);
  if (p != NULL && (c->live += n) > c->peak) c->peak = c->live;
  return p;
}
static void *c_realloc(void *ud, void *p, size_t old_n, size_t new_n) {
  counter *c = ud;
  void *q = realloc(p, new_n);
  if (q != NULL && (c->live = c->live - old_n + new_n) > c->peak) c->peak = c->live;
  return q;
}
static void c_free(void *ud, void *p, size_t n) {
  counter *c = ud;
  c->live -= n;
  free(p);
}

/* CPU time of this process: on a shared machine, wall time measures the
 * neighbours as much as the library. */
static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

enum { USER, EMAIL, PHONE, DEVICE };

typedef struct stream {
  lp_rng rng;
  uint64_t people;
  uint64_t late_pct, kiosk_pct;
  int64_t clock;
  char buf[6][40];
} stream;

/* Fast "prefix<number><suffix>" formatting: snprintf would dominate the
 * generator's cost. */
static char *put_num(char *o, uint64_t v, unsigned base, unsigned width) {
  char tmp[24];
  unsigned n = 0;
  do {
    tmp[n++] = "0123456789abcdef"[v % base];
    v /= base;
  } while (v > 0);
  while (n < width) tmp[n++] = '0';
  while (n > 0) *o++ = tmp[--n];
  return o;
}
static const char *fmt(char *buf, const char *pre, uint64_t v, unsigned base, unsigned width,
                       const char *post) {
  size_t pl = strlen(pre), sl = strlen(post);
  memcpy(buf, pre, pl);
  char *o = put_num(buf + pl, v, base, width);
  memcpy(o, post, sl + 1);
  return buf;
}

/* The identifiers person p owns: user id for 70%, one or two e-mails, a
 * phone for half, one to three devices (2 to 6 in all). */
static size_t person_ids(stream *s, uint64_t p, uint32_t *type, const char **value) {
  uint64_t h = p * UINT64_C(0x9e3779b97f4a7c15);
  size_t n = 0;
  if (h % 10 < 7) {
    type[n] = USER;
    value[n] = fmt(s->buf[n], "user-", p, 10, 1, "");
    n++;
  }
  size_t emails = 1 + (size_t)((h >> 8) & 1);
  for (size_t i = 0; i < emails; i++, n++) {
    type[n] = EMAIL;
    value[n] = fmt(s->buf[n], "p", p, 10, 1, i == 0 ? ".0@example.org" : ".1@example.org");
  }
  if ((h >> 9) & 1) {
    type[n] = PHONE;
    value[n] = fmt(s->buf[n], "+4479", p % 100000000, 10, 8, "");
    n++;
  }
  size_t devices = 1 + (size_t)((h >> 10) % 3);
  if (n + devices > 6) devices = 6 - n;
  static const char *const dev_suffix[3] = {"-0", "-1", "-2"};
  for (size_t i = 0; i < devices; i++, n++) {
    type[n] = DEVICE;
    value[n] = fmt(s->buf[n], "dev-", h >> 16, 16, 1, dev_suffix[i]);
  }
  return n;
}

/* One event: 2 or 3 of one person's identifiers; kiosk_pct% add a kiosk
 * device (default 1), 1% a junk value; late_pct% (default 3) are late by
 * up to a day. */
static size_t next_event(stream *s, lp_idgraph_ident *ids, int64_t *ts, const char **src) {
  static const char *const sources[3] = {"web", "app", "store"};
  uint32_t type[6];
  const char *value[6];
  uint64_t p = lp_rng_below(&s->rng, s->people);
  size_t all = person_ids(s, p, type, value);
  size_t want = 2 + (size_t)lp_rng_below(&s->rng, 2), n = 0;
  if (want > all) want = all;
  size_t start = (size_t)lp_rng_below(&s->rng, all);
  for (size_t i = 0; i < want; i++) {
    size_t k = (start + i) % all;
    ids[n].type = type[k];
    ids[n].value = value[k];
    ids[n].len = strlen(value[k]);
    n++;
  }
  uint64_t extra = lp_rng_below(&s->rng, 100);
  static char kiosk[32];
  if (extra < s->kiosk_pct) {
    fmt(kiosk, "kiosk-", lp_rng_below(&s->rng, 100), 10, 1, "");
    ids[n].type = DEVICE;
    ids[n].value = kiosk;
    ids[n].len = strlen(kiosk);
    n++;
  } else if (extra == 99) {
    ids[n].type = DEVICE;
    ids[n].value = "undefined";
    ids[n].len = 9;
    n++;
  }
  s->clock += 1;
  *ts = s->clock;
  if (lp_rng_below(&s->rng, 100) < s->late_pct) *ts -= (int64_t)lp_rng_below(&s->rng, 86400);
  *src = sources[lp_rng_below(&s->rng, 3)];
  return n;
}

/* A fact: one identifier of a random person (seen before, mostly), at
 * `ts`, from "order" (3 in 4) or "tag". */
static void next_fact(stream *s, lp_idgraph_ident *id, const char **src) {
  uint32_t type[6];
  const char *value[6];
  size_t all = person_ids(s, lp_rng_below(&s->rng, s->people), type, value);
  size_t k = (size_t)lp_rng_below(&s->rng, all);
  id->type = type[k];
  id->value = value[k];
  id->len = strlen(value[k]);
  *src = lp_rng_below(&s->rng, 4) == 0 ? "tag" : "order";
}

/* The same stream every time: seed 42. */
static void stream_init(stream *s, uint64_t people, uint64_t late_pct, uint64_t kiosk_pct) {
  lp_rng_seed(&s->rng, 42);
  s->people = people;
  s->late_pct = late_pct;
  s->kiosk_pct = kiosk_pct;
  s->clock = 1700000000;
}

static lp_idgraph *make_graph(const lp_allocator *a) {
  lp_idgraph *g;
  if (lp_idgraph_create(a, &g) != LP_OK) return NULL;
  static const struct {
    const char *name;
    int32_t prio;
    uint32_t limit, unique, norm, cc;
  } types[] = {{"user_id", 100, 1, 1, LP_IDGRAPH_NORM_GENERIC, 0},
               {"email", 50, 5, 0, LP_IDGRAPH_NORM_EMAIL_GMAIL, 0},
               {"phone", 40, 3, 0, LP_IDGRAPH_NORM_PHONE, 44},
               {"device_id", 10, 10, 0, LP_IDGRAPH_NORM_GENERIC_FOLD, 0}};
  for (size_t i = 0; i < 4; i++) {
    lp_idgraph_type_def d = LP_IDGRAPH_TYPE_DEF_INIT;
    uint32_t id;
    d.name = types[i].name;
    d.priority = types[i].prio;
    d.limit = types[i].limit;
    d.unique = types[i].unique;
    d.normalizer = types[i].norm;
    d.country_code = types[i].cc;
    if (lp_idgraph_add_type(g, &d, &id) != LP_OK) return NULL;
  }
  if (lp_idgraph_set_key(g, "benchmark key, not secret", 25) != LP_OK) return NULL;
  return g;
}

/* The graph of 'profilectl run' on the demo rules (its rules.ini and
 * default key), loaded from `path`, saved and loaded again: CPU times. */
static int load_store(const char *path) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    fprintf(stderr, "cannot open %s\n", path);
    return 1;
  }
  lp_membuf *in;
  if (lp_membuf_create(NULL, &in) != LP_OK) return 1;
  char buf[1 << 16];
  size_t got;
  while ((got = fread(buf, 1, sizeof buf, f)) > 0)
    if (lp_membuf_write(in, buf, got) != LP_OK) return 1;
  fclose(f);
  lp_idgraph *g;
  if (lp_idgraph_create(NULL, &g) != LP_OK) return 1;
  static const struct {
    const char *name;
    int32_t prio;
    uint32_t limit, unique, norm, cc;
  } types[] = {{"user_id", 100, 1, 1, LP_IDGRAPH_NORM_GENERIC, 0},
               {"email", 80, 3, 0, LP_IDGRAPH_NORM_EMAIL_GMAIL, 0},
               {"phone", 60, 2, 0, LP_IDGRAPH_NORM_PHONE, 44},
               {"device_id", 40, 5, 0, LP_IDGRAPH_NORM_GENERIC_FOLD, 0},
               {"cookie", 20, 20, 0, LP_IDGRAPH_NORM_GENERIC, 0}};
  for (size_t i = 0; i < 5; i++) {
    lp_idgraph_type_def d = LP_IDGRAPH_TYPE_DEF_INIT;
    uint32_t id;
    d.name = types[i].name;
    d.priority = types[i].prio;
    d.limit = types[i].limit;
    d.unique = types[i].unique;
    d.normalizer = types[i].norm;
    d.country_code = types[i].cc;
    if (lp_idgraph_add_type(g, &d, &id) != LP_OK) return 1;
  }
  if (lp_idgraph_set_key(g, "profilectl identity", 19) != LP_OK) return 1;
  lp_memreader mr;
  lp_memreader_init(&mr, lp_membuf_data(in), lp_membuf_size(in));
  double c0 = cpu_now();
  if (lp_idgraph_load(g, lp_memreader_read, &mr) != LP_OK) {
    fprintf(stderr, "load: %s\n", lp_idgraph_errmsg(g));
    return 1;
  }
  double c1 = cpu_now();
  /* Every profile id, sorted (what the profile store's view lists first). */
  size_t np = 0;
  if (lp_idgraph_profiles(g, NULL, 0, &np) != LP_OK) return 1;
  uint64_t *pids = malloc((np + 1) * sizeof *pids);
  if (pids == NULL || lp_idgraph_profiles(g, pids, np, &np) != LP_OK) return 1;
  double c1p = cpu_now();
  free(pids);
  lp_membuf *out;
  if (lp_membuf_create(NULL, &out) != LP_OK) return 1;
  double c2 = cpu_now();
  if (lp_idgraph_save(g, lp_membuf_write, out) != LP_OK) return 1;
  double c3 = cpu_now();
  lp_memreader_init(&mr, lp_membuf_data(out), lp_membuf_size(out));
  if (lp_idgraph_load(g, lp_memreader_read, &mr) != LP_OK) return 1;
  double c4 = cpu_now();
  /* The reload's save must give the bytes of the first save (a snapshot
   * without the derived section loads through the replay, its save adds
   * the section; the reload takes the section). */
  lp_membuf *again;
  if (lp_membuf_create(NULL, &again) != LP_OK) return 1;
  if (lp_idgraph_save(g, lp_membuf_write, again) != LP_OK) return 1;
  int same = lp_membuf_size(again) == lp_membuf_size(out) &&
             memcmp(lp_membuf_data(again), lp_membuf_data(out), lp_membuf_size(out)) == 0;
  if (!same) {
    const uint8_t *a = lp_membuf_data(again), *b = lp_membuf_data(out);
    size_t n = lp_membuf_size(again) < lp_membuf_size(out) ? lp_membuf_size(again) : lp_membuf_size(out), i = 0;
    while (i < n && a[i] == b[i]) i++;
    fprintf(stderr, "resaved bytes differ at offset %zu (sizes %zu, %zu)\n", i, lp_membuf_size(again),
            lp_membuf_size(out));
  }
  const char *keep = getenv("BENCH_IDENTITY_SAVE_TO");
  if (keep != NULL) {
    FILE *o = fopen(keep, "wb");
    if (o == NULL || fwrite(lp_membuf_data(out), 1, lp_membuf_size(out), o) != lp_membuf_size(out)) return 1;
    fclose(o);
  }
  lp_membuf_free(again);
  lp_idgraph_stats st = LP_IDGRAPH_STATS_INIT;
  lp_idgraph_get_stats(g, &st);
  printf("{\"bench\":\"identity_store_snapshot\",\"identifiers\":%" PRIu64 ",\"events\":%" PRIu64
         ",\"profiles\":%" PRIu64 ",\"bytes\":%zu,\"saved_bytes\":%zu,\"load_cpu_seconds\":%.3f,\"save_cpu_seconds\":%.3f"
         ",\"reload_cpu_seconds\":%.3f,\"profiles_cpu_seconds\":%.3f,\"resave_equal\":%s,\"peak_rss\":%lld}\n",
         st.identifiers, st.events, st.profiles, lp_membuf_size(in), lp_membuf_size(out), c1 - c0, c3 - c2, c4 - c3,
         c1p - c1,
         same ? "true" : "false", bench_peak_rss());
  lp_membuf_free(in);
  lp_membuf_free(out);
  lp_idgraph_free(g);
  return !same;
}

/* --prepared: the stream in chunks of PREP_CHUNK events, each chunk
 * generated and prepared (lp_idgraph_prepare) first, then applied with
 * lp_idgraph_observe_prepared, so the apply stage is timed alone (CPU time
 * of each stage accumulated per chunk). */
#define PREP_CHUNK 4096
#define PREP_AHEAD 8 /* lp_idgraph_prefetch() this many events ahead (--prefetch) */
typedef struct prep_chunk {
  lp_idgraph_prepared ids[PREP_CHUNK][8];
  size_t n[PREP_CHUNK];
  int64_t ts[PREP_CHUNK];
  const char *src[PREP_CHUNK];
} prep_chunk;

static int observe_prepared_chunks(lp_idgraph *g, stream *s, uint64_t count, prep_chunk *c,
                                   bool hint, uint64_t *idents, double *prep_cpu,
                                   double *apply_cpu) {
  for (uint64_t done = 0; done < count;) {
    size_t k = count - done < PREP_CHUNK ? (size_t)(count - done) : PREP_CHUNK;
    double c0 = cpu_now();
    for (size_t i = 0; i < k; i++) {
      lp_idgraph_ident ids[8];
      size_t need;
      c->n[i] = next_event(s, ids, &c->ts[i], &c->src[i]);
      *idents += c->n[i];
      if (lp_idgraph_prepare(g, ids, c->n[i], c->ids[i], NULL, 0, &need) != LP_OK) {
        fprintf(stderr, "prepare: %s\n", lp_idgraph_errmsg(g));
        return 1;
      }
    }
    double c1 = cpu_now();
    for (size_t i = 0; i < k && i < PREP_AHEAD && hint; i++) lp_idgraph_prefetch(g, c->ids[i], c->n[i]);
    for (size_t i = 0; i < k; i++)
      if ((!hint || i + PREP_AHEAD >= k ||
           lp_idgraph_prefetch(g, c->ids[i + PREP_AHEAD], c->n[i + PREP_AHEAD]) == LP_OK) &&
          lp_idgraph_observe_prepared(g, c->ids[i], c->n[i], c->ts[i], c->src[i],
                                      strlen(c->src[i]), NULL) != LP_OK) {
        fprintf(stderr, "observe_prepared: %s\n", lp_idgraph_errmsg(g));
        return 1;
      }
    *prep_cpu += c1 - c0;
    *apply_cpu += cpu_now() - c1;
    done += k;
  }
  return 0;
}

/* --lookup: every stored identifier's hash in a shuffled order, looked up
 * one by one (lp_idgraph_profile_of_hash) and in batches of 2048
 * (lp_idgraph_profiles_of_hashes); the listing (lp_idgraph_identifiers)
 * timed too. Returns non-zero when the two lookups disagree. */
static int lookup_phase(const lp_idgraph *g, uint64_t n) {
  uint8_t *hashes = malloc(n * 16 + 1);
  uint64_t *one = malloc(n * sizeof *one + 1), *batch = malloc(n * sizeof *batch + 1);
  lp_idgraph_ident_row *rows = malloc(1024 * sizeof *rows);
  if (hashes == NULL || one == NULL || batch == NULL || rows == NULL) return 1;
  double c0 = cpu_now();
  uint64_t got = 0;
  for (size_t w = 1024; w == 1024; got += w) {
    if (lp_idgraph_identifiers(g, got, rows, 1024, &w) != LP_OK) return 1;
    for (size_t i = 0; i < w; i++) memcpy(hashes + 16 * (got + i), rows[i].ident.hash, 16);
  }
  double c1 = cpu_now();
  lp_rng r;
  lp_rng_seed(&r, 12345);
  for (uint64_t i = got; i > 1; i--) { /* Fisher-Yates */
    uint64_t j = lp_rng_below(&r, i);
    uint8_t t[16];
    memcpy(t, hashes + 16 * (i - 1), 16);
    memcpy(hashes + 16 * (i - 1), hashes + 16 * j, 16);
    memcpy(hashes + 16 * j, t, 16);
  }
  double c2 = cpu_now();
  for (uint64_t i = 0; i < got; i++)
    if (lp_idgraph_profile_of_hash(g, hashes + 16 * i, &one[i]) != LP_OK) one[i] = 0;
  double c3 = cpu_now();
  for (uint64_t i = 0; i < got; i += 2048) {
    size_t k = got - i < 2048 ? (size_t)(got - i) : 2048;
    if (lp_idgraph_profiles_of_hashes(g, hashes + 16 * i, k, batch + i) != LP_OK) return 1;
  }
  double c4 = cpu_now();
  int same = memcmp(one, batch, got * sizeof *one) == 0;
  printf("{\"bench\":\"identity_lookup\",\"identifiers\":%" PRIu64
         ",\"list_cpu_seconds\":%.3f,\"single_cpu_seconds\":%.3f,\"batch_cpu_seconds\":%.3f"
         ",\"same\":%s}\n",
         got, c1 - c0, c3 - c2, c4 - c3, same ? "true" : "false");
  free(hashes);
  free(one);
  free(batch);
  free(rows);
  return !same;
}

int main(int argc, char **argv) {
  int quick = bench_quick(argc, argv);
  uint64_t target = quick ? 20000 : 1000000, late = 3, kiosks = 1;
  int observe_only = 0, snapshot_only = 0, prepared = 0, lookup = 0;
  bool hint = false;
  uint64_t min_events = 0, facts = 0;
  int64_t facts_ts = INT64_MAX;
  for (int i = 1; i < argc; i++) {
    if (strncmp(argv[i], "--facts=", 8) == 0) facts = strtoull(argv[i] + 8, NULL, 10);
    if (strncmp(argv[i], "--facts-ts=", 11) == 0) facts_ts = strtoll(argv[i] + 11, NULL, 10);
    if (strcmp(argv[i], "--observe-only") == 0) observe_only = 1;
    if (strcmp(argv[i], "--prepared") == 0) prepared = 1;
    if (strcmp(argv[i], "--prefetch") == 0) prepared = hint = 1;
    if (strcmp(argv[i], "--lookup") == 0) lookup = 1;
    if (strcmp(argv[i], "--snapshot-only") == 0) snapshot_only = 1;
    if (strncmp(argv[i], "--load-store=", 13) == 0) return load_store(argv[i] + 13);
    if (strncmp(argv[i], "--min-events=", 13) == 0) min_events = strtoull(argv[i] + 13, NULL, 10);
    if (strncmp(argv[i], "--late=", 7) == 0) late = strtoull(argv[i] + 7, NULL, 10);
    else if (strncmp(argv[i], "--kiosks=", 9) == 0) kiosks = strtoull(argv[i] + 9, NULL, 10);
    else if (argv[i][0] != '-') target = strtoull(argv[i], NULL, 10);
  }
  if (late > 100 || kiosks > 98) {
    fprintf(stderr, "usage: bench_identity [--quick] [--late=PCT] [--kiosks=PCT] [--observe-only] [--prepared] "
                    "[--prefetch] [--lookup] "
                    "[--facts=N] [--facts-ts=T] [identifiers]\n");
    return 2;
  }
  counter c = {0, 0};
  lp_allocator a = LP_ALLOCATOR_INIT;
  a.ud = &c;
  a.alloc = c_alloc;
  a.realloc = c_realloc;
  a.free = c_free;
  lp_idgraph *g = make_graph(&a);
  if (g == NULL) return 1;
  stream s;
  /* About 3.3 identifiers per person, most of them seen. */
  stream_init(&s, target * 10 / 29, late, kiosks);
  lp_idgraph_stats st;
  memset(&st, 0, sizeof st);
  st.struct_size = sizeof st;
  uint64_t events = 0, idents = 0, batch = 32768;
  double prep_cpu = 0, apply_cpu = 0;
  prep_chunk *chunk = prepared ? malloc(sizeof *chunk) : NULL;
  if (prepared && chunk == NULL) return 1;
  double t0 = bench_now(), c0 = cpu_now(), stats_time = 0, stats_cpu = 0;
  while (st.identifiers < target || events < min_events) {
    /* Stats cost O(identifiers): poll at growing intervals and leave
     * their time out of the figures. */
    if (prepared) {
      if (observe_prepared_chunks(g, &s, batch, chunk, hint, &idents, &prep_cpu, &apply_cpu) != 0) return 1;
      events += batch;
    }
    for (uint64_t k = 0; k < batch && !prepared; k++) {
      lp_idgraph_ident ids[8];
      int64_t ts;
      const char *src;
      size_t n = next_event(&s, ids, &ts, &src);
      int rc = lp_idgraph_observe(g, ids, n, ts, src, strlen(src), NULL);
      if (rc != LP_OK) {
        fprintf(stderr, "observe: %s\n", lp_idgraph_errmsg(g));
        return 1;
      }
      events++;
      idents += n;
    }
    double q0 = bench_now(), qc = cpu_now();
    lp_idgraph_get_stats(g, &st);
    stats_time += bench_now() - q0;
    stats_cpu += cpu_now() - qc;
    if (st.identifiers > 0 && st.identifiers < target) {
      uint64_t left = (target - st.identifiers) * events / st.identifiers;
      batch = left / 2 > 32768 ? left / 2 : 32768;
    }
  }
  for (uint64_t k = 0; k < facts; k++) {
    lp_idgraph_ident id;
    const char *src;
    next_fact(&s, &id, &src);
    if (lp_idgraph_observe(g, &id, 1, facts_ts, src, strlen(src), NULL) != LP_OK) {
      fprintf(stderr, "observe: %s\n", lp_idgraph_errmsg(g));
      return 1;
    }
    events++;
    idents++;
  }
  lp_idgraph_get_stats(g, &st);
  double secs = bench_now() - t0 - stats_time, cpu = cpu_now() - c0 - stats_cpu;
  /* Generator cost alone, to subtract. */
  stream s2;
  stream_init(&s2, s.people, late, kiosks);
  double g0 = bench_now(), gc0 = cpu_now();
  size_t sink = 0;
  for (uint64_t i = 0; i < events - facts; i++) {
    lp_idgraph_ident ids[8];
    int64_t ts;
    const char *src;
    sink += next_event(&s2, ids, &ts, &src);
  }
  for (uint64_t k = 0; k < facts; k++) {
    lp_idgraph_ident id;
    const char *src;
    next_fact(&s2, &id, &src);
    sink += id.len > 0;
  }
  double gen = bench_now() - g0, gen_cpu = cpu_now() - gc0;
  double lib = secs - gen > 1e-9 ? secs - gen : secs;
  double lib_cpu = cpu - gen_cpu > 1e-9 ? cpu - gen_cpu : cpu;
  breakdown parts = graph_breakdown(g);
  printf("{\"bench\":\"identity_observe\",\"late_pct\":%" PRIu64 ",\"kiosk_pct\":%" PRIu64
         ",\"facts\":%" PRIu64
         ",\"identifiers\":%" PRIu64 ",\"events\":%" PRIu64
         ",\"identifier_occurrences\":%" PRIu64 ",\"profiles\":%" PRIu64
         ",\"conflicts\":%" PRIu64 ",\"quarantined\":%" PRIu64 ",\"blocked\":%" PRIu64
         ",\"seconds\":%.3f,\"generator_seconds\":%.3f,\"events_per_s\":%.0f"
         ",\"identifiers_per_s\":%.0f,\"cpu_seconds\":%.3f,\"events_per_cpu_s\":%.0f"
         ",\"bytes_per_identifier\":%.1f,\"graph_bytes\":%zu"
         ",\"peak_graph_bytes\":%zu,\"index_bytes_per_identifier\":%.1f"
         ",\"record_bytes_per_identifier\":%.1f,\"event_bytes_per_identifier\":%.1f"
         ",\"peak_rss\":%lld}\n",
         late, kiosks, facts, st.identifiers, events, idents, st.profiles, st.conflicts, st.quarantined, st.blocked,
         secs, gen, (double)events / lib, (double)idents / lib, cpu, (double)events / lib_cpu,
         (double)c.live / (double)st.identifiers, c.live, c.peak,
         (double)parts.index / (double)st.identifiers, (double)parts.records / (double)st.identifiers,
         (double)parts.events / (double)st.identifiers, bench_peak_rss());
  print_structures(g, st.identifiers, c.live);
  if (prepared) {
    printf("{\"bench\":\"identity_apply\",\"identifiers\":%" PRIu64 ",\"events\":%" PRIu64
           ",\"generate_and_prepare_cpu_seconds\":%.3f,\"apply_cpu_seconds\":%.3f"
           ",\"apply_events_per_cpu_s\":%.0f}\n",
           st.identifiers, events, prep_cpu, apply_cpu, (double)events / apply_cpu);
    free(chunk);
  }
  if (lookup && lookup_phase(g, st.identifiers) != 0) return 1;
  if (observe_only) {
    lp_idgraph_free(g);
    return sink == 0;
  }
  /* Save and reload once: snapshot size per identifier; then save the
   * loaded graph (events in the order a load leaves them) and check the
   * bytes are the same. */
  lp_membuf *b, *b2;
  if (lp_membuf_create(NULL, &b) != LP_OK || lp_membuf_create(NULL, &b2) != LP_OK) return 1;
  double s0 = bench_now(), sc0 = cpu_now();
  if (lp_idgraph_save(g, lp_membuf_write, b) != LP_OK) return 1;
  double s1 = bench_now(), sc1 = cpu_now();
  lp_memreader mr;
  lp_memreader_init(&mr, lp_membuf_data(b), lp_membuf_size(b));
  if (lp_idgraph_load(g, lp_memreader_read, &mr) != LP_OK) return 1;
  double s2t = bench_now(), sc2 = cpu_now();
  if (lp_idgraph_save(g, lp_membuf_write, b2) != LP_OK) return 1;
  double s3t = bench_now(), sc3 = cpu_now();
  int same = lp_membuf_size(b) == lp_membuf_size(b2) &&
             memcmp(lp_membuf_data(b), lp_membuf_data(b2), lp_membuf_size(b)) == 0;
  lp_membuf_free(b2);
  printf("{\"bench\":\"identity_snapshot\",\"identifiers\":%" PRIu64 ",\"events\":%" PRIu64
         ",\"bytes\":%zu,\"bytes_per_identifier\":%.1f,\"save_seconds\":%.3f"
         ",\"load_seconds\":%.3f,\"resave_seconds\":%.3f,\"save_cpu_seconds\":%.3f"
         ",\"load_cpu_seconds\":%.3f,\"resave_cpu_seconds\":%.3f,\"resave_equal\":%s"
         ",\"peak_rss\":%lld}\n",
         st.identifiers, events, lp_membuf_size(b), (double)lp_membuf_size(b) / (double)st.identifiers,
         s1 - s0, s2t - s1, s3t - s2t, sc1 - sc0, sc2 - sc1, sc3 - sc2, same ? "true" : "false",
         bench_peak_rss());
  if (!same) return 1;
  if (snapshot_only) {
    lp_membuf_free(b);
    lp_idgraph_free(g);
    return sink == 0;
  }
  /* Two shards of the same stream (events alternately), merged: the time
   * of lp_idgraph_merge, and whether it equals the single graph. */
  lp_idgraph *shard[2] = {make_graph(NULL), make_graph(NULL)};
  if (shard[0] == NULL || shard[1] == NULL) return 1;
  stream s3;
  stream_init(&s3, s.people, late, kiosks);
  for (uint64_t i = 0; i < events; i++) {
    lp_idgraph_ident ids[8];
    int64_t ts = facts_ts;
    const char *src;
    size_t n = 1;
    if (i < events - facts) n = next_event(&s3, ids, &ts, &src);
    else next_fact(&s3, &ids[0], &src);
    if (lp_idgraph_observe(shard[i % 2], ids, n, ts, src, strlen(src), NULL) != LP_OK) return 1;
  }
  double m0 = bench_now(), mc0 = cpu_now();
  if (lp_idgraph_merge(shard[0], shard[1]) != LP_OK) {
    fprintf(stderr, "merge: %s\n", lp_idgraph_errmsg(shard[0]));
    return 1;
  }
  double m1 = bench_now(), mc1 = cpu_now();
  lp_membuf *mb;
  if (lp_membuf_create(NULL, &mb) != LP_OK || lp_idgraph_save(shard[0], lp_membuf_write, mb) != LP_OK)
    return 1;
  int equal = lp_membuf_size(mb) == lp_membuf_size(b) &&
              memcmp(lp_membuf_data(mb), lp_membuf_data(b), lp_membuf_size(b)) == 0;
  printf("{\"bench\":\"identity_merge\",\"events\":%" PRIu64 ",\"seconds\":%.3f"
         ",\"cpu_seconds\":%.3f,\"events_per_cpu_s\":%.0f,\"equal_to_one_graph\":%s}\n",
         events, m1 - m0, mc1 - mc0, (double)events / (mc1 - mc0 > 1e-9 ? mc1 - mc0 : 1e-9),
         equal ? "true" : "false");
  lp_membuf_free(mb);
  lp_idgraph_free(shard[0]);
  lp_idgraph_free(shard[1]);
  /* Erasure of one person: forget the profile of person 7's first e-mail
   * (the cluster alone is replayed), then forget one identifier of person
   * 11 through the full replay of every event (erase_full, the path the
   * partial one is tested against), then save. */
  int forget_ok = 1;
  double f_max = 0, f_sum = 0, f1 = 0;
  for (uint64_t person = 7; person < 27; person++) {
    uint64_t pid = 0;
    char mail[40];
    fmt(mail, "p", person, 10, 1, ".0@example.org");
    double f0 = cpu_now();
    if (lp_idgraph_profile_of(g, EMAIL, mail, strlen(mail), &pid) == LP_OK)
      forget_ok &= lp_idgraph_forget_profile(g, pid) == LP_OK;
    f1 = cpu_now();
    f_sum += f1 - f0;
    if (f1 - f0 > f_max) f_max = f1 - f0;
  }
  g->erase_full = true;
  lp_idgraph_ident other = {EMAIL, "p30.0@example.org", 17};
  forget_ok &= lp_idgraph_forget_identifier(g, &other) == LP_OK;
  g->erase_full = false;
  double f2 = cpu_now();
  lp_membuf_clear(b);
  forget_ok &= lp_idgraph_save(g, lp_membuf_write, b) == LP_OK;
  double f3 = cpu_now();
  if (!forget_ok) fprintf(stderr, "forget: %s\n", lp_idgraph_errmsg(g));
  printf("{\"bench\":\"identity_forget\",\"identifiers\":%" PRIu64 ",\"events\":%" PRIu64
         ",\"forget_profile_cpu_seconds_mean\":%.4f,\"forget_profile_cpu_seconds_max\":%.4f"
         ",\"forget_full_replay_cpu_seconds\":%.3f,\"save_cpu_seconds\":%.3f}\n",
         st.identifiers, events, f_sum / 20, f_max, f2 - f1, f3 - f2);
  lp_membuf_free(b);
  lp_idgraph_free(g);
  return sink == 0 || !equal || !forget_ok;
}
