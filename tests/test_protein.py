"""Tests for kb.model.protein: parsing and normalising HGVS protein changes and exons."""

from __future__ import annotations

import dataclasses
import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kb.model.protein import (
    AMINO_ACIDS,
    ProteinChange,
    ProteinChangeError,
    normalise_protein_change,
    parse_exon,
    parse_protein_change,
)

# (input, kind, canonical hgvs, short)
ACCEPTED: list[tuple[str, str, str, str]] = [
    # missense
    ("p.V600E", "missense", "p.Val600Glu", "V600E"),
    ("p.Val600Glu", "missense", "p.Val600Glu", "V600E"),
    ("V600E", "missense", "p.Val600Glu", "V600E"),
    ("Val600Glu", "missense", "p.Val600Glu", "V600E"),
    ("p.(V600E)", "missense", "p.Val600Glu", "V600E"),
    ("p.(Val600Glu)", "missense", "p.Val600Glu", "V600E"),
    ("p.val600glu", "missense", "p.Val600Glu", "V600E"),
    ("P.VAL600GLU", "missense", "p.Val600Glu", "V600E"),
    ("  p.V600E\t\n", "missense", "p.Val600Glu", "V600E"),
    ("p.M1I", "missense", "p.Met1Ile", "M1I"),
    ("p.U100C", "missense", "p.Sec100Cys", "U100C"),
    ("p.V600delinsE", "missense", "p.Val600Glu", "V600E"),
    # nonsense
    ("p.Q61*", "nonsense", "p.Gln61Ter", "Q61*"),
    ("p.Q61X", "nonsense", "p.Gln61Ter", "Q61*"),
    ("Q61*", "nonsense", "p.Gln61Ter", "Q61*"),
    ("p.Gln61Ter", "nonsense", "p.Gln61Ter", "Q61*"),
    ("p.Gln61*", "nonsense", "p.Gln61Ter", "Q61*"),
    ("p.Gln61X", "nonsense", "p.Gln61Ter", "Q61*"),
    ("p.GLN61TER", "nonsense", "p.Gln61Ter", "Q61*"),
    ("p.V600delins*", "nonsense", "p.Val600Ter", "V600*"),
    # synonymous
    ("p.V600=", "synonymous", "p.Val600=", "V600="),
    ("p.Val600=", "synonymous", "p.Val600=", "V600="),
    ("p.V600V", "synonymous", "p.Val600=", "V600="),
    ("p.*757*", "synonymous", "p.Ter757=", "*757="),
    # codon level
    ("p.G12", "codon", "p.Gly12", "G12"),
    ("G12", "codon", "p.Gly12", "G12"),
    ("p.Gly12", "codon", "p.Gly12", "G12"),
    ("p.gly12", "codon", "p.Gly12", "G12"),
    ("p.*757", "codon", "p.Ter757", "*757"),
    # deletion
    ("p.E746_A750del", "deletion", "p.Glu746_Ala750del", "E746_A750del"),
    ("E746_A750del", "deletion", "p.Glu746_Ala750del", "E746_A750del"),
    ("p.Glu746_Ala750del", "deletion", "p.Glu746_Ala750del", "E746_A750del"),
    ("p.GLU746_ALA750DEL", "deletion", "p.Glu746_Ala750del", "E746_A750del"),
    ("p.E746del", "deletion", "p.Glu746del", "E746del"),
    # duplication
    ("p.A767_V769dup", "duplication", "p.Ala767_Val769dup", "A767_V769dup"),
    ("p.Ala767_Val769dup", "duplication", "p.Ala767_Val769dup", "A767_V769dup"),
    ("p.A767dup", "duplication", "p.Ala767dup", "A767dup"),
    # insertion
    ("p.D770_N771insG", "insertion", "p.Asp770_Asn771insGly", "D770_N771insG"),
    ("p.Asp770_Asn771insGly", "insertion", "p.Asp770_Asn771insGly", "D770_N771insG"),
    ("p.A763_Y764insFQEA", "insertion", "p.Ala763_Tyr764insPheGlnGluAla", "A763_Y764insFQEA"),
    ("p.M3_H4insG*", "insertion", "p.Met3_His4insGlyTer", "M3_H4insG*"),
    # delins
    ("p.E746_S752delinsV", "delins", "p.Glu746_Ser752delinsVal", "E746_S752delinsV"),
    ("p.Glu746_Ser752delinsVal", "delins", "p.Glu746_Ser752delinsVal", "E746_S752delinsV"),
    ("p.glu746_ser752delinsval", "delins", "p.Glu746_Ser752delinsVal", "E746_S752delinsV"),
    ("p.C28delinsWV", "delins", "p.Cys28delinsTrpVal", "C28delinsWV"),
    # an upper-case triple after 1-letter codes is three residues, not one 3-letter code
    ("p.E746_S752delinsVAL", "delins", "p.Glu746_Ser752delinsValAlaLeu", "E746_S752delinsVAL"),
    # frameshift: canonical form keeps only the first affected codon
    ("p.R175fs", "frameshift", "p.Arg175fs", "R175fs"),
    ("R175fs", "frameshift", "p.Arg175fs", "R175fs"),
    ("p.Arg175fs", "frameshift", "p.Arg175fs", "R175fs"),
    ("p.Arg175fsTer5", "frameshift", "p.Arg175fs", "R175fs"),
    ("p.R175Lfs*5", "frameshift", "p.Arg175fs", "R175fs"),
    ("p.Arg175LeufsTer5", "frameshift", "p.Arg175fs", "R175fs"),
    ("p.R175fs*5", "frameshift", "p.Arg175fs", "R175fs"),
    ("p.R175fsX5", "frameshift", "p.Arg175fs", "R175fs"),
    ("p.R175Lfs*?", "frameshift", "p.Arg175fs", "R175fs"),
    ("p.R175fs*", "frameshift", "p.Arg175fs", "R175fs"),
    ("p.ARG175LEUFSTER5", "frameshift", "p.Arg175fs", "R175fs"),
    # extension: the new stop's position is not kept
    ("p.*757Lext*?", "extension", "p.Ter757Leuext*?", "*757Lext*?"),
    ("p.Ter757Leuext*?", "extension", "p.Ter757Leuext*?", "*757Lext*?"),
    ("p.*757Lext*12", "extension", "p.Ter757Leuext*?", "*757Lext*?"),
    ("p.Ter757LeuextTer12", "extension", "p.Ter757Leuext*?", "*757Lext*?"),
    ("p.*757L", "extension", "p.Ter757Leuext*?", "*757Lext*?"),
    ("p.Ter757Leu", "extension", "p.Ter757Leuext*?", "*757Lext*?"),
    # start loss
    ("p.M1?", "start_loss", "p.Met1?", "M1?"),
    ("p.Met1?", "start_loss", "p.Met1?", "M1?"),
    ("M1?", "start_loss", "p.Met1?", "M1?"),
]

