/*
 * Tests for the radix sort (tools/profilectl/radix.h): against qsort on
 * (key, first position), so equal keys must keep their first order, over
 * empty, single, constant, few-distinct and full-range keys.
 * SPDX-License-Identifier: MIT
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "radix.h"

typedef struct ref_item {
  uint64_t key;
  size_t pos;
} ref_item;

static int cmp_ref(const void *a, const void *b) {
  const ref_item *x = a, *y = b;
  if (x->key != y->key) return x->key < y->key ? -1 : 1;
  return x->pos < y->pos ? -1 : (x->pos > y->pos);
}

static uint64_t rng_next(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

/* n items with keys from make (kind), sorted both ways, compared item by
 * item: the same keys and the same first positions. */
static void check_sort(size_t n, int kind, uint64_t seed) {
  pctl_radix_item *a = malloc((n ? n : 1) * sizeof *a);
  ref_item *r = malloc((n ? n : 1) * sizeof *r);
  size_t *pos = malloc((n ? n : 1) * sizeof *pos);
  assert_non_null(a);
  assert_non_null(r);
  assert_non_null(pos);
  for (size_t i = 0; i < n; i++) {
    uint64_t x = rng_next(&seed), k;
    switch (kind) {
      case 0: k = x; break;                                 /* full range */
      case 1: k = x % 7; break;                             /* few distinct, low digit */
      case 2: k = (x % 5) << 48; break;                     /* only the top digit varies */
      case 3: k = UINT64_C(0xDEADBEEF); break;              /* constant */
      default: k = (x & 0xFFFF00000000FFFFu) | (x >> 60); break; /* two digits shared */
    }
    pos[i] = i;
    a[i].key = k;
    a[i].v.ptr = &pos[i];
    r[i].key = k;
    r[i].pos = i;
  }
  assert_int_equal(pctl_radix_sort(a, n), 0);
  qsort(r, n, sizeof *r, cmp_ref);
  for (size_t i = 0; i < n; i++) {
    assert_true(a[i].key == r[i].key);
    assert_int_equal(*(const size_t *)a[i].v.ptr, r[i].pos);
  }
  free(a);
  free(r);
  free(pos);
}

static void test_sizes_and_keys(void **state) {
  (void)state;
  static const size_t sizes[] = {0, 1, 2, 3, 100, 65537, 200003};
  for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
    for (int kind = 0; kind < 5; kind++) check_sort(sizes[s], kind, 0x9E3779B97F4A7C15u + s * 31 + (uint64_t)kind);
}

/* The value member is carried along whole. */
static void test_carries_values(void **state) {
  (void)state;
  pctl_radix_item a[4] = {{3, {.num = 0.5}}, {1, {.num = -2.0}}, {3, {.num = 7.25}}, {0, {.num = 1e300}}};
  assert_int_equal(pctl_radix_sort(a, 4), 0);
  assert_true(a[0].key == 0 && a[0].v.num == 1e300);
  assert_true(a[1].key == 1 && a[1].v.num == -2.0);
  assert_true(a[2].key == 3 && a[2].v.num == 0.5);
  assert_true(a[3].key == 3 && a[3].v.num == 7.25);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sizes_and_keys),
      cmocka_unit_test(test_carries_values),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
