/*
 * profilectl tags: a tag taxonomy (INI), profile attributes (CSV) and
 * host-set facts (CSV) into a tag wide table or long list; --save writes
 * the whole state for 'profilectl audience --state'.
 * SPDX-License-Identifier: MIT
 */
#include "cmd_tags.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "csv.h"
#include "csvout.h"
#include "decimal.h"
#include "libprofile/io.h"
#include "timeparse.h"

/* ---- taxonomy INI ---- */

typedef struct tag_sec {
  char *name, *category, *description, *owner, *purpose, *consent, *rule;
  uint32_t type, merge, scale, sensitivity;
  int64_t ttl;
  uint64_t line;
} tag_sec;

typedef struct taxo {
  tag_sec *v;
  size_t n, cap;
} taxo;

static char *dup_str(const char *s) {
  size_t n = strlen(s) + 1;
  char *p = malloc(n);
  if (p != NULL) memcpy(p, s, n);
  return p;
}

static char *trim(char *s) {
  while (*s == ' ' || *s == '\t') s++;
  size_t n = strlen(s);
  while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n')) s[--n] = '\0';
  return s;
}

static void taxo_free(taxo *t) {
  for (size_t i = 0; i < t->n; i++) {
    tag_sec *s = &t->v[i];
    free(s->name); free(s->category); free(s->description); free(s->owner);
    free(s->purpose); free(s->consent); free(s->rule);
  }
  free(t->v);
}

static int parse_ttl(const char *v, int64_t *out) {
  char *end;
  errno = 0;
  long long n = strtoll(v, &end, 10);
  if (end == v || errno != 0 || n < 0) return -1;
  int64_t mul = 1;
  if (*end == 's') mul = 1, end++;
  else if (*end == 'm') mul = 60, end++;
  else if (*end == 'h') mul = 3600, end++;
  else if (*end == 'd') mul = 86400, end++;
  else if (*end == 'w') mul = 7 * 86400, end++;
  if (*end != '\0' || n > INT64_MAX / mul) return -1;
  *out = (int64_t)n * mul;
  return 0;
}

static int lookup(const char *v, const char *const *names, const uint32_t *vals, uint32_t *out) {
  for (size_t i = 0; names[i] != NULL; i++)
    if (strcmp(v, names[i]) == 0) {
      *out = vals[i];
      return 0;
    }
  return -1;
}

static const char *const type_names[] = {"flag", "int", "decimal", "string", "time", NULL};
static const uint32_t type_vals[] = {LP_TAGS_FLAG, LP_TAGS_INT, LP_TAGS_DECIMAL, LP_TAGS_STRING, LP_TAGS_TIME};
static const char *const merge_names[] = {"or", "max", "min", "latest", "sum", NULL};
static const uint32_t merge_vals[] = {LP_TAGS_MERGE_OR, LP_TAGS_MERGE_MAX, LP_TAGS_MERGE_MIN,
                                      LP_TAGS_MERGE_LATEST, LP_TAGS_MERGE_SUM};
static const char *const sens_names[] = {"normal", "personal", "special", NULL};
static const uint32_t sens_vals[] = {LP_TAGS_SENS_NORMAL, LP_TAGS_SENS_PERSONAL, LP_TAGS_SENS_SPECIAL};

