/* SPDX-License-Identifier: Apache-2.0 */
/* The peer connection: the first offer/answer exchange, the layers wired
 * together, life and close. Renegotiation and ICE restart: peer_restart.c. */
#include "peer_priv.h"

#include "peerpipe/buf.h"
#include "peerpipe/error.h"
#include "peerpipe/log.h"
#include "peerpipe/rtc/candidate.h"
#include "peerpipe/rtc/identity.h"

#include <errno.h>
#include <openssl/rand.h>
#include <string.h>

#define PP_PEER_MAX_MESSAGE 262144
#define PP_PEER_SDP_MAX (64 * 1024)
#define PP_PEER_EARLY_CANDIDATES_MAX 64

#define PP_PEER_CLOSE_GRACE_MS 2000

const char *pp_peer_state_name(enum pp_peer_state s)
{
	static const char *const names[] = { "new",    "connecting",   "connected", "failed",
		                             "closed", "disconnected", "restarting" };
	return (unsigned)s < G_N_ELEMENTS(names) ? names[s] : "?";
}

void pp_peer_set_state(struct pp_peer *p, enum pp_peer_state st, const char *reason)
{
	if (p->state == st || p->state == PP_PEER_FAILED || p->state == PP_PEER_CLOSED)
		return;
	p->state = st;
	pp_log(st == PP_PEER_FAILED ? PP_LOG_WARN : PP_LOG_INFO, p->log_peer, "peer connection %s%s%s",
	       pp_peer_state_name(st), reason ? ": " : "", reason ? reason : "");
	if (p->cb.on_state)
		p->cb.on_state(p->user, st, reason);
}

/* --- SCTP: channels ------------------------------------------------------ */

static int pp_peer_sctp_send(void *user, const uint8_t *data, size_t len)
{
	struct pp_peer *p = user;
	return p->dtls ? pp_dtls_send(p->dtls, data, len) : PP_ERR_STATE;
}

/* The association searches for the largest packet the selected pair's
 * path carries in one DTLS record (sctp_pmtu.c), when max_datagram allows
 * more than the base; again at every new pair. */
static void pp_peer_path_mtu(struct pp_peer *p)
{
	size_t dg, ovh, max = 0;

	if (!p->sctp || !p->dtls || !p->ice || pp_sctp_get_state(p->sctp) != PP_SCTP_CONNECTED)
		return;
	dg = p->cfg.max_datagram > PP_DTLS_MTU_DEFAULT ?
	     MIN(pp_ice_path_datagram_max(p->ice), p->cfg.max_datagram) : 0;
	ovh = pp_dtls_record_overhead(p->dtls);
	if (dg > ovh)
		max = MIN(dg - ovh, (size_t)PP_DTLS_SEND_MAX);
	pp_sctp_set_path_limit(p->sctp, max);
}

void pp_peer_set_max_datagram(struct pp_peer *p, size_t max_datagram)
{
	max_datagram = MIN(max_datagram, (size_t)PP_DTLS_DATAGRAM_MAX);
	if (max_datagram == p->cfg.max_datagram)
		return;
	p->cfg.max_datagram = max_datagram;
	pp_peer_path_mtu(p);
}

size_t pp_peer_path_packet(const struct pp_peer *p)
{
	return p->sctp ? pp_sctp_path_packet(p->sctp) : 0;
}

static void pp_peer_sctp_state(void *user, enum pp_sctp_state st)
{
	struct pp_peer *p = user;

	/* The association is done (either way): now DTLS may say goodbye,
	 * before the report, whose callback may free the peer once CLOSED
	 * (pp_dtls_close calls nothing back). */
	if ((st == PP_SCTP_CLOSED || st == PP_SCTP_FAILED) && p->closing && p->dtls)
		pp_dtls_close(p->dtls);
	if (st == PP_SCTP_CONNECTED) {
		pp_peer_path_mtu(p);
		pp_peer_set_state(p, PP_PEER_CONNECTED, NULL);
	} else if (st == PP_SCTP_FAILED) {
		pp_peer_set_state(p, PP_PEER_FAILED, "SCTP association failed");
	} else if (st == PP_SCTP_CLOSED) {
		pp_peer_set_state(p, PP_PEER_CLOSED, "SCTP association closed");
	}
}

