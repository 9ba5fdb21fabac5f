/* SPDX-License-Identifier: Apache-2.0 */
/* EVE records and the EVE line splitter.
 * - The input as one record: refused with a reason and a zeroed record, or
 *   accepted with every string within its limit, addresses that read back
 *   to the same bytes, and a type that matches "event_type".
 * - The input as a stream, fed whole and in chunks of varying size to a
 *   splitter with a small limit: both give exactly what a plain split on
 *   "\n" gives (empty lines skipped, over-long ones reported once), and
 *   every line is handed to the parser. */
#include "fuzz.h"

#include "peerpipe/error.h"
#include "peerpipe/ids/eve.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>

#define SPLIT_MAX 200

static void check_endpoint(const struct pp_eve_endpoint *ep)
{
	unsigned char bin[16];

	CHECK(memchr(ep->ip, '\0', sizeof(ep->ip)));
	if (!ep->has_ip) {
		CHECK(ep->ip[0] == '\0' && ep->family == 0);
		return;
	}
	CHECK(ep->family == AF_INET || ep->family == AF_INET6);
	CHECK(inet_pton(ep->family, ep->ip, bin) == 1);
	CHECK(memcmp(bin, &ep->addr, ep->family == AF_INET ? 4 : 16) == 0);
	CHECK(ep->has_port || ep->port == 0);
}

static bool zeroed(const struct pp_eve *e)
{
	static const struct pp_eve zero;
	return memcmp(e, &zero, sizeof(zero)) == 0;
}

static void parse_one(const uint8_t *data, size_t size)
{
	const struct pp_eve_endpoint *c = NULL, *s = NULL;
	const char *why = NULL;
	struct pp_eve e;

	int rc = pp_eve_parse((const char *)data, size, &e, &why);
	if (rc < 0) {
		CHECK(rc == PP_ERR_INVALID || rc == PP_ERR_TOO_BIG || rc == PP_ERR_NOMEM);
		CHECK(why && *why && zeroed(&e));
		return;
	}
	CHECK(rc == 0);
	CHECK(strlen(e.event_type) >= 1 && strlen(e.event_type) <= PP_EVE_TYPE_MAX);
	CHECK(strlen(e.timestamp) >= 1 && strlen(e.timestamp) <= PP_EVE_TIMESTAMP_MAX);
	CHECK(strlen(e.proto) <= PP_EVE_PROTO_MAX);
	CHECK(strlen(e.app_proto) <= PP_EVE_APP_PROTO_MAX);
	CHECK(strlen(e.alert.signature) <= PP_EVE_SIGNATURE_MAX);
	CHECK(strlen(e.alert.category) <= PP_EVE_CATEGORY_MAX);
	CHECK(e.alert.severity <= 255);
	CHECK(e.flow_id <= (uint64_t)INT64_MAX && (e.has_flow_id || e.flow_id == 0));
	CHECK(e.type == PP_EVE_OTHER || strcmp(pp_eve_type_name(e.type), e.event_type) == 0);
	CHECK(e.type != PP_EVE_ALERT || e.alert.action != PP_EVE_ACTION_NONE);
	CHECK(e.type == PP_EVE_ALERT || e.type == PP_EVE_DROP ||
	      e.alert.action == PP_EVE_ACTION_NONE);
	check_endpoint(&e.src);
	check_endpoint(&e.dest);
	check_endpoint(&e.flow_src);
	check_endpoint(&e.flow_dest);
	if (pp_eve_initiator(&e, &c, &s))
		CHECK(c && s && c->has_ip && c->has_port && s->has_ip && s->has_port);
}

/* What the splitter must produce: the lines of the input in order, with
 * NULL for each over-long line. */
struct expect {
	const uint8_t *data;
	size_t size, pos; /* the next line of the input to compare with */
	bool bad;
	size_t lines, too_big;
};

/* Advances to the next line the splitter should deliver or report;
 * returns its length, or SIZE_MAX when it is over the limit; *start
 * set. Returns 0 with *start NULL when none is left (a trailing partial
 * line stays pending). */
static size_t next_expected(struct expect *x, const uint8_t **start)
{
	while (x->pos < x->size) {
		const uint8_t *p = x->data + x->pos;
		const uint8_t *nl = memchr(p, '\n', x->size - x->pos);
		size_t n = nl ? (size_t)(nl - p) : x->size - x->pos;
		if (!nl && n <= SPLIT_MAX)
			break; /* pending at the end */
		x->pos += n + (nl ? 1 : 0);
		if (n == 0)
			continue;
		*start = p;
		return n > SPLIT_MAX ? SIZE_MAX : n;
	}
	*start = NULL;
	return 0;
}

static void on_line(void *user, const char *line, size_t len, int err)
{
	struct expect *x = user;
	const uint8_t *start;
	size_t want = next_expected(x, &start);

	if (!start) {
		x->bad = true;
		return;
	}
	if (err == PP_ERR_TOO_BIG) {
		x->too_big++;
		if (want != SIZE_MAX || line)
			x->bad = true;
		return;
	}
	x->lines++;
	if (err != 0 || !line || want != len || len > SPLIT_MAX || memcmp(line, start, len) != 0)
		x->bad = true;
	else
		parse_one((const uint8_t *)line, len);
}

static void split(const uint8_t *data, size_t size, bool chunked, struct expect *x)
{
	struct pp_eve_reader *r = pp_eve_reader_new(SPLIT_MAX);
	const uint8_t *start;

	CHECK(r);
	memset(x, 0, sizeof(*x));
	x->data = data;
	x->size = size;
	for (size_t off = 0, i = 0; off < size; i++) {
		/* Chunk sizes from the data itself: 1..64 bytes, or all at once. */
		size_t k = chunked ? 1 + (size_t)data[i % size] % 64 : size;
		if (k > size - off)
			k = size - off;
		pp_eve_reader_feed(r, data + off, k, on_line, x);
		CHECK(pp_eve_reader_pending(r) <= SPLIT_MAX);
		off += k;
	}
	CHECK(!x->bad);
	CHECK(next_expected(x, &start) == 0 && !start); /* nothing left undelivered */
	size_t tail = size - x->pos;
	CHECK(tail <= SPLIT_MAX);
	CHECK(pp_eve_reader_pending(r) == tail);
	CHECK(pp_eve_reader_finish(r, NULL, NULL) == tail);
	CHECK(pp_eve_reader_pending(r) == 0);
	pp_eve_reader_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct expect whole, chunked;

	parse_one(data, size);
	split(data, size, false, &whole);
	split(data, size, true, &chunked);
	CHECK(whole.lines == chunked.lines && whole.too_big == chunked.too_big);
	return 0;
}
