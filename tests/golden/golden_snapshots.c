/*
 * Golden snapshots: every module's snapshot of a fixed data set, written the
 * same byte for byte on every platform, and snapshots made elsewhere loaded
 * and saved back unchanged.
 *
 *   golden_snapshots write DIR
 *       writes DIR/identity-hashed.lps, identity-raw.lps, rfm.lps, clv.lps
 *       (BG/NBD and MBG/NBD fitted on the RFM state) and one kmeans-<algorithm>-<scaling>.lps per combination; the golden test
 *       compares their SHA-256 digests with tests/golden/digests.txt.
 *   golden_snapshots roundtrip identity|rfm|kmeans|clv|tags FILE...
 *       loads each FILE (made on x86-64 and committed) into a fresh handle,
 *       saves it again and fails unless the bytes are the same.
 *
 * The data comes from a small fixed generator (a 64-bit LCG written here,
 * so the test does not depend on the library's own RNG staying the same).
 * SPDX-License-Identifier: MIT
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libprofile.h"

#define CHECK(rc, what)                                                       \
  do {                                                                        \
    if ((rc) != LP_OK) {                                                      \
      fprintf(stderr, "golden_snapshots: %s: %s\n", (what), lp_strerror(rc)); \
      return 1;                                                               \
    }                                                                         \
  } while (0)

static uint64_t lcg_state;
static uint64_t next_u64(void) {
  lcg_state = lcg_state * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
  return lcg_state >> 11;
}
static uint32_t below(uint32_t n) { return (uint32_t)(next_u64() % n); }

static int write_file(const char *dir, const char *name, const lp_membuf *b) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (f == NULL) {
    perror(path);
    return 1;
  }
  size_t n = lp_membuf_size(b);
  int bad = n > 0 && fwrite(lp_membuf_data(b), 1, n, f) != n;
  if (fclose(f) != 0 || bad) {
    perror(path);
    return 1;
  }
  return 0;
}

static unsigned char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return NULL;
  size_t cap = 1 << 16, n = 0;
  unsigned char *p = malloc(cap);
  while (p != NULL) {
    n += fread(p + n, 1, cap - n, f);
    if (n < cap) break;
    unsigned char *q = realloc(p, cap * 2);
    if (q == NULL) {
      free(p);
      p = NULL;
      break;
    }
    p = q;
    cap *= 2;
  }
  int err = ferror(f);
  fclose(f);
  if (err) {
    free(p);
    return NULL;
  }
  *len = n;
  return p;
}

/* ---- identity: 400 events over four identifier types ------------------- */

/* The configuration of the fuzz target (fuzz/fuzz_identity.c), so that the
 * committed corpus loads into the same graph as the golden snapshots. */
static lp_idgraph *make_graph(int raw, uint32_t tid[4]) {
  static const struct {
    const char *name;
    int32_t priority;
    uint32_t limit, unique, norm, cc;
  } types[] = {
      {"user_id", 100, 1, 1, LP_IDGRAPH_NORM_GENERIC, 0},
      {"email", 50, 3, 0, LP_IDGRAPH_NORM_EMAIL_GMAIL, 0},
      {"phone", 40, 3, 0, LP_IDGRAPH_NORM_PHONE, 44},
      {"device_id", 10, 5, 0, LP_IDGRAPH_NORM_GENERIC_FOLD, 0},
  };
  lp_idgraph *g;
  if (lp_idgraph_create(NULL, &g) != LP_OK) return NULL;
  int rc = lp_idgraph_set_key(g, "test key 0123456", 16);
  if (rc == LP_OK) rc = lp_idgraph_set_int(g, LP_IDGRAPH_STORE_RAW, raw);
  for (uint32_t t = 0; rc == LP_OK && t < 4; t++) {
    lp_idgraph_type_def def = LP_IDGRAPH_TYPE_DEF_INIT;
    def.name = types[t].name;
    def.priority = types[t].priority;
    def.limit = types[t].limit;
    def.unique = types[t].unique;
    def.normalizer = types[t].norm;
    def.country_code = types[t].cc;
    rc = lp_idgraph_add_type(g, &def, &tid[t]);
  }
  if (rc != LP_OK) {
    fprintf(stderr, "golden_snapshots: identity setup: %s\n", lp_idgraph_errmsg(g));
    lp_idgraph_free(g);
    return NULL;
  }
  return g;
}

