/*
 * profilectl - identifier type rules: the defaults by column name and the
 * INI rules file ('identity --rules', 'run --rules').
 * SPDX-License-Identifier: MIT
 */
#include "rules.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>



/* Defaults for a column without a [type] section: well-known names get
 * their usual rules, anything else is a generic, case-folded identifier. */
static void default_rule(pctl_type_rule *t, const char *name) {
  lp_idgraph_type_def d = LP_IDGRAPH_TYPE_DEF_INIT;
  snprintf(t->name, sizeof t->name, "%s", name);
  d.normalizer = LP_IDGRAPH_NORM_GENERIC_FOLD;
  d.priority = 10;
  if (strcmp(name, "user_id") == 0 || strcmp(name, "customer_id") == 0) {
    d.normalizer = LP_IDGRAPH_NORM_GENERIC;
    d.unique = 1;
    d.priority = 100;
  } else if (strcmp(name, "email") == 0) {
    d.normalizer = LP_IDGRAPH_NORM_EMAIL;
    d.priority = 50;
  } else if (strcmp(name, "phone") == 0) {
    d.normalizer = LP_IDGRAPH_NORM_PHONE;
    d.priority = 40;
  }
  t->def = d;
  t->def.name = t->name;
}

static pctl_type_rule *find_rule(pctl_rules *r, const char *name) {
  for (size_t i = 0; i < r->ntypes; i++)
    if (strcmp(r->types[i].name, name) == 0) return &r->types[i];
  return NULL;
}

pctl_type_rule *pctl_rules_add(pctl_rules *r, const char *name) {
  pctl_type_rule *t = find_rule(r, name);
  if (t != NULL || r->ntypes == LP_IDGRAPH_MAX_TYPES) return t;
  t = &r->types[r->ntypes++];
  default_rule(t, name);
  return t;
}

/* A rules-file problem: the message says what is wrong and what is allowed. */
typedef struct rules_err {
  char text[512];
} rules_err;

static bool bad(rules_err *e, const char *fmt, ...) PCTL_PRINTF(2, 3);

static bool bad(rules_err *e, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e->text, sizeof e->text, fmt, ap);
  va_end(ap);
  return false;
}

static bool parse_bool(const char *k, const char *v, uint32_t *out, rules_err *e) {
  if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1")) *out = 1;
  else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "0")) *out = 0;
  else return bad(e, "%s = '%s' is not a yes/no value; allowed: yes, no, true, false, 1, 0", k, v);
  return true;
}

static bool parse_int(const char *k, const char *v, int64_t lo, int64_t hi, int64_t *out,
                      rules_err *e) {
  char *end;
  errno = 0;
  long long x = strtoll(v, &end, 10);
  if (*v == 0 || *end != 0 || errno != 0)
    return bad(e, "%s = '%s' is not a whole number; allowed: %lld..%lld", k, v, (long long)lo,
               (long long)hi);
  if (x < lo || x > hi)
    return bad(e, "%s = %lld is outside the allowed %lld..%lld", k, x, (long long)lo,
               (long long)hi);
  *out = x;
  return true;
}

static const char *const norm_names[] = {"generic", "fold", "email", "email-gmail", "phone"};

const char *pctl_rules_normalizer_name(uint32_t normalizer) {
  return normalizer < PCTL_ARRAY_LEN(norm_names) ? norm_names[normalizer] : NULL;
}

static bool set_type_key(pctl_type_rule *t, const char *k, const char *v, rules_err *e) {
  int64_t x;
  if (!strcmp(k, "priority")) {
    if (!parse_int(k, v, INT32_MIN, INT32_MAX, &x, e)) return false;
    t->def.priority = (int32_t)x;
  } else if (!strcmp(k, "limit")) {
    if (!parse_int(k, v, 1, LP_IDGRAPH_MAX_TYPE_LIMIT, &x, e)) return false;
    t->def.limit = (uint32_t)x;
  } else if (!strcmp(k, "unique")) {
    return parse_bool(k, v, &t->def.unique, e);
  } else if (!strcmp(k, "country_code")) {
    if (!parse_int(k, v, 1, LP_IDGRAPH_MAX_COUNTRY_CODE, &x, e)) return false;
    t->def.country_code = (uint32_t)x;
  } else if (!strcmp(k, "normalizer")) {
    size_t i = 0;
    while (i < PCTL_ARRAY_LEN(norm_names) && strcmp(norm_names[i], v) != 0) i++;
    if (i == PCTL_ARRAY_LEN(norm_names))
      return bad(e, "normalizer = '%s' is unknown; allowed: generic, fold, email, email-gmail, "
                    "phone", v);
    t->def.normalizer = (uint32_t)i;
  } else {
    return bad(e, "unknown key '%s' in [type %s]; allowed: priority, limit, unique, normalizer, "
                  "country_code, block", k, t->name);
  }
  return true;
}

