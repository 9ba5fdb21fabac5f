/* SPDX-License-Identifier: Apache-2.0 */
/* Temporary directory trees that unit tests make and remove. */
#ifndef PEERPIPE_TESTS_TMPTREE_H
#define PEERPIPE_TESTS_TMPTREE_H

/* Removes dir and everything below it (symbolic links are removed, never
 * followed). */
void tmptree_remove(const char *dir);

#endif