static int set_key(tag_sec *s, const char *k, const char *v, const char *path, uint64_t line) {
  char **slot = NULL;
  if (strcmp(k, "category") == 0) slot = &s->category;
  else if (strcmp(k, "description") == 0) slot = &s->description;
  else if (strcmp(k, "owner") == 0) slot = &s->owner;
  else if (strcmp(k, "purpose") == 0) slot = &s->purpose;
  else if (strcmp(k, "consent") == 0) slot = &s->consent;
  else if (strcmp(k, "rule") == 0) slot = &s->rule;
  if (slot != NULL) {
    free(*slot);
    *slot = dup_str(v);
    return *slot == NULL ? pctl_data_error(path, line, "out of memory") : PCTL_EXIT_OK;
  }
  if (strcmp(k, "type") == 0) {
    if (lookup(v, type_names, type_vals, &s->type) != 0)
      return pctl_data_error(path, line, "type '%s': expected flag, int, decimal, string or time", v);
  } else if (strcmp(k, "merge") == 0) {
    if (lookup(v, merge_names, merge_vals, &s->merge) != 0)
      return pctl_data_error(path, line, "merge '%s': expected or, max, min, latest or sum", v);
  } else if (strcmp(k, "sensitivity") == 0) {
    if (lookup(v, sens_names, sens_vals, &s->sensitivity) != 0)
      return pctl_data_error(path, line, "sensitivity '%s': expected normal, personal or special", v);
  } else if (strcmp(k, "expires_after") == 0) {
    if (parse_ttl(v, &s->ttl) != 0)
      return pctl_data_error(path, line, "expires_after '%s': expected N with s, m, h, d or w (e.g. 90d)", v);
  } else if (strcmp(k, "scale") == 0) {
    char *end;
    long n = strtol(v, &end, 10);
    if (*v == '\0' || *end != '\0' || n < 0 || n > (long)LP_TAGS_MAX_SCALE)
      return pctl_data_error(path, line, "scale '%s': expected 0..%u", v, LP_TAGS_MAX_SCALE);
    s->scale = (uint32_t)n;
  } else {
    return pctl_data_error(path, line, "unknown key '%s' (allowed: category, type, rule, description, "
                                       "owner, expires_after, merge, purpose, consent, scale, sensitivity)", k);
  }
  return PCTL_EXIT_OK;
}

static int read_taxonomy(const char *path, taxo *t) {
  FILE *f = NULL;
  int st = pctl_open_input(path, &f, NULL);
  if (st != PCTL_EXIT_OK) return st;
  char buf[16384];
  uint64_t line = 0;
  tag_sec *cur = NULL;
  while (st == PCTL_EXIT_OK && fgets(buf, sizeof buf, f) != NULL) {
    line++;
    size_t len = strlen(buf);
    if (len == sizeof buf - 1 && buf[len - 1] != '\n') {
      st = pctl_data_error(path, line, "line longer than %zu bytes", sizeof buf - 2);
      break;
    }
    char *s = trim(buf);
    if (*s == '\0' || *s == '#' || *s == ';') continue;
    if (*s == '[') {
      size_t n = strlen(s);
      if (n < 7 || strncmp(s, "[tag ", 5) != 0 || s[n - 1] != ']') {
        st = pctl_data_error(path, line, "a section header is '[tag NAME]'");
        break;
      }
      s[n - 1] = '\0';
      char *name = trim(s + 5);
      for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->v[i].name, name) == 0) st = pctl_data_error(path, line, "tag '%s' defined twice", name);
      if (st != PCTL_EXIT_OK) break;
      if (t->n == t->cap) {
        size_t nc = t->cap ? 2 * t->cap : 16;
        tag_sec *v = realloc(t->v, nc * sizeof *v);
        if (v == NULL) {
          st = pctl_data_error(path, line, "out of memory");
          break;
        }
        t->v = v;
        t->cap = nc;
      }
      cur = &t->v[t->n++];
      memset(cur, 0, sizeof *cur);
      cur->type = LP_TAGS_FLAG;
      cur->line = line;
      cur->name = dup_str(name);
      if (cur->name == NULL) st = pctl_data_error(path, line, "out of memory");
      continue;
    }
    char *eq = strchr(s, '=');
    if (eq == NULL) {
      st = pctl_data_error(path, line, "expected 'key = value' or a [tag NAME] section");
      break;
    }
    *eq = '\0';
    char *k = trim(s), *v = trim(eq + 1);
    if (cur == NULL) {
      st = pctl_data_error(path, line, "'%s = ...' before any [tag NAME] section", k);
      break;
    }
    st = set_key(cur, k, v, path, line);
  }
  if (st == PCTL_EXIT_OK && ferror(f)) st = pctl_data_error(path, line, "read error");
  pctl_close_input(f);
  for (size_t i = 0; st == PCTL_EXIT_OK && i < t->n; i++) {
    tag_sec *s = &t->v[i];
    if (s->merge == 0) s->merge = LP_TAGS_MERGE_OR;
    if (s->type == LP_TAGS_DECIMAL && s->scale == 0) s->scale = 2;
  }
  return st;
}

/* ---- profiles CSV: columns into attributes ---- */

typedef struct csvtab {
  char **cells; /* rows * cols */
  uint64_t *lines;
  size_t rows, cols, cap;
  char **names;
  size_t idcol;
} csvtab;

