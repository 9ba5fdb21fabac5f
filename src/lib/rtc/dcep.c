/* SPDX-License-Identifier: Apache-2.0 */
#include "peerpipe/rtc/dcep.h"
#include "be.h"

#include "peerpipe/error.h"

#include <glib.h>
#include <string.h>

static bool pp_dcep_channel_ok(unsigned ch)
{
	return ch == PP_DCEP_RELIABLE || ch == PP_DCEP_PARTIAL_REXMIT ||
	       ch == PP_DCEP_PARTIAL_TIMED;
}

/* Label and protocol become C strings: no NUL, valid UTF-8. */
static bool pp_dcep_text_ok(const char *s, size_t len)
{
	return memchr(s, '\0', len) == NULL && g_utf8_validate_len(s, len, NULL);
}

static int pp_dcep_decode_open(const uint8_t *msg, size_t len, struct pp_dcep_open *o)
{
	if (len < PP_DCEP_HEADER_LEN)
		return PP_ERR_TRUNCATED;
	unsigned ch = msg[1] & (unsigned)~PP_DCEP_UNORDERED;
	if (!pp_dcep_channel_ok(ch))
		return PP_ERR_INVALID;
	size_t ll = pp_be16(msg + 8), pl = pp_be16(msg + 10);
	if (ll > PP_DCEP_LABEL_MAX || pl > PP_DCEP_PROTOCOL_MAX)
		return PP_ERR_TOO_BIG;
	size_t body = len - PP_DCEP_HEADER_LEN; /* ll + pl cannot overflow */
	if (body < ll + pl)
		return PP_ERR_TRUNCATED;
	if (body > ll + pl)
		return PP_ERR_INVALID;
	const char *label = (const char *)msg + PP_DCEP_HEADER_LEN;
	const char *proto = label + ll;
	if (!pp_dcep_text_ok(label, ll) || !pp_dcep_text_ok(proto, pl))
		return PP_ERR_INVALID;
	o->channel = (enum pp_dcep_channel)ch;
	o->unordered = (msg[1] & PP_DCEP_UNORDERED) != 0;
	o->priority = pp_be16(msg + 2);
	o->reliability = ch == PP_DCEP_RELIABLE ? 0 : pp_be32(msg + 4);
	memcpy(o->label, label, ll);
	o->label[ll] = '\0';
	o->label_len = ll;
	memcpy(o->protocol, proto, pl);
	o->protocol[pl] = '\0';
	o->protocol_len = pl;
	return PP_DCEP_OPEN;
}

int pp_dcep_decode(const uint8_t *msg, size_t len, struct pp_dcep_open *open)
{
	int rc;

	memset(open, 0, sizeof(*open));
	if (len == 0)
		return PP_ERR_TRUNCATED;
	switch (msg[0]) {
	case PP_DCEP_ACK:
		return len == 1 ? PP_DCEP_ACK : PP_ERR_INVALID;
	case PP_DCEP_OPEN:
		rc = pp_dcep_decode_open(msg, len, open);
		if (rc < 0)
			memset(open, 0, sizeof(*open));
		return rc;
	default:
		return PP_ERR_UNSUPPORTED;
	}
}

int pp_dcep_encode_open(const struct pp_dcep_open *o, uint8_t *out, size_t cap)
{
	size_t ll = o->label_len, pl = o->protocol_len;

	if (!pp_dcep_channel_ok(o->channel))
		return PP_ERR_INVALID;
	if (ll > PP_DCEP_LABEL_MAX || pl > PP_DCEP_PROTOCOL_MAX)
		return PP_ERR_TOO_BIG;
	if (!pp_dcep_text_ok(o->label, ll) || !pp_dcep_text_ok(o->protocol, pl))
		return PP_ERR_INVALID;
	size_t total = PP_DCEP_HEADER_LEN + ll + pl;
	if (cap < total)
		return PP_ERR_TOO_BIG;
	out[0] = PP_DCEP_OPEN;
	out[1] = (uint8_t)(o->channel | (o->unordered ? PP_DCEP_UNORDERED : 0));
	pp_put_be16(out + 2, o->priority);
	pp_put_be32(out + 4, o->channel == PP_DCEP_RELIABLE ? 0 : o->reliability);
	pp_put_be16(out + 8, (uint16_t)ll);
	pp_put_be16(out + 10, (uint16_t)pl);
	memcpy(out + PP_DCEP_HEADER_LEN, o->label, ll);
	memcpy(out + PP_DCEP_HEADER_LEN + ll, o->protocol, pl);
	return (int)total;
}

int pp_dcep_encode_ack(uint8_t *out, size_t cap)
{
	if (cap < 1)
		return PP_ERR_TOO_BIG;
	out[0] = PP_DCEP_ACK;
	return 1;
}

int pp_dcep_open_init(struct pp_dcep_open *open, const char *label,
                      const char *protocol, enum pp_dcep_channel channel,
                      bool unordered, uint32_t reliability)
{
	size_t ll = strlen(label), pl = strlen(protocol);

	memset(open, 0, sizeof(*open));
	if (ll > PP_DCEP_LABEL_MAX || pl > PP_DCEP_PROTOCOL_MAX)
		return PP_ERR_TOO_BIG;
	open->channel = channel;
	open->unordered = unordered;
	open->priority = PP_DCEP_PRIORITY_NORMAL;
	open->reliability = channel == PP_DCEP_RELIABLE ? 0 : reliability;
	memcpy(open->label, label, ll + 1);
	open->label_len = ll;
	memcpy(open->protocol, protocol, pl + 1);
	open->protocol_len = pl;
	return 0;
}
