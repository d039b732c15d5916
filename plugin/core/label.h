/* SPDX-License-Identifier: MIT */
/*
 * label: the trusted window label, built from toolstack data only and
 * made safe to show. Pure: no I/O, unit-tested.
 *
 * The safe set is printable ASCII (0x20..0x7e) minus the backslash. Any
 * other byte (control characters, DEL, every byte of a UTF-8 sequence:
 * bidi overrides such as U+202E, Cyrillic or Greek look-alikes of Latin
 * letters, zero-width characters) is written as the four characters
 * "\xNN". A backslash is itself escaped ("\x5c"), so in a label every
 * backslash starts an escape: the frame draws those marked (another
 * colour), and no name can forge a marked or an unmarked sequence. The
 * escape-everything-non-ASCII rule is deliberately conservative: a
 * security label must read the same to every user, whatever fonts and
 * scripts they know. It costs non-ASCII domain names a less readable
 * title, which says what it is.
 *
 * The format ([vdispl] label=, default LABEL_DEFAULT_FORMAT) takes:
 *   %n  the domain name (/local/domain/<domid>/name, written by the
 *       toolstack; "domain-<domid>" when it has none)
 *   %i  the domain id
 *   %c  the connector index (0..3)
 *   %u  the connector's unique-id (empty when it has none)
 *   %%  a percent sign
 */
#ifndef VDISPL_LABEL_H
#define VDISPL_LABEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LABEL_DEFAULT_FORMAT "%n: display %c"
/* The longest label, NUL included; longer ones end in "...". */
#define LABEL_MAX 256

/* Is @c shown as is? */
bool
label_char_safe(unsigned char c);

/*
 * Append @src (@n bytes, NULs included) to @dst (NUL-terminated, @cap
 * bytes), escaping every byte outside the safe set. Escapes are never
 * split: when @dst fills up, it ends in "..." and false is returned.
 */
bool
label_append(char *dst, size_t cap, const char *src, size_t n);

struct label_fields {
	const char *name;	/* raw bytes from xenstore, NUL-terminated */
	uint32_t domid;
	uint32_t connector;
	const char *unique_id;	/* NULL: none */
};

/*
 * Format @fmt into @dst (@cap bytes, at least 4). Every piece, the
 * format's own text included, goes through label_append(). False if the
 * label was cut short.
 */
bool
label_format(char *dst, size_t cap, const char *fmt,
	     const struct label_fields *f);

/*
 * Is @fmt a valid label format? On false, @why (if not NULL) says what is
 * wrong: an unknown % code or a trailing %.
 */
bool
label_format_valid(const char *fmt, const char **why);

#endif
