"""A small demo knowledge base of real FDA-approved biomarker-therapy indications.

Pure data: module-level lists of plain dicts, linked to each other by their ``key`` strings.
Indications are paraphrased in our own words, not copied from the labels. Tumour types are
OncoTree codes of the release named in ``ONCOTREE_RELEASE`` (``TUMOUR_TYPES`` lists every code
used plus all its ancestors up to ``TISSUE``); genes are HGNC-approved symbols.

Evidence levels follow the OncoKB therapeutic scheme: "1" for an FDA-recognised biomarker and
drug in the approved indication, "R1" for standard-care resistance.
"""

from __future__ import annotations

from typing import Any

ONCOTREE_RELEASE = "oncotree_2025_10_03"
HGNC_VERSION = "hgnc-demo-subset"

# --- Tumour types (copied from the OncoTree release; parents before children) ---------------------

TUMOUR_TYPES: list[dict[str, Any]] = [
    # Root and tissues (level 0-1)
    {
        "code": "TISSUE",
        "name": "Tissue",
        "main_type": None,
        "tissue": None,
        "parent": None,
        "level": 0,
    },
    {
        "code": "OVARY",
        "name": "Ovary/Fallopian Tube",
        "main_type": "Ovarian/Fallopian Tube Cancer",
        "tissue": "Ovary/Fallopian Tube",
        "parent": "TISSUE",
        "level": 1,
    },
    {
        "code": "SOFT_TISSUE",
        "name": "Soft Tissue",
        "main_type": "Soft Tissue Cancer",
        "tissue": "Soft Tissue",
        "parent": "TISSUE",
        "level": 1,
    },
    {
        "code": "THYROID",
        "name": "Thyroid",
        "main_type": "Thyroid Cancer",
        "tissue": "Thyroid",
        "parent": "TISSUE",
        "level": 1,
    },
    {
        "code": "PANCREAS",
        "name": "Pancreas",
        "main_type": "Pancreatic Cancer",
        "tissue": "Pancreas",
        "parent": "TISSUE",
        "level": 1,
    },
    {
        "code": "BILIARY_TRACT",
        "name": "Biliary Tract",
        "main_type": "Biliary Tract Cancer",
        "tissue": "Biliary Tract",
        "parent": "TISSUE",
        "level": 1,
    },
    {
        "code": "BREAST",
        "name": "Breast",
        "main_type": "Breast Cancer",
        "tissue": "Breast",
        "parent": "TISSUE",
        "level": 1,
    },
    {
        "code": "CERVIX",
        "name": "Cervix",
        "main_type": "Cervical Cancer",
        "tissue": "Cervix",
        "parent": "TISSUE",
        "level": 1,
    },
    {
        "code": "BOWEL",
        "name": "Bowel",
        "main_type": "Bowel Cancer",
        "tissue": "Bowel",
        "parent": "TISSUE",
        "level": 1,
    },
    {
        "code": "SKIN",
        "name": "Skin",
        "main_type": "Skin Cancer",
        "tissue": "Skin",
        "parent": "TISSUE",
        "level": 1,
    },
    {
        "code": "BLADDER",
        "name": "Bladder/Urinary Tract",
        "main_type": "Bladder/Urinary Tract Cancer",
        "tissue": "Bladder/Urinary Tract",
        "parent": "TISSUE",
        "level": 1,
    },
    {
        "code": "PROSTATE",
        "name": "Prostate",
        "main_type": "Prostate Cancer",
        "tissue": "Prostate",
        "parent": "TISSUE",
        "level": 1,
    },
    {
        "code": "LUNG",
        "name": "Lung",
        "main_type": "Lung Cancer",
        "tissue": "Lung",
        "parent": "TISSUE",
        "level": 1,
    },
    {
        "code": "UTERUS",
        "name": "Uterus",
        "main_type": "Uterine Cancer",
        "tissue": "Uterus",
        "parent": "TISSUE",
        "level": 1,
    },
    {
        "code": "PERITONEUM",
        "name": "Peritoneum",
        "main_type": "Peritoneal Cancer",
        "tissue": "Peritoneum",
        "parent": "TISSUE",
        "level": 1,
    },
    {
        "code": "MYELOID",
        "name": "Myeloid",
        "main_type": "Blood Cancer",
        "tissue": "Myeloid",
        "parent": "TISSUE",
        "level": 1,
    },
    {
        "code": "STOMACH",
        "name": "Esophagus/Stomach",
        "main_type": "Esophageal/Stomach Cancer",
        "tissue": "Esophagus/Stomach",
        "parent": "TISSUE",
        "level": 1,
    },
    # Level 2
    {
        "code": "GIST",
        "name": "Gastrointestinal Stromal Tumor",
        "main_type": "Gastrointestinal Stromal Tumor",
        "tissue": "Soft Tissue",
        "parent": "SOFT_TISSUE",
        "level": 2,
    },
    {
        "code": "THAP",
        "name": "Anaplastic Thyroid Cancer",
        "main_type": "Thyroid Cancer",
        "tissue": "Thyroid",
        "parent": "THYROID",
        "level": 2,
    },
    {
        "code": "THME",
        "name": "Medullary Thyroid Cancer",
        "main_type": "Thyroid Cancer",
        "tissue": "Thyroid",
        "parent": "THYROID",
        "level": 2,
    },
    {
        "code": "PAAD",
        "name": "Pancreatic Adenocarcinoma",
        "main_type": "Pancreatic Cancer",
        "tissue": "Pancreas",
        "parent": "PANCREAS",
        "level": 2,
    },
    {
        "code": "IPN",
        "name": "Intraductal Papillary Neoplasm of the Bile Duct",
        "main_type": "Hepatobiliary Cancer",
        "tissue": "Biliary Tract",
        "parent": "BILIARY_TRACT",
        "level": 2,
    },
    {
        "code": "BRCA",
        "name": "Invasive Breast Carcinoma",
        "main_type": "Breast Cancer",
        "tissue": "Breast",
        "parent": "BREAST",
        "level": 2,
    },
    {
        "code": "COADREAD",
        "name": "Colorectal Adenocarcinoma",
        "main_type": "Colorectal Cancer",
        "tissue": "Bowel",
        "parent": "BOWEL",
        "level": 2,
    },
    {
        "code": "MEL",
        "name": "Melanoma",
        "main_type": "Melanoma",
        "tissue": "Skin",
        "parent": "SKIN",
        "level": 2,
    },
    {
        "code": "PRAD",
        "name": "Prostate Adenocarcinoma",
        "main_type": "Prostate Cancer",
        "tissue": "Prostate",
        "parent": "PROSTATE",
        "level": 2,
    },
    {
        "code": "NSCLC",
        "name": "Non-Small Cell Lung Cancer",
        "main_type": "Non-Small Cell Lung Cancer",
        "tissue": "Lung",
        "parent": "LUNG",
        "level": 2,
    },
    {
        "code": "UCEC",
        "name": "Endometrial Carcinoma",
        "main_type": "Endometrial Cancer",
        "tissue": "Uterus",
        "parent": "UTERUS",
        "level": 2,
    },
    {
        "code": "PSEC",
        "name": "Peritoneal Serous Carcinoma",
        "main_type": "Peritoneal Cancer, NOS",
        "tissue": "Peritoneum",
        "parent": "PERITONEUM",
        "level": 2,
    },
    {
        "code": "MNM",
        "name": "Myeloid Neoplasm",
        "main_type": "Blood Cancer, NOS",
        "tissue": "Myeloid",
        "parent": "MYELOID",
        "level": 2,
    },
    {
        "code": "EGC",
        "name": "Esophagogastric Adenocarcinoma",
        "main_type": "Esophagogastric Cancer",
        "tissue": "Esophagus/Stomach",
        "parent": "STOMACH",
        "level": 2,
    },
    # Level 3-4
    {
        "code": "CHOL",
        "name": "Cholangiocarcinoma",
        "main_type": "Hepatobiliary Cancer",
        "tissue": "Biliary Tract",
        "parent": "IPN",
        "level": 3,
    },
    {
        "code": "AML",
        "name": "Acute Myeloid Leukemia",
        "main_type": "Leukemia",
        "tissue": "Myeloid",
        "parent": "MNM",
        "level": 3,
    },
    {
        "code": "MPN",
        "name": "Myeloproliferative Neoplasms",
        "main_type": "Myeloproliferative Neoplasms",
        "tissue": "Myeloid",
        "parent": "MNM",
        "level": 3,
    },
    {
        "code": "STAD",
        "name": "Stomach Adenocarcinoma",
        "main_type": "Esophagogastric Cancer",
        "tissue": "Esophagus/Stomach",
        "parent": "EGC",
        "level": 3,
    },
    {
        "code": "GEJ",
        "name": "Adenocarcinoma of the Gastroesophageal Junction",
        "main_type": "Esophagogastric Cancer",
        "tissue": "Esophagus/Stomach",
        "parent": "EGC",
        "level": 3,
    },
    {
        "code": "CML",
        "name": "Chronic Myelogenous Leukemia",
        "main_type": "Myeloproliferative Neoplasms",
        "tissue": "Myeloid",
        "parent": "MPN",
        "level": 4,
    },
]


# --- Genes (symbol, HGNC ID and name as in the HGNC export) ---------------------------------------

GENES: list[dict[str, Any]] = [
    # Receptor tyrosine kinases and fusion drivers
    {
        "key": "EGFR",
        "symbol": "EGFR",
        "hgnc_id": "HGNC:3236",
        "name": "epidermal growth factor receptor",
        "aliases": ["ERBB1", "HER1"],
        "role": "oncogene",
    },
    {
        "key": "ERBB2",
        "symbol": "ERBB2",
        "hgnc_id": "HGNC:3430",
        "name": "erb-b2 receptor tyrosine kinase 2",
        "aliases": ["NEU", "HER-2", "CD340", "HER2"],
        "role": "oncogene",
    },
    {
        "key": "ALK",
        "symbol": "ALK",
        "hgnc_id": "HGNC:427",
        "name": "anaplastic lymphoma receptor tyrosine kinase",
        "aliases": ["CD246"],
        "role": "oncogene",
    },
    {
        "key": "ROS1",
        "symbol": "ROS1",
        "hgnc_id": "HGNC:10261",
        "name": "ROS proto-oncogene 1 , receptor tyrosine kinase",
        "aliases": ["MCF3", "ROS", "c-ros-1"],
        "role": "oncogene",
    },
    {
        "key": "RET",
        "symbol": "RET",
        "hgnc_id": "HGNC:9967",
        "name": "ret proto-oncogene",
        "aliases": ["PTC", "CDHF12", "RET51", "CDHR16"],
        "role": "oncogene",
    },
    {
        "key": "MET",
        "symbol": "MET",
        "hgnc_id": "HGNC:7029",
        "name": "MET proto-oncogene, receptor tyrosine kinase",
        "aliases": ["HGFR", "RCCP2", "DFNB97"],
        "role": "oncogene",
    },
    {
        "key": "NTRK1",
        "symbol": "NTRK1",
        "hgnc_id": "HGNC:8031",
        "name": "neurotrophic tyrosine kinase, receptor, type 1",
        "aliases": ["TRK", "TRKA", "MTC"],
        "role": "oncogene",
    },
    {
        "key": "NTRK2",
        "symbol": "NTRK2",
        "hgnc_id": "HGNC:8032",
        "name": "neurotrophic tyrosine kinase, receptor, type 2",
        "aliases": ["TRKB"],
        "role": "oncogene",
    },
    {
        "key": "NTRK3",
        "symbol": "NTRK3",
        "hgnc_id": "HGNC:8033",
        "name": "neurotrophic tyrosine kinase, receptor, type 3",
        "aliases": ["TRKC"],
        "role": "oncogene",
    },
    {
        "key": "KIT",
        "symbol": "KIT",
        "hgnc_id": "HGNC:6342",
        "name": "v-kit Hardy-Zuckerman 4 feline sarcoma viral oncogene homolog",
        "aliases": ["CD117", "SCFR", "C-Kit"],
        "role": "oncogene",
    },
    {
        "key": "PDGFRA",
        "symbol": "PDGFRA",
        "hgnc_id": "HGNC:8803",
        "name": "platelet-derived growth factor receptor, alpha polypeptide",
        "aliases": ["CD140a", "PDGFR2", "GAS9"],
        "role": "oncogene",
    },
    {
        "key": "FLT3",
        "symbol": "FLT3",
        "hgnc_id": "HGNC:3765",
        "name": "fms-related tyrosine kinase 3",
        "aliases": ["STK1", "FLK2", "CD135"],
        "role": "oncogene",
    },
    {
        "key": "BCR",
        "symbol": "BCR",
        "hgnc_id": "HGNC:1014",
        "name": "breakpoint cluster region",
        "aliases": ["D22S662", "CML", "PHL", "ALL"],
        "role": "unknown",
    },
    {
        "key": "ABL1",
        "symbol": "ABL1",
        "hgnc_id": "HGNC:76",
        "name": "ABL proto-oncogene 1, non-receptor tyrosine kinase",
        "aliases": ["JTK7", "c-ABL", "p150"],
        "role": "oncogene",
    },
    # MAPK / PI3K pathway and metabolism
    {
        "key": "BRAF",
        "symbol": "BRAF",
        "hgnc_id": "HGNC:1097",
        "name": "B-Raf proto-oncogene, serine/threonine kinase",
        "aliases": ["BRAF1"],
        "role": "oncogene",
    },
    {
        "key": "KRAS",
        "symbol": "KRAS",
        "hgnc_id": "HGNC:6407",
        "name": "Kirsten rat sarcoma viral oncogene homolog",
        "aliases": ["KRAS1"],
        "role": "oncogene",
    },
    {
        "key": "NRAS",
        "symbol": "NRAS",
        "hgnc_id": "HGNC:7989",
        "name": "neuroblastoma RAS viral (v-ras) oncogene homolog",
        "aliases": ["N-ras"],
        "role": "oncogene",
    },
    {
        "key": "PIK3CA",
        "symbol": "PIK3CA",
        "hgnc_id": "HGNC:8975",
        "name": "phosphatidylinositol-4,5-bisphosphate 3-kinase, catalytic subunit alpha",
        "aliases": ["PI3K"],
        "role": "oncogene",
    },
    {
        "key": "IDH1",
        "symbol": "IDH1",
        "hgnc_id": "HGNC:5382",
        "name": "isocitrate dehydrogenase 1 (NADP+)",
        "aliases": [],
        "role": "oncogene",
    },
    # DNA repair
    {
        "key": "BRCA1",
        "symbol": "BRCA1",
        "hgnc_id": "HGNC:1100",
        "name": "breast cancer 1, early onset",
        "aliases": ["RNF53", "BRCC1", "PPP1R53", "FANCS"],
        "role": "tumour_suppressor",
    },
    {
        "key": "BRCA2",
        "symbol": "BRCA2",
        "hgnc_id": "HGNC:1101",
        "name": "breast cancer 2, early onset",
        "aliases": ["FAD", "FAD1", "BRCC2", "XRCC11"],
        "role": "tumour_suppressor",
    },
    # Immune checkpoint ligand (PD-L1)
    {
        "key": "CD274",
        "symbol": "CD274",
        "hgnc_id": "HGNC:17635",
        "name": "CD274 molecule",
        "aliases": ["B7-H", "B7H1", "PD-L1", "PDL1", "B7-H1"],
        "role": "unknown",
    },
]


# --- Biomarkers -----------------------------------------------------------------------------------

