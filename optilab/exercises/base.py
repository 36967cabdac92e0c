"""The Exercise: a question, hints, a solution, and a check that answers in one of three ways.

    >>> ex = Exercise("0.1", "Double it", "Write `double(x)` returning 2x.", answers="double",
    ...               check=lambda double: None if call(double, 3) == 6 else wrong(double),
    ...               hints=["Multiply by 2."], solution="def double(x):\\n    return 2 * x\\n",
    ...               stub='def double(x):\\n    raise NotImplementedError("return 2x")\\n')
    >>> def double(x):
    ...     raise NotImplementedError("Exercise 0.1: return 2x")
    >>> ex.check(double).status
    'not attempted'
    >>> ex.check(lambda x: 2 * x).status
    'correct'

A check function receives the student's answers and either returns (a message, or None:
correct), raises :class:`Mistake` (incorrect, naming the mistake), or raises
:class:`NotAttempted` / ``NotImplementedError`` (the student left the stub).  Anything else
the student's code raises becomes "incorrect" with the exception explained in a line: a
student never sees a traceback from a check.

The stub convention ("not attempted"): a function stub raises
``NotImplementedError("Exercise 2.1: what to write")``, and a value stub is ``...``
(``lr_max = ...``).  :meth:`Exercise.check` recognises both, and ``...`` anywhere inside an
answer (``[..., ...]``) or returned by the student's function.
"""

from __future__ import annotations

import contextlib
import html
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

Status = Literal["correct", "not attempted", "incorrect"]
CORRECT: Status = "correct"
NOT_ATTEMPTED: Status = "not attempted"
INCORRECT: Status = "incorrect"

__all__ = ["Exercise", "Result", "Mistake", "NotAttempted", "Text", "Code", "call", "wrong",
           "is_stub", "CORRECT", "NOT_ATTEMPTED", "INCORRECT"]


# ----------------------------------------------------------------------------- verdicts

class Mistake(Exception):
    """Raised by a check: the answer is wrong; ``key`` names the mistake, ``message`` explains.

    >>> Mistake("wrong_sign", "you climbed: use x - lr * grad").key
    'wrong_sign'
    """

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


class NotAttempted(Exception):
    """Raised by a check when the answer is still the stub."""


def wrong(answer: Any = None, message: str = "") -> None:
    """Raise a generic :class:`Mistake` (for one-line checks): ``... else wrong(answer)``."""
    raise Mistake("wrong", message or f"not quite: got {_short(answer)}")


def is_stub(answer: Any, _depth: int = 0) -> bool:
    """True for ``...`` or a list/tuple/dict holding ``...`` (the value-stub sentinel).

    >>> is_stub(...), is_stub([1.0, ...]), is_stub(0.2)
    (True, True, False)
    """
    if answer is Ellipsis:
        return True
    if _depth > 3:
        return False
    if isinstance(answer, (list, tuple, set)):
        return any(is_stub(a, _depth + 1) for a in answer)
    if isinstance(answer, dict):
        return any(is_stub(a, _depth + 1) for a in answer.values())
    return False


def call(fn: Any, *args: Any, name: str | None = None, **kwargs: Any) -> Any:
    """Call the student's function ``fn(*args)`` from a check, catching the classic slips.

    A non-callable answer, a function returning ``...`` (a stub) or ``None`` (a forgotten
    ``return``) stop the check with the right verdict.
    """
    name = name or getattr(fn, "__name__", "your function")
    if is_stub(fn):
        raise NotAttempted(f"`{name}` is still `...`")
    if not callable(fn):
        raise Mistake("not_a_function", f"expected a function here, got {_short(fn)} "
                      f"({type(fn).__name__}). Pass the function itself, without calling it: "
                      f"`check({name})`, not `check({name}(...))`.")
    given = [a.copy() if isinstance(a, np.ndarray) else a for a in args]   # the check's
    out = fn(*given, **kwargs)                                              # stay intact
    for i, (a, g) in enumerate(zip(args, given)):
        if isinstance(a, np.ndarray) and g.shape == a.shape and not np.allclose(
                g, a, rtol=1e-12, atol=1e-300, equal_nan=True):      # undone to rounding: fine
            raise Mistake("mutated_input", f"`{name}` changed its argument {i + 1} in place "
                          f"(an `x -= ...`, `x[i] += h` or `x[:] = ...` on the array it was "
                          f"given), so the caller's array changed too. Work on a copy or "
                          f"return a new array: `x = x - lr * g` makes one.")
    if is_stub(out):
        raise NotAttempted(f"`{name}` still returns `...`")
    if out is None:
        raise Mistake("returned_none", f"`{name}` returned None: did you forget `return`?")
    return out


