/*
 * Tests for the background writer and reader (tools/profilectl/bgwrite.h):
 * the bytes arrive in order through both ways of filling the writer and
 * through the reader, at buffer sizes that split every request
 * differently; a full device, a closed pipe and an unreadable descriptor
 * are reported with their errno; the arguments they refuse. The expected bytes
 * are a pattern the test makes itself (byte i of the stream is
 * (i * 7 + i / 251) mod 256).
 * SPDX-License-Identifier: MIT
 */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bgwrite.h"
#include "libprofile/core.h"

static unsigned char pattern(size_t i) { return (unsigned char)((i * 7 + i / 251) & 0xFF); }

static char *make_stream(size_t n) {
  char *p = malloc(n ? n : 1);
  assert_non_null(p);
  for (size_t i = 0; i < n; i++) p[i] = (char)pattern(i);
  return p;
}

static char tmp_path[64];

static int make_tmp(void) {
  snprintf(tmp_path, sizeof tmp_path, "/tmp/pctl-bgw-XXXXXX");
  int fd = mkstemp(tmp_path);
  assert_true(fd >= 0);
  return fd;
}

/* The whole file at tmp_path; *n receives its size. */
static char *slurp(size_t *n) {
  FILE *f = fopen(tmp_path, "rb");
  assert_non_null(f);
  assert_int_equal(fseek(f, 0, SEEK_END), 0);
  long sz = ftell(f);
  assert_true(sz >= 0);
  rewind(f);
  char *p = malloc((size_t)sz + 1);
  assert_non_null(p);
  assert_int_equal(fread(p, 1, (size_t)sz, f), (size_t)sz);
  fclose(f);
  *n = (size_t)sz;
  return p;
}

static void expect_file(const char *want, size_t n) {
  size_t got = 0;
  char *have = slurp(&got);
  assert_int_equal(got, n);
  assert_memory_equal(have, want, n);
  free(have);
  remove(tmp_path);
}

/* pctl_bgw_write with pieces of 1..997 bytes at buffer sizes that split
 * them at every offset; the file holds exactly the stream. */
static void test_write_copies_in_order(void **state) {
  (void)state;
  const size_t total = 300007;
  char *want = make_stream(total);
  static const size_t sizes[] = {1, 3, 64, 4096, 65537, 1 << 20};
  static const size_t counts[] = {2, 3, 8};
  for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
      if (sizes[s] < 64 && c > 0) continue; /* tiny buffers: slow enough once */
      int fd = make_tmp();
      close(fd);
      pctl_bgw *w = NULL;
      assert_int_equal(pctl_bgw_open(&w, tmp_path, sizes[s], counts[c]), 0);
      assert_non_null(w);
      /* tiny buffers hand every byte to the thread: a shorter stream */
      size_t len = sizes[s] < 64 ? 20011 : total;
      size_t off = 0, piece = 1;
      while (off < len) {
        size_t k = piece < len - off ? piece : len - off;
        assert_int_equal(pctl_bgw_write(w, want + off, k), LP_OK);
        off += k;
        piece = piece * 31 % 997 + 1;
      }
      assert_int_equal(pctl_bgw_write(w, want, 0), LP_OK);
      assert_int_equal(pctl_bgw_error(w), 0);
      assert_int_equal(pctl_bgw_close(w), 0);
      expect_file(want, len);
    }
  }
  free(want);
}

/* The first len bytes of want through pctl_bgw_buffer/commit, buffers of
 * cap bytes filled whole (full) or to pseudo-random fills (empty ones
 * included); the same buffer comes back until it is committed. */
static void commit_stream(pctl_bgw *w, const char *want, size_t len, size_t cap_want, bool full) {
  size_t off = 0, fill = 0;
  while (off < len) {
    size_t cap = 0, again_cap = 0;
    char *b = pctl_bgw_buffer(w, &cap);
    assert_int_equal(cap, cap_want);
    assert_ptr_equal(pctl_bgw_buffer(w, &again_cap), b);
    size_t k = full ? cap : fill % (cap + 1);
    if (k > len - off) k = len - off;
    memcpy(b, want + off, k);
    pctl_bgw_commit(w, k);
    off += k;
    fill = fill * 17 + 1234;
  }
}

