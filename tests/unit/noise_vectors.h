/* noise_vectors.h: the "noise" section of tests/vectors/protocol.json
 * (docs/protocol.md §15.1) as C literals, shared by test_noise.c and
 * test_cert.c. Generated once from the JSON; the values are the vectors'
 * own, nothing is computed here. Hex strings, decode with wa_hex_decode. */
#ifndef WA_TEST_NOISE_VECTORS_H
#define WA_TEST_NOISE_VECTORS_H

#define NV_CLIENT_EPHEMERAL_PRIV \
	"30939c5adddec942290b637530898a70f2d32453e5241f30a0550780e7586b47"

#define NV_CLIENT_EPHEMERAL_PUB \
	"f01e3feed2953d4221feddad1b6baa06ee321666eb0e170d33428905b0057d4e"

#define NV_CLIENT_STATIC_PRIV \
	"90956a5873bbc94d0db38a7b1fd4d0d8adfe5d767d0cd58bf577625e3b862548"

#define NV_CLIENT_STATIC_PUB \
	"24de8f2ff75214cb1687950ce47bc67abe785bba09e762caed52b5f92186a23f"

#define NV_SERVER_EPHEMERAL_PRIV \
	"58e551a192e32372d3dfca3025e3a6129aa00350e5ffceeb0184f61b25e23441"

#define NV_SERVER_EPHEMERAL_PUB \
	"98ce40bd9d69d7950579450cfcb9844f328d214b045f825a96bf70f9ae37b37d"

#define NV_SERVER_STATIC_PRIV \
	"40b0f52facd91e6603b9a1c026de0eb46ebcfc33fcf136a5a1c9b4980f664f73"

#define NV_SERVER_STATIC_PUB \
	"427265d836c915925b7db24ebb0e6be96b23a96d50dcfd9f9866aba150a5a50c"

#define NV_TEST_ROOT_PRIV \
	"40076fff55e3f645f089a7e5ea470837e05212dd479602c4958de41dceeecb74"

#define NV_TEST_ROOT_PUB \
	"e7699f04dcb2a332b7bbc0ea20cd287f92b4b6c04b351e8fb431f49da7f58224"

#define NV_TEST_INTERMEDIATE_PRIV \
	"d0412557944ff2178dafdebc0bb8afafca40fa4db9ead56cc64bd046f89ebb48"

#define NV_TEST_INTERMEDIATE_PUB \
	"307fa379d6168ab63e390d2e8f06366f5ce370975b74eb96db1206ee38a84006"

#define NV_CERT_CHAIN_PLAINTEXT \
	"0a760a32080210011a20427265d836c915925b7db24ebb0e6be96b23a96d50dcfd9f9866aba150a5a50c2080e2cfaa06" \
	"2880ae99a40f1240c02250d3ac03a192ad23873863def63ba4774b7bdafa51248f3f8344703396fc7828d5b4d7ebf6a5" \
	"1400c20fef0e2d8ea587f515e5699a362bb84ccec63ccc8f12760a32080110001a20307fa379d6168ab63e390d2e8f06" \
	"366f5ce370975b74eb96db1206ee38a840062080e2cfaa062880ae99a40f12409889be3fbb5277ccd53bd7529f5fc372" \
	"7aa22a79024676a0a25a411fe1f9c74ebcaa4d1d626fe80e0bc4f80091db994f6a8fc82506c19e9b5abd450a6c5c780b"

#define NV_CLIENT_PAYLOAD_PLAINTEXT \
	"088784b4f739180160016801900103880201"

#define NV_CLIENT_HELLO_PROTO \
	"12220a20f01e3feed2953d4221feddad1b6baa06ee321666eb0e170d33428905b0057d4e"

#define NV_FIRST_WS_MESSAGE_BYTES \
	"5741060300002412220a20f01e3feed2953d4221feddad1b6baa06ee321666eb0e170d33428905b0057d4e"

#define NV_SERVER_HELLO_PROTO \
	"1ad7020a2098ce40bd9d69d7950579450cfcb9844f328d214b045f825a96bf70f9ae37b37d12305e732b12cfa24b5855" \
	"3edc8e95dee2e4ddbf2e27b496ab303a2917aedb73627c14eb832ab12a6373a338eb0323095b4c1a8002e665cacd850e" \
	"c034a704969e2335528e29210dc7c2ea0a028c3c44c3556be49cb1319e3ea0e83b3e6255304ddd0ee48d5da8db7a4fda" \
	"13cd1b18953112b860e3d0adaa73a6b6e58ac691d19074312c8bcb94710bb475b93d8ce2dff096744c4443774588b826" \
	"6a34701b1b86a9095c42abe0443d7f28a0ff61846b2234bdad56dd29ad763e1760a6d9d4a4bad4bc329e3bde2d358e0b" \
	"0becf2f71253e95df757438efe634042245d1d2e287d67df8175f5a966f38c2c93c4490f515827b68b4862fe5e95ec93" \
	"f6c2b30d09c2036b35eb9f04a5635067e128de9964fb905e4942290ea71fea45fa0ee5c63856d757ec281d3bf19d76b4" \
	"e3212aec401b425bd41e"

