/* validate: declarative checks of a JSON request body and of JID inputs.
 * Every failure replies 400 in the API's error shape with a message naming
 * the field, and returns -1; nothing has been changed at that point. */
#ifndef WA_FCGI_VALIDATE_H
#define WA_FCGI_VALIDATE_H

#include "fcgi/router.h"

/* Check r->json (an object) against `fields` (WA_F_END-terminated). JID
 * fields (WA_F_JID, WA_F_ARR_JID) are replaced in r->json by their
 * normalised form ("628..@s.whatsapp.net"). */
int wa_validate_body(struct wa_req *r, const struct wa_field *fields);

/* Normalise a recipient (phone number or JID) into out (WA_JID_STR_MAX).
 * Returns 0, or -1 after replying 400 naming `field`. */
int wa_validate_jid(struct wa_req *r, const char *field, const char *in, char *out, size_t outlen);

/* Like wa_validate_jid without replying; why gets the reason. */
int wa_jid_normalise_input(const char *in, char *out, size_t outlen, const char **why);

/* Convenience getters on r->json (after validation). */
const char *wa_body_str(struct wa_req *r, const char *name);   /* NULL if absent/not string */
int wa_body_bool(struct wa_req *r, const char *name, int def);

#endif
