"""Real patient files (issue 14 item 4): TCGA-style MAFs, VEP- and SnpEff-annotated VCFs (plain
and bgzipped), gene-level and CNVkit copy number, STAR-Fusion and Arriba calls; bad lines are
reported and skipped; `kb match` reads them, one patient or a batch in JSON lines.

Every fixture is written here with the real tools' column layouts and headers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from vcfpy.bgzf import BgzfWriter

from kb.matching.copynumber import read_copy_number, read_copy_number_samples
from kb.matching.fusions import read_fusions
from kb.matching.inputs import assemble_patient, match_many, read_clinical_table
from kb.matching.lines import PatientFileError
from kb.matching.maf import read_maf_samples
from kb.matching.matcher import Matcher
from kb.matching.vcf import read_vcf
from tests.test_cli_release import _create, kb, world  # noqa: F401  (the module's fixture)

# --- MAF -------------------------------------------------------------------------------------

# The first 16 columns of a GDC/TCGA MAF and the later ones we read, in their real order.
MAF_COLUMNS = [
    "Hugo_Symbol", "Entrez_Gene_Id", "Center", "NCBI_Build", "Chromosome", "Start_Position",
    "End_Position", "Strand", "Variant_Classification", "Variant_Type", "Reference_Allele",
    "Tumor_Seq_Allele1", "Tumor_Seq_Allele2", "dbSNP_RS", "dbSNP_Val_Status",
    "Tumor_Sample_Barcode", "Matched_Norm_Sample_Barcode", "Mutation_Status", "HGVSc", "HGVSp",
    "HGVSp_Short", "Transcript_ID", "Exon_Number", "t_depth", "t_ref_count", "t_alt_count",
]  # fmt: skip
LUAD = "TCGA-05-4244-01A-01D-1105-08"
COAD = "TCGA-AA-3517-01A-01W-0900-09"
AML = "TCGA-AB-2802-03A-01W-0728-08"


def maf_row(**values: str) -> list[str]:
    return [values.get(column, "") for column in MAF_COLUMNS]


MAF_ROWS = [
    maf_row(Hugo_Symbol="EGFR", Entrez_Gene_Id="1956", Center="BI", NCBI_Build="GRCh38",
            Chromosome="chr7", Start_Position="55191822", End_Position="55191822",
            Strand="+", Variant_Classification="Missense_Mutation", Variant_Type="SNP",
            Reference_Allele="T", Tumor_Seq_Allele1="T", Tumor_Seq_Allele2="G",
            dbSNP_RS="rs121434568", Tumor_Sample_Barcode=LUAD, Mutation_Status="Somatic",
            HGVSc="c.2573T>G", HGVSp="p.Leu858Arg", HGVSp_Short="p.L858R",
            Transcript_ID="ENST00000275493", Exon_Number="21/28", t_depth="212",
            t_ref_count="146", t_alt_count="66"),
    maf_row(Hugo_Symbol="TP53", Variant_Classification="Silent", Variant_Type="SNP",
            Tumor_Sample_Barcode=LUAD, HGVSp_Short="p.P72="),
    maf_row(Hugo_Symbol="KRAS", Entrez_Gene_Id="3845", Chromosome="chr12",
            Start_Position="25245351", Variant_Classification="Missense_Mutation",
            Variant_Type="SNP", dbSNP_RS="novel", Tumor_Sample_Barcode=COAD, HGVSc="c.34G>T",
            HGVSp="p.Gly12Cys", HGVSp_Short="p.G12C", Exon_Number="2/6", t_depth="90",
            t_alt_count="27"),
    # Old notation: a FLT3 ITD written as an insertion of residues, no position pair.
    maf_row(Hugo_Symbol="FLT3", Variant_Classification="In_Frame_Ins", Variant_Type="INS",
            Tumor_Sample_Barcode=AML, HGVSp_Short="p.KIM597_598insKIMDFREYEYD"),
    maf_row(Hugo_Symbol="NPM1", Variant_Classification="Frame_Shift_Ins", Variant_Type="INS",
            Tumor_Sample_Barcode=AML, HGVSp_Short="p.W288Cfs*12", Exon_Number="11/11"),
    # An amino acid that does not exist.
    maf_row(Hugo_Symbol="IDH1", Variant_Classification="Missense_Mutation",
            Tumor_Sample_Barcode=AML, HGVSp_Short="p.R132J"),
]  # fmt: skip


def write_maf(path: Path, rows: list[list[str]], columns: list[str] = MAF_COLUMNS) -> Path:
    lines = ["#version 2.4", "#filedate 20160907", "\t".join(columns)]
    lines += ["\t".join(row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_tcga_maf_with_several_samples_reads_each_and_skips_bad_lines(tmp_path: Path) -> None:
    maf = write_maf(tmp_path / "cohort.maf", MAF_ROWS)
    samples = read_maf_samples(maf)
    assert set(samples) == {LUAD, COAD, AML}
    (egfr,) = samples[LUAD].variants  # the silent TP53 row is left out, not reported
    assert egfr == {
        "gene": "EGFR",
        "consequence": "missense",
        "protein_change": "p.Leu858Arg",
        "dna_change": "c.2573T>G",
        "dbsnp_id": "rs121434568",
        "exon": 21,
        "origin": "somatic",
        "vaf": 31.13,
    }
    assert samples[LUAD].skipped == []
    assert samples[COAD].variants[0]["protein_change"] == "p.Gly12Cys"
    assert "dbsnp_id" not in samples[COAD].variants[0]  # "novel": no rs id
    aml = samples[AML]
    assert [v["gene"] for v in aml.variants] == ["NPM1"]
    assert [(s.line, s.reason.split(":")[0]) for s in aml.skipped] == [
        (7, "HGVSp_Short (column 21)"),
        (9, "HGVSp_Short (column 21)"),
    ]
    assert all(s.file == str(maf) for s in aml.skipped)
    assert "unknown amino acid 'KIM'" in aml.skipped[0].reason
    assert "unknown amino acid 'J'" in aml.skipped[1].reason


def test_mafs_with_only_hgvsp_or_protein_change(tmp_path: Path) -> None:
    hgvsp = write_maf(
        tmp_path / "vep.maf",
        [["BRAF", "Missense_Mutation", "S1", "ENSP00000493543.1:p.Val600Glu",
          "ENST00000646891.2:c.1799T>A"]],
        ["Hugo_Symbol", "Variant_Classification", "Tumor_Sample_Barcode", "HGVSp", "HGVSc"],
    )  # fmt: skip
    (braf,) = read_maf_samples(hgvsp)["S1"].variants
    assert (braf["protein_change"], braf["dna_change"]) == ("p.Val600Glu", "c.1799T>A")
    old = write_maf(
        tmp_path / "old.maf",
        [["KRAS", "Missense_Mutation", "p.G12C"], ["KRAS", "Missense_Mutation", "p.G12C", "x"]],
        ["Hugo_Symbol", "Variant_Classification", "Protein_Change"],
    )
    result = read_maf_samples(old)[""]
    assert result.variants == [
        {"gene": "KRAS", "consequence": "missense", "protein_change": "p.Gly12Cys"}
    ]
    assert [(s.line, s.reason) for s in result.skipped] == [
        (5, "4 tab-separated fields, but the header has 3")
    ]


# --- VCF ---------------------------------------------------------------------------------------

VEP_HEADER = """##fileformat=VCFv4.2
##source=Mutect2
##tumor_sample=TUMOR
##normal_sample=NORMAL
##reference=GRCh38
##contig=<ID=chr7,length=159345973>
##contig=<ID=chr12,length=133275309>
##contig=<ID=chr2,length=242193529>
##FILTER=<ID=PASS,Description="All filters passed">
##FILTER=<ID=weak_evidence,Description="Mutation does not meet likelihood threshold">
##INFO=<ID=DP,Number=1,Type=Integer,Description="Approximate read depth">
{csq_line}
##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">
##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths for the ref and alt alleles">
{af_line}
##FORMAT=<ID=DP,Number=1,Type=Integer,Description="Approximate read depth">
#CHROM	POS	ID	REF	ALT	QUAL	FILTER	INFO	FORMAT	NORMAL	TUMOR
"""
CSQ_FIELDS = [
    "Allele", "Consequence", "IMPACT", "SYMBOL", "Gene", "Feature_type", "Feature", "BIOTYPE",
    "EXON", "INTRON", "HGVSc", "HGVSp", "cDNA_position", "CDS_position", "Protein_position",
    "Amino_acids", "Codons", "Existing_variation", "DISTANCE", "STRAND", "FLAGS",
    "SYMBOL_SOURCE", "HGNC_ID", "CANONICAL", "MANE_SELECT",
]  # fmt: skip
VEP_HEADER = VEP_HEADER.format(
    csq_line='##INFO=<ID=CSQ,Number=.,Type=String,Description="Consequence annotations from '
    "Ensembl VEP. Format: " + "|".join(CSQ_FIELDS) + '">',
    af_line='##FORMAT=<ID=AF,Number=A,Type=Float,Description="Allele fractions of alternate '
    'alleles in the tumor">',
)


def csq(*fields: str) -> str:
    values = dict(zip(CSQ_FIELDS, fields, strict=False))
    return "|".join(values.get(name, "") for name in CSQ_FIELDS)


EGFR_CSQ = ",".join(
    [
        # A non-canonical transcript first: the canonical one must be the one read.
        csq("G", "missense_variant", "MODERATE", "EGFR", "ENSG00000146648", "Transcript",
            "ENST00000454757", "protein_coding", "20/26", "", "ENST00000454757.7:c.2420T>G",
            "ENSP00000395243.3:p.Leu807Arg"),
        csq("G", "missense_variant", "MODERATE", "EGFR", "ENSG00000146648", "Transcript",
            "ENST00000275493", "protein_coding", "21/28", "", "ENST00000275493.7:c.2573T>G",
            "ENSP00000275493.2:p.Leu858Arg", "2739", "2573", "858", "L/R", "cTg/cGg",
            "rs121434568", "", "1", "", "HGNC", "HGNC:3236", "YES", "NM_005228.5"),
    ]
)  # fmt: skip
KRAS_CSQ = csq("A", "missense_variant", "MODERATE", "KRAS", "ENSG00000133703", "Transcript",
               "ENST00000311936", "protein_coding", "2/5", "", "ENST00000311936.8:c.34G>T",
               "ENSP00000308495.3:p.Gly12Cys", "", "", "", "", "", "", "", "-1", "", "HGNC",
               "HGNC:6407", "YES")  # fmt: skip
INTRON_CSQ = csq("T", "intron_variant", "MODIFIER", "ALK", "ENSG00000171094", "Transcript",
                 "ENST00000389048", "protein_coding", "", "19/28", "ENST00000389048.8:c.3173-9C>T",
                 "")  # fmt: skip
VEP_RECORDS = [
    f"chr7\t55191822\trs121434568\tT\tG\t.\tPASS\tDP=212;CSQ={EGFR_CSQ}\tGT:AD:AF:DP\t0/0:80,0:0.0:80\t"
    "0/1:146,66:0.311:212",
    f"chr12\t25245351\t.\tC\tA\t.\tweak_evidence\tDP=40;CSQ={KRAS_CSQ}\tGT:AD:AF:DP\t"
    "0/0:30,0:0.0:30\t0/1:37,3:0.075:40",
    "chr2\tnot-a-position\t.\tC\tT\t.\tPASS\tDP=10\tGT:AD:AF:DP\t0/0:5,0:0:5\t0/1:3,2:0.4:5",
    f"chr2\t29223456\t.\tC\tT\t.\tPASS\tDP=50;CSQ={INTRON_CSQ}\tGT:AD:AF:DP\t0/0:20,0:0:20\t"
    "0/1:20,10:0.333:30",
]

ANN_FIELDS = [
    "Allele", "Annotation", "Annotation_Impact", "Gene_Name", "Gene_ID", "Feature_Type",
    "Feature_ID", "Transcript_BioType", "Rank", "HGVS.c", "HGVS.p", "cDNA.pos / cDNA.length",
    "CDS.pos / CDS.length", "AA.pos / AA.length", "Distance", "ERRORS / WARNINGS / INFO",
]  # fmt: skip
BRAF_ANN = [
    "T|missense_variant|MODERATE|BRAF|ENSG00000157764|transcript|ENST00000646891.2|"
    "protein_coding|15/18|c.1799T>A|p.Val600Glu|1860/6459|1799/2301|600/766||",
    "T|upstream_gene_variant|MODIFIER|MRPS33|ENSG00000090263|transcript|ENST00000343855.6|"
    "protein_coding||c.-3051A>T|||||3051|",
]
TP53_ANN = (
    "T|missense_variant|MODERATE|TP53|ENSG00000141510|transcript|ENST00000269305.9|"
    "protein_coding|5/11|c.524G>A|p.Arg175Xyz|714/2512|524/1182|175/393||"
)
SNPEFF_VCF = "\n".join(
    [
        "##fileformat=VCFv4.1",
        '##SnpEffVersion="5.1d (build 2022-04-19 15:49)"',
        '##SnpEffCmd="SnpEff  GRCh38.105 sample.vcf "',
        "##INFO=<ID=ANN,Number=.,Type=String,Description=\"Functional annotations: '"
        + " | ".join(ANN_FIELDS)
        + "' \">",
        '##INFO=<ID=DP,Number=1,Type=Integer,Description="Total depth">',
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="Allelic depths">',
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tSAMPLE1",
        f"chr7\t140753336\tRS113488022;COSV56056643\tA\tT\t60\tPASS\tDP=120;ANN={','.join(BRAF_ANN)}\tGT:AD\t0/1:70,50",
        f"chr17\t7675088\t.\tC\tT\t60\tPASS\tDP=80;ANN={TP53_ANN}\tGT:AD\t0/1:40,40",
        "",
    ]
)


def test_a_vep_vcf_plain_and_bgzipped(tmp_path: Path) -> None:
    text = VEP_HEADER + "\n".join(VEP_RECORDS) + "\n"
    plain = tmp_path / "tumor.vep.vcf"
    plain.write_text(text, encoding="utf-8")
    packed = tmp_path / "tumor.vep.vcf.gz"
    with BgzfWriter(str(packed)) as handle:
        handle.write(text)
    for path in (plain, packed):
        result = read_vcf(path)
        assert result.variants == [
            {
                "gene": "EGFR",
                "consequence": "missense",
                "protein_change": "p.Leu858Arg",
                "dna_change": "c.2573T>G",
                "dbsnp_id": "rs121434568",  # the ID column
                "exon": 21,
                "vaf": 31.1,  # the TUMOR column (##tumor_sample), FORMAT/AF
            }
        ]
        header_lines = VEP_HEADER.count("\n")
        assert [(s.line, s.reason.split(":")[0]) for s in result.skipped] == [
            (header_lines + 3, "malformed record"),
            (None, "1 record(s) whose FILTER is not PASS left out"),
        ]


def test_a_snpeff_vcf_reads_ann_and_skips_an_unknown_amino_acid(tmp_path: Path) -> None:
    path = tmp_path / "sample.ann.vcf"
    path.write_text(SNPEFF_VCF, encoding="utf-8")
    result = read_vcf(path)
    assert result.variants == [
        {
            "gene": "BRAF",
            "consequence": "missense",
            "protein_change": "p.Val600Glu",
            "dna_change": "c.1799T>A",
            "dbsnp_id": "rs113488022",  # the one rs id among the record's ids
            "exon": 15,
            "vaf": 41.67,
        }
    ]
    (skipped,) = result.skipped
    assert skipped.line == SNPEFF_VCF.count("\n") and "TP53 p.Arg175Xyz" in skipped.reason


def test_a_vcf_without_annotation_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "raw.vcf"
    path.write_text(VEP_HEADER.replace("##INFO=<ID=CSQ", "##INFO=<ID=XCSQ"), encoding="utf-8")
    with pytest.raises(PatientFileError, match=r"no VEP .* or SnpEff"):
        read_vcf(path)


# --- copy number -----------------------------------------------------------------------------


def test_discrete_gene_level_copy_number_by_sample(tmp_path: Path) -> None:
    path = tmp_path / "data_CNA.txt"
    path.write_text(
        "Hugo_Symbol\tEntrez_Gene_Id\tTCGA-A2-A0T2-01\tTCGA-A2-A0CM-01\n"
        "ERBB2\t2064\t2\t0\n"
        "CDKN2A\t1029\t-2\tNA\n"
        "MET\t4233\t1\t-1\n"
        "MYC\t4609\tamp\t0\n",
        encoding="utf-8",
    )
    samples = read_copy_number_samples(path)
    first = samples["TCGA-A2-A0T2-01"]
    assert first.copy_number == [
        {"gene": "ERBB2", "call": "amplification"},
        {"gene": "CDKN2A", "call": "deletion"},
        {"gene": "MET", "call": "gain"},
    ]
    assert [(s.line, s.reason) for s in first.skipped] == [
        (5, "column 3 (MYC): 'amp' is not a discrete call -2..2")
    ]
    assert samples["TCGA-A2-A0CM-01"].copy_number == [{"gene": "MET", "call": "loss"}]
    with pytest.raises(PatientFileError, match="2 samples"):
        read_copy_number(path)


def test_cnvkit_segments_by_log2_and_by_cn(tmp_path: Path) -> None:
    cns = tmp_path / "tumor.cns"
    cns.write_text(
        "chromosome\tstart\tend\tgene\tlog2\tdepth\tprobes\tweight\n"
        "chr17\t39687914\t39730426\tERBB2,GRB7\t2.41\t1043.2\t38\t37.1\n"
        "chr9\t21967752\t21995301\tCDKN2A,CDKN2B\t-3.2\t3.1\t12\t10.2\n"
        "chr7\t55019017\t55211628\tEGFR\t0.05\t400.1\t60\t58.0\n"
        "chr8\t127735434\t127742951\tMYC\t0.45\t600.2\t8\t7.9\n"
        "chr1\t1000\t2000\tAntitarget\t-0.1\t10\t1\t1\n"
        "chr12\t25205246\t25250929\tKRAS\tNaN\t1\t1\t1\n",
        encoding="utf-8",
    )
    result = read_copy_number(cns)
    assert result.copy_number == [
        {"gene": "ERBB2", "call": "amplification"},
        {"gene": "GRB7", "call": "amplification"},
        {"gene": "CDKN2A", "call": "deletion"},
        {"gene": "CDKN2B", "call": "deletion"},
        {"gene": "MYC", "call": "gain"},
    ]
    assert [(s.line, s.reason) for s in result.skipped] == [(7, "log2 'NaN' is not a number")]
    called = tmp_path / "tumor.call.cns"
    called.write_text(
        "chromosome\tstart\tend\tgene\tlog2\tcn\tdepth\tprobes\tweight\n"
        "chr17\t39687914\t39730426\tERBB2\t1.9\t14\t1043.2\t38\t37.1\n"
        "chr10\t87863113\t87971930\tPTEN\t-1.4\t0\t3.1\t12\t10.2\n",
        encoding="utf-8",
    )
    assert read_copy_number(called).copy_number == [
        {"gene": "ERBB2", "call": "amplification", "copies": 14},
        {"gene": "PTEN", "call": "deletion", "copies": 0},
    ]


# --- fusions ---------------------------------------------------------------------------------

STAR_FUSION = (
    "#FusionName\tJunctionReadCount\tSpanningFragCount\test_J\test_S\tSpliceType\tLeftGene\t"
    "LeftBreakpoint\tRightGene\tRightBreakpoint\tLargeAnchorSupport\tFFPM\tLeftBreakDinuc\t"
    "LeftBreakEntropy\tRightBreakDinuc\tRightBreakEntropy\tannots\n"
    "EML4--ALK\t86\t41\t86.00\t41.00\tONLY_REF_SPLICE\tEML4^ENSG00000143924.19\t"
    "chr2:42295516:+\tALK^ENSG00000171094.18\tchr2:29223528:-\tYES_LDAS\t4.1351\tGT\t1.8892\t"
    'AG\t1.9656\t["ChimerKB","Cosmic","INTRACHROMOSOMAL[chr2:13.06Mb]"]\n'
    "EML4--ALK\t12\t3\t12.00\t3.00\tONLY_REF_SPLICE\tEML4^ENSG00000143924.19\t"
    "chr2:42299900:+\tALK^ENSG00000171094.18\tchr2:29223528:-\tYES_LDAS\t0.5\tGT\t1.8\tAG\t1.9\t[]\n"
    "BAD\t1\t1\t1\t1\tONLY_REF_SPLICE\t^ENSG0001\tchr1:1:+\tALK^ENSG00000171094.18\tchr2:1:-\t"
    "NO_LDAS\t0.1\tGT\t1\tAG\t1\t[]\n"
)
ARRIBA = (
    "#gene1\tgene2\tstrand1(gene/fusion)\tstrand2(gene/fusion)\tbreakpoint1\tbreakpoint2\t"
    "site1\tsite2\ttype\tsplit_reads1\tsplit_reads2\tdiscordant_mates\tcoverage1\tcoverage2\t"
    "confidence\treading_frame\ttags\tretained_protein_domains\tclosest_genomic_breakpoint1\t"
    "closest_genomic_breakpoint2\tgene_id1\tgene_id2\ttranscript_id1\ttranscript_id2\t"
    "direction1\tdirection2\tfilters\tfusion_transcript\tpeptide_sequence\tread_identifiers\n"
    "CCDC6\tRET\t-/-\t+/+\tchr10:59906008\tchr10:43114480\tsplice-site\tsplice-site\tinversion\t"
    "23\t19\t30\t310\t120\thigh\tin-frame\tCosmic\t.\t.\t.\tENSG00000108091\tENSG00000165731\t"
    "ENST00000263102\tENST00000355710\tupstream\tdownstream\t.\t.\t.\t.\n"
    "LINC01234(1200),AC0123.1(3400)\tNTRK1\t./+\t+/+\tchr5:1000\tchr1:156874906\tintergenic\t"
    "splice-site\ttranslocation\t2\t1\t0\t5\t40\tmedium\t.\t.\t.\t.\t.\t.\t.\t.\t.\t.\t.\t.\t.\t.\t.\n"
    "TMPRSS2\tERG\t-/-\t-/-\tchr21:41508081\tchr21:38445621\tsplice-site\tsplice-site\tdeletion\t"
    "1\t0\t1\t50\t60\tlow\tin-frame\t.\t.\t.\t.\t.\t.\t.\t.\t.\t.\t.\t.\t.\t.\n"
)


def test_star_fusion_and_arriba(tmp_path: Path) -> None:
    star = tmp_path / "star-fusion.fusion_predictions.tsv"
    star.write_text(STAR_FUSION, encoding="utf-8")
    result = read_fusions(star)
    assert result.fusions == [{"five_prime": "EML4", "three_prime": "ALK"}]  # one, not two
    assert [(s.line, s.reason) for s in result.skipped] == [(4, "LeftGene is empty")]
    arriba = tmp_path / "fusions.tsv"
    arriba.write_text(ARRIBA, encoding="utf-8")
    result = read_fusions(arriba)
    assert result.fusions == [{"five_prime": "CCDC6", "three_prime": "RET"}]
    assert [s.line for s in result.skipped] == [3, 4]
    assert "intergenic" in result.skipped[0].reason and "low" in result.skipped[1].reason
    other = tmp_path / "other.tsv"
    other.write_text("a\tb\n", encoding="utf-8")
    with pytest.raises(PatientFileError, match="not a STAR-Fusion"):
        read_fusions(other)


# --- assembled and matched ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_matcher(tmp_path_factory: pytest.TempPathFactory, demo_template: Path) -> Matcher:
    from kb.storage.db import open_kb
    from kb.storage.snapshot import build_snapshot

    opened = open_kb(f"sqlite:///{demo_template}")
    try:
        with opened.read() as session:
            return Matcher.from_snapshot(build_snapshot(session).as_json())
    finally:
        opened.close()


def test_files_make_a_patient_that_matches(tmp_path: Path, demo_matcher: Matcher) -> None:
    vcf = tmp_path / "tumor.vep.vcf"
    vcf.write_text(VEP_HEADER + "\n".join(VEP_RECORDS) + "\n", encoding="utf-8")
    star = tmp_path / "star-fusion.fusion_predictions.tsv"
    star.write_text(STAR_FUSION, encoding="utf-8")
    patient, skipped = assemble_patient(
        {"id": "P1", "oncotree_code": "NSCLC", "pdl1_tps": 80},
        source="test",
        variants=[read_vcf(vcf)],
        fusions=[read_fusions(star)],
    )
    assert len(skipped) == 3
    result = demo_matcher.match(patient)
    names = {m.therapy.name for m in result.therapies if m.therapy}
    assert {"Osimertinib", "Alectinib"} <= names
    # EGFR and ALK were tested (and found): pembrolizumab is neither matched nor possible.
    assert "AS-00039" not in [m.assertion_id for m in result.possible_therapies]


def test_a_batch_goes_on_past_a_bad_patient(tmp_path: Path, demo_matcher: Matcher) -> None:
    maf = write_maf(tmp_path / "cohort.maf", MAF_ROWS)
    samples = read_maf_samples(maf)
    table = tmp_path / "clinical.tsv"
    table.write_text(
        "id\tsample\toncotree_code\tage\n"
        f"P1\t{LUAD}\tLUAD\t64\n"
        f"P2\t{COAD}\tCOAD\tsixty\n"
        f"P3\t{AML}\tAML\t70\n",
        encoding="utf-8",
    )
    rows = read_clinical_table(table)

    def source(row: dict[str, Any]) -> Any:
        return lambda: assemble_patient(row, source="t", variants=[samples[row["sample"]]])

    out = list(match_many(demo_matcher, [(str(i), source(r)) for i, r in enumerate(rows)]))
    assert [entry["ok"] for entry in out] == [True, False, True]
    assert "age" in out[1]["error"]
    assert out[0]["therapies"] and out[2]["skipped"][0]["line"] == 7


# --- the command line --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def release(world: dict[str, Path]) -> Path:  # noqa: F811
    created = _create(world, "2026.12.0", world["tmp"] / "files-release")
    return Path(json.loads(created.stdout)["path"])


def test_kb_match_reads_real_files(
    world: dict[str, Path],  # noqa: F811
    release: Path,
    tmp_path: Path,
) -> None:
    clinical = tmp_path / "clinical.json"
    clinical.write_text(json.dumps({"id": "P1", "oncotree_code": "NSCLC", "pdl1_tps": 80}))
    vcf = tmp_path / "tumor.vep.vcf.gz"
    with BgzfWriter(str(vcf)) as handle:
        handle.write(VEP_HEADER + "\n".join(VEP_RECORDS) + "\n")
    arriba = tmp_path / "fusions.tsv"
    arriba.write_text(ARRIBA, encoding="utf-8")
    cns = tmp_path / "tumor.cns"
    cns.write_text(
        "chromosome\tstart\tend\tgene\tlog2\nchr17\t39687914\t39730426\tERBB2\t2.4\n",
        encoding="utf-8",
    )
    common = ["match", "--release", str(release), "--root", str(world["root"])]
    files = ["--clinical", str(clinical), "--vcf", str(vcf), "--fusions", str(arriba)]
    done = kb(world["db"], *common, *files, "--cna", str(cns), "--format", "json")
    data = json.loads(done.stdout)
    assert "AS-00001" in {t["assertion"] for t in data["therapies"]}
    assert len(data["skipped"]) == 4 and {s["file"] for s in data["skipped"]} == {
        str(vcf),
        str(arriba),
    }
    text = kb(world["db"], *common, *files).stdout
    assert "skipped " in text and "malformed record" in text

    # Only PD-L1 known: pembrolizumab is possible, with the tests to order, in JSON and text.
    only = tmp_path / "only.json"
    only.write_text(json.dumps({"id": "P2", "oncotree_code": "NSCLC", "pdl1_tps": 75}))
    data = json.loads(kb(world["db"], *common, "--patient", str(only), "--format", "json").stdout)
    pembro = next(p for p in data["possible_therapies"] if p["assertion"] == "AS-00039")
    assert {t["name"] for t in pembro["tests_to_order"]} == {
        "EGFR exon 19 in-frame deletion",
        "EGFR L858R",
        "ALK fusion",
    }
    text = kb(world["db"], *common, "--patient", str(only)).stdout
    assert "Possible with tests" in text and "order: ALK fusion" in text


def test_kb_match_batch_json_lines(
    world: dict[str, Path],  # noqa: F811
    release: Path,
    tmp_path: Path,
) -> None:
    folder = tmp_path / "patients"
    folder.mkdir()
    for name in ("01-nsclc-egfr-l858r.json", "02-crc-kras-g12c.json"):
        source = Path(__file__).resolve().parents[1] / "resources" / "patients" / name
        (folder / name).write_text(source.read_text("utf-8"), encoding="utf-8")
    (folder / "03-broken.json").write_text('{"id": "X", "age": }', encoding="utf-8")
    common = ["match", "--release", str(release), "--root", str(world["root"])]
    done = kb(world["db"], *common, "--patients", str(folder), check=False)
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(line["input"], line["ok"]) for line in lines] == [
        ("01-nsclc-egfr-l858r.json", True),
        ("02-crc-kras-g12c.json", True),
        ("03-broken.json", False),
    ]
    assert done.returncode == 1 and "2 of 3 patients matched, 1 failed" in done.stderr
    # No patient or sample id in the log.
    assert "NSCLC, EGFR L858R" not in done.stderr

    maf = write_maf(tmp_path / "cohort.maf", MAF_ROWS)
    table = tmp_path / "clinical.json"
    table.write_text(
        json.dumps(
            [
                {"id": "P1", "sample": LUAD, "oncotree_code": "LUAD"},
                {"id": "P2", "sample": COAD, "oncotree_code": "COAD"},
                {"id": "P3", "sample": "TCGA-XX-0000-01", "oncotree_code": "AML"},
                {"id": "P4", "sample": AML, "oncotree_code": "AML"},
            ]
        )
    )
    done = kb(world["db"], *common, "--maf", str(maf), "--clinical-table", str(table), check=False)
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [line["ok"] for line in lines] == [True, True, False, True]
    assert "AS-00001" in {t["assertion"] for t in lines[0]["therapies"]}
    assert [s["line"] for s in lines[3]["skipped"]] == [7, 9]
    assert "TCGA" not in done.stderr