BIOMARKERS: list[dict[str, Any]] = [
    # EGFR
    {
        "key": "EGFR_L858R",
        "kind": "sequence_variant",
        "gene": "EGFR",
        "label": "EGFR L858R",
        "protein_change": "p.L858R",
    },
    {
        "key": "EGFR_EX19DEL",
        "kind": "range",
        "gene": "EGFR",
        "label": "EGFR exon 19 deletion",
        "exon": 19,
        "consequence": "inframe_deletion",
    },
    {
        "key": "EGFR_T790M",
        "kind": "sequence_variant",
        "gene": "EGFR",
        "label": "EGFR T790M",
        "protein_change": "p.T790M",
    },
    {
        "key": "EGFR_EX20INS",
        "kind": "range",
        "gene": "EGFR",
        "label": "EGFR exon 20 insertion",
        "exon": 20,
        "consequence": "inframe_insertion",
    },
    # ALK, ROS1, RET, NTRK fusions
    {
        "key": "ALK_FUSION",
        "kind": "fusion",
        "gene": "ALK",
        "label": "ALK fusion",
        "partner_5": None,
        "partner_3": "ALK",
    },
    {
        "key": "ROS1_FUSION",
        "kind": "fusion",
        "gene": "ROS1",
        "label": "ROS1 fusion",
        "partner_5": None,
        "partner_3": "ROS1",
    },
    {
        "key": "RET_FUSION",
        "kind": "fusion",
        "gene": "RET",
        "label": "RET fusion",
        "partner_5": None,
        "partner_3": "RET",
    },
    {
        "key": "NTRK1_FUSION",
        "kind": "fusion",
        "gene": "NTRK1",
        "label": "NTRK1 fusion",
        "partner_5": None,
        "partner_3": "NTRK1",
    },
    {
        "key": "NTRK2_FUSION",
        "kind": "fusion",
        "gene": "NTRK2",
        "label": "NTRK2 fusion",
        "partner_5": None,
        "partner_3": "NTRK2",
    },
    {
        "key": "NTRK3_FUSION",
        "kind": "fusion",
        "gene": "NTRK3",
        "label": "NTRK3 fusion",
        "partner_5": None,
        "partner_3": "NTRK3",
    },
    # RET activating point mutations (medullary thyroid cancer)
    {
        "key": "RET_ACTIVATING",
        "kind": "categorical",
        "gene": "RET",
        "label": "RET activating mutation",
        "category": "activating_mutations",
    },
    # MET
    {
        "key": "MET_EX14",
        "kind": "range",
        "gene": "MET",
        "label": "MET exon 14 skipping",
        "exon": 14,
        "consequence": "exon_skipping",
    },
    # BRAF
    {
        "key": "BRAF_V600E",
        "kind": "sequence_variant",
        "gene": "BRAF",
        "label": "BRAF V600E",
        "protein_change": "p.V600E",
    },
    {
        "key": "BRAF_V600K",
        "kind": "sequence_variant",
        "gene": "BRAF",
        "label": "BRAF V600K",
        "protein_change": "p.V600K",
    },
    # KRAS / NRAS
    {
        "key": "KRAS_G12C",
        "kind": "sequence_variant",
        "gene": "KRAS",
        "label": "KRAS G12C",
        "protein_change": "p.G12C",
    },
    {
        "key": "KRAS_ACTIVATING",
        "kind": "categorical",
        "gene": "KRAS",
        "label": "KRAS activating mutation (exons 2-4)",
        "category": "activating_mutations",
    },
    {
        "key": "NRAS_ACTIVATING",
        "kind": "categorical",
        "gene": "NRAS",
        "label": "NRAS activating mutation (exons 2-4)",
        "category": "activating_mutations",
    },
    # ERBB2 (HER2)
    {
        "key": "ERBB2_IHC",
        "kind": "expression",
        "gene": "ERBB2",
        "label": "HER2 protein (IHC)",
        "assay": "IHC",
    },
    {
        "key": "ERBB2_ISH",
        "kind": "expression",
        "gene": "ERBB2",
        "label": "HER2/CEP17 ratio (ISH)",
        "assay": "ISH",
    },
    {
        "key": "ERBB2_AMP",
        "kind": "copy_number",
        "gene": "ERBB2",
        "label": "ERBB2 amplification",
        "copy_number": "amplification",
    },
    {
        "key": "ERBB2_ACTIVATING",
        "kind": "categorical",
        "gene": "ERBB2",
        "label": "ERBB2 activating mutation",
        "category": "activating_mutations",
    },
    # PIK3CA, IDH1, FLT3
    {
        "key": "PIK3CA_ACTIVATING",
        "kind": "categorical",
        "gene": "PIK3CA",
        "label": "PIK3CA activating mutation",
        "category": "activating_mutations",
    },
    {
        "key": "IDH1_R132",
        "kind": "range",
        "gene": "IDH1",
        "label": "IDH1 R132 mutation",
        "codon_start": 132,
        "codon_end": 132,
        "consequence": "missense",
    },
    {
        "key": "FLT3_ACTIVATING",
        "kind": "categorical",
        "gene": "FLT3",
        "label": "FLT3 mutation (ITD or TKD)",
        "category": "activating_mutations",
    },
    # KIT / PDGFRA (GIST)
    {
        "key": "KIT_IHC",
        "kind": "expression",
        "gene": "KIT",
        "label": "KIT (CD117) protein (IHC)",
        "assay": "IHC",
    },
    {
        "key": "KIT_ONCOGENIC",
        "kind": "categorical",
        "gene": "KIT",
        "label": "KIT oncogenic mutation",
        "category": "oncogenic_mutations",
    },
    {
        "key": "PDGFRA_EX18",
        "kind": "range",
        "gene": "PDGFRA",
        "label": "PDGFRA exon 18 mutation (incl. D842V)",
        "exon": 18,
        "consequence": "any",
    },
    # BCR::ABL1
    {
        "key": "BCR_ABL1",
        "kind": "fusion",
        "gene": "ABL1",
        "label": "BCR::ABL1 fusion",
        "partner_5": "BCR",
        "partner_3": "ABL1",
    },
    # BRCA1 / BRCA2 (germline and somatic loss of function)
    {
        "key": "BRCA1_GERMLINE",
        "kind": "categorical",
        "gene": "BRCA1",
        "origin": "germline",
        "label": "Germline BRCA1 pathogenic variant",
        "category": "loss_of_function",
    },
    {
        "key": "BRCA2_GERMLINE",
        "kind": "categorical",
        "gene": "BRCA2",
        "origin": "germline",
        "label": "Germline BRCA2 pathogenic variant",
        "category": "loss_of_function",
    },
    {
        "key": "BRCA1_SOMATIC",
        "kind": "categorical",
        "gene": "BRCA1",
        "origin": "somatic",
        "label": "Somatic BRCA1 loss-of-function variant",
        "category": "loss_of_function",
    },
    {
        "key": "BRCA2_SOMATIC",
        "kind": "categorical",
        "gene": "BRCA2",
        "origin": "somatic",
        "label": "Somatic BRCA2 loss-of-function variant",
        "category": "loss_of_function",
    },
    # PD-L1 and genome-wide characteristics
    {
        "key": "CD274_IHC",
        "kind": "expression",
        "gene": "CD274",
        "label": "PD-L1 protein (IHC)",
        "assay": "IHC",
    },
    {
        "key": "TMB_HIGH",
        "kind": "characteristic",
        "gene": None,
        "label": "Tumour mutational burden high",
        "characteristic": "TMB",
        "status": "high",
    },
    {
        "key": "MSI_HIGH",
        "kind": "characteristic",
        "gene": None,
        "label": "Microsatellite instability high",
        "characteristic": "MSI",
        "status": "high",
    },
    {
        "key": "MMR_DEFICIENT",
        "kind": "characteristic",
        "gene": None,
        "label": "Mismatch repair deficient",
        "characteristic": "MMR",
        "status": "deficient",
    },
]


# --- Thresholds -----------------------------------------------------------------------------------

THRESHOLDS: list[dict[str, Any]] = [
    # Tumour mutational burden
    {
        "key": "TMB_10",
        "metric": "TMB",
        "operator": ">=",
        "value": "10",
        "unit": "mut/Mb",
        "assay": "FoundationOne CDx",
        "specimen": "tissue",
    },
    # PD-L1 (22C3)
    {
        "key": "PDL1_TPS_50",
        "metric": "PDL1_TPS",
        "operator": ">=",
        "value": "50",
        "unit": "%",
        "assay": "PD-L1 IHC 22C3 pharmDx",
        "specimen": "tissue",
    },
    {
        "key": "PDL1_TPS_1",
        "metric": "PDL1_TPS",
        "operator": ">=",
        "value": "1",
        "unit": "%",
        "assay": "PD-L1 IHC 22C3 pharmDx",
        "specimen": "tissue",
    },
    {
        "key": "PDL1_CPS_10",
        "metric": "PDL1_CPS",
        "operator": ">=",
        "value": "10",
        "unit": "score",
        "assay": "PD-L1 IHC 22C3 pharmDx",
        "specimen": "tissue",
    },
    # HER2 IHC scores and ISH ratio
    {
        "key": "HER2_IHC_3",
        "metric": "HER2_IHC",
        "operator": "==",
        "value": "3+",
        "unit": None,
        "specimen": "tissue",
    },
    {
        "key": "HER2_IHC_2",
        "metric": "HER2_IHC",
        "operator": "==",
        "value": "2+",
        "unit": None,
        "specimen": "tissue",
    },
    {
        "key": "HER2_IHC_1",
        "metric": "HER2_IHC",
        "operator": "==",
        "value": "1+",
        "unit": None,
        "specimen": "tissue",
    },
    {
        "key": "HER2_IHC_2_OR_3",
        "metric": "HER2_IHC",
        "operator": "in",
        "value": "2+,3+",
        "unit": None,
        "specimen": "tissue",
    },
    {
        "key": "HER2_ISH_2",
        "metric": "HER2_ISH_RATIO",
        "operator": ">=",
        "value": "2.0",
        "unit": "ratio",
        "specimen": "tissue",
    },
    {
        "key": "HER2_ISH_LT_2",
        "metric": "HER2_ISH_RATIO",
        "operator": "<",
        "value": "2.0",
        "unit": "ratio",
        "specimen": "tissue",
    },
]


# --- Biomarker expressions ------------------------------------------------------------------------

# Sub-trees are written out in full wherever they are needed, so no two records share an object.
# HER2-positive = IHC 3+ OR (IHC 2+ AND ISH ratio >= 2.0); HER2-negative = NOT HER2-positive.

EXPRESSIONS: list[dict[str, Any]] = [
    # EGFR
    {
        "key": "EX_EGFR_SENSITISING",
        "tree": {"op": "OR", "args": [{"biomarker": "EGFR_EX19DEL"}, {"biomarker": "EGFR_L858R"}]},
    },
    {"key": "EX_EGFR_T790M", "tree": {"biomarker": "EGFR_T790M"}},
    {"key": "EX_EGFR_EX20INS", "tree": {"biomarker": "EGFR_EX20INS"}},
    # Fusions
    {"key": "EX_ALK_FUSION", "tree": {"biomarker": "ALK_FUSION"}},
    {"key": "EX_ROS1_FUSION", "tree": {"biomarker": "ROS1_FUSION"}},
    {"key": "EX_RET_FUSION", "tree": {"biomarker": "RET_FUSION"}},
    {
        "key": "EX_NTRK_FUSION",
        "tree": {
            "op": "OR",
            "args": [
                {"biomarker": "NTRK1_FUSION"},
                {"biomarker": "NTRK2_FUSION"},
                {"biomarker": "NTRK3_FUSION"},
            ],
        },
    },
    {"key": "EX_BCR_ABL1", "tree": {"biomarker": "BCR_ABL1"}},
    # RET and MET
    {"key": "EX_RET_MUTATION", "tree": {"biomarker": "RET_ACTIVATING"}},
    {"key": "EX_MET_EX14", "tree": {"biomarker": "MET_EX14"}},
    # BRAF
    {"key": "EX_BRAF_V600E", "tree": {"biomarker": "BRAF_V600E"}},
    {
        "key": "EX_BRAF_V600E_OR_K",
        "tree": {"op": "OR", "args": [{"biomarker": "BRAF_V600E"}, {"biomarker": "BRAF_V600K"}]},
    },
    # KRAS / NRAS
    {"key": "EX_KRAS_G12C", "tree": {"biomarker": "KRAS_G12C"}},
    {
        "key": "EX_RAS_MUTANT",
        "tree": {
            "op": "OR",
            "args": [{"biomarker": "KRAS_ACTIVATING"}, {"biomarker": "NRAS_ACTIVATING"}],
        },
    },
    # ERBB2 (HER2)
    {
        "key": "EX_HER2_POSITIVE",
        "tree": {
            "op": "OR",
            "args": [
                {"biomarker": "ERBB2_IHC", "threshold": "HER2_IHC_3"},
                {
                    "op": "AND",
                    "args": [
                        {"biomarker": "ERBB2_IHC", "threshold": "HER2_IHC_2"},
                        {"biomarker": "ERBB2_ISH", "threshold": "HER2_ISH_2"},
                    ],
                },
            ],
        },
    },
    {
        "key": "EX_HER2_POSITIVE_GASTRIC",
        "tree": {
            "op": "OR",
            "args": [
                {"biomarker": "ERBB2_IHC", "threshold": "HER2_IHC_3"},
                {"biomarker": "ERBB2_AMP"},
            ],
        },
    },
    {
        "key": "EX_HER2_LOW",
        "tree": {
            "op": "OR",
            "args": [
                {"biomarker": "ERBB2_IHC", "threshold": "HER2_IHC_1"},
                {
                    "op": "AND",
                    "args": [
                        {"biomarker": "ERBB2_IHC", "threshold": "HER2_IHC_2"},
                        {"biomarker": "ERBB2_ISH", "threshold": "HER2_ISH_LT_2"},
                    ],
                },
            ],
        },
    },
    {"key": "EX_HER2_IHC_3", "tree": {"biomarker": "ERBB2_IHC", "threshold": "HER2_IHC_3"}},
    {
        "key": "EX_HER2_IHC_2_OR_3",
        "tree": {"biomarker": "ERBB2_IHC", "threshold": "HER2_IHC_2_OR_3"},
    },
    {"key": "EX_ERBB2_MUTATION", "tree": {"biomarker": "ERBB2_ACTIVATING"}},
    # Immunotherapy biomarkers
    {"key": "EX_TMB_HIGH", "tree": {"biomarker": "TMB_HIGH", "threshold": "TMB_10"}},
    {
        "key": "EX_MSI_H_OR_DMMR",
        "tree": {"op": "OR", "args": [{"biomarker": "MSI_HIGH"}, {"biomarker": "MMR_DEFICIENT"}]},
    },
    {"key": "EX_DMMR", "tree": {"biomarker": "MMR_DEFICIENT"}},
    {
        "key": "EX_PDL1_TPS_50_NO_DRIVER",
        "tree": {
            "op": "AND",
            "args": [
                {"biomarker": "CD274_IHC", "threshold": "PDL1_TPS_50"},
                {
                    "op": "NOT",
                    "args": [
                        {
                            "op": "OR",
                            "args": [
                                {"biomarker": "EGFR_EX19DEL"},
                                {"biomarker": "EGFR_L858R"},
                                {"biomarker": "ALK_FUSION"},
                            ],
                        }
                    ],
                },
            ],
        },
    },
    {
        "key": "EX_PDL1_TPS_1_NO_DRIVER",
        "tree": {
            "op": "AND",
            "args": [
                {"biomarker": "CD274_IHC", "threshold": "PDL1_TPS_1"},
                {
                    "op": "NOT",
                    "args": [
                        {
                            "op": "OR",
                            "args": [
                                {"biomarker": "EGFR_EX19DEL"},
                                {"biomarker": "EGFR_L858R"},
                                {"biomarker": "ALK_FUSION"},
                            ],
                        }
                    ],
                },
            ],
        },
    },
    {
        "key": "EX_PDL1_CPS_10_HER2_NEGATIVE",
        "tree": {
            "op": "AND",
            "args": [
                {"biomarker": "CD274_IHC", "threshold": "PDL1_CPS_10"},
                {
                    "op": "NOT",
                    "args": [
                        {
                            "op": "OR",
                            "args": [
                                {"biomarker": "ERBB2_IHC", "threshold": "HER2_IHC_3"},
                                {
                                    "op": "AND",
                                    "args": [
                                        {"biomarker": "ERBB2_IHC", "threshold": "HER2_IHC_2"},
                                        {"biomarker": "ERBB2_ISH", "threshold": "HER2_ISH_2"},
                                    ],
                                },
                            ],
                        }
                    ],
                },
            ],
        },
    },
    # BRCA1 / BRCA2
    {
        "key": "EX_GERMLINE_BRCA",
        "tree": {
            "op": "OR",
            "args": [{"biomarker": "BRCA1_GERMLINE"}, {"biomarker": "BRCA2_GERMLINE"}],
        },
    },
    {
        "key": "EX_GERMLINE_BRCA_HER2_NEGATIVE",
        "tree": {
            "op": "AND",
            "args": [
                {
                    "op": "OR",
                    "args": [{"biomarker": "BRCA1_GERMLINE"}, {"biomarker": "BRCA2_GERMLINE"}],
                },
                {
                    "op": "NOT",
                    "args": [
                        {
                            "op": "OR",
                            "args": [
                                {"biomarker": "ERBB2_IHC", "threshold": "HER2_IHC_3"},
                                {
                                    "op": "AND",
                                    "args": [
                                        {"biomarker": "ERBB2_IHC", "threshold": "HER2_IHC_2"},
                                        {"biomarker": "ERBB2_ISH", "threshold": "HER2_ISH_2"},
                                    ],
                                },
                            ],
                        }
                    ],
                },
            ],
        },
    },
    {
        "key": "EX_BRCA_ANY_ORIGIN",
        "tree": {
            "op": "OR",
            "args": [
                {"biomarker": "BRCA1_GERMLINE"},
                {"biomarker": "BRCA2_GERMLINE"},
                {"biomarker": "BRCA1_SOMATIC"},
                {"biomarker": "BRCA2_SOMATIC"},
            ],
        },
    },
    # PIK3CA
    {
        "key": "EX_PIK3CA_HER2_NEGATIVE",
        "tree": {
            "op": "AND",
            "args": [
                {"biomarker": "PIK3CA_ACTIVATING"},
                {
                    "op": "NOT",
                    "args": [
                        {
                            "op": "OR",
                            "args": [
                                {"biomarker": "ERBB2_IHC", "threshold": "HER2_IHC_3"},
                                {
                                    "op": "AND",
                                    "args": [
                                        {"biomarker": "ERBB2_IHC", "threshold": "HER2_IHC_2"},
                                        {"biomarker": "ERBB2_ISH", "threshold": "HER2_ISH_2"},
                                    ],
                                },
                            ],
                        }
                    ],
                },
            ],
        },
    },
    # Haematology
    {"key": "EX_IDH1_R132", "tree": {"biomarker": "IDH1_R132"}},
    {"key": "EX_FLT3_MUTATION", "tree": {"biomarker": "FLT3_ACTIVATING"}},
    # GIST
    {
        "key": "EX_KIT_GIST",
        "tree": {"op": "OR", "args": [{"biomarker": "KIT_IHC"}, {"biomarker": "KIT_ONCOGENIC"}]},
    },
    {"key": "EX_PDGFRA_EX18", "tree": {"biomarker": "PDGFRA_EX18"}},
]


