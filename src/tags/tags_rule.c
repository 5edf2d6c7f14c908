/*
 * The rule and query language: a hand-written lexer and a recursive-descent
 * parser with hard limits (text, tokens, depth, nodes), type-checked against
 * the taxonomy and the attribute schema while parsing, compiled to a typed
 * node array; and the canonical printer.
 * SPDX-License-Identifier: MIT
 */
#include <stdio.h>

#include "core/utf8.h"
#include "tags/tags_internal.h"

enum {
  T_END = 0, T_NAME, T_NUM, T_STR, T_LP, T_RP, T_COMMA, T_AND, T_OR, T_NOT, T_IN, T_CMP,
  T_TRUE, T_FALSE, T_ASOF
};

typedef struct tok {
  uint8_t kind, cmp;
  uint32_t pos, len;  /* source span */
  uint32_t npos, nlen; /* NAME: the name bytes; STR: offset/length in strs */
  int64_t num;
  uint32_t scale;
} tok;

typedef struct parser {
  const lp_tags *h;
  lp_error *e;
  const char *src;
  size_t srclen;
  tok *toks;
  size_t ntok, cap_tok, at;
  char *strs;
  size_t nstrs;
  tags_node *nodes;
  uint32_t n;
  tags_lit *list;
  uint32_t nlist;
  uint32_t depth;
  int rc;
} parser;

int tags_bytes_cmp(const char *a, size_t la, const char *b, size_t lb) {
  int m = la == 0 || lb == 0 ? 0 : memcmp(a, b, la < lb ? la : lb);
  return m != 0 ? (m < 0 ? -1 : 1) : (la > lb) - (la < lb);
}

int64_t tags_pow10(uint32_t p) {
  int64_t v = 1;
  for (uint32_t i = 0; i < p; i++) v *= 10;
  return v;
}

int tags_cmp_scaled(int64_t a, uint32_t sa, int64_t b, uint32_t sb) {
  if (sa < sb) {
    int64_t m;
    if (lp_i64_mul_overflow(a, tags_pow10(sb - sa), &m)) return a < 0 ? -1 : 1;
    a = m;
  } else if (sb < sa) {
    int64_t m;
    if (lp_i64_mul_overflow(b, tags_pow10(sa - sb), &m)) return b < 0 ? 1 : -1;
    b = m;
  }
  return (a > b) - (a < b);
}

static int fail(parser *p, int code, size_t pos, const char *what) {
  if (p->rc == LP_OK) p->rc = lp_error_set(p->e, code, "at byte %zu: %s", pos, what);
  return p->rc;
}

static bool is_start(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80; }
static bool is_cont(unsigned char c) {
  return is_start(c) || (c >= '0' && c <= '9') || c == '/' || c == '.';
}

static const struct { const char *w; uint8_t kind; } keywords[] = {
    {"and", T_AND}, {"or", T_OR}, {"not", T_NOT}, {"in", T_IN},
    {"true", T_TRUE}, {"false", T_FALSE}, {"as_of", T_ASOF}};

