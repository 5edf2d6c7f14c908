/*
 * profilectl forget: erase a person from a saved store ('run' writes it).
 * SPDX-License-Identifier: MIT
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cmd_run.h"
#include "commands.h"
#include "libprofile.h"
#include "prefault.h"

#define CMD "forget"
#define DEFAULT_KEY "profilectl identity"

static double now(clockid_t which) {
  struct timespec t;
  clock_gettime(which, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* --timings: wall and CPU seconds of one step on stderr (t0: the previous
 * lap's wall and CPU clocks). */
static void lap(bool on, const char *what, double t0[2]) {
  double w = now(CLOCK_MONOTONIC), c = now(CLOCK_PROCESS_CPUTIME_ID);
  if (on && what != NULL)
    fprintf(stderr, PCTL_PROGRAM " " CMD ": time: %-8s %7.2f s wall %7.2f s cpu (%.0f MiB faulted in ahead so far)\n", what,
            w - t0[0], c - t0[1], (double)pctl_prefault_done_bytes() / 1048576.0);
  t0[0] = w;
  t0[1] = c;
}

static int run_forget(int argc, char **argv) {
  const char *state = NULL, *id = NULL, *out = NULL, *key = NULL;
  bool timings = false, untrusted = false;
  double t0[2] = {0.0, 0.0};
  const pctl_option table[] = {
      PCTL_REQUIRED(PCTL_OPT_PATH("state", 0, "FILE", &state, NULL, "the saved store (DIR/state.lps of 'run')")),
      PCTL_REQUIRED(PCTL_OPT_STRING("id", 0, "TYPE:VALUE", &id, NULL,
                                    "an identifier of the person, as in the events file")),
      PCTL_OPT_PATH("out", 0, "FILE", &out, NULL, "write the store there (default: replace --state)"),
      PCTL_OPT_STRING("key", 0, "KEY", &key, DEFAULT_KEY, "hash key the store was made with"),
      PCTL_OPT_FLAG("timings", 0, &timings, "print the wall and CPU time of load, erasure and save on stderr"),
      PCTL_OPT_FLAG("untrusted-state", 0, &untrusted,
                    "the state comes from outside your control: recompute the profiles from the events (slower load)"),
      PCTL_OPT_END,
  };
  pctl_operands ops;
  int st = pctl_parse_options(&pctl_cmd_forget, table, argc, argv, &ops);
  if (st == PCTL_EXIT_OK) st = pctl_want_operands(&pctl_cmd_forget, &ops, 0, 0, "argument");
  if (st != PCTL_EXIT_OK) return st;
  const char *colon = strchr(id, ':');
  char type[LP_IDGRAPH_MAX_TYPE_NAME_LEN + 1];
  size_t tl = colon != NULL ? (size_t)(colon - id) : 0;
  if (colon == NULL || tl == 0 || tl >= sizeof type || colon[1] == '\0')
    return pctl_usage_error(CMD, "--id expects TYPE:VALUE, not '%s'", id);
  if (strlen(key) == 0 || strlen(key) > LP_IDGRAPH_MAX_KEY_LEN)
    return pctl_usage_error(CMD, "--key must be 1 to %d bytes", LP_IDGRAPH_MAX_KEY_LEN);
  memcpy(type, id, tl);
  type[tl] = '\0';
  lp_profiles *h = NULL;
  lp_allocator alloc;
  (void)pctl_prefault_allocator(&alloc);
  if (lp_profiles_create(&alloc, &h) != LP_OK) {
    pctl_error("cannot create the store: %s", strerror(ENOMEM));
    return PCTL_EXIT_FAILURE;
  }
  if (lp_profiles_set_key(h, key, strlen(key)) != LP_OK) {
    pctl_error("--key: %s", lp_profiles_errmsg(h));
    st = PCTL_EXIT_FAILURE;
  }
  if (st == PCTL_EXIT_OK && untrusted && lp_profiles_set_int(h, LP_PROFILES_TRUST_DERIVED, 0) != LP_OK) {
    pctl_error("--untrusted-state: %s", lp_profiles_errmsg(h));
    st = PCTL_EXIT_FAILURE;
  }
  lap(timings, NULL, t0);
  if (st == PCTL_EXIT_OK) st = pctl_run_load_state(h, state);
  lap(timings, "load", t0);
  lp_idgraph_ident ident = {0u, colon + 1, strlen(colon + 1)};
  if (st == PCTL_EXIT_OK && lp_idgraph_find_type(lp_profiles_idgraph(h), type, &ident.type) != LP_OK) {
    pctl_error("--id: the store has no identifier type '%s'", type);
    st = PCTL_EXIT_FAILURE;
  }
  /* the summary's figures come from the counters, not the view, so the
   * erasure does not pay for a recompute of every profile */
  uint64_t pid = 0;
  size_t nids = 0;
  lp_profiles_stats before = LP_PROFILES_STATS_INIT, after = LP_PROFILES_STATS_INIT;
  if (st == PCTL_EXIT_OK &&
      lp_idgraph_profile_of(lp_profiles_idgraph(h), ident.type, ident.value, ident.len, &pid) != LP_OK)
    pid = 0;
  if (st == PCTL_EXIT_OK) {
    lp_idgraph_ident_info one;
    int rc = pid != 0 ? lp_profiles_identifiers(h, pid, &one, 1, &nids) : LP_OK;
    if (rc == LP_EBUFSIZE) rc = LP_OK;
    if (rc == LP_OK) rc = lp_profiles_get_stats(h, &before);
    if (rc == LP_OK)
      rc = pid != 0 ? lp_profiles_forget_profile(h, pid) : lp_profiles_forget_identifier(h, &ident);
    if (rc == LP_OK) rc = lp_profiles_get_stats(h, &after);
    if (rc != LP_OK) {
      pctl_error("forget: %s", lp_profiles_errmsg(h));
      st = PCTL_EXIT_FAILURE;
    }
  }
  lap(timings, "forget", t0);
  if (st == PCTL_EXIT_OK) st = pctl_run_save_state(h, out != NULL ? out : state);
  lap(timings, "save", t0);
  if (st == PCTL_EXIT_OK && pid != 0)
    fprintf(stderr,
            PCTL_PROGRAM " " CMD ": erased profile %" PRIu64 ": %zu identifiers, %" PRIu64
            " order lines, %" PRIu64 " tag values\n",
            pid, nids, before.orders - after.orders, before.tag_facts - after.tag_facts);
  else if (st == PCTL_EXIT_OK)
    fprintf(stderr, PCTL_PROGRAM " " CMD ": '%s' is not in the store; it is tombstoned so no "
                    "later fact can bring it back\n", id);
  if (!pctl_fast_exit(st)) lp_profiles_free(h);
  return st;
}

const pctl_command pctl_cmd_forget = {
    CMD,
    "--state FILE --id TYPE:VALUE [--out FILE] [--key KEY] [--untrusted-state]",
    "erase a person from a saved store",
    "Loads the store, finds the profile holding the identifier TYPE:VALUE (the\n"
    "value as in the input files; it is normalised and hashed as they were) and\n"
    "erases it: every identifier of the profile is tombstoned, so a replayed\n"
    "event, order or fact cannot bring it back, and every order and tag fact\n"
    "kept under them is deleted. The saved bytes then hold none of them. An\n"
    "identifier the store does not hold is tombstoned. Saves to --out, or\n"
    "replaces --state (through a temporary file). Run 'profilectl run --state'\n"
    "afterwards to rewrite the outputs. --untrusted-state ignores the profiles\n"
    "stored in the file and recomputes them from its events and rules (for a\n"
    "file from outside your control; the load is slower).\n",
    run_forget,
};