# --- Drugs (NCIt codes only where confirmed) ------------------------------------------------------

DRUGS: list[dict[str, Any]] = [
    # Targeted small molecules
    {"key": "OSIMERTINIB", "name": "osimertinib", "ncit_code": "C116377"},
    {"key": "ALECTINIB", "name": "alectinib", "ncit_code": "C101790"},
    {"key": "LORLATINIB", "name": "lorlatinib", "ncit_code": "C113655"},
    {"key": "CRIZOTINIB", "name": "crizotinib", "ncit_code": "C74061"},
    {"key": "ENTRECTINIB", "name": "entrectinib", "ncit_code": "C114984"},
    {"key": "LAROTRECTINIB", "name": "larotrectinib", "ncit_code": "C115977"},
    {"key": "SELPERCATINIB", "name": "selpercatinib", "ncit_code": "C134987"},
    {"key": "CAPMATINIB", "name": "capmatinib", "ncit_code": "C90564"},
    {"key": "TEPOTINIB", "name": "tepotinib"},
    {"key": "DABRAFENIB", "name": "dabrafenib", "ncit_code": "C82386"},
    {"key": "TRAMETINIB", "name": "trametinib", "ncit_code": "C77908"},
    {"key": "ENCORAFENIB", "name": "encorafenib", "ncit_code": "C98283"},
    {"key": "SOTORASIB", "name": "sotorasib", "ncit_code": "C154287"},
    {"key": "ADAGRASIB", "name": "adagrasib"},
    {"key": "OLAPARIB", "name": "olaparib", "ncit_code": "C71721"},
    {"key": "ALPELISIB", "name": "alpelisib", "ncit_code": "C94214"},
    {"key": "IVOSIDENIB", "name": "ivosidenib", "ncit_code": "C114383"},
    {"key": "MIDOSTAURIN", "name": "midostaurin", "ncit_code": "C1872"},
    {"key": "GILTERITINIB", "name": "gilteritinib", "ncit_code": "C116722"},
    {"key": "IMATINIB", "name": "imatinib", "ncit_code": "C62035"},
    {"key": "AVAPRITINIB", "name": "avapritinib", "ncit_code": "C123827"},
    # Antibodies and antibody-drug conjugates
    {"key": "AMIVANTAMAB", "name": "amivantamab"},
    {"key": "CETUXIMAB", "name": "cetuximab", "ncit_code": "C1723"},
    {"key": "PANITUMUMAB", "name": "panitumumab", "ncit_code": "C1857"},
    {"key": "TRASTUZUMAB", "name": "trastuzumab", "ncit_code": "C1647"},
    {"key": "TRASTUZUMAB_DERUXTECAN", "name": "trastuzumab deruxtecan", "ncit_code": "C128799"},
    {"key": "PEMBROLIZUMAB", "name": "pembrolizumab", "ncit_code": "C106432"},
    {"key": "NIVOLUMAB", "name": "nivolumab", "ncit_code": "C68814"},
    {"key": "DOSTARLIMAB", "name": "dostarlimab"},
    # Chemotherapy and endocrine partners
    {"key": "CARBOPLATIN", "name": "carboplatin"},
    {"key": "CISPLATIN", "name": "cisplatin", "ncit_code": "C376"},
    {"key": "PEMETREXED", "name": "pemetrexed"},
    {"key": "CAPECITABINE", "name": "capecitabine"},
    {"key": "PACLITAXEL", "name": "paclitaxel"},
    {"key": "CYTARABINE", "name": "cytarabine"},
    {"key": "DAUNORUBICIN", "name": "daunorubicin"},
    {"key": "FULVESTRANT", "name": "fulvestrant", "ncit_code": "C1379"},
]


# --- Therapies ------------------------------------------------------------------------------------

THERAPIES: list[dict[str, Any]] = [
    # Lung-focused targeted therapy
    {
        "key": "TX_OSIMERTINIB",
        "name": "Osimertinib",
        "drugs": ["OSIMERTINIB"],
        "combination": "monotherapy",
    },
    {
        "key": "TX_AMIVANTAMAB",
        "name": "Amivantamab",
        "drugs": ["AMIVANTAMAB"],
        "combination": "monotherapy",
    },
    {
        "key": "TX_AMIVANTAMAB_CARBO_PEM",
        "name": "Amivantamab + Carboplatin + Pemetrexed",
        "drugs": ["AMIVANTAMAB", "CARBOPLATIN", "PEMETREXED"],
        "combination": "combination",
    },
    {
        "key": "TX_ALECTINIB",
        "name": "Alectinib",
        "drugs": ["ALECTINIB"],
        "combination": "monotherapy",
    },
    {
        "key": "TX_LORLATINIB",
        "name": "Lorlatinib",
        "drugs": ["LORLATINIB"],
        "combination": "monotherapy",
    },
    {
        "key": "TX_CRIZOTINIB",
        "name": "Crizotinib",
        "drugs": ["CRIZOTINIB"],
        "combination": "monotherapy",
    },
    {
        "key": "TX_ENTRECTINIB",
        "name": "Entrectinib",
        "drugs": ["ENTRECTINIB"],
        "combination": "monotherapy",
    },
    {
        "key": "TX_CAPMATINIB",
        "name": "Capmatinib",
        "drugs": ["CAPMATINIB"],
        "combination": "monotherapy",
    },
    {
        "key": "TX_TEPOTINIB",
        "name": "Tepotinib",
        "drugs": ["TEPOTINIB"],
        "combination": "monotherapy",
    },
    {
        "key": "TX_SOTORASIB",
        "name": "Sotorasib",
        "drugs": ["SOTORASIB"],
        "combination": "monotherapy",
    },
    {
        "key": "TX_ADAGRASIB",
        "name": "Adagrasib",
        "drugs": ["ADAGRASIB"],
        "combination": "monotherapy",
    },
    # Tumour-agnostic kinase inhibitors
    {
        "key": "TX_LAROTRECTINIB",
        "name": "Larotrectinib",
        "drugs": ["LAROTRECTINIB"],
        "combination": "monotherapy",
    },
    {
        "key": "TX_SELPERCATINIB",
        "name": "Selpercatinib",
        "drugs": ["SELPERCATINIB"],
        "combination": "monotherapy",
    },
    # BRAF / MEK and anti-EGFR antibodies
    {
        "key": "TX_DABRAFENIB_TRAMETINIB",
        "name": "Dabrafenib + Trametinib",
        "drugs": ["DABRAFENIB", "TRAMETINIB"],
        "combination": "combination",
    },
    {
        "key": "TX_ENCORAFENIB_CETUXIMAB",
        "name": "Encorafenib + Cetuximab",
        "drugs": ["ENCORAFENIB", "CETUXIMAB"],
        "combination": "combination",
    },
    {
        "key": "TX_ADAGRASIB_CETUXIMAB",
        "name": "Adagrasib + Cetuximab",
        "drugs": ["ADAGRASIB", "CETUXIMAB"],
        "combination": "combination",
    },
    {
        "key": "TX_CETUXIMAB",
        "name": "Cetuximab",
        "drugs": ["CETUXIMAB"],
        "combination": "monotherapy",
    },
    {
        "key": "TX_PANITUMUMAB",
        "name": "Panitumumab",
        "drugs": ["PANITUMUMAB"],
        "combination": "monotherapy",
    },
    # HER2-directed
    {
        "key": "TX_TRASTUZUMAB",
        "name": "Trastuzumab",
        "drugs": ["TRASTUZUMAB"],
        "combination": "monotherapy",
    },
    {
        "key": "TX_TRASTUZUMAB_CIS_CAPE",
        "name": "Trastuzumab + Cisplatin + Capecitabine",
        "drugs": ["TRASTUZUMAB", "CISPLATIN", "CAPECITABINE"],
        "combination": "combination",
    },
    {
        "key": "TX_TRASTUZUMAB_DERUXTECAN",
        "name": "Trastuzumab deruxtecan",
        "drugs": ["TRASTUZUMAB_DERUXTECAN"],
        "combination": "monotherapy",
    },
    # Immune checkpoint inhibitors
    {
        "key": "TX_PEMBROLIZUMAB",
        "name": "Pembrolizumab",
        "drugs": ["PEMBROLIZUMAB"],
        "combination": "monotherapy",
    },
    {
        "key": "TX_PEMBROLIZUMAB_PACLITAXEL",
        "name": "Pembrolizumab + Paclitaxel",
        "drugs": ["PEMBROLIZUMAB", "PACLITAXEL"],
        "combination": "combination",
    },
    {
        "key": "TX_NIVOLUMAB",
        "name": "Nivolumab",
        "drugs": ["NIVOLUMAB"],
        "combination": "monotherapy",
    },
    {
        "key": "TX_DOSTARLIMAB",
        "name": "Dostarlimab",
        "drugs": ["DOSTARLIMAB"],
        "combination": "monotherapy",
    },
    # PARP and PI3K inhibitors
    {"key": "TX_OLAPARIB", "name": "Olaparib", "drugs": ["OLAPARIB"], "combination": "monotherapy"},
    {
        "key": "TX_ALPELISIB_FULVESTRANT",
        "name": "Alpelisib + Fulvestrant",
        "drugs": ["ALPELISIB", "FULVESTRANT"],
        "combination": "combination",
    },
    # Haematology and GIST
    {
        "key": "TX_IVOSIDENIB",
        "name": "Ivosidenib",
        "drugs": ["IVOSIDENIB"],
        "combination": "monotherapy",
    },
    {
        "key": "TX_MIDOSTAURIN_7_3",
        "name": "Midostaurin + Cytarabine + Daunorubicin",
        "drugs": ["MIDOSTAURIN", "CYTARABINE", "DAUNORUBICIN"],
        "combination": "combination",
    },
    {
        "key": "TX_GILTERITINIB",
        "name": "Gilteritinib",
        "drugs": ["GILTERITINIB"],
        "combination": "monotherapy",
    },
    {"key": "TX_IMATINIB", "name": "Imatinib", "drugs": ["IMATINIB"], "combination": "monotherapy"},
    {
        "key": "TX_AVAPRITINIB",
        "name": "Avapritinib",
        "drugs": ["AVAPRITINIB"],
        "combination": "monotherapy",
    },
]


# --- Citations ------------------------------------------------------------------------------------

