-- wrk script: POST /send with a numbered text, for the outbound rate
-- without the Python client's CPU (bench/README.md, Engine).
--   KEY=<api key> wrk -t1 -c64 -d6s --latency -s bench/send.lua \
--     http://127.0.0.1:PORT/api/messages/<sessionId>/<phone>@s.whatsapp.net/send
-- The session and phone: a bench/engine.sh run with --keep.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-API-Key"] = os.getenv("KEY")
local n = 0
request = function()
	n = n + 1
	return wrk.format(nil, nil, nil, '{"message":{"text":"wrk ' .. n .. '"}}')
end
