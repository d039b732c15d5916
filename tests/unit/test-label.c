/* SPDX-License-Identifier: MIT */
/*
 * Unit test: the trusted label (core/label.c). Every byte outside the safe
 * set comes out as \xNN, a backslash included, so that the frame can mark
 * every escape and no name forges one; format codes; cutting long labels
 * never splits an escape.
 */
#include <string.h>

#include "label.h"
#include "check.h"

static void
check_label(const char *fmt, const char *name, const char *uid,
	    const char *want)
{
	struct label_fields f = {
		.name = name, .domid = 7, .connector = 1, .unique_id = uid,
	};
	char out[LABEL_MAX];

	label_format(out, sizeof(out), fmt, &f);
	CHECK(strcmp(out, want) == 0, "format \"%s\": got \"%s\", want \"%s\"",
	      fmt, out, want);
}

/* No escape is cut, and no byte outside the safe set survives. */
static void
check_all_safe(const char *s)
{
	for (const char *p = s; *p; p++) {
		CHECK(label_char_safe((unsigned char)*p) || *p == '\\',
		      "byte %#x in \"%s\"", (unsigned char)*p, s);
		if (*p == '\\') {
			CHECK(p[1] == 'x' && p[2] && p[3] &&
			      strchr("0123456789abcdef", p[2]) &&
			      strchr("0123456789abcdef", p[3]),
			      "a whole escape at %td of \"%s\"", p - s, s);
		}
	}
}

int
main(void)
{
	char buf[LABEL_MAX], small[16];
	struct label_fields f = { .name = "x" };
	const char *why = NULL;

	/* The default format and every code. */
	check_label(LABEL_DEFAULT_FORMAT, "domU-1", NULL, "domU-1: display 1");
	check_label("%n (%i) %c/%u 100%%", "web", "42", "web (7) 1/42 100%");
	check_label("[%u]", "web", NULL, "[]");

	/* Control characters, DEL, the backslash itself. */
	check_label("%n", "a\x1b[31mb", NULL, "a\\x1b[31mb");
	check_label("%n", "tab\there\x7f", NULL, "tab\\x09here\\x7f");
	check_label("%n", "a\\x41", NULL, "a\\x5cx41");
	/* U+202E RIGHT-TO-LEFT OVERRIDE (e2 80 ae): every byte escaped. */
	check_label("%n", "gpj.\xe2\x80\xae" "exe", NULL,
		    "gpj.\\xe2\\x80\\xaeexe");
	/* Cyrillic a (d0 b0) in a look-alike of "banking". */
	check_label("%n", "b\xd0\xb0nking", NULL, "b\\xd0\\xb0nking");
	/* The unique-id (guest-writable in xenstore) and the format too. */
	check_label("%u", "n", "\x01", "\\x01");
	check_label("\xc3\xa9: %n", "n", NULL, "\\xc3\\xa9: n");

	/* Long labels end in "..." and never in half an escape. */
	for (size_t cap = 4; cap <= sizeof(small); cap++) {
		f.name = "\x01\x02\x03\x04\x05\x06\x07\x08";
		CHECK(!label_format(small, cap, "%n", &f), "cut at %zu", cap);
		CHECK(strlen(small) < cap, "fits in %zu", cap);
		CHECK(strlen(small) >= 3 &&
		      !strcmp(small + strlen(small) - 3, "..."),
		      "\"%s\" ends in ... (cap %zu)", small, cap);
		small[strlen(small) - 3] = '\0';
		check_all_safe(small);
	}
	memset(buf, 'a', sizeof(buf));
	buf[sizeof(buf) - 1] = '\0';
	f.name = buf;
	{
		char out[LABEL_MAX];

		CHECK(!label_format(out, sizeof(out), "%n", &f), "long name");
		CHECK_EQ(strlen(out), LABEL_MAX - 1, "long name cut to fit");
	}

	/* Every byte value: escaped iff outside 0x20..0x7e or a backslash. */
	for (int c = 1; c < 256; c++) {
		char in[2] = { (char)c, 0 }, out[8] = "";

		label_append(out, sizeof(out), in, 1);
		if (c >= 0x20 && c <= 0x7e && c != '\\') {
			CHECK(out[0] == c && out[1] == 0, "byte %#x as is", c);
		} else {
			char want[8];

			snprintf(want, sizeof(want), "\\x%02x", c);
			CHECK(!strcmp(out, want), "byte %#x: \"%s\"", c, out);
		}
	}

	/* Formats: known codes only. */
	CHECK(label_format_valid("%n: %c %u %i %%", NULL), "all codes");
	CHECK(!label_format_valid("%n: %s", &why) && why, "unknown code");
	CHECK(!label_format_valid("50%", &why) && why, "trailing %%");

	CHECK_DONE("label");
}
