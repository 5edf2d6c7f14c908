/*
 * Tests of the rfm snapshots and failure paths: round trips, every
 * truncation, bit flip, failing writer and reader byte, content that
 * passes the container checks but breaks an invariant, and every failing
 * allocation of every public flow.
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <stdlib.h>

#include "core/common.h"
#include "rfm/rfm_check.h"
#include "rfm_fixtures.h"

/* A small state that exercises every field: orders, loose lines, refunds,
 * several periods, a prospect and recorded stages. */
static void fill_sample(lp_rfm *h) {
  lp_rfm_txn t[40];
  random_txns(t, 40, 5, 3);
  assert_int_equal(lp_rfm_add(h, t, 40), LP_OK);
  assert_int_equal(lp_rfm_add_profile(h, 1), LP_OK);
  assert_int_equal(lp_rfm_update_stages(h, T0 + 40 * DAY, NULL, NULL, NULL), LP_OK);
}

static lp_membuf *sample_bytes(void) {
  lp_rfm *h;
  assert_int_equal(lp_rfm_create(NULL, &h), LP_OK);
  fill_sample(h);
  lp_membuf *b = state_bytes(h);
  lp_rfm_free(h);
  return b;
}

static int load_buffer(lp_rfm *h, const uint8_t *p, size_t n) {
  lp_memreader mr;
  assert_int_equal(lp_memreader_init(&mr, p, n), LP_OK);
  return lp_rfm_load(h, lp_memreader_read, &mr);
}

/* A loaded-into handle whose load failed must still hold `expect`. */
static void assert_holds(lp_rfm *h, lp_membuf *expect) {
  if (rfm_check(h) != LP_OK) fail_msg("invariant broken: %s", lp_rfm_errmsg(h));
  lp_membuf *now = state_bytes(h);
  assert_int_equal(lp_membuf_size(now), lp_membuf_size(expect));
  assert_memory_equal(lp_membuf_data(now), lp_membuf_data(expect), lp_membuf_size(now));
  lp_membuf_free(now);
}

/* A different, non-empty state to load into: failures must leave it. */
static lp_rfm *victim(lp_membuf **bytes) {
  lp_rfm *h;
  assert_int_equal(lp_rfm_create(NULL, &h), LP_OK);
  lp_rfm_txn t = txn(424242, T0, 99, 5);
  assert_int_equal(lp_rfm_add(h, &t, 1), LP_OK);
  *bytes = state_bytes(h);
  return h;
}

static void round_trip_restores_everything(void **state) {
  (void)state;
  lp_membuf *b = sample_bytes();
  lp_membuf *vb;
  lp_rfm *h = victim(&vb);
  assert_int_equal(load_buffer(h, lp_membuf_data(b), lp_membuf_size(b)), LP_OK);
  assert_holds(h, b);
  /* The loaded state keeps working: ingest, merge, stages. */
  lp_rfm_txn t = txn(1000, T0 + 50 * DAY, 1, 77);
  assert_int_equal(lp_rfm_add(h, &t, 1), LP_OK);
  assert_int_equal(lp_rfm_merge_profiles(h, 1000, 1001), LP_OK);
  assert_int_equal(lp_rfm_update_stages(h, T0 + 30 * DAY, NULL, NULL, NULL), LP_ERANGE);
  assert_int_equal(lp_rfm_update_stages(h, T0 + 60 * DAY, NULL, NULL, NULL), LP_OK);
  lp_rfm_profile p = LP_RFM_PROFILE_INIT;
  assert_int_equal(lp_rfm_get(h, 1, &p), LP_OK);
  assert_int_equal(p.transactions, 0);
  assert_int_equal(lp_rfm_save(NULL, lp_membuf_write, b), LP_EINVAL);
  assert_int_equal(lp_rfm_save(h, NULL, b), LP_EINVAL);
  assert_int_equal(lp_rfm_load(NULL, lp_memreader_read, NULL), LP_EINVAL);
  assert_int_equal(lp_rfm_load(h, NULL, NULL), LP_EINVAL);
  lp_rfm_free(h);
  lp_membuf_free(vb);
  lp_membuf_free(b);
}

