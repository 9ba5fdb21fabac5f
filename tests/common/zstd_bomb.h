/* SPDX-License-Identifier: Apache-2.0 */
/* Hostile tunnel data messages shared by tests and test tools. */
#ifndef PEERPIPE_TESTS_ZSTD_BOMB_H
#define PEERPIPE_TESTS_ZSTD_BOMB_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

/* A tunnel data message: the flags byte, then one zstd frame of n zero
 * bytes. content_size: whether the frame header says n (ZSTD_compress
 * does); false: streamed without a pledged size, the header has none.
 * NULL if zstd fails. */
GByteArray *pp_test_zstd_bomb(uint8_t flags, size_t n, bool content_size);

#endif