static void pp_peer_ch_open(void *user, struct pp_sctp_channel *ch)
{
	struct pp_peer *p = user;
	if (p->cb.on_channel_open)
		p->cb.on_channel_open(p->user, ch);
}

static void pp_peer_ch_message(void *user, struct pp_sctp_channel *ch, enum pp_sctp_kind kind,
                               const uint8_t *data, size_t len)
{
	struct pp_peer *p = user;
	if (p->cb.on_message)
		p->cb.on_message(p->user, ch, kind, data, len);
}

static void pp_peer_ch_closed(void *user, struct pp_sctp_channel *ch)
{
	struct pp_peer *p = user;
	if (p->cb.on_channel_closed)
		p->cb.on_channel_closed(p->user, ch);
}

static void pp_peer_ch_low(void *user, struct pp_sctp_channel *ch)
{
	struct pp_peer *p = user;
	if (p->cb.on_buffered_amount_low)
		p->cb.on_buffered_amount_low(p->user, ch);
}

static const struct pp_sctp_callbacks pp_peer_sctp_cb = {
	.send_packet = pp_peer_sctp_send,
	.on_state = pp_peer_sctp_state,
	.on_channel_open = pp_peer_ch_open,
	.on_message = pp_peer_ch_message,
	.on_channel_closed = pp_peer_ch_closed,
	.on_buffered_amount_low = pp_peer_ch_low,
};

/* --- DTLS ---------------------------------------------------------------- */

static int pp_peer_dtls_send(void *user, const uint8_t *data, size_t len)
{
	struct pp_peer *p = user;
	if (!p->ice)
		return PP_ERR_STATE;
	if (pp_peer_batch_usable(p))
		return pp_peer_batch_add(p, data, len);
	int rc = pp_ice_send(p->ice, data, len);
	if (rc == -EAGAIN && p->pending_bytes + len <= PP_PEER_PENDING_OUT_MAX) {
		g_queue_push_tail(&p->pending_out, g_bytes_new(data, len));
		p->pending_bytes += len;
		return 0;
	}
	return rc;
}

static void pp_peer_flush_pending(struct pp_peer *p)
{
	GBytes *b;
	while ((b = g_queue_pop_head(&p->pending_out))) {
		gsize len;
		const uint8_t *data = g_bytes_get_data(b, &len);
		pp_ice_send(p->ice, data, len);
		g_bytes_unref(b);
	}
	p->pending_bytes = 0;
}

static void pp_peer_dtls_data(void *user, const uint8_t *data, size_t len)
{
	struct pp_peer *p = user;
	if (p->sctp)
		pp_sctp_feed(p->sctp, data, len);
}

static void pp_peer_dtls_state(void *user, enum pp_dtls_state st, enum pp_dtls_reason reason,
                               const char *text)
{
	struct pp_peer *p = user;
	if (st == PP_DTLS_CONNECTED) {
		struct pp_sctp_config sc = {
			.role = p->dtls_role == PP_DTLS_CLIENT ? PP_SCTP_ROLE_CLIENT : PP_SCTP_ROLE_SERVER,
			.max_message_size = p->cfg.max_message_size,
			.send_buffer = p->cfg.sctp_buffer,
			.recv_buffer = p->cfg.sctp_buffer,
			.log_peer = p->log_peer,
			.bundle = true, /* sent with the batch: pp_peer_batch_flush */
			/* the ACK rides with the reply (the tunnel's CONNECTED) */
			.dcep_ack_delay_ms = PP_PEER_DCEP_ACK_DELAY_MS,
			/* short streams closing back to back share their resets */
			.reset_batch_ms = PP_PEER_RESET_BATCH_MS,
		};
		p->sctp = pp_sctp_new(p->ctx, &sc, &pp_peer_sctp_cb, p);
		if (p->sctp && p->rx_paused)
			pp_sctp_pause_receive(p->sctp, true);
		if (!p->sctp || pp_sctp_connect(p->sctp) < 0)
			pp_peer_set_state(p, PP_PEER_FAILED, "cannot start SCTP");
	} else if (st == PP_DTLS_FAILED) {
		pp_peer_set_state(p, PP_PEER_FAILED, pp_dtls_reason_str(reason));
	} else if (st == PP_DTLS_CLOSED) {
		pp_peer_set_state(p, PP_PEER_CLOSED, text);
	}
}

