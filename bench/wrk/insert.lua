-- The bare insert: an empty POST, the same request line every time.
-- wrk ... -s insert.lua URL
dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")

wrk.method = "POST"
