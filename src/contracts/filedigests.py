"""What files hold, remembered by their stat: a file is read again only when its size, time or inode moved.

The gate and codegen key their caches on the content of thousands of files; reading them all
would cost as much as the work the cache saves. A file whose ``(size, mtime_ns, inode)`` is the
one recorded keeps its recorded digest, as git's index does. A file changed within the clock's
granularity of the moment it was looked at could keep all three, so such "racily clean" files
are read again on the next run: a digest is trusted only for a file whose time was already safely
in the past when the run that recorded it began.

A folder outside git is keyed by every file's digest; the key is also kept in a small record of
its own with a digest of the folder's listing (each path and its stat), so an unchanged folder
costs its stats and that record, not a lookup per file. The same rule of trust applies: the
listing's newest time must have been safely past when the key was recorded.

The records are a cache: safe to delete, and a damaged one is ignored.
"""

from __future__ import annotations

import hashlib
import json
import marshal
import os
import subprocess
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TypeGuard

VERSION = 1
MAGIC = b"contracts-file-digests\n"
Entry = tuple[int, int, int, str]  # size, mtime_ns, inode, content digest
Signature = tuple[int, int, int]  # size, mtime_ns, inode: what a stat says of a file
TreeEntry = tuple[str, str, int]  # digest of a listing's paths and stats, its tree key, its newest mtime_ns
# Files stamped this close to the record's writing are re-read: a change within the same
# timestamp tick would otherwise go unseen.
RACY_NS = 2_000_000_000


def content_digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


class FileDigests:
    """Content digests of files, kept in ``store`` between runs; ``None``: nothing kept."""

    def __init__(self, store: Path | None) -> None:
        self.store = store
        self._old: dict[str, Entry] = {}
        self._old_trees: dict[str, TreeEntry] | None = None  # the trees' own small record, read when first asked
        self._trees_trusted_before = 0
        self._new_trees: dict[str, TreeEntry] = {}
        self._trusted_before = 0
        self._now: dict[str, Entry] = {}
        self._started = time.time_ns()  # before any file is looked at
        self.read = 0  # files read in this run (not known by their stat)
        self._cwd = os.getcwd()
        self._ahead: tuple[list[str], Any, Any] | None = None  # a look-ahead's roots, pool and future
        self._loaded = store is None

    def _load(self) -> None:
        """The record of the last run, read when a digest is first asked for (a run git answers never needs it)."""
        self._loaded = True
        if self.store is not None:
            self._old, self._trusted_before = _read_record(self.store, "files")

    def adopt(self, entries: dict[str, Entry]) -> None:
        """Digests taken elsewhere in this run (a worker process that read the files): known without reading them again."""
        for given, entry in entries.items():
            path = absolute(given, self._cwd)
            if path not in self._now:
                self._now[path] = entry
                self.read += 1

    def digest(self, path: str) -> str:
        """The digest of what ``path`` holds now."""
        path = absolute(path, self._cwd)
        return self.digest_of(path, _signature(os.stat(path)))

    def digest_of(self, path: str, sig: Signature) -> str:
        """``path`` (absolute) whose stat gave ``sig``."""
        if not self._loaded:
            self._load()
        now = self._now.get(path)
        if now is not None and now[:3] == sig:
            return str(now[3])  # read earlier in this run
        old = self._old.get(path)
        if old is not None and old[:3] == sig and sig[1] < self._trusted_before:
            self._now[path] = old
            return str(old[3])
        with open(path, "rb") as fh:
            entry = self._now[path] = (*sig, content_digest(fh.read()))
        self.read += 1
        return str(entry[3])

    def tree(self, roots: Iterable[Path]) -> Iterator[tuple[str, str]]:
        """``(path, digest)`` of every file under ``roots`` (a root that is a file counts as one), sorted by path."""
        for path, sig in _listing([str(r) for r in roots]):
            yield path, self.digest_of(path, sig)

    def look_ahead(self, roots: Iterable[Path]) -> None:
        """Take what ``tree_key(roots)`` needs to look at (git's view, or every file's stat) now, in another process.

        The run that keys on it at its end (the first, when nothing is remembered) gets on
        with its work meanwhile: the key is of the files as they were when it began.
        """
        from concurrent.futures import ProcessPoolExecutor

        listed = [str(r) for r in roots]
        pool = ProcessPoolExecutor(max_workers=1)
        self._ahead = (listed, pool, pool.submit(_state, listed))

    def _looked(self, listed: list[str]) -> tuple[str, Any] | None:
        ahead, self._ahead = self._ahead, None
        if ahead is None:
            return None
        roots, pool, future = ahead
        try:
            return future.result() if roots == listed else None
        except Exception:  # the look-ahead is an optimisation: without it, the state is taken now
            return None
        finally:
            pool.shutdown()

    def tree_key(self, roots: Iterable[Path]) -> str:
        """A digest of what every file under ``roots`` holds.

        In a git work tree that is: each root's tree at HEAD, and the content of whatever
        ``git status`` lists as differing from it (modified, staged, untracked, ignored), so a
        fresh clone with a restored cache answers at once and git's own index does the
        looking. Elsewhere, or when git cannot vouch (files marked assume-unchanged or
        skip-worktree), every file by its digest.
        """
        listed = [str(r) for r in roots]
        kind, state = self._looked(listed) or _state(listed)
        if kind == "files":
            return self._files_key(listed, state)
        trees, changed = state
        h = hashlib.blake2b(trees.encode(), digest_size=16)
        for path in changed:
            h.update(f"{path}\0{self.digest(path) if os.path.isfile(path) else '-'}\n".encode())
        return h.hexdigest()

    def _files_key(self, roots: list[str], state: list[tuple[str, Signature]]) -> str:
        # Every file's stat as it was, and none of them racy: the key is the one recorded, from a record of its own
        # (neither the 100,000 files' record nor a digest per file is looked at).
        listing = hashlib.blake2b(marshal.dumps(state), digest_size=16).hexdigest()
        newest = max((sig[1] for _, sig in state), default=0)
        name = "\0".join(roots)
        if self._old_trees is None:
            self._old_trees, self._trees_trusted_before = ({}, 0) if self.store is None else _read_record(_trees_store(self.store), "trees")
        known = self._old_trees.get(name)
        if _trees_entry(known) and known[0] == listing and newest < self._trees_trusted_before:
            return known[1]
        lines = "".join([f"{path}\0{self.digest_of(path, sig)}\n" for path, sig in state])
        key = hashlib.blake2b(lines.encode(), digest_size=16).hexdigest()
        self._new_trees[name] = (listing, key, newest)
        return key

    def save(self) -> None:
        """Keep the digests taken in this run (only those: files gone since are forgotten); nothing new, nothing written."""
        if self.store is None:
            return
        if self._new_trees:
            trees = _settled(self._old_trees or {}, 2, self._trees_trusted_before)
            trees.update(self._new_trees)
            _write_record(_trees_store(self.store), "trees", trees, self._started)
        if self.read:  # else nothing learnt: the record stands
            files = _settled(self._old, 1, self._trusted_before)
            files.update(self._now)
            _write_record(self.store, "files", files, self._started)


