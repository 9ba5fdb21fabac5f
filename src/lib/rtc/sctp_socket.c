/* SPDX-License-Identifier: Apache-2.0 */
/* The usrsctp socket of one association: configuration defaults and checks,
 * socket options (design.md §5: PMTUD off with a fixed path MTU, NODELAY,
 * explicit EOR, buffers, stream reset, the events we act on), bind, close. */
#include "sctp_priv.h"

#include "peerpipe/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

void pp_sctp_apply_defaults(struct pp_sctp_config *c)
{
#define PP_SCTP_DEF(field, value) \
	if (c->field == 0)        \
		c->field = (value)
	PP_SCTP_DEF(local_port, PP_SCTP_DEF_PORT);
	PP_SCTP_DEF(remote_port, PP_SCTP_DEF_PORT);
	PP_SCTP_DEF(max_message_size, PP_SCTP_DEF_MAX_MESSAGE);
	PP_SCTP_DEF(send_buffer, PP_SCTP_DEF_BUFFER);
	PP_SCTP_DEF(recv_buffer, PP_SCTP_DEF_BUFFER);
	PP_SCTP_DEF(max_buffered_amount, PP_SCTP_DEF_MAX_BUFFERED);
	PP_SCTP_DEF(path_mtu, PP_SCTP_DEF_MTU);
	PP_SCTP_DEF(max_streams, PP_SCTP_DEF_STREAMS);
	PP_SCTP_DEF(rto_initial_ms, 1000);
	PP_SCTP_DEF(rto_min_ms, 400);
	PP_SCTP_DEF(rto_max_ms, 3000);
	PP_SCTP_DEF(max_retransmits, 30);
	PP_SCTP_DEF(max_init_retransmits, 8);
	PP_SCTP_DEF(heartbeat_ms, 10000);
	PP_SCTP_DEF(pmtu_probe_ms, PP_SCTP_PROBE_MS);
	PP_SCTP_DEF(pmtu_confirm_ms, PP_SCTP_CONFIRM_MS);
#undef PP_SCTP_DEF
	/* A message the caller may send must always fit in the queue. */
	if (c->max_buffered_amount < c->max_message_size)
		c->max_buffered_amount = c->max_message_size;
}

bool pp_sctp_config_ok(const struct pp_sctp_config *c)
{
	return c->role <= PP_SCTP_ROLE_SERVER && c->max_message_size <= (64u << 20) &&
	       c->path_mtu >= 508 && c->path_mtu <= 65000 &&
	       c->send_buffer >= 64 * 1024 && c->recv_buffer >= 64 * 1024 &&
	       c->send_buffer <= (1u << 30) && c->recv_buffer <= (1u << 30) &&
	       c->max_streams >= 2 && c->rto_min_ms <= c->rto_max_ms &&
	       c->rto_initial_ms <= c->rto_max_ms;
}

static int pp_sctp_setopt(struct pp_sctp *s, int level, int name, const void *val,
                          socklen_t len, const char *what)
{
	if (usrsctp_setsockopt(s->sock, level, name, val, len) == 0)
		return 0;
	int err = errno;
	pp_log(PP_LOG_ERROR, s->log_peer, "sctp: setsockopt %s: %s", what, g_strerror(err));
	return -err;
}

