/* expr.c - the tcpdump-style capture expression: lexer, parser, canonical form */

/*
 * The grammar is pcap-filter(7)'s, trimmed to what xokdump can compile.  'not' binds
 * tightest; 'and' and 'or' have EQUAL precedence and associate left to right, exactly as in
 * tcpdump, so "tcp or udp and port 53" means "(tcp or udp) and port 53".
 *
 *   expr  := unary { ("and" | "&&" | "or" | "||") unary }
 *   unary := ("not" | "!") unary | "(" expr ")" | prim
 *   prim  := "ip" | "arp" | "tcp" | "udp" | "icmp" | "ip" "proto" NUM
 *          | ["ip" | "arp"] [dir] ("host" ADDR | "net" NET | ADDR)
 *          | ["tcp" | "udp"] [dir] "port" PORT
 *   dir   := "src" | "dst" | "src or dst" | "src and dst"
 *   NET   := ADDR "/" LEN | 1 to 4 dotted octets (the prefix is 8 bits per octet given)
 *   PORT  := a number or a service name from /etc/services
 *
 * A bare ADDR after a direction ("src 198.18.0.2") or alone is a host, as in tcpdump.
 * Addresses are numeric: xokdump does no name lookups.
 *
 * What each primitive matches is defined by the evaluator in match.c.
 */

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xok/proto/eth.h>
#include <xok/proto/ip.h>
#include "xokdump.h"

enum tok_type {
	T_END = 0,
	T_WORD,
	T_LPAREN,
	T_RPAREN,
	T_NOT,
	T_AND,
	T_OR,
};

struct tok {
	uint8_t type;	/* enum tok_type */
	unsigned pos;	/* offset in the text */
	unsigned len;
};

#define XD_EXPR_MAX_TOKENS (2 * XD_EXPR_MAX_NODES)

struct parser {
	const char *text;
	struct tok tok[XD_EXPR_MAX_TOKENS + 1]; /* + T_END */
	unsigned ntok;
	unsigned i;	/* next token */
	unsigned depth;
	struct expr *e;
	struct expr_error *err;
};

/* ---- errors ---- */