static void table_free(csvtab *t) {
  for (size_t i = 0; i < t->rows * t->cols; i++) free(t->cells[i]);
  for (size_t i = 0; i < t->cols; i++) free(t->names[i]);
  free(t->cells);
  free(t->lines);
  free(t->names);
}

static int read_table(const char *path, csvtab *t, const char *need) {
  FILE *f = NULL;
  int st = pctl_open_input(path, &f, NULL);
  if (st != PCTL_EXIT_OK) return st;
  pctl_csv *r = NULL;
  if (pctl_csv_open_file(NULL, f, &r) != LP_OK || pctl_csv_read_header(r) != LP_OK) {
    st = pctl_csv_report(r, path);
    pctl_csv_close(r);
    pctl_close_input(f);
    return st;
  }
  t->cols = pctl_csv_header_count(r);
  t->names = calloc(t->cols ? t->cols : 1, sizeof *t->names);
  for (size_t i = 0; t->names != NULL && i < t->cols; i++) {
    pctl_csv_field h = pctl_csv_header_name(r, i);
    t->names[i] = malloc(h.len + 1);
    if (t->names[i] == NULL) break;
    memcpy(t->names[i], h.ptr, h.len);
    t->names[i][h.len] = '\0';
  }
  if (pctl_csv_column(r, need, &t->idcol) != LP_OK) st = pctl_data_error(path, 1, "no '%s' column", need);
  while (st == PCTL_EXIT_OK) {
    int rc = pctl_csv_next(r);
    if (rc == PCTL_CSV_END) break;
    if (rc != PCTL_CSV_ROW) {
      st = pctl_csv_report(r, path);
      break;
    }
    size_t n;
    const pctl_csv_field *fl = pctl_csv_fields(r, &n);
    if (t->rows == t->cap) {
      size_t nc = t->cap ? 2 * t->cap : 1024;
      char **c = realloc(t->cells, nc * t->cols * sizeof *c);
      if (c != NULL) t->cells = c;
      uint64_t *l = realloc(t->lines, nc * sizeof *l);
      if (l != NULL) t->lines = l;
      if (c == NULL || l == NULL) {
        st = pctl_data_error(path, pctl_csv_record_line(r), "out of memory");
        break;
      }
      t->cap = nc;
    }
    for (size_t i = 0; i < t->cols; i++) {
      char *p = malloc(fl[i].len + 1);
      if (p != NULL) {
        memcpy(p, fl[i].ptr, fl[i].len);
        p[fl[i].len] = '\0';
      }
      t->cells[t->rows * t->cols + i] = p;
    }
    t->lines[t->rows++] = pctl_csv_record_line(r);
  }
  pctl_csv_close(r);
  pctl_close_input(f);
  return st;
}

static const char *cell(const csvtab *t, size_t row, size_t col) {
  const char *c = t->cells[row * t->cols + col];
  return c == NULL ? "" : c;
}

static int parse_id(const char *s, uint64_t *out) {
  if (*s < '0' || *s > '9') return -1;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno != 0 || *end != '\0') return -1;
  *out = v;
  return 0;
}

static int tags_error(const char *path, uint64_t line, const lp_tags *h) {
  return pctl_data_error(path, line, "%s", lp_tags_errmsg(h));
}