CANONICAL: list[tuple[str, str]] = sorted({(hgvs, short) for _, _, hgvs, short in ACCEPTED})

# (input, text the message must contain)
REJECTED: list[tuple[str, str]] = [
    ("", "empty"),
    ("   ", "empty"),
    ("p.", "no amino acid or position"),
    ("p.B600E", "unknown amino acid 'B' at character 3"),
    ("B600E", "unknown amino acid 'B' at character 1"),
    ("p.V600B", "unknown amino acid 'B' at character 7"),
    ("p.Xyz600Glu", "unknown amino acid 'Xyz' at character 3"),
    ("p.Val600Xyz", "unknown amino acid 'Xyz' at character 9"),
    ("p.VA600E", "got 'VA'"),
    ("p.V0E", "position 0 at character 4"),
    ("p.0", "position 0"),
    ("p.0?", "position 0"),
    ("p.V", "missing position after amino acid 'V'"),
    ("p.VE", "1-letter (e.g. 'V') or 3-letter"),
    ("p.600E", "missing amino acid before position 600"),
    ("p.V0600E", "leading zero"),
    ("p.E750_A746del", "range end 746 is before its start 750"),
    ("p.E746_E746del", "range end 746 is the same as its start"),
    ("p.E746_A750", "a range must be followed by del, dup, ins or delins"),
    ("p.E746_A750fs", "a range must be followed by del, dup, ins or delins"),
    ("V600Ejunk", "unexpected 'junk' at character 6"),
    ("V600EE", "unexpected 'E' at character 6"),
    ("V600E/K", "unexpected '/K'"),
    ("p.V600E;p.K601E", "unexpected ';p.K601E'"),
    ("p.[V600E;K601E]", "expected an amino acid at character 3, got '['"),
    ("c.1799T>A", "'c.1799T>A' is a cDNA (coding DNA) change; a protein change 'p.…' is expected"),
    ("NM_004333.4:c.1799T>A", "cDNA"),
    ("g.140453136A>T", "genomic DNA change"),
    ("1799T>A", "nucleotide substitution"),
    ("NP_004324.2:p.V600E", "reference-sequence prefix 'NP_004324.2:' is not accepted"),
    ("BRAF V600E", "unexpected whitespace at character 5"),
    ("p.v600e", "1-letter amino-acid codes must be upper case: 'v'"),
    ("p.V600Glu", "mixes 1-letter and 3-letter"),
    ("p.Val600E", "mixes 1-letter and 3-letter"),
    ("p.Q61Ter", "mixes 1-letter and 3-letter"),
    ("p.E746_Ala750del", "mixes 1-letter and 3-letter"),
    ("p.X600E", "'X' at character 3 is ambiguous"),
    ("p.D770_N771insX", "'X' at character 15 is ambiguous"),
    ("p.E746_A750delELREA", "residues are not written after 'del'"),
    ("p.E746_A750DEL", "write 'del' in lower case"),
    ("p.R175FS", "write 'fs' in lower case"),
    ("p.D770insG", "an insertion needs the two residues it lies between"),
    ("p.D770_N772insG", "two adjacent residues"),
    ("p.D770_N771ins", "must be followed by the new amino acids"),
    ("p.V600delins", "must be followed by the new amino acids"),
    ("p.D770_N771ins10", "'ins10' is not supported"),
    ("p.M3_H4insG*A", "a stop may only be the last new residue"),
    ("p.V600?", "only accepted as a start loss at Met1"),
    ("p.?", "expected an amino acid at character 3, got '?'"),
    ("p.=", "expected an amino acid at character 3, got '='"),
    ("p.M1ext-5", "N-terminal extensions are not accepted"),
    ("p.V600Lext*5", "only C-terminal extensions"),
    ("p.*757ext*?", "must follow the residue that replaces the stop"),
    ("p.*757fs", "a stop codon ('*') cannot start a change written with 'fs'"),
    ("p.*757_K758del", "a stop codon cannot be part of a range"),
    ("p.R175*fs", "a frameshift cannot start with a stop"),
    ("p.R175fs5", "unexpected '5' after 'fs'"),
    ("p.R175fs*0", "distance '0'"),
    ("p.(V600E", "parentheses"),
    ("p.V600E)", "parentheses"),
    ("p.((V600E))", "parentheses"),
]


