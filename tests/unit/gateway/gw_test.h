/* SPDX-License-Identifier: Apache-2.0 */
/* Helpers shared by the gateway unit tests. */
#ifndef PP_TEST_GW_TEST_H
#define PP_TEST_GW_TEST_H

#include "gconfig.h"
#include "peerpipe/error.h"

#include <glib.h>
#include <stdio.h>
#include <string.h>

/* "sha-256 XX:XX:..." with every byte equal to b (distinct per b). */
static inline const char *gwt_fp(unsigned b)
{
	static char bufs[8][PP_FP_TEXT_MAX];
	static unsigned next;
	char *p = bufs[next++ % 8];
	int o = snprintf(p, PP_FP_TEXT_MAX, "sha-256 ");
	for (int i = 0; i < 32; i++)
		o += snprintf(p + o, (size_t)(PP_FP_TEXT_MAX - o), "%s%02X", i ? ":" : "", b & 0xff);
	return p;
}

#define GWT_HEAD "[gateway]\nsignal_url = wss://signal.example.org/v1/ws\ntoken_file = /nonexistent/token\n"

/* Parses text as "t.ini" without reading the token file. */
static inline int gwt_load(const char *text, struct gw_config **cfg, char *err)
{
	return gw_config_load_data("t.ini", text, strlen(text), GW_CONFIG_SKIP_TOKEN, cfg,
	                           err, PP_CFG_ERR_MAX);
}

static inline struct gw_config *gwt_load_ok(const char *text)
{
	struct gw_config *cfg = NULL;
	char err[PP_CFG_ERR_MAX] = "";
	if (gwt_load(text, &cfg, err) != 0)
		g_error("config refused: %s\n---\n%s", err, text);
	return cfg;
}

#endif
