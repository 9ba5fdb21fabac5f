/* SPDX-License-Identifier: Apache-2.0 */
#include "peerpipe/error.h"

#include <string.h>

static const char *const pp_err_text[] = {
	[0] = "success",
	[-(PP_ERR_INVALID - PP_ERR_BASE)] = "malformed input",
	[-(PP_ERR_TOO_BIG - PP_ERR_BASE)] = "over the configured limit",
	[-(PP_ERR_NOMEM - PP_ERR_BASE)] = "out of memory",
	[-(PP_ERR_NOT_FOUND - PP_ERR_BASE)] = "not found",
	[-(PP_ERR_AUTH - PP_ERR_BASE)] = "authentication failed",
	[-(PP_ERR_EXPIRED - PP_ERR_BASE)] = "expired",
	[-(PP_ERR_NOT_YET - PP_ERR_BASE)] = "not valid yet",
	[-(PP_ERR_CONFIG - PP_ERR_BASE)] = "configuration error",
	[-(PP_ERR_CRYPTO - PP_ERR_BASE)] = "cryptographic operation failed",
	[-(PP_ERR_STATE - PP_ERR_BASE)] = "operation not valid in this state",
	[-(PP_ERR_UNSUPPORTED - PP_ERR_BASE)] = "not supported",
	[-(PP_ERR_TRUNCATED - PP_ERR_BASE)] = "input truncated",
	[-(PP_ERR_REPLAY - PP_ERR_BASE)] = "replayed or too old",
};

const char *pp_strerror(int err)
{
	if (err == 0)
		return pp_err_text[0];
	if (err < PP_ERR_BASE && err > PP_ERR_LAST)
		return pp_err_text[-(err - PP_ERR_BASE)];
	if (err < 0 && err > PP_ERR_BASE)
		return strerror(-err);
	return "unknown error";
}