#define NV_CLIENT_FINISH_PROTO \
	"22560a3069764527b298af30add1b4354c9fceae551ca1242ab8c0e61c3fbd75adbfad56e0549fdef164f5f1d1ba90af" \
	"1f73327f12225dd9efecf5e4436285a436d8fb1772070ee3a0c7fb8e78e376a1096a5106939abdc1"

#define NV_C2S_PLAIN "00f8091908ff831b2a1f11fa000304291657"
#define NV_C2S_CIPHER \
	"c908e6758105633a787cf469a3ac98f338bdacd387f939db2d71baa9df21a2fbbefb"

#define NV_S2C_PLAIN "00f8054c1aff05170000000076faff88123456789012345f76"
#define NV_S2C_CIPHER \
	"44f824cf5906f999c2fe388a674ff2b3e09b3b8cc623309afa9351a249521f0c46102300ae84bacd6e"

/* cert chain details (docs/protocol.md §15.1 prose) and signing nonces (testvectors.py) */
#define NV_CERT_NOT_BEFORE 1700000000u
#define NV_CERT_NOT_AFTER 4102444800u
#define NV_CERT_INTER_NONCE_BYTE 0x11
#define NV_CERT_LEAF_NONCE_BYTE 0x22

/* every intermediate value of the handshake, by its JSON key */
static const struct { const char *label, *hex; } nv_steps[] = {
	{ "h0_protocol_name",
	  "4e6f6973655f58585f32353531395f41455347434d5f53484132353600000000" },
	{ "h1_after_prologue",
	  "ffff0c9267310966f1311170c04b38c79504285bf5edf763e5c946492a50a755" },
	{ "h2_after_client_ephemeral",
	  "5ac8c26a339bae2fd940705293d8681c37f361223e6410a0b8f1cfa9a869a464" },
	{ "h3_after_server_ephemeral",
	  "0a011c2d8d20b2fcfadb9e67a39076af48b51171f676f9c7a589c2e991db2542" },
	{ "ck_after_ee",
	  "13bca07a43ecc6a77a03f22ac8de2cad6b3b0a2ab50e63275dbab33807e178fa" },
	{ "k_after_ee",
	  "238275b8d40646a5ccb195c92fc31d75bdd5e424db8a9d2528cf23645679e766" },
	{ "server_static_ciphertext",
	  "5e732b12cfa24b58553edc8e95dee2e4ddbf2e27b496ab303a2917aedb73627c14eb832ab12a6373a338eb0323095b4c" },
	{ "h4_after_server_static",
	  "7d7e5ba5a969a85ca6a627a261181d167b44723cfe43d2fcf20af04563cfc84c" },
	{ "ck_after_es",
	  "f59392d1752d86a915711f6e5c2e8782f717fbf76b5023f1bfb590a2a6196f9c" },
	{ "k_after_es",
	  "6e4c65e252be27c04b6a6ac3e6127cb7ae7353145e7854cb0b20d24641d3e032" },
	{ "h5_after_server_payload",
	  "d7eb5eaaccd496be7708e9bc67bfdc53d882ea6d124aed0d9b13d075fb74490e" },
	{ "client_static_ciphertext(iv counter 1)",
	  "69764527b298af30add1b4354c9fceae551ca1242ab8c0e61c3fbd75adbfad56e0549fdef164f5f1d1ba90af1f73327f" },
	{ "h6_after_client_static",
	  "8025b97200d0149181594420da8e7100fd8f2c8f987427565f56d91887b10942" },
	{ "ck_after_se",
	  "b0640fe0bc53acb5889076ab7976d367df5f95432ace775e42d487a855bdc5c7" },
	{ "k_after_se",
	  "e143515143a491c94b1cf5b11ffa1490e018cd5c54d954ff04c0f8bcea628525" },
	{ "client_payload_ciphertext",
	  "5dd9efecf5e4436285a436d8fb1772070ee3a0c7fb8e78e376a1096a5106939abdc1" },
	{ "transport_key_client_to_server",
	  "f791c6237f2b40c225238f1f503271959c823809e112cd32c722db5886fbcb00" },
	{ "transport_key_server_to_client",
	  "374acbd7816aaaa59cd113c3494417fabc26454615071676a46273c6d296e3d8" },
};

#endif