def _sentence(text: str) -> str:
    """The text, ending with a full stop if it has no closing punctuation."""
    text = text.strip()
    return text if text.endswith((".", "!", "?", ")", "`")) else text + "."


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True)
class Result:
    """What a check answers: ``status`` is "correct", "not attempted" or "incorrect".

    ``message`` says why (for "incorrect": the likely mistake, whose short name is
    ``mistake``).  A Result is true only when correct, and shows itself in colour in
    notebooks (green / orange / red) and as one line of text elsewhere.

    >>> r = Result("incorrect", "wrong sign: you climbed", "2.1", "Update", "wrong_sign")
    >>> bool(r), r
    (False, ✘ Exercise 2.1 (Update): incorrect — wrong sign: you climbed)
    """

    status: Status
    message: str
    number: str = ""
    title: str = ""
    mistake: str | None = None

    def __bool__(self) -> bool:
        return self.status == CORRECT

    @property
    def correct(self) -> bool:
        return self.status == CORRECT

    @property
    def _head(self) -> str:
        name = f"Exercise {self.number}" if self.number else "Exercise"
        return f"{name} ({self.title})" if self.title else name

    @property
    def _word(self) -> str:
        return "not attempted yet" if self.status == NOT_ATTEMPTED else self.status

    def __repr__(self) -> str:
        mark = _STYLE[self.status][0]
        return f"{mark} {self._head}: {self._word} — {self.message}"

    __str__ = __repr__

    def _repr_markdown_(self) -> str:
        dot = {CORRECT: "🟢", NOT_ATTEMPTED: "🟠", INCORRECT: "🔴"}[self.status]
        return f"{dot} **{self._head}: {self._word}** — {self.message}"

    def _repr_html_(self) -> str:
        mark, border, background = _STYLE[self.status]
        return (f'<div style="border-left: 6px solid {border}; background: {background}; '
                f'color: #1a1a1a; padding: 6px 10px; margin: 2px 0; border-radius: 3px; '
                f'font-family: sans-serif; line-height: 1.4">'
                f'<b style="color: {border}">{mark} {html.escape(self._head)}: '
                f'{html.escape(self._word)}</b> — {_html(self.message)}</div>')


_STYLE = {  # mark, border colour, background (light, with dark text: readable in dark themes)
    CORRECT: ("✔", "#2e7d32", "#e8f5e9"),
    NOT_ATTEMPTED: ("…", "#e65100", "#fff3e0"),
    INCORRECT: ("✘", "#c62828", "#ffebee"),
}


def _html(text: str) -> str:
    """Escape, then show `code` spans as <code>."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))


class Text(str):
    """A string that notebooks show as Markdown (hints)."""

    def __repr__(self) -> str:
        return str(self)

    def _repr_markdown_(self) -> str:
        return str(self)


class Code(str):
    """Source code that notebooks show syntax-highlighted; ``exec(code)`` runs it.

    In a Jupyter kernel (JupyterLab, Notebook, VS Code, Colab) it shows as a highlighted
    Markdown code block; elsewhere as plain text.  ``shown`` marks code already displayed
    by :meth:`Exercise.solution`, so that a cell ending with it does not show it twice.
    """

    shown = False

    def __repr__(self) -> str:
        return str(self)

    def _repr_markdown_(self) -> str:
        return f"```python\n{self.rstrip()}\n```"

    def display(self) -> None:
        """Show the code now: highlighted in a notebook, printed elsewhere."""
        if _in_kernel():
            from IPython.display import display

            display({"text/markdown": self._repr_markdown_(), "text/plain": str(self)},
                    raw=True)
        else:
            print(self)

    def _ipython_display_(self) -> None:
        if self.shown:
            self.shown = False
            return
        self.display()


def _in_kernel() -> bool:
    """True inside a Jupyter kernel (where rich display works)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


