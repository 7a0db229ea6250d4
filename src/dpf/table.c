/* table.c - exact-match tables: sibling filters of one shape served by a BPF hash map
 *
 * A table belongs to a parent node and a shape: the residual tests (context, offset, width,
 * mask) that its member children have below that parent, in the order dpf_make_tests gives
 * them.  A member's key is the values of those tests with a nonzero mask, four bytes each;
 * its map value is its filter id.  Members are leaves: a filter with children needs the trie.
 *
 * Which programs see what: the generated program tries a level's trie first and its tables
 * after, so a node that is both in the trie and still in a map (it gained a child, or moved
 * under a new filter, since it was put there) is found by the trie.  Such stale entries are
 * removed at commit, once the programs that needed them are gone.  Entries are added before
 * the program that uses them is installed (by code generation, or straight away for a table
 * the installed program already consults), so no frame ever misses a filter on its way in.
 *
 * When: a group of leaf siblings gets a table at code generation when it has DPF_TABLE_MIN
 * members, or when DPF_TABLE_MIN leaves of its shape have been inserted under that parent
 * over time -- one client opening connection after connection never has many at once, but
 * each would otherwise cost a new program.  A filter inserted once (a listener) stays in
 * the trie, where a few compares beat a hash lookup.  A table lives while it has members.
 *
 * Shapes are computed against the set's own context table, whose indices stay valid for the
 * set's life; code generation maps them to the trie's contexts.
 */
#include <stdlib.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "dpf_internal.h"

struct shape {
	struct dpf_test t[DPF_TABLE_TESTS];
	uint32_t n;
};

/* node's residual tests below parent (values included); false if there are too many. */
static bool residual_of(struct dpf_set *s, const struct dpf_node *node,
			const struct dpf_node *parent, struct shape *out)
{
	struct dpf_test t[DPF_NORM_MAX_BYTES + DPF_MAX_DEPTH + 1]; /* dpf_make_tests' room */
	uint32_t n;

	if (node->norm->nbytes > DPF_NORM_MAX_BYTES ||
	    dpf_make_tests(&s->tctxs, node->norm, parent->norm, t, &n) || n > DPF_TABLE_TESTS)
		return false;
	memcpy(out->t, t, n * sizeof(*t));
	out->n = n;
	return true;
}

/* A leaf's residual below parent, if it can be a table member (a key of some bytes). */
static bool shape_of(struct dpf_set *s, const struct dpf_node *node,
		     const struct dpf_node *parent, struct shape *out)
{
	uint32_t keyed = 0;

	if (node->nchildren || !residual_of(s, node, parent, out))
		return false;
	for (uint32_t i = 0; i < out->n; i++)
		keyed += out->t[i].mask != 0;
	return keyed > 0;
}

static bool shape_fits(const struct dpf_table *tb, const struct shape *sh)
{
	if (tb->ntests != sh->n)
		return false;
	for (uint32_t i = 0; i < sh->n; i++) {
		const struct dpf_test *a = &tb->shape[i], *b = &sh->t[i];

		if (a->ctx != b->ctx || a->off != b->off || a->width != b->width ||
		    a->mask != b->mask)
			return false;
	}
	return true;
}

static uint32_t shape_key(const struct shape *sh, uint8_t *key)
{
	uint32_t len = 0;

	for (uint32_t i = 0; i < sh->n; i++) {
		if (!sh->t[i].mask)
			continue;
		memcpy(key + len, &sh->t[i].value, 4);
		len += 4;
	}
	return len;
}

/* ---- shape history ---- */

#define HIST_MAX 8 /* shapes remembered per parent; the least seen one makes room */

struct dpf_hist {
	struct dpf_hist *next;
	struct shape sh;
	uint32_t arrivals;
};

static bool shape_same(const struct shape *a, const struct shape *b);

static struct dpf_hist *hist_find(const struct dpf_node *parent, const struct shape *sh)
{
	struct dpf_hist *h;

	for (h = parent->hist; h; h = h->next)
		if (shape_same(&h->sh, sh))
			return h;
	return NULL;
}

/* A leaf of shape sh was inserted under parent (and no table took it). */
static void hist_note(struct dpf_node *parent, const struct shape *sh)
{
	struct dpf_hist *h = hist_find(parent, sh), *least = NULL;
	unsigned n = 0;

	if (h) {
		h->arrivals += h->arrivals < UINT32_MAX;
		return;
	}
	for (h = parent->hist; h; h = h->next, n++)
		if (!least || h->arrivals < least->arrivals)
			least = h;
	if (n >= HIST_MAX) {
		h = least;
	} else {
		h = malloc(sizeof(*h));
		if (!h)
			return; /* only a hint */
		h->next = parent->hist;
		parent->hist = h;
	}
	h->sh = *sh;
	h->arrivals = 1;
}

static uint32_t hist_arrivals(const struct dpf_node *parent, const struct shape *sh)
{
	const struct dpf_hist *h = hist_find(parent, sh);

	return h ? h->arrivals : 0;
}

