// node.mjs: the idle-longpoll workload of feedsload (main.go) with a
// Node.js client, as nano and PouchDB hold their longpolls: Node's http
// module through one keep-alive Agent with unbounded sockets. It parks N
// longpolls, makes one write and times each listener's whole answer
// ('end' of the response) from the write, with this process's CPU and
// the server's (from /proc) over the same window.
//
//   node bench/feedsload/node.mjs URL N PID WRITE_URL [AUTH]
//
// Output lines match feedsload's, so bench/feeds.sh reads both.
import http from 'node:http';
import { readFileSync } from 'node:fs';

const [url, nArg, pidArg, writeURL, auth = ''] = process.argv.slice(2);
const n = Number(nArg);
const pid = Number(pidArg);
const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });

// cpuTicks is the user+system CPU of a process in clock ticks (10 ms).
function cpuTicks(p) {
  const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

let t0 = 0;
const lat = [];
let failed = 0;
let parked = 0;
let onParked;
const allParked = new Promise((resolve) => { onParked = resolve; });
let onDone;
const allDone = new Promise((resolve) => { onDone = resolve; });

function settle() {
  if (lat.length + failed === n) onDone();
}

function listen(dialing) {
  const req = http.get(url, { agent, headers: { Accept: 'application/json' } }, (res) => {
    parked++;
    dialing();
    if (parked === n) onParked();
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (c) => { body += c; });
    res.on('end', () => {
      if (t0 && body.includes('"last_seq"')) lat.push(performance.now() - t0);
      else failed++;
      settle();
    });
  });
  req.on('error', () => { failed++; dialing(); settle(); });
}

// Dial 200 at a time, as feedsload does.
const started = performance.now();
let next = 0;
function dialing() {
  if (next < n) { next++; listen(dialing); }
}
for (let i = 0; i < Math.min(200, n); i++) dialing();
await allParked;
console.log(`parked=${parked} of ${n} in ${((performance.now() - started) / 1000).toFixed(2)}s`);
await new Promise((r) => setTimeout(r, 1500));

const cpu0 = cpuTicks(pid);
const self0 = process.cpuUsage();
t0 = performance.now();
// The write goes through http too (fetch would load undici on first
// use, inside the timed window).
await new Promise((resolve, reject) => {
  const w = http.request(writeURL, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/json', Authorization: auth },
  }, (res) => { res.resume(); res.on('end', resolve); });
  w.on('error', reject);
  w.end('{"data":{}}');
});
const wrote = performance.now() - t0;
await Promise.race([allDone, new Promise((r) => setTimeout(r, 90_000))]);
const serverCPU = (cpuTicks(pid) - cpu0) * 10;
const self = process.cpuUsage(self0);
const clientCPU = Math.round((self.user + self.system) / 1000);
lat.sort((a, b) => a - b);
const pct = (p) => (lat.length ? lat[Math.min(lat.length - 1, Math.ceil((p / 100) * lat.length) - 1)] : 0);
console.log(`answered=${lat.length} failed=${failed} p50_ms=${pct(50).toFixed(1)} p99_ms=${pct(99).toFixed(1)} max_ms=${pct(100).toFixed(1)} server_cpu_ms=${serverCPU} client_cpu_ms=${clientCPU}`);
console.log(`write_ms=${wrote.toFixed(1)} min_ms=${(lat[0] ?? 0).toFixed(1)}`);
agent.destroy();
process.exit(0);
