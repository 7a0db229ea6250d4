/* tcp_isn.c - initial sequence numbers (RFC 6528) and timestamp offsets (RFC 7323 §5.4) */
#include <stdio.h>
#include <sys/random.h>

#include "tcp_int.h"

/*
 * SipHash-2-4 (Aumasson, Bernstein) is the PRF: F(localip, localport, remoteip, remoteport,
 * secretkey).  The key must be the same in every process on this host: a peer that still
 * holds a 4-tuple in TIME_WAIT accepts a new SYN for it only if its sequence number (or its
 * timestamp) is beyond the old connection's, and the old connection may have belonged to
 * another process, or to this one before it restarted.  So the key is derived from the
 * kernel's per-boot random boot_id, which remote hosts cannot observe (Linux keys its own
 * ISNs with a per-boot secret for the same reason).
 */
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

#define TCP_BOOT_ID_PATH "/proc/sys/kernel/random/boot_id"

/* Fills key from this boot's boot_id; -errno when it cannot be read. */
static int tcp_isn_boot_key(uint8_t key[16])
{
	static const uint8_t salt[16] = "xok-linux/isn/1";
	char id[64] = {0};
	FILE *f = fopen(TCP_BOOT_ID_PATH, "re");
	size_t n;
	uint64_t h;

	if (!f)
		return -errno;
	n = fread(id, 1, sizeof(id) - 1, f);
	fclose(f);
	if (n < 32)
		return -EIO;
	h = siphash24(salt, id, n);
	memcpy(key, &h, sizeof(h));
	id[0] ^= 0x5a; /* a second, independent half */
	h = siphash24(salt, id, n);
	memcpy(key + 8, &h, sizeof(h));
	return 0;
}

void tcp_isn_init(struct tcp_state *t)
{
	uint64_t seed;

	if (tcp_isn_boot_key(t->isn_key) < 0 &&
	    getrandom(t->isn_key, sizeof(t->isn_key), 0) != sizeof(t->isn_key)) {
		uint64_t x = exos_now_ns() ^ (uint64_t)(uintptr_t)t;
		memcpy(t->isn_key, &x, sizeof(x));
		x = siphash24(t->isn_key, &x, sizeof(x));
		memcpy(t->isn_key + 8, &x, sizeof(x));
	}
	/* the demux hash seed stays private to the process: it only resists hash flooding */
	if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
		seed = siphash24(t->isn_key, "hash", 4) ^ (uint64_t)(uintptr_t)t;
	t->hash_seed = (uint32_t)seed;
}

/* The offset added to our clock in TSval: a keyed hash of the address pair, so that every
 * connection between two hosts, from any process, sees one increasing timestamp clock
 * (PAWS at the peer then accepts a new connection on a 4-tuple it holds in TIME_WAIT). */
uint32_t tcp_ts_offset(const struct exos_stack *s, uint32_t laddr, uint32_t raddr)
{
	struct {
		uint32_t laddr, raddr;
		uint32_t tag;
	} k = {laddr, raddr, 0x74737466u /* "tstf" */};

	return (uint32_t)siphash24(s->tcp->isn_key, &k, sizeof(k));
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
