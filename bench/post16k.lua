-- wrk script for the post-16k scenario of `make bench`: the same 16 KiB body on every request
-- (wrk adds Content-Length itself).
wrk.method = "POST"
wrk.body = string.rep("x", 16 * 1024)
wrk.headers["Content-Type"] = "application/octet-stream"