static void save_is_independent_of_history(void **state) {
  (void)state;
  /* The same transactions in another order, with an identity merge that
   * cancels out, give the same bytes. */
  lp_rfm_txn t[300];
  random_txns(t, 300, 20, 9);
  lp_rfm *a, *b;
  assert_int_equal(lp_rfm_create(NULL, &a), LP_OK);
  assert_int_equal(lp_rfm_create(NULL, &b), LP_OK);
  assert_int_equal(lp_rfm_add(a, t, 300), LP_OK);
  shuffle_txns(t, 300, 1);
  for (size_t i = 0; i < 300; i++) {
    if (t[i].profile_id == 1005) t[i].profile_id = 99;
    assert_int_equal(lp_rfm_add(b, &t[i], 1), LP_OK);
  }
  assert_int_equal(lp_rfm_merge_profiles(b, 1005, 99), LP_OK);
  assert_same_state(a, b);
  lp_rfm_free(a);
  lp_rfm_free(b);
}

static void every_truncation_and_bit_flip_is_rejected(void **state) {
  (void)state;
  lp_membuf *b = sample_bytes(), *vb;
  lp_rfm *h = victim(&vb);
  const uint8_t *p = lp_membuf_data(b);
  size_t total = lp_membuf_size(b);
  for (size_t len = 0; len < total; len++) {
    int rc = load_buffer(h, p, len);
    if (rc != LP_ECORRUPT) fail_msg("truncation at %zu: got %d", len, rc);
    assert_int_equal(rfm_check(h), LP_OK);
  }
  uint8_t *copy = malloc(total);
  assert_non_null(copy);
  for (size_t i = 0; i < total; i++) {
    for (int bit = 0; bit < 8; bit++) {
      memcpy(copy, p, total);
      copy[i] ^= (uint8_t)(1u << bit);
      int rc = load_buffer(h, copy, total);
      if (rc != LP_ECORRUPT && rc != LP_EVERSION && rc != LP_ELIMIT)
        fail_msg("flip of byte %zu bit %d not detected: %d", i, bit, rc);
    }
  }
  assert_holds(h, vb);
  free(copy);
  lp_rfm_free(h);
  lp_membuf_free(vb);
  lp_membuf_free(b);
}

/* Rewrite a saved snapshot section by section through a fresh writer,
 * letting `edit` change a payload first: the container checksums are then
 * valid and only the rfm loader's own checks stand in the way. */
typedef void (*edit_fn)(uint32_t *type, uint32_t *flags, uint8_t *data, size_t *len,
                        size_t section, void *ctx);

static lp_membuf *rewrite(lp_membuf *src, uint32_t kind, edit_fn edit, void *ctx) {
  lp_memreader mr;
  assert_int_equal(lp_memreader_init(&mr, lp_membuf_data(src), lp_membuf_size(src)), LP_OK);
  lp_snapshot_reader *r;
  assert_int_equal(lp_snapshot_reader_create(NULL, lp_memreader_read, &mr, &r), LP_OK);
  assert_int_equal(lp_snapshot_reader_header(r, NULL, NULL), LP_OK);
  lp_membuf *out;
  assert_int_equal(lp_membuf_create(NULL, &out), LP_OK);
  lp_snapshot_writer *w;
  assert_int_equal(lp_snapshot_writer_create(NULL, lp_membuf_write, out, kind, &w), LP_OK);
  for (size_t s = 0;; s++) {
    uint32_t type, flags;
    const uint8_t *data;
    size_t len;
    assert_int_equal(lp_snapshot_reader_next(r, &type, &flags, &data, &len), LP_OK);
    if (type == LP_SECTION_END) break;
    uint8_t *copy = malloc(len + 64);
    assert_non_null(copy);
    if (len > 0) memcpy(copy, data, len);
    edit(&type, &flags, copy, &len, s, ctx);
    if (type != LP_SECTION_END) {
      assert_int_equal(lp_snapshot_writer_begin_section(w, type, flags), LP_OK);
      assert_int_equal(lp_snapshot_writer_write(w, copy, len), LP_OK);
      assert_int_equal(lp_snapshot_writer_end_section(w), LP_OK);
    }
    free(copy);
  }
  assert_int_equal(lp_snapshot_writer_finish(w), LP_OK);
  lp_snapshot_writer_free(w);
  lp_snapshot_reader_free(r);
  return out;
}

