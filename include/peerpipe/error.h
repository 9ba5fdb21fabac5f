/* SPDX-License-Identifier: Apache-2.0 */
/* Error codes shared by every libpeerpipe module.
 *
 * Library functions return 0 on success or a negative code: either one of
 * the PP_ERR_* values below or a negated errno value. pp_strerror() turns
 * either kind into a human-readable string. */
#ifndef PEERPIPE_ERROR_H
#define PEERPIPE_ERROR_H

/* Our codes live above the errno range so they never collide. */
enum pp_err {
	PP_OK = 0,
	PP_ERR_BASE = -10000,
	PP_ERR_INVALID = PP_ERR_BASE - 1,      /* malformed input */
	PP_ERR_TOO_BIG = PP_ERR_BASE - 2,      /* over a configured limit */
	PP_ERR_NOMEM = PP_ERR_BASE - 3,        /* allocation failed */
	PP_ERR_NOT_FOUND = PP_ERR_BASE - 4,    /* missing item or key */
	PP_ERR_AUTH = PP_ERR_BASE - 5,         /* authentication failed */
	PP_ERR_EXPIRED = PP_ERR_BASE - 6,      /* token or credential expired */
	PP_ERR_NOT_YET = PP_ERR_BASE - 7,      /* token not valid yet */
	PP_ERR_CONFIG = PP_ERR_BASE - 8,       /* configuration error */
	PP_ERR_CRYPTO = PP_ERR_BASE - 9,       /* crypto library failure */
	PP_ERR_STATE = PP_ERR_BASE - 10,       /* call not valid in this state */
	PP_ERR_UNSUPPORTED = PP_ERR_BASE - 11, /* valid but not supported */
	PP_ERR_TRUNCATED = PP_ERR_BASE - 12,   /* input ended too early */
	PP_ERR_REPLAY = PP_ERR_BASE - 13,      /* seen already, or too old */
	PP_ERR_LAST = PP_ERR_BASE - 14,
};

/* Never returns NULL; the string is static. */
const char *pp_strerror(int err);

#endif
