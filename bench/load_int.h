/* SPDX-License-Identifier: Apache-2.0 */
/* Internals shared by load.c (phases, protocol) and loadconn.c (sockets,
 * WebSocket framing). */
#ifndef PEERPIPE_BENCH_LOAD_INT_H
#define PEERPIPE_BENCH_LOAD_INT_H

#include "load.h"
#include "wsc.h"

#define PP_LOAD_ID_TIMER UINT32_MAX
#define PP_LOAD_ID_WATCH (UINT32_MAX - 1)
#define PP_LOAD_MSG_MAX (1024 * 1024)      /* largest message we accept */
#define PP_LOAD_OUT_MAX (4 * 1024 * 1024)  /* our own send queue per peer */

enum pp_load_state {
	PP_CS_NEW,
	PP_CS_CONNECTING,
	PP_CS_TLS,                 /* TLS handshake (wss only) */
	PP_CS_UPGRADING,
	PP_CS_JOINING,
	PP_CS_JOINED,
	PP_CS_CLOSED,
};

struct pp_lbuf {
	uint8_t *d;
	uint32_t len, off, cap;
};

struct pp_load_conn {
	int fd;
	uint8_t state;
	uint8_t out_armed;
	uint8_t rd_wants_out;      /* TLS: SSL_read said WANT_WRITE */
	uint8_t wr_wants_in;       /* TLS: SSL_write said WANT_READ */
	uint8_t hs_wants_out;      /* TLS handshake said WANT_WRITE */
	struct ssl_st *ssl;        /* wss only */
	char key[PP_WSC_KEY_LEN + 1];
	struct pp_lbuf in, out, frag;
};

struct pp_load_pair {
	char desk_id[33];          /* the desktop's peer_id, as the gateway saw it */
	uint8_t gw_sees, desk_sees, ready;
	uint8_t next_kind;
};

/* Connection index -> pair and role: 2p is the gateway, 2p+1 the desktop. */
static inline uint32_t pp_load_pair_of(uint32_t i) { return i / 2; }
static inline int pp_load_is_gw(uint32_t i) { return (i & 1) == 0; }

/* loadconn.c */
void pp_conn_open(struct pp_load *l, uint32_t i);
void pp_conn_event(struct pp_load *l, uint32_t i, uint32_t ev);
void pp_conn_send(struct pp_load *l, uint32_t i, int op, const void *data,
                  size_t len);
void pp_conn_fail(struct pp_load *l, uint32_t i, const char *why);
void pp_conn_free(struct pp_load *l, uint32_t i);

/* load.c: called by loadconn.c */
void pp_load_on_upgraded(struct pp_load *l, uint32_t i);
void pp_load_on_text(struct pp_load *l, uint32_t i, const char *text,
                     size_t len);
void pp_load_on_closed(struct pp_load *l, uint32_t i, int was_state);
void pp_load_note(struct pp_load *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