/* pctl_bgw_buffer/commit: partly filled buffers, empty commits, and the
 * same buffer returned until it is committed. */
static void test_buffer_commit(void **state) {
  (void)state;
  const size_t total = 1000003;
  char *want = make_stream(total);
  int fd = make_tmp();
  pctl_bgw *w = NULL;
  assert_int_equal(pctl_bgw_start(&w, fd, true, 8192, 3), 0);
  commit_stream(w, want, total, 8192, false);
  assert_int_equal(pctl_bgw_close(w), 0);
  expect_file(want, total);
  free(want);
}

/* pctl_bgw_open_direct: the same bytes as the page-cache writer through
 * both ways of filling it, with full aligned buffers (written as they
 * are), partial commits (gathered in the stage), buffer sizes that are
 * not a multiple of the block, and streams that end inside a block, on a
 * block boundary and on a stage boundary. */
static void test_direct_same_bytes(void **state) {
  (void)state;
  const size_t total = (size_t)3 << 20;
  char *want = make_stream(total);
  static const size_t sizes[] = {4096, 8192, 65537, 1 << 20};
  static const size_t lens[] = {0, 1, 4095, 4096, 4097, 65536 * 3 + 17, (size_t)3 << 20};
  for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
    for (size_t l = 0; l < sizeof lens / sizeof lens[0]; l++) {
      size_t len = lens[l];
      for (int way = 0; way < 3; way++) {
        int fd = make_tmp();
        close(fd);
        pctl_bgw *w = NULL;
        assert_int_equal(pctl_bgw_open_direct(&w, tmp_path, sizes[s], 3), 0);
        assert_non_null(w);
        if (way > 0) { /* formatted in place: full buffers (1) or any fill (2) */
          commit_stream(w, want, len, sizes[s], way == 1);
        } else { /* copied in, pieces of 1..4999 bytes */
          for (size_t off = 0, fill = 7; off < len; fill = fill * 17 + 1234) {
            size_t k = fill % 4999 + 1;
            if (k > len - off) k = len - off;
            assert_int_equal(pctl_bgw_write(w, want + off, k), LP_OK);
            off += k;
          }
        }
        assert_int_equal(pctl_bgw_close(w), 0);
        expect_file(want, len);
      }
    }
  }
  free(want);
}

/* A directory cannot be opened by the direct writer either: the errno
 * of open (a device through it: test_full_device). */
static void test_direct_refusals(void **state) {
  (void)state;
  pctl_bgw *w = NULL;
  assert_int_equal(pctl_bgw_open_direct(&w, "/", 4096, 2), EISDIR);
  assert_null(w);
}

/* An empty stream makes an empty file; close of NULL is a no-op. */
static void test_empty(void **state) {
  (void)state;
  int fd = make_tmp();
  close(fd);
  pctl_bgw *w = NULL;
  assert_int_equal(pctl_bgw_open(&w, tmp_path, 16, 2), 0);
  assert_int_equal(pctl_bgw_close(w), 0);
  expect_file("", 0);
  assert_int_equal(pctl_bgw_close(NULL), 0);
}

/* A full device: ENOSPC from close, and pctl_bgw_write reports LP_EIO
 * once the failure is known (at the latest after every buffer cycled);
 * the direct writer writes a device through the page cache, the same. */
static void full_device(int (*open_fn)(pctl_bgw **, const char *, size_t, size_t)) {
  if (access("/dev/full", W_OK) != 0) skip();
  pctl_bgw *w = NULL;
  assert_int_equal(open_fn(&w, "/dev/full", 4096, 2), 0);
  char block[4096];
  memset(block, 'x', sizeof block);
  int rc = LP_OK;
  for (int i = 0; i < 64 && rc == LP_OK; i++) rc = pctl_bgw_write(w, block, sizeof block);
  assert_int_equal(rc, LP_EIO);
  assert_int_equal(pctl_bgw_error(w), ENOSPC);
  assert_int_equal(pctl_bgw_close(w), ENOSPC);
  /* the buffer/commit way, the failure known only at close */
  assert_int_equal(open_fn(&w, "/dev/full", 4096, 4), 0);
  size_t cap;
  char *b = pctl_bgw_buffer(w, &cap);
  memset(b, 'y', 10);
  pctl_bgw_commit(w, 10);
  assert_int_equal(pctl_bgw_close(w), ENOSPC);
}