static const struct pp_dtls_callbacks pp_peer_dtls_cb = {
	.send_datagram = pp_peer_dtls_send,
	.on_data = pp_peer_dtls_data,
	.on_state = pp_peer_dtls_state,
};

static int pp_peer_start_dtls(struct pp_peer *p)
{
	struct pp_dtls_config dc = {
		.identity = p->cfg.identity,
		.role = p->dtls_role,
		.remote_fingerprint = p->remote_fp,
		.pins = p->pins,
		.n_pins = p->cfg.n_pins,
		.allow_unpinned = p->cfg.allow_unpinned,
		.log_peer = p->log_peer,
	};
	p->dtls = pp_dtls_new(p->ctx, &dc, &pp_peer_dtls_cb, p);
	return p->dtls ? 0 : PP_ERR_INVALID;
}

/* --- ICE ----------------------------------------------------------------- */

static void pp_peer_ice_candidate(void *user, const char *line)
{
	struct pp_peer *p = user;
	if (p->cb.on_local_candidate)
		p->cb.on_local_candidate(p->user, line, p->mid, p->mline_index);
}

static void pp_peer_ice_state(void *user, enum pp_ice_state st)
{
	struct pp_peer *p = user;
	bool up = st == PP_ICE_CONNECTED || st == PP_ICE_COMPLETED;

	if (up)
		pp_peer_flush_pending(p);
	if (up && p->dtls && pp_dtls_state(p->dtls) == PP_DTLS_NEW &&
	    p->dtls_role == PP_DTLS_CLIENT) {
		if (pp_dtls_start(p->dtls) < 0)
			pp_peer_set_state(p, PP_PEER_FAILED, "cannot start DTLS");
	} else if (up) {
		pp_peer_path_up(p);
	} else if (st == PP_ICE_FAILED || st == PP_ICE_DISCONNECTED) {
		pp_peer_path_lost(p, st);
	}
}

static void pp_peer_ice_data(void *user, const uint8_t *data, size_t len)
{
	struct pp_peer *p = user;
	/* RFC 7983: only DTLS (first byte 20..63) goes up; STUN stays in libnice. */
	if (p->dtls && len && data[0] >= 20 && data[0] <= 63)
		pp_dtls_feed_coalesced(p->dtls, data, len); /* one datagram, or records back to back */
}

static void pp_peer_ice_pair(void *user)
{
	pp_peer_path_mtu(user);
}

static const struct pp_ice_callbacks pp_peer_ice_cb = {
	.on_local_candidate = pp_peer_ice_candidate,
	.on_state = pp_peer_ice_state,
	.on_data = pp_peer_ice_data,
	.on_selected_pair = pp_peer_ice_pair,
};

static int pp_peer_start_ice(struct pp_peer *p)
{
	struct pp_ice_config ic = {
		.controlling = p->offerer,
		.ice_servers = p->cfg.ice_servers,
		.n_ice_servers = p->cfg.n_ice_servers,
		.local_addresses = p->cfg.local_addresses,
		.n_local_addresses = p->cfg.n_local_addresses,
		.relay_only = p->cfg.relay_only,
		.log_peer = p->log_peer,
	};
	p->ice = pp_ice_new(p->ctx, &ic, &pp_peer_ice_cb, p);
	if (!p->ice)
		return PP_ERR_INVALID;
	pp_peer_set_state(p, PP_PEER_CONNECTING, NULL);
	return 0;
}

/* Remote candidates that came before our ICE agent existed. */
static void pp_peer_flush_early(struct pp_peer *p)
{
	for (guint i = 0; i < p->early_candidates->len; i++)
		pp_ice_add_remote_candidate(p->ice, g_ptr_array_index(p->early_candidates, i));
	g_ptr_array_set_size(p->early_candidates, 0);
	if (p->early_end)
		pp_ice_end_of_remote_candidates(p->ice);
}

/* --- descriptions --------------------------------------------------------- */

