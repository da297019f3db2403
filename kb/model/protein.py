"""Parse and normalise HGVS protein changes as curators write them.

Curators write the same change many ways (``V600E``, ``p.V600E``, ``p.(Val600Glu)``,
``p.val600glu``). :func:`parse_protein_change` accepts those spellings and returns a
:class:`ProteinChange`, whose :attr:`~ProteinChange.hgvs` is the one canonical form the KB stores
(3-letter codes, ``p.`` prefix, no parentheses) and whose :attr:`~ProteinChange.short` is the
familiar 1-letter alias without ``p.``.

Normalisation choices:

* ``p.(…)`` (a predicted consequence) loses its parentheses.
* Frameshifts keep only the first affected codon: ``p.R175Lfs*5`` and ``p.Arg175fsTer5`` both
  become ``p.Arg175fs`` (short ``R175fs``), the usual key when matching evidence to a variant.
* Stop-loss extensions keep the residue that replaces the stop but not where the new stop is:
  ``p.*757Lext*12`` becomes ``p.Ter757Leuext*?``; a bare ``p.*757L`` is read the same way.
* ``p.V600V`` becomes the synonymous ``p.Val600=``; a single-residue ``delins`` into one residue
  becomes the substitution it is (``p.V600delinsE`` -> ``p.Val600Glu``).
* ``X`` is read as a stop only where it cannot mean anything else: as the whole new residue of a
  nonsense change (``p.Q61X``) and after ``fs``/``ext`` (``fsX5``). Anywhere else it is rejected,
  because current HGVS uses it for an unknown residue.
* 3-letter codes and keywords are read case-insensitively (``p.VAL600GLU``); 1-letter codes must
  be upper case and the two styles may not be mixed (``p.V600Glu``), except that ``*`` is a stop
  in both.

Rejected, with a message saying why: nucleotide changes (``c.``, ``g.``, ``n.``, ``r.``, ``m.``),
reference-sequence prefixes (``NP_004324.2:p.V600E``), ``p.?``/``p.=``/``p.0``, N-terminal
extensions, deleted residues written after ``del`` (``p.E746_A750delELREA``), insertions given as a
length (``ins10``), a stop codon as part of a range or as the start of a deletion, duplication,
insertion, delins or frameshift, and alleles or uncertain positions.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, Literal

__all__ = [
    "AMINO_ACIDS",
    "ProteinChange",
    "ProteinChangeError",
    "normalise_protein_change",
    "parse_exon",
    "parse_protein_change",
]

AMINO_ACIDS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "A": "Ala",
        "R": "Arg",
        "N": "Asn",
        "D": "Asp",
        "C": "Cys",
        "Q": "Gln",
        "E": "Glu",
        "G": "Gly",
        "H": "His",
        "I": "Ile",
        "L": "Leu",
        "K": "Lys",
        "M": "Met",
        "F": "Phe",
        "P": "Pro",
        "S": "Ser",
        "T": "Thr",
        "W": "Trp",
        "Y": "Tyr",
        "V": "Val",
        "U": "Sec",
        "O": "Pyl",
        "*": "Ter",
    }
)
"""1-letter amino-acid code -> 3-letter code, including the stop ``*`` -> ``Ter``."""

_THREE_TO_ONE: Final[Mapping[str, str]] = MappingProxyType(
    {three: one for one, three in AMINO_ACIDS.items()}
)
_THREE_BY_UPPER: Final[Mapping[str, str]] = MappingProxyType(
    {three.upper(): three for three in AMINO_ACIDS.values()}
)
_STOP: Final = "Ter"
_KINDS: Final = frozenset(
    {
        "missense",
        "nonsense",
        "synonymous",
        "codon",
        "deletion",
        "insertion",
        "delins",
        "duplication",
        "frameshift",
        "extension",
        "start_loss",
    }
)
# Longest first, so that "delins" is not read as "del" followed by junk.
_KEYWORDS: Final = ("delins", "del", "dup", "ins", "fs", "ext")
_LETTERS: Final = frozenset(string.ascii_letters)
_DIGITS: Final = frozenset(string.digits)
# What may follow "fs" or "ext": the new stop and how far downstream it is; kept only to validate.
_STOP_TAIL_RE: Final = re.compile(r"(?:(?:\*|X|Ter)(?P<distance>[0-9]+|\?)?)?", re.IGNORECASE)
_EXON_RE: Final = re.compile(r"(?:exon|ex)?\s*(?P<number>[0-9]+)", re.IGNORECASE | re.ASCII)
_NUCLEOTIDE_PREFIXES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "c.": "a cDNA (coding DNA) change",
        "g.": "a genomic DNA change",
        "n.": "a non-coding DNA change",
        "r.": "an RNA change",
        "m.": "a mitochondrial DNA change",
        "o.": "a circular DNA change",
    }
)

_PROTEIN_CHANGE_FORMS: Final = (
    "a protein change, 'p.' prefix optional, 3-letter or upper-case 1-letter codes, "
    "optionally in p.(…): missense p.V600E / p.Val600Glu / V600E; "
    "nonsense p.Q61* / p.Q61X / p.Gln61Ter; synonymous p.V600=; codon p.G12 / p.Gly12; "
    "deletion p.E746_A750del / p.E746del; duplication p.A767_V769dup; "
    "insertion p.D770_N771insG; delins p.E746_S752delinsV; "
    "frameshift p.R175fs / p.R175Lfs*5 / p.Arg175fsTer5; extension p.*757Lext*?; "
    "start loss p.M1?"
)

_EXON_FORMS: Final = "an exon number from 1 to 999, e.g. 'exon 19', 'Exon19', 'ex19' or '19'"

_Style = Literal["one", "three"]


class ProteinChangeError(ValueError):
    """A protein change (or exon) that cannot be read.

    ``value`` is the input as given, ``message`` says what is wrong with it and ``expected``
    lists the accepted forms with examples.
    """

    def __init__(self, value: str, message: str, expected: str = _PROTEIN_CHANGE_FORMS) -> None:
        super().__init__(f"{value!r}: {message}")
        self.value = value
        self.message = message
        self.expected = expected

    def __reduce__(self) -> tuple[type[ProteinChangeError], tuple[str, str, str]]:
        # The default reduce would call __init__ with the formatted string only.
        return (type(self), (self.value, self.message, self.expected))


@dataclass(frozen=True, slots=True)
class ProteinChange:
    """One protein change, with amino acids held as 3-letter codes (``"Ter"`` for a stop).

    ``kind`` is one of ``missense``, ``nonsense``, ``synonymous``, ``codon``, ``deletion``,
    ``insertion``, ``delins``, ``duplication``, ``frameshift``, ``extension`` and ``start_loss``.
    ``end_aa``/``end_pos`` are set only for ranges (``p.E746_A750del``). ``alt`` is the new
    residue(s) as concatenated 3-letter codes (``"Glu"``, ``"ThrPro"``, ``"Ter"`` for nonsense),
    or ``None`` where there is none to give (synonymous, codon, deletion, duplication,
    frameshift, start loss).
    """

    kind: str
    start_aa: str
    start_pos: int
    end_aa: str | None = None
    end_pos: int | None = None
    alt: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"unknown protein change kind {self.kind!r}")
        for code in (self.start_aa, self.end_aa):
            if code is not None and code not in _THREE_TO_ONE:
                raise ValueError(f"{code!r} is not a 3-letter amino-acid code")
        if self.start_pos < 1:
            raise ValueError(f"start_pos must be at least 1, got {self.start_pos}")
        if (self.end_aa is None) != (self.end_pos is None):
            raise ValueError("end_aa and end_pos must be given together")
        if self.end_pos is not None and self.end_pos <= self.start_pos:
            raise ValueError(f"end_pos {self.end_pos} is not after start_pos {self.start_pos}")
        if self.alt is not None and not _split_residues(self.alt):
            raise ValueError(f"alt {self.alt!r} is not a run of 3-letter amino-acid codes")

    @property
    def hgvs(self) -> str:
        """The canonical HGVS form with 3-letter codes, e.g. ``p.Val600Glu``."""
        return "p." + self._render(three_letter=True)

    @property
    def short(self) -> str:
        """The 1-letter alias without ``p.``, e.g. ``V600E``, ``Q61*``, ``E746_A750del``."""
        return self._render(three_letter=False)

    @property
    def codon(self) -> int:
        """The first affected codon (``start_pos``)."""
        return self.start_pos

    def _render(self, *, three_letter: bool) -> str:
        def aa(code: str) -> str:
            return code if three_letter else _THREE_TO_ONE[code]

        def seq(codes: str) -> str:
            return "".join(aa(code) for code in _split_residues(codes))

        text = f"{aa(self.start_aa)}{self.start_pos}"
        if self.end_aa is not None:
            text += f"_{aa(self.end_aa)}{self.end_pos}"
        alt = self.alt or ""
        match self.kind:
            case "missense" | "nonsense":
                return text + seq(alt)
            case "synonymous":
                return text + "="
            case "codon":
                return text
            case "deletion":
                return text + "del"
            case "duplication":
                return text + "dup"
            case "insertion":
                return text + "ins" + seq(alt)
            case "delins":
                return text + "delins" + seq(alt)
            case "frameshift":
                return text + "fs"
            case "extension":
                return text + seq(alt) + "ext*?"
            case _:  # start_loss; __post_init__ rules out anything else
                return text + "?"


def _split_residues(codes: str) -> list[str]:
    """Split concatenated 3-letter codes; an empty list if ``codes`` is not such a run."""
    parts = [codes[i : i + 3] for i in range(0, len(codes), 3)]
    if not codes or any(part not in _THREE_TO_ONE for part in parts):
        return []
    return parts


def parse_protein_change(text: str) -> ProteinChange:
    """Parse a protein change as a curator writes it.

    Accepts 1-letter (``V600E``) and 3-letter (``Val600Glu``) forms with or without ``p.`` and
    with or without ``p.(…)``; surrounding whitespace is ignored. Raises
    :class:`ProteinChangeError` naming what is wrong, e.g. ``unknown amino acid 'B' at
    character 3``, with the accepted forms in ``.expected``.
    """
    if not isinstance(text, str):
        raise TypeError(f"protein change must be a str, not {type(text).__name__}")
    stripped = text.strip()
    if not stripped:
        raise ProteinChangeError(text, "the protein change is empty")
    base = len(text) - len(text.lstrip())

    for index, char in enumerate(stripped):
        if char.isspace():
            raise ProteinChangeError(
                text,
                f"unexpected whitespace at character {base + index + 1}; give only the protein "
                "change, without a gene symbol or comments",
            )
    _reject_non_protein(text, stripped)

    body = stripped
    if body[:2] in ("p.", "P."):
        body = body[2:]
        base += 2
    if body.startswith("(") and body.endswith(")"):
        body = body[1:-1]
        base += 1
    if "(" in body or ")" in body:
        raise ProteinChangeError(
            text,
            "unbalanced or misplaced parentheses; only p.(…) around the whole change is accepted",
        )
    if not body:
        raise ProteinChangeError(text, "no amino acid or position after 'p.'")
    return _Parser(text, body, base).parse()


def normalise_protein_change(text: str) -> str:
    """Return the canonical HGVS form (``.hgvs``) of a protein change, e.g. ``p.Val600Glu``.

    Raises :class:`ProteinChangeError` as :func:`parse_protein_change` does.
    """
    return parse_protein_change(text).hgvs


def parse_exon(text: str) -> int:
    """Parse an exon as curators write it (``exon 19``, ``Exon19``, ``ex19``, ``19``) -> ``19``.

    Raises :class:`ProteinChangeError` unless it is a whole number from 1 to 999, optionally
    after ``exon`` or ``ex``.
    """
    if not isinstance(text, str):
        raise TypeError(f"exon must be a str, not {type(text).__name__}")
    stripped = text.strip()
    if not stripped:
        raise ProteinChangeError(text, "the exon is empty", _EXON_FORMS)
    match = _EXON_RE.fullmatch(stripped)
    if match is None:
        raise ProteinChangeError(text, "not an exon number", _EXON_FORMS)
    number = int(match["number"])
    if not 1 <= number <= 999:
        raise ProteinChangeError(
            text, f"exon number must be from 1 to 999, got {number}", _EXON_FORMS
        )
    return number


def _reject_non_protein(value: str, stripped: str) -> None:
    """Raise for inputs that are clearly not protein changes at all, with a pointed message."""
    change = stripped
    if ":" in stripped:
        reference, _, change = stripped.rpartition(":")
        if change[:2].lower() not in _NUCLEOTIDE_PREFIXES:
            raise ProteinChangeError(
                value,
                f"reference-sequence prefix {reference + ':'!r} is not accepted; "
                "give only the protein change, e.g. p.V600E",
            )
    described = _NUCLEOTIDE_PREFIXES.get(change[:2].lower())
    if described is not None:
        raise ProteinChangeError(
            value, f"{change!r} is {described}; a protein change 'p.…' is expected, e.g. p.V600E"
        )
    if ">" in change:
        raise ProteinChangeError(
            value,
            "'>' marks a nucleotide substitution (as in c.1799T>A); "
            "a protein change 'p.…' is expected, e.g. p.V600E",
        )


class _Parser:
    """A cursor over the body of a protein change (the text after ``p.`` and parentheses)."""

    def __init__(self, value: str, body: str, base: int) -> None:
        self.value = value
        self.body = body
        self.base = base  # where body starts within value, for 1-based character numbers
        self.i = 0
        # Set by the first residue that shows its style; '*' belongs to both.
        self.style: _Style | None = None

    # -- helpers ---------------------------------------------------------------------------

    def error(self, message: str) -> ProteinChangeError:
        return ProteinChangeError(self.value, message)

    def at(self, index: int | None = None) -> str:
        """'character N' for a body index (default: the cursor), counted in the original input."""
        return f"character {self.base + (self.i if index is None else index) + 1}"

    def peek(self, length: int = 1) -> str:
        return self.body[self.i : self.i + length]

    def rest(self) -> str:
        return self.body[self.i :]

    def done(self) -> bool:
        return self.i >= len(self.body)

    def unexpected(self, after: str = "") -> ProteinChangeError:
        detail = f" after {after!r}" if after else ""
        return self.error(f"unexpected {self.rest()!r} at {self.at()}{detail}")

    def set_style(self, style: _Style, token: str, index: int) -> None:
        if self.style is None:
            self.style = style
        elif self.style != style:
            raise self.error(
                f"mixes 1-letter and 3-letter amino-acid codes ({token!r} at {self.at(index)}); "
                "use one style throughout, e.g. p.V600E or p.Val600Glu"
            )

    def one_letter(self, char: str, index: int) -> str:
        """The 3-letter code for a 1-letter code at ``index``, or an error saying why not."""
        if char == "X":
            raise self.error(
                f"'X' at {self.at(index)} is ambiguous (an old stop or an unknown residue); "
                "use '*' for a stop"
            )
        if char in AMINO_ACIDS:
            return AMINO_ACIDS[char]
        if char.upper() in AMINO_ACIDS:
            raise self.error(
                f"1-letter amino-acid codes must be upper case: {char!r} at {self.at(index)}"
            )
        raise self.error(f"unknown amino acid {char!r} at {self.at(index)}")

    # -- grammar ---------------------------------------------------------------------------

    def residue_at_position(self) -> tuple[str, str]:
        """Read the residue before a position: returns (3-letter code, text as written)."""
        start = self.i
        if self.peek() == "*":
            self.i += 1
            return _STOP, "*"
        while not self.done() and self.body[self.i] in _LETTERS:
            self.i += 1
        token = self.body[start : self.i]
        if not token:
            if self.done():
                raise self.error(f"missing amino acid at {self.at()}: the text ends")
            if self.peek() in _DIGITS:
                rest = self.rest()
                digits = rest[: len(rest) - len(rest.lstrip(string.digits))]
                if int(digits) == 0:
                    raise self.error(
                        f"position 0 at {self.at()} is not valid; positions start at 1 "
                        "(p.0, no protein made, is not accepted)"
                    )
                raise self.error(f"missing amino acid before position {digits} at {self.at()}")
            raise self.error(f"expected an amino acid at {self.at()}, got {self.peek()!r}")
        if len(token) == 1:
            code = self.one_letter(token, start)
            self.set_style("one", token, start)
        elif len(token) == 3:
            found = _THREE_BY_UPPER.get(token.upper())
            if found is None:
                raise self.error(f"unknown amino acid {token!r} at {self.at(start)}")
            code = found
            self.set_style("three", token, start)
        else:
            raise self.error(
                f"expected a 1-letter (e.g. 'V') or 3-letter (e.g. 'Val') amino-acid code at "
                f"{self.at(start)}, got {token!r}"
            )
        return code, token

    def position(self, after: str) -> int:
        start = self.i
        while not self.done() and self.body[self.i] in _DIGITS:
            self.i += 1
        digits = self.body[start : self.i]
        if not digits:
            raise self.error(f"missing position after amino acid {after!r} at {self.at()}")
        if int(digits) == 0:
            raise self.error(f"position 0 at {self.at(start)} is not valid; positions start at 1")
        if digits[0] == "0":
            raise self.error(f"position {digits!r} at {self.at(start)} has a leading zero")
        return int(digits)

    def new_residue(self) -> str:
        """Read one residue after the position (a new or inserted residue)."""
        start = self.i
        char = self.peek()
        if char == "*":
            self.i += 1
            return _STOP
        if not char:
            raise self.error(f"expected an amino acid at {self.at()}: the text ends")
        if char not in _LETTERS:
            raise self.error(f"expected an amino acid at {self.at()}, got {char!r}")
        triple = self.peek(3)
        triple_code = _THREE_BY_UPPER.get(triple.upper()) if len(triple) == 3 else None
        if self.style == "three" or (self.style is None and triple_code is not None):
            if triple_code is None:
                if len(triple) == 3 and all(c in _LETTERS for c in triple):
                    raise self.error(f"unknown amino acid {triple!r} at {self.at()}")
                if char in AMINO_ACIDS:
                    self.set_style("one", char, start)
                raise self.error(f"unknown amino acid {char!r} at {self.at()}")
            self.i += 3
            self.set_style("three", triple, start)
            return triple_code
        # An upper-case triple such as "VAL" is three 1-letter codes here; "Val" cannot be.
        if triple_code is not None and not triple.isupper():
            self.set_style("three", triple, start)
        code = self.one_letter(char, start)
        self.i += 1
        self.set_style("one", char, start)
        return code

    def sequence(self, keyword: str) -> str:
        """Read the residues after ``ins``/``delins`` to the end; a stop may only come last."""
        if self.done():
            raise self.error(
                f"'{keyword}' at {self.at(self.i - len(keyword))} must be followed by the new "
                f"amino acids, e.g. p.D770_N771insG or p.E746_S752delinsV"
            )
        residues: list[str] = []
        while not self.done():
            if self.peek() in _DIGITS or self.peek() == "?":
                raise self.error(
                    f"the residues after '{keyword}' must be written out as amino-acid codes "
                    f"(a length or unknown sequence such as '{keyword}10' is not supported), "
                    f"at {self.at()}"
                )
            if residues and residues[-1] == _STOP:
                raise self.error(f"a stop may only be the last new residue, at {self.at()}")
            residues.append(self.new_residue())
        return "".join(residues)

    def keyword(self) -> str | None:
        """Consume and return a keyword at the cursor (case-insensitive unless 1-letter style)."""
        for word in _KEYWORDS:
            found = self.peek(len(word))
            if found == word or (self.style != "one" and found.lower() == word):
                self.i += len(word)
                return word
            # With 1-letter codes an upper-case keyword would read as residues, which no valid
            # change has at this point, so say what was probably meant.
            if found.lower() == word:
                raise self.error(
                    f"write {word!r} in lower case with 1-letter codes ({found!r} at {self.at()})"
                )
        return None

    def stop_tail(self, keyword: str) -> None:
        """Check what follows ``fs`` or ``ext`` (e.g. ``*5``, ``Ter5``, ``X5``, ``*?``)."""
        match = _STOP_TAIL_RE.fullmatch(self.rest())
        if match is None:
            raise self.error(
                f"unexpected {self.rest()!r} after '{keyword}' at {self.at()}; expected nothing "
                f"or the new stop, e.g. '{keyword}*5', '{keyword}Ter5' or '{keyword}*?'"
            )
        distance = match["distance"]
        if distance and distance != "?" and (int(distance) == 0 or distance[0] == "0"):
            raise self.error(
                f"the new stop's distance {distance!r} after '{keyword}' must be a whole "
                "number from 1 without leading zeros"
            )
        self.i = len(self.body)

    def parse(self) -> ProteinChange:
        start_aa, written = self.residue_at_position()
        start_pos = self.position(written)
        if self.peek() == "_":
            return self.parse_range(start_aa, start_pos)
        consumed = self.body[: self.i]
        rest = self.rest()
        if rest == "":
            return ProteinChange("codon", start_aa, start_pos)
        if rest == "=":
            return ProteinChange("synonymous", start_aa, start_pos)
        if rest == "?":
            if (start_aa, start_pos) != ("Met", 1):
                raise self.error(
                    f"'?' at {self.at()} is only accepted as a start loss at Met1 (p.M1?); "
                    "an unknown consequence elsewhere is not a protein change"
                )
            return ProteinChange("start_loss", start_aa, start_pos)
        if rest == "X":
            return _substitution(start_aa, start_pos, _STOP)

        keyword_at = self.i
        keyword = self.keyword()
        if keyword is not None:
            if start_aa == _STOP and keyword == "ext":
                raise self.error(
                    f"'ext' at {self.at(keyword_at)} must follow the residue that replaces the "
                    "stop, e.g. p.*757Lext*?"
                )
            if start_aa == _STOP:
                raise self.error(
                    f"a stop codon ({written!r}) cannot start a change written with "
                    f"'{keyword}'; a change at the stop codon is an extension, e.g. p.*757Lext*?"
                )
            return self.parse_single_keyword(keyword, keyword_at, start_aa, start_pos)

        alt = self.new_residue()
        after_alt = self.body[: self.i]
        if self.done():
            return _substitution(start_aa, start_pos, alt)
        keyword = self.keyword()
        if keyword == "fs":
            if start_aa == _STOP:
                raise self.error(
                    "a frameshift cannot start at a stop codon; describe it as an extension, "
                    "e.g. p.*757Lext*?"
                )
            if alt == _STOP:
                raise self.error(
                    f"a frameshift cannot start with a stop ({after_alt!r}); that is a nonsense "
                    "change, e.g. p.Q61*"
                )
            self.stop_tail("fs")
            return ProteinChange("frameshift", start_aa, start_pos)
        if keyword == "ext":
            if start_aa != _STOP:
                raise self.error(
                    f"only C-terminal extensions from a stop codon are accepted (e.g. "
                    f"p.*757Lext*?), not one from {consumed!r}"
                )
            if alt == _STOP:
                raise self.error("an extension needs the residue that replaces the stop")
            self.stop_tail("ext")
            return ProteinChange("extension", start_aa, start_pos, alt=alt)
        if keyword is not None:
            self.i -= len(keyword)
        raise self.unexpected(after_alt)

    def parse_single_keyword(
        self, keyword: str, keyword_at: int, start_aa: str, start_pos: int
    ) -> ProteinChange:
        """``del``, ``dup``, ``delins``, ``fs`` (or a misplaced ``ins``/``ext``) at one position."""
        match keyword:
            case "del" | "dup":
                if not self.done():
                    raise self.unexpected_after_keyword(keyword)
                kind = "deletion" if keyword == "del" else "duplication"
                return ProteinChange(kind, start_aa, start_pos)
            case "delins":
                alt = self.sequence(keyword)
                if len(alt) == 3:
                    return _substitution(start_aa, start_pos, alt)
                return ProteinChange("delins", start_aa, start_pos, alt=alt)
            case "fs":
                self.stop_tail("fs")
                return ProteinChange("frameshift", start_aa, start_pos)
            case "ins":
                raise self.error(
                    f"an insertion needs the two residues it lies between, e.g. "
                    f"p.D770_N771insG ('ins' at {self.at(keyword_at)})"
                )
            case _:
                raise self.error(
                    f"'ext' at {self.at(keyword_at)} needs a stop codon and the residue that "
                    "replaces it, e.g. p.*757Lext*? (N-terminal extensions are not accepted)"
                )

    def unexpected_after_keyword(self, keyword: str) -> ProteinChangeError:
        residues = (
            f"; residues are not written after '{keyword}' (e.g. p.E746_A750{keyword})"
            if self.peek() in _LETTERS
            else ""
        )
        return self.error(f"unexpected {self.rest()!r} after '{keyword}' at {self.at()}{residues}")

    def parse_range(self, start_aa: str, start_pos: int) -> ProteinChange:
        underscore = self.i
        self.i += 1
        end_aa, written = self.residue_at_position()
        if _STOP in (start_aa, end_aa):
            raise self.error(
                "a stop codon cannot be part of a range (e.g. p.E746_A750del); "
                "a change at the stop codon is an extension, e.g. p.*757Lext*?"
            )
        end_pos = self.position(written)
        if end_pos < start_pos:
            raise self.error(f"range end {end_pos} is before its start {start_pos}")
        if end_pos == start_pos:
            raise self.error(
                f"range end {end_pos} is the same as its start; write one position, "
                f"e.g. p.{self.body[:underscore]}del"
            )
        keyword_at = self.i
        keyword = self.keyword()
        match keyword:
            case "del" | "dup":
                if not self.done():
                    raise self.unexpected_after_keyword(keyword)
                kind = "deletion" if keyword == "del" else "duplication"
                return ProteinChange(kind, start_aa, start_pos, end_aa, end_pos)
            case "ins":
                if end_pos != start_pos + 1:
                    raise self.error(
                        f"an insertion lies between two adjacent residues (e.g. "
                        f"p.D770_N771insG), not {start_pos}_{end_pos}"
                    )
                alt = self.sequence(keyword)
                return ProteinChange("insertion", start_aa, start_pos, end_aa, end_pos, alt)
            case "delins":
                alt = self.sequence(keyword)
                return ProteinChange("delins", start_aa, start_pos, end_aa, end_pos, alt)
            case _:
                found = repr(self.body[keyword_at:]) if keyword_at < len(self.body) else "nothing"
                raise self.error(
                    f"a range must be followed by del, dup, ins or delins at "
                    f"{self.at(keyword_at)}, got {found}"
                )


def _substitution(ref: str, pos: int, alt: str) -> ProteinChange:
    """One residue replaced by one residue, classified by what it becomes."""
    if alt == ref:
        return ProteinChange("synonymous", ref, pos)
    if ref == _STOP:
        return ProteinChange("extension", ref, pos, alt=alt)
    if alt == _STOP:
        return ProteinChange("nonsense", ref, pos, alt=_STOP)
    return ProteinChange("missense", ref, pos, alt=alt)
