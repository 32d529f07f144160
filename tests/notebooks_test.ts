/**
 * The notebooks of examples/notebooks run headlessly on Deno's Jupyter kernel (issue 16.1) and
 * show rich output: HTML tables and PNG pictures of tensors, SVG plots, a live figure redrawn in
 * place. The kernel is this Deno (`Deno.execPath()`), installed with `deno jupyter --install`
 * into a temporary HOME (it writes `$HOME/.local/share/jupyter`); the notebooks are executed by
 * tests/run_notebook.py with Debian's python3-nbclient. Skipped, with the reason printed, where
 * that Python, nbclient or the run permission is missing (`.ci/run` installs the packages).
 * `KILN_KEEP_NOTEBOOKS=DIR` keeps the executed notebooks there, to look at their outputs.
 */
import assert from "node:assert";

const ROOT = new URL("../", import.meta.url);
const PYTHON = (() => {
  try {
    return Deno.statSync("/usr/bin/python3").isFile ? "/usr/bin/python3" : "python3";
  } catch {
    return "python3";
  }
})();

/** Why the notebooks cannot run here, or undefined when they can. */
async function unavailable(): Promise<string | undefined> {
  if ((await Deno.permissions.query({ name: "run" })).state !== "granted") {
    return "needs --allow-run";
  }
  try {
    const probe = await new Deno.Command(PYTHON, {
      args: ["-c", "import nbclient, nbformat, jupyter_client"],
      stdout: "null",
      stderr: "null",
    }).output();
    if (probe.success) return undefined;
  } catch { /* no Python at all */ }
  return `${PYTHON} with nbclient not found ` +
    "(apt-get install jupyter-client python3-nbclient python3-nbconvert python3-ipykernel)";
}

const reason = await unavailable();
if (reason) console.warn(`notebooks_test: skipped: ${reason}`);

interface Output {
  output_type: string;
  name?: string;
  text?: string | string[];
  data?: Record<string, string | string[]>;
}
interface Cell {
  cell_type: string;
  source: string | string[];
  outputs?: Output[];
}

const join = (v: string | string[] | undefined) => Array.isArray(v) ? v.join("") : v ?? "";

/** This Deno's cache folder (`deno info --json`). */
async function denoDir(): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json"],
    stdout: "piped",
    stderr: "null",
  }).output();
  return (JSON.parse(new TextDecoder().decode(out.stdout)) as { denoDir: string }).denoDir;
}

