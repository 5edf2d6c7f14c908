/*
 * profilectl audience: profile ids (or their count) of a query over a saved
 * tag state or the CSV/INI inputs of 'profilectl tags', with a minimum
 * audience size and explanations.
 * SPDX-License-Identifier: MIT
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd_tags.h"
#include "commands.h"
#include "libprofile/io.h"

typedef struct aud_opts {
  pctl_tags_inputs in;
  const char *state, *query, *purpose, *explain;
  int64_t as_of, min_size;
  bool count;
} aud_opts;

static int load_state(const char *path, lp_tags *h) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    pctl_error("%s: cannot open: %s", path, strerror(errno));
    return PCTL_EXIT_FAILURE;
  }
  int rc = lp_tags_load(h, pctl_file_read, f);
  fclose(f);
  if (rc != LP_OK) return pctl_data_error(path, 0, "%s", lp_tags_errmsg(h));
  return PCTL_EXIT_OK;
}

/* Query errors are the caller's: usage (2); data problems stay 1. */
static int query_error(const lp_tags *h, int rc) {
  if (rc == LP_EINVAL || rc == LP_ENOTFOUND || rc == LP_ELIMIT)
    return pctl_usage_error("audience", "--query: %s", lp_tags_errmsg(h));
  pctl_error("%s", lp_tags_errmsg(h));
  return PCTL_EXIT_FAILURE;
}

/* A refused (below --min-size) audience is a data outcome (1). */
static int audience_status(const lp_tags *h, int rc) {
  if (rc == LP_OK) return PCTL_EXIT_OK;
  if (rc != LP_ERANGE) return query_error(h, rc);
  pctl_error("%s", lp_tags_errmsg(h));
  return PCTL_EXIT_FAILURE;
}

static int explain(const lp_tags *h, const lp_tags_query *q, const char *text) {
  char *end;
  errno = 0;
  unsigned long long id = strtoull(text, &end, 10);
  if (*text < '0' || *text > '9' || *end != '\0' || errno != 0)
    return pctl_usage_error("audience", "--explain: '%s' is not a profile id", text);
  int32_t member;
  size_t need = 0;
  int rc = lp_tags_explain(h, q, id, &member, NULL, 0, &need);
  if (rc == LP_ENOTFOUND && strstr(lp_tags_errmsg(h), "profile") == lp_tags_errmsg(h)) {
    pctl_error("%s", lp_tags_errmsg(h));
    return PCTL_EXIT_FAILURE;
  }
  if (rc != LP_OK) return query_error(h, rc);
  char *buf = malloc(need);
  if (buf == NULL) {
    pctl_error("out of memory");
    return PCTL_EXIT_FAILURE;
  }
  rc = lp_tags_explain(h, q, id, &member, buf, need, &need);
  if (rc == LP_OK) fputs(buf, stdout);
  free(buf);
  return rc == LP_OK ? PCTL_EXIT_OK : query_error(h, rc);
}

