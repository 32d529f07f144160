/**
 * Kiln and its peers side by side (issue 13, point 6): spawns one process per peer, one after
 * the other — Kiln (cpu), TensorFlow.js (cpu and wasm backends), jax-js (wasm) and PyTorch (CPU,
 * 2 threads) — collects their JSON reports and prints one table: a row per workload, a column
 * per peer (ms; GFLOP/s for matmul), then Kiln's time over each peer's.
 *
 *   npx -y deno@2.9.6 run -A bench/peers/run.ts [--quick] [--peers kiln,jax-js,...]
 *     [--skip tfjs-cpu:cnn,...] [--json FILE]
 *
 * A time counts only when the peer's result passed its check against the float64 reference
 * (the runners check themselves; PyTorch's training losses are checked here). A peer without an
 * op, or whose check failed, gets "n/a" and a footnote with the reason.
 * @module
 */
import * as c from "./common.ts";
import * as ref from "./reference.ts";

/** How to start each peer, relative to this folder. */
const PEERS: Record<string, { label: string; cmd: (args: string[]) => string[] }> = {
  "kiln": { label: "Kiln", cmd: (a) => deno("../../deno.json", "kiln.ts", a) },
  "tfjs-cpu": { label: "tfjs-cpu", cmd: (a) => deno("deno.json", "tfjs_cpu.ts", a) },
  "tfjs-wasm": { label: "tfjs-wasm", cmd: (a) => deno("deno.json", "tfjs_wasm.ts", a) },
  "jax-js": { label: "jax-js", cmd: (a) => deno("deno.json", "jaxjs.ts", a) },
  "torch": { label: "PyTorch", cmd: (a) => [python(), here("torch_peers.py"), ...a] },
};

function here(file: string): string {
  return decodeURIComponent(new URL(file, import.meta.url).pathname);
}

/** Kiln runs under the library's own config; the npm peers under this folder's, lock frozen. */
function deno(config: string, script: string, args: string[]): string[] {
  const lock = config === "deno.json" ? ["--frozen"] : [];
  return [Deno.execPath(), "run", "-A", "--config", here(config), ...lock, here(script), ...args];
}

/** The commit Kiln was measured at (`-dirty` with uncommitted changes), if git is at hand. */
async function kilnCommit(): Promise<string> {
  try {
    const out = await new Deno.Command("git", {
      args: ["describe", "--always", "--dirty"],
      cwd: here("."),
      stdout: "piped",
      stderr: "null",
    }).output();
    return out.success ? new TextDecoder().decode(out.stdout).trim() : "unknown";
  } catch {
    return "unknown";
  }
}

function python(): string {
  try {
    Deno.statSync("/usr/bin/python3");
    return "/usr/bin/python3";
  } catch {
    return "python3";
  }
}

