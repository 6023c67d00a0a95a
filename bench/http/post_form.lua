-- A small urlencoded form, the same for every server.
wrk.method = "POST"
wrk.body = "name=pesto&lang=deno&x=1"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