CITATIONS: list[dict[str, Any]] = [
    # FDA labels
    {
        "key": "LABEL_TAGRISSO",
        "kind": "fda_label",
        "identifier": "TAGRISSO (osimertinib) label",
        "title": "TAGRISSO (osimertinib) US prescribing information",
        "accessed": "2026-11-01",
    },
    {
        "key": "LABEL_RYBREVANT",
        "kind": "fda_label",
        "identifier": "RYBREVANT (amivantamab-vmjw) label",
        "title": "RYBREVANT (amivantamab-vmjw) US prescribing information",
        "accessed": "2026-11-01",
    },
    {
        "key": "LABEL_ALECENSA",
        "kind": "fda_label",
        "identifier": "ALECENSA (alectinib) label",
        "title": "ALECENSA (alectinib) US prescribing information",
        "accessed": "2026-11-01",
    },
    {
        "key": "LABEL_LORBRENA",
        "kind": "fda_label",
        "identifier": "LORBRENA (lorlatinib) label",
        "title": "LORBRENA (lorlatinib) US prescribing information",
        "accessed": "2026-11-01",
    },
    {
        "key": "LABEL_XALKORI",
        "kind": "fda_label",
        "identifier": "XALKORI (crizotinib) label",
        "title": "XALKORI (crizotinib) US prescribing information",
        "accessed": "2026-11-01",
    },
    {
        "key": "LABEL_ROZLYTREK",
        "kind": "fda_label",
        "identifier": "ROZLYTREK (entrectinib) label",
        "title": "ROZLYTREK (entrectinib) US prescribing information",
        "accessed": "2026-11-01",
    },
    {
        "key": "LABEL_VITRAKVI",
        "kind": "fda_label",
        "identifier": "VITRAKVI (larotrectinib) label",
        "title": "VITRAKVI (larotrectinib) US prescribing information",
        "accessed": "2026-11-01",
    },
    {
        "key": "LABEL_RETEVMO",
        "kind": "fda_label",
        "identifier": "RETEVMO (selpercatinib) label",
        "title": "RETEVMO (selpercatinib) US prescribing information",
        "accessed": "2026-11-01",
    },
    {
        "key": "LABEL_TABRECTA",
        "kind": "fda_label",
        "identifier": "TABRECTA (capmatinib) label",
        "title": "TABRECTA (capmatinib) US prescribing information",
        "accessed": "2026-11-01",
    },
    {
        "key": "LABEL_TEPMETKO",
        "kind": "fda_label",
        "identifier": "TEPMETKO (tepotinib) label",
        "title": "TEPMETKO (tepotinib) US prescribing information",
        "accessed": "2026-11-01",
    },
    {
        "key": "LABEL_TAFINLAR",
        "kind": "fda_label",
        "identifier": "TAFINLAR (dabrafenib) label",
        "title": "TAFINLAR (dabrafenib) US prescribing information",
        "accessed": "2026-11-01",
    },
    {
        "key": "LABEL_MEKINIST",
        "kind": "fda_label",
        "identifier": "MEKINIST (trametinib) label",
        "title": "MEKINIST (trametinib) US prescribing information",
        "accessed": "2026-11-01",
    },
    {
        "key": "LABEL_BRAFTOVI",
        "kind": "fda_label",
        "identifier": "BRAFTOVI (encorafenib) label",
        "title": "BRAFTOVI (encorafenib) US prescribing information",
        "accessed": "2026-11-01",
    },
    {
        "key": "LABEL_LUMAKRAS",
        "kind": "fda_label",
        "identifier": "LUMAKRAS (sotorasib) label",
        "title": "LUMAKRAS (sotorasib) US prescribing information",
        "accessed": "2026-11-01",
    },
    {
        "key": "LABEL_KRAZATI",
        "kind": "fda_label",
        "identifier": "KRAZATI (adagrasib) label",
        "title": "KRAZATI (adagrasib) US prescribing information",
        "accessed": "2026-11-01",
    },
    {
        "key": "LABEL_ERBITUX",
        "kind": "fda_label",
        "identifier": "ERBITUX (cetuximab) label",
        "title": "ERBITUX (cetuximab) US prescribing information",
        "accessed": "2026-11-01",
    },
    {
        "key": "LABEL_VECTIBIX",
        "kind": "fda_label",
        "identifier": "VECTIBIX (panitumumab) label",
        "title": "VECTIBIX (panitumumab) US prescribing information",
        "accessed": "2026-11-01",
    },
    {
        "key": "LABEL_HERCEPTIN",
        "kind": "fda_label",
        "identifier": "HERCEPTIN (trastuzumab) label",
        "title": "HERCEPTIN (trastuzumab) US prescribing information",
        "accessed": "2026-11-01",
    },
    {
        "key": "LABEL_ENHERTU",
        "kind": "fda_label",
        "identifier": "ENHERTU (fam-trastuzumab deruxtecan-nxki) label",
        "title": "ENHERTU (fam-trastuzumab deruxtecan-nxki) US prescribing information",
        "accessed": "2026-11-01",
    },
    {
        "key": "LABEL_KEYTRUDA",
        "kind": "fda_label",
        "identifier": "KEYTRUDA (pembrolizumab) label",
        "title": "KEYTRUDA (pembrolizumab) US prescribing information",
        "accessed": "2026-11-01",
    },
    {
        "key": "LABEL_JEMPERLI",
        "kind": "fda_label",
        "identifier": "JEMPERLI (dostarlimab-gxly) label",
        "title": "JEMPERLI (dostarlimab-gxly) US prescribing information",
        "accessed": "2026-11-01",
    },
    {
        "key": "LABEL_LYNPARZA",
        "kind": "fda_label",
        "identifier": "LYNPARZA (olaparib) label",
        "title": "LYNPARZA (olaparib) US prescribing information",
        "accessed": "2026-11-01",
    },
    {
        "key": "LABEL_PIQRAY",
        "kind": "fda_label",
        "identifier": "PIQRAY (alpelisib) label",
        "title": "PIQRAY (alpelisib) US prescribing information",
        "accessed": "2026-11-01",
    },
    {
        "key": "LABEL_TIBSOVO",
        "kind": "fda_label",
        "identifier": "TIBSOVO (ivosidenib) label",
        "title": "TIBSOVO (ivosidenib) US prescribing information",
        "accessed": "2026-11-01",
    },
    {
        "key": "LABEL_RYDAPT",
        "kind": "fda_label",
        "identifier": "RYDAPT (midostaurin) label",
        "title": "RYDAPT (midostaurin) US prescribing information",
        "accessed": "2026-11-01",
    },
    {
        "key": "LABEL_XOSPATA",
        "kind": "fda_label",
        "identifier": "XOSPATA (gilteritinib) label",
        "title": "XOSPATA (gilteritinib) US prescribing information",
        "accessed": "2026-11-01",
    },
    {
        "key": "LABEL_GLEEVEC",
        "kind": "fda_label",
        "identifier": "GLEEVEC (imatinib mesylate) label",
        "title": "GLEEVEC (imatinib mesylate) US prescribing information",
        "accessed": "2026-11-01",
    },
    {
        "key": "LABEL_AYVAKIT",
        "kind": "fda_label",
        "identifier": "AYVAKIT (avapritinib) label",
        "title": "AYVAKIT (avapritinib) US prescribing information",
        "accessed": "2026-11-01",
    },
    # Publications
    {
        "key": "PMID_FLAURA",
        "kind": "pmid",
        "identifier": "29151359",
        "title": "Osimertinib in untreated EGFR-mutated advanced NSCLC (FLAURA)",
        "url": "https://pubmed.ncbi.nlm.nih.gov/29151359/",
        "accessed": "2026-11-01",
    },
    {
        "key": "PMID_ADAURA",
        "kind": "pmid",
        "identifier": "32955177",
        "title": "Osimertinib in resected EGFR-mutated NSCLC (ADAURA)",
        "url": "https://pubmed.ncbi.nlm.nih.gov/32955177/",
        "accessed": "2026-11-01",
    },
    {
        "key": "PMID_KEYNOTE024",
        "kind": "pmid",
        "identifier": "27718847",
        "title": "Pembrolizumab versus chemotherapy for PD-L1-positive NSCLC",
        "url": "https://pubmed.ncbi.nlm.nih.gov/27718847/",
        "accessed": "2026-11-01",
    },
    {
        "key": "PMID_LE_2015",
        "kind": "pmid",
        "identifier": "26028255",
        "title": "PD-1 blockade in tumors with mismatch-repair deficiency",
        "url": "https://pubmed.ncbi.nlm.nih.gov/26028255/",
        "accessed": "2026-11-01",
    },
    {
        "key": "PMID_KEYNOTE158_TMB",
        "kind": "pmid",
        "identifier": "32919526",
        "title": "Tumour mutational burden and pembrolizumab outcomes in KEYNOTE-158",
        "url": "https://pubmed.ncbi.nlm.nih.gov/32919526/",
        "accessed": "2026-11-01",
    },
    {
        "key": "PMID_KEYNOTE158_MSI",
        "kind": "pmid",
        "identifier": "31682550",
        "title": "Pembrolizumab in MSI-H/dMMR non-colorectal cancer (KEYNOTE-158)",
        "url": "https://pubmed.ncbi.nlm.nih.gov/31682550/",
        "accessed": "2026-11-01",
    },
    {
        "key": "PMID_LAROTRECTINIB",
        "kind": "pmid",
        "identifier": "29466156",
        "title": "Larotrectinib in TRK fusion-positive cancers in adults and children",
        "url": "https://pubmed.ncbi.nlm.nih.gov/29466156/",
        "accessed": "2026-11-01",
    },
    {
        "key": "PMID_LIBRETTO001",
        "kind": "pmid",
        "identifier": "32846060",
        "title": "Selpercatinib in RET fusion-positive NSCLC (LIBRETTO-001)",
        "url": "https://pubmed.ncbi.nlm.nih.gov/32846060/",
        "accessed": "2026-11-01",
    },
    {
        "key": "PMID_DESTINY_BREAST04",
        "kind": "pmid",
        "identifier": "35665782",
        "title": "Trastuzumab deruxtecan in HER2-low advanced breast cancer",
        "url": "https://pubmed.ncbi.nlm.nih.gov/35665782/",
        "accessed": "2026-11-01",
    },
    {
        "key": "PMID_DESTINY_PANTUMOR02",
        "kind": "pmid",
        "identifier": "37870536",
        "title": "Trastuzumab deruxtecan in HER2-expressing solid tumours",
        "url": "https://pubmed.ncbi.nlm.nih.gov/37870536/",
        "accessed": "2026-11-01",
    },
]


# --- Regulatory approvals (FDA) -------------------------------------------------------------------

