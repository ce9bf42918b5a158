"""Reading and writing the user's files: TOML input, output paths checked before work starts, and
atomic writes (a temporary name beside the target, renamed into place only when complete).

**Temporary files.** Every file memsim writes (traces, plans, JSON, images, exports, networks) is first
written to ``.<stem>.tmp-<pid><suffix>`` beside the target (``temporary_path``; ``run.h5`` ->
``.run.tmp-4242.h5``) and renamed over the target only when complete, so the target is either the old file,
absent, or complete, whatever happens to the process. The live temporaries of the process are kept in a
registry (``claim_temporary`` / ``release_temporary`` / ``discard_temporary``).

**Signals.** ``interruptible`` (entered by ``memsim.cli.main``) turns SIGTERM and SIGINT into ``Interrupted``,
raised in the main thread, so that every ``finally`` block on the way out removes its temporary file; the
command then prints one line and exits with 128 + the signal number (143 for SIGTERM, 130 for SIGINT).

**Stale temporaries.** SIGKILL (or a power cut) cannot be caught and leaves the temporary behind; the next
write into the same directory removes every file named exactly like a memsim temporary whose process is
gone (``remove_stale_temporaries``).
"""

from __future__ import annotations

import os
import re
import signal
import sys
import threading
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# ``.<stem>.tmp-<pid><suffix>`` (``temporary_path``). A target without a suffix gives ``.<name>.tmp-<pid>``,
# the form in which earlier versions of the trace writer named every trace's temporary (``.run.h5.tmp-4242``),
# so their leftovers are recognised too.
_TEMPORARY_NAME = re.compile(r"\.(?P<stem>.+)\.tmp-(?P<pid>[1-9][0-9]*)(?P<suffix>(?:\.[^.]+)?)")
_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def temporary_path(target: str | os.PathLike[str], pid: int | None = None) -> Path:
    """The temporary name of ``target`` for process ``pid`` (default: this one): ``.<stem>.tmp-<pid><suffix>``
    in the target's directory. The one naming rule of every memsim writer and of the stale-file cleaner."""
    target = Path(target)
    return target.with_name(f".{target.stem}.tmp-{os.getpid() if pid is None else pid}{target.suffix}")


def temporary_pid(name: str) -> int | None:
    """The process id in ``name`` if it is exactly a memsim temporary name (``temporary_path``), else None."""
    match = _TEMPORARY_NAME.fullmatch(name)
    if match is None:
        return None
    pid = int(match["pid"])
    if match["suffix"] and temporary_path(match["stem"] + match["suffix"], pid).name != name:
        return None
    return pid


def _process_alive(pid: int) -> bool:
    """Whether a process with this id exists on this host (signal 0 checks without sending anything)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    except OSError:
        return True  # unknown: keep the file
    return True


def remove_stale_temporaries(directory: str | os.PathLike[str]) -> list[Path]:
    """Remove the temporaries that dead processes left in ``directory`` (killed with SIGKILL, or by a power cut)
    and return their paths.

    Only regular files named exactly as ``temporary_path`` names them are considered, and of those only the ones
    whose process id is not a live process on this host; this process's own temporaries and those of every
    other live process are kept. A reused process id keeps a stale file until that process ends. Process ids
    are per host (and per PID namespace): directories shared between hosts or containers are not safe to clean
    this way, which is why nothing but this exact name pattern is ever touched. Errors are ignored: cleaning is
    a courtesy, never a reason to fail a run.
    """
    removed = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for entry in entries:
        pid = temporary_pid(entry.name)
        if pid is None or pid == os.getpid() or _process_alive(pid):
            continue
        try:
            if entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            pass
    return removed


_lock = threading.RLock()  # reentrant: a signal may interrupt the main thread while it holds it
_live: set[Path] = set()  # temporaries of this process that may exist on disk
_discarded: list[Path] = []  # temporaries removed unfinished (``discard_temporary``), for the interrupt message


def claim_temporary(target: str | os.PathLike[str]) -> Path:
    """The temporary path of ``target``, registered as live (before the caller creates it), after removing the
    stale temporaries of dead processes from the target's directory."""
    tmp = temporary_path(target)
    remove_stale_temporaries(tmp.parent if str(tmp.parent) else ".")
    with _lock:
        _live.add(tmp)
    return tmp


def release_temporary(tmp: Path) -> None:
    """Forget ``tmp`` after it was renamed into place."""
    with _lock:
        _live.discard(tmp)


def discard_temporary(tmp: Path) -> None:
    """Delete the unfinished temporary ``tmp`` (if it exists) and forget it. Left registered if the deletion
    fails, so that ``interruptible`` tries once more."""
    try:
        tmp.unlink()
    except FileNotFoundError:
        pass
    else:
        with _lock:
            _discarded.append(tmp)
    release_temporary(tmp)


def live_temporaries() -> list[Path]:
    """The registered temporaries of this process (sorted)."""
    with _lock:
        return sorted(_live)