# ----------------------------------------------------------------------------- the exercise

class Exercise:
    """One exercise: statement, hints, a solution, a stub and a check.

    ``answers`` names what the student defines (``"gd_step"`` or ``("a", "b")``), in the
    order ``check`` takes them.  ``check(*answers)`` is the check function (see the module
    docstring); ``solution`` and ``stub`` are self-contained source code (imports included)
    defining those names.
    """

    def __init__(self, number: str, title: str, statement: str, *, answers: str | Sequence[str],
                 check: Callable[..., str | None], hints: Sequence[str], solution: str,
                 stub: str) -> None:
        if not hints:
            raise ValueError(f"exercise {number}: give at least one hint")
        self.number = number
        self.title = title
        self.statement = statement.strip()
        self.answers: tuple[str, ...] = (answers,) if isinstance(answers, str) else tuple(answers)
        self._check = check
        self.hints: tuple[str, ...] = tuple(h.strip() for h in hints)
        self._solution = solution.strip() + "\n"
        self.stub = stub.strip() + "\n"
        self._hints_given = 0
        self._reference: dict[str, Any] | None = None
        self._on_reference = False         # the last use() gave the reference solution

    # -- checking -------------------------------------------------------------------------
    def check(self, *answer: Any) -> Result:
        """Check the answer: correct, not attempted (still the stub), or incorrect (and why)."""
        usage = f"`q.check({', '.join(self.answers)})`"
        if not answer:
            return self._result(NOT_ATTEMPTED, f"pass your answer: {usage}.")
        if len(answer) != len(self.answers):
            return self._result(INCORRECT, f"this check takes {len(self.answers)} answer(s), "
                                f"got {len(answer)}: call it as {usage}.", "usage")
        if any(is_stub(a) for a in answer):
            return self._not_attempted("")
        try:
            with warnings.catch_warnings(), _quiet_numpy(), time_limit(TIME_LIMIT):
                warnings.simplefilter("ignore")
                message = self._check(*answer)
        except TimeLimit:
            return self._result(INCORRECT, f"your code did not return within {TIME_LIMIT:g} s: "
                                f"an endless loop? (a `while` whose condition never changes, "
                                f"or a loop over a range that never ends)" + self._hint_nudge(),
                                "too_slow")
        except (SystemExit, KeyboardInterrupt) as e:     # exit() or a stop inside the answer
            return self._result(INCORRECT, f"your code raised {type(e).__name__} (exit(), "
                                f"sys.exit() or an interrupt) instead of returning: return the "
                                f"answer instead" + self._hint_nudge(), "exception")
        except NotAttempted as e:
            return self._not_attempted(str(e))
        except NotImplementedError as e:
            if _raised_by_student(e):                    # the stub's own `raise`
                return self._not_attempted(str(e))
            from .diagnose import explain_exception

            return self._result(INCORRECT, explain_exception(e) + self._hint_nudge(),
                                "exception")
        except Mistake as m:
            return self._result(INCORRECT, _sentence(m.message) + self._hint_nudge(), m.key)
        except Exception as e:  # the student's code raised: explain it, never a traceback
            from .diagnose import explain_exception

            return self._result(INCORRECT, explain_exception(e) + self._hint_nudge(),
                                "exception")
        return self._result(CORRECT, message or "Well done.")

    def _not_attempted(self, why: str) -> Result:
        why = re.sub(r"^Exercise [\w.]+:\s*", "", why.strip()).rstrip(".")
        text = f"{why}. " if why else ""
        return self._result(NOT_ATTEMPTED, f"{text}Replace the stub with your code and run the "
                            f"cell again; `q{self._q}.hint()` gives a hint.")

    def _hint_nudge(self) -> str:
        return f" (Stuck? `q{self._q}.hint()`.)" if self._hints_given < len(self.hints) else ""

    @property
    def _q(self) -> str:
        return self.number.rsplit(".", 1)[-1]

    def _result(self, status: Status, message: str, mistake: str | None = None) -> Result:
        return Result(status, message, self.number, self.title, mistake)

    # -- help -----------------------------------------------------------------------------
    def hint(self, n: int | None = None) -> Text:
        """The next hint (``hint()``), or hint number ``n`` (``hint(2)``), counted from 1."""
        total = len(self.hints)
        if n is None:
            if self._hints_given >= total:
                return Text(f"No more hints: that was the last of {total}. "
                            f"`q{self._q}.solution()` shows a solution.")
            n = self._hints_given + 1
        if not isinstance(n, int) or not 1 <= n <= total:
            return Text(f"Exercise {self.number} has hints 1 to {total}; got {n!r}.")
        self._hints_given = max(self._hints_given, n)
        more = f" (`q{self._q}.hint()` for the next one)" if n < total else ""
        return Text(f"**Hint {n}/{total}** for exercise {self.number}: {self.hints[n - 1]}{more}")

    def solution(self) -> Code:
        """Show a solution (highlighted in a notebook) and return its code (``exec`` runs it)."""
        code = Code(self._solution)
        if _in_kernel():
            code.display()
            code.shown = True
        return code

    def reference(self) -> dict[str, Any]:
        """The names the solution defines (run once), e.g. ``{"gd_step": <function>}``."""
        if self._reference is None:
            namespace: dict[str, Any] = {}
            exec(compile(self._solution, f"<solution {self.number}>", "exec"), namespace)
            self._reference = {name: namespace[name] for name in self.answers}
        return self._reference

    def use(self, *answer: Any) -> Any:
        """Your answer if it checks correct, else the reference solution's (says which).

        Later cells of a notebook call ``q2.use(gradient_descent)`` so that they run, and
        show the intended picture, before the exercise is solved; the lines they print
        that would show the answer go through :meth:`print`, which hides them until then.
        """
        result = self.check(*answer)
        self._on_reference = not result
        if result:
            return answer[0] if len(answer) == 1 else answer
        print(f"(exercise {self.number} is {result._word}: using the reference solution for "
              f"the cells below)")
        ref = self.reference()
        values = tuple(ref[name] for name in self.answers)
        return values[0] if len(values) == 1 else values

    def print(self, *values: Any, sep: str = " ") -> None:
        """``print(*values)``, unless the last :meth:`use` fell back on the reference solution.

        A cell below an exercise that prints what the answer computes (a learning rate, a
        step) would print the reference answer under an unsolved exercise; it calls
        ``q4.print(...)`` instead of ``print(...)``, and until the exercise is solved a line
        says that something is hidden, not what.
        """
        if self._on_reference:
            print(f"(hidden until exercise {self.number} is solved: this line shows its answer)")
        else:
            print(*values, sep=sep)

    # -- display --------------------------------------------------------------------------
    def __repr__(self) -> str:
        return f"Exercise {self.number}: {self.title}\n\n{self.statement}"

    def _repr_markdown_(self) -> str:
        return f"**Exercise {self.number}: {self.title}**\n\n{self.statement}"


def _raised_by_student(exc: BaseException) -> bool:
    """True when the innermost frame of ``exc`` is outside optilab (the student's stub)."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None:
        return True
    return not tb.tb_frame.f_code.co_filename.startswith(_PACKAGE)


_PACKAGE = str(Path(__file__).resolve().parents[1])


@contextlib.contextmanager
def _quiet_numpy() -> Any:
    import numpy as np

    with np.errstate(all="ignore"):
        yield


TIME_LIMIT = 20.0      # seconds a check may take (every reference solution needs under 2)


class TimeLimit(BaseException):  # not an Exception: `except Exception` cannot swallow it
    """The student's code ran past the check's time limit."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Any:
    """Raise TimeLimit in the code inside after ``seconds`` (a SIGALRM timer: the main
    thread of a Unix process, which is where a kernel runs cells; elsewhere, no limit)."""
    import signal
    import threading

    if not hasattr(signal, "setitimer") or threading.current_thread() is not \
            threading.main_thread():
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise TimeLimit

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