def _read_record(path: Path, part: str) -> tuple[dict[str, Any], int]:
    """A record's entries and the time before which their stats are trusted; none when it is missing or damaged."""
    try:
        raw = path.read_bytes()
        # marshal: the files' record is read on every run, and a tenth of what JSON costs for 100,000 files
        data = marshal.loads(raw[len(MAGIC) :]) if raw.startswith(MAGIC) else None
        if isinstance(data, dict) and data.get("version") == VERSION and isinstance(data.get(part), dict):
            return data[part], int(data["started_ns"]) - RACY_NS
    except (OSError, ValueError, EOFError, KeyError, TypeError):
        pass
    return {}, 0


def _write_record(path: Path, part: str, entries: dict[str, Any], started_ns: int) -> None:
    write_atomically(path, MAGIC + marshal.dumps({"version": VERSION, "started_ns": started_ns, part: entries}))


def _settled(entries: dict[str, Any], time_at: int, trusted_before: int) -> dict[str, Any]:
    """The entries (whose time is at ``time_at``) not taken in this run that go on into the next record.

    Only the settled ones: a racy entry would next be judged against this run's start, not the one that took it.
    """
    return {k: e for k, e in entries.items() if isinstance(e, tuple) and len(e) > time_at and isinstance(e[time_at], int) and e[time_at] < trusted_before}


def _trees_store(store: Path) -> Path:
    """Where the tree keys are kept, beside the files' record: small, so that an unchanged run reads only it."""
    return store.with_name(store.name + ".trees")


def _trees_entry(entry: Any) -> TypeGuard[TreeEntry]:
    """Whether a record's tree entry has the shape this code writes (a damaged record is ignored, never trusted)."""
    return isinstance(entry, tuple) and len(entry) == 3 and isinstance(entry[1], str) and isinstance(entry[2], int)