static int load_profiles(const char *path, lp_tags *h, csvtab *t) {
  int st = read_table(path, t, "profile_id");
  if (st != PCTL_EXIT_OK) return st;
  uint32_t *ids = calloc(t->cols ? t->cols : 1, sizeof *ids);
  unsigned *scale = calloc(t->cols ? t->cols : 1, sizeof *scale);
  if (ids == NULL || scale == NULL) st = pctl_data_error(path, 0, "out of memory");
  for (size_t c = 0; st == PCTL_EXIT_OK && c < t->cols; c++) {
    if (c == t->idcol) continue;
    bool num = true;
    unsigned sc = 0;
    for (size_t r = 0; num && r < t->rows; r++) {
      const char *v = cell(t, r, c);
      if (*v == '\0') continue;
      unsigned p = pctl_decimal_places(v, strlen(v));
      int64_t x;
      if (p > PCTL_DECIMAL_MAX_SCALE || pctl_decimal_parse(v, strlen(v), p, &x, NULL, 0) != LP_OK) num = false;
      else if (p > sc) sc = p;
    }
    scale[c] = sc;
    uint32_t type = !num ? LP_TAGS_STRING : sc == 0 ? LP_TAGS_INT : LP_TAGS_DECIMAL;
    if (lp_tags_define_attr(h, t->names[c], type, type == LP_TAGS_DECIMAL ? sc : 0, &ids[c]) != LP_OK)
      st = pctl_data_error(path, 1, "column '%s': %s", t->names[c], lp_tags_errmsg(h));
    if (!num) scale[c] = UINT32_MAX;
  }
  for (size_t r = 0; st == PCTL_EXIT_OK && r < t->rows; r++) {
    uint64_t id;
    if (parse_id(cell(t, r, t->idcol), &id) != 0) {
      st = pctl_data_error(path, t->lines[r], "profile_id '%.40s' is not an unsigned integer", cell(t, r, t->idcol));
      break;
    }
    if (lp_tags_add_profile(h, id) != LP_OK) st = tags_error(path, t->lines[r], h);
    for (size_t c = 0; st == PCTL_EXIT_OK && c < t->cols; c++) {
      const char *v = cell(t, r, c);
      if (c == t->idcol || *v == '\0') continue;
      int rc;
      if (scale[c] == UINT32_MAX) {
        rc = lp_tags_set_attr_string(h, id, ids[c], v, strlen(v));
      } else {
        int64_t x = 0;
        rc = pctl_decimal_parse(v, strlen(v), scale[c], &x, NULL, 0);
        if (rc == LP_OK) rc = lp_tags_set_attr_int(h, id, ids[c], x);
      }
      if (rc != LP_OK) st = pctl_data_error(path, t->lines[r], "column '%s': %s", t->names[c], lp_tags_errmsg(h));
    }
  }
  free(ids);
  free(scale);
  return st;
}

static int define_tags(const char *path, const taxo *tx, lp_tags *h) {
  for (size_t i = 0; i < tx->n; i++) {
    const tag_sec *s = &tx->v[i];
    lp_tags_def d = LP_TAGS_DEF_INIT;
    d.name = s->name;
    d.type = s->type;
    d.merge = s->merge;
    d.scale = s->type == LP_TAGS_DECIMAL ? s->scale : 0;
    d.sensitivity = s->sensitivity;
    d.default_ttl = s->ttl;
    d.category = s->category;
    d.description = s->description;
    d.owner = s->owner;
    d.purpose = s->purpose;
    d.consent_for = s->consent;
    if (lp_tags_define(h, &d, NULL) != LP_OK) return tags_error(path, s->line, h);
  }
  for (size_t i = 0; i < tx->n; i++) {
    if (tx->v[i].rule == NULL) continue;
    if (lp_tags_set_rule(h, (uint32_t)i, tx->v[i].rule) != LP_OK)
      return pctl_data_error(path, tx->v[i].line, "tag '%s': rule: %s", tx->v[i].name, lp_tags_errmsg(h));
  }
  return PCTL_EXIT_OK;
}

