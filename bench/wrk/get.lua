-- GET one stored request by a random id from a file: the path is PATTERN with %s replaced.
-- wrk ... -s get.lua URL -- IDS_FILE PATTERN
dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")

local ids, pattern = {}, nil

function init(args)
   for line in io.lines(args[1]) do ids[#ids + 1] = line end
   pattern = args[2]
   math.randomseed(os.time() * 100 + tid)
end

function request()
   return wrk.format("GET", string.format(pattern, ids[math.random(#ids)]))
end
