"""Synthetic corpus generator: N publications in the trialkg model, one Turtle file each.

    python benchmarks/synth.py --trials N --seed S --out DIR [--defects K]

Deterministic for a seed. Every file conforms to shapes/ and uses only terms
declared in ontology/imports (no invented identifiers; DOIs use Crossref's
test prefix 10.5555 and all IRIs live under https://w3id.org/trialkg/synthetic/).
With --defects K, K known defects are planted (a count over its denominator, a
malformed DOI, a statistic without a unit), and DIR/defects.tsv lists each with
the focus node and the violation message a validator must report.
"""

from __future__ import annotations

import argparse
import random
import re
from pathlib import Path

# Skewed like a real literature: a few common terms and a long tail, all declared in ontology/imports.
# (term, weight). The rarest terms (RARE_DRUG, RARE_CONDITION: what the benchmarks ask for) are drawn
# never: they are the drug and the condition of exactly the publications RARE_AT, at every N above them,
# so a query for one has the same answer at N = 100 and at N = 100,000 and its time can be set against
# the corpus alone. (Until 2026-12-05 they were drawn once in 2,000: no row at N = 100, 63-92 at 100,000.)
DRUGS = [("NCIT:C1851", 0.55), ("CHEBI:52717", 0.35), ("NCIT:C633", 0.1), ("NCIT:C1094", 0.0)]
CONDITIONS = [
    ("MONDO:0009693", 0.5),
    ("NCIT:C3242", 0.3),
    ("DOID:9538", 0.19),
    ("NCIT:C3501", 0.01),
    ("NCIT:C3408", 0.0),
]
RARE_DRUG = "NCIT:C1094"  # fludarabine
RARE_CONDITION = "NCIT:C3408"  # thrombocytopenia
#: the publications (numbers) whose drug is RARE_DRUG and whose condition is RARE_CONDITION
RARE_AT = (13, 47, 89)
# Designs: single-arm phase II (most), randomised two-arm trials with a hazard ratio, rarely a
# retrospective registry study.
DESIGNS = [("single-arm", 0.67), ("randomised", 0.3), ("registry", 0.03)]
RESPONSES = ["NCIT:C123614", "NCIT:C4870", "NCIT:C123618", "NCIT:C18058", "NCIT:C18213"]
AES = [
    "HP:0001882",
    "HP:0001873",
    "HP:0000763",
    "HP:0009830",
    "HP:0002014",
    "HP:0002019",
    "HP:0002018",
    "HP:0012378",
    "HP:0000989",
]
PHASES = [("NCIT:C158876", "induction"), ("NCIT:C15688", "maintenance")]
DEFECT_KINDS = [
    "count-over-denominator",
    "bad-doi",
    "missing-unit",
    "ill-typed-date",
    "ill-typed-integer",
    "ill-typed-decimal",
]
MESSAGES = {
    "count-over-denominator": "A count is larger than its denominator",
    "bad-doi": "A DOI must look like 10.NNNN/suffix",
    "missing-unit": "A statistic needs exactly one unit",
    "ill-typed-date": "An electronic publication date must be one xsd:date",
    "ill-typed-integer": "An author entry needs exactly one position",
    "ill-typed-decimal": "A confidence interval needs exactly one level",
}

HEADER = """@base <https://w3id.org/trialkg/> .
@prefix trialkg: <https://w3id.org/trialkg/ontology/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix prov: <http://www.w3.org/ns/prov#> .
@prefix oa: <http://www.w3.org/ns/oa#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix schema: <https://schema.org/> .
@prefix NCIT: <http://purl.obolibrary.org/obo/NCIT_> .
@prefix CHEBI: <http://purl.obolibrary.org/obo/CHEBI_> .
@prefix MONDO: <http://purl.obolibrary.org/obo/MONDO_> .
@prefix DOID: <http://purl.obolibrary.org/obo/DOID_> .
@prefix HP: <http://purl.obolibrary.org/obo/HP_> .
@prefix UO: <http://purl.obolibrary.org/obo/UO_> .
"""


def pick(rng: random.Random, weighted: list[tuple[str, float]]) -> str:
    """One term of a weighted list."""
    return rng.choices([t for t, _ in weighted], weights=[w for _, w in weighted])[0]