static int identity_snapshot(int raw, lp_membuf *b) {
  uint32_t tid[4];
  lp_idgraph *g = make_graph(raw, tid);
  if (g == NULL) return 1;
  int rc = LP_OK;
  lcg_state = 1;
  for (int e = 0; rc == LP_OK && e < 400; e++) {
    char vals[4][40];
    lp_idgraph_ident ids[4];
    size_t n = 0;
    uint32_t person = below(120);
    for (int t = 0; t < 4; t++) {
      if (below(100) >= 55) continue;
      switch (t) {
      case 0: snprintf(vals[t], sizeof vals[t], "U%05u", person); break;
      case 1: snprintf(vals[t], sizeof vals[t], " P%u.Name@GMail.com", person); break;
      case 2: snprintf(vals[t], sizeof vals[t], "07%09u", 700000000u + person * 37u); break;
      default: snprintf(vals[t], sizeof vals[t], "Dev-%u-%u", person, below(3)); break;
      }
      ids[n].type = tid[t];
      ids[n].value = vals[t];
      ids[n].len = strlen(vals[t]);
      n++;
    }
    if (n == 0) continue;
    int64_t ts = INT64_C(1700000000) + (int64_t)below(86400 * 90);
    const char *src = below(2) ? "web" : "app";
    uint64_t pid;
    rc = lp_idgraph_observe(g, ids, n, ts, src, strlen(src), &pid);
  }
  /* Erasure leaves tombstones, which the snapshot keeps too. */
  for (uint32_t p = 0; rc == LP_OK && p < 120; p += 17) {
    char v[16];
    snprintf(v, sizeof v, "U%05u", p);
    lp_idgraph_ident id = {tid[0], v, strlen(v)};
    rc = lp_idgraph_forget_identifier(g, &id);
    if (rc == LP_ENOTFOUND) rc = LP_OK;
  }
  if (rc == LP_OK) rc = lp_idgraph_save(g, lp_membuf_write, b);
  if (rc != LP_OK) fprintf(stderr, "golden_snapshots: identity: %s\n", lp_idgraph_errmsg(g));
  lp_idgraph_free(g);
  return rc == LP_OK ? 0 : 1;
}

/* ---- rfm: 1,500 transactions of 300 profiles, with refunds and orders --- */

#define RFM_AS_OF (INT64_C(1700000000) + INT64_C(86400) * 366)

static lp_rfm *rfm_state(uint64_t *ids, size_t *nids) {
  lp_rfm *h;
  if (lp_rfm_create(NULL, &h) != LP_OK) return NULL;
  static unsigned char seen[300];
  memset(seen, 0, sizeof seen);
  lcg_state = 2;
  int rc = LP_OK;
  for (int i = 0; rc == LP_OK && i < 1500; i++) {
    lp_rfm_txn t = LP_RFM_TXN_INIT;
    uint32_t who = below(300);
    t.profile_id = 1000u + who;
    t.ts = INT64_C(1700000000) + (int64_t)below(86400 * 365);
    t.amount = (int64_t)below(20000) + 1;
    if (below(20) == 0) t.amount = -t.amount / 2;
    if (below(2)) {
      t.flags = LP_RFM_TXN_HAS_ORDER;
      t.order_id = below(2000);
    }
    rc = lp_rfm_add(h, &t, 1);
    seen[who] = 1;
  }
  for (uint64_t p = 5000; rc == LP_OK && p < 5010; p++) rc = lp_rfm_add_profile(h, p);
  if (rc != LP_OK) {
    fprintf(stderr, "golden_snapshots: rfm: %s\n", lp_rfm_errmsg(h));
    lp_rfm_free(h);
    return NULL;
  }
  *nids = 0;
  for (uint32_t w = 0; w < 300; w++)
    if (seen[w]) ids[(*nids)++] = 1000u + w;
  return h;
}