def read_toml(path: str | os.PathLike[str], kind: str) -> dict:
    """Parse a TOML file; a missing, unreadable or malformed file is a one-line ValueError naming ``kind``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"{kind} file {str(path)!r} cannot be read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ValueError(f"{kind} file {str(path)!r} is not UTF-8 text") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{kind} file {str(path)!r} is not valid TOML: {exc}") from None


def check_writable(path: str | os.PathLike[str], label: str, example: str) -> Path:
    """The output ``path`` must be a file name in an existing, writable directory (checked before any work).

    ``label`` names the option or field in the message; ``example`` is a file name to suggest.
    """
    target = Path(path)
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise ValueError(f"{label} {str(path)!r}: directory {str(parent)!r} does not exist")
    if not os.access(parent, os.W_OK):
        raise ValueError(f"{label} {str(path)!r}: directory {str(parent)!r} is not writable")
    if target.is_dir():
        raise ValueError(f"{label} {str(path)!r} is a directory; give a file name such as {example}")
    return target


@contextmanager
def atomic_write(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (``temporary_path``); rename it to ``path`` if the block succeeds,
    else delete it. Stale temporaries of dead processes in that directory are removed first."""
    target = Path(path)
    tmp = claim_temporary(target)
    try:
        yield tmp
        os.replace(tmp, target)
        release_temporary(tmp)
    finally:
        if tmp in _live:
            discard_temporary(tmp)


class Interrupted(SystemExit):
    """SIGTERM or SIGINT arrived (raised in the main thread by ``interruptible``'s handler). A ``SystemExit``
    with code 128 + the signal number, so that ``except Exception`` does not swallow it and a program that does
    not catch it exits with that code and no traceback. ``args`` is ``(signum,)``: simpy re-raises a process's
    exception as ``type(exc)(*exc.args)``."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum
        self.code = 128 + signum


_received: list[int] = []  # signals received inside ``interruptible``


def _on_signal(signum: int, frame) -> None:
    # Only the first signal raises: a second one (an impatient Ctrl-C) must not cut the clean-up short.
    _received.append(signum)
    if len(_received) == 1:
        raise Interrupted(signum)


def check_interrupted() -> None:
    """A safe point of a long loop: raise ``Interrupted`` if a signal arrived inside ``interruptible``. Normally
    the handler's exception is already on its way; but Python ignores an exception raised in a ``__del__``
    method or a weakref callback (after ``sys.unraisablehook``), and the handler can run inside one: once in
    40 Ctrl-Cs it ran in a ``zipfile.ZipFile.__del__`` called by the garbage collector, and the run went on to
    the end. The engine calls this between chunks and the run between chips, so such a run still stops."""
    if _received:
        raise Interrupted(_received[0])


def _quiet_interrupts(hook):
    """``sys.unraisablehook`` that drops a lost ``Interrupted`` (``check_interrupted`` raises it again) and
    passes everything else to ``hook``."""
    def unraisable(info) -> None:
        if not isinstance(info.exc_value, Interrupted):
            hook(info)
    return unraisable


def _names(paths: list[Path]) -> str:
    return ", ".join(p.name for p in paths)


@contextmanager
def signals_deferred() -> Iterator[None]:
    """Run the block with SIGTERM and SIGINT blocked in the calling thread (``pthread_sigmask``); one that
    arrives meanwhile is delivered, and ``interruptible``'s exception raised, right after the block. For the few
    steps that an exception must not cut in two, such as starting a thread pool's workers (a thread started but
    not yet registered by its pool is one that interpreter shutdown waits for for ever). Threads started inside
    inherit the mask, so the signals go to the main thread, which is where Python runs their handlers anyway."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


@contextmanager
def interruptible(prog: str = "memsim") -> Iterator[None]:
    """Run the block with SIGTERM and SIGINT turned into ``Interrupted`` (main thread only; elsewhere the block
    runs unchanged). If one arrives, the ``finally`` blocks on the way out delete the temporaries, anything
    still registered is deleted here, one line goes to stderr (``<prog>: interrupted by SIGTERM; removed the
    temporary file .run.tmp-4242.h5``) and the process exits with 128 + the signal number: 143 for SIGTERM,
    130 for SIGINT. Worker threads are pool threads that finish their current block and stop."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _received.clear()
    with _lock:
        _discarded.clear()
    previous = {s: signal.signal(s, _on_signal) for s in _SIGNALS}
    hook = sys.unraisablehook
    sys.unraisablehook = _quiet_interrupts(hook)
    try:
        yield
        check_interrupted()  # a signal whose exception was lost, and the block ran to its end
    except BaseException as exc:
        if not _received:
            raise
        # Interrupted, or an error raised while unwinding from it: the interrupt is what the user should see.
        for tmp in live_temporaries():
            discard_temporary(tmp)
        with _lock:
            removed, left = list(_discarded), sorted(_live)
        what = f"removed the temporary file{'s' if len(removed) > 1 else ''} {_names(removed)}" if removed \
            else "no temporary file to remove"
        if left:
            what += f"; could not remove {_names(left)}"
        signum = _received[0]
        print(f"{prog}: interrupted by {signal.Signals(signum).name}; {what}", file=sys.stderr, flush=True)
        raise SystemExit(128 + signum) from exc
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        sys.unraisablehook = hook
        _received.clear()