typedef struct byte_edit {
  size_t section, offset;
  uint8_t xor_with;
  bool hit;
} byte_edit;

static void edit_byte(uint32_t *type, uint32_t *flags, uint8_t *data, size_t *len,
                      size_t section, void *ctx) {
  (void)type;
  (void)flags;
  byte_edit *e = ctx;
  if (section == e->section && e->offset < *len) {
    data[e->offset] ^= e->xor_with;
    e->hit = true;
  }
}

static void keep_all(uint32_t *type, uint32_t *flags, uint8_t *data, size_t *len,
                     size_t section, void *ctx) {
  (void)type, (void)flags, (void)data, (void)len, (void)section, (void)ctx;
}

/* Change every payload byte of every section in a few ways: the loader
 * either rejects the content with LP_ECORRUPT/LP_ELIMIT and leaves the
 * handle alone, or accepts a state that saves back to exactly the input. */
static void content_edits_are_validated(void **state) {
  (void)state;
  lp_membuf *b = sample_bytes(), *vb;
  lp_rfm *h = victim(&vb);
  static const uint8_t xors[] = {0x01, 0x80, 0xFF};
  size_t rejected = 0, accepted = 0;
  for (size_t s = 0; s < 4; s++) {
    for (size_t off = 0;; off++) {
      byte_edit e = {s, off, 0, false};
      bool any = false;
      for (size_t x = 0; x < sizeof xors; x++) {
        e.xor_with = xors[x];
        e.hit = false;
        lp_membuf *m = rewrite(b, LP_RFM_SNAPSHOT_KIND, edit_byte, &e);
        if (!e.hit) {
          lp_membuf_free(m);
          break;
        }
        any = true;
        int rc = load_buffer(h, lp_membuf_data(m), lp_membuf_size(m));
        if (rc == LP_OK) {
          assert_holds(h, m);
          accepted++;
          assert_int_equal(load_buffer(h, lp_membuf_data(vb), lp_membuf_size(vb)), LP_OK);
        } else {
          if (rc != LP_ECORRUPT && rc != LP_ELIMIT)
            fail_msg("section %zu byte %zu: got %d", s, off, rc);
          assert_holds(h, vb);
          rejected++;
        }
        lp_membuf_free(m);
      }
      if (!any) break;
    }
  }
  print_message("content edits: %zu rejected, %zu accepted\n", rejected, accepted);
  assert_true(rejected > 100);
  (void)accepted;
  /* Wrong kind. */
  lp_membuf *k = rewrite(b, LP_FOURCC('N', 'O', 'P', 'E'), keep_all, NULL);
  assert_int_equal(load_buffer(h, lp_membuf_data(k), lp_membuf_size(k)), LP_ECORRUPT);
  assert_non_null(strstr(lp_rfm_errmsg(h), "kind"));
  lp_membuf_free(k);
  assert_holds(h, vb);
  lp_rfm_free(h);
  lp_membuf_free(vb);
  lp_membuf_free(b);
}