static int lex(parser *p) {
  const char *s = p->src;
  size_t i = 0, n = p->srclen;
  for (;;) {
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) i++;
    if (p->ntok >= p->cap_tok)
      return fail(p, LP_ELIMIT, i, "too many tokens");
    tok *t = &p->toks[p->ntok++];
    memset(t, 0, sizeof *t);
    t->pos = (uint32_t)i;
    if (i >= n) {
      t->kind = T_END;
      return LP_OK;
    }
    unsigned char c = (unsigned char)s[i];
    if (c == '(' || c == ')' || c == ',' || c == '&' || c == '|') {
      t->kind = c == '(' ? T_LP : c == ')' ? T_RP : c == ',' ? T_COMMA : c == '&' ? T_AND : T_OR;
      i++;
      if ((c == '&' || c == '|') && i < n && (unsigned char)s[i] == c) i++; /* && || */
    } else if (c == '!' && !(i + 1 < n && s[i + 1] == '=')) {
      t->kind = T_NOT;
      i++;
    } else if (c == '=' || c == '!' || c == '<' || c == '>') {
      t->kind = T_CMP;
      bool eq = i + 1 < n && s[i + 1] == '=';
      if (c == '=') t->cmp = CMP_EQ;
      else if (c == '!') t->cmp = CMP_NE;
      else if (c == '<') t->cmp = eq ? CMP_LE : CMP_LT;
      else t->cmp = eq ? CMP_GE : CMP_GT;
      if (c == '=' && !eq) return fail(p, LP_EINVAL, i, "'=' is not an operator (use '==')");
      i += eq ? 2 : 1;
    } else if (c == '"') {
      t->kind = T_STR;
      t->npos = (uint32_t)p->nstrs;
      i++;
      for (;;) {
        if (i >= n) return fail(p, LP_EINVAL, t->pos, "unterminated string");
        char ch = s[i];
        if (ch == '"') break;
        if (ch == '\\') {
          if (i + 1 >= n) return fail(p, LP_EINVAL, i, "unterminated string");
          char x = s[i + 1];
          ch = x == 'n' ? '\n' : x == 't' ? '\t' : x == '"' ? '"' : x == '\\' ? '\\' : 0;
          if (ch == 0) return fail(p, LP_EINVAL, i, "unknown escape (use \\\" \\\\ \\n \\t)");
          i++;
        }
        p->strs[p->nstrs++] = ch;
        i++;
      }
      i++;
      t->nlen = (uint32_t)(p->nstrs - t->npos);
      if (t->nlen > LP_TAGS_MAX_STRING) return fail(p, LP_ELIMIT, t->pos, "string literal too long");
    } else if (c == '`') {
      t->kind = T_NAME;
      t->npos = (uint32_t)++i;
      while (i < n && s[i] != '`') i++;
      if (i >= n) return fail(p, LP_EINVAL, t->pos, "unterminated `name`");
      t->nlen = (uint32_t)(i - t->npos);
      i++;
      if (t->nlen == 0) return fail(p, LP_EINVAL, t->pos, "empty `name`");
    } else if ((c >= '0' && c <= '9') || (c == '-' && i + 1 < n && s[i + 1] >= '0' && s[i + 1] <= '9')) {
      t->kind = T_NUM;
      bool neg = c == '-';
      if (neg) i++;
      int64_t v = 0;
      uint32_t scale = 0;
      bool frac = false;
      for (; i < n; i++) {
        char d = s[i];
        if (d == '.' && !frac && i + 1 < n && s[i + 1] >= '0' && s[i + 1] <= '9') {
          frac = true;
          continue;
        }
        if (d < '0' || d > '9') break;
        if (frac && ++scale > LP_TAGS_MAX_SCALE)
          return fail(p, LP_ERANGE, t->pos, "more than 18 digits after the point");
        if (lp_i64_mul_overflow(v, 10, &v) || lp_i64_add_overflow(v, neg ? -(d - '0') : d - '0', &v))
          return fail(p, LP_ERANGE, t->pos, "number out of the int64 range");
      }
      if (i < n && is_start((unsigned char)s[i]))
        return fail(p, LP_EINVAL, i, "letter right after a number");
      if (v == TAGS_MISSING) return fail(p, LP_ERANGE, t->pos, "number out of range");
      t->num = v;
      t->scale = scale;
    } else if (is_start(c)) {
      t->kind = T_NAME;
      t->npos = (uint32_t)i;
      while (i < n && is_cont((unsigned char)s[i])) i++;
      t->nlen = (uint32_t)(i - t->npos);
      for (size_t k = 0; k < LP_ARRAY_LEN(keywords); k++)
        if (strlen(keywords[k].w) == t->nlen && memcmp(keywords[k].w, s + t->npos, t->nlen) == 0)
          t->kind = keywords[k].kind;
    } else {
      return fail(p, LP_EINVAL, i, "unexpected character");
    }
    t->len = (uint32_t)(i - t->pos);
  }
}

static tok *peek(parser *p) { return &p->toks[p->at]; }
static tok *take(parser *p) {
  tok *t = &p->toks[p->at];
  if (t->kind != T_END) p->at++;
  return t;
}

static uint32_t add_node(parser *p, uint8_t op, uint8_t type, uint32_t pos, uint32_t end) {
  if (p->rc != LP_OK) return 0;
  if (p->n >= LP_TAGS_MAX_RULE_NODES) {
    fail(p, LP_ELIMIT, pos, "expression has too many nodes");
    return 0;
  }
  tags_node *nd = &p->nodes[p->n];
  memset(nd, 0, sizeof *nd);
  nd->op = op;
  nd->type = type;
  nd->pos = pos;
  nd->end = end;
  return p->n++;
}

