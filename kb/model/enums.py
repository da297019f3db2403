"""Controlled vocabularies of the domain model (DESIGN §2).

Values are the strings stored in the database and written to releases, so they never change
meaning once released; add members, never rename them.
"""

from __future__ import annotations

from enum import StrEnum


class RecordType(StrEnum):
    """Listed so that a record refers only to types above its own: a merge creates records in
    this order."""

    GENE = "gene"
    BIOMARKER = "biomarker"
    THRESHOLD = "threshold"
    EXPRESSION = "expression"
    DRUG = "drug"
    THERAPY = "therapy"
    CITATION = "citation"
    APPROVAL = "approval"
    ASSERTION = "assertion"
    TRIAL = "trial"
    TRIAL_ARM = "trial_arm"
    EXON_MAP = "exon_map"
    ONCOGENICITY = "oncogenicity"
    LEVEL_SCHEME = "level_scheme"
    LEVEL_CROSSWALK = "level_crosswalk"
    EVIDENCE_ITEM = "evidence_item"  # refers to assertions and oncogenicity records


HUMAN_ID_PREFIX: dict[RecordType, str] = {
    RecordType.GENE: "GN",
    RecordType.BIOMARKER: "BM",
    RecordType.THRESHOLD: "TH",
    RecordType.EXPRESSION: "BX",
    RecordType.DRUG: "DR",
    RecordType.THERAPY: "TX",
    RecordType.CITATION: "CT",
    RecordType.APPROVAL: "AP",
    RecordType.ASSERTION: "AS",
    RecordType.TRIAL: "TR",
    RecordType.TRIAL_ARM: "TA",
    RecordType.EXON_MAP: "EM",
    RecordType.ONCOGENICITY: "OG",
    RecordType.LEVEL_SCHEME: "LS",
    RecordType.LEVEL_CROSSWALK: "LX",
    RecordType.EVIDENCE_ITEM: "EV",
}


class GeneRole(StrEnum):
    ONCOGENE = "oncogene"
    TUMOUR_SUPPRESSOR = "tumour_suppressor"
    BOTH = "both"
    UNKNOWN = "unknown"


class BiomarkerKind(StrEnum):
    SEQUENCE_VARIANT = "sequence_variant"
    RANGE = "range"
    CATEGORICAL = "categorical"
    COPY_NUMBER = "copy_number"
    FUSION = "fusion"
    CHARACTERISTIC = "characteristic"
    EXPRESSION = "expression"
    METHYLATION = "methylation"  # promoter methylation of a gene (MGMT)
    WILD_TYPE = "wild_type"  # no pathogenic variant in the gene (KRAS wild type)


class Origin(StrEnum):
    """Where a biomarker's variant must come from. A germline finding never matches a somatic
    biomarker, nor the reverse; a biomarker that takes either says so."""

    SOMATIC = "somatic"
    GERMLINE = "germline"
    EITHER = "either"


class Consequence(StrEnum):
    MISSENSE = "missense"
    INFRAME_DELETION = "inframe_deletion"
    INFRAME_INSERTION = "inframe_insertion"
    FRAMESHIFT = "frameshift"
    NONSENSE = "nonsense"
    SPLICE = "splice"
    EXON_SKIPPING = "exon_skipping"
    INTERNAL_TANDEM_DUPLICATION = "internal_tandem_duplication"  # FLT3 ITD
    PROMOTER = "promoter"  # a non-coding promoter variant (TERT C228T)
    ANY = "any"


class Category(StrEnum):
    ONCOGENIC_MUTATIONS = "oncogenic_mutations"
    TRUNCATING_MUTATIONS = "truncating_mutations"
    ACTIVATING_MUTATIONS = "activating_mutations"
    LOSS_OF_FUNCTION = "loss_of_function"
    ANY_MUTATION = "any_mutation"  # any non-synonymous variant in the gene


