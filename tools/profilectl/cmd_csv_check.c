/*
 * profilectl csv-check FILE: stream a CSV file through the reader and report
 * its shape and every malformed row.
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "csv.h"
#include "progress.h"

#define CMD "csv-check"
#define DEFAULT_MAX_REPORT 100

typedef struct check_opts {
  const char *path;
  char delimiter;
  bool no_header;
  int64_t max_report;
  int64_t max_fields;
  int64_t max_record;
  int progress;
} check_opts;

static bool parse_delimiter(const pctl_option *opt, const char *v, char *err, size_t cap) {
  char *out = opt->dest;
  if (strcmp(v, "tab") == 0 || strcmp(v, "\\t") == 0) {
    *out = '\t';
    return true;
  }
  if (strlen(v) != 1 || v[0] == '"' || v[0] == '\r' || v[0] == '\n') {
    snprintf(err, cap, "the delimiter must be one character other than '\"' (or 'tab'), not '%s'",
             v);
    return false;
  }
  *out = v[0];
  return true;
}

static int parse_options(int argc, char **argv, check_opts *o) {
  o->progress = PCTL_PROGRESS_AUTO;
  const pctl_option table[] = {
    PCTL_OPT_CUSTOM("delimiter", 'd', "C", &o->delimiter, parse_delimiter, ",",
                    "field delimiter: one character or 'tab'"),
    PCTL_OPT_FLAG("no-header", 0, &o->no_header, "the first row is data and sets the field count"),
    PCTL_OPT_INT("max-report", 0, "N", &o->max_report, 0, INT64_MAX, "100",
                 "list at most N malformed rows"),
    PCTL_OPT_INT("max-fields", 0, "N", &o->max_fields, 1, INT64_C(1) << 24, "4096",
                 "most fields in a row"),
    PCTL_OPT_INT("max-record-bytes", 0, "N", &o->max_record, 1, INT64_C(1) << 30, "1048576",
                 "longest row in bytes"),
    PCTL_OPT_SET("progress", 0, &o->progress, PCTL_PROGRESS_ALWAYS,
                 "show the progress line on stderr (default: when stderr is a terminal)"),
    PCTL_OPT_SET("no-progress", 0, &o->progress, PCTL_PROGRESS_NEVER, "never show it"),
    PCTL_OPT_END,
  };
  return pctl_parse_file_command(&pctl_cmd_csv_check, table, argc, argv, &o->path);
}

typedef struct check_result {
  size_t columns;
  uint64_t listed;
  uint64_t unlisted;
} check_result;

/* Read every record, listing malformed ones; returns an exit status. */
static int scan(pctl_csv *r, const check_opts *o, pctl_progress *pg, check_result *res) {
  if (!o->no_header) {
    if (pctl_csv_read_header(r) != LP_OK) return pctl_csv_report(r, o->path);
    res->columns = pctl_csv_header_count(r);
  }
  bool first = o->no_header;
  uint64_t seen = 0;
  for (;;) {
    int rc = pctl_csv_next(r);
    if (rc == PCTL_CSV_END) return PCTL_EXIT_OK;
    if (rc == PCTL_CSV_ROW && first) {
      /* Without a header the first row sets the expected shape. */
      pctl_csv_fields(r, &res->columns);
      pctl_csv_expect_fields(r, res->columns);
      first = false;
    } else if (rc == PCTL_CSV_MALFORMED) {
      if (res->listed < (uint64_t)o->max_report) {
        uint64_t line;
        const char *problem = pctl_csv_split_line(pctl_csv_errmsg(r), &line);
        printf("%s:%llu: %s\n", o->path, (unsigned long long)line, problem);
        res->listed++;
      } else {
        res->unlisted++;
      }
    } else if (rc < 0) {
      return pctl_csv_report(r, o->path);
    }
    pctl_csv_stats st;
    pctl_csv_get_stats(r, &st);
    pctl_progress_update(pg, st.bytes, ++seen);
  }
}

static int run_csv_check(int argc, char **argv) {
  check_opts o;
  int status = parse_options(argc, argv, &o);
  if (status != PCTL_EXIT_OK) return status;

  FILE *f;
  uint64_t size;
  status = pctl_open_input(o.path, &f, &size);
  if (status != PCTL_EXIT_OK) return status;

  pctl_csv_config cfg;
  pctl_csv_config_init(&cfg);
  cfg.delimiter = o.delimiter;
  cfg.on_malformed = PCTL_CSV_REPORT;
  cfg.max_fields = (size_t)o.max_fields;
  cfg.max_record_bytes = (size_t)o.max_record;
  pctl_csv *r;
  int rc = pctl_csv_open_file(&cfg, f, &r);
  if (rc != LP_OK) {
    pctl_data_error(o.path, 0, "cannot start reading: %s", lp_strerror(rc));
    pctl_close_input(f);
    return PCTL_EXIT_FAILURE;
  }

  pctl_progress_opts po;
  pctl_progress_opts_init(&po);
  po.mode = (pctl_progress_mode)o.progress;
  po.total_bytes = size;
  pctl_progress pg;
  pctl_progress_start(&pg, &po);

  check_result res = {0, 0, 0};
  status = scan(r, &o, &pg, &res);
  pctl_progress_finish(&pg);
  if (status == PCTL_EXIT_OK) {
    pctl_csv_stats st;
    pctl_csv_get_stats(r, &st);
    if (res.unlisted > 0) {
      printf("(%llu more malformed rows not listed)\n", (unsigned long long)res.unlisted);
    }
    printf("file: %s\n", o.path);
    printf("columns: %zu\n", res.columns);
    printf("rows: %llu\n", (unsigned long long)st.rows);
    printf("malformed: %llu\n", (unsigned long long)st.malformed);
    printf("empty_lines: %llu\n", (unsigned long long)st.empty_lines);
    printf("bytes: %llu\n", (unsigned long long)st.bytes);
    if (st.malformed > 0) status = PCTL_EXIT_FAILURE;
  }
  pctl_csv_close(r);
  pctl_close_input(f);
  return status;
}

const pctl_command pctl_cmd_csv_check = {
  CMD,
  "[options] FILE",
  "check a CSV file: rows, columns and every malformed row",
  "Reads FILE ('-' for standard input) with the streaming CSV reader (RFC 4180:\n"
  "quoted fields, \"\" escapes, CRLF or LF, a leading UTF-8 BOM is skipped). The\n"
  "first row is the header unless --no-header is given; every other row must\n"
  "have as many fields. Each malformed row is listed as 'FILE:N: problem' (N is\n"
  "the physical line where the row starts), then a summary follows:\n"
  "file, columns, rows (well-formed data rows), malformed, empty_lines (skipped)\n"
  "and bytes.\n"
  "\n"
  "Exit status: 0 if every row is well-formed, 1 if any row is malformed or the\n"
  "file cannot be read (a limit exceeded, an I/O error), 2 for a usage error.\n",
  run_csv_check,
};