def trial(i: int, rng: random.Random, defect: str | None) -> tuple[str, list[tuple[str, str]]]:
    """One publication's Turtle, and the (focus IRI, defect kind) planted in it."""
    slug = f"synth-{i:06d}"
    base = f"https://w3id.org/trialkg/synthetic/{slug}/"
    t = f"<synthetic/{slug}>"
    pub = f"<synthetic/{slug}/publication>"
    planted: list[tuple[str, str]] = []
    doi = f"10.5555/trialkg.synth.{i}"
    if defect == "bad-doi":
        doi = f"doi:10.5555/trialkg.synth.{i}"
        planted.append((base + "publication", defect))
    epub = f'"{rng.randint(2000, 2025)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"^^xsd:date'
    if defect == "ill-typed-date":  # a date that cannot be: month 13, day 45
        epub = f'"{rng.randint(2000, 2025)}-13-45"^^xsd:date'
        planted.append((base + "publication", defect))
    position = "1"
    if defect == "ill-typed-integer":
        position = '"1.5"^^xsd:integer'
        planted.append((base + "author-1", defect))
    enrolled = rng.randint(20, 600)
    evaluable = rng.randint(max(10, enrolled * 3 // 4), enrolled)
    drug = pick(rng, DRUGS)  # drawn even for RARE_AT, so every other publication is what the seed made it
    condition = pick(rng, CONDITIONS)
    if i in RARE_AT:
        drug, condition = RARE_DRUG, RARE_CONDITION
    design = pick(rng, DESIGNS)
    randomised = design == "randomised"
    out = [HEADER]
    control_entered = f" , <synthetic/{slug}/control-induction>" if randomised else ""
    q = f"<synthetic/{slug}/sentence>"
    out.append(f"""{q} a oa:SpecificResource ; oa:hasSource {pub} ; oa:hasSelector <synthetic/{slug}/sentence-selector> .
<synthetic/{slug}/sentence-selector> a oa:TextQuoteSelector ; oa:exact "@SENTENCE@" .
{pub} a trialkg:JournalArticle ; rdfs:label "Synthetic publication {i}" ; dcterms:title "Synthetic trial report {i}" ;
    trialkg:hasAuthorship <synthetic/{slug}/author-1> , <synthetic/{slug}/author-2> ; trialkg:authorListComplete {str(rng.random() < 0.5).lower()} ;
    trialkg:publishedIn <journal/int-j-hematol> ; trialkg:doi "{doi}" ; dcterms:identifier "{doi}" ; schema:sameAs <https://doi.org/{doi}> ;
    trialkg:epubDate {epub} .
<synthetic/{slug}/author-1> a trialkg:Authorship ; trialkg:position {position} ; trialkg:authorName "Author{i} A" .
<synthetic/{slug}/author-2> a trialkg:Authorship ; trialkg:position 2 ; trialkg:authorName "Author{i} B" .
<journal/int-j-hematol> a trialkg:Journal ; rdfs:label "International Journal of Hematology" ; trialkg:issn "0925-5710" .
<synthetic/{slug}/population-enrolled> a trialkg:AnalysisPopulation ; rdfs:label "enrolled" ; trialkg:size {enrolled} ; trialkg:sizeBasis trialkg:StatedInSentence ;
    trialkg:enteredPhase <synthetic/{slug}/induction>{control_entered} ; prov:wasDerivedFrom {pub} ; trialkg:quotedFrom {q} .
<synthetic/{slug}/population-evaluable> a trialkg:AnalysisPopulation ; rdfs:label "evaluable" ; trialkg:size {evaluable} ; trialkg:sizeBasis trialkg:StatedInSentence ;
    trialkg:subsetOf <synthetic/{slug}/population-enrolled> ; prov:wasDerivedFrom {pub} ; trialkg:quotedFrom {q} .
""")
    phases = []
    n_phases = 1 if randomised else rng.randint(1, 2)
    maintained = rng.randint(max(1, evaluable // 3), evaluable)
    if n_phases == 2:
        out.append(f"""<synthetic/{slug}/population-maintenance> a trialkg:AnalysisPopulation ; rdfs:label "started maintenance" ;
    trialkg:size {maintained} ; trialkg:sizeBasis trialkg:StatedInSentence ; trialkg:subsetOf <synthetic/{slug}/population-enrolled> ;
    trialkg:enteredPhase <synthetic/{slug}/maintenance> ; prov:wasDerivedFrom {pub} ; trialkg:quotedFrom {q} .
""")
    for code, name in PHASES[:n_phases]:
        ph = f"<synthetic/{slug}/{name}>"
        phases.append(ph)
        dose = round(rng.uniform(0.7, 1.6), 1)
        out.append(f"""{ph} a trialkg:TreatmentPhase ; rdfs:label "{name.capitalize()}" ; trialkg:phaseType {code} ; trialkg:hasDoseSchedule {ph[:-1]}-dose> ;
    trialkg:durationValue {rng.randint(1, 12)} ; trialkg:durationUnit UO:0000035 .
{ph[:-1]}-dose> a trialkg:DoseSchedule ; trialkg:drug {drug} ; trialkg:doseValue {dose} ; trialkg:doseUnit UO:0000309 ; trialkg:frequency NCIT:C71127 .
""")
    stats = []
    n_stats = rng.randint(5, 15)
    categories = rng.sample(RESPONSES, len(RESPONSES))  # each response category counted at most once
    budget = evaluable  # counts of response categories add up to at most the population
    count_defect_at = (
        rng.randrange(n_stats) if defect in ("count-over-denominator", "missing-unit", "ill-typed-decimal") else -1
    )
    for k in range(n_stats):
        s = f"<synthetic/{slug}/stat-{k}>"
        stats.append(s)
        kind = rng.choice(["count", "proportion", "median"])
        if defect == "count-over-denominator" and k == count_defect_at:
            kind = "count"
        if defect in ("missing-unit", "ill-typed-decimal") and k == count_defect_at:
            kind = "median"
        pop = "population-evaluable"
        size = evaluable
        lines = [
            f'{s} a trialkg:EfficacyStatistic ; rdfs:label "Synthetic statistic {k}" ;',
            f"    trialkg:population <synthetic/{slug}/{pop}> ; trialkg:denominatorBasis trialkg:StatedInSentence ;",
            f"    prov:wasDerivedFrom {pub} ; trialkg:quotedFrom {q} ;",
        ]
        if kind == "count":
            measure = categories.pop() if categories else "NCIT:C17747"
            value = rng.randint(0, budget) if measure != "NCIT:C17747" else rng.randint(0, size)
            if measure != "NCIT:C17747":
                budget -= value
            if defect == "count-over-denominator" and k == count_defect_at:
                value = size + rng.randint(1, 50)
                planted.append((base + f"stat-{k}", defect))
            lines.append(
                f"    trialkg:statisticType NCIT:C25463 ; trialkg:measures {measure} ; trialkg:value {value} ; trialkg:unit UO:0000189 ."
            )
        elif kind == "proportion":
            events = rng.randint(0, size)
            pct = round(100 * events / size)
            lines.append(
                f"    trialkg:statisticType NCIT:C44256 ; trialkg:measures NCIT:C96613 ; trialkg:value {pct} ; trialkg:numberOfEvents {events} ; trialkg:unit UO:0000187 ."
            )
        else:
            endpoint, origin = rng.choice(
                [
                    ("NCIT:C28234", "StartOfInduction"),
                    ("NCIT:C125201", "StartOfInduction"),
                    ("NCIT:C28234", "StartOfMaintenance"),
                ][: 3 if n_phases == 2 else 2]
            )
            lines[0] = lines[0].replace("trialkg:EfficacyStatistic", "trialkg:TimeToEventStatistic")
            if origin == "StartOfMaintenance":
                lines[1] = lines[1].replace("population-evaluable", "population-maintenance")
            unit = "" if (defect == "missing-unit" and k == count_defect_at) else "trialkg:unit UO:0000035 ; "
            if not unit:
                planted.append((base + f"stat-{k}", defect))
            if rng.random() < 0.2 and not (defect == "ill-typed-decimal" and k == count_defect_at):
                lines.append(
                    f"    trialkg:statisticType NCIT:C28007 ; trialkg:measures {endpoint} ; trialkg:notReached true ; {unit}trialkg:timeOrigin trialkg:{origin} ."
                )
            else:
                v = round(rng.uniform(3, 60), 1)
                ci = f"<synthetic/{slug}/stat-{k}-ci>"
                level = "0.95"
                if defect == "ill-typed-decimal" and k == count_defect_at:
                    level = '"abc"^^xsd:decimal'
                    planted.append((base + f"stat-{k}-ci", defect))
                lines.append(
                    f"    trialkg:statisticType NCIT:C28007 ; trialkg:measures {endpoint} ; trialkg:value {v} ; {unit}trialkg:timeOrigin trialkg:{origin} ;"
                )
                rng_ = f"<synthetic/{slug}/stat-{k}-range>" if rng.random() < 0.3 else ""
                lines.append(f"    trialkg:attributeEstimate {ci}{' , ' + rng_ if rng_ else ''} .")
                lines.append(
                    f"{ci} a trialkg:ConfidenceInterval ; trialkg:level {level} ; trialkg:lower {round(v * rng.uniform(0.5, 0.95), 1)} ; "
                    f"trialkg:upper {round(v * rng.uniform(1.05, 1.8), 1)} ; prov:wasDerivedFrom {pub} ."
                )
                if rng_:
                    lines.append(
                        f'{rng_} a trialkg:Range ; rdfs:label "range" ; trialkg:lower {round(v * 0.3, 1)} ; '
                        f"trialkg:upper {round(v * 2.5, 1)} ; prov:wasDerivedFrom {pub} ; trialkg:quotedFrom {q} ."
                    )
        out.append("\n".join(lines) + "\n")
    arms = [f"<synthetic/{slug}/arm>"]
    extra_pops = ""
    if randomised:
        arms.append(f"<synthetic/{slug}/control-arm>")
        exposed = enrolled // 2
        extra_pops = f" , <synthetic/{slug}/population-arm-a> , <synthetic/{slug}/population-arm-b>"
        hr = round(rng.uniform(0.4, 1.2), 2)
        p_value = round(rng.uniform(0.001, 0.5), 3)
        s = f"<synthetic/{slug}/hazard-ratio>"
        stats.append(s)
        out.append(f"""<synthetic/{slug}/control-arm> a trialkg:StudyArm ; rdfs:label "Control" ; trialkg:hasTreatmentPhase <synthetic/{slug}/control-induction> .
<synthetic/{slug}/control-induction> a trialkg:TreatmentPhase ; rdfs:label "Control induction" ; trialkg:phaseType NCIT:C158876 ; trialkg:hasDoseSchedule <synthetic/{slug}/control-induction-dose> .
<synthetic/{slug}/control-induction-dose> a trialkg:DoseSchedule ; trialkg:drug NCIT:C633 ; trialkg:doseValue 9 ; trialkg:doseUnit UO:0000309 ; trialkg:frequency NCIT:C71127 .
<synthetic/{slug}/population-arm-a> a trialkg:AnalysisPopulation ; rdfs:label "randomised to the investigational arm" ; trialkg:size {exposed} ; trialkg:sizeBasis trialkg:StatedInSentence ;
    trialkg:subsetOf <synthetic/{slug}/population-enrolled> ; prov:wasDerivedFrom {pub} ; trialkg:quotedFrom {q} .
<synthetic/{slug}/population-arm-b> a trialkg:AnalysisPopulation ; rdfs:label "randomised to control" ; trialkg:size {enrolled - exposed} ; trialkg:sizeBasis trialkg:StatedInSentence ;
    trialkg:subsetOf <synthetic/{slug}/population-enrolled> ; prov:wasDerivedFrom {pub} ; trialkg:quotedFrom {q} .
{s} a trialkg:ComparativeStatistic , trialkg:TimeToEventStatistic ; rdfs:label "Hazard ratio for progression-free survival" ;
    trialkg:statisticType NCIT:C93150 ; trialkg:measures NCIT:C28234 ; trialkg:value {hr} ; trialkg:unit UO:0000190 ;
    trialkg:timeOrigin trialkg:StartOfInduction ;
    trialkg:exposureGroup <synthetic/{slug}/population-arm-a> ; trialkg:referenceGroup <synthetic/{slug}/population-arm-b> ;
    trialkg:attributeEstimate {s[:-1]}-ci> , {s[:-1]}-p> ;
    trialkg:population <synthetic/{slug}/population-enrolled> ; trialkg:denominatorBasis trialkg:StatedInSentence ;
    prov:wasDerivedFrom {pub} ; trialkg:quotedFrom {q} .
{s[:-1]}-ci> a trialkg:ConfidenceInterval ; trialkg:level 0.95 ; trialkg:lower {round(hr * 0.7, 2)} ; trialkg:upper {round(hr * 1.4, 2)} ; prov:wasDerivedFrom {pub} .
{s[:-1]}-p> a trialkg:PValue ; rdfs:label "p-value" ; trialkg:pValue {p_value} ; trialkg:comparator "=" ; prov:wasDerivedFrom {pub} ; trialkg:quotedFrom {q} .
""")
    aes = []
    for k, term in enumerate(rng.sample(AES, rng.randint(3, min(10, len(AES))))):
        a = f"<synthetic/{slug}/ae-{k}>"
        aes.append(a)
        out.append(
            f'{a} a trialkg:AdverseEventReport ; rdfs:label "Synthetic adverse event {k}" ; trialkg:adverseEvent {term} ; '
            f"prov:wasDerivedFrom {pub} ; trialkg:quotedFrom {q} .\n"
        )
    maintenance_pop = f" , <synthetic/{slug}/population-maintenance>" if n_phases == 2 else ""
    design_terms = {
        "randomised": " trialkg:designCharacteristic NCIT:C46079 , NCIT:C217005 ;",
        "registry": " trialkg:designCharacteristic NCIT:C53312 , NCIT:C129000 ;",
    }.get(design, "")
    out.append(f"""<synthetic/{slug}/arm> a trialkg:StudyArm ; rdfs:label "Arm" ; trialkg:armType NCIT:C174266 ; trialkg:hasTreatmentPhase {", ".join(phases)} .
{t} a trialkg:ClinicalTrial , trialkg:Study ; rdfs:label "Synthetic trial {i}" ; trialkg:slug "{slug}" ; trialkg:trialPhase NCIT:C15601 ;
    trialkg:studiesCondition {condition} ; trialkg:hasArm {", ".join(arms)} ;{design_terms}
    trialkg:hasPopulation <synthetic/{slug}/population-enrolled> , <synthetic/{slug}/population-evaluable>{maintenance_pop}{extra_pops} ;
    trialkg:describedIn {pub} ; prov:wasDerivedFrom {pub} ;
    trialkg:hasStatistic {", ".join(stats)} ;
    trialkg:reportsAdverseEvent {", ".join(aes)} .
""")
    text = "".join(out)
    # The quoted sentence prints every figure it is quoted for (kg validate checks that each is in its sentence).
    printed = re.findall(r"trialkg:(?:size|value|numberOfEvents|lower|upper|pValue) ([0-9][0-9.]*)", text)
    sentence = f"Synthetic results of publication {i}: {', '.join(dict.fromkeys(printed))}."
    return text.replace("@SENTENCE@", sentence), planted


def generate(n: int, seed: int, out: Path, defects: int = 0) -> list[tuple[str, str, str]]:
    """Write N files (and defects.tsv when defects > 0); returns (file, focus, kind) per planted defect."""
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    kinds = len(DEFECT_KINDS)
    defect_at = dict(zip(rng.sample(range(n), min(defects, n)), (DEFECT_KINDS[j % kinds] for j in range(defects))))
    planted_all = []
    for i in range(n):
        text, planted = trial(i, random.Random(rng.random()), defect_at.get(i))
        name = f"synth-{i:06d}.ttl"
        (out / name).write_text(text, encoding="utf-8")
        planted_all += [(name, focus, kind) for focus, kind in planted]
    if defects:
        with open(out / "defects.tsv", "w", encoding="utf-8") as f:
            f.write("file\tfocus\tkind\tmessage\n")
            for name, focus, kind in planted_all:
                f.write(f"{name}\t{focus}\t{kind}\t{MESSAGES[kind]}\n")
    return planted_all


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--defects", type=int, default=0)
    args = ap.parse_args()
    planted = generate(args.trials, args.seed, args.out, args.defects)
    print(
        f"wrote {args.trials} publications to {args.out}"
        + (f" with {len(planted)} planted defects" if args.defects else "")
    )


if __name__ == "__main__":
    main()