void dpf_table_forget(struct dpf_node *n)
{
	while (n->hist) {
		struct dpf_hist *h = n->hist;

		n->hist = h->next;
		free(h);
	}
}

/* ---- tables ---- */

static struct dpf_table *table_find(const struct dpf_node *parent, const struct shape *sh)
{
	struct dpf_table *tb;

	for (tb = parent->tables; tb; tb = tb->next)
		if (shape_fits(tb, sh))
			return tb;
	return NULL;
}

static struct dpf_table *table_new(struct dpf_set *s, struct dpf_node *parent,
				   const struct shape *sh)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_NO_PREALLOC);
	struct dpf_table *tb = calloc(1, sizeof(*tb));
	uint8_t key[DPF_TABLE_KEY_SIZE];

	if (!tb)
		return NULL;
	tb->ntests = sh->n;
	for (uint32_t i = 0; i < sh->n; i++) {
		tb->shape[i] = sh->t[i];
		tb->shape[i].value = 0;
	}
	tb->keylen = shape_key(sh, key);
	tb->map_fd = bpf_map_create(BPF_MAP_TYPE_HASH, "dpf_table", tb->keylen, sizeof(uint32_t),
				    DPF_MAX_FILTERS, &o);
	if (tb->map_fd < 0) { /* no maps here (no privilege, no memory): the trie serves them */
		free(tb);
		return NULL;
	}
	tb->parent = parent;
	tb->next = parent->tables;
	parent->tables = tb;
	tb->gnext = s->tables;
	s->tables = tb;
	return tb;
}

static void member_link(struct dpf_set *s, struct dpf_table *tb, struct dpf_node *n)
{
	n->table = tb;
	n->tprev = NULL;
	n->tnext = tb->members;
	if (tb->members)
		tb->members->tprev = n;
	tb->members = n;
	tb->nmembers++;
	s->ntabled++;
}

/* Takes n's entry out of its table's map and list. */
static void member_remove(struct dpf_set *s, struct dpf_node *n)
{
	struct dpf_table *tb = n->table;
	uint8_t key[DPF_TABLE_KEY_SIZE];
	struct shape sh;

	if (!tb)
		return;
	/* the key again, from the filter: the shape is fixed, only its parent could change */
	if (residual_of(s, n, tb->parent, &sh) && shape_fits(tb, &sh)) {
		shape_key(&sh, key);
		bpf_map_delete_elem(tb->map_fd, key);
	}
	if (n->tprev)
		n->tprev->tnext = n->tnext;
	else
		tb->members = n->tnext;
	if (n->tnext)
		n->tnext->tprev = n->tprev;
	n->table = NULL;
	n->tnext = n->tprev = NULL;
	tb->nmembers--;
	s->ntabled--;
}

static bool member_add(struct dpf_set *s, struct dpf_table *tb, struct dpf_node *n,
		       const struct shape *sh)
{
	uint8_t key[DPF_TABLE_KEY_SIZE];

	shape_key(sh, key);
	if (bpf_map_update_elem(tb->map_fd, key, &n->id, BPF_ANY))
		return false;
	member_link(s, tb, n);
	return true;
}

static void table_free(struct dpf_set *s, struct dpf_table *tb)
{
	struct dpf_table **pp;

	while (tb->members) { /* the map goes with it: no need to delete entries */
		struct dpf_node *n = tb->members;

		tb->members = n->tnext;
		n->table = NULL;
		n->tnext = n->tprev = NULL;
		s->ntabled--;
	}
	for (pp = &tb->parent->tables; *pp != tb; pp = &(*pp)->next)
		;
	*pp = tb->next;
	for (pp = &s->tables; *pp != tb; pp = &(*pp)->gnext)
		;
	*pp = tb->gnext;
	close(tb->map_fd);
	free(tb);
}

void dpf_table_drop_all(struct dpf_set *s, struct dpf_node *parent)
{
	while (parent->tables)
		table_free(s, parent->tables);
}

/* ---- grouping a level ---- */

struct group {
	struct shape sh;
	uint32_t count;
	struct dpf_table *tb;
};

static uint32_t shape_hash(const struct shape *sh)
{
	uint32_t h = 2166136261u;

	for (uint32_t i = 0; i < sh->n; i++) {
		const struct dpf_test *t = &sh->t[i];
		uint32_t w[3] = {t->ctx, (uint32_t)t->off << 8 | t->width, t->mask};

		for (int k = 0; k < 3; k++)
			h = (h ^ w[k]) * 16777619u;
	}
	return h;
}

static bool shape_same(const struct shape *a, const struct shape *b)
{
	if (a->n != b->n)
		return false;
	for (uint32_t i = 0; i < a->n; i++)
		if (a->t[i].ctx != b->t[i].ctx || a->t[i].off != b->t[i].off ||
		    a->t[i].width != b->t[i].width || a->t[i].mask != b->t[i].mask)
			return false;
	return true;
}