static int load_facts(const char *path, lp_tags *h) {
  csvtab t;
  memset(&t, 0, sizeof t);
  int st = read_table(path, &t, "profile_id");
  size_t ct = 0, cv = 0, ce = 0, cs = 0;
  bool has_set = false;
  if (st == PCTL_EXIT_OK) {
    bool ok = true;
    for (size_t i = 0; i < t.cols; i++) {
      if (strcmp(t.names[i], "tag") == 0) ct = i + 1;
      if (strcmp(t.names[i], "value") == 0) cv = i + 1;
      if (strcmp(t.names[i], "expires_at") == 0) ce = i + 1;
      if (strcmp(t.names[i], "set_at") == 0) cs = i + 1, has_set = true;
    }
    ok = ct && cv && ce;
    if (!ok) st = pctl_data_error(path, 1, "facts need the columns profile_id,tag,value,expires_at");
  }
  char err[160];
  for (size_t r = 0; st == PCTL_EXIT_OK && r < t.rows; r++) {
    uint64_t line = t.lines[r], id;
    const char *name = cell(&t, r, ct - 1), *val = cell(&t, r, cv - 1), *exp = cell(&t, r, ce - 1);
    if (parse_id(cell(&t, r, t.idcol), &id) != 0) {
      st = pctl_data_error(path, line, "profile_id '%.40s' is not an unsigned integer", cell(&t, r, t.idcol));
      break;
    }
    uint32_t tag;
    if (lp_tags_find(h, name, &tag) != LP_OK) {
      st = pctl_data_error(path, line, "unknown tag '%.128s'", name);
      break;
    }
    lp_tags_info info = LP_TAGS_INFO_INIT;
    (void)lp_tags_describe(h, tag, &info);
    lp_tags_value v = LP_TAGS_VALUE_INIT;
    int rc = LP_OK;
    err[0] = '\0';
    if (has_set && *cell(&t, r, cs - 1) != '\0')
      rc = pctl_time_parse(cell(&t, r, cs - 1), strlen(cell(&t, r, cs - 1)), PCTL_TIME_AUTO, &v.set_at, err, sizeof err);
    else
      v.expires_at = LP_TAGS_NEVER;
    if (rc == LP_OK && *exp != '\0') rc = pctl_time_parse(exp, strlen(exp), PCTL_TIME_AUTO, &v.expires_at, err, sizeof err);
    if (rc == LP_OK) {
      switch (info.type) {
        case LP_TAGS_FLAG:
          if (strcmp(val, "1") != 0) {
            rc = LP_EINVAL;
            snprintf(err, sizeof err, "flag '%s' takes the value 1", name);
          }
          break;
        case LP_TAGS_STRING:
          v.str = val;
          v.len = strlen(val);
          break;
        case LP_TAGS_TIME:
          rc = pctl_time_parse(val, strlen(val), PCTL_TIME_AUTO, &v.num, err, sizeof err);
          break;
        default:
          rc = pctl_decimal_parse(val, strlen(val), info.scale, &v.num, err, sizeof err);
          break;
      }
    }
    if (rc != LP_OK) {
      st = pctl_data_error(path, line, "%s", err[0] ? err : "bad value");
      break;
    }
    if (lp_tags_set(h, id, tag, &v) != LP_OK) st = tags_error(path, line, h);
  }
  table_free(&t);
  return st;
}

int pctl_tags_build(const pctl_tags_inputs *in, lp_tags *h) {
  taxo tx;
  memset(&tx, 0, sizeof tx);
  csvtab prof;
  memset(&prof, 0, sizeof prof);
  int st = read_taxonomy(in->taxonomy, &tx);
  /* attributes first: rules are type-checked against them; a tag named
   * like a column is reported at the tag's line */
  if (st == PCTL_EXIT_OK) st = load_profiles(in->profiles, h, &prof);
  if (st == PCTL_EXIT_OK) st = define_tags(in->taxonomy, &tx, h);
  if (st == PCTL_EXIT_OK && in->facts != NULL) st = load_facts(in->facts, h);
  taxo_free(&tx);
  table_free(&prof);
  return st;
}

int pctl_tags_format(const lp_tags *h, uint64_t id, uint32_t tag, int64_t as_of, char *buf, size_t cap) {
  lp_tags_value v = LP_TAGS_VALUE_INIT;
  buf[0] = '\0';
  if (lp_tags_get(h, id, tag, as_of, &v) != LP_OK) return 0;
  lp_tags_info info = LP_TAGS_INFO_INIT;
  (void)lp_tags_describe(h, tag, &info);
  switch (v.type) {
    case LP_TAGS_FLAG: snprintf(buf, cap, "1"); break;
    case LP_TAGS_STRING: snprintf(buf, cap, "%.*s", (int)v.len, v.str); break;
    case LP_TAGS_TIME:
      if (pctl_time_format_iso8601(v.num, buf, cap) != LP_OK) snprintf(buf, cap, "%" PRId64, v.num);
      break;
    default: pctl_decimal_format(v.num, info.scale, buf, cap); break;
  }
  return 1;
}

/* Text order of decimal numbers: each id's digits padded with NUL bytes to
 * 20 (NUL sorts before every digit, so a prefix comes first), formatted
 * once; memcmp of the keys is then strcmp of the texts. */
typedef struct text_key {
  char k[20];
  uint64_t id;
} text_key;

static int cmp_key(const void *a, const void *b) {
  return memcmp(((const text_key *)a)->k, ((const text_key *)b)->k, 20);
}

