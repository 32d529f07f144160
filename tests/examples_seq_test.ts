// The sequence examples with --smoke as subprocesses on the CPU backend: char_lstm.ts and
// char_transformer.ts on a small fake fortunes folder (KILN_DATA/fortunes, so CI needs neither
// the `fortunes` package nor a network), seq2seq_reverse.ts on its generated digits. Each must
// exit 0 and print its baseline, validation loss, sample or accuracies, and draw a progress bar.
// Needs --allow-run.
import assert from "node:assert/strict";

const FAKE = [
  "A day for firm decisions!!!!!  Or is it?",
  "A few hours grace before the madness begins again.",
  "Abandon the search for Truth; settle for a good fantasy.",
  "Accent on helpful side of your nature.  Drain the moat.",
  "After your lover has gone you will still have PEANUT BUTTER!",
  "Afternoon very favorable for romance.  Try a single person for a change.",
];

async function writeCorpus(dir: string): Promise<void> {
  await Deno.mkdir(`${dir}/fortunes`);
  // 40 copies: enough text for the smoke runs' windows in both splits.
  const body = Array.from({ length: 40 }, () => FAKE.join("\n%\n")).join("\n%\n") + "\n%\n";
  await Deno.writeTextFile(`${dir}/fortunes/cookie`, body);
  await Deno.writeFile(`${dir}/fortunes/cookie.dat`, new Uint8Array(24));
}

async function runExample(name: string, dataDir: string) {
  const script = new URL(`../examples/${name}`, import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, "--smoke"],
    env: { KILN_DEVICE: "cpu", KILN_DATA: dataDir },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const err = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, `${name}: exit code ${out.code}\n${text}\n${err}`);
  return { text, err };
}

Deno.test("examples: char_lstm, char_transformer and seq2seq_reverse --smoke run", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kiln_seq_" });
  try {
    await writeCorpus(dir);
    for (const name of ["char_lstm.ts", "char_transformer.ts"]) {
      const { text, err } = await runExample(name, dir);
      assert.match(text, /^fortunes: 240 fortunes from 1 files, \d+ training and \d+ validation/m);
      const base = text.match(/^unigram baseline \(validation text\): ([\d.]+) nats\/char$/m);
      assert(base, text);
      // The fake text's validation part holds ~30 distinct characters: entropy in (2, ln 40).
      assert(Number(base[1]) > 2 && Number(base[1]) < Math.log(40), base[1]);
      const fin = text.match(/validation loss ([\d.]+) nats\/char vs unigram baseline/);
      assert(fin, text);
      assert(Number(fin[1]) > 0 && Number(fin[1]) < 10, fin[1]);
      assert.match(text, /^sample \(temperature 0\.7\):\n/m);
      assert.match(err, /\[#+\] step 3 /); // progress bar
    }
    const s2s = await runExample("seq2seq_reverse.ts", dir);
    assert.match(s2s.text, /^with attention: exact-match accuracy [\d.]+% on 64 strings/m);
    assert.match(s2s.text, /^without attention: exact-match accuracy [\d.]+% on 64 strings/m);
    assert.match(s2s.text, /^reverse 5 digits: with attention [\d.]+%, without [\d.]+%/m);
    assert.match(s2s.err, /with attention +\[#+\] 4\/4 loss/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