class CopyNumberType(StrEnum):
    AMPLIFICATION = "amplification"
    GAIN = "gain"  # low-level gain; an amplification is a gain too
    LOSS = "loss"  # shallow (heterozygous) loss; a deep deletion is a loss too
    DELETION = "deletion"  # deep (homozygous) deletion


class Characteristic(StrEnum):
    TMB = "TMB"
    MSI = "MSI"
    MMR = "MMR"
    HRD = "HRD"
    # Mutational signatures as MatchMiner reads them from a sequencing report (present or not).
    APOBEC_SIGNATURE = "APOBEC_SIGNATURE"
    POLE_SIGNATURE = "POLE_SIGNATURE"
    TOBACCO_SIGNATURE = "TOBACCO_SIGNATURE"
    TEMOZOLOMIDE_SIGNATURE = "TEMOZOLOMIDE_SIGNATURE"
    UVA_SIGNATURE = "UVA_SIGNATURE"


# The signature characteristics, as a patient profile names them (kb/matching/patient.schema.json
# `signatures`): apobec, pole, tobacco, temozolomide, uva.
SIGNATURES: dict[Characteristic, str] = {
    Characteristic.APOBEC_SIGNATURE: "apobec",
    Characteristic.POLE_SIGNATURE: "pole",
    Characteristic.TOBACCO_SIGNATURE: "tobacco",
    Characteristic.TEMOZOLOMIDE_SIGNATURE: "temozolomide",
    Characteristic.UVA_SIGNATURE: "uva",
}


# Statuses of expression biomarkers without a threshold (over-/underexpression are high/low),
# and of methylation biomarkers.
EXPRESSION_STATUSES = ("positive", "negative", "high", "low")
METHYLATION_STATUSES = ("methylated", "unmethylated")

CHARACTERISTIC_STATUSES: dict[Characteristic, tuple[str, ...]] = {
    Characteristic.TMB: ("high", "low"),
    Characteristic.MSI: ("high", "low", "stable"),
    Characteristic.MMR: ("deficient", "proficient"),
    Characteristic.HRD: ("positive", "negative"),
    **dict.fromkeys(SIGNATURES, ("positive", "negative")),
}


class Assay(StrEnum):
    IHC = "IHC"
    ISH = "ISH"
    RNA = "RNA"


class Operator(StrEnum):
    GE = ">="
    GT = ">"
    LE = "<="
    LT = "<"
    EQ = "=="
    IN = "in"

    @classmethod
    def _missing_(cls, value: object) -> Operator | None:
        # "equals" is how the import template's drop-down offers ==: a cell a spreadsheet
        # user fills with "==" turns into a (broken) formula. "=" and "'==" mean the same.
        if isinstance(value, str) and value.strip().lower() in ("equals", "=", "'=="):
            return cls.EQ
        return None


class Specimen(StrEnum):
    TISSUE = "tissue"
    PLASMA = "plasma"
    TISSUE_OR_PLASMA = "tissue_or_plasma"


class ExpressionOp(StrEnum):
    AND = "AND"
    OR = "OR"
    NOT = "NOT"
    LEAF = "LEAF"


class Combination(StrEnum):
    MONOTHERAPY = "monotherapy"
    COMBINATION = "combination"


class CitationKind(StrEnum):
    PMID = "pmid"
    DOI = "doi"
    FDA_LABEL = "fda_label"
    GUIDELINE = "guideline"
    URL = "url"


class Agency(StrEnum):
    FDA = "FDA"
    EMA = "EMA"
    PMDA = "PMDA"
    NMPA = "NMPA"
    HC = "HC"


class Implication(StrEnum):
    SENSITIVE = "sensitive"
    RESISTANT = "resistant"
    DIAGNOSTIC = "diagnostic"
    PROGNOSTIC = "prognostic"
    PREDISPOSING = "predisposing"  # germline risk: matched only against germline findings