int pctl_tags_sort_text(uint64_t *ids, size_t n) {
  text_key *keys = malloc((n ? n : 1) * sizeof *keys);
  if (keys == NULL) {
    pctl_error("out of memory");
    return PCTL_EXIT_FAILURE;
  }
  for (size_t i = 0; i < n; i++) {
    char tmp[24];
    int len = snprintf(tmp, sizeof tmp, "%" PRIu64, ids[i]);
    memset(keys[i].k, 0, sizeof keys[i].k);
    memcpy(keys[i].k, tmp, (size_t)len);
    keys[i].id = ids[i];
  }
  qsort(keys, n, sizeof *keys, cmp_key);
  for (size_t i = 0; i < n; i++) ids[i] = keys[i].id;
  free(keys);
  return PCTL_EXIT_OK;
}

uint64_t *pctl_tags_sorted_ids(const lp_tags *h, size_t *n) {
  lp_tags_query q = LP_TAGS_QUERY_INIT;
  q.text = "true";
  lp_tags_audience *a = NULL;
  *n = 0;
  if (lp_tags_audience_create(h, &q, &a) != LP_OK) {
    pctl_error("%s", lp_tags_errmsg(h));
    return NULL;
  }
  size_t total = (size_t)lp_tags_audience_size(a), got;
  uint64_t *ids = malloc((total ? total : 1) * sizeof *ids);
  if (ids == NULL) {
    pctl_error("out of memory");
    lp_tags_audience_free(a);
    return NULL;
  }
  (void)lp_tags_audience_next(a, ids, total, &got);
  lp_tags_audience_free(a);
  if (pctl_tags_sort_text(ids, got) != PCTL_EXIT_OK) {
    free(ids);
    return NULL;
  }
  *n = got;
  return ids;
}

/* ---- the command ---- */

typedef struct tags_opts {
  pctl_tags_inputs in;
  int64_t as_of;
  int format;
  const char *save;
} tags_opts;

static const char *const format_names[] = {"wide", "long", NULL};

static int write_tables(const lp_tags *h, const tags_opts *o) {
  size_t n;
  uint64_t *ids = pctl_tags_sorted_ids(h, &n);
  if (ids == NULL) return PCTL_EXIT_FAILURE;
  uint32_t nt = lp_tags_tag_count(h);
  /* long: tags by name */
  uint32_t *order = malloc((nt ? nt : 1) * sizeof *order);
  const char **names = malloc((nt ? nt : 1) * sizeof *names);
  if (order == NULL || names == NULL) {
    free(ids); free(order); free(names);
    pctl_error("out of memory");
    return PCTL_EXIT_FAILURE;
  }
  uint32_t live = 0;
  for (uint32_t i = 0; i < nt; i++) {
    lp_tags_info info = LP_TAGS_INFO_INIT;
    (void)lp_tags_describe(h, i, &info);
    names[i] = info.name;
    if (!info.retired) order[live++] = i;
  }
  pctl_csvout w;
  pctl_csvout_stream(&w, stdout, "-");
  char buf[LP_TAGS_MAX_STRING + 64];
  if (o->format == 0) {
    pctl_csvout_str(&w, "profile_id");
    for (uint32_t k = 0; k < live; k++) pctl_csvout_str(&w, names[order[k]]);
    pctl_csvout_end_row(&w);
    for (size_t i = 0; i < n; i++) {
      pctl_csvout_u64(&w, ids[i]);
      for (uint32_t k = 0; k < live; k++) {
        pctl_tags_format(h, ids[i], order[k], o->as_of, buf, sizeof buf);
        pctl_csvout_str(&w, buf);
      }
      pctl_csvout_end_row(&w);
    }
  } else {
    for (uint32_t i = 1; i < live; i++) /* insertion sort by name */
      for (uint32_t j = i; j > 0 && strcmp(names[order[j]], names[order[j - 1]]) < 0; j--) {
        uint32_t t = order[j];
        order[j] = order[j - 1];
        order[j - 1] = t;
      }
    const char *head[3] = {"profile_id", "tag", "value"};
    pctl_csvout_strs(&w, head, 3);
    pctl_csvout_end_row(&w);
    for (size_t i = 0; i < n; i++)
      for (uint32_t k = 0; k < live; k++) {
        if (!pctl_tags_format(h, ids[i], order[k], o->as_of, buf, sizeof buf)) continue;
        pctl_csvout_u64(&w, ids[i]);
        pctl_csvout_str(&w, names[order[k]]);
        pctl_csvout_str(&w, buf);
        pctl_csvout_end_row(&w);
      }
  }
  int st = pctl_csvout_close(&w);
  fprintf(stderr, PCTL_PROGRAM " tags: %u tags, %zu profiles, %llu bytes of bitmaps\n", live, n,
          (unsigned long long)lp_tags_bitmap_bytes(h));
  free(ids);
  free(order);
  free(names);
  return st;
}