static int rfm_snapshot(lp_membuf *b) {
  uint64_t ids[300];
  size_t n;
  lp_rfm *h = rfm_state(ids, &n);
  if (h == NULL) return 1;
  int rc = lp_rfm_save(h, lp_membuf_write, b);
  if (rc != LP_OK) fprintf(stderr, "golden_snapshots: rfm: %s\n", lp_rfm_errmsg(h));
  lp_rfm_free(h);
  return rc == LP_OK ? 0 : 1;
}

/* ---- clv: every model that fits from an RFM state, on the state above ---- */

static int clv_snapshot(lp_membuf *b) {
  /* (Pareto/NBD is left out: it fits for minutes here; Gamma-Gamma refuses
   * the refunds of this data set, by its domain.) */
  static const uint32_t models[] = {LP_CLV_MODEL_BGNBD, LP_CLV_MODEL_MBGNBD};
  uint64_t ids[300];
  size_t n;
  lp_rfm *r = rfm_state(ids, &n);
  if (r == NULL) return 1;
  lp_clv *h;
  int rc = lp_clv_create(NULL, &h);
  for (size_t m = 0; rc == LP_OK && m < sizeof models / sizeof models[0]; m++)
    rc = lp_clv_fit_rfm(h, models[m], r, ids, n, RFM_AS_OF, 7.0, 100.0, NULL);
  if (rc == LP_OK) rc = lp_clv_save(h, lp_membuf_write, b);
  if (rc != LP_OK) fprintf(stderr, "golden_snapshots: clv: %s\n", h ? lp_clv_errmsg(h) : "create");
  lp_clv_free(h);
  lp_rfm_free(r);
  return rc == LP_OK ? 0 : 1;
}

/* ---- kmeans: 600 rows, 3 columns, 4 blobs; each algorithm and scaling --- */

#define KM_N 600
#define KM_D 3

static int kmeans_snapshot(int64_t algorithm, int64_t scale, lp_membuf *b) {
  static double x[KM_N * KM_D];
  lcg_state = 3;
  for (size_t i = 0; i < KM_N; i++) {
    uint32_t blob = below(4);
    for (size_t t = 0; t < KM_D; t++) {
      /* Positive values (log1p-safe) of different magnitudes per column. */
      double u = (double)below(1u << 20) / (double)(1u << 20);
      x[i * KM_D + t] = (double)(blob * 10u + 1u) * (double)(t + 1) * (1.0 + u);
    }
  }
  lp_kmeans *h;
  CHECK(lp_kmeans_create(NULL, &h), "lp_kmeans_create");
  int rc = lp_kmeans_set_int(h, LP_KMEANS_K, 4);
  if (rc == LP_OK) rc = lp_kmeans_set_int(h, LP_KMEANS_SEED, 7);
  if (rc == LP_OK) rc = lp_kmeans_set_int(h, LP_KMEANS_N_INIT, 3);
  if (rc == LP_OK) rc = lp_kmeans_set_int(h, LP_KMEANS_BATCH_SIZE, 128);
  if (rc == LP_OK) rc = lp_kmeans_set_int(h, LP_KMEANS_ALGORITHM, algorithm);
  if (rc == LP_OK) rc = lp_kmeans_set_int(h, LP_KMEANS_SCALE, scale);
  if (rc == LP_OK) rc = lp_kmeans_fit(h, x, KM_N, KM_D, NULL);
  if (rc == LP_OK) rc = lp_kmeans_save(h, lp_membuf_write, b);
  if (rc != LP_OK) fprintf(stderr, "golden_snapshots: kmeans: %s\n", lp_kmeans_errmsg(h));
  lp_kmeans_free(h);
  return rc == LP_OK ? 0 : 1;
}

