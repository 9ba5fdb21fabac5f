/* SPDX-License-Identifier: Apache-2.0 */
/* A pp_peer on its own thread in a network namespace, for the namespace
 * tests (test_peer_netns, test_peer_link): the thread has entered its
 * namespace and runs its own GMainContext; descriptions and candidates go
 * between the two peers' threads as signaling would carry them. The main
 * thread drives a peer through these helpers (or run_on(), netns_util.h)
 * and reads the fields marked (peer_mu) under peer_mu. */
#ifndef PEERPIPE_TESTS_PEER_THREAD_H
#define PEERPIPE_TESTS_PEER_THREAD_H

#include "peerpipe/loop.h"
#include "peerpipe/rtc/identity.h"
#include "peerpipe/rtc/peer.h"

#include <glib.h>
#include <openssl/evp.h>
#include <stdbool.h>

#define PEER_WAIT_MS 30000
#define PEER_BULK_TOTAL (20u << 20) /* what peer_bulk_start() sends */

/* The fields marked (peer_mu), and whatever else a test marks so. */
extern GMutex peer_mu;

struct peer {
	const char *name;
	char ns[96];
	struct peer *other;
	struct pp_identity *id;
	struct pp_peer_config cfg; /* the test completes it before peer_start() */
	bool restart_on_lost;      /* pp_peer_restart_ice() from on_state(DISCONNECTED) */
	bool pp_loop;              /* the thread runs a pp_loop, as the daemons do */
	struct pp_loop_stats loop_stats; /* its counters, once the thread ended */

	GThread *thread;
	GMainContext *ctx;
	GMainLoop *loop;
	struct pp_loop *pl;        /* pp_loop set: the loop the thread runs */
	GSource *trickle_src;
	gint64 trickle_end;
	struct pp_peer *pc;
	struct pp_sctp_channel *channel;
	GSource *bulk_src;
	guint8 *bulk_buf;
	EVP_MD_CTX *hash; /* sender: what was sent; receiver: what came */

	/* (peer_mu) */
	enum pp_peer_state state;
	GString *states; /* every state reported, comma separated */
	gint64 t_lost;   /* first DISCONNECTED or FAILED */
	guint64 sent;
	guint64 received;
	bool ready;
};

/* A peer with a fresh identity in namespace PREFIX-NS, pinning other's. */
void peer_init(struct peer *p, const char *name, const char *prefix, const char *ns,
               struct peer *other);
/* Starts p's thread and its pp_peer; returns once the peer exists. */
void peer_start(struct peer *p);
/* Ends p's thread (freeing its pp_peer) and frees what p holds. */
void peer_stop(struct peer *p);

/* Starts a and b; a offers, both must connect within PEER_WAIT_MS; a opens
 * channel "bulk", which b must have within channel_ms. */
void peer_connect(struct peer *a, struct peer *b, unsigned channel_ms);
/* p hashes what comes on its channel from now on (before the sender starts). */
void peer_hash_init(struct peer *p);
/* p sends PEER_BULK_TOTAL bytes on its channel from a timer, hashed. */
void peer_bulk_start(struct peer *p);
/* Waits up to ms for to to have all from's bulk; both digests must match. */
void peer_bulk_check(struct peer *from, struct peer *to, unsigned ms);
/* p sends a 1,000-byte message every 2 ms for seconds on its channel,
 * counted in sent. */
void peer_trickle_start(struct peer *p, unsigned seconds);
/* Bytes p has sent on its channel. */
guint64 peer_sent(struct peer *p);
/* p's SCTP packet size (pp_peer_path_packet()). */
size_t peer_path_packet(struct peer *p);

/* p's last state. */
enum pp_peer_state peer_state(struct peer *p);
/* Bytes p has received on its channel. */
guint64 peer_received(struct peer *p);
/* For wait_for(): peer a and its other are both CONNECTED. */
bool peers_connected(void *a);

#endif
