/* wa_match: see wa_match.h. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "wa_match.h"

#include <pcre2.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

int wa_match_type_parse(const char *s)
{
	static const char *const names[] = { "EXACT", "CONTAINS", "STARTS_WITH", "REGEX" };

	for (int i = 0; s && i < 4; i++)
		if (strcasecmp(s, names[i]) == 0)
			return i;
	return -1;
}

static pcre2_code *compile(enum wa_match_type t, const char *keyword, int *err, PCRE2_SIZE *off)
{
	uint32_t opts = PCRE2_UTF | PCRE2_CASELESS;

	if (t != WA_MATCH_REGEX)
		opts |= PCRE2_LITERAL;
	if (t == WA_MATCH_EXACT)
		opts |= PCRE2_ANCHORED | PCRE2_ENDANCHORED;
	else if (t == WA_MATCH_STARTS_WITH)
		opts |= PCRE2_ANCHORED;
	return pcre2_compile((PCRE2_SPTR)keyword, PCRE2_ZERO_TERMINATED, opts, err, off, NULL);
}

int wa_match_check(enum wa_match_type t, const char *keyword, char *why, size_t cap)
{
	pcre2_code *re;
	PCRE2_UCHAR msg[160];
	PCRE2_SIZE off = 0;
	int err = 0;

	if (!keyword || !*keyword || strlen(keyword) > WA_MATCH_KEYWORD_MAX) {
		snprintf(why, cap, "the keyword must be 1 to %d bytes", WA_MATCH_KEYWORD_MAX);
		return -1;
	}
	if ((int)t < WA_MATCH_EXACT || t > WA_MATCH_REGEX) {
		snprintf(why, cap, "unknown match type");
		return -1;
	}
	if (!(re = compile(t, keyword, &err, &off))) {
		pcre2_get_error_message(err, msg, sizeof msg);
		snprintf(why, cap, "%s at offset %zu", (const char *)msg, (size_t)off);
		return -1;
	}
	pcre2_code_free(re);
	return 0;
}

int wa_match(enum wa_match_type t, const char *keyword, const char *text)
{
	pcre2_match_context *mc = NULL;
	pcre2_match_data *md = NULL;
	pcre2_code *re;
	PCRE2_SIZE off = 0;
	size_t start = 0, len;
	int err = 0, rc = -1;

	if (!keyword || !text || !(re = compile(t, keyword, &err, &off)))
		return -1;
	len = strlen(text);
	if (t == WA_MATCH_EXACT) {
		/* white space around the text does not count */
		while (start < len && strchr(" \t\r\n", text[start]))
			start++;
		while (len > start && strchr(" \t\r\n", text[len - 1]))
			len--;
	}
	md = pcre2_match_data_create_from_pattern(re, NULL);
	mc = pcre2_match_context_create(NULL);
	if (md && mc) {
		pcre2_set_match_limit(mc, WA_MATCH_LIMIT);
		pcre2_set_depth_limit(mc, WA_MATCH_DEPTH);
		pcre2_set_heap_limit(mc, WA_MATCH_HEAP);
		rc = pcre2_match(re, (PCRE2_SPTR)text + start, len - start, 0, 0, md, mc);
		rc = rc >= 0 ? 1 : rc == PCRE2_ERROR_NOMATCH ? 0 : -1;
	}
	pcre2_match_context_free(mc);
	pcre2_match_data_free(md);
	pcre2_code_free(re);
	return rc;
}
