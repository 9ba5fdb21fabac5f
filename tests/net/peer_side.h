/* SPDX-License-Identifier: Apache-2.0 */
/* Two pp_peer connections of a test in one process over 127.0.0.1
 * (test_peer_loopback, test_peer_restart): a Side keeps what its peer
 * reports (states, channels, messages, its own descriptions); how
 * descriptions and candidates reach the other side is the test's own
 * (Side.signal), as is the loop that runs them. */
#ifndef PEERPIPE_TESTS_PEER_SIDE_H
#define PEERPIPE_TESTS_PEER_SIDE_H

#include "peerpipe/rtc/identity.h"
#include "peerpipe/rtc/peer.h"

#include <glib.h>
#include <openssl/evp.h>
#include <stdbool.h>

typedef struct Side Side;

/* What from's peer has for the other side: a description (type "offer"
 * or "answer") or a candidate (type NULL). */
typedef void (*side_signal_fn)(Side *from, const char *type, const char *text);

struct Side {
	const char *name;
	GMainContext *ctx;
	struct pp_peer *pc;
	struct pp_identity *id;
	Side *other;
	struct pp_peer_config cfg;       /* 127.0.0.1 only; the pin: side_peer */
	side_signal_fn signal;
	enum pp_peer_state state;
	GString *states;                 /* every state reported, comma separated */
	char *reason;
	bool restart_on_lost;            /* pp_peer_restart_ice() from on_state */
	gint64 t_lost;                   /* first DISCONNECTED or FAILED */
	const char *bulk_label;          /* NULL: every channel is a bulk one */
	struct pp_sctp_channel *channel; /* the last bulk channel opened, either side's */
	struct pp_sctp_channel *extra;   /* the last other channel */
	guint closed_channels;
	GPtrArray *messages;             /* small messages received (GBytes) */
	EVP_MD_CTX *rx_hash;             /* set: what bulk channels bring is hashed */
	guint64 rx_bytes;                /*   and counted instead of kept */
	GPtrArray *descs;                /* our local descriptions, in order (char *) */
	/* for the test's signal */
	bool hold_desc;                  /* keep them (descs) instead of sending */
	bool may_refuse;                 /* a description to us may be refused */
	unsigned refused;
};

/* A side with a fresh identity whose peer (side_peer) runs on ctx. */
void side_init(Side *s, const char *name, Side *other, GMainContext *ctx, side_signal_fn signal);
/* Its peer, pinning pin (NULL: the other side's identity). */
void side_peer(Side *s, const struct pp_fingerprint *pin);
void side_free(Side *s);

/* g_test_run() with a fresh context in *ctx for the tests' sides, freed
 * after them. */
int side_run_tests(GMainContext **ctx);

#endif