/* Documented limit on the transactions of one state (docs/rfm.md). */
#define MAX_TXNS ((UINT64_C(1) << 62) - 1)
/* PROF payload: a u64 count, then 88-byte records whose 7th field (offset
 * 48) is the transaction count; record 0 of the sample is the prospect. */
#define SECOND_TXNS_OFFSET (8 + 88 + 48)

typedef struct txns_edit {
  uint64_t value, old, id;
} txns_edit;

static void set_second_txns(uint32_t *type, uint32_t *flags, uint8_t *data, size_t *len,
                            size_t section, void *ctx) {
  (void)flags;
  txns_edit *e = ctx;
  if (*type != LP_FOURCC('P', 'R', 'O', 'F')) return;
  (void)section;
  assert_true(*len >= SECOND_TXNS_OFFSET + 8);
  e->old = lp_get_u64le(data + SECOND_TXNS_OFFSET);
  e->id = lp_get_u64le(data + 8 + 88);
  lp_put_u64le(data + SECOND_TXNS_OFFSET, e->value);
}

/* Crafted transaction counts: a state may total 2^62 - 1 transactions
 * (then adding or merging more is refused), one more is corrupt. The
 * sample holds 40 transactions, so giving the second profile
 * 2^62 - 1 - (40 - its own) reaches the limit exactly. */
static void transaction_counts_are_bounded(void **state) {
  (void)state;
  lp_membuf *b = sample_bytes();
  txns_edit probe = {0, 0, 0};
  lp_membuf *m = rewrite(b, LP_RFM_SNAPSHOT_KIND, set_second_txns, &probe);
  lp_membuf_free(m);
  assert_true(probe.old >= 1 && probe.old <= 40);
  txns_edit at_limit = {MAX_TXNS - (40 - probe.old), 0, 0}, over = {at_limit.value + 1, 0, 0};
  lp_membuf *full = rewrite(b, LP_RFM_SNAPSHOT_KIND, set_second_txns, &at_limit);
  lp_membuf *too_many = rewrite(b, LP_RFM_SNAPSHOT_KIND, set_second_txns, &over);
  lp_membuf *vb;
  lp_rfm *h = victim(&vb);
  assert_int_equal(load_buffer(h, lp_membuf_data(too_many), lp_membuf_size(too_many)),
                   LP_ECORRUPT);
  assert_non_null(strstr(lp_rfm_errmsg(h), "2^62"));
  assert_holds(h, vb);
  /* Two counts that each fit but wrap uint64 together are refused too. */
  txns_edit huge = {UINT64_MAX - 5, 0, 0};
  lp_membuf *wrap = rewrite(b, LP_RFM_SNAPSHOT_KIND, set_second_txns, &huge);
  assert_int_equal(load_buffer(h, lp_membuf_data(wrap), lp_membuf_size(wrap)), LP_ECORRUPT);
  assert_holds(h, vb);
  assert_int_equal(load_buffer(h, lp_membuf_data(full), lp_membuf_size(full)), LP_OK);
  lp_rfm_txn t = txn(7, T0, 1, 1);
  assert_int_equal(lp_rfm_add(h, &t, 1), LP_ERANGE);
  assert_non_null(strstr(lp_rfm_errmsg(h), "2^62"));
  assert_holds(h, full);
  lp_rfm *other;
  assert_int_equal(lp_rfm_create(NULL, &other), LP_OK);
  assert_int_equal(lp_rfm_add(other, &t, 1), LP_OK);
  assert_int_equal(lp_rfm_merge(h, other), LP_ERANGE);
  assert_holds(h, full);
  /* The other direction: one transaction plus the full state. */
  assert_int_equal(lp_rfm_merge(other, h), LP_ERANGE);
  /* An identity merge keeps the total: allowed, and the counts add up
   * (into the prospect, id 1, which had none). */
  assert_int_equal(lp_rfm_merge_profiles(h, 1, probe.id), LP_OK);
  lp_rfm_profile p = LP_RFM_PROFILE_INIT;
  assert_int_equal(lp_rfm_get(h, 1, &p), LP_OK);
  assert_int_equal(p.transactions, at_limit.value);
  lp_rfm_free(other);
  lp_rfm_free(h);
  lp_membuf_free(wrap);
  lp_membuf_free(vb);
  lp_membuf_free(full);
  lp_membuf_free(too_many);
  lp_membuf_free(b);
}

