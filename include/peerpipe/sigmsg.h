/* SPDX-License-Identifier: Apache-2.0 */
/* Signaling message schema (signaling.md §3): the messages a peer sends to
 * the server, parsed strictly and with limits.
 *
 * The relayed payloads ("sdp", "candidate") are validated and then located
 * as raw byte spans in the input, so the server can forward them verbatim
 * without re-encoding them. */
#ifndef PEERPIPE_SIGMSG_H
#define PEERPIPE_SIGMSG_H

#include "peerpipe/json.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define PP_PEER_ID_LEN 32          /* 128 bits as lowercase hex */
/* Longest fingerprint pp_fingerprint_valid() accepts, without the NUL:
 * "sha-512 " and 64 hex pairs joined by colons (8 + 64 * 3 - 1). */
#define PP_FINGERPRINT_MAX 199

enum pp_sig_type {
	PP_SIG_JOIN_ROOM,
	PP_SIG_SEND_SDP,
	PP_SIG_SEND_ICE,
	PP_SIG_LEAVE_ROOM,
};

struct pp_sig_msg {
	enum pp_sig_type type;
	json_t *root;              /* owns the strings below */
	const char *room;          /* JOIN_ROOM */
	const char *token;         /* JOIN_ROOM */
	size_t token_len;
	const char *fingerprint;   /* JOIN_ROOM, may be NULL */
	const char *to;            /* SEND_SDP, SEND_ICE */
	size_t payload_off;        /* SEND_SDP "sdp" / SEND_ICE "candidate" */
	size_t payload_len;        /*   raw JSON text of the value in the input */
};

/* Parses one text message. On error returns PP_ERR_INVALID and points *why
 * at a static human-readable reason, and *ref at the message's "type" when
 * it was a string naming a known type (else NULL). */
int pp_sig_parse(const char *text, size_t len, struct pp_sig_msg *out,
                 const char **why, const char **ref);
void pp_sig_msg_clear(struct pp_sig_msg *m);
/* The known "type" of a message without parsing it (for refusals made
 * before parsing, such as rate limiting); NULL when not found or unknown. */
const char *pp_sig_peek_type(const char *text, size_t len);
const char *pp_sig_type_name(enum pp_sig_type t);

/* A peer_id: exactly 32 lowercase hex characters. */
bool pp_peer_id_valid(const char *s, size_t len);

/* "sha-256 AB:CD:..." with a known hash name and its exact length. */
int pp_fingerprint_valid(const char *s, size_t len);

/* Finds the raw text of top-level member `key` of a JSON object that has
 * already been validated. 0, or PP_ERR_NOT_FOUND / PP_ERR_INVALID. */
int pp_json_member_span(const char *text, size_t len, const char *key,
                        size_t *off, size_t *vlen);

#endif
