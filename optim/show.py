"""Show the package's own code in a chapter, so the page never retypes it.

    from optim.show import source
    source(optim.adam.adam_update)        # the rule, highlighted, as it stands in optim/
"""
import inspect
import textwrap


class Source:
    """Source code that renders as a highlighted Python block in a notebook or the book."""

    def __init__(self, obj, docstring: bool = True):
        self.obj = obj
        code = textwrap.dedent(inspect.getsource(obj))
        self.code = code if docstring else _without_docstring(code)
        self.path = _repository_path(inspect.getsourcefile(obj))

    def _repr_markdown_(self) -> str:
        return f"`{self.path}`\n\n```python\n{self.code.rstrip()}\n```"

    def __str__(self) -> str:
        return self.code

    __repr__ = __str__


def _repository_path(path: str) -> str:
    """``optim/adam.py`` or ``chapters/finetuning_lab/bert.py``: the path a reader finds in the repository."""
    path = path.replace("\\", "/")
    for top in ("/optim/", "/chapters/"):
        if top in path:
            return top[1:] + path.rsplit(top, 1)[1]
    return path.rsplit("/", 1)[-1]


def _without_docstring(code: str) -> str:
    lines = code.splitlines(keepends=True)
    body_start = next(i for i, line in enumerate(lines) if line.rstrip().endswith(":")) + 1
    stripped = lines[body_start].strip()
    if stripped[:3] in ('"""', "r\"\"", "'''") or stripped.startswith('r"""'):
        end = body_start
        while not (lines[end].rstrip().endswith('"""') and (end > body_start or lines[end].count('"""') >= 2)):
            end += 1
        lines = lines[:body_start] + lines[end + 1:]
    return "".join(lines)


def source(obj, docstring: bool = True) -> Source:
    """The source of a function or class of ``optim``, for display in a chapter."""
    return Source(obj, docstring)