static bool is_value(const tags_node *n) {
  return n->op == OP_ATTR || n->op == OP_TAGVAL || n->op == OP_NUM || n->op == OP_STR ||
         n->op == OP_ASOF;
}
static bool is_column(const tags_node *n) { return n->op == OP_ATTR || n->op == OP_TAGVAL; }
static bool is_literal(const tags_node *n) { return n->op == OP_NUM || n->op == OP_STR; }

static uint8_t type_of(uint32_t vtype) {
  switch (vtype) {
    case LP_TAGS_STRING: return TY_STR;
    case LP_TAGS_TIME: return TY_TIME;
    case LP_TAGS_FLAG: return TY_BOOL;
    default: return TY_NUM;
  }
}

/* A bare tag name used as a value. */
static bool to_value(parser *p, uint32_t id) {
  tags_node *nd = &p->nodes[id];
  if (nd->op != OP_TAG) return is_value(nd);
  const tags_tag *t = tags_tag_at(p->h, nd->a);
  if (t->type == LP_TAGS_FLAG) return false;
  nd->op = OP_TAGVAL;
  nd->type = type_of(t->type);
  nd->scale = t->scale;
  return true;
}

static uint32_t parse_or(parser *p);

static uint32_t parse_operand(parser *p) {
  tok *t = take(p);
  uint32_t id;
  switch (t->kind) {
    case T_NAME: {
      uint32_t ref;
      const char *nm = p->src + t->npos;
      if (tags_lookup_tag(p->h, nm, t->nlen, &ref)) {
        const tags_tag *tg = tags_tag_at(p->h, ref);
        if (tg->retired) {
          fail(p, LP_ENOTFOUND, t->pos, "tag is retired");
          return 0;
        }
        id = add_node(p, OP_TAG, TY_BOOL, t->pos, t->pos + t->len);
        p->nodes[id].a = ref;
        return id;
      }
      if (tags_lookup_attr(p->h, nm, t->nlen, &ref)) {
        const tags_attr *a = tags_attr_at(p->h, ref);
        id = add_node(p, OP_ATTR, type_of(a->type), t->pos, t->pos + t->len);
        p->nodes[id].a = ref;
        p->nodes[id].scale = a->scale;
        return id;
      }
      char msg[200];
      snprintf(msg, sizeof msg, "unknown tag or attribute \"%.*s\"", (int)(t->nlen > 128 ? 128 : t->nlen), nm);
      fail(p, LP_ENOTFOUND, t->pos, msg);
      return 0;
    }
    case T_NUM:
      id = add_node(p, OP_NUM, TY_NUM, t->pos, t->pos + t->len);
      p->nodes[id].k = t->num;
      p->nodes[id].scale = t->scale;
      return id;
    case T_STR:
      id = add_node(p, OP_STR, TY_STR, t->pos, t->pos + t->len);
      p->nodes[id].k = t->npos;
      p->nodes[id].len = t->nlen;
      return id;
    case T_TRUE:
    case T_FALSE:
      return add_node(p, t->kind == T_TRUE ? OP_TRUE : OP_FALSE, TY_BOOL, t->pos, t->pos + t->len);
    case T_ASOF:
      return add_node(p, OP_ASOF, TY_TIME, t->pos, t->pos + t->len);
    case T_LP: {
      if (++p->depth > LP_TAGS_MAX_RULE_DEPTH) {
        fail(p, LP_ELIMIT, t->pos, "nested too deeply");
        return 0;
      }
      uint32_t e = parse_or(p);
      p->depth--;
      if (p->rc != LP_OK) return 0;
      tok *r = take(p);
      if (r->kind != T_RP) {
        fail(p, LP_EINVAL, r->pos, "expected ')'");
        return 0;
      }
      /* keep the span of the parentheses for explain */
      p->nodes[e].pos = t->pos;
      p->nodes[e].end = r->pos + 1;
      return e;
    }
    case T_END: fail(p, LP_EINVAL, t->pos, "unexpected end of expression"); return 0;
    default: fail(p, LP_EINVAL, t->pos, "expected a name, a literal or '('"); return 0;
  }
}

