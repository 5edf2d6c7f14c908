/*
 * Tests for the prefaulting allocator (tools/profilectl/prefault.h): blocks
 * below and above the threshold keep their bytes through every kind of
 * resize (within and across the threshold, growing and shrinking); where
 * the kernel populates page tables on request (probed here with madvise
 * itself), the thread faults a fresh large block in; a child forked while
 * the thread works allocates, resizes and frees without it (no lock left
 * held); after stop the allocator keeps working; a store made with it
 * saves the same bytes as one made with the C library's allocator. Built a
 * second time with PCTL_PREFAULT_PLAIN (no mapping, no thread): the same
 * cases, and the thread is reported as not running.
 * SPDX-License-Identifier: MIT
 */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE
#endif
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#if !defined(PCTL_PREFAULT_PLAIN)
#include <sys/mman.h>
#endif

#include "libprofile.h"
#include "prefault.h"

static lp_allocator alloc;
static bool running;

static unsigned char pattern(size_t i, unsigned seed) {
  return (unsigned char)((i * 13 + i / 4093 + seed) & 0xFF);
}

static void fill(unsigned char *p, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++) p[i] = pattern(i, seed);
}

/* Whether p[0..n) holds the pattern; checks every 61st byte and the last
 * (each page of a large block is read). */
static bool holds(const unsigned char *p, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i += 61)
    if (p[i] != pattern(i, seed)) return false;
  return n == 0 || p[n - 1] == pattern(n - 1, seed);
}

static int setup(void **state) {
  (void)state;
  running = pctl_prefault_allocator(&alloc);
  return alloc.alloc != NULL && alloc.free != NULL && alloc.realloc != NULL ? 0 : -1;
}

static const size_t MiB = (size_t)1 << 20;

static void test_blocks_keep_their_bytes(void **state) {
  (void)state;
  const size_t sizes[] = {1, 4096, PCTL_PREFAULT_MIN - 1, PCTL_PREFAULT_MIN, PCTL_PREFAULT_MIN + 1,
                          9 * MiB + 17};
  for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
    unsigned char *p = alloc.alloc(alloc.ud, sizes[i]);
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % LP_ALLOC_ALIGNMENT, 0);
    fill(p, sizes[i], (unsigned)i);
    assert_true(holds(p, sizes[i], (unsigned)i));
    alloc.free(alloc.ud, p, sizes[i]);
  }
}

/* Each step resizes the block and checks the bytes both sizes share. */
static void test_resizes_keep_the_shared_bytes(void **state) {
  (void)state;
  const size_t steps[] = {100, 3 * MiB, PCTL_PREFAULT_MIN, 6 * MiB, 40 * MiB + 5, 5 * MiB,
                          1 * MiB, 64, 12 * MiB, 7};
  size_t n = 10;
  unsigned char *p = alloc.alloc(alloc.ud, n);
  assert_non_null(p);
  fill(p, n, 1);
  for (size_t i = 0; i < sizeof steps / sizeof *steps; i++) {
    size_t m = steps[i];
    unsigned char *q = alloc.realloc(alloc.ud, p, n, m);
    assert_non_null(q);
    assert_true(holds(q, n < m ? n : m, 1));
    fill(q, m, 1);
    p = q;
    n = m;
  }
  assert_true(holds(p, n, 1));
  alloc.free(alloc.ud, p, n);
}

