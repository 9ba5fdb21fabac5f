/* SPDX-License-Identifier: Apache-2.0 */
/* Private to the peer connection: peer.c (setup, layers, life) and
 * peer_restart.c (renegotiation, ICE restart, the lost path). */
#ifndef PEERPIPE_RTC_PEER_PRIV_H
#define PEERPIPE_RTC_PEER_PRIV_H

#include "peerpipe/rtc/dtls.h"
#include "peerpipe/rtc/ice.h"
#include "peerpipe/rtc/peer.h"
#include "peerpipe/rtc/sdp.h"

struct pp_peer {
	GMainContext *ctx;
	struct pp_peer_config cfg;
	struct pp_fingerprint *pins;
	struct pp_peer_callbacks cb;
	void *user;
	char *log_peer;
	enum pp_peer_state state;
	bool offerer;                /* of the first offer/answer exchange */
	bool have_remote;
	struct pp_sdp *remote;       /* the last remote description applied */
	enum pp_dtls_role dtls_role;
	struct pp_fingerprint remote_fp;
	char mid[PP_SDP_MID_MAX + 1];
	unsigned mline_index;
	uint64_t session_id;
	uint64_t session_version;    /* of our last description */
	struct pp_ice *ice;
	struct pp_dtls *dtls;
	struct pp_sctp *sctp;
	GPtrArray *early_candidates; /* remote lines before ICE exists */
	bool early_end;
	bool closing;                /* pp_peer_close(): SCTP shutdown, then DTLS */
	bool rx_paused;              /* pp_peer_pause_receive(), applied to the association */
	GQueue pending_out;          /* DTLS datagrams sent before ICE had a pair */
	size_t pending_bytes;
	/* DTLS datagrams waiting to leave together (peer_batch.c) */
	GSource *batch_src;
	uint8_t *batch_buf;
	size_t batch_used;
	struct iovec batch_iov[PP_ICE_BATCH_MAX];
	size_t batch_n;
	GSource *close_timer;

	/* ICE restart (peer_restart.c) */
	bool restart_offered;        /* our restart offer waits for its answer */
	bool restart_offer_lost;     /* ...and went where the peer no longer is
	                              * (read only while restart_offered; each
	                              * new offer resets it) */
	GSource *restart_timer;      /* DISCONNECTED/RESTARTING deadline */
};

/* peer.c */
void pp_peer_set_state(struct pp_peer *p, enum pp_peer_state st, const char *reason);
/* Our offer (offer NULL) or our answer to offer, with the ICE agent's
 * current credentials and our DTLS role's a=setup. */
int pp_peer_emit_description(struct pp_peer *p, const struct pp_sdp *offer);
/* The remote candidates and end-of-candidates a description carries. */
void pp_peer_apply_candidates(struct pp_peer *p, const struct pp_sdp *sdp);
bool pp_peer_association_up(const struct pp_peer *p);

/* The other side's ClientHello can reach us while our own ICE is still
 * checking; our answer waits in pending_out (instead of for a 400 ms
 * retransmission). */
#define PP_PEER_PENDING_OUT_MAX (64 * 1024)
#define PP_PEER_DCEP_ACK_DELAY_MS 200 /* a channel the peer opens: see pp_sctp_config */
#define PP_PEER_RESET_BATCH_MS 2 /* pp_sctp_channel_close_batched(): see pp_sctp_config */

/* peer_batch.c */
void pp_peer_batch_init(struct pp_peer *p);
void pp_peer_batch_free(struct pp_peer *p);
/* ICE is up and nothing older waits: pp_peer_batch_add() may be used. */
bool pp_peer_batch_usable(const struct pp_peer *p);
int pp_peer_batch_add(struct pp_peer *p, const uint8_t *data, size_t len);
void pp_peer_batch_flush(struct pp_peer *p);

/* peer_restart.c */
/* A description after the first exchange; takes sdp on success. */
int pp_peer_renegotiate(struct pp_peer *p, bool is_offer, struct pp_sdp **sdp);
/* From the ICE agent's state. */
void pp_peer_path_up(struct pp_peer *p);
void pp_peer_path_lost(struct pp_peer *p, enum pp_ice_state st);
void pp_peer_restart_stop(struct pp_peer *p);

#endif