static void drop_section(uint32_t *type, uint32_t *flags, uint8_t *data, size_t *len,
                         size_t section, void *ctx) {
  (void)flags, (void)data, (void)len;
  if (section == *(size_t *)ctx) *type = LP_SECTION_END;
}

static void rename_section(uint32_t *type, uint32_t *flags, uint8_t *data, size_t *len,
                           size_t section, void *ctx) {
  (void)data, (void)len;
  const uint32_t *how = ctx; /* {section, new flags} */
  if (section == how[0]) {
    *type = LP_FOURCC('X', 'T', 'R', 'A');
    *flags = how[1];
  }
}

static void sections_are_checked(void **state) {
  (void)state;
  lp_membuf *b = sample_bytes(), *vb;
  lp_rfm *h = victim(&vb);
  for (size_t s = 0; s < 4; s++) {
    lp_membuf *m = rewrite(b, LP_RFM_SNAPSHOT_KIND, drop_section, &s);
    assert_int_equal(load_buffer(h, lp_membuf_data(m), lp_membuf_size(m)), LP_ECORRUPT);
    lp_membuf_free(m);
    /* An unknown required section is a version error, an optional one is
     * skipped (and then the renamed rfm section is missing). */
    uint32_t how[2] = {(uint32_t)s, LP_SECTION_REQUIRED};
    m = rewrite(b, LP_RFM_SNAPSHOT_KIND, rename_section, how);
    assert_int_equal(load_buffer(h, lp_membuf_data(m), lp_membuf_size(m)), LP_EVERSION);
    lp_membuf_free(m);
    how[1] = 0;
    m = rewrite(b, LP_RFM_SNAPSHOT_KIND, rename_section, how);
    assert_int_equal(load_buffer(h, lp_membuf_data(m), lp_membuf_size(m)), LP_ECORRUPT);
    if (s == 3) assert_non_null(strstr(lp_rfm_errmsg(h), "missing"));
    lp_membuf_free(m);
  }
  assert_holds(h, vb);
  lp_rfm_free(h);
  lp_membuf_free(vb);
  lp_membuf_free(b);
}

static void writer_and_reader_fail_cleanly_at_every_byte(void **state) {
  (void)state;
  lp_membuf *b = sample_bytes(), *vb;
  size_t total = lp_membuf_size(b);
  lp_rfm *src;
  assert_int_equal(lp_rfm_create(NULL, &src), LP_OK);
  fill_sample(src);
  for (size_t limit = 0; limit < total; limit++) {
    lp_test_writer tw = {NULL, limit, 0, 1};
    assert_int_equal(lp_rfm_save(src, lp_test_writer_cb, &tw), LP_EIO);
    assert_true(tw.written <= limit);
    assert_int_equal(rfm_check(src), LP_OK);
  }
  assert_non_null(strstr(lp_rfm_errmsg(src), "save failed"));
  lp_rfm *h = victim(&vb);
  for (size_t at = 0; at < total; at++) {
    lp_test_reader tr;
    lp_test_reader_init(&tr, lp_membuf_data(b), total);
    tr.fail_at = at;
    tr.max_chunk = 7;
    assert_int_equal(lp_rfm_load(h, lp_test_reader_cb, &tr), LP_EIO);
    assert_int_equal(rfm_check(h), LP_OK);
  }
  assert_holds(h, vb);
  lp_rfm_free(h);
  lp_rfm_free(src);
  lp_membuf_free(vb);
  lp_membuf_free(b);
}