static void test_full_device(void **state) {
  (void)state;
  full_device(pctl_bgw_open);
  full_device(pctl_bgw_open_direct);
}

/* A pipe whose reader has gone: EPIPE (SIGPIPE ignored, as a host would). */
static void test_closed_pipe(void **state) {
  (void)state;
  struct sigaction ign, old;
  memset(&ign, 0, sizeof ign);
  ign.sa_handler = SIG_IGN;
  sigemptyset(&ign.sa_mask);
  assert_int_equal(sigaction(SIGPIPE, &ign, &old), 0);
  int p[2];
  assert_int_equal(pipe(p), 0);
  close(p[0]);
  pctl_bgw *w = NULL;
  assert_int_equal(pctl_bgw_start(&w, p[1], true, 512, 2), 0);
  assert_int_equal(pctl_bgw_write(w, "abc", 3), LP_OK);
  assert_int_equal(pctl_bgw_close(w), EPIPE);
  sigaction(SIGPIPE, &old, NULL);
}

/* A descriptor that is not a file (a pipe, read after the writer closed,
 * not owned by it): every byte in order, through small buffers. */
static void test_pipe_bytes(void **state) {
  (void)state;
  int p[2];
  assert_int_equal(pipe(p), 0);
  /* a stream smaller than a pipe's buffer (64 KiB on Linux, 4 KiB at least) */
  const size_t total = 4000;
  char *want = make_stream(total);
  pctl_bgw *w = NULL;
  assert_int_equal(pctl_bgw_start(&w, p[1], false, 100, 2), 0);
  for (size_t off = 0; off < total; off += 40) assert_int_equal(pctl_bgw_write(w, want + off, 40), LP_OK);
  assert_int_equal(pctl_bgw_close(w), 0);
  close(p[1]);
  char *got = malloc(total + 1);
  assert_non_null(got);
  size_t n = 0;
  for (;;) {
    ssize_t k = read(p[0], got + n, total + 1 - n);
    assert_true(k >= 0);
    if (k == 0) break;
    n += (size_t)k;
  }
  close(p[0]);
  assert_int_equal(n, total);
  assert_memory_equal(got, want, total);
  free(got);
  free(want);
}

/* The descriptor is closed only when owned. */
static void test_fd_ownership(void **state) {
  (void)state;
  int fd = make_tmp();
  pctl_bgw *w = NULL;
  assert_int_equal(pctl_bgw_start(&w, fd, false, 64, 2), 0);
  assert_int_equal(pctl_bgw_write(w, "hello", 5), LP_OK);
  assert_int_equal(pctl_bgw_close(w), 0);
  assert_true(fcntl(fd, F_GETFD) != -1); /* still open */
  assert_int_equal(write(fd, "!", 1), 1);
  close(fd);
  expect_file("hello!", 6);
}

static void test_refusals(void **state) {
  (void)state;
  pctl_bgw *w = (pctl_bgw *)&w;
  assert_int_equal(pctl_bgw_start(&w, 1, false, 0, 2), EINVAL);
  assert_null(w);
  assert_int_equal(pctl_bgw_start(&w, 1, false, 16, 1), EINVAL);
  assert_int_equal(pctl_bgw_start(NULL, 1, false, 16, 2), EINVAL);
  assert_int_equal(pctl_bgw_open(&w, NULL, 16, 2), EINVAL);
  assert_int_equal(pctl_bgw_open(&w, "/nonexistent-dir-of-the-test/x", 16, 2), ENOENT);
  assert_null(w);
}

/* The reader gives the file's bytes in order for requests of 1..4099
 * bytes at several buffer sizes, then 0 at the end, again and again. */