#if !defined(PCTL_PREFAULT_PLAIN)
/* Whether this kernel populates page tables on request. */
static bool kernel_populates(void) {
#if defined(MADV_POPULATE_WRITE) && !defined(PCTL_PREFAULT_PLAIN)
  size_t len = 1 << 16;
  void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return false;
  bool ok = madvise(p, len, MADV_POPULATE_WRITE) == 0;
  munmap(p, len);
  return ok;
#else
  return false;
#endif
}
#endif

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static void test_thread_faults_large_blocks_in(void **state) {
  (void)state;
#if defined(PCTL_PREFAULT_PLAIN)
  assert_false(running);
  assert_int_equal(pctl_prefault_done_bytes(), 0);
#else
  if (!kernel_populates()) {
    /* nothing to fault in ahead: the thread's count must not move */
    size_t before = pctl_prefault_done_bytes();
    void *p = alloc.alloc(alloc.ud, 8 * MiB);
    assert_non_null(p);
    sleep_ms(50);
    assert_int_equal(pctl_prefault_done_bytes(), before);
    alloc.free(alloc.ud, p, 8 * MiB);
    return;
  }
  assert_true(running);
  size_t before = pctl_prefault_done_bytes(), n = 24 * MiB;
  unsigned char *p = alloc.alloc(alloc.ud, n);
  assert_non_null(p);
  /* within 10 s the whole block (no other block is waiting) */
  for (int i = 0; i < 1000 && pctl_prefault_done_bytes() - before < n; i++) sleep_ms(10);
  assert_true(pctl_prefault_done_bytes() - before >= n);
  /* populated, not written: still zero */
  for (size_t i = 0; i < n; i += 4096) assert_int_equal(p[i], 0);
  /* a block grown by realloc is not faulted ahead */
  before = pctl_prefault_done_bytes();
  unsigned char *q = alloc.realloc(alloc.ud, p, n, 3 * n);
  assert_non_null(q);
  sleep_ms(100);
  assert_int_equal(pctl_prefault_done_bytes(), before);
  alloc.free(alloc.ud, q, 3 * n);
  /* a small block neither */
  void *s = alloc.alloc(alloc.ud, PCTL_PREFAULT_MIN - 1);
  assert_non_null(s);
  sleep_ms(50);
  assert_int_equal(pctl_prefault_done_bytes(), before);
  alloc.free(alloc.ud, s, PCTL_PREFAULT_MIN - 1);
#endif
}

/* Frees and resizes while the thread populates the same blocks: many
 * large blocks queued, freed at once, most before the thread reaches
 * them, some while it is inside one. */
static void test_free_while_populating(void **state) {
  (void)state;
  enum { N = 40 };
  unsigned char *p[N];
  size_t n = 6 * MiB;
  for (int round = 0; round < 5; round++) {
    for (int i = 0; i < N; i++) {
      p[i] = alloc.alloc(alloc.ud, n);
      assert_non_null(p[i]);
      p[i][0] = (unsigned char)i;
    }
    for (int i = 0; i < N; i += 2) {
      unsigned char *q = alloc.realloc(alloc.ud, p[i], n, 2 * n);
      assert_non_null(q);
      assert_int_equal(q[0], (unsigned char)i);
      alloc.free(alloc.ud, q, 2 * n);
    }
    for (int i = 1; i < N; i += 2) {
      assert_int_equal(p[i][0], (unsigned char)i);
      alloc.free(alloc.ud, p[i], n);
    }
  }
}

/* A child forked while blocks wait (the thread busy) allocates, resizes
 * and frees without the thread. An alarm ends a child that deadlocks. */
static void test_forked_child_works_without_the_thread(void **state) {
  (void)state;
  /* Under an emulator (meson's exe wrapper, e.g. qemu-user) a forked copy
   * of a process with threads dies or hangs, as in profilectl-run: this
   * case is left to native builds there. */
  if (getenv("MESON_EXE_WRAPPER") != NULL) {
    print_message("emulated: the fork case runs on native builds only\n");
    return;
  }
  enum { N = 16 };
  unsigned char *p[N];
  for (int i = 0; i < N; i++) {
    p[i] = alloc.alloc(alloc.ud, 8 * MiB);
    assert_non_null(p[i]);
  }
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    alarm(20);
    int bad = 0;
    for (int i = 0; i < N; i++) alloc.free(alloc.ud, p[i], 8 * MiB);
    unsigned char *q = alloc.alloc(alloc.ud, 10 * MiB);
    if (q == NULL) _exit(2);
    fill(q, 10 * MiB, 3);
    unsigned char *r = alloc.realloc(alloc.ud, q, 10 * MiB, 30 * MiB);
    if (r == NULL) _exit(3);
    bad |= !holds(r, 10 * MiB, 3);
    alloc.free(alloc.ud, r, 30 * MiB);
    _exit(bad ? 4 : 0);
  }
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  for (int i = 0; i < N; i++) alloc.free(alloc.ud, p[i], 8 * MiB);
}

/* A store saves the same bytes whichever of the two allocators made it,
 * and loads them back to the same bytes: large enough (about 300,000
 * identifiers) that its arrays, the save's scratch and the load's exact
 * arrays are large blocks. */
static lp_profiles *make_store(const lp_allocator *a) {
  lp_profiles *h = NULL;
  assert_int_equal(lp_profiles_create(a, &h), LP_OK);
  assert_int_equal(lp_profiles_set_key(h, "k", 1), LP_OK);
  lp_idgraph_type_def d = LP_IDGRAPH_TYPE_DEF_INIT;
  d.name = "email";
  assert_int_equal(lp_profiles_add_type(h, &d, NULL), LP_OK);
  return h;
}

