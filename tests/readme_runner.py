"""Runs README.md's examples: reads its fenced blocks by section, executes the
python blocks statement by statement and the `kerabert ...` commands of its
bash blocks, and checks the results the README claims in comments.

    sections = parse_readme(text)          # [Section(title, blocks)]
    run_python(block, namespace, dims)      # exec + claim checks
    bash_commands(block)                    # [argv after "kerabert"]

A block is skipped only when an HTML comment `<!-- readme-test: skip REASON -->`
stands right before its opening fence; the reason is reported. A bash block
without that marker may hold only `kerabert` commands (anything else could not
be run here and is an error, so no line is passed over silently).
"""

import ast
import dataclasses
import io
import re
import shlex
import tokenize

import numpy as np

SKIP = re.compile(r"^<!--\s*readme-test:\s*skip\s+(?P<reason>.+?)\s*-->$")
HEADING = re.compile(r"^(##|###) (?P<title>.+)$")
FENCE = re.compile(r"^```(?P<lang>\w*)\s*$")


@dataclasses.dataclass
class Block:
    lang: str
    code: str
    line: int  # README line of the first code line
    skip: str = None


@dataclasses.dataclass
class Section:
    title: str
    blocks: list


def parse_readme(text):
    """The sections (a `##` or `###` heading starts one) that hold python or
    bash blocks, in order."""
    sections, title, blocks = [], None, []
    lines = text.splitlines()
    i = 0
    previous = ""  # last non-blank line outside a fence
    while i < len(lines):
        line = lines[i]
        fence = FENCE.match(line)
        if fence:
            start, body = i + 1, []
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                body.append(lines[i])
                i += 1
            if i == len(lines):
                raise ValueError(f"README.md:{start}: a fence that is never closed")
            skip = SKIP.match(previous.strip())
            if fence["lang"] in ("python", "bash"):
                blocks.append(Block(fence["lang"], "\n".join(body) + "\n", start + 1,
                                    skip["reason"] if skip else None))
            elif skip:
                raise ValueError(f"README.md:{start}: a skip marker before a "
                                 f"{fence['lang'] or 'plain'} block, which never runs")
            previous = ""
            i += 1
            continue
        heading = HEADING.match(line)
        if heading:
            if blocks:
                sections.append(Section(title, blocks))
            title, blocks = heading["title"].strip(), []
        if line.strip():
            if "readme-test" in line and not SKIP.match(line.strip()):
                raise ValueError(f"README.md:{i + 1}: malformed marker {line.strip()!r}; "
                                 "write <!-- readme-test: skip REASON -->")
            previous = line
        i += 1
    if blocks:
        sections.append(Section(title, blocks))
    return sections


# --- bash ------------------------------------------------------------------------

def bash_commands(block):
    """The block's commands as (arguments after `kerabert`, trailing comment);
    any other command raises, naming the line."""
    commands = []
    logical, first = "", None
    for number, line in enumerate(block.code.splitlines(), block.line):
        first = first or number
        if line.rstrip().endswith("\\"):
            logical += line.rstrip()[:-1] + " "
            continue
        logical += line
        lexer = shlex.shlex(logical, posix=True, punctuation_chars=False)
        lexer.whitespace_split, lexer.commenters = True, ""
        words = list(lexer)
        hash_at = next((i for i, w in enumerate(words) if w.startswith("#")), len(words))
        words, comment = words[:hash_at], " ".join(words[hash_at:])[1:].strip()
        if words:
            if words[0] != "kerabert":
                raise ValueError(
                    f"README.md:{first}: the bash command {logical.strip()!r} is not a kerabert "
                    "command, which the README test cannot run; put "
                    "<!-- readme-test: skip REASON --> before the block if it cannot run here")
            commands.append((words[1:], comment))
        logical, first = "", None
    return commands


# A command's comment that starts with a file path claims the command wrote it.
WRITES_FILE = re.compile(r"^(?P<path>[\w.-]+(?:/[\w.-]+)*\.(?:json|tsv|txt))(?:\s|$)")


def claimed_file(comment):
    match = WRITES_FILE.match(comment)
    return match["path"] if match else None


# --- python and the claims of its comments ---------------------------------------

DTYPES = ("float16", "bfloat16", "float32", "float64", "int32", "int64", "bool")
# A claim is a comment that starts with one of these; anything else is prose.
SHAPE = re.compile(r"^\((?P<dims>[A-Z0-9]+(?:,\s*[A-Z0-9]+)*,?)\)(?:\s+(?P<dtype>\w+))?")
DICT_KEYS = re.compile(r"^\{(?P<body>[^{}]*)\}")
LIST_OF_KEYSETS = re.compile(r"^\[\{(?P<keys>\"\w+\"(?:,\s*\"\w+\")*)\},\s*\.\.\.\]")
KEY = re.compile(r"""["'](\w+)["']\s*:""")
SPAN = "context[start:end] == answer"


