// Writes corpus.json: the strings and conversations of the tokenizer parity test (README.md).
// Deterministic: a fixed list plus strings drawn with a seeded PRNG (mulberry32, seed 20240531), so
// re-running this script reproduces the committed corpus.json byte for byte.
//   node make_corpus.mjs > corpus.json
// Characters come from Unicode 13 or older so that every engine involved (PCRE2 10.42: Unicode 14, ICU 72:
// Unicode 15, Node's ICU) classifies them the same way.

let state = 20240531;
function random() {  // mulberry32
  state = (state + 0x6d2b79f5) | 0;
  let t = Math.imul(state ^ (state >>> 15), 1 | state);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (list) => list[Math.floor(random() * list.length)];
const int = (lo, hi) => lo + Math.floor(random() * (hi - lo + 1));
const char_in = (lo, hi) => String.fromCodePoint(int(lo, hi));

const fixed = [
  "", " ", "  ", "\n", "\n\n", "\r\n", "\t", " \t\n", "a", "A", "0", ".", "'", "'s", "é", "中", "😀",
  "Hello world", "Hello, world!", "hello  world", "hello   world  ", "  leading spaces", "trailing spaces   ",
  "The quick brown fox jumps over the lazy dog.", "THE QUICK BROWN FOX", "camelCaseIdentifier", "snake_case_name",
  "I'm here", "you're", "they've", "we'll", "he'd", "it's", "don't", "won't", "I'M HERE", "YOU'RE", "It'S", "DON'T",
  "rock 'n' roll", "'quoted'", "\"double quoted\"", "ʼmodifier apostropheʼ", "‘curly’ “quotes”",
  "1", "12", "123", "1234", "12345", "1234567890", "12345678901234567890123456789", "3.14159", "-42", "+7",
  "1,000,000", "2024-01-01", "10:30pm", "v1.2.3", "0x1F", "1e-10", "١٢٣٤٥", "一二三", "Ⅻ", "½ ¾", "²³",
  "café", "naïve", "Zürich", "São Paulo", "Ångström", "crème brûlée", "Tiếng Việt có dấu", "ħ ŋ ŧ",
  "cafe\u0301", "e\u0301\u0302", "A\u030a", "\u212b", "\u2126", "\u1e9b\u0323", "ﬁ ligature", "Ｆｕｌｌｗｉｄｔｈ",
  "中文分词测试", "我爱北京天安门。", "日本語のテキスト、カタカナ。", "한국어 텍스트입니다", "混合English和中文123",
  "Привет, мир!", "Γειά σου Κόσμε", "مرحبا بالعالم", "שלום עולם", "नमस्ते दुनिया", "สวัสดีชาวโลก", "ሰላም ልዑል",
  "😀😃😄", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇺🇸🇯🇵", "1️⃣", "❤️", "🧑🏿‍💻 coding", "emoji😀inside", "a 😀 b",
  "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|im_start|>user\nHello<|im_end|>\n",
  "<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n",
  "text<|endoftext|>more", "<|im_end|><|im_end|>", "<|im_start", "<|im_start|", "im_start|>", "<||>", "<|>",
  "<think>\nreasoning\n</think>\n\nanswer", "<tool_call>{\"name\": \"f\"}</tool_call>", "< think >",
  "<|begin_of_text|>Hello", "<|eot_id|>", "<|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>",
  "<|reserved_special_token_5|>", "<|fim_prefix|>def f():<|fim_suffix|>", "<s> </s>", "[CLS] [SEP]",
  "def f(x):\n    return x * 2\n", "for (int i = 0; i < n; ++i) {\n\tsum += a[i];\n}", "print('hello')",
  "https://example.com/path?query=1&b=2#frag", "user@example.com", "C:\\Program Files\\x", "/usr/bin/env",
  "{\"key\": [1, 2, 3], \"nested\": {\"a\": null}}", "# Title\n\n- item 1\n- item 2\n\n```python\nx = 1\n```",
  "a\u00a0b", "a\u2003b", "a\u3000b", "a\u1680b", "a\u2028b", "a\u2029b", "a\u0085b", "a\u180eb", "a\u200bb",
  "a\u200db", "a\ufeffb", "\ufeffBOM", "a\u2060b", "a\u000bb", "a\u000cb", "a\u001cb", "\u0000", "a\u0000b",
  "\u0001\u0002", "\u007f", "\u0080\u009f", "\ufffd", "\ufffe", "\uffff", "\ue000", "\u{10ffff}", "\u{1d573}",
  "\u{10348}", "\u{2070e}", "\u0301", "\u0301\u0301a", "∑∫√∞≠", "→⇒⟹", "©®™", "§¶†‡", "$€£¥₹", "%‰",
  "!!!", "???", "...", "…", "---", "___", "***", "!?!?", "()[]{}<>", "@#$%^&*", "a.b,c;d:e", "x+y=z",
  "\n\n\n\n", "a\n\n\nb", "a \n b", "a\t\tb", "   \n   ", "\r\r\n\n", " \r\n ", "word\n", "\nword", "a  \n\n  b",
  "tab\tseparated\tvalues", "multiple     spaces     here", "end with newline\n", " ".repeat(50), "\n".repeat(20),
  "a".repeat(300), "ab".repeat(200), "🙂".repeat(40), "9".repeat(100), "字".repeat(100), "-".repeat(120),
  "Ǆ ǅ ǆ", "ſ long s", "K Kelvin", "İstanbul ı", "ß ẞ", "ΣΑΣ σας", "ǰ̌", "ﬀ", "ŉ",
];

const words = [
  "the", "of", "and", "to", "in", "is", "you", "that", "it", "he", "was", "for", "on", "are", "as", "with",
  "Hello", "World", "Python", "tokenizer", "transformers", "GPU", "HTTP", "JSON", "iPhone", "McDonald's",
  "don't", "I'll", "we're", "she's", "they'd", "y'all", "o'clock", "naïve", "résumé", "fiancée", "Müller",
  "straße", "ĳ", "Øresund", "Kraków", "İzmir", "中国", "北京", "学习", "人工智能", "東京", "ありがとう",
  "カタカナ", "서울", "사랑해", "Москва", "спасибо", "Αθήνα", "القاهرة", "ירושלים", "हिन्दी", "ภาษาไทย",
  "ქართული", "Հայերեն", "አማርኛ", "ᏣᎳᎩ", "ꦗꦮ", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "𝟙𝟚𝟛",
];
const numbers = () => pick([String(int(0, 9)), String(int(10, 999)), String(int(1000, 99999999)),
  String(int(0, 999)) + "." + String(int(0, 9999)), String(int(1, 9)).repeat(int(5, 25)), "١٢٣", "٣.١٤"]);
const punct = ["!", "?", ".", ",", ";", ":", "'", "\"", "(", ")", "[", "]", "{", "}", "-", "—", "–", "/",
  "\\", "@", "#", "$", "%", "^", "&", "*", "_", "=", "+", "<", ">", "|", "~", "`", "…", "«", "»", "¿", "¡",
  "。", "，", "、", "「", "」", "！", "？"];
const spaces = [" ", " ", " ", "  ", "   ", "\n", "\n\n", "\t", " \n", "\n ", "\r\n", "\u00a0", "\u3000",
  "\u2009", " \t ", "\n\n\n", "    "];
const emoji = ["😀", "😂", "🥲", "👍", "👍🏻", "👍🏿", "🙏", "🔥", "✨", "❤️", "💯", "🎉", "👨‍💻", "👩‍🔬",
  "👨‍👩‍👧", "🏳️‍🌈", "🏴‍☠️", "🇫🇷", "🇨🇳", "#️⃣", "☺", "✔️", "🐍", "🦀", "🤖"];
const specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>", "<|begin_of_text|>",
  "<|eot_id|>", "<tool_call>", "<|im_start|>assistant\n", "<|im_end|>\n"];