uint8_t tags_cmp_flip(uint8_t op) {
  switch (op) {
    case CMP_LT: return CMP_GT;
    case CMP_LE: return CMP_GE;
    case CMP_GT: return CMP_LT;
    case CMP_GE: return CMP_LE;
    default: return op;
  }
}

bool tags_cmp_holds(int c, uint8_t op) {
  switch (op) {
    case CMP_EQ: return c == 0;
    case CMP_NE: return c != 0;
    case CMP_LT: return c < 0;
    case CMP_LE: return c <= 0;
    case CMP_GT: return c > 0;
    default: return c >= 0;
  }
}

/* May values of types a and b be compared (with op)? */
static bool comparable(const tags_node *a, const tags_node *b, uint8_t op) {
  if (a->type == TY_BOOL || b->type == TY_BOOL) return false;
  if (a->type == b->type) {
    if (a->type != TY_STR) return true;
    return (op == CMP_EQ || op == CMP_NE) && (is_literal(a) || is_literal(b));
  }
  /* a time against a whole number of seconds */
  const tags_node *num = a->type == TY_NUM ? a : b, *other = a->type == TY_NUM ? b : a;
  return other->type == TY_TIME && num->op == OP_NUM && num->scale == 0;
}

static uint32_t parse_cmp(parser *p) {
  uint32_t left = parse_operand(p);
  if (p->rc != LP_OK) return 0;
  tok *t = peek(p);
  bool neg_in = t->kind == T_NOT && p->toks[p->at + 1].kind == T_IN;
  if (t->kind == T_CMP) {
    take(p);
    uint32_t right = parse_operand(p);
    if (p->rc != LP_OK) return 0;
    if (!to_value(p, left) || !to_value(p, right)) {
      fail(p, LP_EINVAL, t->pos, "comparison of a condition (flag tags and conditions are used alone)");
      return 0;
    }
    tags_node *a = &p->nodes[left], *b = &p->nodes[right];
    if (!comparable(a, b, t->cmp)) {
      fail(p, LP_EINVAL, t->pos,
           a->type == TY_STR && b->type == TY_STR
               ? "strings compare with == or != against a literal only"
               : "operands of different types (numbers, strings, times)");
      return 0;
    }
    uint8_t op = t->cmp;
    if (is_literal(a) && !is_literal(b)) {
      uint32_t x = left;
      left = right;
      right = x;
      op = tags_cmp_flip(op);
    }
    a = &p->nodes[left];
    b = &p->nodes[right];
    uint32_t pos = a->pos < b->pos ? a->pos : b->pos, end = a->end > b->end ? a->end : b->end;
    if (is_literal(a) && is_literal(b)) { /* fold */
      int c;
      if (a->type == TY_STR) {
        c = tags_bytes_cmp(p->strs + a->k, a->len, p->strs + b->k, b->len);
      } else {
        c = tags_cmp_scaled(a->k, a->scale, b->k, b->scale);
      }
      return add_node(p, tags_cmp_holds(c, op) ? OP_TRUE : OP_FALSE, TY_BOOL, pos, end);
    }
    uint32_t id = add_node(p, OP_CMP, TY_BOOL, pos, end);
    if (p->rc == LP_OK) {
      p->nodes[id].a = left;
      p->nodes[id].b = right;
      p->nodes[id].cmp = op;
    }
    return id;
  }
  if (t->kind == T_IN || neg_in) {
    take(p);
    if (neg_in) take(p);
    if (!to_value(p, left) || !is_column(&p->nodes[left])) {
      fail(p, LP_EINVAL, t->pos, "left of 'in' must be an attribute or a valued tag");
      return 0;
    }
    tok *lp = take(p);
    if (lp->kind != T_LP) {
      fail(p, LP_EINVAL, lp->pos, "expected '(' after 'in'");
      return 0;
    }
    uint32_t first = p->nlist, count = 0;
    uint8_t ty = p->nodes[left].type;
    for (;;) {
      tok *v = take(p);
      bool ok = (v->kind == T_STR && ty == TY_STR) || (v->kind == T_NUM && ty == TY_NUM) ||
                (v->kind == T_NUM && ty == TY_TIME && v->scale == 0);
      if (!ok) {
        fail(p, LP_EINVAL, v->pos, "'in' list: expected a literal of the left side's type");
        return 0;
      }
      if (count >= LP_TAGS_MAX_IN_LIST) {
        fail(p, LP_ELIMIT, v->pos, "'in' list too long");
        return 0;
      }
      tags_lit *l = &p->list[p->nlist++];
      l->num = v->kind == T_STR ? v->npos : v->num;
      l->len = v->kind == T_STR ? v->nlen : 0;
      l->scale = v->scale;
      count++;
      tok *sep = take(p);
      if (sep->kind == T_RP) {
        uint32_t id = add_node(p, OP_IN, TY_BOOL, p->nodes[left].pos, sep->pos + 1);
        if (p->rc == LP_OK) {
          p->nodes[id].a = left;
          p->nodes[id].b = count;
          p->nodes[id].k = first;
          p->nodes[id].cmp = neg_in ? 1 : 0;
        }
        return id;
      }
      if (sep->kind != T_COMMA) {
        fail(p, LP_EINVAL, sep->pos, "expected ',' or ')' in 'in' list");
        return 0;
      }
    }
  }
  if (p->nodes[left].type != TY_BOOL) {
    fail(p, LP_EINVAL, p->nodes[left].pos, "a value used as a condition (compare it)");
    return 0;
  }
  return left;
}

