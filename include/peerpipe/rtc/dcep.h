/* SPDX-License-Identifier: Apache-2.0 */
/* Data Channel Establishment Protocol (RFC 8832) messages and the SCTP
 * payload protocol identifiers of WebRTC data channels (RFC 8831 §8).
 *
 * DATA_CHANNEL_OPEN:
 *   type (1) = 0x03 | channel type (1) | priority (2) | reliability (4) |
 *   label length (2) | protocol length (2) | label | protocol
 * DATA_CHANNEL_ACK:
 *   type (1) = 0x02
 * All integers big-endian. Decoding is strict: no trailing bytes, label and
 * protocol bounded, valid UTF-8 and free of NUL so they are safe C strings. */
#ifndef PEERPIPE_RTC_DCEP_H
#define PEERPIPE_RTC_DCEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* SCTP payload protocol identifiers. */
enum pp_ppid {
	PP_PPID_DCEP = 50,
	PP_PPID_STRING = 51,
	PP_PPID_BINARY_PARTIAL = 52, /* deprecated */
	PP_PPID_BINARY = 53,
	PP_PPID_STRING_PARTIAL = 54, /* deprecated */
	PP_PPID_STRING_EMPTY = 56,   /* an empty string message (one 0 byte sent) */
	PP_PPID_BINARY_EMPTY = 57,   /* an empty binary message (one 0 byte sent) */
};

enum pp_dcep_msg_type {
	PP_DCEP_ACK = 0x02,
	PP_DCEP_OPEN = 0x03,
};

/* Channel type without the unordered bit (0x80), which is a separate flag. */
enum pp_dcep_channel {
	PP_DCEP_RELIABLE = 0x00,
	PP_DCEP_PARTIAL_REXMIT = 0x01, /* reliability = max retransmissions */
	PP_DCEP_PARTIAL_TIMED = 0x02,  /* reliability = lifetime in ms */
};

#define PP_DCEP_UNORDERED 0x80
#define PP_DCEP_HEADER_LEN 12
#define PP_DCEP_LABEL_MAX 1024     /* bytes; longer labels are refused */
#define PP_DCEP_PROTOCOL_MAX 1024
#define PP_DCEP_OPEN_MAX (PP_DCEP_HEADER_LEN + PP_DCEP_LABEL_MAX + PP_DCEP_PROTOCOL_MAX)

/* RFC 8831 §6.4 priority values; any 16-bit value is valid on the wire. */
#define PP_DCEP_PRIORITY_BELOW_NORMAL 128
#define PP_DCEP_PRIORITY_NORMAL 256
#define PP_DCEP_PRIORITY_HIGH 512
#define PP_DCEP_PRIORITY_EXTRA_HIGH 1024

struct pp_dcep_open {
	enum pp_dcep_channel channel;
	bool unordered;
	uint16_t priority;
	uint32_t reliability; /* 0 for reliable channels (ignored on receipt) */
	char label[PP_DCEP_LABEL_MAX + 1];       /* NUL-terminated */
	size_t label_len;
	char protocol[PP_DCEP_PROTOCOL_MAX + 1]; /* NUL-terminated */
	size_t protocol_len;
};

/* Returns PP_DCEP_OPEN (filling *open) or PP_DCEP_ACK (open untouched but
 * for zeroing), PP_ERR_TRUNCATED, PP_ERR_TOO_BIG (label or protocol over
 * its limit), PP_ERR_UNSUPPORTED (unknown message type) or PP_ERR_INVALID
 * (unknown channel type, trailing bytes, NUL or bad UTF-8). */
int pp_dcep_decode(const uint8_t *msg, size_t len, struct pp_dcep_open *open);

/* Encodes an OPEN; returns the length, PP_ERR_TOO_BIG if cap is too small
 * or label/protocol over their limits, PP_ERR_INVALID on a bad channel
 * type, label or protocol. */
int pp_dcep_encode_open(const struct pp_dcep_open *open, uint8_t *out, size_t cap);
/* Encodes an ACK; returns 1 or PP_ERR_TOO_BIG. */
int pp_dcep_encode_ack(uint8_t *out, size_t cap);

/* Fills *open for label/protocol (NUL-terminated, may be "") with the
 * given reliability; 0 or PP_ERR_TOO_BIG. */
int pp_dcep_open_init(struct pp_dcep_open *open, const char *label,
                      const char *protocol, enum pp_dcep_channel channel,
                      bool unordered, uint32_t reliability);

#endif
