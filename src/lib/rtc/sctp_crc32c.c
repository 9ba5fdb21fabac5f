/* SPDX-License-Identifier: Apache-2.0 */
/* CRC32c (Castagnoli, reflected polynomial 0x82F63B78) for SCTP packets.
 *
 * usrsctp runs with its checksum "offloaded" (it neither writes nor checks
 * it), so every packet leaving gets its checksum here and every packet
 * arriving is checked here. The SSE4.2 crc32 instruction is used when the
 * CPU has it (checked once); otherwise a slicing-by-8 table routine. */
#include "sctp_priv.h"

#include <string.h>

static uint32_t pp_sctp_crc_table[8][256];

static gpointer pp_sctp_crc_table_init(gpointer unused)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1u)));
		pp_sctp_crc_table[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++) {
			uint32_t prev = pp_sctp_crc_table[t - 1][i];
			pp_sctp_crc_table[t][i] = (prev >> 8) ^ pp_sctp_crc_table[0][prev & 0xff];
		}
	return NULL;
}

/* Raw update: no pre- or post-inversion. */
uint32_t pp_sctp_crc32c_sw(uint32_t crc, const void *data, size_t len)
{
	static GOnce once = G_ONCE_INIT;
	const uint8_t *p = data;

	g_once(&once, pp_sctp_crc_table_init, NULL);
	while (len >= 8) {
		uint32_t lo = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 |
		                     (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
		crc = pp_sctp_crc_table[7][lo & 0xff] ^ pp_sctp_crc_table[6][(lo >> 8) & 0xff] ^
		      pp_sctp_crc_table[5][(lo >> 16) & 0xff] ^ pp_sctp_crc_table[4][lo >> 24] ^
		      pp_sctp_crc_table[3][p[4]] ^ pp_sctp_crc_table[2][p[5]] ^
		      pp_sctp_crc_table[1][p[6]] ^ pp_sctp_crc_table[0][p[7]];
		p += 8;
		len -= 8;
	}
	while (len--)
		crc = (crc >> 8) ^ pp_sctp_crc_table[0][(crc ^ *p++) & 0xff];
	return crc;
}

#if defined(__x86_64__) && defined(__GNUC__)
#define PP_SCTP_HAVE_SSE42 1

__attribute__((target("sse4.2")))
static uint32_t pp_sctp_crc32c_hw(uint32_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;
	unsigned long long c = crc;

	while (len > 0 && ((uintptr_t)p & 7) != 0) {
		c = __builtin_ia32_crc32qi((unsigned int)c, *p++);
		len--;
	}
	while (len >= 32) {
		unsigned long long w[4];
		memcpy(w, p, sizeof(w));
		c = __builtin_ia32_crc32di(c, w[0]);
		c = __builtin_ia32_crc32di(c, w[1]);
		c = __builtin_ia32_crc32di(c, w[2]);
		c = __builtin_ia32_crc32di(c, w[3]);
		p += 32;
		len -= 32;
	}
	while (len >= 8) {
		unsigned long long w;
		memcpy(&w, p, sizeof(w));
		c = __builtin_ia32_crc32di(c, w);
		p += 8;
		len -= 8;
	}
	while (len--)
		c = __builtin_ia32_crc32qi((unsigned int)c, *p++);
	return (uint32_t)c;
}
#endif

uint32_t pp_sctp_crc32c_update(uint32_t crc, const void *data, size_t len)
{
#ifdef PP_SCTP_HAVE_SSE42
	static gint hw = -1; /* detected once; every thread finds the same */
	gint have = g_atomic_int_get(&hw);

	if (have < 0) {
		__builtin_cpu_init();
		have = __builtin_cpu_supports("sse4.2") ? 1 : 0;
		g_atomic_int_set(&hw, have);
	}
	if (have)
		return pp_sctp_crc32c_hw(crc, data, len);
#endif
	return pp_sctp_crc32c_sw(crc, data, len);
}

uint32_t pp_sctp_crc32c(const void *data, size_t len)
{
	return ~pp_sctp_crc32c_update(~0u, data, len);
}

/* The checksum of a packet whose checksum field (bytes 8..11) reads as 0. */
static uint32_t pp_sctp_crc32c_packet(const uint8_t *pkt, size_t len)
{
	static const uint8_t zero[4];
	uint32_t c = ~0u;

	c = pp_sctp_crc32c_update(c, pkt, 8);
	c = pp_sctp_crc32c_update(c, zero, sizeof(zero));
	c = pp_sctp_crc32c_update(c, pkt + PP_SCTP_HEADER_LEN, len - PP_SCTP_HEADER_LEN);
	return ~c;
}

void pp_sctp_crc32c_stamp(uint8_t *pkt, size_t len)
{
	uint32_t c;

	if (len < PP_SCTP_HEADER_LEN)
		return;
	c = pp_sctp_crc32c_packet(pkt, len);
	pkt[8] = (uint8_t)c;
	pkt[9] = (uint8_t)(c >> 8);
	pkt[10] = (uint8_t)(c >> 16);
	pkt[11] = (uint8_t)(c >> 24);
}

bool pp_sctp_crc32c_ok(const uint8_t *pkt, size_t len)
{
	uint32_t want;

	if (len < PP_SCTP_HEADER_LEN)
		return false;
	want = (uint32_t)pkt[8] | (uint32_t)pkt[9] << 8 | (uint32_t)pkt[10] << 16 |
	       (uint32_t)pkt[11] << 24;
	return pp_sctp_crc32c_packet(pkt, len) == want;
}
