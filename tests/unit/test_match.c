/* test_match: the keyword matching of auto-reply rules (common/wa_match):
 * each kind on the texts users send, case folding beyond ASCII, and a
 * hostile REGEX that must give up rather than stall. */
#include "tap.h"
#include "wa_match.h"

#include <stdlib.h>
#include <string.h>

int main(void)
{
	char why[200], *longtext;

	is_int(wa_match_type_parse("EXACT"), WA_MATCH_EXACT, "EXACT");
	is_int(wa_match_type_parse("starts_with"), WA_MATCH_STARTS_WITH, "names are case-insensitive");
	is_int(wa_match_type_parse("FUZZY"), -1, "an unknown type");

	is_int(wa_match(WA_MATCH_EXACT, "hello", "Hello"), 1, "EXACT ignores case");
	is_int(wa_match(WA_MATCH_EXACT, "hello", "  hello \n"), 1, "EXACT ignores surrounding space");
	is_int(wa_match(WA_MATCH_EXACT, "hello", "hello there"), 0, "EXACT is the whole text");
	is_int(wa_match(WA_MATCH_EXACT, "price?", "PRICE?"), 1, "EXACT takes the keyword literally");
	is_int(wa_match(WA_MATCH_EXACT, "ÖFFNUNGSZEITEN", "öffnungszeiten"), 1, "Unicode case folding");
	is_int(wa_match(WA_MATCH_CONTAINS, "price", "what is the PRICE of it"), 1, "CONTAINS anywhere");
	is_int(wa_match(WA_MATCH_CONTAINS, "a.b", "axb"), 0, "CONTAINS is literal");
	is_int(wa_match(WA_MATCH_STARTS_WITH, "#order", "#ORDER 42"), 1, "STARTS_WITH");
	is_int(wa_match(WA_MATCH_STARTS_WITH, "#order", "my #order"), 0, "STARTS_WITH only at the start");
	is_int(wa_match(WA_MATCH_REGEX, "^order [0-9]+$", "Order 42"), 1, "REGEX, caseless");
	is_int(wa_match(WA_MATCH_REGEX, "\\border\\b", "reorder"), 0, "REGEX word boundaries");
	is_int(wa_match(WA_MATCH_REGEX, "inv(oice)?", "send the INVOICE"), 1, "REGEX searched anywhere");
	is_int(wa_match(WA_MATCH_CONTAINS, "x", "\xff\xfe"), -1, "a text that is not UTF-8 matches nothing");

	ok(wa_match_check(WA_MATCH_REGEX, "([a-z]+", why, sizeof why) != 0 && strstr(why, "offset"), "a broken pattern");
	ok(wa_match_check(WA_MATCH_REGEX, "^hi$", why, sizeof why) == 0, "a good pattern");
	ok(wa_match_check(WA_MATCH_EXACT, "", why, sizeof why) != 0, "an empty keyword");
	ok(wa_match_check(WA_MATCH_CONTAINS, "([", why, sizeof why) == 0, "literal kinds take any text");

	/* catastrophic backtracking: bounded, and no match */
	longtext = malloc(40001);
	memset(longtext, 'a', 40000);
	longtext[40000] = '\0';
	longtext[39999] = '!';
	is_int(wa_match(WA_MATCH_REGEX, "^(a+)+$", longtext), -1, "(a+)+$ on 40,000 a's gives up at its limit");
	is_int(wa_match(WA_MATCH_REGEX, "(x+x+)+y", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx!y"), -1, "(x+x+)+y gives up");
	is_int(wa_match(WA_MATCH_CONTAINS, "!", longtext), 1, "a literal search of a long text is fine");
	free(longtext);
	return tap_done();
}