/* The writer and reader are host callbacks: while they run the handle is
 * busy, so a call back into it is refused (LP_EMISUSE) and does nothing,
 * while the save or load itself completes. */
typedef struct reentering_io {
  lp_rfm *h;
  lp_membuf *sink;          /* writer: where the bytes go */
  lp_test_reader src;       /* reader: where they come from */
  size_t calls;
  int add_rc, get_rc, save_rc;
  size_t count;
  bool message_ok;
} reentering_io;

static void reenter_once(reentering_io *c) {
  if (c->calls++ > 0) return;
  lp_rfm_txn t = txn(777, T0, 5, -1);
  c->add_rc = lp_rfm_add(c->h, &t, 1);
  c->message_ok =
      strstr(lp_rfm_errmsg(c->h), "lp_rfm_add called from inside a callback") != NULL;
  lp_rfm_profile p = LP_RFM_PROFILE_INIT;
  c->get_rc = lp_rfm_get(c->h, 777, &p);
  lp_test_writer tw = {NULL, SIZE_MAX, 0, 1};
  c->save_rc = lp_rfm_save(c->h, lp_test_writer_cb, &tw);
  c->count = lp_rfm_count(c->h);
}

static int reentering_writer(void *ud, const void *buf, size_t len) {
  reentering_io *c = ud;
  reenter_once(c);
  return lp_membuf_write(c->sink, buf, len);
}

static int reentering_reader(void *ud, void *buf, size_t cap, size_t *got) {
  reentering_io *c = ud;
  reenter_once(c);
  return lp_test_reader_cb(&c->src, buf, cap, got);
}

static void io_callbacks_cannot_reenter(void **state) {
  (void)state;
  lp_rfm *h;
  assert_int_equal(lp_rfm_create(NULL, &h), LP_OK);
  fill_sample(h);
  size_t profiles = lp_rfm_count(h);
  lp_membuf *expect = state_bytes(h);
  reentering_io c;
  memset(&c, 0, sizeof c);
  c.h = h;
  assert_int_equal(lp_membuf_create(NULL, &c.sink), LP_OK);
  assert_int_equal(lp_rfm_save(h, reentering_writer, &c), LP_OK);
  assert_true(c.calls > 0);
  assert_int_equal(c.add_rc, LP_EMISUSE);
  assert_int_equal(c.get_rc, LP_EMISUSE);
  assert_int_equal(c.save_rc, LP_EMISUSE);
  assert_int_equal(c.count, profiles);
  assert_true(c.message_ok);
  /* The save is complete and the state untouched. */
  assert_int_equal(lp_membuf_size(c.sink), lp_membuf_size(expect));
  assert_memory_equal(lp_membuf_data(c.sink), lp_membuf_data(expect), lp_membuf_size(expect));
  assert_holds(h, expect);
  /* Load the same bytes back through a re-entering reader. */
  lp_membuf *vb;
  lp_rfm *v = victim(&vb);
  reentering_io d;
  memset(&d, 0, sizeof d);
  d.h = v;
  lp_test_reader_init(&d.src, lp_membuf_data(expect), lp_membuf_size(expect));
  d.src.max_chunk = 13;
  assert_int_equal(lp_rfm_load(v, reentering_reader, &d), LP_OK);
  assert_true(d.calls > 0);
  assert_int_equal(d.add_rc, LP_EMISUSE);
  assert_int_equal(d.get_rc, LP_EMISUSE);
  assert_int_equal(d.save_rc, LP_EMISUSE);
  assert_int_equal(d.count, 1); /* the victim's one profile, until the swap */
  assert_holds(v, expect);
  /* And a handle is usable again afterwards. */
  lp_rfm_txn t = txn(777, T0, 5, -1);
  assert_int_equal(lp_rfm_add(v, &t, 1), LP_OK);
  lp_rfm_free(v);
  lp_membuf_free(vb);
  lp_membuf_free(c.sink);
  lp_membuf_free(expect);
  lp_rfm_free(h);
}