static int write_all(const char *dir) {
  static const struct { const char *name; int64_t v; } algos[] = {
    {"lloyd", LP_KMEANS_ALGO_LLOYD}, {"hamerly", LP_KMEANS_ALGO_HAMERLY},
    {"minibatch", LP_KMEANS_ALGO_MINIBATCH}};
  static const struct { const char *name; int64_t v; } scales[] = {
    {"none", LP_KMEANS_SCALE_NONE}, {"zscore", LP_KMEANS_SCALE_ZSCORE},
    {"minmax", LP_KMEANS_SCALE_MINMAX}, {"log1p", LP_KMEANS_SCALE_LOG1P}};
  lp_membuf *b;
  CHECK(lp_membuf_create(NULL, &b), "lp_membuf_create");
  int bad = identity_snapshot(0, b) || write_file(dir, "identity-hashed.lps", b);
  lp_membuf_clear(b);
  bad = bad || identity_snapshot(1, b) || write_file(dir, "identity-raw.lps", b);
  lp_membuf_clear(b);
  bad = bad || rfm_snapshot(b) || write_file(dir, "rfm.lps", b);
  lp_membuf_clear(b);
  bad = bad || clv_snapshot(b) || write_file(dir, "clv.lps", b);
  for (size_t a = 0; !bad && a < sizeof algos / sizeof algos[0]; a++) {
    for (size_t s = 0; !bad && s < sizeof scales / sizeof scales[0]; s++) {
      char name[64];
      snprintf(name, sizeof name, "kmeans-%s-%s.lps", algos[a].name, scales[s].name);
      lp_membuf_clear(b);
      bad = kmeans_snapshot(algos[a].v, scales[s].v, b) || write_file(dir, name, b);
    }
  }
  lp_membuf_free(b);
  return bad;
}

/* ---- round trip -------------------------------------------------------- */

/* Set by `rewrite`: a file written by an older library version differs in
 * its header's writer-version field (and so in the chained checksums);
 * the identity storage mode is then chosen by size alone. */
static bool rewriting = false;

static int load_save(const char *kind, const unsigned char *in, size_t n, lp_membuf *out) {
  lp_memreader mr;
  CHECK(lp_memreader_init(&mr, in, n), "lp_memreader_init");
  int rc;
  if (strcmp(kind, "identity") == 0) {
    /* Hashed or raw storage is the host's setting, not the snapshot's: the
     * file must come back unchanged under one of them. */
    rc = LP_EINVAL;
    for (int raw = 0; raw < 2; raw++) {
      uint32_t tid[4];
      lp_idgraph *g = make_graph(raw, tid);
      if (g == NULL) return 1;
      CHECK(lp_memreader_init(&mr, in, n), "lp_memreader_init");
      lp_membuf_clear(out);
      rc = lp_idgraph_load(g, lp_memreader_read, &mr);
      if (rc == LP_OK) rc = lp_idgraph_save(g, lp_membuf_write, out);
      if (rc != LP_OK && raw == 1) fprintf(stderr, "  %s\n", lp_idgraph_errmsg(g));
      lp_idgraph_free(g);
      if (rc == LP_OK && lp_membuf_size(out) == n &&
          (rewriting || memcmp(lp_membuf_data(out), in, n) == 0))
        break;
    }
  } else if (strcmp(kind, "rfm") == 0) {
    lp_rfm *h;
    CHECK(lp_rfm_create(NULL, &h), "lp_rfm_create");
    rc = lp_rfm_load(h, lp_memreader_read, &mr);
    if (rc == LP_OK) rc = lp_rfm_save(h, lp_membuf_write, out);
    if (rc != LP_OK) fprintf(stderr, "  %s\n", lp_rfm_errmsg(h));
    lp_rfm_free(h);
  } else if (strcmp(kind, "kmeans") == 0) {
    lp_kmeans *h;
    CHECK(lp_kmeans_create(NULL, &h), "lp_kmeans_create");
    rc = lp_kmeans_load(h, lp_memreader_read, &mr);
    if (rc == LP_OK) rc = lp_kmeans_save(h, lp_membuf_write, out);
    if (rc != LP_OK) fprintf(stderr, "  %s\n", lp_kmeans_errmsg(h));
    lp_kmeans_free(h);
  } else if (strcmp(kind, "clv") == 0) {
    lp_clv *h;
    CHECK(lp_clv_create(NULL, &h), "lp_clv_create");
    rc = lp_clv_load(h, lp_memreader_read, &mr);
    if (rc == LP_OK) rc = lp_clv_save(h, lp_membuf_write, out);
    if (rc != LP_OK) fprintf(stderr, "  %s\n", lp_clv_errmsg(h));
    lp_clv_free(h);
  } else if (strcmp(kind, "tags") == 0) {
    lp_tags *h;
    CHECK(lp_tags_create(NULL, &h), "lp_tags_create");
    rc = lp_tags_load(h, lp_memreader_read, &mr);
    if (rc == LP_OK) rc = lp_tags_save(h, lp_membuf_write, out);
    if (rc != LP_OK) fprintf(stderr, "  %s\n", lp_tags_errmsg(h));
    lp_tags_free(h);
  } else {
    fprintf(stderr, "golden_snapshots: unknown kind '%s'\n", kind);
    return 2;
  }
  return rc == LP_OK ? 0 : 1;
}