static void fill_store(lp_profiles *h) {
  char v[2][32];
  for (int i = 0; i < 150000; i++) {
    lp_idgraph_ident ids[2] = {{0, v[0], 0}, {0, v[1], 0}};
    ids[0].len = (size_t)snprintf(v[0], sizeof v[0], "u%d@x.org", i);
    ids[1].len = (size_t)snprintf(v[1], sizeof v[1], "u%d@y.org", i / 3);
    assert_int_equal(lp_profiles_observe(h, ids, 2, 1000 + i % 977, "web", 3, NULL), LP_OK);
    if (i % 2 == 0) {
      lp_profiles_order o = LP_PROFILES_ORDER_INIT;
      o.id = ids[0];
      o.flags = LP_PROFILES_ORDER_HAS_ID;
      o.order_id = (uint64_t)i;
      o.ts = 5000 + i;
      o.amount = 100 + i % 91;
      assert_int_equal(lp_profiles_add_order(h, &o, NULL), LP_OK);
    }
  }
}

static lp_membuf *save_store(lp_profiles *h) {
  lp_membuf *b = NULL;
  assert_int_equal(lp_membuf_create(NULL, &b), LP_OK);
  assert_int_equal(lp_profiles_save(h, lp_membuf_write, b), LP_OK);
  return b;
}

static void assert_same_bytes(const lp_membuf *a, const lp_membuf *b) {
  assert_int_equal(lp_membuf_size(a), lp_membuf_size(b));
  assert_memory_equal(lp_membuf_data(a), lp_membuf_data(b), lp_membuf_size(a));
}

static void test_store_bytes_do_not_depend_on_it(void **state) {
  (void)state;
  lp_profiles *plain = make_store(NULL), *mine = make_store(&alloc);
  fill_store(plain);
  fill_store(mine);
  lp_membuf *a = save_store(plain), *b = save_store(mine);
  assert_true(lp_membuf_size(a) > PCTL_PREFAULT_MIN);
  assert_same_bytes(a, b);
  lp_profiles *loaded = make_store(&alloc);
  lp_memreader rd;
  assert_int_equal(lp_memreader_init(&rd, lp_membuf_data(a), lp_membuf_size(a)), LP_OK);
  assert_int_equal(lp_profiles_load(loaded, lp_memreader_read, &rd), LP_OK);
  lp_membuf *c = save_store(loaded);
  assert_same_bytes(a, c);
  lp_membuf_free(a);
  lp_membuf_free(b);
  lp_membuf_free(c);
  lp_profiles_free(plain);
  lp_profiles_free(mine);
  lp_profiles_free(loaded);
}

static void test_works_after_stop(void **state) {
  (void)state;
  unsigned char *keep = alloc.alloc(alloc.ud, 5 * MiB);
  assert_non_null(keep);
  fill(keep, 5 * MiB, 9);
  pctl_prefault_stop();
  pctl_prefault_stop(); /* a second stop is a no-op */
  size_t before = pctl_prefault_done_bytes();
  unsigned char *p = alloc.alloc(alloc.ud, 9 * MiB);
  assert_non_null(p);
  fill(p, 9 * MiB, 5);
  sleep_ms(50);
  assert_int_equal(pctl_prefault_done_bytes(), before);
  unsigned char *q = alloc.realloc(alloc.ud, keep, 5 * MiB, 11 * MiB);
  assert_non_null(q);
  assert_true(holds(q, 5 * MiB, 9));
  alloc.free(alloc.ud, q, 11 * MiB);
  alloc.free(alloc.ud, p, 9 * MiB);
  /* starting again is refused: the thread is started once a process */
  lp_allocator again;
  assert_false(pctl_prefault_allocator(&again));
  assert_ptr_equal(again.alloc, alloc.alloc);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_blocks_keep_their_bytes),
      cmocka_unit_test(test_resizes_keep_the_shared_bytes),
      cmocka_unit_test(test_thread_faults_large_blocks_in),
      cmocka_unit_test(test_free_while_populating),
      cmocka_unit_test(test_forked_child_works_without_the_thread),
      cmocka_unit_test(test_store_bytes_do_not_depend_on_it),
      cmocka_unit_test(test_works_after_stop),
  };
  return cmocka_run_group_tests(tests, setup, NULL);
}