/* The first offer says actpass; every later description of ours names
 * the DTLS role we have, so that the association is kept (RFC 8842 §5.5):
 * the first offerer's re-offers say actpass again (its answerer keeps
 * being active). */
static enum pp_sdp_setup pp_peer_our_setup(const struct pp_peer *p, bool answer)
{
	if (!answer && p->offerer)
		return PP_SDP_SETUP_ACTPASS;
	return p->dtls_role == PP_DTLS_CLIENT ? PP_SDP_SETUP_ACTIVE : PP_SDP_SETUP_PASSIVE;
}

int pp_peer_emit_description(struct pp_peer *p, const struct pp_sdp *offer)
{
	const char *ufrag, *pwd;
	struct pp_buf out;
	int rc = pp_ice_local_credentials(p->ice, &ufrag, &pwd);
	if (rc < 0)
		return rc;
	struct pp_sdp_params sp = {
		.kind = offer ? PP_SDP_ANSWER : PP_SDP_OFFER,
		.session_id = p->session_id,
		.session_version = ++p->session_version, /* JSEP: a new one each time */
		.ufrag = ufrag,
		.pwd = pwd,
		.fingerprint = pp_identity_fingerprint(p->cfg.identity),
		.setup = pp_peer_our_setup(p, offer != NULL),
		.mid = offer ? NULL : p->mid,
		.offer = offer,
	};
	pp_buf_init(&out, PP_PEER_SDP_MAX);
	rc = pp_sdp_write(&sp, &out);
	if (rc == 0 && p->cb.on_local_description)
		p->cb.on_local_description(p->user, offer ? "answer" : "offer", (const char *)out.data);
	pp_buf_free(&out);
	return rc;
}

int pp_peer_create_offer(struct pp_peer *p)
{
	int rc;
	if (p->ice || p->state != PP_PEER_NEW)
		return PP_ERR_STATE;
	p->offerer = true;
	p->dtls_role = PP_DTLS_SERVER; /* until the answer says otherwise */
	g_strlcpy(p->mid, "0", sizeof(p->mid));
	p->mline_index = 0;
	if ((rc = pp_peer_start_ice(p)) < 0 || (rc = pp_peer_emit_description(p, NULL)) < 0)
		return rc;
	return pp_ice_gather(p->ice);
}

/* Our DTLS role from the other side's a=setup (RFC 8842). */
static int pp_peer_pick_role(struct pp_peer *p, const struct pp_sdp *sdp)
{
	if (!p->offerer) {
		if (sdp->setup == PP_SDP_SETUP_PASSIVE)
			return PP_ERR_UNSUPPORTED; /* we answer active only */
		p->dtls_role = PP_DTLS_CLIENT;
	} else {
		p->dtls_role = sdp->setup == PP_SDP_SETUP_PASSIVE ? PP_DTLS_CLIENT : PP_DTLS_SERVER;
		if (sdp->setup != PP_SDP_SETUP_ACTIVE && sdp->setup != PP_SDP_SETUP_PASSIVE &&
		    sdp->setup != PP_SDP_SETUP_NONE)
			return PP_ERR_INVALID;
	}
	return 0;
}

void pp_peer_apply_candidates(struct pp_peer *p, const struct pp_sdp *sdp)
{
	for (size_t i = 0; i < sdp->n_candidates; i++) {
		char line[512];
		if (pp_candidate_format(&sdp->candidates[i], line, sizeof(line)) > 0)
			pp_ice_add_remote_candidate(p->ice, line);
	}
}

