/* wa_match: the keyword matching of auto-reply rules (EXACT, CONTAINS,
 * STARTS_WITH, REGEX), one engine for the workers that check a rule when
 * it is saved and the engines that match incoming messages.
 *
 * Every kind is case-insensitive with Unicode case folding (PCRE2 with
 * PCRE2_UTF | PCRE2_CASELESS; \w and \d stay ASCII): EXACT is the whole text, leading and
 * trailing white space ignored; STARTS_WITH its start; CONTAINS anywhere;
 * REGEX a PCRE2 pattern (Perl syntax) searched anywhere in the text (use
 * ^ and $ to anchor). A match is bounded (WA_MATCH_LIMIT backtracking
 * steps, WA_MATCH_DEPTH nesting, WA_MATCH_HEAP bytes): a hostile pattern
 * such as (a+)+$ on a long text gives up instead of stalling the engine,
 * and counts as no match.
 *
 * Pure; reentrant (no shared state). */
#ifndef WA_MATCH_H
#define WA_MATCH_H

#include <stddef.h>

#define WA_MATCH_LIMIT 100000u      /* pcre2 match limit: backtracking steps */
#define WA_MATCH_DEPTH 1000u        /* pcre2 depth limit */
#define WA_MATCH_HEAP 1024u         /* pcre2 heap limit, KiB */
#define WA_MATCH_KEYWORD_MAX 255

enum wa_match_type { WA_MATCH_EXACT = 0, WA_MATCH_CONTAINS, WA_MATCH_STARTS_WITH, WA_MATCH_REGEX };

/* "EXACT" ... "REGEX" -> the type, or -1. */
int wa_match_type_parse(const char *s);

/* Whether keyword is usable with type t: 0, or -1 with why (a sentence,
 * e.g. the pattern's compile error and offset) in why[cap]. */
int wa_match_check(enum wa_match_type t, const char *keyword, char *why, size_t cap);

/* 1 when text matches, 0 when not; -1 when the keyword does not compile,
 * text is not UTF-8, or the match gave up at its limits (all: no match). */
int wa_match(enum wa_match_type t, const char *keyword, const char *text);

#endif
