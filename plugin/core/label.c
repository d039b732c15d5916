/* SPDX-License-Identifier: MIT */
/*
 * label: the trusted window label (see label.h for the safe set, the
 * escapes and the format codes).
 */
#include <stdio.h>
#include <string.h>

#include "label.h"

bool
label_char_safe(unsigned char c)
{
	return c >= 0x20 && c <= 0x7e && c != '\\';
}

/* Mark @dst as cut short: "..." in place of what no longer fits. */
static void
ellipsis(char *dst, size_t cap)
{
	size_t len = strlen(dst);

	while (len > 0 && len + 4 > cap) {
		len--;
	}
	/* Never leave half an escape before the dots. */
	for (size_t k = 1; k <= 3 && k <= len; k++) {
		if (dst[len - k] == '\\') {
			len -= k;
			break;
		}
	}
	if (cap >= 4) {
		memcpy(dst + len, "...", 4);
	}
}

bool
label_append(char *dst, size_t cap, const char *src, size_t n)
{
	size_t len = strlen(dst);

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)src[i];
		size_t need = label_char_safe(c) ? 1 : 4;

		/* Room for this piece, the NUL, and "..." should more come. */
		if (len + need + 1 > cap ||
		    (i + 1 < n && len + need + 4 > cap)) {
			dst[len] = '\0';
			ellipsis(dst, cap);
			return false;
		}
		if (need == 1) {
			dst[len++] = (char)c;
		} else {
			snprintf(dst + len, 5, "\\x%02x", c);
			len += 4;
		}
	}
	dst[len] = '\0';
	return true;
}

bool
label_format_valid(const char *fmt, const char **why)
{
	for (const char *p = fmt; *p; p++) {
		if (*p != '%') {
			continue;
		}
		p++;
		if (!*p) {
			if (why) {
				*why = "ends in a lone %";
			}
			return false;
		}
		if (!strchr("nicu%", *p)) {
			if (why) {
				*why = "unknown % code (known: %n %i %c %u %%)";
			}
			return false;
		}
	}
	return true;
}

bool
label_format(char *dst, size_t cap, const char *fmt,
	     const struct label_fields *f)
{
	char num[16];

	if (cap < 4) {
		return false;
	}
	dst[0] = '\0';
	for (const char *p = fmt; *p; p++) {
		const char *piece = p;
		size_t n = 1;

		if (*p == '%' && p[1]) {
			p++;
			switch (*p) {
			case 'n':
				piece = f->name ? f->name : "";
				n = strlen(piece);
				break;
			case 'i':
				snprintf(num, sizeof(num), "%u", f->domid);
				piece = num;
				n = strlen(num);
				break;
			case 'c':
				snprintf(num, sizeof(num), "%u", f->connector);
				piece = num;
				n = strlen(num);
				break;
			case 'u':
				piece = f->unique_id ? f->unique_id : "";
				n = strlen(piece);
				break;
			default:
				/* "%%", and unknown codes shown as typed. */
				piece = p;
				break;
			}
		}
		if (!label_append(dst, cap, piece, n)) {
			return false;
		}
	}
	return true;
}
