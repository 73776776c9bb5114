/* Unit tests for fcgi/auth's secrets: argon2id password hashes and API keys. */
#include "tap.h"
#include "fcgi/auth.h"
#include "wa_util.h"

static void test_passwords(void)
{
	char h1[256], h2[256];

	ok(wa_password_hash("correct horse", h1, sizeof h1) == 0, "hash a password");
	ok(strncmp(h1, "$argon2id$v=19$m=19456,t=2,p=1$", 31) == 0, "argon2id with the documented cost");
	ok(wa_password_verify(h1, "correct horse"), "right password verifies");
	ok(!wa_password_verify(h1, "correct horsf"), "wrong password fails");
	ok(!wa_password_verify(h1, ""), "empty password fails");
	ok(wa_password_hash("correct horse", h2, sizeof h2) == 0 && strcmp(h1, h2) != 0, "salts differ");
	ok(!wa_password_verify("plain-text", "plain-text"), "non-argon2 stored value never verifies");
	ok(!wa_password_verify(NULL, "x"), "NULL hash never verifies");
	ok(wa_password_hash("x", h1, 20) < 0, "too small output buffer is an error");
}

static void test_api_keys(void)
{
	char k1[80], k2[80], hash[65], prefix[17], check[65];

	ok(wa_api_key_new(k1, sizeof k1, hash, prefix) == 0, "make a key");
	is_int(strlen(k1), 4 + 48, "key is wak_ + 48 hex digits");
	ok(strncmp(k1, WA_API_KEY_PREFIX, 4) == 0, "key prefix");
	wa_sha256_hex(k1, strlen(k1), check);
	is_str(hash, check, "stored hash is SHA-256 of the key");
	ok(strncmp(prefix, k1, 12) == 0 && strlen(prefix) == 12, "display prefix is wak_ and 8 key characters");
	ok(wa_api_key_new(k2, sizeof k2, hash, prefix) == 0 && strcmp(k1, k2) != 0, "keys are random");
	ok(wa_api_key_new(k2, 20, hash, prefix) < 0, "short buffer refused");
}

static void test_roles(void)
{
	is_int(wa_role_parse("SUPERADMIN"), WA_ROLE_SUPERADMIN, "parse SUPERADMIN");
	is_int(wa_role_parse("STAFF"), WA_ROLE_STAFF, "parse STAFF");
	is_int(wa_role_parse("staff"), WA_ROLE_NONE, "roles are case-sensitive");
	is_str(wa_role_name(WA_ROLE_OWNER), "OWNER", "role name");
}

int main(void)
{
	test_passwords();
	test_api_keys();
	test_roles();
	return tap_done();
}
