// Posts 80 KB multipart uploads to the URL given, from 16 clients in turn
// for the milliseconds given, and prints what came back as JSON: the count
// of each status, and the requests that failed in the client.
const [url, ms = "1500"] = Deno.args;
const statuses: Record<number, number> = {};
const failures: string[] = [];
const deadline = Date.now() + Number(ms);
await Promise.all(Array.from({ length: 16 }, async () => {
  while (Date.now() < deadline) {
    const form = new FormData();
    form.append("title", "t");
    form.append("file", new File([new Uint8Array(80_000)], "a.bin"));
    try {
      const r = await fetch(url, {
        method: "POST",
        body: form,
        redirect: "manual",
      });
      await r.body?.cancel();
      statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    } catch (error) {
      failures.push(`${error} ${(error as Error).cause ?? ""}`);
    }
  }
}));
console.log(JSON.stringify({ statuses, failures }));