static int roundtrip(const char *kind, int nfiles, char **files) {
  lp_membuf *b;
  CHECK(lp_membuf_create(NULL, &b), "lp_membuf_create");
  int bad = 0;
  for (int i = 0; i < nfiles; i++) {
    size_t n = 0;
    unsigned char *in = read_file(files[i], &n);
    if (in == NULL) {
      perror(files[i]);
      bad = 1;
      continue;
    }
    lp_membuf_clear(b);
    int rc = load_save(kind, in, n, b);
    if (rc == 2) {
      free(in);
      lp_membuf_free(b);
      return 2;
    }
    if (rc != 0) {
      fprintf(stderr, "FAIL %s: does not load and save\n", files[i]);
      bad = 1;
    } else if (lp_membuf_size(b) != n || memcmp(lp_membuf_data(b), in, n) != 0) {
      fprintf(stderr, "FAIL %s: saved back as %zu different bytes (was %zu)\n", files[i],
              lp_membuf_size(b), n);
      bad = 1;
    } else {
      printf("ok %s (%zu bytes)\n", files[i], n);
    }
    free(in);
  }
  lp_membuf_free(b);
  return bad;
}

/* Load each file and write back what this library saves for it: used at a
 * release, when every snapshot header records the new library version. */
static int rewrite(const char *kind, int nfiles, char **files) {
  lp_membuf *b;
  CHECK(lp_membuf_create(NULL, &b), "lp_membuf_create");
  rewriting = true;
  int bad = 0;
  for (int i = 0; i < nfiles; i++) {
    size_t n = 0;
    unsigned char *in = read_file(files[i], &n);
    lp_membuf_clear(b);
    if (in == NULL || load_save(kind, in, n, b) != 0) {
      printf("skip %s (does not load)\n", files[i]);
    } else {
      FILE *f = fopen(files[i], "wb");
      bad |= f == NULL || fwrite(lp_membuf_data(b), 1, lp_membuf_size(b), f) != lp_membuf_size(b);
      bad |= f != NULL && fclose(f) != 0;
      printf("rewrote %s (%zu bytes)\n", files[i], lp_membuf_size(b));
    }
    free(in);
  }
  lp_membuf_free(b);
  return bad;
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "write") == 0) return write_all(argv[2]);
  if (argc >= 4 && strcmp(argv[1], "rewrite") == 0) return rewrite(argv[2], argc - 3, argv + 3);
  if (argc >= 4 && strcmp(argv[1], "roundtrip") == 0) return roundtrip(argv[2], argc - 3, argv + 3);
  fprintf(stderr, "usage: golden_snapshots write DIR\n"
                  "       golden_snapshots roundtrip identity|rfm|kmeans|clv|tags FILE...\n"
                  "       golden_snapshots rewrite identity|rfm|kmeans|clv|tags FILE...\n");
  return 2;
}
