/* test_bytes.h - big-endian stores for the tests that build frames byte by byte */
#ifndef XOK_TEST_BYTES_H
#define XOK_TEST_BYTES_H

#include <stdint.h>

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

#endif /* XOK_TEST_BYTES_H */
