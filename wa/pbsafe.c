/* pbsafe.c: depth-bounded protobuf unpack (see pbsafe.h). */
#include "wa/pbsafe.h"

static int read_varint(const uint8_t *p, size_t len, size_t *pos, uint64_t *out)
{
	uint64_t v = 0;

	for (unsigned shift = 0; shift < 70; shift += 7) {
		uint8_t b;

		if (*pos >= len)
			return -1;
		b = p[(*pos)++];
		if (shift == 63 && (b & 0x7E))
			return -1; /* more than 64 bits */
		v |= (uint64_t)(b & 0x7F) << shift;
		if (!(b & 0x80)) {
			*out = v;
			return 0;
		}
	}
	return -1;
}

static int walk(const ProtobufCMessageDescriptor *desc, const uint8_t *p, size_t len,
		unsigned depth, unsigned max_depth)
{
	size_t pos = 0;

	if (depth > max_depth)
		return -1;
	while (pos < len) {
		uint64_t key, v;
		unsigned num;

		if (read_varint(p, len, &pos, &key) < 0)
			return -1;
		num = (unsigned)(key >> 3);
		if (num == 0 || key >> 3 > 0x1FFFFFFF)
			return -1;
		switch (key & 7) {
		case 0:
			if (read_varint(p, len, &pos, &v) < 0)
				return -1;
			break;
		case 1:
			if (len - pos < 8)
				return -1;
			pos += 8;
			break;
		case 5:
			if (len - pos < 4)
				return -1;
			pos += 4;
			break;
		case 2: {
			const ProtobufCFieldDescriptor *f;

			if (read_varint(p, len, &pos, &v) < 0 || v > len - pos)
				return -1;
			f = desc ? protobuf_c_message_descriptor_get_field(desc, num) : NULL;
			if (f && f->type == PROTOBUF_C_TYPE_MESSAGE &&
			    walk(f->descriptor, p + pos, (size_t)v, depth + 1, max_depth) < 0)
				return -1;
			pos += (size_t)v;
			break;
		}
		default:
			return -1;
		}
	}
	return 0;
}

int wa_pb_check(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
		unsigned max_depth)
{
	if (desc == NULL || (data == NULL && len))
		return -1;
	return walk(desc, data, len, 1, max_depth);
}

ProtobufCMessage *wa_pb_unpack(const ProtobufCMessageDescriptor *desc, const uint8_t *data,
			       size_t len, unsigned max_depth)
{
	if (wa_pb_check(desc, data, len, max_depth) < 0)
		return NULL;
	return protobuf_c_message_unpack(desc, NULL, len, data ? data : (const uint8_t *)"");
}