APPROVALS: list[dict[str, Any]] = [
    # EGFR
    {
        "key": "AP_OSI_T790M",
        "therapy": "TX_OSIMERTINIB",
        "agency": "FDA",
        "date": "2015-11-13",
        "indication": ("EGFR T790M-positive metastatic NSCLC progressing on or after an EGFR TKI."),
        "cdx": "cobas EGFR Mutation Test v2",
        "citation": "LABEL_TAGRISSO",
    },
    {
        "key": "AP_OSI_1L",
        "therapy": "TX_OSIMERTINIB",
        "agency": "FDA",
        "date": "2018-04-18",
        "indication": "First-line metastatic NSCLC with EGFR exon 19 deletion or L858R.",
        "cdx": "cobas EGFR Mutation Test v2",
        "citation": "LABEL_TAGRISSO",
    },
    {
        "key": "AP_OSI_ADJ",
        "therapy": "TX_OSIMERTINIB",
        "agency": "FDA",
        "date": "2020-12-18",
        "indication": (
            "Adjuvant therapy after resection of NSCLC with EGFR exon 19 deletion or L858R."
        ),
        "cdx": "cobas EGFR Mutation Test v2",
        "citation": "LABEL_TAGRISSO",
    },
    {
        "key": "AP_OSI_STAGE3",
        "therapy": "TX_OSIMERTINIB",
        "agency": "FDA",
        "date": "2024-09-25",
        "indication": (
            "Unresectable stage III EGFR-mutated NSCLC without progression after platinum "
            "chemoradiation."
        ),
        "cdx": None,
        "citation": "LABEL_TAGRISSO",
    },
    {
        "key": "AP_AMI_EX20",
        "therapy": "TX_AMIVANTAMAB",
        "agency": "FDA",
        "date": "2021-05-21",
        "indication": (
            "EGFR exon 20 insertion NSCLC progressing on or after platinum chemotherapy."
        ),
        "cdx": "Guardant360 CDx",
        "citation": "LABEL_RYBREVANT",
    },
    {
        "key": "AP_AMI_CHEMO_EX20",
        "therapy": "TX_AMIVANTAMAB_CARBO_PEM",
        "agency": "FDA",
        "date": "2024-03-01",
        "indication": ("First-line EGFR exon 20 insertion NSCLC, with carboplatin and pemetrexed."),
        "cdx": None,
        "citation": "LABEL_RYBREVANT",
    },
    # ALK / ROS1
    {
        "key": "AP_ALECTINIB_1L",
        "therapy": "TX_ALECTINIB",
        "agency": "FDA",
        "date": "2017-11-06",
        "indication": "ALK-positive metastatic NSCLC, including first line.",
        "cdx": "VENTANA ALK (D5F3) CDx Assay",
        "citation": "LABEL_ALECENSA",
    },
    {
        "key": "AP_ALECTINIB_ADJ",
        "therapy": "TX_ALECTINIB",
        "agency": "FDA",
        "date": "2024-04-18",
        "indication": (
            "Adjuvant therapy after resection of ALK-positive NSCLC (tumour >= 4 cm or "
            "node-positive)."
        ),
        "cdx": None,
        "citation": "LABEL_ALECENSA",
    },
    {
        "key": "AP_LORLATINIB_1L",
        "therapy": "TX_LORLATINIB",
        "agency": "FDA",
        "date": "2021-03-03",
        "indication": "ALK-positive metastatic NSCLC, including first line.",
        "cdx": "VENTANA ALK (D5F3) CDx Assay",
        "citation": "LABEL_LORBRENA",
    },
    {
        "key": "AP_CRIZOTINIB_ROS1",
        "therapy": "TX_CRIZOTINIB",
        "agency": "FDA",
        "date": "2016-03-11",
        "indication": "Metastatic ROS1-positive NSCLC.",
        "cdx": "Oncomine Dx Target Test",
        "citation": "LABEL_XALKORI",
    },
    {
        "key": "AP_ENTRECTINIB",
        "therapy": "TX_ENTRECTINIB",
        "agency": "FDA",
        "date": "2019-08-15",
        "indication": "ROS1-positive metastatic NSCLC, and NTRK fusion-positive solid tumours.",
        "cdx": None,
        "citation": "LABEL_ROZLYTREK",
    },
    # BRAF
    {
        "key": "AP_DT_MEL",
        "therapy": "TX_DABRAFENIB_TRAMETINIB",
        "agency": "FDA",
        "date": "2014-01-01",
        "indication": "Unresectable or metastatic melanoma with BRAF V600E or V600K.",
        "cdx": "THxID BRAF Kit",
        "citation": "LABEL_MEKINIST",
    },
    {
        "key": "AP_DT_NSCLC",
        "therapy": "TX_DABRAFENIB_TRAMETINIB",
        "agency": "FDA",
        "date": "2017-06-22",
        "indication": "Metastatic NSCLC with BRAF V600E.",
        "cdx": "Oncomine Dx Target Test",
        "citation": "LABEL_TAFINLAR",
    },
    {
        "key": "AP_DT_MEL_ADJ",
        "therapy": "TX_DABRAFENIB_TRAMETINIB",
        "agency": "FDA",
        "date": "2018-04-30",
        "indication": (
            "Adjuvant therapy of resected node-positive melanoma with BRAF V600E or V600K."
        ),
        "cdx": "THxID BRAF Kit",
        "citation": "LABEL_TAFINLAR",
    },
    {
        "key": "AP_DT_ATC",
        "therapy": "TX_DABRAFENIB_TRAMETINIB",
        "agency": "FDA",
        "date": "2018-05-04",
        "indication": (
            "BRAF V600E anaplastic thyroid cancer without satisfactory locoregional options."
        ),
        "cdx": None,
        "citation": "LABEL_TAFINLAR",
    },
    {
        "key": "AP_DT_AGNOSTIC",
        "therapy": "TX_DABRAFENIB_TRAMETINIB",
        "agency": "FDA",
        "date": "2022-06-22",
        "indication": (
            "Pretreated unresectable or metastatic BRAF V600E solid tumours (not colorectal)."
        ),
        "cdx": None,
        "citation": "LABEL_TAFINLAR",
    },
    {
        "key": "AP_ENCO_CETUX_CRC",
        "therapy": "TX_ENCORAFENIB_CETUXIMAB",
        "agency": "FDA",
        "date": "2020-04-08",
        "indication": "Previously treated metastatic colorectal cancer with BRAF V600E.",
        "cdx": "therascreen BRAF V600E RGQ PCR Kit",
        "citation": "LABEL_BRAFTOVI",
    },
    # KRAS G12C
    {
        "key": "AP_SOTORASIB",
        "therapy": "TX_SOTORASIB",
        "agency": "FDA",
        "date": "2021-05-28",
        "indication": "KRAS G12C NSCLC after at least one prior systemic therapy.",
        "cdx": "therascreen KRAS RGQ PCR Kit; Guardant360 CDx",
        "citation": "LABEL_LUMAKRAS",
    },
    {
        "key": "AP_ADAGRASIB",
        "therapy": "TX_ADAGRASIB",
        "agency": "FDA",
        "date": "2022-12-12",
        "indication": "KRAS G12C NSCLC after at least one prior systemic therapy.",
        "cdx": None,
        "citation": "LABEL_KRAZATI",
    },
    {
        "key": "AP_ADAGRASIB_CETUX",
        "therapy": "TX_ADAGRASIB_CETUXIMAB",
        "agency": "FDA",
        "date": "2024-06-21",
        "indication": (
            "KRAS G12C colorectal cancer after fluoropyrimidine, oxaliplatin and irinotecan "
            "chemotherapy."
        ),
        "cdx": None,
        "citation": "LABEL_KRAZATI",
    },
    # NTRK, RET, MET
    {
        "key": "AP_LAROTRECTINIB",
        "therapy": "TX_LAROTRECTINIB",
        "agency": "FDA",
        "date": "2018-11-26",
        "indication": (
            "NTRK fusion solid tumours (adult and paediatric) without satisfactory alternatives."
        ),
        "cdx": None,
        "citation": "LABEL_VITRAKVI",
    },
    {
        "key": "AP_SELPERCATINIB",
        "therapy": "TX_SELPERCATINIB",
        "agency": "FDA",
        "date": "2020-05-08",
        "indication": (
            "RET fusion NSCLC and thyroid cancer, and RET-mutant medullary thyroid cancer."
        ),
        "cdx": None,
        "citation": "LABEL_RETEVMO",
    },
    {
        "key": "AP_SELPERCATINIB_AGNOSTIC",
        "therapy": "TX_SELPERCATINIB",
        "agency": "FDA",
        "date": "2022-09-21",
        "indication": (
            "RET fusion-positive solid tumours after prior therapy or without satisfactory "
            "alternatives."
        ),
        "cdx": None,
        "citation": "LABEL_RETEVMO",
    },
    {
        "key": "AP_CAPMATINIB",
        "therapy": "TX_CAPMATINIB",
        "agency": "FDA",
        "date": "2020-05-06",
        "indication": "Metastatic NSCLC with MET exon 14 skipping.",
        "cdx": "FoundationOne CDx",
        "citation": "LABEL_TABRECTA",
    },
    {
        "key": "AP_TEPOTINIB",
        "therapy": "TX_TEPOTINIB",
        "agency": "FDA",
        "date": "2021-02-03",
        "indication": "Metastatic NSCLC with MET exon 14 skipping.",
        "cdx": None,
        "citation": "LABEL_TEPMETKO",
    },
    # ERBB2 (HER2)
    {
        "key": "AP_TRASTUZUMAB_BREAST",
        "therapy": "TX_TRASTUZUMAB",
        "agency": "FDA",
        "date": "1998-09-25",
        "indication": "HER2-overexpressing metastatic breast cancer.",
        "cdx": "HercepTest; PathVysion HER-2 DNA Probe Kit",
        "citation": "LABEL_HERCEPTIN",
    },
    {
        "key": "AP_TRASTUZUMAB_GASTRIC",
        "therapy": "TX_TRASTUZUMAB_CIS_CAPE",
        "agency": "FDA",
        "date": "2010-10-20",
        "indication": (
            "First-line HER2-overexpressing metastatic gastric or GEJ adenocarcinoma with "
            "cisplatin and a fluoropyrimidine."
        ),
        "cdx": "HercepTest; HER2 FISH pharmDx Kit",
        "citation": "LABEL_HERCEPTIN",
    },
    {
        "key": "AP_TDXD_HER2_LOW",
        "therapy": "TX_TRASTUZUMAB_DERUXTECAN",
        "agency": "FDA",
        "date": "2022-08-05",
        "indication": (
            "Unresectable or metastatic HER2-low breast cancer after prior chemotherapy."
        ),
        "cdx": "PATHWAY anti-HER-2/neu (4B5) Rabbit Monoclonal Primary Antibody",
        "citation": "LABEL_ENHERTU",
    },
    {
        "key": "AP_TDXD_NSCLC",
        "therapy": "TX_TRASTUZUMAB_DERUXTECAN",
        "agency": "FDA",
        "date": "2022-08-11",
        "indication": "Previously treated NSCLC with activating ERBB2 (HER2) mutations.",
        "cdx": "Oncomine Dx Target Test; Guardant360 CDx",
        "citation": "LABEL_ENHERTU",
    },
    {
        "key": "AP_TDXD_IHC3",
        "therapy": "TX_TRASTUZUMAB_DERUXTECAN",
        "agency": "FDA",
        "date": "2024-04-05",
        "indication": "Pretreated HER2 IHC 3+ solid tumours without satisfactory alternatives.",
        "cdx": None,
        "citation": "LABEL_ENHERTU",
    },
    # Immunotherapy
    {
        "key": "AP_PEMBRO_TPS50",
        "therapy": "TX_PEMBROLIZUMAB",
        "agency": "FDA",
        "date": "2016-10-24",
        "indication": (
            "First-line metastatic NSCLC with PD-L1 TPS >= 50% and no EGFR/ALK aberration."
        ),
        "cdx": "PD-L1 IHC 22C3 pharmDx",
        "citation": "LABEL_KEYTRUDA",
    },
    {
        "key": "AP_PEMBRO_MSI",
        "therapy": "TX_PEMBROLIZUMAB",
        "agency": "FDA",
        "date": "2017-05-23",
        "indication": ("Pretreated MSI-H or dMMR solid tumours without satisfactory alternatives."),
        "cdx": None,
        "citation": "LABEL_KEYTRUDA",
    },
    {
        "key": "AP_PEMBRO_TPS1",
        "therapy": "TX_PEMBROLIZUMAB",
        "agency": "FDA",
        "date": "2019-04-11",
        "indication": (
            "First-line stage III or metastatic NSCLC with PD-L1 TPS >= 1% and no EGFR/ALK "
            "aberration."
        ),
        "cdx": "PD-L1 IHC 22C3 pharmDx",
        "citation": "LABEL_KEYTRUDA",
    },
    {
        "key": "AP_PEMBRO_TMB",
        "therapy": "TX_PEMBROLIZUMAB",
        "agency": "FDA",
        "date": "2020-06-16",
        "indication": (
            "Pretreated TMB-high (>= 10 mut/Mb) solid tumours without satisfactory alternatives."
        ),
        "cdx": "FoundationOne CDx",
        "citation": "LABEL_KEYTRUDA",
    },
    {
        "key": "AP_PEMBRO_CRC_1L",
        "therapy": "TX_PEMBROLIZUMAB",
        "agency": "FDA",
        "date": "2020-06-29",
        "indication": "First-line unresectable or metastatic MSI-H or dMMR colorectal cancer.",
        "cdx": None,
        "citation": "LABEL_KEYTRUDA",
    },
    {
        "key": "AP_PEMBRO_TNBC",
        "therapy": "TX_PEMBROLIZUMAB_PACLITAXEL",
        "agency": "FDA",
        "date": "2020-11-13",
        "indication": (
            "With chemotherapy for recurrent unresectable or metastatic TNBC with PD-L1 CPS >= 10."
        ),
        "cdx": "PD-L1 IHC 22C3 pharmDx",
        "citation": "LABEL_KEYTRUDA",
    },
    {
        "key": "AP_DOSTARLIMAB",
        "therapy": "TX_DOSTARLIMAB",
        "agency": "FDA",
        "date": "2021-04-22",
        "indication": (
            "dMMR recurrent or advanced endometrial cancer after platinum chemotherapy."
        ),
        "cdx": "VENTANA MMR RxDx Panel",
        "citation": "LABEL_JEMPERLI",
    },
    # BRCA / PIK3CA
    {
        "key": "AP_OLAPARIB_BREAST",
        "therapy": "TX_OLAPARIB",
        "agency": "FDA",
        "date": "2018-01-12",
        "indication": (
            "Germline BRCA-mutated HER2-negative metastatic breast cancer after chemotherapy."
        ),
        "cdx": "BRACAnalysis CDx",
        "citation": "LABEL_LYNPARZA",
    },
    {
        "key": "AP_OLAPARIB_OVARY_1L",
        "therapy": "TX_OLAPARIB",
        "agency": "FDA",
        "date": "2018-12-19",
        "indication": (
            "Maintenance after first-line platinum response in BRCA-mutated advanced ovarian "
            "cancer."
        ),
        "cdx": "BRACAnalysis CDx",
        "citation": "LABEL_LYNPARZA",
    },
    {
        "key": "AP_OLAPARIB_PANCREAS",
        "therapy": "TX_OLAPARIB",
        "agency": "FDA",
        "date": "2019-12-27",
        "indication": (
            "Maintenance for germline BRCA-mutated metastatic pancreatic cancer after platinum."
        ),
        "cdx": "BRACAnalysis CDx",
        "citation": "LABEL_LYNPARZA",
    },
    {
        "key": "AP_OLAPARIB_PROSTATE",
        "therapy": "TX_OLAPARIB",
        "agency": "FDA",
        "date": "2020-05-19",
        "indication": "HRR gene-mutated mCRPC after enzalutamide or abiraterone.",
        "cdx": "FoundationOne CDx; BRACAnalysis CDx",
        "citation": "LABEL_LYNPARZA",
    },
    {
        "key": "AP_OLAPARIB_BREAST_ADJ",
        "therapy": "TX_OLAPARIB",
        "agency": "FDA",
        "date": "2022-03-11",
        "indication": (
            "Adjuvant therapy of high-risk germline BRCA-mutated HER2-negative early breast cancer."
        ),
        "cdx": "BRACAnalysis CDx",
        "citation": "LABEL_LYNPARZA",
    },
    {
        "key": "AP_ALPELISIB",
        "therapy": "TX_ALPELISIB_FULVESTRANT",
        "agency": "FDA",
        "date": "2019-05-24",
        "indication": (
            "PIK3CA-mutated HR-positive HER2-negative advanced breast cancer after endocrine "
            "therapy."
        ),
        "cdx": "therascreen PIK3CA RGQ PCR Kit",
        "citation": "LABEL_PIQRAY",
    },
    # Haematology and GIST
    {
        "key": "AP_IVOSIDENIB_RR",
        "therapy": "TX_IVOSIDENIB",
        "agency": "FDA",
        "date": "2018-07-20",
        "indication": "Relapsed or refractory AML with an IDH1 mutation.",
        "cdx": "Abbott RealTime IDH1",
        "citation": "LABEL_TIBSOVO",
    },
    {
        "key": "AP_IVOSIDENIB_ND",
        "therapy": "TX_IVOSIDENIB",
        "agency": "FDA",
        "date": "2019-05-02",
        "indication": (
            "Newly diagnosed IDH1-mutated AML in patients >= 75 years or unfit for intensive "
            "chemotherapy."
        ),
        "cdx": "Abbott RealTime IDH1",
        "citation": "LABEL_TIBSOVO",
    },
    {
        "key": "AP_IVOSIDENIB_CHOL",
        "therapy": "TX_IVOSIDENIB",
        "agency": "FDA",
        "date": "2021-08-25",
        "indication": (
            "Previously treated locally advanced or metastatic IDH1-mutated cholangiocarcinoma."
        ),
        "cdx": "Oncomine Dx Target Test",
        "citation": "LABEL_TIBSOVO",
    },
    {
        "key": "AP_MIDOSTAURIN",
        "therapy": "TX_MIDOSTAURIN_7_3",
        "agency": "FDA",
        "date": "2017-04-28",
        "indication": (
            "Newly diagnosed FLT3-mutated AML with cytarabine/daunorubicin induction and "
            "consolidation."
        ),
        "cdx": "LeukoStrat CDx FLT3 Mutation Assay",
        "citation": "LABEL_RYDAPT",
    },
    {
        "key": "AP_GILTERITINIB",
        "therapy": "TX_GILTERITINIB",
        "agency": "FDA",
        "date": "2018-11-28",
        "indication": "Relapsed or refractory FLT3-mutated AML.",
        "cdx": "LeukoStrat CDx FLT3 Mutation Assay",
        "citation": "LABEL_XOSPATA",
    },
    {
        "key": "AP_IMATINIB_CML",
        "therapy": "TX_IMATINIB",
        "agency": "FDA",
        "date": "2001-05-10",
        "indication": "Philadelphia chromosome-positive chronic myeloid leukaemia.",
        "cdx": None,
        "citation": "LABEL_GLEEVEC",
    },
    {
        "key": "AP_IMATINIB_GIST",
        "therapy": "TX_IMATINIB",
        "agency": "FDA",
        "date": "2002-02-01",
        "indication": "KIT (CD117)-positive unresectable or metastatic GIST.",
        "cdx": None,
        "citation": "LABEL_GLEEVEC",
    },
    {
        "key": "AP_IMATINIB_GIST_ADJ",
        "therapy": "TX_IMATINIB",
        "agency": "FDA",
        "date": "2008-12-19",
        "indication": "Adjuvant therapy after resection of KIT (CD117)-positive GIST.",
        "cdx": None,
        "citation": "LABEL_GLEEVEC",
    },
    {
        "key": "AP_AVAPRITINIB",
        "therapy": "TX_AVAPRITINIB",
        "agency": "FDA",
        "date": "2020-01-09",
        "indication": (
            "Unresectable or metastatic GIST with a PDGFRA exon 18 mutation, including D842V."
        ),
        "cdx": None,
        "citation": "LABEL_AYVAKIT",
    },
]


# --- Assertions -----------------------------------------------------------------------------------