/** Executes a notebook on this Deno's kernel (installed in a temporary HOME); its code cells. */
async function execute(name: string): Promise<Cell[]> {
  const home = await Deno.makeTempDir({ prefix: "kiln_jupyter_" });
  try {
    const install = await new Deno.Command(Deno.execPath(), {
      args: ["jupyter", "--install"],
      env: { HOME: home },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(install.stderr);
    assert.ok(install.success, `deno jupyter --install failed: ${err}`);
    const out = `${home}/${name}`;
    // NO_COLOR: the kernel's text/plain of plain values comes without ANSI colours.
    // JUPYTER_PATH first: a "deno" kernel elsewhere on the user's Jupyter path is not used.
    // DENO_DIR: the kernel keeps this Deno's module cache (it would follow HOME to an empty one
    // and fetch the npm dependencies again).
    const env: Record<string, string> = {
      HOME: home,
      JUPYTER_PATH: `${home}/.local/share/jupyter`,
      NO_COLOR: "1",
      DENO_DIR: await denoDir(),
    };
    // The kernel inherits this environment: follow the test's device choice.
    if (Deno.env.get("KILN_TEST_DEVICES") === "cpu") env.KILN_DEVICE = "cpu";
    const run = await new Deno.Command(PYTHON, {
      args: [
        new URL("tests/run_notebook.py", ROOT).pathname,
        new URL(`examples/notebooks/${name}`, ROOT).pathname,
        out,
        "--timeout",
        "240",
      ],
      env,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const log = new TextDecoder().decode(run.stderr).replace(
      /.*"deno jupyter" is unstable.*\n/g,
      "",
    );
    assert.ok(run.success, `${name} failed:\n${log}`);
    const nb = JSON.parse(await Deno.readTextFile(out)) as { cells: Cell[] };
    const cells = nb.cells.filter((c) => c.cell_type === "code");
    for (const c of cells) {
      const e = c.outputs?.find((o) => o.output_type === "error");
      assert.ok(!e, `${name}: cell raised: ${JSON.stringify(e)}\n${join(c.source)}`);
    }
    if (Deno.env.get("KILN_KEEP_NOTEBOOKS")) {
      await Deno.copyFile(out, Deno.env.get("KILN_KEEP_NOTEBOOKS") + `/${name}`);
    }
    return cells;
  } finally {
    await Deno.remove(home, { recursive: true });
  }
}

const outputs = (cells: Cell[]) => cells.flatMap((c) => c.outputs ?? []);
const stdout = (cells: Cell[]) =>
  outputs(cells).filter((o) => o.output_type === "stream").map((o) => join(o.text)).join("");
/** The outputs of the first cell whose source contains `marker`. */
function cellOutputs(cells: Cell[], marker: string): Output[] {
  const c = cells.find((c) => join(c.source).includes(marker));
  assert.ok(c, `no cell contains ${marker}`);
  return c.outputs ?? [];
}
/** The `mime` data of the first output of the first cell containing `marker` that has it. */
const data = (cells: Cell[], marker: string, mime: string) =>
  join(cellOutputs(cells, marker).find((o) => o.data?.[mime] !== undefined)?.data?.[mime]);

Deno.test({
  name: "notebooks: tour.ipynb shows tensors as tables and pictures, plots as SVG",
  ignore: reason !== undefined,
  async fn() {
    const cells = await execute("tour.ipynb");
    // A 2x3 tensor: header and every value in a table; text/plain as well.
    const x = "const x = k.tensor(";
    assert.match(data(cells, x, "text/html"), /float32\[2,3\].*<table>.*<td>1<\/td>.*<td>6<\/td>/s);
    assert.match(data(cells, x, "text/plain"), /^Tensor\(float32\[2,3\], \w+\) \[\[1, 2, 3\],/);
    // relu(1.5x - 4) summed over rows: [0 + 0 + 0.5, 2 + 3.5 + 5] = [0.5, 10.5].
    assert.match(data(cells, "const y = k.relu", "text/html"), /0\.5.*10\.5/s);
    // The [250, 400] tensor: elided (row 249 and column 399 shown, 5 … 244 not) and a picture.
    const html = data(cells, "const big =", "text/html");
    assert.match(html, /<th>⋮<\/th>/);
    assert.match(html, /<th>399<\/th>/);
    assert.ok(!html.includes("<th>200</th>"), "rows in the middle are elided");
    // sin(399 / 1000), the first row's last value.
    assert.ok(html.includes(`<td>${Number(Math.sin(0.399).toPrecision(6))}</td>`), html);
    assert.ok(data(cells, "const big =", "image/png").startsWith("iVBORw0KGgo"), "a PNG picture");
    assert.ok(data(cells, "const rgb =", "image/png").length > 100);
    // The plot of f and its gradient is an SVG with the two named series.
    assert.match(
      data(cells, "k.plot.figure(", "image/svg+xml"),
      /^<svg[\s\S]*x·sin\(x\)[\s\S]*gradient/,
    );
    // grad(grad(x·sin x)) at 0 = 2 cos 0 - 0 = 2, and the gradient matches its closed form.
    assert.strictEqual(data(cells, "await d2(", "text/plain"), "2");
    const err = Number(/closed form\| = (\S+)/.exec(stdout(cells))?.[1]);
    assert.ok(err < 1e-5, `gradient error ${err}`);
  },
});

Deno.test({
  name: "notebooks: fashion_mnist.ipynb trains three models with a live loss curve",
  ignore: reason !== undefined,
  async fn() {
    const cells = await execute("fashion_mnist.ipynb");
    const log = stdout(cells);
    // The first 32 training images as one picture, their labels as a table.
    assert.ok(data(cells, "k.slice(trainX", "image/png").length > 1000);
    assert.match(
      data(cells, "k.slice(trainY", "text/html"),
      /int32\[32\].*<table>/s,
    );
    // The live figure: one display output, redrawn in place, ending with both training curves.
    const live = cellOutputs(cells, "const curve = k.plot.live()")
      .filter((o) => o.output_type === "display_data");
    assert.strictEqual(live.length, 1, "one output, updated in place");
    assert.match(join(live[0].data?.["image/svg+xml"]), /softmax regression[\s\S]*MLP/);
    // Accuracies: well above chance (10%) after one pass; the MLP beats 80%.
    const acc = (name: string) =>
      Number(new RegExp(`${name}: test accuracy ([\\d.]+)%`).exec(log)?.[1]);
    assert.ok(acc("least squares") > 75, log);
    assert.ok(acc("softmax regression") > 75, log);
    assert.ok(acc("MLP") > 80, log);
    // The misclassified test images as a picture.
    assert.ok(data(cells, "k.take(testX", "image/png").length > 1000);
  },
});