static int save_state(const lp_tags *h, const char *path) {
  FILE *f = fopen(path, "wb");
  if (f == NULL) {
    pctl_error("%s: cannot create: %s", path, strerror(errno));
    return PCTL_EXIT_FAILURE;
  }
  int rc = lp_tags_save(h, pctl_file_write, f);
  if (fclose(f) != 0 && rc == LP_OK) rc = LP_EIO;
  if (rc != LP_OK) {
    pctl_error("%s: cannot save: %s", path, lp_tags_errmsg(h));
    return PCTL_EXIT_FAILURE;
  }
  return PCTL_EXIT_OK;
}

static int run_tags(int argc, char **argv) {
  tags_opts o;
  memset(&o, 0, sizeof o);
  const pctl_option table[] = {
      PCTL_REQUIRED(PCTL_OPT_PATH("taxonomy", 0, "FILE", &o.in.taxonomy, NULL,
                                  "INI: [tag NAME] sections with category, type, rule, description,\n"
                                  "expires_after (90d), merge, purpose, consent, scale, owner")),
      PCTL_REQUIRED(PCTL_OPT_PATH("profiles", 0, "FILE", &o.in.profiles, NULL,
                                  "CSV: profile_id and attribute columns (numbers are exact decimals)")),
      PCTL_OPT_PATH("facts", 0, "FILE", &o.in.facts, NULL,
                    "CSV: profile_id,tag,value,expires_at (+ optional set_at); empty expires_at = never"),
      PCTL_OPT_DATE("as-of", 0, "DATE", &o.as_of, NULL,
                    "expiry reference (a value is live while as_of < expires_at); default\n1970-01-01T00:00:00Z, when nothing has expired"),
      PCTL_OPT_ENUM("format", 0, "F", &o.format, format_names, "wide", "wide table or long list"),
      PCTL_OPT_PATH("save", 0, "STATE", &o.save, NULL, "write the whole tag state for 'audience --state'"),
      PCTL_OPT_END,
  };
  pctl_operands ops;
  int st = pctl_parse_options(&pctl_cmd_tags, table, argc, argv, &ops);
  if (st == PCTL_EXIT_OK) st = pctl_want_operands(&pctl_cmd_tags, &ops, 0, 0, "FILE");
  if (st != PCTL_EXIT_OK) return st;
  lp_tags *h = NULL;
  if (lp_tags_create(NULL, &h) != LP_OK) {
    pctl_error("out of memory");
    return PCTL_EXIT_FAILURE;
  }
  st = pctl_tags_build(&o.in, h);
  if (st == PCTL_EXIT_OK && lp_tags_evaluate(h, o.as_of) != LP_OK) {
    pctl_error("%s", lp_tags_errmsg(h));
    st = PCTL_EXIT_FAILURE;
  }
  if (st == PCTL_EXIT_OK) st = write_tables(h, &o);
  if (st == PCTL_EXIT_OK && o.save != NULL) st = save_state(h, o.save);
  lp_tags_free(h);
  return st;
}

const pctl_command pctl_cmd_tags = {
    "tags", "--taxonomy FILE --profiles FILE [--facts FILE] [--as-of DATE] [--format wide|long] [--save STATE]",
    "tag wide table from a taxonomy, profile attributes and facts",
    "Builds the tag state: attributes from the profile columns (numbers exact\n"
    "decimals, other text strings), the taxonomy's tags, rule-computed tags\n"
    "evaluated at --as-of, and host-set facts. Prints the wide table (one\n"
    "column per tag, taxonomy order) or the long list (profile_id,tag,value);\n"
    "rows sorted by profile_id as text. Summary on stderr.",
    run_tags};