ASSERTIONS: list[dict[str, Any]] = [
    # EGFR (osimertinib, amivantamab)
    {
        "key": "AS_OSI_EGFR_1L",
        "expression": "EX_EGFR_SENSITISING",
        "therapy": "TX_OSIMERTINIB",
        "tumour_types": ["NSCLC"],
        "implication": "sensitive",
        "evidence_level": "1",
        "line_of_therapy": "first_line",
        "specimen": "tissue_or_plasma",
        "cdx": "cobas EGFR Mutation Test v2",
        "confirmatory_test": (
            "If no mutation is found in plasma, test tumour tissue where feasible."
        ),
        "description": (
            "Osimertinib is approved as initial treatment for metastatic NSCLC carrying an "
            "EGFR exon 19 deletion or the L858R substitution."
        ),
        "citations": ["LABEL_TAGRISSO", "PMID_FLAURA"],
    },
    {
        "key": "AS_OSI_EGFR_ADJ",
        "expression": "EX_EGFR_SENSITISING",
        "therapy": "TX_OSIMERTINIB",
        "tumour_types": ["NSCLC"],
        "implication": "sensitive",
        "evidence_level": "1",
        "line_of_therapy": "adjuvant",
        "specimen": "tissue",
        "cdx": "cobas EGFR Mutation Test v2",
        "confirmatory_test": None,
        "description": (
            "After complete resection of NSCLC with an EGFR exon 19 deletion or L858R, "
            "osimertinib is approved as adjuvant treatment."
        ),
        "citations": ["LABEL_TAGRISSO", "PMID_ADAURA"],
    },
    {
        "key": "AS_OSI_EGFR_STAGE3",
        "expression": "EX_EGFR_SENSITISING",
        "therapy": "TX_OSIMERTINIB",
        "tumour_types": ["NSCLC"],
        "implication": "sensitive",
        "evidence_level": "1",
        "line_of_therapy": "maintenance",
        "specimen": "tissue",
        "cdx": None,
        "confirmatory_test": None,
        "description": (
            "For unresectable stage III NSCLC with an EGFR exon 19 deletion or L858R that has "
            "not progressed after platinum-based chemoradiation, osimertinib is approved as "
            "consolidation."
        ),
        "citations": ["LABEL_TAGRISSO"],
    },
    {
        "key": "AS_OSI_EGFR_T790M",
        "expression": "EX_EGFR_T790M",
        "therapy": "TX_OSIMERTINIB",
        "tumour_types": ["NSCLC"],
        "implication": "sensitive",
        "evidence_level": "1",
        "line_of_therapy": "second_line_plus",
        "specimen": "tissue_or_plasma",
        "cdx": "cobas EGFR Mutation Test v2",
        "confirmatory_test": (
            "If no mutation is found in plasma, test tumour tissue where feasible."
        ),
        "description": (
            "The EGFR T790M resistance mutation, acquired on earlier EGFR inhibitors, predicts "
            "response to osimertinib in metastatic NSCLC."
        ),
        "citations": ["LABEL_TAGRISSO"],
    },
    {
        "key": "AS_AMI_EGFR_EX20",
        "expression": "EX_EGFR_EX20INS",
        "therapy": "TX_AMIVANTAMAB",
        "tumour_types": ["NSCLC"],
        "implication": "sensitive",
        "evidence_level": "1",
        "line_of_therapy": "second_line_plus",
        "specimen": "tissue_or_plasma",
        "cdx": "Guardant360 CDx",
        "confirmatory_test": None,
        "description": (
            "Amivantamab, an EGFR-MET bispecific antibody, is approved for NSCLC with EGFR "
            "exon 20 insertions after platinum chemotherapy."
        ),
        "citations": ["LABEL_RYBREVANT"],
    },
    {
        "key": "AS_AMI_CHEMO_EGFR_EX20_1L",
        "expression": "EX_EGFR_EX20INS",
        "therapy": "TX_AMIVANTAMAB_CARBO_PEM",
        "tumour_types": ["NSCLC"],
        "implication": "sensitive",
        "evidence_level": "1",
        "line_of_therapy": "first_line",
        "specimen": "tissue_or_plasma",
        "cdx": None,
        "confirmatory_test": None,
        "description": (
            "As first-line treatment of EGFR exon 20 insertion NSCLC, amivantamab is approved "
            "together with carboplatin and pemetrexed."
        ),
        "citations": ["LABEL_RYBREVANT"],
    },
    # ALK and ROS1 fusions
    {
        "key": "AS_ALECTINIB_ALK_1L",
        "expression": "EX_ALK_FUSION",
        "therapy": "TX_ALECTINIB",
        "tumour_types": ["NSCLC"],
        "implication": "sensitive",
        "evidence_level": "1",
        "line_of_therapy": "first_line",
        "specimen": "tissue",
        "cdx": "VENTANA ALK (D5F3) CDx Assay",
        "confirmatory_test": None,
        "description": (
            "Alectinib is an approved first-line ALK inhibitor for ALK-positive metastatic NSCLC."
        ),
        "citations": ["LABEL_ALECENSA"],
    },
    {
        "key": "AS_ALECTINIB_ALK_ADJ",
        "expression": "EX_ALK_FUSION",
        "therapy": "TX_ALECTINIB",
        "tumour_types": ["NSCLC"],
        "implication": "sensitive",
        "evidence_level": "1",
        "line_of_therapy": "adjuvant",
        "specimen": "tissue",
        "cdx": None,
        "confirmatory_test": None,
        "description": (
            "Alectinib is approved after resection of ALK-positive NSCLC (tumours of at least "
            "4 cm or with nodal involvement)."
        ),
        "citations": ["LABEL_ALECENSA"],
    },
    {
        "key": "AS_LORLATINIB_ALK",
        "expression": "EX_ALK_FUSION",
        "therapy": "TX_LORLATINIB",
        "tumour_types": ["NSCLC"],
        "implication": "sensitive",
        "evidence_level": "1",
        "line_of_therapy": "first_line",
        "specimen": "tissue",
        "cdx": "VENTANA ALK (D5F3) CDx Assay",
        "confirmatory_test": None,
        "description": (
            "Lorlatinib, a third-generation ALK inhibitor, is approved for ALK-positive "
            "metastatic NSCLC, including first line."
        ),
        "citations": ["LABEL_LORBRENA"],
    },
    {
        "key": "AS_CRIZOTINIB_ROS1",
        "expression": "EX_ROS1_FUSION",
        "therapy": "TX_CRIZOTINIB",
        "tumour_types": ["NSCLC"],
        "implication": "sensitive",
        "evidence_level": "1",
        "line_of_therapy": "any",
        "specimen": "tissue",
        "cdx": "Oncomine Dx Target Test",
        "confirmatory_test": None,
        "description": (
            "Crizotinib is approved for metastatic NSCLC driven by a ROS1 rearrangement."
        ),
        "citations": ["LABEL_XALKORI"],
    },
    {
        "key": "AS_ENTRECTINIB_ROS1",
        "expression": "EX_ROS1_FUSION",
        "therapy": "TX_ENTRECTINIB",
        "tumour_types": ["NSCLC"],
        "implication": "sensitive",
        "evidence_level": "1",
        "line_of_therapy": "any",
        "specimen": "tissue",
        "cdx": None,
        "confirmatory_test": None,
        "description": (
            "Entrectinib, a CNS-penetrant ROS1/TRK inhibitor, is approved for ROS1-positive "
            "metastatic NSCLC."
        ),
        "citations": ["LABEL_ROZLYTREK"],
    },
    # BRAF V600
    {
        "key": "AS_DT_BRAF_NSCLC",
        "expression": "EX_BRAF_V600E",
        "therapy": "TX_DABRAFENIB_TRAMETINIB",
        "tumour_types": ["NSCLC"],
        "implication": "sensitive",
        "evidence_level": "1",
        "line_of_therapy": "any",
        "specimen": "tissue",
        "cdx": "Oncomine Dx Target Test",
        "confirmatory_test": None,
        "description": (
            "Combined BRAF and MEK inhibition with dabrafenib plus trametinib is approved for "
            "BRAF V600E metastatic NSCLC."
        ),
        "citations": ["LABEL_TAFINLAR", "LABEL_MEKINIST"],
    },
    {
        "key": "AS_DT_BRAF_MEL",
        "expression": "EX_BRAF_V600E_OR_K",
        "therapy": "TX_DABRAFENIB_TRAMETINIB",
        "tumour_types": ["MEL"],
        "implication": "sensitive",
        "evidence_level": "1",
        "line_of_therapy": "any",
        "specimen": "tissue",
        "cdx": "THxID BRAF Kit",
        "confirmatory_test": None,
        "description": (
            "Dabrafenib plus trametinib is approved for unresectable or metastatic melanoma "
            "with BRAF V600E or V600K."
        ),
        "citations": ["LABEL_TAFINLAR", "LABEL_MEKINIST"],
    },
    {
        "key": "AS_DT_BRAF_MEL_ADJ",
        "expression": "EX_BRAF_V600E_OR_K",
        "therapy": "TX_DABRAFENIB_TRAMETINIB",
        "tumour_types": ["MEL"],
        "implication": "sensitive",
        "evidence_level": "1",
        "line_of_therapy": "adjuvant",
        "specimen": "tissue",
        "cdx": "THxID BRAF Kit",
        "confirmatory_test": None,
        "description": (
            "After complete resection of node-positive melanoma with BRAF V600E or V600K, "
            "dabrafenib plus trametinib is approved as adjuvant therapy."
        ),
        "citations": ["LABEL_TAFINLAR", "LABEL_MEKINIST"],
    },
    {
        "key": "AS_DT_BRAF_ATC",
        "expression": "EX_BRAF_V600E",
        "therapy": "TX_DABRAFENIB_TRAMETINIB",
        "tumour_types": ["THAP"],
        "implication": "sensitive",
        "evidence_level": "1",
        "line_of_therapy": "any",
        "specimen": "tissue",
        "cdx": None,
        "confirmatory_test": None,
        "description": (
            "Dabrafenib plus trametinib is approved for locally advanced or metastatic BRAF "
            "V600E anaplastic thyroid cancer lacking good locoregional options."
        ),
        "citations": ["LABEL_TAFINLAR", "LABEL_MEKINIST"],
    },
    {
        "key": "AS_DT_BRAF_AGNOSTIC",
        "expression": "EX_BRAF_V600E",
        "therapy": "TX_DABRAFENIB_TRAMETINIB",
        "tumour_types": ["ALL_SOLID"],
        "excluded_tumour_types": ["COADREAD"],
        "implication": "sensitive",
        "evidence_level": "1",
        "line_of_therapy": "second_line_plus",
        "specimen": "tissue",
        "cdx": None,
        "confirmatory_test": None,
        "description": (
            "Tumour-agnostic approval for pretreated BRAF V600E solid tumours without good "
            "alternatives; colorectal cancer is excluded because of intrinsic resistance to "
            "BRAF inhibition alone."
        ),
        "citations": ["LABEL_TAFINLAR", "LABEL_MEKINIST"],
    },
    {
        "key": "AS_ENCO_CETUX_BRAF_CRC",
        "expression": "EX_BRAF_V600E",
        "therapy": "TX_ENCORAFENIB_CETUXIMAB",
        "tumour_types": ["COADREAD"],
        "implication": "sensitive",
        "evidence_level": "1",
        "line_of_therapy": "second_line_plus",
        "specimen": "tissue",
        "cdx": "therascreen BRAF V600E RGQ PCR Kit",
        "confirmatory_test": None,
        "description": (
            "In previously treated BRAF V600E metastatic colorectal cancer, encorafenib is "
            "approved together with the anti-EGFR antibody cetuximab."
        ),
        "citations": ["LABEL_BRAFTOVI"],
    },
    # KRAS G12C and RAS resistance
    {
        "key": "AS_SOTORASIB_KRAS_G12C",
        "expression": "EX_KRAS_G12C",
        "therapy": "TX_SOTORASIB",
        "tumour_types": ["NSCLC"],
        "implication": "sensitive",
        "evidence_level": "1",
        "line_of_therapy": "second_line_plus",
        "specimen": "tissue_or_plasma",
        "cdx": "therascreen KRAS RGQ PCR Kit; Guardant360 CDx",
        "confirmatory_test": (
            "If no mutation is found in plasma, test tumour tissue where feasible."
        ),
        "description": (
            "Sotorasib, a covalent KRAS G12C inhibitor, is approved for KRAS G12C NSCLC after "
            "at least one systemic therapy."
        ),
        "citations": ["LABEL_LUMAKRAS"],
    },
    {
        "key": "AS_ADAGRASIB_KRAS_G12C",
        "expression": "EX_KRAS_G12C",
        "therapy": "TX_ADAGRASIB",
        "tumour_types": ["NSCLC"],
        "implication": "sensitive",
        "evidence_level": "1",
        "line_of_therapy": "second_line_plus",
        "specimen": "tissue_or_plasma",
        "cdx": None,
        "confirmatory_test": None,
        "description": (
            "Adagrasib is approved for KRAS G12C NSCLC after at least one systemic therapy."
        ),
        "citations": ["LABEL_KRAZATI"],
    },
    {
        "key": "AS_ADAGRASIB_CETUX_KRAS_G12C_CRC",
        "expression": "EX_KRAS_G12C",
        "therapy": "TX_ADAGRASIB_CETUXIMAB",
        "tumour_types": ["COADREAD"],
        "implication": "sensitive",
        "evidence_level": "1",
        "line_of_therapy": "second_line_plus",
        "specimen": "tissue",
        "cdx": None,
        "confirmatory_test": None,
        "description": (
            "For KRAS G12C colorectal cancer after fluoropyrimidine, oxaliplatin and "
            "irinotecan, adagrasib is approved in combination with cetuximab."
        ),
        "citations": ["LABEL_KRAZATI"],
    },
    {
        "key": "AS_CETUXIMAB_RAS_CRC_RESISTANT",
        "expression": "EX_RAS_MUTANT",
        "therapy": "TX_CETUXIMAB",
        "tumour_types": ["COADREAD"],
        "implication": "resistant",
        "evidence_level": "R1",
        "line_of_therapy": "any",
        "specimen": "tissue",
        "cdx": "therascreen KRAS RGQ PCR Kit",
        "confirmatory_test": None,
        "description": (
            "Activating KRAS or NRAS mutations make metastatic colorectal cancer unresponsive "
            "to cetuximab, which is restricted to RAS wild-type disease."
        ),
        "citations": ["LABEL_ERBITUX"],
    },
    {
        "key": "AS_PANITUMUMAB_RAS_CRC_RESISTANT",
        "expression": "EX_RAS_MUTANT",
        "therapy": "TX_PANITUMUMAB",
        "tumour_types": ["COADREAD"],
        "implication": "resistant",
        "evidence_level": "R1",
        "line_of_therapy": "any",
        "specimen": "tissue",
        "cdx": "Praxis Extended RAS Panel",
        "confirmatory_test": None,
        "description": (
            "Panitumumab does not benefit, and is not indicated for, metastatic colorectal "
            "cancer with activating KRAS or NRAS mutations."
        ),
        "citations": ["LABEL_VECTIBIX"],
    },
    # NTRK fusions
    {
        "key": "AS_LAROTRECTINIB_NTRK",
        "expression": "EX_NTRK_FUSION",
        "therapy": "TX_LAROTRECTINIB",
        "tumour_types": ["ALL_SOLID"],
        "implication": "sensitive",
        "evidence_level": "1",
        "line_of_therapy": "any",
        "specimen": "tissue",
        "cdx": "FoundationOne CDx",
        "confirmatory_test": None,
        "description": (
            "Larotrectinib is approved across solid tumours in adults and children with an "
            "NTRK gene fusion and no known acquired resistance mutation, when there is no "
            "satisfactory alternative."
        ),
        "citations": ["LABEL_VITRAKVI", "PMID_LAROTRECTINIB"],
    },
    {
        "key": "AS_ENTRECTINIB_NTRK",
        "expression": "EX_NTRK_FUSION",
        "therapy": "TX_ENTRECTINIB",
        "tumour_types": ["ALL_SOLID"],
        "implication": "sensitive",
        "evidence_level": "1",
        "line_of_therapy": "any",
        "specimen": "tissue",
        "cdx": None,
        "confirmatory_test": None,
        "description": (
            "Entrectinib carries a tumour-agnostic approval for NTRK fusion-positive solid "
            "tumours that progressed or lack satisfactory alternatives."
        ),
        "citations": ["LABEL_ROZLYTREK"],
    },
    # RET
    {
        "key": "AS_SELPERCATINIB_RET_NSCLC",
        "expression": "EX_RET_FUSION",
        "therapy": "TX_SELPERCATINIB",
        "tumour_types": ["NSCLC"],
        "implication": "sensitive",
        "evidence_level": "1",
        "line_of_therapy": "any",
        "specimen": "tissue",
        "cdx": None,
        "confirmatory_test": None,
        "description": (
            "Selpercatinib, a selective RET kinase inhibitor, is approved for locally advanced "
            "or metastatic RET fusion-positive NSCLC."
        ),
        "citations": ["LABEL_RETEVMO", "PMID_LIBRETTO001"],
    },
    {
        "key": "AS_SELPERCATINIB_RET_THYROID",
        "expression": "EX_RET_FUSION",
        "therapy": "TX_SELPERCATINIB",
        "tumour_types": ["THYROID"],
        "implication": "sensitive",
        "evidence_level": "1",
        "line_of_therapy": "any",
        "specimen": "tissue",
        "cdx": None,
        "confirmatory_test": None,
        "description": (
            "Selpercatinib is approved for advanced RET fusion-positive thyroid cancer that "
            "needs systemic therapy and is radioactive-iodine refractory where RAI applies."
        ),
        "citations": ["LABEL_RETEVMO"],
    },
    {
        "key": "AS_SELPERCATINIB_RET_MTC",
        "expression": "EX_RET_MUTATION",
        "therapy": "TX_SELPERCATINIB",
        "tumour_types": ["THME"],
        "implication": "sensitive",
        "evidence_level": "1",
        "line_of_therapy": "any",
        "specimen": "tissue",
        "cdx": None,
        "confirmatory_test": None,
        "description": (
            "Advanced RET-mutant medullary thyroid cancer requiring systemic therapy is an "
            "approved indication for selpercatinib."
        ),
        "citations": ["LABEL_RETEVMO"],
    },
    {
        "key": "AS_SELPERCATINIB_RET_AGNOSTIC",
        "expression": "EX_RET_FUSION",
        "therapy": "TX_SELPERCATINIB",
        "tumour_types": ["ALL_SOLID"],
        "implication": "sensitive",
        "evidence_level": "1",
        "line_of_therapy": "any",
        "specimen": "tissue",
        "cdx": None,
        "confirmatory_test": None,
        "description": (
            "Selpercatinib holds a tumour-agnostic approval for RET fusion-positive solid "
            "tumours after prior systemic therapy or without satisfactory alternatives."
        ),
        "citations": ["LABEL_RETEVMO"],
    },
    # MET exon 14 skipping
    {
        "key": "AS_CAPMATINIB_MET_EX14",
        "expression": "EX_MET_EX14",
        "therapy": "TX_CAPMATINIB",
        "tumour_types": ["NSCLC"],
        "implication": "sensitive",
        "evidence_level": "1",
        "line_of_therapy": "any",
        "specimen": "tissue",
        "cdx": "FoundationOne CDx",
        "confirmatory_test": None,
        "description": (
            "Capmatinib, a MET inhibitor, is approved for metastatic NSCLC whose tumours skip "
            "MET exon 14."
        ),
        "citations": ["LABEL_TABRECTA"],
    },
    {
        "key": "AS_TEPOTINIB_MET_EX14",
        "expression": "EX_MET_EX14",
        "therapy": "TX_TEPOTINIB",
        "tumour_types": ["NSCLC"],
        "implication": "sensitive",
        "evidence_level": "1",
        "line_of_therapy": "any",
        "specimen": "tissue_or_plasma",
        "cdx": None,
        "confirmatory_test": None,
        "description": (
            "Tepotinib is approved for metastatic NSCLC with MET exon 14 skipping alterations."
        ),
        "citations": ["LABEL_TEPMETKO"],
    },
    # ERBB2 (HER2)
    {
        "key": "AS_TRASTUZUMAB_HER2_BREAST",
        "expression": "EX_HER2_POSITIVE",
        "therapy": "TX_TRASTUZUMAB",
        "tumour_types": ["BRCA"],
        "implication": "sensitive",
        "evidence_level": "1",
        "line_of_therapy": "any",
        "specimen": "tissue",
        "cdx": "HercepTest; PathVysion HER-2 DNA Probe Kit",
        "confirmatory_test": "Reflex IHC 2+ (equivocal) cases to in situ hybridisation.",
        "description": (
            "Trastuzumab is approved for HER2-overexpressing or amplified breast cancer (IHC "
            "3+, or IHC 2+ with an ISH ratio of at least 2.0), in the adjuvant and metastatic "
            "settings."
        ),
        "citations": ["LABEL_HERCEPTIN"],
    },
    {
        "key": "AS_TRASTUZUMAB_HER2_GASTRIC",
        "expression": "EX_HER2_POSITIVE_GASTRIC",
        "therapy": "TX_TRASTUZUMAB_CIS_CAPE",
        "tumour_types": ["STAD", "GEJ"],
        "implication": "sensitive",
        "evidence_level": "1",
        "line_of_therapy": "first_line",
        "specimen": "tissue",
        "cdx": "HercepTest; HER2 FISH pharmDx Kit",
        "confirmatory_test": None,
        "description": (
            "For untreated metastatic gastric or gastro-oesophageal junction adenocarcinoma "
            "that is HER2 IHC 3+ or ERBB2-amplified, trastuzumab is approved with cisplatin "
            "and capecitabine (or 5-fluorouracil)."
        ),
        "citations": ["LABEL_HERCEPTIN"],
    },
    {
        "key": "AS_TDXD_HER2_LOW_BREAST",
        "expression": "EX_HER2_LOW",
        "therapy": "TX_TRASTUZUMAB_DERUXTECAN",
        "tumour_types": ["BRCA"],
        "implication": "sensitive",
        "evidence_level": "1",
        "line_of_therapy": "second_line_plus",
        "specimen": "tissue",
        "cdx": "PATHWAY anti-HER-2/neu (4B5) Rabbit Monoclonal Primary Antibody",
        "confirmatory_test": None,
        "description": (
            "HER2-low breast cancer (IHC 1+, or IHC 2+ without ISH amplification) responds to "
            "trastuzumab deruxtecan, approved after prior chemotherapy for metastatic disease."
        ),
        "citations": ["LABEL_ENHERTU", "PMID_DESTINY_BREAST04"],
    },
    {
        "key": "AS_TDXD_ERBB2_MUT_NSCLC",
        "expression": "EX_ERBB2_MUTATION",
        "therapy": "TX_TRASTUZUMAB_DERUXTECAN",
        "tumour_types": ["NSCLC"],
        "implication": "sensitive",
        "evidence_level": "1",
        "line_of_therapy": "second_line_plus",
        "specimen": "tissue_or_plasma",
        "cdx": "Oncomine Dx Target Test; Guardant360 CDx",
        "confirmatory_test": (
            "If no mutation is found in plasma, test tumour tissue where feasible."
        ),
        "description": (
            "Trastuzumab deruxtecan is approved for previously treated metastatic NSCLC with "
            "activating ERBB2 (HER2) mutations."
        ),
        "citations": ["LABEL_ENHERTU"],
    },
    {
        "key": "AS_TDXD_HER2_IHC3_AGNOSTIC",
        "expression": "EX_HER2_IHC_3",
        "therapy": "TX_TRASTUZUMAB_DERUXTECAN",
        "tumour_types": ["ALL_SOLID"],
        "implication": "sensitive",
        "evidence_level": "1",
        "line_of_therapy": "second_line_plus",
        "specimen": "tissue",
        "cdx": None,
        "confirmatory_test": None,
        "description": (
            "Trastuzumab deruxtecan has a tumour-agnostic approval for pretreated HER2 IHC 3+ "
            "solid tumours without satisfactory alternatives."
        ),
        "citations": ["LABEL_ENHERTU", "PMID_DESTINY_PANTUMOR02"],
    },
    # Immune checkpoint inhibitors
    {
        "key": "AS_PEMBRO_TMB_AGNOSTIC",
        "expression": "EX_TMB_HIGH",
        "therapy": "TX_PEMBROLIZUMAB",
        "tumour_types": ["ALL_SOLID"],
        "implication": "sensitive",
        "evidence_level": "1",
        "line_of_therapy": "second_line_plus",
        "specimen": "tissue",
        "cdx": "FoundationOne CDx",
        "confirmatory_test": None,
        "description": (
            "Pembrolizumab is approved for pretreated unresectable or metastatic solid tumours "
            "with a tumour mutational burden of at least 10 mutations per megabase."
        ),
        "citations": ["LABEL_KEYTRUDA", "PMID_KEYNOTE158_TMB"],
    },
    {
        "key": "AS_PEMBRO_MSI_AGNOSTIC",
        "expression": "EX_MSI_H_OR_DMMR",
        "therapy": "TX_PEMBROLIZUMAB",
        "tumour_types": ["ALL_SOLID"],
        "implication": "sensitive",
        "evidence_level": "1",
        "line_of_therapy": "second_line_plus",
        "specimen": "tissue",
        "cdx": None,
        "confirmatory_test": None,
        "description": (
            "The first tumour-agnostic approval: pembrolizumab for pretreated MSI-high or "
            "mismatch-repair-deficient solid tumours."
        ),
        "citations": ["LABEL_KEYTRUDA", "PMID_LE_2015", "PMID_KEYNOTE158_MSI"],
    },
    {
        "key": "AS_PEMBRO_MSI_CRC_1L",
        "expression": "EX_MSI_H_OR_DMMR",
        "therapy": "TX_PEMBROLIZUMAB",
        "tumour_types": ["COADREAD"],
        "implication": "sensitive",
        "evidence_level": "1",
        "line_of_therapy": "first_line",
        "specimen": "tissue",
        "cdx": None,
        "confirmatory_test": None,
        "description": (
            "Pembrolizumab is approved as first-line therapy for unresectable or metastatic "
            "MSI-high or dMMR colorectal cancer."
        ),
        "citations": ["LABEL_KEYTRUDA"],
    },
    {
        "key": "AS_PEMBRO_PDL1_TPS50_NSCLC",
        "expression": "EX_PDL1_TPS_50_NO_DRIVER",
        "therapy": "TX_PEMBROLIZUMAB",
        "tumour_types": ["NSCLC"],
        "implication": "sensitive",
        "evidence_level": "1",
        "line_of_therapy": "first_line",
        "specimen": "tissue",
        "cdx": "PD-L1 IHC 22C3 pharmDx",
        "confirmatory_test": None,
        "description": (
            "Single-agent pembrolizumab is approved first line for metastatic NSCLC with PD-L1 "
            "expression on at least 50% of tumour cells and no EGFR or ALK driver."
        ),
        "citations": ["LABEL_KEYTRUDA", "PMID_KEYNOTE024"],
    },
    {
        "key": "AS_PEMBRO_PDL1_TPS1_NSCLC",
        "expression": "EX_PDL1_TPS_1_NO_DRIVER",
        "therapy": "TX_PEMBROLIZUMAB",
        "tumour_types": ["NSCLC"],
        "implication": "sensitive",
        "evidence_level": "1",
        "line_of_therapy": "first_line",
        "specimen": "tissue",
        "cdx": "PD-L1 IHC 22C3 pharmDx",
        "confirmatory_test": None,
        "description": (
            "Pembrolizumab monotherapy is approved first line for stage III (not suited to "
            "resection or definitive chemoradiation) or metastatic NSCLC with PD-L1 TPS of at "
            "least 1% and no EGFR or ALK driver."
        ),
        "citations": ["LABEL_KEYTRUDA"],
    },
    {
        "key": "AS_PEMBRO_PDL1_CPS10_TNBC",
        "expression": "EX_PDL1_CPS_10_HER2_NEGATIVE",
        "therapy": "TX_PEMBROLIZUMAB_PACLITAXEL",
        "tumour_types": ["BRCA"],
        "implication": "sensitive",
        "evidence_level": "1",
        "line_of_therapy": "first_line",
        "specimen": "tissue",
        "cdx": "PD-L1 IHC 22C3 pharmDx",
        "confirmatory_test": None,
        "description": (
            "For locally recurrent unresectable or metastatic triple-negative breast cancer "
            "with PD-L1 CPS of at least 10, pembrolizumab is approved with chemotherapy "
            "(paclitaxel, nab-paclitaxel, or gemcitabine plus carboplatin); hormone-receptor "
            "negativity is not encoded here."
        ),
        "citations": ["LABEL_KEYTRUDA"],
    },
    {
        "key": "AS_DOSTARLIMAB_DMMR_UCEC",
        "expression": "EX_DMMR",
        "therapy": "TX_DOSTARLIMAB",
        "tumour_types": ["UCEC"],
        "implication": "sensitive",
        "evidence_level": "1",
        "line_of_therapy": "second_line_plus",
        "specimen": "tissue",
        "cdx": "VENTANA MMR RxDx Panel",
        "confirmatory_test": None,
        "description": (
            "Dostarlimab is approved for mismatch-repair-deficient recurrent or advanced "
            "endometrial cancer that progressed after platinum chemotherapy."
        ),
        "citations": ["LABEL_JEMPERLI"],
    },
    # BRCA1 / BRCA2 (olaparib)
    {
        "key": "AS_OLAPARIB_GBRCA_BREAST",
        "expression": "EX_GERMLINE_BRCA_HER2_NEGATIVE",
        "therapy": "TX_OLAPARIB",
        "tumour_types": ["BRCA"],
        "implication": "sensitive",
        "evidence_level": "1",
        "line_of_therapy": "second_line_plus",
        "specimen": None,
        "cdx": "BRACAnalysis CDx",
        "confirmatory_test": None,
        "description": (
            "Olaparib is approved for germline BRCA-mutated HER2-negative metastatic breast "
            "cancer previously treated with chemotherapy."
        ),
        "citations": ["LABEL_LYNPARZA"],
    },
    {
        "key": "AS_OLAPARIB_GBRCA_BREAST_ADJ",
        "expression": "EX_GERMLINE_BRCA_HER2_NEGATIVE",
        "therapy": "TX_OLAPARIB",
        "tumour_types": ["BRCA"],
        "implication": "sensitive",
        "evidence_level": "1",
        "line_of_therapy": "adjuvant",
        "specimen": None,
        "cdx": "BRACAnalysis CDx",
        "confirmatory_test": None,
        "description": (
            "For high-risk early breast cancer that is HER2-negative and carries a germline "
            "BRCA variant, olaparib is approved as adjuvant therapy after (neo)adjuvant "
            "chemotherapy."
        ),
        "citations": ["LABEL_LYNPARZA"],
    },
    {
        "key": "AS_OLAPARIB_BRCA_OVARY_MAINT",
        "expression": "EX_BRCA_ANY_ORIGIN",
        "therapy": "TX_OLAPARIB",
        "tumour_types": ["OVARY", "PSEC"],
        "implication": "sensitive",
        "evidence_level": "1",
        "line_of_therapy": "maintenance",
        "specimen": None,
        "cdx": "BRACAnalysis CDx",
        "confirmatory_test": None,
        "description": (
            "Olaparib is approved as maintenance for advanced epithelial ovarian, fallopian "
            "tube or primary peritoneal cancer with a germline or somatic BRCA variant, after "
            "response to first-line platinum."
        ),
        "citations": ["LABEL_LYNPARZA"],
    },
    {
        "key": "AS_OLAPARIB_BRCA_PROSTATE",
        "expression": "EX_BRCA_ANY_ORIGIN",
        "therapy": "TX_OLAPARIB",
        "tumour_types": ["PRAD"],
        "implication": "sensitive",
        "evidence_level": "1",
        "line_of_therapy": "second_line_plus",
        "specimen": None,
        "cdx": "FoundationOne CDx; BRACAnalysis CDx",
        "confirmatory_test": None,
        "description": (
            "Olaparib is approved for metastatic castration-resistant prostate cancer with "
            "germline or somatic BRCA1/2 alterations after enzalutamide or abiraterone; the "
            "label also covers other HRR genes not modelled here."
        ),
        "citations": ["LABEL_LYNPARZA"],
    },
    {
        "key": "AS_OLAPARIB_GBRCA_PANCREAS",
        "expression": "EX_GERMLINE_BRCA",
        "therapy": "TX_OLAPARIB",
        "tumour_types": ["PAAD"],
        "implication": "sensitive",
        "evidence_level": "1",
        "line_of_therapy": "maintenance",
        "specimen": None,
        "cdx": "BRACAnalysis CDx",
        "confirmatory_test": None,
        "description": (
            "In germline BRCA-mutated metastatic pancreatic adenocarcinoma without progression "
            "on at least 16 weeks of first-line platinum, olaparib is approved as maintenance."
        ),
        "citations": ["LABEL_LYNPARZA"],
    },
    # PIK3CA
    {
        "key": "AS_ALPELISIB_PIK3CA_BREAST",
        "expression": "EX_PIK3CA_HER2_NEGATIVE",
        "therapy": "TX_ALPELISIB_FULVESTRANT",
        "tumour_types": ["BRCA"],
        "implication": "sensitive",
        "evidence_level": "1",
        "line_of_therapy": "second_line_plus",
        "specimen": "tissue_or_plasma",
        "cdx": "therascreen PIK3CA RGQ PCR Kit",
        "confirmatory_test": (
            "If no mutation is found in plasma, test tumour tissue where feasible."
        ),
        "description": (
            "Alpelisib with fulvestrant is approved for PIK3CA-mutated, "
            "hormone-receptor-positive, HER2-negative advanced breast cancer after endocrine "
            "therapy (HR status is not encoded here)."
        ),
        "citations": ["LABEL_PIQRAY"],
    },
    # IDH1 (ivosidenib)
    {
        "key": "AS_IVOSIDENIB_IDH1_AML_RR",
        "expression": "EX_IDH1_R132",
        "therapy": "TX_IVOSIDENIB",
        "tumour_types": ["AML"],
        "implication": "sensitive",
        "evidence_level": "1",
        "line_of_therapy": "second_line_plus",
        "specimen": None,
        "cdx": "Abbott RealTime IDH1",
        "confirmatory_test": None,
        "description": (
            "Ivosidenib, an IDH1 inhibitor, is approved for relapsed or refractory AML with an "
            "IDH1 mutation."
        ),
        "citations": ["LABEL_TIBSOVO"],
    },
    {
        "key": "AS_IVOSIDENIB_IDH1_AML_1L",
        "expression": "EX_IDH1_R132",
        "therapy": "TX_IVOSIDENIB",
        "tumour_types": ["AML"],
        "implication": "sensitive",
        "evidence_level": "1",
        "line_of_therapy": "first_line",
        "specimen": None,
        "cdx": "Abbott RealTime IDH1",
        "confirmatory_test": None,
        "description": (
            "Newly diagnosed IDH1-mutated AML in patients aged 75 or older, or unfit for "
            "intensive induction, is an approved ivosidenib indication."
        ),
        "citations": ["LABEL_TIBSOVO"],
    },
    {
        "key": "AS_IVOSIDENIB_IDH1_CHOL",
        "expression": "EX_IDH1_R132",
        "therapy": "TX_IVOSIDENIB",
        "tumour_types": ["CHOL"],
        "implication": "sensitive",
        "evidence_level": "1",
        "line_of_therapy": "second_line_plus",
        "specimen": "tissue",
        "cdx": "Oncomine Dx Target Test",
        "confirmatory_test": None,
        "description": (
            "Ivosidenib is approved for previously treated locally advanced or metastatic "
            "cholangiocarcinoma with an IDH1 mutation."
        ),
        "citations": ["LABEL_TIBSOVO"],
    },
    # FLT3
    {
        "key": "AS_MIDOSTAURIN_FLT3_AML",
        "expression": "EX_FLT3_MUTATION",
        "therapy": "TX_MIDOSTAURIN_7_3",
        "tumour_types": ["AML"],
        "implication": "sensitive",
        "evidence_level": "1",
        "line_of_therapy": "first_line",
        "specimen": None,
        "cdx": "LeukoStrat CDx FLT3 Mutation Assay",
        "confirmatory_test": None,
        "description": (
            "Midostaurin added to standard cytarabine and daunorubicin induction and "
            "consolidation is approved for newly diagnosed FLT3-mutated AML."
        ),
        "citations": ["LABEL_RYDAPT"],
    },
    {
        "key": "AS_GILTERITINIB_FLT3_AML_RR",
        "expression": "EX_FLT3_MUTATION",
        "therapy": "TX_GILTERITINIB",
        "tumour_types": ["AML"],
        "implication": "sensitive",
        "evidence_level": "1",
        "line_of_therapy": "second_line_plus",
        "specimen": None,
        "cdx": "LeukoStrat CDx FLT3 Mutation Assay",
        "confirmatory_test": None,
        "description": (
            "Gilteritinib is approved for relapsed or refractory AML with a FLT3 ITD or TKD "
            "mutation."
        ),
        "citations": ["LABEL_XOSPATA"],
    },
    # KIT / PDGFRA (GIST) and BCR::ABL1 (CML)
    {
        "key": "AS_IMATINIB_KIT_GIST",
        "expression": "EX_KIT_GIST",
        "therapy": "TX_IMATINIB",
        "tumour_types": ["GIST"],
        "implication": "sensitive",
        "evidence_level": "1",
        "line_of_therapy": "any",
        "specimen": "tissue",
        "cdx": None,
        "confirmatory_test": None,
        "description": (
            "Imatinib is approved for KIT (CD117)-positive unresectable or metastatic GIST; "
            "the label is based on CD117 staining, and activating KIT mutations underlie the "
            "response."
        ),
        "citations": ["LABEL_GLEEVEC"],
    },
    {
        "key": "AS_IMATINIB_KIT_GIST_ADJ",
        "expression": "EX_KIT_GIST",
        "therapy": "TX_IMATINIB",
        "tumour_types": ["GIST"],
        "implication": "sensitive",
        "evidence_level": "1",
        "line_of_therapy": "adjuvant",
        "specimen": "tissue",
        "cdx": None,
        "confirmatory_test": None,
        "description": (
            "After complete resection of KIT (CD117)-positive GIST, imatinib is approved as "
            "adjuvant therapy."
        ),
        "citations": ["LABEL_GLEEVEC"],
    },
    {
        "key": "AS_AVAPRITINIB_PDGFRA_GIST",
        "expression": "EX_PDGFRA_EX18",
        "therapy": "TX_AVAPRITINIB",
        "tumour_types": ["GIST"],
        "implication": "sensitive",
        "evidence_level": "1",
        "line_of_therapy": "any",
        "specimen": "tissue",
        "cdx": None,
        "confirmatory_test": None,
        "description": (
            "Avapritinib is approved for unresectable or metastatic GIST with a PDGFRA exon 18 "
            "mutation, including the imatinib-resistant D842V."
        ),
        "citations": ["LABEL_AYVAKIT"],
    },
    {
        "key": "AS_IMATINIB_BCR_ABL1_CML",
        "expression": "EX_BCR_ABL1",
        "therapy": "TX_IMATINIB",
        "tumour_types": ["CML"],
        "implication": "sensitive",
        "evidence_level": "1",
        "line_of_therapy": "first_line",
        "specimen": None,
        "cdx": None,
        "confirmatory_test": None,
        "description": (
            "Imatinib is approved for newly diagnosed Philadelphia chromosome-positive "
            "(BCR::ABL1) chronic myeloid leukaemia in chronic phase."
        ),
        "citations": ["LABEL_GLEEVEC"],
    },
]