int pp_peer_set_remote_description(struct pp_peer *p, const char *type, const char *text, size_t len)
{
	struct pp_sdp *sdp = NULL;
	bool is_offer = strcmp(type, "offer") == 0;
	bool ice_started = false;
	int rc;

	if ((!is_offer && strcmp(type, "answer") != 0) || p->closing ||
	    p->state == PP_PEER_FAILED || p->state == PP_PEER_CLOSED)
		return PP_ERR_STATE;
	if (!p->have_remote && is_offer == p->offerer)
		return PP_ERR_STATE;
	rc = pp_sdp_parse(text, len, &sdp, NULL);
	if (rc < 0)
		goto out;
	if (p->have_remote) {
		rc = pp_peer_renegotiate(p, is_offer, &sdp);
		goto out;
	}
	const struct pp_fingerprint *fp = pp_sdp_fingerprint(sdp);
	if (!fp) {
		rc = PP_ERR_NOT_FOUND; /* no sha-256 fingerprint: nothing to pin */
		goto out;
	}
	p->remote_fp = *fp;
	if ((rc = pp_peer_pick_role(p, sdp)) < 0)
		goto out;
	if (is_offer) {
		g_strlcpy(p->mid, sdp->mid, sizeof(p->mid));
		p->mline_index = sdp->data_index;
		if ((rc = pp_peer_start_ice(p)) < 0)
			goto out;
		ice_started = true;
	}
	if ((rc = pp_ice_set_remote_credentials(p->ice, sdp->ufrag, sdp->pwd)) < 0 ||
	    (rc = pp_peer_start_dtls(p)) < 0)
		goto out;
	p->have_remote = true;
	p->remote = sdp;
	sdp = NULL; /* transferred */
	pp_peer_apply_candidates(p, p->remote);
	pp_peer_flush_early(p);
	if (p->remote->end_of_candidates)
		pp_ice_end_of_remote_candidates(p->ice);
	if (is_offer && ((rc = pp_peer_emit_description(p, p->remote)) < 0 ||
	                 (rc = pp_ice_gather(p->ice)) < 0))
		goto out;
out:
	if (rc < 0 && ice_started && !p->have_remote) {
		/* A retried offer makes its own agent. */
		pp_ice_free(p->ice);
		p->ice = NULL;
	}
	if (rc < 0)
		pp_log(PP_LOG_WARN, p->log_peer, "remote %s refused: %s", type, pp_strerror(rc));
	pp_sdp_free(sdp);
	return rc;
}

int pp_peer_add_remote_candidate(struct pp_peer *p, const char *line)
{
	if (p->ice && p->have_remote)
		return line ? pp_ice_add_remote_candidate(p->ice, line) : pp_ice_end_of_remote_candidates(p->ice);
	if (!line) {
		p->early_end = true;
		return 0;
	}
	if (p->early_candidates->len >= PP_PEER_EARLY_CANDIDATES_MAX || strlen(line) > 1024)
		return PP_ERR_TOO_BIG;
	g_ptr_array_add(p->early_candidates, g_strdup(line));
	return 0;
}

/* --- life ------------------------------------------------------------------ */

bool pp_peer_association_up(const struct pp_peer *p)
{
	return p->sctp && pp_sctp_get_state(p->sctp) == PP_SCTP_CONNECTED;
}

int pp_peer_channel_open(struct pp_peer *p, const char *label, const char *protocol,
                         const struct pp_sctp_channel_options *opt, struct pp_sctp_channel **out)
{
	/* while the path is down the association is still there: the
	 * channel's DCEP open waits in SCTP like any data */
	if ((p->state != PP_PEER_CONNECTED && p->state != PP_PEER_DISCONNECTED &&
	     p->state != PP_PEER_RESTARTING) || !p->sctp)
		return PP_ERR_STATE;
	return pp_sctp_channel_open(p->sctp, label, protocol, opt, out);
}

void pp_peer_pause_receive(struct pp_peer *p, bool paused)
{
	p->rx_paused = paused;
	if (p->sctp)
		pp_sctp_pause_receive(p->sctp, paused);
}

enum pp_peer_state pp_peer_get_state(const struct pp_peer *p)
{
	return p->state;
}

const struct pp_fingerprint *pp_peer_remote_fingerprint(const struct pp_peer *p)
{
	return &p->remote_fp;
}

int pp_peer_remote_address(struct pp_peer *p, char out[PP_ICE_ADDR_TEXT_MAX], const char **type)
{
	return p->ice ? pp_ice_selected_remote(p->ice, out, type) : PP_ERR_STATE;
}

int pp_peer_export_keying_material(struct pp_peer *p, const char *label, uint8_t *out, size_t len)
{
	return p->dtls ? pp_dtls_export_keying_material(p->dtls, label, out, len) : PP_ERR_STATE;
}