@pytest.mark.parametrize(("text", "kind", "hgvs", "short"), ACCEPTED)
def test_accepted_forms(text: str, kind: str, hgvs: str, short: str) -> None:
    change = parse_protein_change(text)
    assert change.kind == kind
    assert change.hgvs == hgvs
    assert change.short == short
    assert change.codon == change.start_pos
    assert normalise_protein_change(text) == hgvs


@pytest.mark.parametrize(("hgvs", "short"), CANONICAL)
def test_round_trip(hgvs: str, short: str) -> None:
    assert parse_protein_change(hgvs).short == short
    assert parse_protein_change(short).hgvs == hgvs
    assert parse_protein_change(hgvs) == parse_protein_change(short)
    assert parse_protein_change("p." + short).hgvs == hgvs


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "p.V600E",
            ProteinChange("missense", "Val", 600, alt="Glu"),
        ),
        (
            "p.E746_A750del",
            ProteinChange("deletion", "Glu", 746, "Ala", 750),
        ),
        (
            "p.Q61X",
            ProteinChange("nonsense", "Gln", 61, alt="Ter"),
        ),
        (
            "p.A763_Y764insFQEA",
            ProteinChange("insertion", "Ala", 763, "Tyr", 764, "PheGlnGluAla"),
        ),
        (
            "p.R175Lfs*5",
            ProteinChange("frameshift", "Arg", 175),
        ),
        (
            "p.*757Lext*?",
            ProteinChange("extension", "Ter", 757, alt="Leu"),
        ),
        (
            "p.G12",
            ProteinChange("codon", "Gly", 12),
        ),
    ],
)
def test_fields(text: str, expected: ProteinChange) -> None:
    assert parse_protein_change(text) == expected


