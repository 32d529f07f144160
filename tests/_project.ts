/**
 * A throwaway Deno project outside the repository that imports Kiln by its package name
 * (`@kiln/kiln`) through an import map pointing at this checkout's mod.ts, as a JSR user's
 * project would after `deno add jsr:@kiln/kiln`. Used by the docs and import-project tests.
 * Commands run offline (`--no-remote`, no npm installs) and share the caller's DENO_DIR cache.
 */

/** File URL of the repository's public entry point. */
export const MOD_URL: string = new URL("../mod.ts", import.meta.url).href;

/** What a command printed and how it exited. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A temporary project: its folder, a way to run `deno` in it, and cleanup. */
export interface TempProject {
  dir: string;
  /** Runs `deno ARGS` with the project folder as working directory. */
  deno(args: string[]): Promise<RunResult>;
  /** Writes a file relative to the project folder. */
  write(path: string, text: string): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Creates a project whose deno.json maps `@kiln/kiln` to this checkout's mod.ts. */
export async function tempProject(): Promise<TempProject> {
  const dir = await Deno.makeTempDir({ prefix: "kiln-project-" });
  const config = {
    imports: { "@kiln/kiln": MOD_URL },
    nodeModulesDir: "none",
    lock: false,
  };
  const write = (path: string, text: string) => Deno.writeTextFile(`${dir}/${path}`, text);
  await write("deno.json", JSON.stringify(config, null, 2) + "\n");
  return {
    dir,
    write,
    async deno(args: string[]): Promise<RunResult> {
      const out = await new Deno.Command(Deno.execPath(), {
        args,
        cwd: dir,
        stdout: "piped",
        stderr: "piped",
        env: { NO_COLOR: "1" },
      }).output();
      const dec = new TextDecoder();
      return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
    },
    async [Symbol.asyncDispose]() {
      await Deno.remove(dir, { recursive: true });
    },
  };
}
