"""Exceptions and warnings raised by asm_pace.

Every error asm_pace raises derives from :class:`AsmPaceError`, and each
subclass also inherits the matching builtin, so ``except ValueError`` keeps
working in code that does not know about asm_pace. Every warning derives from
:class:`AsmPaceWarning` so it can be filtered in one line::

    import warnings
    warnings.filterwarnings("ignore", category=asm_pace.errors.AsmPaceWarning)

Messages say what was found, where (file, line or feature, column), what was
expected and what to do.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "AsmPaceError",
    "InputError",
    "EmptyBoxError",
    "ReadError",
    "LayerNotFoundError",
    "SchemaError",
    "CRSError",
    "SiteValidationError",
    "SiteProblem",
    "RasterError",
    "OutputExistsError",
    "OutputError",
    "MissingDependencyError",
    "AsmPaceWarning",
    "NoCRSWarning",
    "DroppedRecordsWarning",
    "NoStatusFilterWarning",
    "RepairedGeometryWarning",
    "CoverageWarning",
    "ExtentWarning",
    "LayerChoiceError",
    "UnreadableValueWarning",
    "InconsistentValueWarning",
]


class AsmPaceError(Exception):
    """Root of every error raised by asm_pace."""


class InputError(AsmPaceError, ValueError):
    """Input data that asm_pace cannot use as it is (wrong values, wrong types)."""


class EmptyBoxError(InputError):
    """No feature of a layer (of the countries asked for) meets the ``bbox`` it was read for."""


class ReadError(AsmPaceError, OSError):
    """A file that does not exist, cannot be opened, is empty or is corrupt."""


class LayerNotFoundError(ReadError, LookupError):
    """A layer asked for (or needed) is not in the file."""


class SchemaError(InputError):
    """A layer lacks the fields asm_pace needs (the message lists the expected ones)."""


class CRSError(InputError):
    """A coordinate reference system that is missing, unknown or does not fit the data."""


class RasterError(InputError):
    """A raster that cannot be used (wrong CRS, no overlap, unreadable tiles...)."""


class OutputError(AsmPaceError, OSError):
    """An output that cannot be written."""


class OutputExistsError(OutputError, FileExistsError):
    """An output file exists and ``overwrite`` was not asked for."""


class MissingDependencyError(AsmPaceError, ImportError):
    """An optional dependency is not installed (the message names the extra to install)."""


@dataclass(frozen=True)
class SiteProblem:
    """One problem found in a site list.

    Attributes
    ----------
    line : int or None
        1-based line number in the file (header is line 1 for delimited text),
        or the feature number for vector files; ``None`` for file-wide problems.
    column : str or None
        The column the problem is in.
    value : object
        The offending value, as read.
    problem : str
        What is wrong, in plain words.
    fix : str
        What to do about it.
    """

    line: int | None
    column: str | None
    value: object
    problem: str
    fix: str

    def __str__(self) -> str:
        where = []
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        loc = ", ".join(where) if where else "file"
        val = "" if self.value is None else f" (value {self.value!r})"
        return f"{loc}: {self.problem}{val}. {self.fix}"


class SiteValidationError(InputError):
    """Every problem found in a site list, reported at once.

    Attributes
    ----------
    source : str
        The file (or ``"<DataFrame>"``) the sites came from.
    problems : list of SiteProblem
        Each problem, with line, column, value and what to do.
    """

    def __init__(self, source: str, problems: list[SiteProblem], *, limit: int = 50):
        self.source = str(source)
        self.problems = list(problems)
        super().__init__("\n".join(self.lines(limit=limit)))

    def lines(self, *, limit: int | None = None) -> list[str]:
        """The message's lines: one problem on one line; several under a count, ``limit`` shown.

        Examples
        --------
        >>> p = SiteProblem(3, "latitude", "-95", "latitude outside -90..90", "Fix it.")
        >>> SiteValidationError("a.csv", [p]).lines()
        ["a.csv: line 3, column 'latitude': latitude outside -90..90 (value '-95'). Fix it."]
        >>> len(SiteValidationError("a.csv", [p, p, p]).lines(limit=2))
        4
        """
        if len(self.problems) == 1:
            return [f"{self.source}: {self.problems[0]}"]
        shown = self.problems if limit is None else self.problems[:limit]
        lines = [f"{self.source}: {len(self.problems)} problem(s) in the site list:"]
        lines += [f"  - {p}" for p in shown]
        if len(shown) < len(self.problems):
            lines.append(f"  ... and {len(self.problems) - len(shown)} more")
        return lines


class AsmPaceWarning(UserWarning):
    """Root of every warning issued by asm_pace."""


class NoCRSWarning(AsmPaceWarning):
    """A layer had no CRS and was read as EPSG:4326 because its coordinates fit lon/lat."""


class DroppedRecordsWarning(AsmPaceWarning):
    """Records were left out (e.g. WDPA point records without a reported area)."""


class NoStatusFilterWarning(AsmPaceWarning):
    """A protected-area layer without WDPA status fields: every polygon counts as protected."""


class RepairedGeometryWarning(AsmPaceWarning):
    """Invalid geometries were repaired with ``shapely.make_valid``."""


class CoverageWarning(AsmPaceWarning):
    """Zones lie partly or wholly outside the rasters (``data_coverage`` < 1)."""


class ExtentWarning(AsmPaceWarning):
    """Sites or zones lie outside a layer's extent: results there may be incomplete or wrong."""


class LayerChoiceError(InputError, LookupError):
    """A file holds several layers (or sheets) that could be the one meant; pass ``layer=``."""


class UnreadableValueWarning(AsmPaceWarning):
    """A descriptive attribute value that cannot be read (a STATUS_YR of "n/a") was left empty."""


class InconsistentValueWarning(AsmPaceWarning):
    """Two values that should agree do not (a river's LENGTH_KM and its line's length)."""