const random_char = () => pick([
  () => char_in(0x21, 0x7e), () => char_in(0xc0, 0x17f), () => char_in(0x391, 0x3c9), () => char_in(0x410, 0x44f),
  () => char_in(0x4e00, 0x9fa5), () => char_in(0xac00, 0xd7a3), () => char_in(0x3041, 0x3096),
  () => char_in(0x621, 0x64a), () => char_in(0x905, 0x939), () => char_in(0x1f600, 0x1f64f),
  () => char_in(0x2200, 0x22ff), () => char_in(0x300, 0x36f), () => char_in(0x2000, 0x200a),
])();

function fragment() {
  const r = random();
  if (r < 0.40) return pick(words);
  if (r < 0.52) return numbers();
  if (r < 0.62) return pick(punct);
  if (r < 0.70) return pick(emoji);
  if (r < 0.75) return pick(specials);
  if (r < 0.90) return Array.from({ length: int(1, 6) }, random_char).join("");
  return pick(words).toUpperCase();
}

function random_string() {
  const n = int(1, 24);
  let s = "";
  for (let i = 0; i < n; ++i) {
    s += fragment();
    if (random() < 0.75) s += pick(spaces);
  }
  return random() < 0.1 ? pick(spaces) + s : s;
}

const strings = [...fixed];
while (strings.length < 1200) strings.push(random_string());
for (let i = 0; i < 5; ++i) strings.push(Array.from({ length: 400 }, random_string).join(""));

// Conversations for the chat-template parity: plain text messages, no tools. No content starts with spaces:
// @huggingface/jinja 0.5.11 ignores the argument of lstrip/rstrip (Qwen3's content.lstrip('\n') strips spaces
// there, not in Python's Jinja2, which transformers uses); tokenizer_chat_test.cpp pins that case instead.
const conversation_contents = ["Hello!", "What is 2+2?", "4", "Tell me a joke.\nPlease.", "", "spaced  out  ",
  "<think>\nI should add.\n</think>\n\nThe answer is 4.", "<think>short</think>Done", "\n\n<think>\na\n</think>\n\nb\n",
  "no think</think>tail", "<tool_response>\n{\"ok\": true}\n</tool_response>", "多语言 😀 text", "line1\nline2\n"];
const conversations = [];
const shapes = [["user"], ["system", "user"], ["user", "assistant"], ["system", "user", "assistant"],
  ["user", "assistant", "user"], ["user", "assistant", "user", "assistant"], ["system", "user", "assistant", "user", "assistant"],
  ["user", "assistant", "tool", "tool", "assistant"], ["user", "tool", "assistant"], ["system", "system", "user"],
  ["assistant"], ["user", "user", "assistant", "assistant"]];
for (const shape of shapes) {
  for (let k = 0; k < 4; ++k) {
    conversations.push(shape.map((role) => ({ role, content: pick(conversation_contents) })));
  }
}

process.stdout.write(JSON.stringify({ seed: 20240531, strings, conversations }, null, 1) + "\n");