static void test_reader_order(void **state) {
  (void)state;
  const size_t total = 200003;
  char *want = make_stream(total);
  int fd = make_tmp();
  assert_int_equal(write(fd, want, total), (ssize_t)total);
  close(fd);
  static const size_t sizes[] = {1, 7, 4096, 65536, 1 << 20};
  char *got = malloc(total + 8192);
  assert_non_null(got);
  for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
    fd = open(tmp_path, O_RDONLY);
    assert_true(fd >= 0);
    pctl_bgr *r = NULL;
    assert_int_equal(pctl_bgr_start(&r, fd, sizes[s], s % 2 ? 2 : 5), 0);
    size_t n = 0, ask = 1, k = 0;
    do {
      assert_int_equal(pctl_bgr_read(r, got + n, ask, &k), LP_OK);
      assert_true(k <= ask);
      if (k < ask) assert_int_equal(n + k, total); /* short only at the end */
      n += k;
      ask = ask * 13 % 4099 + 1;
    } while (k > 0);
    assert_int_equal(n, total);
    assert_memory_equal(got, want, total);
    assert_int_equal(pctl_bgr_read(r, got, 10, &k), LP_OK);
    assert_int_equal(k, 0);
    assert_int_equal(pctl_bgr_read(r, got, 0, &k), LP_OK);
    assert_int_equal(pctl_bgr_error(r), 0);
    pctl_bgr_close(r);
    assert_true(fcntl(fd, F_GETFD) != -1); /* not closed by the reader */
    close(fd);
  }
  free(got);
  free(want);
  remove(tmp_path);
}

/* Closed before the end: the thread stops (it may be waiting for a free
 * buffer); an empty file ends at once. */
static void test_reader_early_close(void **state) {
  (void)state;
  const size_t total = 100000;
  char *want = make_stream(total);
  int fd = make_tmp();
  assert_int_equal(write(fd, want, total), (ssize_t)total);
  assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
  pctl_bgr *r = NULL;
  assert_int_equal(pctl_bgr_start(&r, fd, 1000, 2), 0);
  char buf[10];
  size_t k = 0;
  assert_int_equal(pctl_bgr_read(r, buf, sizeof buf, &k), LP_OK);
  assert_int_equal(k, sizeof buf);
  assert_memory_equal(buf, want, sizeof buf);
  pctl_bgr_close(r);
  close(fd);
  fd = open("/dev/null", O_RDONLY);
  assert_true(fd >= 0);
  assert_int_equal(pctl_bgr_start(&r, fd, 64, 2), 0);
  assert_int_equal(pctl_bgr_read(r, buf, sizeof buf, &k), LP_OK);
  assert_int_equal(k, 0);
  pctl_bgr_close(r);
  close(fd);
  pctl_bgr_close(NULL);
  free(want);
  remove(tmp_path);
}

/* A descriptor that cannot be read: LP_EIO with its errno. */
static void test_reader_error(void **state) {
  (void)state;
  int fd = open("/dev/null", O_WRONLY);
  assert_true(fd >= 0);
  pctl_bgr *r = NULL;
  assert_int_equal(pctl_bgr_start(&r, fd, 64, 2), 0);
  char buf[8];
  size_t k = 99;
  assert_int_equal(pctl_bgr_read(r, buf, sizeof buf, &k), LP_EIO);
  assert_int_equal(k, 0);
  assert_int_equal(pctl_bgr_error(r), EBADF);
  pctl_bgr_close(r);
  close(fd);
  r = (pctl_bgr *)&r;
  assert_int_equal(pctl_bgr_start(&r, 0, 0, 2), EINVAL);
  assert_null(r);
  assert_int_equal(pctl_bgr_start(&r, 0, 16, 1), EINVAL);
  assert_int_equal(pctl_bgr_start(NULL, 0, 16, 2), EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_write_copies_in_order),
      cmocka_unit_test(test_buffer_commit),
      cmocka_unit_test(test_direct_same_bytes),
      cmocka_unit_test(test_direct_refusals),
      cmocka_unit_test(test_empty),
      cmocka_unit_test(test_full_device),
      cmocka_unit_test(test_closed_pipe),
      cmocka_unit_test(test_pipe_bytes),
      cmocka_unit_test(test_fd_ownership),
      cmocka_unit_test(test_refusals),
      cmocka_unit_test(test_reader_order),
      cmocka_unit_test(test_reader_early_close),
      cmocka_unit_test(test_reader_error),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
