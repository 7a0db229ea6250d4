/* interp.c - the reference interpreter: evaluates the filter set on a frame in plain C
 *
 * Deliberately simple and independent of the normal form, the trie and the code generator:
 * atoms are evaluated exactly as dpf.h describes them, and the tree is walked level by level.
 * The tests and the fuzzer hold the generated eBPF to this.
 */
#include "dpf_internal.h"

static bool load_be(const uint8_t *frame, size_t len, uint64_t base, uint16_t offset, uint8_t width,
		    uint32_t *out)
{
	uint64_t pos = base + offset;
	uint32_t v = 0;

	if (base >= DPF_BASE_LIMIT || pos + width > len)
		return false;
	for (unsigned i = 0; i < width; i++)
		v = (v << 8) | frame[pos + i];
	*out = v;
	return true;
}

bool dpf_filter_matches(const struct dpf_filter *f, const uint8_t *frame, size_t len)
{
	uint64_t base = 0;

	for (uint32_t i = 0; i < f->natoms; i++) {
		const struct dpf_atom *a = &f->atoms[i];
		uint32_t v;

		if (!load_be(frame, len, base, a->offset, a->width, &v))
			return false;
		if (a->kind == DPF_ATOM_SHIFT)
			base += a->add + ((uint64_t)(v & a->mask) << a->shift);
		else if ((v & a->mask) != a->value)
			return false;
	}
	return true;
}

void dpf_interpret(const struct dpf_set *s, const uint8_t *frame, size_t len,
		   struct dpf_result *out)
{
	const struct dpf_node *level = &s->root;

	memset(out, 0, sizeof(*out));
	for (uint32_t i = 0; i < level->nchildren;) {
		const struct dpf_node *c = level->children[i];

		if (dpf_filter_matches(&c->filter, frame, len)) {
			out->filter_id = c->id;
			level = c;
			i = 0;
		} else {
			i++;
		}
	}
	for (int slot = 0; slot < DPF_MAX_COPY; slot++)
		if (s->copy[slot] && dpf_filter_matches(&s->copy[slot]->filter, frame, len))
			out->copy_mask |= 1ull << slot;
}