# Implications whose assertions rank in the KB's level scheme (a predisposing assertion is
# classified by pathogenicity instead).
LEVELLED = frozenset(
    {Implication.SENSITIVE, Implication.RESISTANT, Implication.DIAGNOSTIC, Implication.PROGNOSTIC}
)


class AssertionDirection(StrEnum):
    """Which way a diagnostic or prognostic assertion points (VA-Spec's predicates: diagnostic
    inclusion / exclusion criterion, associated with better / worse outcome)."""

    SUPPORTS_DIAGNOSIS = "supports_diagnosis"
    EXCLUDES_DIAGNOSIS = "excludes_diagnosis"
    BETTER_OUTCOME = "better_outcome"
    POORER_OUTCOME = "poorer_outcome"


DIRECTIONS_FOR: dict[Implication, frozenset[AssertionDirection]] = {
    Implication.DIAGNOSTIC: frozenset(
        {AssertionDirection.SUPPORTS_DIAGNOSIS, AssertionDirection.EXCLUDES_DIAGNOSIS}
    ),
    Implication.PROGNOSTIC: frozenset(
        {AssertionDirection.BETTER_OUTCOME, AssertionDirection.POORER_OUTCOME}
    ),
}


class Inheritance(StrEnum):
    """Mode of inheritance of a germline predisposition (VA-Spec's modeOfInheritance)."""

    AUTOSOMAL_DOMINANT = "autosomal_dominant"
    AUTOSOMAL_RECESSIVE = "autosomal_recessive"
    X_LINKED_DOMINANT = "x_linked_dominant"
    X_LINKED_RECESSIVE = "x_linked_recessive"
    MITOCHONDRIAL = "mitochondrial"
    UNKNOWN = "unknown"


class Pathogenicity(StrEnum):
    """ACMG/AMP germline classification (Richards et al., Genet Med 17:405-424, 2015)."""

    PATHOGENIC = "pathogenic"
    LIKELY_PATHOGENIC = "likely_pathogenic"
    UNCERTAIN_SIGNIFICANCE = "uncertain_significance"
    LIKELY_BENIGN = "likely_benign"
    BENIGN = "benign"


class EvidenceLevel(StrEnum):
    L1 = "1"
    L2 = "2"
    L3A = "3A"
    L3B = "3B"
    L4 = "4"
    R1 = "R1"
    R2 = "R2"


LEVEL_SCHEME = "OncoKB therapeutic levels v2 (2019)"


class EvidenceType(StrEnum):
    """What a source statement is evidence of (CIViC's evidence types)."""

    PREDICTIVE = "predictive"
    DIAGNOSTIC = "diagnostic"
    PROGNOSTIC = "prognostic"
    PREDISPOSING = "predisposing"
    ONCOGENIC = "oncogenic"
    FUNCTIONAL = "functional"


class Oncogenicity(StrEnum):
    ONCOGENIC = "oncogenic"
    LIKELY_ONCOGENIC = "likely_oncogenic"
    LIKELY_NEUTRAL = "likely_neutral"
    INCONCLUSIVE = "inconclusive"


class MutationEffect(StrEnum):
    GAIN_OF_FUNCTION = "gain_of_function"
    LIKELY_GAIN_OF_FUNCTION = "likely_gain_of_function"
    LOSS_OF_FUNCTION = "loss_of_function"
    LIKELY_LOSS_OF_FUNCTION = "likely_loss_of_function"
    SWITCH_OF_FUNCTION = "switch_of_function"
    NEUTRAL = "neutral"
    UNKNOWN = "unknown"


class EvidenceDirection(StrEnum):
    SUPPORTS = "supports"
    DOES_NOT_SUPPORT = "does_not_support"


class LineOfTherapy(StrEnum):
    FIRST_LINE = "first_line"
    SECOND_LINE_PLUS = "second_line_plus"
    ANY = "any"
    ADJUVANT = "adjuvant"
    NEOADJUVANT = "neoadjuvant"
    MAINTENANCE = "maintenance"


