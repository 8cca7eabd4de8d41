"""Which books a batch converts: book files, folders of books, and lists of books.

A folder is searched recursively, in name order, for every file type voxcli reads (hidden files
and folders left out), and each book's folder under the library mirrors its place in the folder:
``DIR/novels/emma.epub`` becomes ``LIBRARY/novels/emma/``. A book named directly or in a list gets
``LIBRARY/NAME/``. A ``.txt`` file is a list when each of its lines that is neither empty nor a
``#`` comment names a book (ends in a book's file type); paths in it are relative to the list's folder.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from voxcli.errors import UsageError
from voxcli.ingest import EPUB_SUFFIXES, KFX_SUFFIXES, MARKDOWN_SUFFIXES, READERS, TEXT_SUFFIXES
from voxcli.ingest.calibre import CALIBRE_SUFFIXES

BOOK_SUFFIXES = tuple(
    dict.fromkeys(
        (*EPUB_SUFFIXES, *TEXT_SUFFIXES, *MARKDOWN_SUFFIXES, *READERS, *KFX_SUFFIXES, *CALIBRE_SUFFIXES)
    )
)
LIST_SUFFIXES = (".txt", ".list", ".lst")
MAX_LIST_BYTES = 16 * 2**20  # a larger .txt file is a book, not a list


@dataclass(frozen=True)
class BookEntry:
    """A book of the batch, and where its folder goes under the library (the folder layout)."""

    path: Path  # the book file, as found (it may not exist: a list can name a missing book)
    folder: PurePosixPath  # relative to the library: "emma", "novels/emma"

    @property
    def label(self) -> str:
        """How the summary names the book: its folder under the library."""
        return str(self.folder)


def book_suffix(path: Path) -> str | None:
    """The book file type ``path`` ends in (".fb2.zip" included), or None."""
    name = path.name.lower()
    return next((s for s in sorted(BOOK_SUFFIXES, key=len, reverse=True) if name.endswith(s)), None)


def find_books(arguments: Sequence[str], library: Path) -> list[BookEntry]:
    """The books named by ``arguments`` (files, folders, lists), each once, in the order given; a
    folder's search leaves out ``library`` (what voxcli wrote is no book to read)."""
    found: list[BookEntry] = []
    for argument in arguments:
        path = Path(argument)
        if path.is_dir():
            books = _folder_books(path, library.resolve())
            if not books:
                raise UsageError(
                    f"{argument}: no books in this folder",
                    f"voxcli reads {', '.join(BOOK_SUFFIXES)}",
                )
            found.extend(books)
        elif not path.exists():
            raise UsageError(f"{argument}: no such file or folder", "check the path")
        elif (listed := book_list(path)) is not None:
            if not listed:
                raise UsageError(f"{argument}: the list names no books", "write one book path per line")
            found.extend(BookEntry(book, _stem_folder(book)) for book in listed)
        else:
            found.append(BookEntry(path, _stem_folder(path)))
    unique: dict[Path, BookEntry] = {}
    for entry in found:
        unique.setdefault(entry.path.resolve(), entry)
    return list(unique.values())


def book_list(path: Path) -> list[Path] | None:
    """The books a list file names, or None when ``path`` is not a list (a book, say)."""
    if path.suffix.lower() not in LIST_SUFFIXES or path.stat().st_size > MAX_LIST_BYTES:
        return None
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return None
    lines = [line.strip() for line in text.splitlines()]
    names = [line for line in lines if line and not line.startswith("#")]
    if not all(book_suffix(Path(name)) for name in names):
        return None
    return [(path.parent / Path(name).expanduser()) for name in names]


def _folder_books(folder: Path, library: Path) -> list[BookEntry]:
    books: list[BookEntry] = []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts) or not path.is_file():
            continue
        if path.resolve().is_relative_to(library):
            continue
        suffix = book_suffix(path)
        if suffix is None:
            continue
        books.append(BookEntry(path, PurePosixPath(*relative.parts[:-1], path.name[: -len(suffix)])))
    return books


def _stem_folder(path: Path) -> PurePosixPath:
    suffix = book_suffix(path)
    name = path.name[: -len(suffix)] if suffix else path.stem
    return PurePosixPath(name or path.name)
