/* fuzz_dpf.c - libFuzzer harness: the generated eBPF against the reference interpreter
 *
 * An input is a filter set and some frames:
 *   byte 0        bit 0: exact-match tables on; bit 1: unmatched frames are dropped;
 *                 bits 2-6: number of filters
 *   per filter    a header byte (bit 7: copy filter; bits 0-3: atoms), then 14 bytes per atom:
 *                 flags (bit 0 SHIFT, bits 1-2 width, bit 4 large offset, bit 5 large add),
 *                 offset (2), shift (1), add (2), mask (4), value (4); coerced to be valid
 *   the rest      frames: a length byte (frame = 14 + it bytes), then that many bytes
 *                 (zero-filled when the input runs out)
 * For every frame the merged and the linear program (BPF_PROG_TEST_RUN, when running as
 * root) must agree with dpf_interpret, and the relations dpf_relate reports between the
 * decoded filters must hold on it (DISJOINT: not both match; REFINES: the first implies the
 * second).  Any disagreement aborts.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dpf_internal.h"
#include "dpf_test_util.h"
#include "fuzz_input.h"

#define MAX_FILTERS 24
#define MAX_ATOMS   10
#define MAX_FRAMES  16
#define ATOM_BYTES  14

static void decode_filter(struct input *in, struct dpf_filter *f, bool *copy)
{
	uint8_t hdr = take8(in);
	unsigned natoms = (hdr & 0x0f) % (MAX_ATOMS + 1), depth = 0;

	*copy = hdr & 0x80;
	dpf_filter_init(f);
	for (unsigned i = 0; i < natoms; i++) {
		uint8_t flags = take8(in);
		static const uint8_t widths[4] = {1, 2, 4, 2};
		uint8_t w = widths[(flags >> 1) & 3];
		uint32_t wmask = w == 4 ? 0xffffffffu : (1u << (8 * w)) - 1;
		uint16_t off = (uint16_t)(take(in, 2) % (flags & 0x10 ? DPF_MAX_OFFSET + 1 : 64));
		uint8_t shift = take8(in) & 7;
		uint16_t add = (uint16_t)(take(in, 2) % (flags & 0x20 ? DPF_MAX_OFFSET + 1 : 64));
		uint32_t mask = take(in, 4) & wmask, value = take(in, 4) & mask;

		if ((flags & 1) && depth < DPF_MAX_DEPTH) {
			dpf_add_shift(f, off, w, mask, shift, add);
			depth++;
		} else {
			dpf_add_match(f, off, w, mask, value);
		}
	}
}

static bool bpf_ok(void)
{
	static int state; /* 0 unknown, 1 yes, -1 no */

	if (!state) {
		state = geteuid() == 0 ? 1 : -1;
		if (state < 0)
			fprintf(stderr, "fuzz_dpf: not root: interpreter and relations only\n");
	}
	return state > 0;
}

static void check_relations(const struct dpf_filter *f, unsigned nf, const uint8_t *frame,
			    size_t len)
{
	bool m[MAX_FILTERS];

	for (unsigned i = 0; i < nf; i++)
		m[i] = dpf_filter_matches(&f[i], frame, len);
	for (unsigned i = 0; i < nf; i++) {
		for (unsigned j = 0; j < nf; j++) {
			enum dpf_relation r = dpf_relate(&f[i], &f[j]);
			bool bad =
			    (r == DPF_REL_DISJOINT && m[i] && m[j]) ||
			    ((r == DPF_REL_REFINES || r == DPF_REL_EQUAL) && m[i] && !m[j]) ||
			    (r == DPF_REL_REFINED_BY && m[j] && !m[i]);

			if (bad) {
				fprintf(stderr,
					"fuzz_dpf: relation %u %s %u contradicted by a frame\n", i,
					dpf_relation_name(r), j);
				abort();
			}
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = {data, size};
	static struct dpf_filter filters[MAX_FILTERS];
	static uint8_t frames[MAX_FRAMES][14 + 255];
	size_t lens[MAX_FRAMES];
	uint8_t flags = take8(&in);
	unsigned nf = ((flags >> 2) & 0x1f) % (MAX_FILTERS + 1), nframes = 0;
	enum dpf_unmatched unmatched = flags & 2 ? DPF_UNMATCHED_DROP : DPF_UNMATCHED_PASS;
	struct dpf_set *s = dpf_set_new();
	int fd[2] = {-1, -1};

	if (!s)
		abort();
	dpf_set_tables(s, flags & 1);
	for (unsigned i = 0; i < nf; i++) {
		bool copy;

		decode_filter(&in, &filters[i], &copy);
		if (copy)
			dpf_set_insert_copy(s, i + 1, &filters[i]);
		else
			dpf_set_insert(s, i + 1, &filters[i], NULL);
	}
	while (in.n && nframes < MAX_FRAMES) {
		size_t len = 14 + take8(&in);

		memset(frames[nframes], 0, sizeof(frames[0]));
		for (size_t k = 0; k < len && in.n; k++)
			frames[nframes][k] = take8(&in);
		lens[nframes++] = len;
	}
	if (bpf_ok()) {
		for (int m = 0; m < 2; m++) {
			fd[m] = set_load(s, m, unmatched, NULL);
			if (fd[m] < 0) {
				fprintf(stderr, "fuzz_dpf: %s program refused: %d\n",
					m ? "linear" : "merged", fd[m]);
				abort();
			}
		}
	}
	for (unsigned k = 0; k < nframes; k++) {
		struct dpf_result want, got;
		uint32_t ret, want_ret;

		dpf_interpret(s, frames[k], lens[k], &want);
		check_relations(filters, nf, frames[k], lens[k]);
		want_ret = want.filter_id || want.copy_mask || unmatched == DPF_UNMATCHED_PASS
			       ? XDP_PASS
			       : XDP_DROP;
		for (int m = 0; m < 2 && fd[m] >= 0; m++) {
			int err = prog_run(fd[m], frames[k], lens[k], &got, &ret);

			if (err || ret != want_ret || got.filter_id != want.filter_id ||
			    got.copy_mask != want.copy_mask) {
				fprintf(stderr,
					"fuzz_dpf: %s program: err %d ret %u id %u copy %#llx; "
					"interpreter: ret %u id %u copy %#llx (frame %u)\n",
					m ? "linear" : "merged", err, ret, got.filter_id,
					(unsigned long long)got.copy_mask, want_ret, want.filter_id,
					(unsigned long long)want.copy_mask, k);
				abort();
			}
		}
	}
	for (int m = 0; m < 2; m++)
		if (fd[m] >= 0)
			close(fd[m]);
	dpf_set_free(s);
	return 0;
}