/* ---- every allocation failure of every public flow ---- */

typedef int (*rfm_op)(lp_rfm *h, const lp_allocator *alloc);

static int save_into(lp_rfm *h, lp_membuf **out) {
  int rc = lp_membuf_create(NULL, out);
  if (rc == LP_OK) rc = lp_rfm_save(h, lp_membuf_write, *out);
  if (rc != LP_OK) {
    lp_membuf_free(*out);
    *out = NULL;
  }
  return rc;
}

/* Build a sample state with `alloc`, save it, run `op`; when the op fails
 * the state must still save to the same bytes (the harness fails one
 * allocation only, so the second save succeeds). */
typedef struct op_case {
  const char *name;
  rfm_op op;
  bool on_h; /* every allocation of the op is made by a call on h */
} op_case;

static int op_flow(const lp_allocator *alloc, void *ctx) {
  const op_case *oc = ctx;
  rfm_op op = oc->op;
  lp_rfm *h;
  int rc = lp_rfm_create(alloc, &h);
  if (rc != LP_OK) return rc;
  lp_rfm_txn t[40];
  random_txns(t, 40, 5, 3);
  rc = lp_rfm_add(h, t, 40);
  lp_membuf *before = NULL, *after = NULL;
  if (rc == LP_OK) rc = save_into(h, &before);
  if (rc == LP_OK) {
    /* A known message first: a failure in a call on h must replace it. */
    (void)lp_rfm_set_int(h, 77u, 0);
    rc = op(h, alloc);
    bool stale = strcmp(lp_rfm_errmsg(h), "key: unknown option 77") == 0;
    if (rc == LP_ENOMEM && (stale ? oc->on_h : strstr(lp_rfm_errmsg(h), "memory") == NULL))
      fail_msg("%s: ENOMEM with the message \"%s\"", oc->name, lp_rfm_errmsg(h));
    if (rc == LP_OK && rfm_check(h) != LP_OK) fail_msg("invariant broken: %s", lp_rfm_errmsg(h));
    if (rc != LP_OK) {
      /* Unchanged and consistent: the same bytes, every invariant. */
      if (rfm_check(h) != LP_OK) fail_msg("invariant broken: %s", lp_rfm_errmsg(h));
      assert_int_equal(save_into(h, &after), LP_OK);
      assert_int_equal(lp_membuf_size(before), lp_membuf_size(after));
      assert_memory_equal(lp_membuf_data(before), lp_membuf_data(after),
                          lp_membuf_size(after));
    }
  }
  lp_membuf_free(before);
  lp_membuf_free(after);
  lp_rfm_free(h);
  return rc;
}

static int op_add(lp_rfm *h, const lp_allocator *alloc) {
  (void)alloc;
  lp_rfm_txn t[300];
  random_txns(t, 300, 100, 4);
  return lp_rfm_add(h, t, 300);
}

static int op_add_profile(lp_rfm *h, const lp_allocator *alloc) {
  (void)alloc;
  int rc = LP_OK;
  for (uint64_t id = 1; rc == LP_OK && id < 40; id++) rc = lp_rfm_add_profile(h, id);
  return rc;
}

static int op_merge_profiles(lp_rfm *h, const lp_allocator *alloc) {
  (void)alloc;
  int rc = lp_rfm_merge_profiles(h, 1000, 1001);
  if (rc == LP_OK) rc = lp_rfm_merge_profiles(h, 5000, 1002);
  return rc;
}

static int op_merge(lp_rfm *h, const lp_allocator *alloc) {
  lp_rfm *other;
  int rc = lp_rfm_create(alloc, &other);
  if (rc != LP_OK) return rc;
  lp_rfm_txn t[200];
  random_txns(t, 200, 50, 8);
  rc = lp_rfm_add(other, t, 200);
  if (rc == LP_OK) rc = lp_rfm_merge(h, other);
  lp_rfm_free(other);
  return rc;
}