def _git(args: list[str], cwd: str) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, check=False)
    except OSError:
        return None
    return done.stdout.decode("utf-8", "surrogateescape") if done.returncode == 0 else None


def _git_state(roots: list[Path]) -> tuple[str, list[str]] | None:
    """``(the roots' entries at HEAD, the absolute paths git sees differ from them)``, or ``None`` where git cannot tell."""
    existing = [r for r in roots if r.exists()]
    if not existing:
        return None
    start = existing[0] if existing[0].is_dir() else existing[0].parent
    top = _git(["rev-parse", "--show-toplevel"], str(start))
    if top is None:
        return None
    top = top.strip()
    try:
        rels = [os.path.relpath(os.path.realpath(r), os.path.realpath(top)) for r in roots]
    except ValueError:
        return None
    if any(rel == ".." or rel.startswith(".." + os.sep) for rel in rels):
        return None  # a root outside this repository
    trees = _git(["ls-tree", "--full-tree", "HEAD", "--", *rels], top)
    flags = _git(["ls-files", "-v", "--", *rels], top)
    status = _git(["status", "--porcelain=v1", "-z", "--untracked-files=all", "--ignored=matching", "--no-renames", "--", *rels], top)
    if trees is None or flags is None or status is None:
        return None
    if any(line[:1].islower() or line[:1] == "S" for line in flags.splitlines()):
        return None  # assume-unchanged or skip-worktree: git would not report their changes
    changed = sorted(os.path.join(top, entry[3:]) for entry in status.split("\0") if len(entry) > 3)
    return f"{sorted(rels)}\n{trees}", changed


def _signature(st: os.stat_result) -> Signature:
    return (st.st_size, st.st_mtime_ns, st.st_ino)


def _state(roots: list[str]) -> tuple[str, Any]:
    """``("git", (trees, changed paths))`` in a git work tree git can vouch for, else ``("files", [(path, signature)])``."""
    found = _git_state([Path(r) for r in roots])
    return ("git", found) if found is not None else ("files", _listing(roots))


def _listing(roots: list[str]) -> list[tuple[str, Signature]]:
    """Every file under ``roots`` (absolute paths, sorted) with its stat's signature."""
    found: list[tuple[str, Signature]] = []
    for root in roots:
        root = os.path.abspath(root)
        if os.path.isdir(root):
            _walk(root, found)
        elif os.path.isfile(root):
            found.append((root, _signature(os.stat(root))))
    found.sort(key=lambda item: item[0])
    return found


_FOLDERS: dict[tuple[str, str], str] = {}  # (cwd, relative folder) -> its absolute spelling


def absolute(path: str, cwd: str | None = None) -> str:
    """The one spelling of a path that digests are kept under."""
    if os.path.isabs(path):
        return path
    cwd = cwd or os.getcwd()
    # Many files share a few folders (a subject's versions): each folder is spelt out once.
    folder, _, name = path.rpartition("/")
    if name in ("", ".", ".."):
        return os.path.normpath(os.path.join(cwd, path))
    key = (cwd, folder)
    found = _FOLDERS.get(key)
    if found is None:
        if len(_FOLDERS) >= 100_000:
            _FOLDERS.clear()
        found = _FOLDERS[key] = os.path.normpath(os.path.join(cwd, folder)).rstrip("/")
    return f"{found}/{name}"


def read_with_entry(path: str) -> tuple[bytes, Entry]:
    """A file's bytes and its entry (stat and digest) from one open: for whoever reads it anyway."""
    with open(path, "rb") as fh:
        st = os.fstat(fh.fileno())
        data = fh.read()
    return data, (st.st_size, st.st_mtime_ns, st.st_ino, content_digest(data))


def _walk(folder: str, found: list[tuple[str, Signature]]) -> None:
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=True):
                _walk(entry.path, found)
            elif entry.is_file(follow_symlinks=True):
                found.append((entry.path, _signature(entry.stat())))


def read_cache(path: Path | None, stamp: dict[str, Any]) -> dict[str, Any]:
    """The entries a cache file holds, if ``write_cache`` wrote it with this ``stamp`` (the code and format that made it); else none."""
    if path is None:
        return {}
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or any(data.get(k) != v for k, v in stamp.items()):
        return {}
    entries = data.get("entries")
    return entries if isinstance(entries, dict) else {}


def write_cache(path: Path, stamp: dict[str, Any], entries: dict[str, Any]) -> None:
    write_atomically(path, json.dumps({**stamp, "entries": entries}, separators=(",", ":")))


def write_atomically(path: Path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` so that a reader sees the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data.encode() if isinstance(data, str) else data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