static uint32_t parse_not(parser *p) {
  tok *t = peek(p);
  if (t->kind != T_NOT) return parse_cmp(p);
  take(p);
  if (++p->depth > LP_TAGS_MAX_RULE_DEPTH) {
    fail(p, LP_ELIMIT, t->pos, "nested too deeply");
    return 0;
  }
  uint32_t c = parse_not(p);
  p->depth--;
  if (p->rc != LP_OK) return 0;
  uint32_t id = add_node(p, OP_NOT, TY_BOOL, t->pos, p->nodes[c].end);
  if (p->rc == LP_OK) p->nodes[id].a = c;
  return id;
}

static uint32_t parse_bin(parser *p, int level) {
  uint32_t left = level == 0 ? parse_bin(p, 1) : parse_not(p);
  uint8_t want = level == 0 ? T_OR : T_AND;
  uint32_t chain = 0;
  while (p->rc == LP_OK && peek(p)->kind == want) {
    tok *t = take(p);
    if (++chain > LP_TAGS_MAX_RULE_NODES) {
      fail(p, LP_ELIMIT, t->pos, "expression too long");
      return 0;
    }
    uint32_t right = level == 0 ? parse_bin(p, 1) : parse_not(p);
    if (p->rc != LP_OK) return 0;
    uint32_t id = add_node(p, level == 0 ? OP_OR : OP_AND, TY_BOOL, p->nodes[left].pos,
                           p->nodes[right].end);
    if (p->rc != LP_OK) return 0;
    p->nodes[id].a = left;
    p->nodes[id].b = right;
    left = id;
  }
  return left;
}

static uint32_t parse_or(parser *p) { return parse_bin(p, 0); }

static uint32_t tree_depth(const tags_node *nodes, uint32_t n) {
  const tags_node *nd = &nodes[n];
  switch (nd->op) {
    case OP_AND:
    case OP_OR: {
      uint32_t a = tree_depth(nodes, nd->a), b = tree_depth(nodes, nd->b);
      return 1 + (a > b ? a : b);
    }
    case OP_NOT: return 1 + tree_depth(nodes, nd->a);
    default: return 1;
  }
}

void tags_prog_free(const lp_mem *m, tags_prog *p) {
  if (p != NULL) lp_mem_free(m, p, p->bytes);
}

