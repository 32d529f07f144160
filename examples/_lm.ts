/**
 * What the two character-level language models (`char_lstm.ts`, `char_transformer.ts`) share:
 * command-line options, the fortunes corpus split into training and validation text, the
 * unigram baseline, a time-budgeted training loop with a progress bar, the validation loss and
 * temperature sampling of a continuation.
 * @module
 */
import * as k from "../mod.ts";

/** Command-line options shared by the language-model examples. */
export interface LmArgs {
  smoke: boolean;
  /** Wall-clock training budget in minutes (evaluation excluded). */
  minutes: number;
  /** Upper bound on training steps. */
  steps: number;
  batch: number;
  seqLen: number;
  lr: number;
  /** Steps between validation evaluations. */
  evalEvery: number;
  /** Characters sampled at the end, and the sampling temperature. */
  sample: number;
  temperature: number;
}

/** Parses `--name value` options over the defaults (`--smoke` switches to tiny ones). */
export function parseArgs(defaults: Omit<LmArgs, "smoke">): LmArgs {
  const args = Deno.args;
  const smoke = args.includes("--smoke");
  const num = (name: keyof LmArgs, def: number) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? Number(args[i + 1]) : def;
  };
  const base = smoke
    ? { ...defaults, minutes: 1, steps: 3, batch: 4, seqLen: 16, evalEvery: 3, sample: 40 }
    : defaults;
  const out = { smoke } as LmArgs;
  for (const key of Object.keys(base) as (keyof typeof base)[]) {
    (out as unknown as Record<string, number>)[key] = num(key, base[key]);
  }
  return out;
}

/** The corpus as token ids: training and validation text, vocabulary, unigram baseline. */
export interface Corpus {
  vocab: k.data.Vocab;
  train: Int32Array;
  valid: Int32Array;
  /** Unigram entropy of the validation tokens, nats per character. */
  baseline: number;
}

/**
 * Fortunes split by whole fortunes (5 % validation, keyed); the vocabulary holds the characters
 * seen at least 20 times, rarer ones (a few mis-encoded symbols) share the unknown id.
 */
export async function loadCorpus(smoke: boolean): Promise<Corpus> {
  let corpus: k.data.FortunesCorpus;
  try {
    corpus = await k.data.fortunes();
  } catch (e) {
    console.error((e as Error).message);
    Deno.exit(1);
  }
  const [trainDocs, validDocs] = k.data.textSplit(corpus.fortunes, {
    validation: 0.05,
    key: k.random.key(7, { device: "cpu" }),
  });
  const vocab = k.data.charVocab(corpus.text, { unknown: "replace", minCount: smoke ? 1 : 20 });
  const train = vocab.encode(trainDocs.join("\n\n"));
  let valid = vocab.encode(validDocs.join("\n\n"));
  if (smoke) valid = valid.slice(0, 2000);
  const baseline = k.data.unigramEntropy(valid);
  console.log(
    `fortunes: ${corpus.fortunes.length} fortunes from ${corpus.files.length} files, ` +
      `${train.length} training and ${valid.length} validation characters, vocabulary ` +
      `${vocab.size}`,
  );
  console.log(`unigram baseline (validation text): ${baseline.toFixed(4)} nats/char`);
  return { vocab, train, valid, baseline };
}

/**
 * Mean next-character loss (nats/char) over validation windows; `loss` returns a batch's mean.
 * At most `maxBatches` batches (the first ones in text order: the same windows every time).
 */
export async function validationLoss(
  valid: Int32Array,
  args: LmArgs,
  loss: (x: k.Tensor, y: k.Tensor) => k.Tensor,
  maxBatches = Infinity,
): Promise<number> {
  let sum = 0, n = 0;
  for (const b of k.data.sequenceBatches(valid, { seqLen: args.seqLen, batchSize: args.batch })) {
    if (n >= maxBatches) break;
    sum += await loss(b.inputs, b.targets).item() as number;
    n++;
  }
  return sum / n;
}

const enc = new TextEncoder();

/** A one-line progress bar on stderr: steps, time, training loss, ms per step. */
export function progress(step: number, total: number, secs: number, budget: number, l: number) {
  const w = 30, frac = Math.min(1, Math.max(step / total, secs / budget));
  const done = Math.round(frac * w);
  const line = `\r[${"#".repeat(done)}${".".repeat(w - done)}] step ${step} ` +
    `${secs.toFixed(0)}/${budget.toFixed(0)} s loss ${l.toFixed(3)} ` +
    `${(secs * 1000 / Math.max(1, step)).toFixed(0)} ms/step `;
  Deno.stderr.writeSync(enc.encode(line));
}

/** Per-run record of the training loop, for the summary line. */
export interface TrainLog {
  steps: number;
  trainSeconds: number;
  curve: [step: number, validLoss: number][];
}

/**
 * Runs `step(x, y, key) -> loss` over shuffled windows until the step or time budget runs out,
 * evaluating `evaluate()` every `evalEvery` steps (its time is not counted in the budget).
 */
export async function train(
  corpus: Corpus,
  args: LmArgs,
  step: (x: k.Tensor, y: k.Tensor, key: k.Tensor) => k.Tensor,
  evaluate: () => Promise<number>,
): Promise<TrainLog> {
  const budget = args.minutes * 60;
  const dataKey = k.random.key(1, { device: "cpu" }), dropKey = k.random.key(2);
  const log: TrainLog = { steps: 0, trainSeconds: 0, curve: [] };
  let spent = 0, last = NaN;
  outer: for (let epoch = 0;; epoch++) {
    const batches = k.data.sequenceBatches(corpus.train, {
      seqLen: args.seqLen,
      batchSize: args.batch,
      key: k.random.foldIn(dataKey, epoch),
    });
    for (const b of batches) {
      const t0 = performance.now();
      const l = step(b.inputs, b.targets, k.random.foldIn(dropKey, log.steps));
      log.steps++;
      const report = log.steps % 10 === 0 || log.steps === args.steps || args.smoke;
      if (report) last = await l.item() as number;
      spent += (performance.now() - t0) / 1000;
      if (report) progress(log.steps, args.steps, spent, budget, last);
      const end = log.steps >= args.steps || spent >= budget;
      if (log.steps % args.evalEvery === 0 || end) {
        const v = await evaluate();
        log.curve.push([log.steps, v]);
        Deno.stderr.writeSync(enc.encode("\n"));
        console.log(
          `step ${log.steps} (${spent.toFixed(0)} s, epoch ${epoch + 1}): training loss ` +
            `${last.toFixed(4)}, validation loss ${v.toFixed(4)} nats/char`,
        );
      }
      if (end) break outer;
    }
  }
  log.trainSeconds = spent;
  return log;
}

/** Prints the final comparison and exits with status 2 when a full run misses the goal. */
export function summary(name: string, corpus: Corpus, log: TrainLog, final: number, args: LmArgs) {
  const gap = corpus.baseline - final;
  console.log(
    `${name}: validation loss ${final.toFixed(4)} nats/char vs unigram baseline ` +
      `${corpus.baseline.toFixed(4)} (${gap.toFixed(3)} below) after ${log.steps} steps, ` +
      `${(log.trainSeconds / 60).toFixed(1)} min of training ` +
      `(${
        (log.trainSeconds * 1000 / log.steps).toFixed(0)
      } ms/step, batch ${args.batch}×${args.seqLen})`,
  );
  return gap;
}
