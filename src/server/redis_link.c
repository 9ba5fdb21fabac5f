/* SPDX-License-Identifier: Apache-2.0 */
#include "redis_link.h"

#include "peerpipe/error.h"
#include "peerpipe/log.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void sig_ev_nop(void *data)
{
	(void)data;
}

static void sig_ev_add_write(void *data)
{
	struct sig_redis_link *r = data;
	if (r->wsi)
		lws_callback_on_writable(r->wsi);
}

static void sig_ev_cleanup(void *data)
{
	struct sig_redis_link *r = data;
	if (r->wsi) {
		lws_set_opaque_user_data(r->wsi, NULL);
		lws_set_timeout(r->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
	}
	r->wsi = NULL;
	r->ac = NULL;
}

int sig_redis_raw_callback(struct lws *wsi, int reason, void *user, void *in, size_t len)
{
	struct sig_redis_link *r = lws_get_opaque_user_data(wsi);
	(void)user, (void)in, (void)len;
	if (!r || !r->ac)
		return 0;
	switch (reason) {
	case LWS_CALLBACK_RAW_RX_FILE:
		redisAsyncHandleRead(r->ac);
		break;
	case LWS_CALLBACK_RAW_WRITEABLE_FILE:
		redisAsyncHandleWrite(r->ac);
		break;
	case LWS_CALLBACK_RAW_CLOSE_FILE:
		r->wsi = NULL;
		break;
	default:
		break;
	}
	return 0;
}

static void sig_redis_on_disconnect(const redisAsyncContext *ac, int status)
{
	struct sig_redis_link *l = ac->data;
	l->on_down(l, true, status == REDIS_OK ? "connection closed" : ac->errstr);
}

static void sig_redis_on_connect(const redisAsyncContext *ac, int status)
{
	struct sig_redis_link *l = ac->data;
	if (status != REDIS_OK)
		l->on_down(l, false, ac->errstr);
}

int sig_redis_link_open(struct sig_redis_link *l, struct lws_context *ctx,
                        const struct sig_redis_addr *a)
{
	struct lws_vhost *vh = lws_get_vhost_by_name(ctx, "default");
	l->ac = a->unix_socket ? redisAsyncConnectUnix(a->host) : redisAsyncConnect(a->host, a->port);
	if (!l->ac || l->ac->err) {
		pp_warn("redis: cannot connect to %s: %s", a->host, l->ac ? l->ac->errstr : "out of memory");
		if (l->ac)
			redisAsyncFree(l->ac);
		l->ac = NULL;
		return -1;
	}
	l->ac->data = l;
	l->ac->ev.data = l;
	l->ac->ev.addRead = sig_ev_nop;
	l->ac->ev.delRead = sig_ev_nop;
	l->ac->ev.addWrite = sig_ev_add_write;
	l->ac->ev.delWrite = sig_ev_nop;
	l->ac->ev.cleanup = sig_ev_cleanup;
	redisAsyncSetConnectCallback(l->ac, sig_redis_on_connect);
	redisAsyncSetDisconnectCallback(l->ac, sig_redis_on_disconnect);
	/* lws closes what it adopted: give it its own descriptor. */
	lws_sock_file_fd_type fd = { .filefd = dup(l->ac->c.fd) };
	l->wsi = fd.filefd < 0 ? NULL
	                       : lws_adopt_descriptor_vhost(vh, LWS_ADOPT_RAW_FILE_DESC, fd, "pp-redis-raw", NULL);
	if (!l->wsi) {
		if (fd.filefd >= 0)
			close(fd.filefd);
		redisAsyncFree(l->ac); /* its cleanup clears l->ac */
		return -1;
	}
	lws_set_opaque_user_data(l->wsi, l);
	lws_callback_on_writable(l->wsi); /* completes the non-blocking connect */
	return 0;
}

int sig_redis_addr_parse(struct sig_redis_addr *a, const char *url, char *err, size_t errlen)
{
	memset(a, 0, sizeof(*a));
	if (strncmp(url, "unix:", 5) == 0 && url[5] == '/') {
		a->unix_socket = true;
		if (strlen(url + 5) < sizeof(a->host)) {
			memcpy(a->host, url + 5, strlen(url + 5) + 1);
			return 0;
		}
		goto bad;
	}
	if (strncmp(url, "redis://", 8) != 0)
		goto bad;
	const char *h = url + 8, *colon = strrchr(h, ':');
	size_t hl = colon ? (size_t)(colon - h) : strlen(h);
	if (hl == 0 || hl >= sizeof(a->host) || strpbrk(h, "@/"))
		goto bad;
	memcpy(a->host, h, hl);
	a->host[hl] = '\0';
	a->port = 6379;
	if (colon) {
		char *end;
		long port = strtol(colon + 1, &end, 10);
		if (*end || port < 1 || port > 65535)
			goto bad;
		a->port = (int)port;
	}
	return 0;
bad:
	snprintf(err, errlen, "redis.url \"%s\": expected redis://HOST[:PORT] or unix:/PATH "
	         "(credentials go in redis.password_file)", url);
	return PP_ERR_CONFIG;
}