/** Runs one peer; a crash or a missing report marks every workload n/a with the reason. */
async function runPeer(id: string, args: string[], names: string[]): Promise<c.PeerReport> {
  const [cmd, ...rest] = PEERS[id].cmd(args);
  console.error(`running ${id}: ${[cmd, ...rest].join(" ")}`);
  const t0 = performance.now();
  let out = "", err = "", code = -1;
  try {
    const child = new Deno.Command(cmd, {
      args: rest,
      env: { KILN_DEVICE: "cpu" },
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(30 * 60_000),
    }).spawn();
    // The runner's progress (a line per workload) goes on to our stderr as it comes, and is
    // kept for the n/a reason should the runner die.
    const tee = (async () => {
      const dec = new TextDecoder();
      for await (const chunk of child.stderr) {
        await Deno.stderr.write(chunk);
        err += dec.decode(chunk, { stream: true });
      }
    })();
    const [o, status] = await Promise.all([new Response(child.stdout).text(), child.status, tee]);
    [out, code] = [o, status.code];
  } catch (e) {
    err += e instanceof Error ? e.message : String(e);
  }
  console.error(`  ${id}: exit ${code} after ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const line = out.split("\n").find((l) => l.startsWith(c.MARK));
  if (line) return JSON.parse(line.slice(c.MARK.length)) as c.PeerReport;
  const why = err.trim().split("\n").filter((l) => l.trim()).slice(-1)[0] ?? `exit ${code}`;
  return { peer: id, about: "did not run", results: names.map((name) => ({ name, na: why })) };
}

/** Checks PyTorch's reported training losses against the float64 reference (computed once). */
function checkTorchLosses(report: c.PeerReport, s: c.Sizes): void {
  const wants: Record<string, () => [number, number]> = {
    [`mlp step b${s.mlpBatch}`]: () => {
      const p = c.mlpProblem(s.mlpBatch);
      return ref.mlpLosses(p.x, p.y, p.layers, c.LR);
    },
    [`cnn step b${s.cnnBatch}`]: () => {
      const p = c.cnnProblem(s.cnnBatch);
      return ref.cnnLosses(p.x, p.y, c.SIDE, p.conv1, p.conv2, p.fc, c.LR);
    },
  };
  for (const r of report.results) {
    if (!(r.name in wants) || r.na !== undefined) continue;
    try {
      r.check = c.checkLosses(r.losses ?? [], wants[r.name]());
    } catch (e) {
      r.na = `failed: ${e instanceof Error ? e.message : String(e)}`;
      delete r.ms;
    }
  }
}

/** GFLOP/s of a workload when it has a flop count (matmul: 2n³). */
function gflops(name: string, ms: number): string {
  const m = /^matmul (\d+)$/.exec(name);
  return m ? ` (${(2 * Number(m[1]) ** 3 / ms / 1e6).toFixed(1)} GFLOP/s)` : "";
}

/** Two significant digits at least (tfjs-cpu's CNN step is ~500× Kiln's). */
function ratio(r: number): string {
  return r >= 0.1 ? r.toFixed(2) : r.toPrecision(2);
}

/** The table, with footnotes for every n/a. */
export function table(reports: c.PeerReport[], names: string[]): string {
  const notes: string[] = [];
  const kiln = reports.find((r) => r.peer === "kiln");
  const others = reports.filter((r) => r !== kiln);
  const label = (r: c.PeerReport) => PEERS[r.peer]?.label ?? r.peer;
  const head = [
    "workload",
    ...reports.map(label),
    ...(kiln ? others.map((r) => `Kiln/${label(r)}`) : []),
  ];
  const rows = names.map((name) => {
    const res = reports.map((r) => r.results.find((x) => x.name === name));
    const cells = res.map((x, i) => {
      if (x?.ms !== undefined && x.na === undefined) {
        return `${x.ms.toFixed(2)} ms${gflops(name, x.ms)}`;
      }
      notes.push(`${label(reports[i])}, ${name}: ${x?.na ?? "no result"}`);
      return `n/a [${notes.length}]`;
    });
    const k = kiln?.results.find((x) => x.name === name);
    const ratios = kiln
      ? others.map((r) => {
        const x = r.results.find((y) => y.name === name);
        return k?.ms !== undefined && x?.ms !== undefined && x.na === undefined &&
            k.na === undefined
          ? ratio(k.ms / x.ms)
          : "–";
      })
      : [];
    return [name, ...cells, ...ratios];
  });
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [
    line(head),
    line(head.map((_, i) => (i === 0 ? "---" : "---:"))),
    ...rows.map(line),
    ...(notes.length ? ["", ...notes.map((n, i) => `[${i + 1}] ${n}`)] : []),
  ].join("\n");
}

if (import.meta.main) {
  const args = Deno.args;
  const flag = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const s = c.sizesFromArgs(args);
  const names = c.workloadNames(s);
  const ids = flag("--peers")?.split(",") ?? Object.keys(PEERS);
  const unknown = ids.filter((id) => !(id in PEERS));
  if (unknown.length) {
    throw new Error(`run.ts: unknown peers ${unknown} (know ${Object.keys(PEERS)})`);
  }
  // --skip tfjs-cpu:cnn,mlp: a workload kind for one peer, or for all of them.
  const skips = (flag("--skip") ?? "").split(",").filter((x) => x);
  const reports: c.PeerReport[] = [];
  for (const id of ids) {
    const skip = skips.filter((x) => !x.includes(":") || x.startsWith(`${id}:`))
      .map((x) => x.split(":").pop()!);
    // Every runner gets the sizes from here, so PyTorch's copy of them cannot drift apart.
    const report = await runPeer(id, ["--sizes", JSON.stringify({ ...s, skip })], names);
    if (id === "torch") checkTorchLosses(report, s);
    reports.push(report);
  }
  const json = flag("--json");
  if (json) await Deno.writeTextFile(json, JSON.stringify(reports, null, 2));
  const load = Deno.loadavg().map((v) => v.toFixed(1)).join(" ");
  console.log(`\n${new Date().toISOString()}, ${navigator.hardwareConcurrency} CPUs, load ${load}`);
  for (const r of reports) {
    const at = r.peer === "kiln" ? `, commit ${await kilnCommit()}` : "";
    console.log(`- ${PEERS[r.peer]?.label ?? r.peer}: ${r.about}${at}`);
  }
  console.log("\nms per run (median; GFLOP/s for matmul); Kiln/peer < 1: Kiln is faster\n");
  console.log(table(reports, names));
}
