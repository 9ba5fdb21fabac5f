/* SPDX-License-Identifier: Apache-2.0 */
/* Deterministic test data for the framing tests: random bytes, and text in
 * the style of a SQL dump (the spec's example of a long useful context). */
#ifndef PP_TEST_TUNNEL_DATA_H
#define PP_TEST_TUNNEL_DATA_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static inline uint64_t td_next(uint64_t *s)
{
	/* xorshift64*: fixed seeds give the same data on every machine. */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static inline void td_random(uint8_t *p, size_t n, uint64_t seed)
{
	uint64_t s = seed | 1;
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(td_next(&s) >> 56);
}

/* Fills p with n bytes of mysqldump-like extended INSERTs. */
static inline void td_sql(uint8_t *p, size_t n, uint64_t seed)
{
	static const char *const first[] = { "Anna", "Boris", "Chen", "Dmitri", "Elena",
	                                     "Farid", "Greta", "Hugo", "Irina", "Jonas" };
	static const char *const last[] = { "Ivanova", "Schmidt", "Li", "Petrov", "Garcia",
	                                    "Novak", "Kowalski", "Dubois", "Rossi", "Berg" };
	static const char *const state[] = { "new", "paid", "shipped", "returned", "cancelled" };
	uint64_t s = seed | 1;
	size_t off = 0;
	unsigned id = 100000;
	char row[256];

	while (off < n) {
		const char *head = "INSERT INTO `orders` VALUES ";
		size_t hl = strlen(head);
		hl = hl < n - off ? hl : n - off;
		memcpy(p + off, head, hl);
		off += hl;
		for (int r = 0; r < 40 && off < n; r++) {
			uint64_t v = td_next(&s);
			int len = snprintf(row, sizeof(row),
			                   "%s(%u,'2023-%02u-%02u %02u:%02u:%02u','%s %s','%s.%s%u@example.com',%u.%02u,'%s',%u)",
			                   r ? "," : "", id++, (unsigned)(v % 12) + 1,
			                   (unsigned)(v >> 8) % 28 + 1, (unsigned)(v >> 16) % 24,
			                   (unsigned)(v >> 24) % 60, (unsigned)(v >> 32) % 60,
			                   first[(v >> 40) % 10], last[(v >> 44) % 10],
			                   first[(v >> 40) % 10], last[(v >> 44) % 10],
			                   (unsigned)(v >> 48) % 100, (unsigned)(v >> 20) % 5000,
			                   (unsigned)(v >> 12) % 100, state[(v >> 52) % 5],
			                   (unsigned)(v >> 36) % 20 + 1);
			size_t l = (size_t)len < n - off ? (size_t)len : n - off;
			memcpy(p + off, row, l);
			off += l;
		}
		if (off < n)
			p[off++] = ';';
		if (off < n)
			p[off++] = '\n';
	}
}

#endif