int tags_compile(const lp_tags *h, lp_error *e, const char *text, size_t len, uint32_t want,
                 uint32_t want_scale, tags_prog **out) {
  *out = NULL;
  if (text == NULL) return lp_error_set(e, LP_EINVAL, "rule: NULL");
  if (len > LP_TAGS_MAX_RULE_TEXT)
    return lp_error_set(e, LP_ELIMIT, "rule: %zu bytes, longer than %u", len, LP_TAGS_MAX_RULE_TEXT);
  size_t bad;
  int u = lp_utf8_check(text, len, &bad);
  if (u != LP_UTF8_OK) return lp_error_set(e, LP_EINVAL, "rule: %s at byte %zu", lp_utf8_reason(u), bad);
  const lp_mem *m = &h->mem;
  parser p;
  memset(&p, 0, sizeof p);
  p.h = h;
  p.e = e;
  p.src = text;
  p.srclen = len;
  p.cap_tok = len + 2 < LP_TAGS_MAX_RULE_TOKENS + 1 ? len + 2 : LP_TAGS_MAX_RULE_TOKENS + 1;
  size_t nlist_cap = p.cap_tok;
  size_t scratch = p.cap_tok * sizeof(tok) + LP_TAGS_MAX_RULE_NODES * sizeof(tags_node) +
                   nlist_cap * sizeof(tags_lit) + len + 1;
  unsigned char *buf = lp_mem_alloc(m, scratch);
  if (buf == NULL) return lp_error_set(e, LP_ENOMEM, "cannot compile: out of memory");
  p.toks = (tok *)buf;
  p.nodes = (tags_node *)(buf + p.cap_tok * sizeof(tok));
  p.list = (tags_lit *)((unsigned char *)p.nodes + LP_TAGS_MAX_RULE_NODES * sizeof(tags_node));
  p.strs = (char *)((unsigned char *)p.list + nlist_cap * sizeof(tags_lit));
  p.rc = LP_OK;
  uint32_t root = 0;
  if (lex(&p) == LP_OK) {
    /* a value rule is one operand (no arithmetic in the language) */
    root = want == TY_BOOL ? parse_or(&p) : parse_operand(&p);
    if (p.rc == LP_OK && peek(&p)->kind != T_END) fail(&p, LP_EINVAL, peek(&p)->pos, "unexpected text after the expression");
  }
  if (p.rc == LP_OK) {
    tags_node *r = &p.nodes[root];
    if (want == TY_BOOL) {
      if (r->type != TY_BOOL) fail(&p, LP_EINVAL, r->pos, "the expression must be a condition");
    } else if (!to_value(&p, root)) {
      fail(&p, LP_EINVAL, r->pos, "the expression must be a value, not a condition");
    } else if (!(r->type == want || (want == TY_TIME && r->op == OP_NUM && r->scale == 0)) ||
               (want == TY_NUM && r->scale > want_scale)) {
      fail(&p, LP_EINVAL, r->pos, "the value's type (or decimal scale) does not fit the tag");
    }
  }
  int rc = p.rc;
  if (rc == LP_OK) {
    size_t head = (sizeof(tags_prog) + 7) & ~(size_t)7;
    size_t bytes = head + p.n * sizeof(tags_node) + p.nlist * sizeof(tags_lit) + p.nstrs + 1;
    tags_prog *pr = lp_mem_alloc(m, bytes);
    if (pr == NULL) {
      rc = lp_error_set(e, LP_ENOMEM, "cannot compile: out of memory");
    } else {
      pr->bytes = bytes;
      pr->nodes = (tags_node *)((unsigned char *)pr + head);
      pr->list = (tags_lit *)(pr->nodes + p.n);
      pr->strs = (char *)(pr->list + p.nlist);
      memcpy(pr->nodes, p.nodes, p.n * sizeof(tags_node));
      if (p.nlist) memcpy(pr->list, p.list, p.nlist * sizeof(tags_lit));
      if (p.nstrs) memcpy(pr->strs, p.strs, p.nstrs);
      pr->strs[p.nstrs] = '\0';
      pr->n = p.n;
      pr->nlist = p.nlist;
      pr->nstrs = p.nstrs;
      pr->root = root;
      pr->depth = tree_depth(pr->nodes, root);
      *out = pr;
    }
  }
  lp_mem_free(m, buf, scratch);
  return rc;
}

bool tags_prog_uses(const tags_prog *p, uint32_t tag) {
  for (uint32_t i = 0; i < p->n; i++)
    if ((p->nodes[i].op == OP_TAG || p->nodes[i].op == OP_TAGVAL) && p->nodes[i].a == tag) return true;
  return false;
}

/* ---- canonical printer ---- */

typedef struct wbuf {
  char *p;
  size_t cap, len;
} wbuf;

static void put(wbuf *w, const char *s, size_t n) {
  for (size_t i = 0; i < n; i++, w->len++)
    if (w->len + 1 < w->cap) w->p[w->len] = s[i];
  if (w->cap > 0) w->p[w->len + 1 < w->cap ? w->len : w->cap - 1] = '\0';
}
static void puts_(wbuf *w, const char *s) { put(w, s, strlen(s)); }

