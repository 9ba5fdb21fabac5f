/* SPDX-License-Identifier: Apache-2.0 */
#include "peer_side.h"

#include <string.h>

static void on_desc(void *user, const char *type, const char *sdp)
{
	Side *s = user;

	g_ptr_array_add(s->descs, g_strdup(sdp));
	s->signal(s, type, sdp);
}

static void on_cand(void *user, const char *line, const char *mid, unsigned index)
{
	Side *s = user;
	(void)mid, (void)index;
	s->signal(s, NULL, line);
}

static void on_state(void *user, enum pp_peer_state st, const char *reason)
{
	Side *s = user;

	s->state = st;
	g_free(s->reason);
	s->reason = g_strdup(reason);
	g_string_append_printf(s->states, "%s%s", s->states->len ? "," : "", pp_peer_state_name(st));
	g_test_message("%s: %s %s", s->name, pp_peer_state_name(st), reason ? reason : "");
	if ((st == PP_PEER_DISCONNECTED || st == PP_PEER_FAILED) && !s->t_lost)
		s->t_lost = g_get_monotonic_time();
	if (st == PP_PEER_DISCONNECTED && s->restart_on_lost)
		g_assert_cmpint(pp_peer_restart_ice(s->pc), ==, 0);
}

static bool is_bulk(Side *s, struct pp_sctp_channel *ch)
{
	return !s->bulk_label || strcmp(pp_sctp_channel_label(ch), s->bulk_label) == 0;
}

static void on_open(void *user, struct pp_sctp_channel *ch)
{
	Side *s = user;

	if (is_bulk(s, ch))
		s->channel = ch;
	else
		s->extra = ch;
}

static void on_message(void *user, struct pp_sctp_channel *ch, enum pp_sctp_kind kind,
                       const uint8_t *data, size_t len)
{
	Side *s = user;
	(void)kind;
	if (s->rx_hash && is_bulk(s, ch)) {
		EVP_DigestUpdate(s->rx_hash, data, len);
		s->rx_bytes += len;
		return;
	}
	g_ptr_array_add(s->messages, g_bytes_new(data, len));
}

static void on_closed(void *user, struct pp_sctp_channel *ch)
{
	Side *s = user;
	(void)ch;
	s->closed_channels++;
}

static const struct pp_peer_callbacks side_callbacks = {
	.on_local_description = on_desc,
	.on_local_candidate = on_cand,
	.on_state = on_state,
	.on_channel_open = on_open,
	.on_message = on_message,
	.on_channel_closed = on_closed,
};

/* candidates on loopback only: no other interface of the machine */
static const char *const side_loopback[] = { "127.0.0.1" };

void side_init(Side *s, const char *name, Side *other, GMainContext *ctx, side_signal_fn signal)
{
	memset(s, 0, sizeof(*s));
	s->name = name;
	s->other = other;
	s->ctx = ctx;
	s->signal = signal;
	s->states = g_string_new(NULL);
	s->descs = g_ptr_array_new_with_free_func(g_free);
	s->messages = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
	g_assert_cmpint(pp_identity_new_ephemeral(&s->id), ==, 0);
	s->cfg = (struct pp_peer_config){
		.identity = s->id,
		.n_pins = 1,
		.local_addresses = side_loopback,
		.n_local_addresses = 1,
		.log_peer = name,
	};
}

void side_peer(Side *s, const struct pp_fingerprint *pin)
{
	s->cfg.pins = pin ? pin : pp_identity_fingerprint(s->other->id);
	s->pc = pp_peer_new(s->ctx, &s->cfg, &side_callbacks, s);
	g_assert_nonnull(s->pc);
}

void side_free(Side *s)
{
	pp_peer_free(s->pc);
	pp_identity_free(s->id);
	g_string_free(s->states, TRUE);
	g_ptr_array_free(s->descs, TRUE);
	g_ptr_array_free(s->messages, TRUE);
	g_free(s->reason);
	if (s->rx_hash)
		EVP_MD_CTX_free(s->rx_hash);
}

int side_run_tests(GMainContext **ctx)
{
	int rc;

	*ctx = g_main_context_new();
	rc = g_test_run();
	g_main_context_unref(*ctx);
	*ctx = NULL;
	return rc;
}