# --- Clinical trials ------------------------------------------------------------------------------

TRIALS: list[dict[str, Any]] = [
    {
        "key": "TR_NCI_MATCH",
        "nct_id": "NCT02465060",
        "title": (
            "NCI-MATCH: Targeted Therapy Directed by Genetic Testing in Treating Patients With "
            "Advanced Refractory Solid Tumors, Lymphomas, or Multiple Myeloma"
        ),
        "phase": "PHASE2",
        "status": "COMPLETED",
    },
    {
        "key": "TR_KEYNOTE_158",
        "nct_id": "NCT02628067",
        "title": (
            "Study of Pembrolizumab (MK-3475) in Participants With Advanced Solid Tumors "
            "(MK-3475-158/KEYNOTE-158)"
        ),
        "phase": "PHASE2",
        "status": "ACTIVE_NOT_RECRUITING",
        "citations": ["PMID_KEYNOTE158_MSI", "PMID_KEYNOTE158_TMB"],
    },
    {
        "key": "TR_DESTINY_PANTUMOR02",
        "nct_id": "NCT04482309",
        "title": (
            "A Phase 2 Study of Trastuzumab Deruxtecan (T-DXd) in Patients With Selected HER2 "
            "Expressing Tumors (DESTINY-PanTumor02)"
        ),
        "phase": "PHASE2",
        "status": "ACTIVE_NOT_RECRUITING",
        "citations": ["PMID_DESTINY_PANTUMOR02"],
    },
    {
        "key": "TR_LIBRETTO_001",
        "nct_id": "NCT03157128",
        "title": (
            "A Study of Oral Selpercatinib (LOXO-292) in Participants With Advanced Solid "
            "Tumors, Including RET Fusion-Positive Solid Tumors, Medullary Thyroid Cancer and "
            "Other Tumors With RET Activation (LIBRETTO-001)"
        ),
        "phase": "PHASE1_PHASE2",
        "status": "ACTIVE_NOT_RECRUITING",
        "citations": ["PMID_LIBRETTO001"],
    },
]


