#!/usr/bin/python3
"""Reference renderings for the chat-template parity test (tests/unit/jinja_parity_test.cpp).

Renders every template of this folder on every conversation of conversations.json with Python's jinja2
(Debian's python3-jinja2), configured exactly as transformers' apply_chat_template configures it
(transformers/utils/chat_template_utils.py: _compile_jinja_template and render_jinja_template):
ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True) with the loopcontrols extension and a
`generation` block tag, its tojson filter (json.dumps, ensure_ascii=False), raise_exception and
strftime_now globals, and render(messages=..., tools=..., documents=None, add_generation_prompt=...,
**special_tokens, **kwargs). strftime_now formats the fixed time conversations.json names, so the
output does not depend on the day the test runs.

  render_reference.py            writes expected.json
  render_reference.py --check    renders again and exits 1 if expected.json differs (the ctest);
                                 also exits 1, naming the package, when jinja2 is not installed: it is a
                                 build dependency (scripts/install-deps.sh), so a missing one must not
                                 pass for a skipped check
"""
import datetime
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def make_environment(now):
    from jinja2 import nodes
    from jinja2.exceptions import TemplateError
    from jinja2.ext import Extension, loopcontrols
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message):
        raise TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(format):
        return now.strftime(format)

    class GenerationTag(Extension):
        # transformers' AssistantTracker without the index bookkeeping: {% generation %} renders its body.
        tags = {"generation"}

        def parse(self, parser):
            lineno = next(parser.stream).lineno
            body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
            return nodes.CallBlock(self.call_method("_render", []), [], [], body).set_lineno(lineno)

        def _render(self, caller):
            return caller()

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[GenerationTag, loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def render_all():
    import jinja2
    from jinja2.exceptions import TemplateError

    spec = json.load(open(os.path.join(HERE, "conversations.json"), encoding="utf-8"))
    now = datetime.datetime.fromisoformat(spec["fixed_now"])
    env = make_environment(now)
    cases = []
    for template_name, family in spec["templates"].items():
        source = open(os.path.join(HERE, template_name), encoding="utf-8").read()
        template = env.from_string(source)
        for conversation in spec["conversations"]:
            for extra in family["kwargs"]:
                for add_generation_prompt in (False, True):
                    kwargs = dict(conversation.get("kwargs", {}))
                    kwargs.update(extra)
                    tools = kwargs.pop("tools", None)
                    case = {
                        "template": template_name,
                        "conversation": conversation["name"],
                        "messages": conversation["messages"],
                        "add_generation_prompt": add_generation_prompt,
                        "special_tokens": family["special_tokens"],
                        "kwargs": dict(kwargs, **({"tools": tools} if tools is not None else {})),
                    }
                    try:
                        case["text"] = template.render(messages=conversation["messages"], tools=tools, documents=None,
                                                       add_generation_prompt=add_generation_prompt,
                                                       **family["special_tokens"], **kwargs)
                    except TemplateError as e:
                        # raise_exception raises TemplateError itself; jinja2's own errors are subclasses.
                        kind = "raise_exception" if type(e) is TemplateError else type(e).__name__
                        case["error"] = {"kind": kind, "message": str(e)}
                    except Exception as e:  # TypeError and friends, as transformers would let them through
                        case["error"] = {"kind": type(e).__name__, "message": str(e)}
                    cases.append(case)
    return {
        "about": "Written by render_reference.py from conversations.json and the *.jinja templates with Python's jinja2 "
                 + jinja2.__version__ + " configured as transformers configures it; strftime_now gives " + spec["fixed_now"]
                 + ". Strings must match exactly; an error of kind raise_exception must match by message.",
        "fixed_now": spec["fixed_now"],
        "cases": cases,
    }


def main():
    try:
        import jinja2  # noqa: F401
    except ImportError:
        print("%s cannot import jinja2: the chat-template reference needs Debian's python3-jinja2; run "
              "scripts/install-deps.sh (or: apt-get install python3-jinja2)" % sys.executable)
        return 1
    result = render_all()
    text = json.dumps(result, ensure_ascii=False, indent=1) + "\n"
    path = os.path.join(HERE, "expected.json")
    if "--check" in sys.argv[1:]:
        committed = json.load(open(path, encoding="utf-8"))
        fresh = json.loads(text)
        if committed["cases"] != fresh["cases"]:
            for old, new in zip(committed["cases"], fresh["cases"]):
                if old != new:
                    print("differs:", json.dumps(new, ensure_ascii=False)[:400])
            print("expected.json is stale: regenerate it with render_reference.py")
            return 1
        print("expected.json matches jinja2 %s on %d cases" % (__import__("jinja2").__version__, len(fresh["cases"])))
        return 0
    open(path, "w", encoding="utf-8").write(text)
    print("wrote %s (%d cases)" % (path, len(result["cases"])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
