/* fuzz_input.h - the libFuzzer harnesses' reader of their input: bytes taken from the
 * front, zeros once it runs out (so every input decodes to something) */
#ifndef XOK_FUZZ_INPUT_H
#define XOK_FUZZ_INPUT_H

#include <stddef.h>
#include <stdint.h>

struct input {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t take8(struct input *in)
{
	uint8_t v = 0;

	if (in->n) {
		v = *in->p++;
		in->n--;
	}
	return v;
}

/* The next `bytes` bytes (at most 4), most significant first. */
static inline uint32_t take(struct input *in, unsigned bytes)
{
	uint32_t v = 0;

	for (unsigned i = 0; i < bytes; i++)
		v = v << 8 | take8(in);
	return v;
}

#endif /* XOK_FUZZ_INPUT_H */