@pytest.mark.parametrize(("text", "fragment"), REJECTED)
def test_rejected(text: str, fragment: str) -> None:
    with pytest.raises(ProteinChangeError) as caught:
        parse_protein_change(text)
    error = caught.value
    assert fragment in error.message
    assert error.value == text
    assert "p.V600E" in error.expected
    assert "p.Val600Glu" in error.expected
    assert "p.E746_A750del" in error.expected
    assert error.message in str(error)


def test_error_is_a_value_error_and_pickles() -> None:
    with pytest.raises(ValueError, match="unknown amino acid 'B'"):
        normalise_protein_change("p.B600E")
    error = ProteinChangeError("p.B600E", "unknown amino acid 'B' at character 3")
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.value, copy.message, copy.expected) == (
        error.value,
        error.message,
        error.expected,
    )


def test_non_string_input_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        parse_protein_change(600)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        parse_exon(19)  # type: ignore[arg-type]


def test_protein_change_is_frozen_and_validated() -> None:
    change = parse_protein_change("p.V600E")
    with pytest.raises(dataclasses.FrozenInstanceError):
        change.start_pos = 601  # type: ignore[misc]
    with pytest.raises(ValueError, match="kind"):
        ProteinChange("substitution", "Val", 600, alt="Glu")
    with pytest.raises(ValueError, match="3-letter"):
        ProteinChange("missense", "V", 600, alt="Glu")
    with pytest.raises(ValueError, match="start_pos"):
        ProteinChange("codon", "Val", 0)
    with pytest.raises(ValueError, match="not after"):
        ProteinChange("deletion", "Glu", 750, "Ala", 746)
    with pytest.raises(ValueError, match="together"):
        ProteinChange("deletion", "Glu", 746, "Ala")
    with pytest.raises(ValueError, match="alt"):
        ProteinChange("missense", "Val", 600, alt="Gl")


def test_amino_acids() -> None:
    assert AMINO_ACIDS["V"] == "Val"
    assert AMINO_ACIDS["*"] == "Ter"
    assert "X" not in AMINO_ACIDS
    assert len(set(AMINO_ACIDS.values())) == len(AMINO_ACIDS)
    assert all(len(three) == 3 and three[0].isupper() for three in AMINO_ACIDS.values())
    with pytest.raises(TypeError):
        AMINO_ACIDS["B"] = "Asx"  # type: ignore[index]


@pytest.mark.parametrize(
    ("text", "exon"),
    [
        ("exon 19", 19),
        ("Exon19", 19),
        ("ex19", 19),
        ("19", 19),
        ("  EXON  20 ", 20),
        ("Ex 2", 2),
        ("1", 1),
        ("exon 999", 999),
    ],
)
def test_parse_exon(text: str, exon: int) -> None:
    assert parse_exon(text) == exon


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("exon", "not an exon number"),
        ("e19", "not an exon number"),
        ("exon 19a", "not an exon number"),
        ("intron 19", "not an exon number"),
        ("exon -1", "not an exon number"),
        ("exon 1.5", "not an exon number"),
        ("\u0663", "not an exon number"),  # Arabic-Indic digit three
        ("exon 0", "from 1 to 999, got 0"),
        ("1000", "from 1 to 999, got 1000"),
    ],
)
def test_parse_exon_rejects(text: str, fragment: str) -> None:
    with pytest.raises(ProteinChangeError) as caught:
        parse_exon(text)
    assert fragment in caught.value.message
    assert caught.value.value == text
    assert "exon 19" in caught.value.expected


_RESIDUES = sorted(code for code in AMINO_ACIDS if code != "*")


@st.composite
def _missense(draw: st.DrawFn) -> str:
    ref = draw(st.sampled_from(_RESIDUES))
    alt = draw(st.sampled_from([code for code in _RESIDUES if code != ref]))
    position = draw(st.integers(min_value=1, max_value=5000))
    return f"{ref}{position}{alt}"


@given(_missense())
def test_missense_round_trip(short: str) -> None:
    change = parse_protein_change(short)
    assert change.kind == "missense"
    assert change.short == short
    again = parse_protein_change(change.hgvs)
    assert again.short == short
    assert again.hgvs == change.hgvs