struct pp_peer *pp_peer_new(GMainContext *ctx, const struct pp_peer_config *cfg,
                            const struct pp_peer_callbacks *cb, void *user)
{
	if (!cfg->identity || (!cfg->n_pins && !cfg->allow_unpinned) ||
	    cfg->n_pins > PP_DTLS_PINS_MAX)
		return NULL;
	struct pp_peer *p = g_new0(struct pp_peer, 1);
	p->ctx = g_main_context_ref(ctx);
	p->cfg = *cfg;
	if (!p->cfg.max_message_size)
		p->cfg.max_message_size = PP_PEER_MAX_MESSAGE;
	p->pins = g_memdup2(cfg->pins, cfg->n_pins * sizeof(*cfg->pins));
	p->cfg.pins = p->pins;
	p->log_peer = g_strdup(cfg->log_peer);
	p->cfg.log_peer = p->log_peer;
	if (!p->cfg.ice_restart_timeout_ms)
		p->cfg.ice_restart_timeout_ms = PP_PEER_RESTART_TIMEOUT_MS;
	p->cb = *cb;
	p->user = user;
	p->early_candidates = g_ptr_array_new_with_free_func(g_free);
	pp_peer_batch_init(p);
	RAND_bytes((unsigned char *)&p->session_id, sizeof(p->session_id));
	p->session_id &= INT64_MAX;
	return p;
}

static gboolean pp_peer_close_timeout(gpointer data)
{
	struct pp_peer *p = data;
	p->close_timer = NULL;
	if (p->dtls)
		pp_dtls_close(p->dtls); /* the SCTP shutdown did not finish in time */
	pp_peer_set_state(p, PP_PEER_CLOSED, "closed locally");
	return G_SOURCE_REMOVE;
}

/* Orderly: the SCTP shutdown runs first (nothing queued is lost), then
 * DTLS close_notify; after PP_PEER_CLOSE_GRACE_MS DTLS closes anyway. */
void pp_peer_close(struct pp_peer *p)
{
	if (p->closing)
		return;
	p->closing = true;
	pp_peer_restart_stop(p); /* closing: no path is awaited any more */
	if (p->sctp && pp_sctp_get_state(p->sctp) == PP_SCTP_CONNECTED) {
		pp_sctp_close(p->sctp);
		p->close_timer = g_timeout_source_new(PP_PEER_CLOSE_GRACE_MS);
		g_source_set_callback(p->close_timer, pp_peer_close_timeout, p, NULL);
		g_source_attach(p->close_timer, p->ctx);
		g_source_unref(p->close_timer);
		return;
	}
	if (p->dtls)
		pp_dtls_close(p->dtls);
	pp_peer_set_state(p, PP_PEER_CLOSED, "closed locally");
}

void pp_peer_close_now(struct pp_peer *p)
{
	if (p->state == PP_PEER_CLOSED || p->state == PP_PEER_FAILED)
		return;
	p->closing = true;
	pp_peer_restart_stop(p);
	if (p->close_timer) /* an orderly close under way: it ends here */
		g_source_destroy(p->close_timer);
	p->close_timer = NULL;
	if (p->dtls)
		pp_dtls_close(p->dtls);
	pp_peer_set_state(p, PP_PEER_CLOSED, "closed locally, at once");
}

void pp_peer_free(struct pp_peer *p)
{
	if (!p)
		return;
	if (p->close_timer)
		g_source_destroy(p->close_timer);
	pp_peer_restart_stop(p);
	/* top down: nothing calls into a freed layer */
	if (p->sctp) {
		pp_sctp_flush_output(p->sctp);
		pp_sctp_free(p->sctp);
		p->sctp = NULL;
	}
	if (p->dtls)
		pp_dtls_free(p->dtls);
	pp_peer_batch_flush(p); /* a close_notify, an ABORT */
	pp_peer_batch_free(p);
	if (p->ice)
		pp_ice_free(p->ice);
	g_ptr_array_free(p->early_candidates, TRUE);
	pp_sdp_free(p->remote);
	g_queue_clear_full(&p->pending_out, (GDestroyNotify)g_bytes_unref);
	g_free(p->pins);
	g_free(p->log_peer);
	g_main_context_unref(p->ctx);
	g_free(p);
}