static bool set_graph_key(const lp_idgraph *g, pctl_rules *r, const char *k, const char *v,
                          rules_err *e) {
  if (!strcmp(k, "quarantine_after")) {
    int64_t lo = 1, hi = 63, x;
    (void)lp_idgraph_int_bounds(g, LP_IDGRAPH_QUARANTINE_AFTER, &lo, &hi);
    if (!parse_int(k, v, lo, hi, &x, e)) return false;
    r->quarantine = x;
    return true;
  }
  if (!strcmp(k, "default_blocklist")) {
    uint32_t b;
    if (!parse_bool(k, v, &b, e)) return false;
    r->default_blocklist = (int)b;
    return true;
  }
  return bad(e, "unknown key '%s' in [graph]; allowed: quarantine_after, default_blocklist", k);
}

static bool add_block(pctl_rules *r, const pctl_type_rule *t, const char *v, rules_err *e) {
  size_t tl = strlen(t->name), vl = strlen(v);
  if (r->nblocks == PCTL_ARRAY_LEN(r->blocks))
    return bad(e, "more than %zu block values", PCTL_ARRAY_LEN(r->blocks));
  if (vl == 0 || vl > LP_IDGRAPH_MAX_VALUE_LEN)
    return bad(e, "block value of %zu bytes; allowed: 1..%d bytes", vl, LP_IDGRAPH_MAX_VALUE_LEN);
  char *b = malloc(tl + vl + 2);
  if (b == NULL) return bad(e, "%s", strerror(ENOMEM));
  memcpy(b, t->name, tl + 1);
  memcpy(b + tl + 1, v, vl + 1);
  r->blocks[r->nblocks++] = b;
  return true;
}

static char *trim_in_place(char *s) {
  while (*s == ' ' || *s == '\t') s++;
  size_t n = strlen(s);
  while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
    s[--n] = 0;
  return s;
}

/* "[graph]" or "[type NAME]": sets *cur (NULL for [graph]). */
static bool parse_section(pctl_rules *r, char *s, pctl_type_rule **cur, bool *graph, rules_err *e) {
  char *end = strchr(s, ']');
  if (end == NULL || end[1] != 0)
    return bad(e, "a section header is '[graph]' or '[type NAME]' alone on its line");
  *end = 0;
  s = trim_in_place(s + 1);
  *graph = strcmp(s, "graph") == 0;
  *cur = NULL;
  if (*graph) return true;
  if (strncmp(s, "type ", 5) != 0)
    return bad(e, "unknown section '[%s]'; allowed: [graph] and [type NAME]", s);
  char *name = trim_in_place(s + 5);
  size_t len = strlen(name);
  if (len == 0 || len > LP_IDGRAPH_MAX_TYPE_NAME_LEN)
    return bad(e, "type name of %zu bytes; allowed: 1..%d bytes", len,
               LP_IDGRAPH_MAX_TYPE_NAME_LEN);
  *cur = pctl_rules_add(r, name);
  if (*cur == NULL) return bad(e, "more than %d identifier types", LP_IDGRAPH_MAX_TYPES);
  return true;
}

static bool parse_rules_line(const lp_idgraph *g, pctl_rules *r, char *s, pctl_type_rule **cur,
                             bool *graph, rules_err *e) {
  if (*s == 0 || *s == '#' || *s == ';') return true;
  if (*s == '[') return parse_section(r, s, cur, graph, e);
  char *eq = strchr(s, '=');
  if (eq == NULL) return bad(e, "expected 'key = value' or a [section], not '%.60s'", s);
  *eq = 0;
  char *k = trim_in_place(s), *v = trim_in_place(eq + 1);
  if (*graph) return set_graph_key(g, r, k, v, e);
  if (*cur == NULL)
    return bad(e, "'%s = ...' before any section; put it under [type NAME] or [graph]", k);
  if (!strcmp(k, "block")) return add_block(r, *cur, v, e);
  return set_type_key(*cur, k, v, e);
}

/* INI-style rules: "[type NAME]" sections with priority, limit, unique,
 * normalizer, country_code and block keys; a "[graph]" section with
 * quarantine_after and default_blocklist. '#' or ';' start comments. Each
 * problem names FILE:LINE, what is wrong and what is allowed. */
int pctl_rules_load(const lp_idgraph *g, const char *path, pctl_rules *r) {
  FILE *f = fopen(path, "r");
  if (f == NULL) {
    pctl_error("cannot open the rules file '%s': %s", path, strerror(errno));
    return PCTL_EXIT_FAILURE;
  }
  char line[2048];
  pctl_type_rule *cur = NULL;
  bool graph = false;
  uint64_t lineno = 0;
  int status = PCTL_EXIT_OK;
  rules_err e;
  while (status == PCTL_EXIT_OK && fgets(line, sizeof line, f) != NULL) {
    lineno++;
    size_t n = strlen(line);
    if (n == sizeof line - 1 && line[n - 1] != '\n' && !feof(f)) {
      status = pctl_data_error(path, lineno, "line longer than %zu bytes", sizeof line - 2);
    } else if (!parse_rules_line(g, r, trim_in_place(line), &cur, &graph, &e)) {
      status = pctl_data_error(path, lineno, "%s", e.text);
    }
  }
  if (status == PCTL_EXIT_OK && ferror(f))
    status = pctl_data_error(path, 0, "cannot read: %s", strerror(errno));
  fclose(f);
  return status;
}

void pctl_rules_free(pctl_rules *r) {
  for (size_t i = 0; i < r->nblocks; i++) free(r->blocks[i]);
}