/* The group of sh in an open-addressing table of groups (cap a power of two). */
static struct group *group_of(struct group **tab, uint32_t cap, const struct shape *sh)
{
	uint32_t h = shape_hash(sh) & (cap - 1);

	while (tab[h] && !shape_same(&tab[h]->sh, sh))
		h = (h + 1) & (cap - 1);
	if (!tab[h]) {
		tab[h] = malloc(sizeof(**tab));
		if (!tab[h])
			return NULL;
		tab[h]->sh = *sh;
		tab[h]->count = 0;
		tab[h]->tb = NULL;
	}
	return tab[h];
}

/* Counts the shapes of parent's leaf children; sh[i] is child i's (n = 0: not a leaf). */
static int level_groups(struct dpf_set *s, struct dpf_node *parent, struct shape *sh,
			struct group **tab, uint32_t cap, struct group **gof)
{
	for (uint32_t i = 0; i < parent->nchildren; i++) {
		gof[i] = NULL;
		if (!shape_of(s, parent->children[i], parent, &sh[i]))
			continue;
		gof[i] = group_of(tab, cap, &sh[i]);
		if (!gof[i])
			return -ENOMEM;
		gof[i]->count++;
	}
	return 0;
}

int dpf_table_level(struct dpf_set *s, struct dpf_node *parent, bool *tabled)
{
	uint32_t m = parent->nchildren, cap = 16;
	struct group **tab = NULL, **gof = NULL;
	struct shape *sh = NULL;
	struct dpf_table *tb, *next;
	int err = 0;

	for (tb = parent->tables; tb; tb = tb->next)
		tb->generated = false;
	while (cap < 2 * m)
		cap *= 2;
	if (m) {
		tab = calloc(cap, sizeof(*tab));
		gof = calloc(m, sizeof(*gof));
		sh = malloc(m * sizeof(*sh));
		if (!tab || !gof || !sh) {
			err = -ENOMEM;
			goto out;
		}
		err = level_groups(s, parent, sh, tab, cap, gof);
		if (err)
			goto out;
	}
	for (uint32_t i = 0; i < m; i++) {
		struct dpf_node *c = parent->children[i];
		struct group *g = gof[i];

		tabled[i] = false;
		if (!g)
			continue;
		if (!g->tb)
			g->tb = table_find(parent, &g->sh);
		if (!g->tb && (g->count >= DPF_TABLE_MIN ||
				hist_arrivals(parent, &g->sh) >= DPF_TABLE_MIN))
			g->tb = table_new(s, parent, &g->sh);
		if (!g->tb)
			continue;
		/* a stale entry elsewhere keeps it in the trie until the commit clears it */
		if (c->table == g->tb || (!c->table && member_add(s, g->tb, c, &sh[i]))) {
			tabled[i] = true;
			g->tb->generated = true;
		}
	}
	for (tb = parent->tables; tb; tb = next) {
		next = tb->next;
		if (!tb->generated) /* no member left at this level */
			table_free(s, tb);
	}
out:
	for (uint32_t h = 0; tab && h < cap; h++)
		free(tab[h]);
	free(tab);
	free(gof);
	free(sh);
	return err;
}

/* ---- changes between programs ---- */

bool dpf_table_insert(struct dpf_set *s, struct dpf_node *parent, struct dpf_node *node)
{
	struct dpf_table *tb;
	struct shape sh;

	if (!s->tables_on || parent->table || !shape_of(s, node, parent, &sh))
		return false;
	tb = table_find(parent, &sh);
	if (tb && tb->live && member_add(s, tb, node, &sh))
		return true;
	hist_note(parent, &sh);
	return false;
}

bool dpf_table_delete(struct dpf_set *s, struct dpf_node *node)
{
	struct dpf_table *tb = node->table;
	bool exact;

	if (!tb)
		return false;
	exact = tb->live && node->nchildren == 0 && node->parent == tb->parent;
	member_remove(s, node);
	return exact;
}

/* A member still belongs in its table: a leaf under the table's parent. */
static bool member_fits(const struct dpf_table *tb, const struct dpf_node *n)
{
	return n->nchildren == 0 && n->parent == tb->parent;
}

void dpf_set_commit(struct dpf_set *s)
{
	for (struct dpf_table *tb = s->tables; tb; tb = tb->gnext) {
		struct dpf_node *n, *next;

		tb->live = tb->generated;
		for (n = tb->members; n; n = next) {
			next = n->tnext;
			if (!member_fits(tb, n))
				member_remove(s, n);
		}
	}
	s->stale = false;
}

void dpf_set_tables(struct dpf_set *s, bool on)
{
	if (s->tables_on == on)
		return;
	s->tables_on = on;
	while (s->tables)
		table_free(s, s->tables);
	s->stale = true;
}

bool dpf_set_current(const struct dpf_set *s)
{
	return !s->stale;
}

size_t dpf_set_tabled(const struct dpf_set *s)
{
	return s->ntabled;
}