class TrialPhase(StrEnum):
    EARLY_PHASE1 = "EARLY_PHASE1"
    PHASE1 = "PHASE1"
    PHASE1_PHASE2 = "PHASE1_PHASE2"
    PHASE2 = "PHASE2"
    PHASE2_PHASE3 = "PHASE2_PHASE3"
    PHASE3 = "PHASE3"
    PHASE4 = "PHASE4"
    NA = "NA"


class TrialStatus(StrEnum):
    """ClinicalTrials.gov API v2 `overallStatus` values."""

    NOT_YET_RECRUITING = "NOT_YET_RECRUITING"
    RECRUITING = "RECRUITING"
    ENROLLING_BY_INVITATION = "ENROLLING_BY_INVITATION"
    ACTIVE_NOT_RECRUITING = "ACTIVE_NOT_RECRUITING"
    SUSPENDED = "SUSPENDED"
    TERMINATED = "TERMINATED"
    COMPLETED = "COMPLETED"
    WITHDRAWN = "WITHDRAWN"
    UNKNOWN = "UNKNOWN"


class Sex(StrEnum):
    ALL = "ALL"
    FEMALE = "FEMALE"
    MALE = "MALE"


class VocabularyKind(StrEnum):
    ONCOTREE = "oncotree"
    HGNC = "hgnc"
    DOID = "doid"


class CrosswalkKind(StrEnum):
    """How a vocabulary crosswalk entry was found."""

    EXACT = "exact"  # the two terms share a code (NCI Thesaurus, UMLS)
    NAME = "name"  # the same name (a curator should confirm)
    BROADER = "broader"  # through the nearest ancestor that has an exact match


# Tumour-type scopes that are not OncoTree codes; OncoTree's liquid tissues are these two.
ALL_TUMOURS = "ALL_TUMOURS"
ALL_SOLID = "ALL_SOLID"
ALL_LIQUID = "ALL_LIQUID"
SPECIAL_SCOPES = (ALL_TUMOURS, ALL_SOLID, ALL_LIQUID)
LIQUID_TISSUES = ("Myeloid", "Lymphoid")


class Role(StrEnum):
    CURATOR = "curator"
    REVIEWER = "reviewer"
    RELEASE_MANAGER = "release-manager"
    ADMIN = "admin"


class ChangeSetStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    MERGED = "merged"
    WITHDRAWN = "withdrawn"


class CommentKind(StrEnum):
    """What a remark in a change set's review thread is: a plain comment, or the reason given
    with a decision (approving, rejecting, returning changes to their author)."""

    COMMENT = "comment"
    APPROVE = "approve"
    REJECT = "reject"
    RETURN = "return"


class ChangeOp(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


class ApprovalMeaning(StrEnum):
    REVIEWED = "reviewed"
    APPROVED = "approved"
    RELEASED = "released"


# --- Outcome records (kb.outcomes): never curated content, never in a release -----------------


class BestResponse(StrEnum):
    """RECIST 1.1 best overall response."""

    CR = "CR"
    PR = "PR"
    SD = "SD"
    PD = "PD"
    NE = "NE"  # not evaluable


class StopReason(StrEnum):
    """Why a treatment episode ended: a controlled list, so that no free text (which may hold
    an identifier) is ever stored with an outcome."""

    ONGOING = "ongoing"
    PROGRESSION = "progression"
    TOXICITY = "toxicity"
    COMPLETED = "completed"
    PATIENT_CHOICE = "patient_choice"
    DEATH = "death"
    OTHER = "other"


class AlertKind(StrEnum):
    RESPONSE_BELOW_EXPECTATION = "response_below_expectation"
    RESISTANCE_SIGNAL = "resistance_signal"
    OFF_LABEL_USE = "off_label_use"


class AlertStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"  # acted on (e.g. a change set lowering the level)
    DISMISSED = "dismissed"  # looked at; no change warranted
