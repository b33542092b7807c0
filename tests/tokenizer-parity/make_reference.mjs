// Writes the reference answers of the tokenizer parity test with the JavaScript reference implementation
// (@huggingface/tokenizers, @huggingface/jinja for chat templates) for every string of corpus.json.
//   node make_reference.mjs CORPUS_JSON WORKDIR
// WORKDIR holds node_modules (npm ci) and models/byte (our byte tokenizer, saved by parity_driver). This
// script writes WORKDIR/models/llama3 (Llama-3 with the BOS post-processor of current Meta releases) and
// WORKDIR/reference.json, which parity_driver compares against trl::Tokenizer.
import fs from "node:fs";
import path from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import { Template } from "@huggingface/jinja";

const [corpus_path, workdir] = process.argv.slice(2);
if (!corpus_path || !workdir) {
  console.error("usage: node make_reference.mjs CORPUS_JSON WORKDIR");
  process.exit(2);
}
const corpus = JSON.parse(fs.readFileSync(corpus_path, "utf8"));
const read_json = (file) => JSON.parse(fs.readFileSync(file, "utf8"));
const lenml = (name) => path.join(workdir, "node_modules", "@lenml", name, "models");

// Llama-3's tokenizer.json as @lenml ships it predates the post-processor that adds <|begin_of_text|>;
// Meta's current files (Llama-3.1 and later) add it with this TemplateProcessing, which we test instead.
function llama3_with_bos() {
  const dir = path.join(workdir, "models", "llama3");
  fs.mkdirSync(dir, { recursive: true });
  const json = read_json(path.join(lenml("tokenizer-llama3"), "tokenizer.json"));
  const bos = { id: "<|begin_of_text|>", type_id: 0 };
  json.post_processor = {
    type: "Sequence",
    processors: [
      { type: "ByteLevel", add_prefix_space: true, trim_offsets: false, use_regex: true },
      {
        type: "TemplateProcessing",
        single: [{ SpecialToken: bos }, { Sequence: { id: "A", type_id: 0 } }],
        pair: [{ SpecialToken: bos }, { Sequence: { id: "A", type_id: 0 } }, { SpecialToken: { id: "<|begin_of_text|>", type_id: 1 } },
          { Sequence: { id: "B", type_id: 1 } }],
        special_tokens: { "<|begin_of_text|>": { id: "<|begin_of_text|>", ids: [128000], tokens: ["<|begin_of_text|>"] } },
      },
    ],
  };
  fs.writeFileSync(path.join(dir, "tokenizer.json"), JSON.stringify(json));
  fs.copyFileSync(path.join(lenml("tokenizer-llama3"), "tokenizer_config.json"), path.join(dir, "tokenizer_config.json"));
  return dir;
}

const models = [
  { name: "qwen3", dir: lenml("tokenizer-qwen3"), chat: true },
  { name: "qwen2_5", dir: lenml("tokenizer-qwen2_5"), chat: true },
  { name: "llama3", dir: llama3_with_bos(), chat: false },
  { name: "gpt2", dir: lenml("tokenizer-gpt2"), chat: false },
  { name: "byte", dir: path.join(workdir, "models", "byte"), chat: true },
];

const normalize_as = (json, text) => {
  const n = json.normalizer;
  if (!n) return text;
  if (["NFC", "NFD", "NFKC", "NFKD"].includes(n.type)) return text.normalize(n.type);
  throw new Error(`normalizer ${JSON.stringify(n)} not expected here`);
};

const out = { tokenizers: [], chat: [] };
for (const model of models) {
  const json = read_json(path.join(model.dir, "tokenizer.json"));
  const config = read_json(path.join(model.dir, "tokenizer_config.json"));
  const tokenizer = new Tokenizer(json, config);
  const cleanup = config.clean_up_tokenization_spaces ?? true;
  const decode = (ids, options) => (ids.length === 0 ? "" : tokenizer.decode(ids, options));
  const cases = [];
  const decode_cases = [];
  let non_ascii = 0;
  for (const text of corpus.strings) {
    const ids = tokenizer.encode(text).ids;
    const ids_plain = tokenizer.encode(text, { add_special_tokens: false }).ids;
    const entry = { text, ids, ids_plain, decoded: decode(ids), decoded_skip: decode(ids, { skip_special_tokens: true }) };
    // Without clean-up, decoding gives back the (normalized) input exactly: check the reference too.
    if (!cleanup) {
      entry.round_trip = normalize_as(json, text);
      if (decode(ids_plain) !== entry.round_trip) throw new Error(`${model.name}: reference does not round-trip ${JSON.stringify(text)}`);
    }
    cases.push(entry);
    // Partial sequences cut multi-byte characters: the lossy UTF-8 decoding must agree too.
    if (/[^\x00-\x7f]/.test(text) && non_ascii++ < 150) {
      for (const id of ids_plain.slice(0, 30)) decode_cases.push({ ids: [id], text: decode([id]) });
      const half = ids_plain.slice(0, Math.floor(ids_plain.length / 2));
      if (half.length > 0) decode_cases.push({ ids: half, text: decode(half) });
    }
  }
  out.tokenizers.push({ name: model.name, dir: model.dir, cases, decode_cases });

  if (model.chat) {
    const template = new Template(config.chat_template);
    const kwarg_sets = model.name === "qwen3" ? [{}, { enable_thinking: false }, { enable_thinking: true }] : [{}];
    for (const messages of corpus.conversations) {
      for (const add_generation_prompt of [true, false]) {
        for (const kwargs of kwarg_sets) {
          const text = template.render({ messages, add_generation_prompt, bos_token: config.bos_token ?? "",
            eos_token: config.eos_token ?? "", ...kwargs });
          out.chat.push({ tokenizer: model.name, messages, add_generation_prompt, kwargs, text });
        }
      }
    }
  }
  console.error(`${model.name}: ${cases.length} strings, ${decode_cases.length} decode cases`);
}
fs.writeFileSync(path.join(workdir, "reference.json"), JSON.stringify(out));