# --- Trial arms -----------------------------------------------------------------------------------

TRIAL_ARMS: list[dict[str, Any]] = [
    # NCI-MATCH (EAY131) subprotocols
    {
        "key": "TA_MATCH_H",
        "trial": "TR_NCI_MATCH",
        "code": "H",
        "name": "Dabrafenib + trametinib for BRAF V600E tumours",
        "expression": "EX_BRAF_V600E",
        "therapy": "TX_DABRAFENIB_TRAMETINIB",
        "tumour_types": ["ALL_SOLID"],
        "excluded_tumour_types": ["MEL", "THYROID", "COADREAD"],
        "min_age": 18,
        "max_age": None,
        "sex": "ALL",
        "suspended": False,
    },
    {
        "key": "TA_MATCH_Z1D",
        "trial": "TR_NCI_MATCH",
        "code": "Z1D",
        "name": "Nivolumab for mismatch-repair-deficient tumours",
        "expression": "EX_DMMR",
        "therapy": "TX_NIVOLUMAB",
        "tumour_types": ["ALL_SOLID"],
        "excluded_tumour_types": ["COADREAD"],
        "min_age": 18,
        "max_age": None,
        "sex": "ALL",
        "suspended": False,
    },
    # KEYNOTE-158
    {
        "key": "TA_KN158_K",
        "trial": "TR_KEYNOTE_158",
        "code": "K",
        "name": "Pembrolizumab in MSI-H/dMMR non-colorectal solid tumours",
        "expression": "EX_MSI_H_OR_DMMR",
        "therapy": "TX_PEMBROLIZUMAB",
        "tumour_types": ["ALL_SOLID"],
        "excluded_tumour_types": ["COADREAD"],
        "min_age": 18,
        "max_age": None,
        "sex": "ALL",
        "suspended": False,
    },
    # DESTINY-PanTumor02 (HER2 IHC 3+ or 2+, local or central test). The "other tumours" cohort
    # takes any solid tumour except the named cohorts and the tumours with their own T-DXd
    # studies (breast, gastric, colorectal, lung).
    {
        "key": "TA_DPT02_ENDOMETRIAL",
        "trial": "TR_DESTINY_PANTUMOR02",
        "code": "ENDOMETRIAL",
        "name": "T-DXd in HER2-expressing endometrial cancer",
        "expression": "EX_HER2_IHC_2_OR_3",
        "therapy": "TX_TRASTUZUMAB_DERUXTECAN",
        "tumour_types": ["UCEC"],
        "excluded_tumour_types": [],
        "min_age": 18,
        "max_age": None,
        "sex": "ALL",
        "suspended": False,
    },
    {
        "key": "TA_DPT02_CERVICAL",
        "trial": "TR_DESTINY_PANTUMOR02",
        "code": "CERVICAL",
        "name": "T-DXd in HER2-expressing cervical cancer",
        "expression": "EX_HER2_IHC_2_OR_3",
        "therapy": "TX_TRASTUZUMAB_DERUXTECAN",
        "tumour_types": ["CERVIX"],
        "excluded_tumour_types": [],
        "min_age": 18,
        "max_age": None,
        "sex": "ALL",
        "suspended": False,
    },
    {
        "key": "TA_DPT02_OVARIAN",
        "trial": "TR_DESTINY_PANTUMOR02",
        "code": "OVARIAN",
        "name": "T-DXd in HER2-expressing ovarian cancer",
        "expression": "EX_HER2_IHC_2_OR_3",
        "therapy": "TX_TRASTUZUMAB_DERUXTECAN",
        "tumour_types": ["OVARY"],
        "excluded_tumour_types": [],
        "min_age": 18,
        "max_age": None,
        "sex": "ALL",
        "suspended": False,
    },
    {
        "key": "TA_DPT02_BLADDER",
        "trial": "TR_DESTINY_PANTUMOR02",
        "code": "BLADDER",
        "name": "T-DXd in HER2-expressing bladder cancer",
        "expression": "EX_HER2_IHC_2_OR_3",
        "therapy": "TX_TRASTUZUMAB_DERUXTECAN",
        "tumour_types": ["BLADDER"],
        "excluded_tumour_types": [],
        "min_age": 18,
        "max_age": None,
        "sex": "ALL",
        "suspended": False,
    },
    {
        "key": "TA_DPT02_BILIARY",
        "trial": "TR_DESTINY_PANTUMOR02",
        "code": "BILIARY",
        "name": "T-DXd in HER2-expressing biliary tract cancer",
        "expression": "EX_HER2_IHC_2_OR_3",
        "therapy": "TX_TRASTUZUMAB_DERUXTECAN",
        "tumour_types": ["BILIARY_TRACT"],
        "excluded_tumour_types": [],
        "min_age": 18,
        "max_age": None,
        "sex": "ALL",
        "suspended": False,
    },
    {
        "key": "TA_DPT02_PANCREATIC",
        "trial": "TR_DESTINY_PANTUMOR02",
        "code": "PANCREATIC",
        "name": "T-DXd in HER2-expressing pancreatic cancer",
        "expression": "EX_HER2_IHC_2_OR_3",
        "therapy": "TX_TRASTUZUMAB_DERUXTECAN",
        "tumour_types": ["PANCREAS"],
        "excluded_tumour_types": [],
        "min_age": 18,
        "max_age": None,
        "sex": "ALL",
        "suspended": False,
    },
    {
        "key": "TA_DPT02_OTHER",
        "trial": "TR_DESTINY_PANTUMOR02",
        "code": "OTHER",
        "name": "T-DXd in other HER2-expressing solid tumours",
        "expression": "EX_HER2_IHC_2_OR_3",
        "therapy": "TX_TRASTUZUMAB_DERUXTECAN",
        "tumour_types": ["ALL_SOLID"],
        "excluded_tumour_types": [
            "UCEC",
            "CERVIX",
            "OVARY",
            "BLADDER",
            "BILIARY_TRACT",
            "PANCREAS",
            "BREAST",
            "STAD",
            "GEJ",
            "COADREAD",
            "LUNG",
        ],
        "min_age": 18,
        "max_age": None,
        "sex": "ALL",
        "suspended": False,
    },
    # LIBRETTO-001 phase 2 populations (ages 12+ where permitted)
    {
        "key": "TA_LIBRETTO_NSCLC_PRETREATED",
        "trial": "TR_LIBRETTO_001",
        "code": "NSCLC-PLATINUM",
        "name": "Selpercatinib in RET fusion NSCLC after platinum chemotherapy",
        "expression": "EX_RET_FUSION",
        "therapy": "TX_SELPERCATINIB",
        "tumour_types": ["NSCLC"],
        "excluded_tumour_types": [],
        "min_age": 12,
        "max_age": None,
        "sex": "ALL",
        "suspended": False,
    },
    {
        "key": "TA_LIBRETTO_NSCLC_NAIVE",
        "trial": "TR_LIBRETTO_001",
        "code": "NSCLC-NAIVE",
        "name": "Selpercatinib in treatment-naive RET fusion NSCLC",
        "expression": "EX_RET_FUSION",
        "therapy": "TX_SELPERCATINIB",
        "tumour_types": ["NSCLC"],
        "excluded_tumour_types": [],
        "min_age": 12,
        "max_age": None,
        "sex": "ALL",
        "suspended": False,
    },
    {
        "key": "TA_LIBRETTO_MTC",
        "trial": "TR_LIBRETTO_001",
        "code": "MTC",
        "name": "Selpercatinib in RET-mutant medullary thyroid cancer",
        "expression": "EX_RET_MUTATION",
        "therapy": "TX_SELPERCATINIB",
        "tumour_types": ["THME"],
        "excluded_tumour_types": [],
        "min_age": 12,
        "max_age": None,
        "sex": "ALL",
        "suspended": False,
    },
    {
        "key": "TA_LIBRETTO_OTHER",
        "trial": "TR_LIBRETTO_001",
        "code": "OTHER-RET-FUSION",
        "name": "Selpercatinib in RET fusion solid tumours other than lung and thyroid",
        "expression": "EX_RET_FUSION",
        "therapy": "TX_SELPERCATINIB",
        "tumour_types": ["ALL_SOLID"],
        "excluded_tumour_types": ["LUNG", "THYROID"],
        "min_age": 12,
        "max_age": None,
        "sex": "ALL",
        "suspended": False,
    },
]