class ClaimError(AssertionError):
    pass


def _shape(value):
    shape = getattr(value, "shape", None)
    if shape is None:
        shape = np.shape(value)
    return tuple(None if d is None else int(d) for d in shape)


def check_claim(comment, value, dims, call=None, namespace=None):
    """Checks `value` against the claim `comment` starts with, if any; returns
    the name of the claim checked (None: the comment is prose)."""
    match = SHAPE.match(comment)
    if match:
        expected = tuple(dims[d] if d in dims else int(d)
                         for d in re.split(r",\s*", match["dims"].rstrip(",")))
        actual = _shape(value)
        if actual != expected:
            raise ClaimError(f"claims shape ({match['dims']}) = {expected}, got {actual}")
        if match["dtype"] in DTYPES and match["dtype"] not in str(value.dtype):
            raise ClaimError(f"claims dtype {match['dtype']}, got {value.dtype}")
        return "shape"
    match = LIST_OF_KEYSETS.match(comment)
    if match:
        keys = set(re.findall(r"\w+", match["keys"]))
        if not isinstance(value, list) or not value:
            raise ClaimError(f"claims a non-empty list of dicts with keys {sorted(keys)}, "
                             f"got {value!r}")
        for item in value:
            if not isinstance(item, dict) or set(item) != keys:
                raise ClaimError(f"claims dicts with keys {sorted(keys)}, got {item!r}")
        return "list of dicts"
    match = DICT_KEYS.match(comment)
    if match:
        keys = set(KEY.findall(match["body"]))
        if not isinstance(value, dict) or set(value) != keys:
            raise ClaimError(f"claims a dict with keys {sorted(keys)}, got "
                             f"{sorted(value) if isinstance(value, dict) else type(value)}")
        if SPAN in comment:
            context = _keyword(call, "context", namespace)
            if context[value["start"]:value["end"]] != value["answer"]:
                raise ClaimError(f"claims {SPAN}: context[{value['start']}:{value['end']}] is "
                                 f"{context[value['start']:value['end']]!r}, answer "
                                 f"{value['answer']!r}")
        return "dict keys"
    return None


def _keyword(call, name, namespace):
    for keyword in getattr(call, "keywords", ()):
        if keyword.arg == name:
            return eval(compile(ast.Expression(keyword.value), "<claim>", "eval"), namespace)
    raise ClaimError(f"the claim needs the call's {name}= argument, which it lacks")


def _comments(code):
    """{line: comment text} and the set of lines that hold only a comment."""
    comments, alone = {}, set()
    for token in tokenize.generate_tokens(io.StringIO(code).readline):
        if token.type == tokenize.COMMENT:
            line = token.start[0]
            comments[line] = token.string[1:].strip()
            if not token.line[:token.start[1]].strip():
                alone.add(line)
    return comments, alone


def run_python(block, namespace, dims):
    """Runs the block's statements in `namespace`, checking each claim: the
    comment on a statement's first line, or a comment line right below it,
    about the statement's value (an expression, or the name it assigns).
    Returns the claims checked, as (README line, claim name)."""
    filename = f"README.md:{block.line}"
    # Line numbers in tracebacks are README lines.
    tree = ast.parse("\n" * (block.line - 1) + block.code, filename)
    comments, alone = _comments("\n" * (block.line - 1) + block.code)
    last_on_line = {}
    for statement in tree.body:
        last_on_line[statement.lineno] = statement
    checked = []
    for statement in tree.body:
        claims = []
        if last_on_line[statement.lineno] is statement and statement.lineno in comments \
                and statement.lineno not in alone:
            claims.append((statement.lineno, comments[statement.lineno]))
        below = statement.end_lineno + 1
        if below in alone:
            claims.append((below, comments[below]))
        if isinstance(statement, ast.Expr):
            value = eval(compile(ast.Expression(statement.value), filename, "eval"), namespace)
        else:
            exec(compile(ast.Module([statement], []), filename, "exec"), namespace)
            target = statement.targets[0] if isinstance(statement, ast.Assign) and \
                len(statement.targets) == 1 else None
            value = namespace[target.id] if isinstance(target, ast.Name) else None
        for line, comment in claims:
            call = statement.value if isinstance(statement, (ast.Expr, ast.Assign)) else None
            try:
                name = check_claim(comment, value, dims, call, namespace)
            except ClaimError as error:
                raise ClaimError(f"README.md:{line}: {error}  (# {comment})") from None
            if name:
                checked.append((line, name))
    return checked
