/* multipart.c: PLACEHOLDER until the parser lands (being written now). */
#include "fcgi/multipart.h"

int wa_mp_boundary(const char *content_type, char *out, size_t outlen)
{
	(void)content_type; (void)out; (void)outlen;
	return -1;
}

int wa_mp_parse(const char *body, size_t len, const char *boundary, struct wa_multipart *mp, const char **why)
{
	(void)body; (void)len; (void)boundary; (void)mp;
	*why = "not implemented";
	return -1;
}

const struct wa_mp_part *wa_mp_get(const struct wa_multipart *mp, const char *name)
{
	(void)mp; (void)name;
	return 0;
}