static void put_name(wbuf *w, const tags_str *name) {
  bool plain = name->len > 0 && is_start((unsigned char)name->p[0]);
  for (size_t i = 0; plain && i < name->len; i++) plain = is_cont((unsigned char)name->p[i]);
  for (size_t k = 0; plain && k < LP_ARRAY_LEN(keywords); k++)
    if (tags_str_eq(name, keywords[k].w, strlen(keywords[k].w))) plain = false;
  if (!plain) put(w, "`", 1);
  put(w, name->p, name->len);
  if (!plain) put(w, "`", 1);
}

static void put_num(wbuf *w, int64_t v, uint32_t scale) {
  char digits[32];
  uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
  int n = 0;
  do {
    digits[n++] = (char)('0' + mag % 10);
    mag /= 10;
  } while (mag > 0 || n <= (int)scale);
  if (v < 0) put(w, "-", 1);
  for (int i = n - 1; i >= 0; i--) {
    put(w, &digits[i], 1);
    if (i == (int)scale && scale > 0) put(w, ".", 1);
  }
}

static void put_str(wbuf *w, const char *s, size_t len) {
  put(w, "\"", 1);
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (c == '"' || c == '\\') {
      put(w, "\\", 1);
      put(w, &c, 1);
    } else if (c == '\n') {
      put(w, "\\n", 2);
    } else if (c == '\t') {
      put(w, "\\t", 2);
    } else {
      put(w, &c, 1);
    }
  }
  put(w, "\"", 1);
}

static int prec(const tags_node *n) {
  return n->op == OP_OR ? 1 : n->op == OP_AND ? 2 : n->op == OP_NOT ? 3 : 4;
}

static const char *const cmp_text[] = {"==", "!=", "<", "<=", ">", ">="};

static void print_node(const lp_tags *h, const tags_prog *p, uint32_t i, int parent, wbuf *w) {
  const tags_node *n = &p->nodes[i];
  bool paren = prec(n) < parent;
  if (paren) put(w, "(", 1);
  switch (n->op) {
    case OP_TRUE: puts_(w, "true"); break;
    case OP_FALSE: puts_(w, "false"); break;
    case OP_ASOF: puts_(w, "as_of"); break;
    case OP_TAG:
    case OP_TAGVAL: put_name(w, &tags_tag_at(h, n->a)->name); break;
    case OP_ATTR: put_name(w, &tags_attr_at(h, n->a)->name); break;
    case OP_NUM: put_num(w, n->k, n->scale); break;
    case OP_STR: put_str(w, p->strs + n->k, n->len); break;
    case OP_CMP:
      print_node(h, p, n->a, 4, w);
      put(w, " ", 1);
      puts_(w, cmp_text[n->cmp]);
      put(w, " ", 1);
      print_node(h, p, n->b, 4, w);
      break;
    case OP_IN:
      print_node(h, p, n->a, 4, w);
      puts_(w, n->cmp ? " not in (" : " in (");
      for (uint32_t j = 0; j < n->b; j++) {
        const tags_lit *l = &p->list[n->k + j];
        if (j > 0) puts_(w, ", ");
        if (p->nodes[n->a].type == TY_STR) put_str(w, p->strs + l->num, l->len);
        else put_num(w, l->num, l->scale);
      }
      put(w, ")", 1);
      break;
    case OP_NOT:
      puts_(w, "not ");
      print_node(h, p, n->a, 3, w);
      break;
    default: /* AND, OR */
      print_node(h, p, n->a, prec(n), w);
      puts_(w, n->op == OP_AND ? " and " : " or ");
      print_node(h, p, n->b, prec(n) + 1, w);
      break;
  }
  if (paren) put(w, ")", 1);
}

size_t tags_node_text(const lp_tags *h, const tags_prog *p, uint32_t n, char *buf, size_t cap) {
  wbuf w = {buf, cap, 0};
  if (cap > 0) buf[0] = '\0';
  print_node(h, p, n, 0, &w);
  return w.len + 1;
}

int tags_prog_text(const lp_tags *h, const tags_prog *p, tags_str *out) {
  size_t need = tags_node_text(h, p, p->root, NULL, 0);
  char *s = lp_mem_alloc(&h->mem, need);
  if (s == NULL) return LP_ENOMEM;
  tags_node_text(h, p, p->root, s, need);
  tags_str_free(&h->mem, out);
  out->p = s;
  out->len = need - 1;
  return LP_OK;
}
