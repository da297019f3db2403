"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "biomarker_expression",
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("human_id", sa.String(length=16), nullable=False),
        sa.Column("row_version", sa.Integer(), nullable=False),
        sa.Column("kb_version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_biomarker_expression")),
        sa.UniqueConstraint("human_id", name=op.f("uq_biomarker_expression_human_id")),
    )
    op.create_table(
        "citation",
        sa.Column(
            "kind",
            sa.Enum(
                "pmid",
                "doi",
                "fda_label",
                "guideline",
                "url",
                name="citation_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("identifier", sa.String(length=512), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("accessed", sa.Date(), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("human_id", sa.String(length=16), nullable=False),
        sa.Column("row_version", sa.Integer(), nullable=False),
        sa.Column("kb_version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_citation")),
        sa.UniqueConstraint("human_id", name=op.f("uq_citation_human_id")),
        sa.UniqueConstraint("kind", "identifier", name="uq_citation_kind_identifier"),
    )
    op.create_table(
        "drug",
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("ncit_code", sa.String(length=16), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("human_id", sa.String(length=16), nullable=False),
        sa.Column("row_version", sa.Integer(), nullable=False),
        sa.Column("kb_version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drug")),
        sa.UniqueConstraint("human_id", name=op.f("uq_drug_human_id")),
        sa.UniqueConstraint("name", name=op.f("uq_drug_name")),
    )
    op.create_table(
        "gene",
        sa.Column("symbol", sa.String(length=64), nullable=False),
        sa.Column("hgnc_id", sa.String(length=16), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("aliases", sa.JSON(), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "oncogene",
                "tumour_suppressor",
                "both",
                "unknown",
                name="gene_role",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("human_id", sa.String(length=16), nullable=False),
        sa.Column("row_version", sa.Integer(), nullable=False),
        sa.Column("kb_version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gene")),
        sa.UniqueConstraint("hgnc_id", name=op.f("uq_gene_hgnc_id")),
        sa.UniqueConstraint("human_id", name=op.f("uq_gene_human_id")),
        sa.UniqueConstraint("symbol", name=op.f("uq_gene_symbol")),
    )
    op.create_table(
        "hgnc_gene",
        sa.Column("hgnc_id", sa.String(length=16), nullable=False),
        sa.Column("symbol", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("entrez_id", sa.String(length=16), nullable=True),
        sa.Column("release", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("hgnc_id", name=op.f("pk_hgnc_gene")),
        sa.UniqueConstraint("symbol", name=op.f("uq_hgnc_gene_symbol")),
    )
    op.create_table(
        "human_id_counter",
        sa.Column("prefix", sa.String(length=4), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("prefix", name=op.f("pk_human_id_counter")),
    )
    op.create_table(
        "kb_meta",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_kb_meta")),
    )
    op.create_table(
        "kb_version",
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("change_set_id", sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_kb_version")),
    )
    op.create_table(
        "therapy",
        sa.Column("name", sa.String(length=512), nullable=False),
        sa.Column(
            "combination",
            sa.Enum(
                "monotherapy",
                "combination",
                name="combination",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("human_id", sa.String(length=16), nullable=False),
        sa.Column("row_version", sa.Integer(), nullable=False),
        sa.Column("kb_version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_therapy")),
        sa.UniqueConstraint("human_id", name=op.f("uq_therapy_human_id")),
        sa.UniqueConstraint("name", name=op.f("uq_therapy_name")),
    )
    op.create_table(
        "threshold",
        sa.Column(
            "metric",
            sa.Enum(
                "TMB",
                "PDL1_TPS",
                "PDL1_CPS",
                "PDL1_IC",
                "HER2_IHC",
                "HER2_ISH_RATIO",
                "COPY_NUMBER",
                "VAF",
                "HRD_SCORE",
                name="metric",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "operator",
            sa.Enum(
                ">=",
                ">",
                "<=",
                "<",
                "==",
                "in",
                name="operator",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("value", sa.String(length=128), nullable=False),
        sa.Column("unit", sa.String(length=16), nullable=True),
        sa.Column("assay", sa.String(length=256), nullable=True),
        sa.Column(
            "specimen",
            sa.Enum(
                "tissue",
                "plasma",
                "tissue_or_plasma",
                name="specimen",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("human_id", sa.String(length=16), nullable=False),
        sa.Column("row_version", sa.Integer(), nullable=False),
        sa.Column("kb_version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_threshold")),
        sa.UniqueConstraint("human_id", name=op.f("uq_threshold_human_id")),
    )
    op.create_table(
        "trial",
        sa.Column("nct_id", sa.String(length=16), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column(
            "phase",
            sa.Enum(
                "EARLY_PHASE1",
                "PHASE1",
                "PHASE1_PHASE2",
                "PHASE2",
                "PHASE2_PHASE3",
                "PHASE3",
                "PHASE4",
                "NA",
                name="trial_phase",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "NOT_YET_RECRUITING",
                "RECRUITING",
                "ENROLLING_BY_INVITATION",
                "ACTIVE_NOT_RECRUITING",
                "SUSPENDED",
                "TERMINATED",
                "COMPLETED",
                "WITHDRAWN",
                "UNKNOWN",
                name="trial_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("human_id", sa.String(length=16), nullable=False),
        sa.Column("row_version", sa.Integer(), nullable=False),
        sa.Column("kb_version", sa.Integer(), nullable=False),
        sa.CheckConstraint("nct_id LIKE 'NCT%'", name=op.f("ck_trial_nct_id_form")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trial")),
        sa.UniqueConstraint("human_id", name=op.f("uq_trial_human_id")),
        sa.UniqueConstraint("nct_id", name=op.f("uq_trial_nct_id")),
    )
    op.create_table(
        "tumour_type",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("main_type", sa.String(length=256), nullable=True),
        sa.Column("tissue", sa.String(length=128), nullable=True),
        sa.Column("parent_code", sa.String(length=32), nullable=True),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=1024), nullable=False),
        sa.Column("previous_codes", sa.JSON(), nullable=False),
        sa.Column("revoked_codes", sa.JSON(), nullable=False),
        sa.Column("release", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_tumour_type")),
    )
    with op.batch_alter_table("tumour_type", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_tumour_type_parent_code"), ["parent_code"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_tumour_type_path"), ["path"], unique=False)

    op.create_table(
        "vocabulary_release",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "oncotree",
                "hgnc",
                name="vocabulary_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("current", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vocabulary_release")),
        sa.UniqueConstraint("kind", "version", name="uq_vocabulary_release_kind"),
    )
    op.create_table(
        "assertion",
        sa.Column("expression_id", sa.String(length=36), nullable=False),
        sa.Column("therapy_id", sa.String(length=36), nullable=True),
        sa.Column(
            "implication",
            sa.Enum(
                "sensitive",
                "resistant",
                "diagnostic",
                "prognostic",
                name="implication",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "evidence_level",
            sa.Enum(
                "1",
                "2",
                "3A",
                "3B",
                "4",
                "R1",
                "R2",
                name="evidence_level",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("level_scheme", sa.String(length=128), nullable=False),
        sa.Column(
            "line_of_therapy",
            sa.Enum(
                "first_line",
                "second_line_plus",
                "any",
                "adjuvant",
                "neoadjuvant",
                "maintenance",
                name="line_of_therapy",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "specimen",
            sa.Enum(
                "tissue",
                "plasma",
                "tissue_or_plasma",
                name="specimen",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("cdx", sa.Text(), nullable=True),
        sa.Column("confirmatory_test", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("human_id", sa.String(length=16), nullable=False),
        sa.Column("row_version", sa.Integer(), nullable=False),
        sa.Column("kb_version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "implication NOT IN ('sensitive', 'resistant') OR therapy_id IS NOT NULL",
            name=op.f("ck_assertion_therapeutic_needs_therapy"),
        ),
        sa.ForeignKeyConstraint(
            ["expression_id"],
            ["biomarker_expression.id"],
            name=op.f("fk_assertion_expression_id_biomarker_expression"),
        ),
        sa.ForeignKeyConstraint(
            ["therapy_id"], ["therapy.id"], name=op.f("fk_assertion_therapy_id_therapy")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assertion")),
        sa.UniqueConstraint("human_id", name=op.f("uq_assertion_human_id")),
    )
    with op.batch_alter_table("assertion", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_assertion_expression_id"), ["expression_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_assertion_therapy_id"), ["therapy_id"], unique=False)

    op.create_table(
        "biomarker",
        sa.Column(
            "kind",
            sa.Enum(
                "sequence_variant",
                "range",
                "categorical",
                "copy_number",
                "fusion",
                "characteristic",
                "expression",
                name="biomarker_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("gene_id", sa.String(length=36), nullable=True),
        sa.Column(
            "origin",
            sa.Enum(
                "somatic",
                "germline",
                name="origin",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("label", sa.String(length=256), nullable=False),
        sa.Column("protein_change", sa.String(length=128), nullable=True),
        sa.Column("protein_change_short", sa.String(length=64), nullable=True),
        sa.Column("exon", sa.Integer(), nullable=True),
        sa.Column("codon_start", sa.Integer(), nullable=True),
        sa.Column("codon_end", sa.Integer(), nullable=True),
        sa.Column(
            "consequence",
            sa.Enum(
                "missense",
                "inframe_deletion",
                "inframe_insertion",
                "frameshift",
                "nonsense",
                "splice",
                "exon_skipping",
                "any",
                name="consequence",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column(
            "category",
            sa.Enum(
                "oncogenic_mutations",
                "truncating_mutations",
                "activating_mutations",
                "loss_of_function",
                name="category",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column(
            "copy_number",
            sa.Enum(
                "amplification",
                "deletion",
                name="copy_number_type",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("partner_5_id", sa.String(length=36), nullable=True),
        sa.Column("partner_3_id", sa.String(length=36), nullable=True),
        sa.Column(
            "characteristic",
            sa.Enum(
                "TMB",
                "MSI",
                "MMR",
                "HRD",
                name="characteristic",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("status", sa.String(length=32), nullable=True),
        sa.Column(
            "assay",
            sa.Enum(
                "IHC",
                "ISH",
                "RNA",
                name="assay",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("human_id", sa.String(length=16), nullable=False),
        sa.Column("row_version", sa.Integer(), nullable=False),
        sa.Column("kb_version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "kind != 'categorical' OR category IS NOT NULL",
            name=op.f("ck_biomarker_categorical_fields"),
        ),
        sa.CheckConstraint(
            "kind != 'characteristic' OR characteristic IS NOT NULL",
            name=op.f("ck_biomarker_characteristic_fields"),
        ),
        sa.CheckConstraint(
            "kind != 'copy_number' OR (gene_id IS NOT NULL AND copy_number IS NOT NULL)",
            name=op.f("ck_biomarker_copy_number_fields"),
        ),
        sa.CheckConstraint(
            "kind != 'expression' OR (gene_id IS NOT NULL AND assay IS NOT NULL)",
            name=op.f("ck_biomarker_expression_fields"),
        ),
        sa.CheckConstraint(
            "kind != 'fusion' OR partner_5_id IS NOT NULL OR partner_3_id IS NOT NULL",
            name=op.f("ck_biomarker_fusion_fields"),
        ),
        sa.CheckConstraint(
            "kind != 'range' OR (gene_id IS NOT NULL AND consequence IS NOT NULL AND (exon IS NOT NULL OR codon_start IS NOT NULL))",
            name=op.f("ck_biomarker_range_fields"),
        ),
        sa.CheckConstraint(
            "kind != 'sequence_variant' OR (gene_id IS NOT NULL AND protein_change IS NOT NULL)",
            name=op.f("ck_biomarker_sequence_variant_fields"),
        ),
        sa.CheckConstraint(
            "codon_end IS NULL OR codon_end >= codon_start", name=op.f("ck_biomarker_codon_order")
        ),
        sa.ForeignKeyConstraint(["gene_id"], ["gene.id"], name=op.f("fk_biomarker_gene_id_gene")),
        sa.ForeignKeyConstraint(
            ["partner_3_id"], ["gene.id"], name=op.f("fk_biomarker_partner_3_id_gene")
        ),
        sa.ForeignKeyConstraint(
            ["partner_5_id"], ["gene.id"], name=op.f("fk_biomarker_partner_5_id_gene")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_biomarker")),
        sa.UniqueConstraint("human_id", name=op.f("uq_biomarker_human_id")),
    )
    with op.batch_alter_table("biomarker", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_biomarker_gene_id"), ["gene_id"], unique=False)

    op.create_table(
        "hgnc_synonym",
        sa.Column("synonym", sa.String(length=64), nullable=False),
        sa.Column("hgnc_id", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["hgnc_id"],
            ["hgnc_gene.hgnc_id"],
            name=op.f("fk_hgnc_synonym_hgnc_id_hgnc_gene"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("synonym", "hgnc_id", name=op.f("pk_hgnc_synonym")),
    )
    op.create_table(
        "regulatory_approval",
        sa.Column("therapy_id", sa.String(length=36), nullable=False),
        sa.Column(
            "agency",
            sa.Enum(
                "FDA",
                "EMA",
                "PMDA",
                "NMPA",
                "HC",
                name="agency",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("approval_date", sa.Date(), nullable=True),
        sa.Column("indication", sa.Text(), nullable=False),
        sa.Column("cdx", sa.Text(), nullable=True),
        sa.Column("citation_id", sa.String(length=36), nullable=True),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("human_id", sa.String(length=16), nullable=False),
        sa.Column("row_version", sa.Integer(), nullable=False),
        sa.Column("kb_version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["citation_id"],
            ["citation.id"],
            name=op.f("fk_regulatory_approval_citation_id_citation"),
        ),
        sa.ForeignKeyConstraint(
            ["therapy_id"], ["therapy.id"], name=op.f("fk_regulatory_approval_therapy_id_therapy")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_regulatory_approval")),
        sa.UniqueConstraint("human_id", name=op.f("uq_regulatory_approval_human_id")),
    )
    with op.batch_alter_table("regulatory_approval", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_regulatory_approval_therapy_id"), ["therapy_id"], unique=False
        )

    op.create_table(
        "revision",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("record_id", sa.String(length=36), nullable=False),
        sa.Column("record_type", sa.String(length=32), nullable=False),
        sa.Column("human_id", sa.String(length=16), nullable=False),
        sa.Column("kb_version", sa.Integer(), nullable=False),
        sa.Column("change_set_id", sa.String(length=36), nullable=True),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["kb_version"], ["kb_version.number"], name=op.f("fk_revision_kb_version_kb_version")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_revision")),
        sa.UniqueConstraint("record_id", "kb_version", name="uq_revision_record_version"),
    )
    with op.batch_alter_table("revision", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_revision_human_id"), ["human_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_revision_kb_version"), ["kb_version"], unique=False)
        batch_op.create_index(
            "ix_revision_record_version", ["record_id", "kb_version"], unique=False
        )

    op.create_table(
        "therapy_drug",
        sa.Column("therapy_id", sa.String(length=36), nullable=False),
        sa.Column("drug_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["drug_id"], ["drug.id"], name=op.f("fk_therapy_drug_drug_id_drug")
        ),
        sa.ForeignKeyConstraint(
            ["therapy_id"],
            ["therapy.id"],
            name=op.f("fk_therapy_drug_therapy_id_therapy"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("therapy_id", "drug_id", name=op.f("pk_therapy_drug")),
    )
    op.create_table(
        "trial_arm",
        sa.Column("trial_id", sa.String(length=36), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("expression_id", sa.String(length=36), nullable=True),
        sa.Column("therapy_id", sa.String(length=36), nullable=True),
        sa.Column("min_age", sa.Integer(), nullable=True),
        sa.Column("max_age", sa.Integer(), nullable=True),
        sa.Column(
            "sex",
            sa.Enum(
                "ALL",
                "FEMALE",
                "MALE",
                name="sex",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("suspended", sa.Boolean(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("human_id", sa.String(length=16), nullable=False),
        sa.Column("row_version", sa.Integer(), nullable=False),
        sa.Column("kb_version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "max_age IS NULL OR min_age IS NULL OR max_age >= min_age",
            name=op.f("ck_trial_arm_age_order"),
        ),
        sa.CheckConstraint(
            "min_age IS NULL OR min_age >= 0", name=op.f("ck_trial_arm_min_age_positive")
        ),
        sa.ForeignKeyConstraint(
            ["expression_id"],
            ["biomarker_expression.id"],
            name=op.f("fk_trial_arm_expression_id_biomarker_expression"),
        ),
        sa.ForeignKeyConstraint(
            ["therapy_id"], ["therapy.id"], name=op.f("fk_trial_arm_therapy_id_therapy")
        ),
        sa.ForeignKeyConstraint(
            ["trial_id"], ["trial.id"], name=op.f("fk_trial_arm_trial_id_trial")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trial_arm")),
        sa.UniqueConstraint("human_id", name=op.f("uq_trial_arm_human_id")),
        sa.UniqueConstraint("trial_id", "code", name="uq_trial_arm_trial_code"),
    )
    with op.batch_alter_table("trial_arm", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_trial_arm_trial_id"), ["trial_id"], unique=False)

    op.create_table(
        "trial_citation",
        sa.Column("trial_id", sa.String(length=36), nullable=False),
        sa.Column("citation_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["citation_id"], ["citation.id"], name=op.f("fk_trial_citation_citation_id_citation")
        ),
        sa.ForeignKeyConstraint(
            ["trial_id"],
            ["trial.id"],
            name=op.f("fk_trial_citation_trial_id_trial"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("trial_id", "citation_id", name=op.f("pk_trial_citation")),
    )
    op.create_table(
        "arm_tumour_type",
        sa.Column("arm_id", sa.String(length=36), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("excluded", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["arm_id"],
            ["trial_arm.id"],
            name=op.f("fk_arm_tumour_type_arm_id_trial_arm"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("arm_id", "code", "excluded", name=op.f("pk_arm_tumour_type")),
    )
    with op.batch_alter_table("arm_tumour_type", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_arm_tumour_type_code"), ["code"], unique=False)

    op.create_table(
        "assertion_citation",
        sa.Column("assertion_id", sa.String(length=36), nullable=False),
        sa.Column("citation_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["assertion_id"],
            ["assertion.id"],
            name=op.f("fk_assertion_citation_assertion_id_assertion"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["citation_id"],
            ["citation.id"],
            name=op.f("fk_assertion_citation_citation_id_citation"),
        ),
        sa.PrimaryKeyConstraint("assertion_id", "citation_id", name=op.f("pk_assertion_citation")),
    )
    op.create_table(
        "assertion_tumour_type",
        sa.Column("assertion_id", sa.String(length=36), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("excluded", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["assertion_id"],
            ["assertion.id"],
            name=op.f("fk_assertion_tumour_type_assertion_id_assertion"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "assertion_id", "code", "excluded", name=op.f("pk_assertion_tumour_type")
        ),
    )
    with op.batch_alter_table("assertion_tumour_type", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_assertion_tumour_type_code"), ["code"], unique=False)

    op.create_table(
        "biomarker_exclusion",
        sa.Column("biomarker_id", sa.String(length=36), nullable=False),
        sa.Column("excluded_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["biomarker_id"],
            ["biomarker.id"],
            name=op.f("fk_biomarker_exclusion_biomarker_id_biomarker"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["excluded_id"],
            ["biomarker.id"],
            name=op.f("fk_biomarker_exclusion_excluded_id_biomarker"),
        ),
        sa.PrimaryKeyConstraint("biomarker_id", "excluded_id", name=op.f("pk_biomarker_exclusion")),
    )
    op.create_table(
        "expression_node",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("expression_id", sa.String(length=36), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column(
            "op",
            sa.Enum(
                "AND",
                "OR",
                "NOT",
                "LEAF",
                name="expression_op",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("biomarker_id", sa.String(length=36), nullable=True),
        sa.Column("threshold_id", sa.String(length=36), nullable=True),
        sa.CheckConstraint(
            "(op = 'LEAF') = (biomarker_id IS NOT NULL)",
            name=op.f("ck_expression_node_leaf_has_biomarker"),
        ),
        sa.CheckConstraint(
            "op = 'LEAF' OR threshold_id IS NULL", name=op.f("ck_expression_node_threshold_on_leaf")
        ),
        sa.ForeignKeyConstraint(
            ["biomarker_id"],
            ["biomarker.id"],
            name=op.f("fk_expression_node_biomarker_id_biomarker"),
        ),
        sa.ForeignKeyConstraint(
            ["expression_id"],
            ["biomarker_expression.id"],
            name=op.f("fk_expression_node_expression_id_biomarker_expression"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["threshold_id"],
            ["threshold.id"],
            name=op.f("fk_expression_node_threshold_id_threshold"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expression_node")),
    )
    with op.batch_alter_table("expression_node", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_expression_node_biomarker_id"), ["biomarker_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_expression_node_expression_id"), ["expression_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_expression_node_threshold_id"), ["threshold_id"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("expression_node", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_expression_node_threshold_id"))
        batch_op.drop_index(batch_op.f("ix_expression_node_expression_id"))
        batch_op.drop_index(batch_op.f("ix_expression_node_biomarker_id"))

    op.drop_table("expression_node")
    op.drop_table("biomarker_exclusion")
    with op.batch_alter_table("assertion_tumour_type", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assertion_tumour_type_code"))

    op.drop_table("assertion_tumour_type")
    op.drop_table("assertion_citation")
    with op.batch_alter_table("arm_tumour_type", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_arm_tumour_type_code"))

    op.drop_table("arm_tumour_type")
    op.drop_table("trial_citation")
    with op.batch_alter_table("trial_arm", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trial_arm_trial_id"))

    op.drop_table("trial_arm")
    op.drop_table("therapy_drug")
    with op.batch_alter_table("revision", schema=None) as batch_op:
        batch_op.drop_index("ix_revision_record_version")
        batch_op.drop_index(batch_op.f("ix_revision_kb_version"))
        batch_op.drop_index(batch_op.f("ix_revision_human_id"))

    op.drop_table("revision")
    with op.batch_alter_table("regulatory_approval", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_regulatory_approval_therapy_id"))

    op.drop_table("regulatory_approval")
    op.drop_table("hgnc_synonym")
    with op.batch_alter_table("biomarker", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_biomarker_gene_id"))

    op.drop_table("biomarker")
    with op.batch_alter_table("assertion", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assertion_therapy_id"))
        batch_op.drop_index(batch_op.f("ix_assertion_expression_id"))

    op.drop_table("assertion")
    op.drop_table("vocabulary_release")
    with op.batch_alter_table("tumour_type", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tumour_type_path"))
        batch_op.drop_index(batch_op.f("ix_tumour_type_parent_code"))

    op.drop_table("tumour_type")
    op.drop_table("trial")
    op.drop_table("threshold")
    op.drop_table("therapy")
    op.drop_table("kb_version")
    op.drop_table("kb_meta")
    op.drop_table("human_id_counter")
    op.drop_table("hgnc_gene")
    op.drop_table("gene")
    op.drop_table("drug")
    op.drop_table("citation")
    op.drop_table("biomarker_expression")
