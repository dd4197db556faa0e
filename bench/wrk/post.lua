-- Open311 POST requests.json: a new report at a random address point ("lat,long" lines of
-- POINTS_FILE) for each request; every id the server acknowledges is written to
-- <prefix>-<thread>.txt so the benchmark can read them back.
-- wrk ... -s post.lua URL -- API_KEY SERVICE_CODE PREFIX POINTS_FILE
dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")

local key, code, out
local points = {}
local sent = 0

function init(args)
   key, code = args[1], args[2]
   out = io.open(args[3] .. "-" .. tid .. ".txt", "a")  -- appended: every round of a run adds its ids
   out:setvbuf("line")
   for line in io.lines(args[4]) do points[#points + 1] = line end
   math.randomseed(os.time() * 100 + tid)
end

function request()
   sent = sent + 1
   local lat, long = points[math.random(#points)]:match("([^,]+),([^,]+)")
   local body = string.format(
      "api_key=%s&service_code=%s&lat=%s&long=%s&description=Load+test+%d-%d",
      key, code, lat, long, tid, sent)
   return wrk.format("POST", nil, {["Content-Type"] = "application/x-www-form-urlencoded"}, body)
end

function response(status, headers, body)
   if status == 200 then
      local id = body:match('"service_request_id"%s*:%s*"([^"]+)"')
      if id then out:write(id, "\n") end
   end
end
