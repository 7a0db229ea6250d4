/* tcp_isn.c - initial sequence numbers (RFC 6528): a keyed hash of the 4-tuple plus a clock */
#include <sys/random.h>

#include "tcp_int.h"

/* SipHash-2-4 (Aumasson, Bernstein), the PRF: F(localip, localport, remoteip, remoteport,
 * secretkey), keyed with 128 random bits from getrandom at stack start. */
#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                                         \
	do {                                                                             \
		v0 += v1;                                                                \
		v1 = ROTL(v1, 13);                                                       \
		v1 ^= v0;                                                                \
		v0 = ROTL(v0, 32);                                                       \
		v2 += v3;                                                                \
		v3 = ROTL(v3, 16);                                                       \
		v3 ^= v2;                                                                \
		v0 += v3;                                                                \
		v3 = ROTL(v3, 21);                                                       \
		v3 ^= v0;                                                                \
		v2 += v1;                                                                \
		v1 = ROTL(v1, 17);                                                       \
		v1 ^= v2;                                                                \
		v2 = ROTL(v2, 32);                                                       \
	} while (0)

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

uint64_t siphash24(const uint8_t key[16], const void *data, size_t len)
{
	const uint8_t *in = data;
	uint64_t k0 = le64(key), k1 = le64(key + 8);
	uint64_t v0 = 0x736f6d6570736575ull ^ k0, v1 = 0x646f72616e646f6dull ^ k1;
	uint64_t v2 = 0x6c7967656e657261ull ^ k0, v3 = 0x7465646279746573ull ^ k1;
	uint64_t b = (uint64_t)len << 56;
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		uint64_t m = le64(in + i);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (size_t j = 0; i + j < len; j++)
		b |= (uint64_t)in[i + j] << (8 * j);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

void tcp_isn_init(struct tcp_state *t)
{
	if (getrandom(t->isn_key, sizeof(t->isn_key), 0) != sizeof(t->isn_key)) {
		uint64_t x = exos_now_ns() ^ (uint64_t)(uintptr_t)t;
		memcpy(t->isn_key, &x, sizeof(x));
		x = siphash24(t->isn_key, &x, sizeof(x));
		memcpy(t->isn_key + 8, &x, sizeof(x));
	}
	uint64_t seed = siphash24(t->isn_key, "hash", 4);
	t->hash_seed = (uint32_t)seed;
}

uint32_t tcp_isn(struct exos_stack *s, uint32_t laddr, uint16_t lport, uint32_t raddr,
		 uint16_t rport)
{
	struct {
		uint32_t laddr, raddr;
		uint16_t lport, rport;
	} k = {laddr, raddr, lport, rport};

	/* M: a timer ticking every 4 microseconds (RFC 6528 §3). */
	uint32_t m = (uint32_t)(stack_clock(s) / 4000);
	return m + (uint32_t)siphash24(s->tcp->isn_key, &k, sizeof(k));
}