static int run_audience(int argc, char **argv) {
  aud_opts o;
  memset(&o, 0, sizeof o);
  const pctl_option table[] = {
      PCTL_OPT_PATH("state", 0, "STATE", &o.state, NULL, "tag state written by 'tags --save'"),
      PCTL_OPT_PATH("taxonomy", 0, "FILE", &o.in.taxonomy, NULL, "or: the inputs of 'profilectl tags'"),
      PCTL_OPT_PATH("profiles", 0, "FILE", &o.in.profiles, NULL, "profiles CSV (with --taxonomy)"),
      PCTL_OPT_PATH("facts", 0, "FILE", &o.in.facts, NULL, "facts CSV (with --taxonomy)"),
      PCTL_REQUIRED(PCTL_OPT_STRING("query", 0, "EXPR", &o.query, NULL,
                                    "audience, e.g. 'vip & (city == \"Paris\" | app_user) & !churned'")),
      PCTL_OPT_DATE("as-of", 0, "DATE", &o.as_of, NULL, "expiry reference; default 1970-01-01T00:00:00Z (nothing has expired)"),
      PCTL_OPT_INT("min-size", 0, "N", &o.min_size, 0, INT64_C(1) << 32, "0",
                   "refuse audiences smaller than N (k-anonymity threshold; 0 = off)"),
      PCTL_OPT_STRING("purpose", 0, "NAME", &o.purpose, NULL,
                      "only profiles with a live consent tag for this purpose"),
      PCTL_OPT_FLAG("count", 0, &o.count, "print the number of profiles only"),
      PCTL_OPT_STRING("explain", 0, "PROFILE_ID", &o.explain, NULL,
                      "explain why this profile is or is not in the audience"),
      PCTL_OPT_END,
  };
  pctl_operands ops;
  int st = pctl_parse_options(&pctl_cmd_audience, table, argc, argv, &ops);
  if (st == PCTL_EXIT_OK) st = pctl_want_operands(&pctl_cmd_audience, &ops, 0, 0, "FILE");
  if (st != PCTL_EXIT_OK) return st;
  if ((o.state != NULL) == (o.in.taxonomy != NULL))
    return pctl_usage_error("audience", "give either --state STATE or --taxonomy FILE --profiles FILE");
  if (o.in.taxonomy != NULL && o.in.profiles == NULL)
    return pctl_usage_error("audience", "missing --profiles FILE");
  if (o.state != NULL && (o.in.profiles != NULL || o.in.facts != NULL))
    return pctl_usage_error("audience", "--profiles and --facts go with --taxonomy, not --state");
  lp_tags *h = NULL;
  if (lp_tags_create(NULL, &h) != LP_OK) {
    pctl_error("out of memory");
    return PCTL_EXIT_FAILURE;
  }
  st = o.state != NULL ? load_state(o.state, h) : pctl_tags_build(&o.in, h);
  /* computed tags at this as_of (a saved state may be of another) */
  if (st == PCTL_EXIT_OK && lp_tags_evaluate(h, o.as_of) != LP_OK) {
    pctl_error("%s", lp_tags_errmsg(h));
    st = PCTL_EXIT_FAILURE;
  }
  if (st == PCTL_EXIT_OK && lp_tags_set_int(h, LP_TAGS_MIN_AUDIENCE_SIZE, o.min_size) != LP_OK) {
    pctl_error("%s", lp_tags_errmsg(h));
    st = PCTL_EXIT_FAILURE;
  }
  lp_tags_query q = LP_TAGS_QUERY_INIT;
  q.text = o.query;
  q.purpose = o.purpose;
  q.as_of = o.as_of;
  if (st == PCTL_EXIT_OK && o.explain != NULL) {
    st = explain(h, &q, o.explain);
  } else if (st == PCTL_EXIT_OK && o.count) {
    uint64_t n = 0;
    st = audience_status(h, lp_tags_count(h, &q, &n));
    if (st == PCTL_EXIT_OK) printf("%" PRIu64 "\n", n);
  } else if (st == PCTL_EXIT_OK) {
    lp_tags_audience *a = NULL;
    st = audience_status(h, lp_tags_audience_create(h, &q, &a));
    if (st == PCTL_EXIT_OK) {
      size_t n = (size_t)lp_tags_audience_size(a), got = 0;
      uint64_t *ids = malloc((n ? n : 1) * sizeof *ids);
      if (ids == NULL) {
        pctl_error("out of memory");
        st = PCTL_EXIT_FAILURE;
      } else {
        (void)lp_tags_audience_next(a, ids, n, &got);
        st = pctl_tags_sort_text(ids, got);
        for (size_t i = 0; st == PCTL_EXIT_OK && i < got; i++) printf("%" PRIu64 "\n", ids[i]);
        free(ids);
      }
      lp_tags_audience_free(a);
    }
  }
  lp_tags_free(h);
  return st;
}

const pctl_command pctl_cmd_audience = {
    "audience",
    "(--state STATE | --taxonomy FILE --profiles FILE [--facts FILE]) --query EXPR [--as-of DATE] "
    "[--min-size N] [--count] [--explain PROFILE_ID]",
    "profile ids of an audience query over tags, values and attributes",
    "Prints the profile ids of the audience, one per line in ascending text\n"
    "order, or with --count one number. With --min-size N an audience smaller\n"
    "than N is refused (exit 1, no count). A minimum size does not protect\n"
    "against differencing: two large audiences that differ by one person\n"
    "reveal that person (see docs/tags.md).",
    run_audience};