/* Lock held. */
static int pp_sctp_socket_options(struct pp_sctp *s)
{
	const struct pp_sctp_config *c = &s->cfg;
	static const uint16_t events[] = { SCTP_ASSOC_CHANGE, SCTP_SENDER_DRY_EVENT,
	                                   SCTP_STREAM_RESET_EVENT, SCTP_SHUTDOWN_EVENT };
	struct linger lg = { .l_onoff = 1, .l_linger = 0 }; /* close = abort */
	struct sctp_assoc_value av = { .assoc_id = SCTP_FUTURE_ASSOC,
	                               .assoc_value = SCTP_ENABLE_RESET_STREAM_REQ };
	struct sctp_paddrparams pp = { .spp_flags = SPP_HB_ENABLE | SPP_PMTUD_DISABLE,
	                               .spp_pathmtu = c->path_mtu,
	                               .spp_hbinterval = c->heartbeat_ms,
	                               .spp_pathmaxrxt = c->max_retransmits };
	struct sctp_initmsg im = { .sinit_num_ostreams = c->max_streams,
	                           .sinit_max_instreams = c->max_streams,
	                           .sinit_max_attempts = c->max_init_retransmits,
	                           .sinit_max_init_timeo = (uint16_t)MIN(c->rto_max_ms, 65535u) };
	struct sctp_rtoinfo rto = { .srto_initial = c->rto_initial_ms,
	                            .srto_max = c->rto_max_ms, .srto_min = c->rto_min_ms };
	struct sctp_assocparams ap = { .sasoc_asocmaxrxt = c->max_retransmits };
	int on = 1, sndbuf = (int)c->send_buffer, rcvbuf = (int)c->recv_buffer, rc = 0;

	rc = rc ? rc : pp_sctp_setopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg), "SO_LINGER");
	rc = rc ? rc : pp_sctp_setopt(s, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf), "SO_SNDBUF");
	rc = rc ? rc : pp_sctp_setopt(s, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf), "SO_RCVBUF");
	rc = rc ? rc : pp_sctp_setopt(s, IPPROTO_SCTP, SCTP_ENABLE_STREAM_RESET, &av, sizeof(av),
	                              "SCTP_ENABLE_STREAM_RESET");
	rc = rc ? rc : pp_sctp_setopt(s, IPPROTO_SCTP, SCTP_RECVRCVINFO, &on, sizeof(on),
	                              "SCTP_RECVRCVINFO");
	rc = rc ? rc : pp_sctp_setopt(s, IPPROTO_SCTP, SCTP_NODELAY, &on, sizeof(on), "SCTP_NODELAY");
	rc = rc ? rc : pp_sctp_setopt(s, IPPROTO_SCTP, SCTP_EXPLICIT_EOR, &on, sizeof(on),
	                              "SCTP_EXPLICIT_EOR");
	rc = rc ? rc : pp_sctp_setopt(s, IPPROTO_SCTP, SCTP_PEER_ADDR_PARAMS, &pp, sizeof(pp),
	                              "SCTP_PEER_ADDR_PARAMS");
	rc = rc ? rc : pp_sctp_setopt(s, IPPROTO_SCTP, SCTP_INITMSG, &im, sizeof(im), "SCTP_INITMSG");
	rc = rc ? rc : pp_sctp_setopt(s, IPPROTO_SCTP, SCTP_RTOINFO, &rto, sizeof(rto), "SCTP_RTOINFO");
	rc = rc ? rc : pp_sctp_setopt(s, IPPROTO_SCTP, SCTP_ASSOCINFO, &ap, sizeof(ap), "SCTP_ASSOCINFO");
	for (size_t i = 0; rc == 0 && i < G_N_ELEMENTS(events); i++) {
		struct sctp_event ev = { .se_assoc_id = SCTP_FUTURE_ASSOC, .se_type = events[i], .se_on = 1 };
		rc = pp_sctp_setopt(s, IPPROTO_SCTP, SCTP_EVENT, &ev, sizeof(ev), "SCTP_EVENT");
	}
	return rc;
}

void pp_sctp_conn_addr(struct pp_sctp *s, uint16_t port, struct sockaddr_conn *a)
{
	memset(a, 0, sizeof(*a));
	a->sconn_family = AF_CONN;
	a->sconn_port = htons(port);
	a->sconn_addr = s;
}

int pp_sctp_socket_open(struct pp_sctp *s)
{
	struct sockaddr_conn local;
	int rc = 0;

	pp_sctp_lock();
	s->sock = usrsctp_socket(AF_CONN, SOCK_STREAM, IPPROTO_SCTP, NULL, NULL, 0, NULL);
	if (!s->sock) {
		rc = -errno;
		goto out;
	}
	usrsctp_set_upcall(s->sock, pp_sctp_glue_upcall, s);
	if (usrsctp_set_non_blocking(s->sock, 1) < 0) {
		rc = -errno;
		goto out;
	}
	rc = pp_sctp_socket_options(s);
	if (rc < 0)
		goto out;
	pp_sctp_conn_addr(s, s->cfg.local_port, &local);
	if (usrsctp_bind(s->sock, (struct sockaddr *)&local, sizeof(local)) < 0)
		rc = -errno;
out:
	pp_sctp_unlock();
	return rc;
}

/* Lock taken inside; after it no usrsctp activity concerns s. */
void pp_sctp_socket_close(struct pp_sctp *s)
{
	pp_sctp_lock();
	if (s->sock) {
		usrsctp_set_upcall(s->sock, NULL, NULL);
		usrsctp_close(s->sock);
		s->sock = NULL;
	}
	pp_sctp_unlock();
}

int pp_sctp_set_peer_params(struct pp_sctp *s, struct sctp_paddrparams *pp)
{
	int rc;

	pp_sctp_conn_addr(s, s->cfg.remote_port, (struct sockaddr_conn *)&pp->spp_address);
	pp_sctp_lock();
	rc = s->sock ? usrsctp_setsockopt(s->sock, IPPROTO_SCTP, SCTP_PEER_ADDR_PARAMS, pp,
	                                  sizeof(*pp)) : -1;
	pp_sctp_unlock();
	return rc;
}

void pp_sctp_path_back(struct pp_sctp *s)
{
	struct sctp_paddrparams pp = { .spp_flags = SPP_HB_DEMAND };

	if (s->state == PP_SCTP_CONNECTED && pp_sctp_set_peer_params(s, &pp) < 0)
		pp_log(PP_LOG_DEBUG, s->log_peer, "sctp: no heartbeat for the path back (%s)",
		       g_strerror(errno));
}