static int op_score(lp_rfm *h, const lp_allocator *alloc) {
  lp_rfm_segmap *map;
  int rc = lp_rfm_segmap_builtin(alloc, LP_RFM_MAP_RFM11, &map);
  if (rc != LP_OK) return rc;
  lp_rfm_score_options o = LP_RFM_SCORE_OPTIONS_INIT;
  o.as_of = T0 + 40 * DAY;
  lp_rfm_row rows[8];
  size_t n;
  rc = lp_rfm_score(h, &o, map, rows, 8, &n);
  lp_rfm_segment_summary sum[12];
  size_t needed;
  if (rc == LP_OK) assert_int_equal(lp_rfm_summarize(map, rows, n, sum, 12, &needed), LP_OK);
  lp_rfm_segmap_free(map);
  return rc;
}

static void ignore_change(void *ud, uint64_t id, uint32_t from, uint32_t to) {
  (void)ud, (void)id, (void)from, (void)to;
}

static int op_update_stages(lp_rfm *h, const lp_allocator *alloc) {
  (void)alloc;
  return lp_rfm_update_stages(h, T0 + 40 * DAY, ignore_change, NULL, NULL);
}

static int op_save(lp_rfm *h, const lp_allocator *alloc) {
  (void)alloc;
  lp_test_writer tw = {NULL, SIZE_MAX, 0, 1};
  return lp_rfm_save(h, lp_test_writer_cb, &tw);
}

static int op_load(lp_rfm *h, const lp_allocator *alloc) {
  (void)alloc;
  lp_rfm *other;
  assert_int_equal(lp_rfm_create(NULL, &other), LP_OK);
  fill_sample(other);
  lp_membuf *b = state_bytes(other);
  lp_rfm_free(other);
  int rc = load_buffer(h, lp_membuf_data(b), lp_membuf_size(b));
  lp_membuf_free(b);
  return rc;
}

static int op_segmap(lp_rfm *h, const lp_allocator *alloc) {
  (void)h;
  lp_rfm_segmap *map;
  int rc = lp_rfm_segmap_create(alloc, &map);
  if (rc != LP_OK) return rc;
  lp_rfm_rule rule = LP_RFM_RULE_INIT;
  rule.name = "any";
  for (int i = 0; rc == LP_OK && i < 20; i++) rc = lp_rfm_segmap_add(map, &rule);
  lp_rfm_segmap_free(map);
  return rc;
}

static void every_allocation_failure_leaves_state_unchanged(void **state) {
  (void)state;
  op_case ops[] = {
      {"add", op_add, true},         {"add_profile", op_add_profile, true},
      {"merge_profiles", op_merge_profiles, true}, {"merge", op_merge, false},
      {"score", op_score, false},    {"update_stages", op_update_stages, true},
      {"save", op_save, true},       {"load", op_load, true},
      {"segmap", op_segmap, false},
  };
  for (size_t i = 0; i < LP_ARRAY_LEN(ops); i++) {
    size_t points = lp_test_oom_sweep(ops[i].name, op_flow, &ops[i]);
    assert_true(points >= 3);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(round_trip_restores_everything),
      cmocka_unit_test(save_is_independent_of_history),
      cmocka_unit_test(every_truncation_and_bit_flip_is_rejected),
      cmocka_unit_test(content_edits_are_validated),
      cmocka_unit_test(sections_are_checked),
      cmocka_unit_test(transaction_counts_are_bounded),
      cmocka_unit_test(writer_and_reader_fail_cleanly_at_every_byte),
      cmocka_unit_test(every_allocation_failure_leaves_state_unchanged),
      cmocka_unit_test(io_callbacks_cannot_reenter),
  };
  return cmocka_run_group_tests_name("rfm_io", tests, NULL, NULL);
}