static int perr(struct parser *p, const struct tok *t, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int perr(struct parser *p, const struct tok *t, const char *fmt, ...)
{
	va_list ap;

	p->err->pos = t->type == T_END ? 0 : t->pos + 1;
	va_start(ap, fmt);
	vsnprintf(p->err->msg, sizeof(p->err->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* ---- lexer ---- */

static bool is_word_char(char c)
{
	return c != '\0' && !strchr(" \t\n()!&|", c);
}

static enum tok_type word_type(const char *s, unsigned len)
{
	if (len == 3 && !memcmp(s, "and", 3))
		return T_AND;
	if (len == 2 && !memcmp(s, "or", 2))
		return T_OR;
	if (len == 3 && !memcmp(s, "not", 3))
		return T_NOT;
	return T_WORD;
}

/* Returns the length of the operator at s (0 if none) and its type. */
static unsigned op_at(const char *s, enum tok_type *type)
{
	if (s[0] == '(' || s[0] == ')') {
		*type = s[0] == '(' ? T_LPAREN : T_RPAREN;
		return 1;
	}
	if (s[0] == '&' && s[1] == '&') {
		*type = T_AND;
		return 2;
	}
	if (s[0] == '|' && s[1] == '|') {
		*type = T_OR;
		return 2;
	}
	if (s[0] == '!') {
		*type = T_NOT;
		return 1;
	}
	return 0;
}

static int lex(struct parser *p)
{
	const char *s = p->text;
	unsigned i = 0;

	for (;;) {
		struct tok *t = &p->tok[p->ntok];
		enum tok_type type = T_WORD;
		unsigned n;

		while (s[i] == ' ' || s[i] == '\t' || s[i] == '\n')
			i++;
		t->type = T_WORD;
		t->pos = i;
		if (s[i] == '\0') {
			t->type = T_END;
			t->len = 0;
			return 0;
		}
		if (p->ntok == XD_EXPR_MAX_TOKENS)
			return perr(p, t, "expression too long (more than %d words)",
				    XD_EXPR_MAX_TOKENS);
		n = op_at(s + i, &type);
		if (n == 0) {
			while (is_word_char(s[i + n]))
				n++;
			if (n == 0)
				return perr(p, t, "unexpected '%c' (use 'and'/'&&' or 'or'/'||')",
					    s[i]);
			type = word_type(s + i, n);
		}
		t->type = type;
		t->len = n;
		i += n;
		p->ntok++;
	}
}

/* ---- parser helpers ---- */

static const struct tok *cur(const struct parser *p)
{
	return &p->tok[p->i];
}

static const struct tok *ahead(const struct parser *p, unsigned k)
{
	return &p->tok[p->i + k <= p->ntok ? p->i + k : p->ntok];
}

static const struct tok *next(struct parser *p)
{
	const struct tok *t = cur(p);

	if (p->i < p->ntok)
		p->i++;
	return t;
}

static bool tok_is(const struct parser *p, const struct tok *t, const char *word)
{
	return t->type == T_WORD && strlen(word) == t->len &&
	       !memcmp(p->text + t->pos, word, t->len);
}

/* A token's text, for messages: "%.*s", TOKTXT(p, t). */
#define TOKTXT(p, t) (int)(t)->len, (p)->text + (t)->pos

static const char *tok_name(const struct parser *p, const struct tok *t, char *buf,
			    size_t size)
{
	if (t->type == T_END)
		return "the end";
	snprintf(buf, size, "'%.*s'", TOKTXT(p, t));
	return buf;
}

static int new_node(struct parser *p, const struct tok *at, enum expr_kind kind,
		    unsigned *out)
{
	struct expr *e = p->e;

	if (e->nnodes == XD_EXPR_MAX_NODES)
		return perr(p, at, "expression too long (more than %d terms)",
			    XD_EXPR_MAX_NODES);
	memset(&e->nodes[e->nnodes], 0, sizeof(e->nodes[0]));
	e->nodes[e->nnodes].kind = kind;
	*out = e->nnodes++;
	return 0;
}

/* ---- numbers and addresses ---- */

static int parse_uint(const struct parser *p, const struct tok *t, unsigned long max,
		      unsigned long *out)
{
	char buf[32], *end;
	unsigned long v;

	if (t->type != T_WORD || t->len == 0 || t->len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, p->text + t->pos, t->len);
	buf[t->len] = '\0';
	if (buf[0] < '0' || buf[0] > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(buf, &end, buf[0] == '0' && (buf[1] == 'x' || buf[1] == 'X') ? 16 : 10);
	if (errno || *end || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

/* Parses 1 to 4 dotted decimal octets; returns how many were given or -EINVAL. */
static int parse_octets(const char *s, size_t len, uint32_t *addr)
{
	uint32_t a = 0;
	int n = 0;
	size_t i = 0;

	while (i < len) {
		unsigned v = 0, digits = 0;

		while (i < len && s[i] >= '0' && s[i] <= '9' && digits < 4) {
			v = v * 10 + (unsigned)(s[i++] - '0');
			digits++;
		}
		if (digits == 0 || digits > 3 || v > 255 || n == 4)
			return -EINVAL;
		a = a << 8 | v;
		n++;
		if (i < len && (s[i] != '.' || i + 1 == len))
			return -EINVAL;
		i += i < len;
	}
	if (n == 0)
		return -EINVAL;
	*addr = a << (8 * (4 - n));
	return n;
}

static int expect_word(struct parser *p, const struct tok *t, const char *what)
{
	char buf[80];

	if (t->type == T_WORD)
		return 0;
	return perr(p, t, "expected %s, got %s", what, tok_name(p, t, buf, sizeof(buf)));
}

static int parse_host(struct parser *p, const struct tok *t, struct expr_prim *pr)
{
	if (expect_word(p, t, "an IPv4 address after 'host'"))
		return -EINVAL;
	if (parse_octets(p->text + t->pos, t->len, &pr->addr) != 4)
		return perr(p, t, "'%.*s' is not an IPv4 address (xokdump does not look up "
			    "names)", TOKTXT(p, t));
	pr->plen = 32;
	return 0;
}

static int parse_net(struct parser *p, const struct tok *t, struct expr_prim *pr)
{
	const char *s = p->text + t->pos;
	const char *slash = memchr(s, '/', t->len);
	size_t alen = slash ? (size_t)(slash - s) : t->len;
	int n = parse_octets(s, alen, &pr->addr);
	unsigned long plen = 8ul * (unsigned)(n > 0 ? n : 0);

	if (expect_word(p, t, "an IPv4 network after 'net'"))
		return -EINVAL;
	if (n < 0)
		return perr(p, t, "'%.*s' is not an IPv4 network (A.B.C.D/LEN)",
			    TOKTXT(p, t));
	if (slash) {
		struct tok lt = { T_WORD, (unsigned)(slash + 1 - p->text),
				  (unsigned)(t->len - alen - 1) };

		if (n != 4 || parse_uint(p, &lt, 32, &plen))
			return perr(p, t, "'%.*s': expected A.B.C.D/LEN with LEN 0 to 32",
				    TOKTXT(p, t));
	}
	if (pr->addr & ~xd_prefix_mask((unsigned)plen))
		return perr(p, t, "'%.*s': address has bits set beyond the /%lu prefix",
			    TOKTXT(p, t), plen);
	pr->plen = (uint8_t)plen;
	return 0;
}

static int parse_port(struct parser *p, const struct tok *t, struct expr_prim *pr)
{
	const char *proto = pr->on == PRIM_ON_TCP ? "tcp" : pr->on == PRIM_ON_UDP ? "udp" : NULL;
	unsigned long v;
	char name[64];
	struct servent *se;
	int rc = parse_uint(p, t, 65535, &v);

	if (rc == 0) {
		pr->port = (uint16_t)v;
		return 0;
	}
	if (rc == -ERANGE)
		return perr(p, t, "port '%.*s' out of range (0 to 65535)", TOKTXT(p, t));
	if (t->type != T_WORD || t->len >= sizeof(name))
		return perr(p, t, "expected a port after 'port', got %s",
			    tok_name(p, t, name, sizeof(name)));
	memcpy(name, p->text + t->pos, t->len);
	name[t->len] = '\0';
	se = getservbyname(name, proto);
	if (!se)
		return perr(p, t, "unknown port '%s'", name);
	pr->port = ntohs((uint16_t)se->s_port);
	return 0;
}

/* ---- primitives ---- */

struct qual {
	const char *word;
	uint8_t on;	    /* PRIM_ON_* it narrows host/port to; 0 = cannot qualify */
	uint8_t kind;	    /* the primitive it is alone */
	uint16_t ethertype;
	uint8_t proto;
};

static const struct qual quals[] = {
	{ "ip", PRIM_ON_IP, PRIM_ETHER, ETH_TYPE_IPV4, 0 },
	{ "arp", PRIM_ON_ARP, PRIM_ETHER, ETH_TYPE_ARP, 0 },
	{ "tcp", PRIM_ON_TCP, PRIM_IPPROTO, 0, IP_PROTO_TCP },
	{ "udp", PRIM_ON_UDP, PRIM_IPPROTO, 0, IP_PROTO_UDP },
	{ "icmp", 0, PRIM_IPPROTO, 0, IP_PROTO_ICMP },
};

static const struct qual *qual_lookup(const struct parser *p, const struct tok *t)
{
	for (size_t i = 0; i < sizeof(quals) / sizeof(quals[0]); i++)
		if (tok_is(p, t, quals[i].word))
			return &quals[i];
	return NULL;
}

/* "src", "dst", "src or dst", "src and dst" (either order); returns whether one was there. */
static bool parse_dir(struct parser *p, uint8_t *dir)
{
	bool src = tok_is(p, cur(p), "src");
	const struct tok *op = ahead(p, 1);
	const struct tok *other = ahead(p, 2);

	if (!src && !tok_is(p, cur(p), "dst"))
		return false;
	next(p);
	*dir = src ? DIR_SRC : DIR_DST;
	if ((op->type == T_OR || op->type == T_AND) && tok_is(p, other, src ? "dst" : "src")) {
		*dir = op->type == T_OR ? DIR_ANY : DIR_BOTH;
		next(p);
		next(p);
	}
	return true;
}

static bool looks_numeric(const struct parser *p, const struct tok *t)
{
	return t->type == T_WORD && p->text[t->pos] >= '0' && p->text[t->pos] <= '9';
}

/* The part after the qualifiers: "host A", "net N", "port P" or a bare address. */
static int parse_id(struct parser *p, const struct qual *q, bool dir, const struct tok *start,
		    struct expr_prim *pr)
{
	const struct tok *t = cur(p);
	char buf[80];

	if (tok_is(p, t, "host") || tok_is(p, t, "net")) {
		if (q && q->on != PRIM_ON_IP && q->on != PRIM_ON_ARP)
			return perr(p, start, "'%s' cannot qualify '%.*s' (write '%s and %.*s "
				    "...')", q->word, TOKTXT(p, t), q->word, TOKTXT(p, t));
		pr->kind = PRIM_HOST;
		pr->on = q ? q->on : PRIM_ON_IP | PRIM_ON_ARP;
		next(p);
		if (tok_is(p, t, "host"))
			return parse_host(p, next(p), pr);
		return parse_net(p, next(p), pr);
	}
	if (tok_is(p, t, "port")) {
		if (q && q->on != PRIM_ON_TCP && q->on != PRIM_ON_UDP)
			return perr(p, start, "'%s' cannot qualify 'port' (only tcp or udp can)",
				    q->word);
		pr->kind = PRIM_PORT;
		pr->on = q ? q->on : PRIM_ON_TCP | PRIM_ON_UDP;
		next(p);
		return parse_port(p, next(p), pr);
	}
	if (looks_numeric(p, t) && (!q || q->on == PRIM_ON_IP || q->on == PRIM_ON_ARP)) {
		pr->kind = PRIM_HOST;
		pr->on = q ? q->on : PRIM_ON_IP | PRIM_ON_ARP;
		return parse_host(p, next(p), pr);
	}
	if (dir)
		return perr(p, t, "expected 'host', 'net', 'port' or an address after the "
			    "direction, got %s", tok_name(p, t, buf, sizeof(buf)));
	return perr(p, t, "expected a primitive (ip, arp, tcp, udp, icmp, host, net, port), "
		    "got %s", tok_name(p, t, buf, sizeof(buf)));
}

static int parse_prim(struct parser *p, unsigned *out)
{
	const struct tok *start = cur(p);
	const struct qual *q = qual_lookup(p, start);
	struct expr_prim pr = { 0 };
	bool dir;
	int rc;

	if (q)
		next(p);
	if (q && q->kind == PRIM_ETHER && q->ethertype == ETH_TYPE_IPV4 &&
	    tok_is(p, cur(p), "proto")) {
		unsigned long v;

		next(p);
		if (parse_uint(p, cur(p), 255, &v))
			return perr(p, cur(p), "expected a protocol number 0 to 255 after "
				    "'ip proto'");
		next(p);
		pr.kind = PRIM_IPPROTO;
		pr.proto = (uint8_t)v;
	} else {
		dir = parse_dir(p, &pr.dir);
		if (q && !dir && !tok_is(p, cur(p), "host") && !tok_is(p, cur(p), "net") &&
		    !tok_is(p, cur(p), "port") && !looks_numeric(p, cur(p))) {
			/* The protocol alone: "tcp". */
			pr.kind = q->kind;
			pr.ethertype = q->ethertype;
			pr.proto = q->proto;
		} else {
			rc = parse_id(p, q, dir, start, &pr);
			if (rc)
				return rc;
		}
	}
	rc = new_node(p, start, EXPR_PRIM, out);
	if (rc == 0)
		p->e->nodes[*out].prim = pr;
	return rc;
}

/* ---- expressions ---- */

static int parse_expr(struct parser *p, unsigned *out);

static int parse_unary(struct parser *p, unsigned *out)
{
	const struct tok *t = cur(p);
	char buf[80];
	unsigned child;
	int rc;

	if (t->type != T_NOT && t->type != T_LPAREN)
		return t->type == T_WORD ? parse_prim(p, out)
					 : perr(p, t, "expected a primitive, got %s",
						tok_name(p, t, buf, sizeof(buf)));
	if (++p->depth > XD_EXPR_MAX_DEPTH)
		return perr(p, t, "expression nested too deeply (more than %d levels)",
			    XD_EXPR_MAX_DEPTH);
	next(p);
	if (t->type == T_NOT) {
		rc = parse_unary(p, &child);
		if (rc == 0)
			rc = new_node(p, t, EXPR_NOT, out);
		if (rc == 0)
			p->e->nodes[*out].left = (uint16_t)child;
	} else {
		rc = parse_expr(p, out);
		if (rc == 0 && cur(p)->type != T_RPAREN)
			rc = perr(p, cur(p), "missing ')' for the '(' at column %u, got %s",
				  t->pos + 1, tok_name(p, cur(p), buf, sizeof(buf)));
		if (rc == 0)
			next(p);
	}
	p->depth--;
	return rc;
}

static int parse_expr(struct parser *p, unsigned *out)
{
	unsigned left = 0, right = 0, node = 0;
	int rc = parse_unary(p, &left);

	while (rc == 0 && (cur(p)->type == T_AND || cur(p)->type == T_OR)) {
		const struct tok *op = next(p);

		rc = parse_unary(p, &right);
		if (rc == 0)
			rc = new_node(p, op, op->type == T_AND ? EXPR_AND : EXPR_OR, &node);
		if (rc == 0) {
			p->e->nodes[node].left = (uint16_t)left;
			p->e->nodes[node].right = (uint16_t)right;
			left = node;
		}
	}
	if (rc == 0)
		*out = left;
	return rc;
}

static int parse_all(struct parser *p)
{
	char buf[80];
	int rc = lex(p);

	if (rc || p->ntok == 0)
		return rc; /* empty: matches everything */
	rc = parse_expr(p, &p->e->root);
	if (rc == 0 && cur(p)->type != T_END)
		rc = perr(p, cur(p), "unexpected %s after a complete expression (missing 'and' "
			  "or 'or'?)", tok_name(p, cur(p), buf, sizeof(buf)));
	return rc;
}

int expr_parse(const char *text, struct expr **out, struct expr_error *err)
{
	struct parser *p;
	int rc;

	err->pos = 0;
	err->msg[0] = '\0';
	if (strlen(text) > XD_EXPR_MAX_LEN) {
		snprintf(err->msg, sizeof(err->msg), "expression longer than %d characters",
			 XD_EXPR_MAX_LEN);
		return -EINVAL;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->text = text;
	p->err = err;
	p->e = calloc(1, sizeof(*p->e));
	rc = p->e ? parse_all(p) : -ENOMEM;
	if (rc) {
		if (rc == -ENOMEM)
			snprintf(err->msg, sizeof(err->msg), "out of memory");
		free(p->e);
	} else {
		*out = p->e;
	}
	free(p);
	return rc;
}

void expr_free(struct expr *e)
{
	free(e);
}

char *expr_join(int argc, char *const argv[])
{
	size_t len = 0;
	char *s;

	for (int i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	if (len > XD_EXPR_MAX_LEN + 1)
		return NULL;
	s = calloc(1, len + 1);
	if (!s)
		return NULL;
	for (int i = 0; i < argc; i++) {
		if (i)
			strcat(s, " ");
		strcat(s, argv[i]);
	}
	return s;
}

/* ---- the canonical form ---- */

static const char *const dir_words[] = {
	[DIR_ANY] = "", [DIR_SRC] = "src ", [DIR_DST] = "dst ", [DIR_BOTH] = "src and dst ",
};

static void prim_format(const struct expr_prim *pr, struct sbuf *sb)
{
	uint32_t a = pr->addr;

	switch (pr->kind) {
	case PRIM_ETHER:
		sb_printf(sb, "%s", pr->ethertype == ETH_TYPE_ARP ? "arp" : "ip");
		break;
	case PRIM_IPPROTO:
		for (size_t i = 0; i < sizeof(quals) / sizeof(quals[0]); i++)
			if (quals[i].kind == PRIM_IPPROTO && quals[i].proto == pr->proto) {
				sb_printf(sb, "%s", quals[i].word);
				return;
			}
		sb_printf(sb, "ip proto %u", pr->proto);
		break;
	case PRIM_HOST:
		sb_printf(sb, "%s%s", pr->on == PRIM_ON_IP ? "ip " : pr->on == PRIM_ON_ARP ? "arp "
			  : "", dir_words[pr->dir & 3]);
		sb_printf(sb, "%s %u.%u.%u.%u", pr->plen == 32 ? "host" : "net", a >> 24,
			  (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
		if (pr->plen != 32)
			sb_printf(sb, "/%u", pr->plen);
		break;
	case PRIM_PORT:
		sb_printf(sb, "%s%sport %u", pr->on == PRIM_ON_TCP ? "tcp " : pr->on == PRIM_ON_UDP
			  ? "udp " : "", dir_words[pr->dir & 3], pr->port);
		break;
	}
}

static void node_format(const struct expr *e, unsigned i, struct sbuf *sb)
{
	const struct expr_node *n = &e->nodes[i];

	switch (n->kind) {
	case EXPR_AND:
	case EXPR_OR:
		sb_putc(sb, '(');
		node_format(e, n->left, sb);
		sb_printf(sb, " %s ", n->kind == EXPR_AND ? "and" : "or");
		node_format(e, n->right, sb);
		sb_putc(sb, ')');
		break;
	case EXPR_NOT:
		sb_printf(sb, "not ");
		node_format(e, n->left, sb);
		break;
	default:
		prim_format(&n->prim, sb);
	}
}

int expr_format(const struct expr *e, char *buf, size_t size)
{
	struct sbuf sb;

	if (size == 0)
		return -ENOSPC;
	sb_init(&sb, buf, size);
	if (e->nnodes == 0)
		sb_printf(&sb, "(everything)");
	else
		node_format(e, e->root, &sb);
	return sb.full ? -ENOSPC : 0;
}
