"""Write the bundled example networks (deterministic): `python examples/generate.py`.

Names are invented; any likeness to real people or firms is chance.
"""

from __future__ import annotations

import random
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from models.policy import MANAGEMENT_REVIEW_INPUTS  # noqa: E402

FIRST = ["Anna", "Erik", "Karin", "Lars", "Maria", "Johan", "Eva", "Anders", "Kristina", "Per",
         "Ingrid", "Mats", "Birgitta", "Nils", "Lena", "Olof", "Margareta", "Gunnar", "Elisabeth",
         "Sven", "Helena", "Björn", "Ulla", "Stefan", "Annika", "Magnus", "Sofia", "Håkan",
         "Cecilia", "Jonas", "Marie", "Peter", "Åsa", "Fredrik", "Malin", "Göran", "Linnea", "Tomas"]
LAST = ["Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson",
        "Persson", "Svensson", "Gustafsson", "Pettersson", "Jonsson", "Lindberg", "Lindqvist",
        "Bergström", "Lundgren", "Holm", "Sjöberg", "Wikström", "Ekström", "Hedlund", "Nyström",
        "Forsberg", "Åberg", "Sandberg", "Engström", "Lindholm", "Berglund", "Strand", "Falk"]

# (id, name, sector, personnel, complexity)
HACKEFORS = [
    ("KMV", "Karlssons Mekaniska Verkstad AB", "manufacturing", 34, "medium"),
    ("OAK", "Östgöta Åkeri AB", "transport", 22, "medium"),
    ("HTR", "Hackefors Tryckeri AB", "graphic", 18, "high"),
    ("LBY", "Lindbergs Bygg & Montage AB", "construction", 41, "medium"),
    ("SGJ", "Stångå Gjuteri AB", "manufacturing", 57, "high"),
    ("TVL", "Tornby Verktyg & Legoarbeten AB", "manufacturing", 12, "medium"),
    ("MLT", "Malmslätts Lackering AB", "manufacturing", 9, "high"),
    ("EKT", "Ekholmens Transport AB", "transport", 15, "medium"),
    ("RSB", "Roxens Snickeri & Bygg AB", "construction", 11, "low"),
    ("GRA", "Grafiska Huset i Linköping AB", "graphic", 27, "high"),
    ("VPL", "Vreta Plåtslageri AB", "manufacturing", 8, "medium"),
    ("SKO", "Skäggetorps Kartong & Omslag AB", "graphic", 14, "medium"),
    ("BMA", "Berga Maskinservice AB", "services", 6, "low"),
    ("NEL", "Nykvarns Elektronik AB", "manufacturing", 31, "medium"),
    ("AHM", "Åbylunds Hydraulik & Mekanik AB", "manufacturing", 19, "medium"),
    ("TKR", "Tannefors Kran & Lyft AB", "construction", 13, "medium"),
    ("LGD", "Linköpings Gods & Distribution AB", "transport", 38, "medium"),
    ("SPI", "Svärtinge Plastindustri AB", "manufacturing", 24, "high"),
    ("KBT", "Kinda Betong AB", "construction", 29, "medium"),
    ("HRB", "Hackefors Rör & Bad AB", "construction", 7, "low"),
    ("EMT", "Ekängens Måleri & Tapet AB", "construction", 10, "medium"),
    ("FTR", "Fridhems Trädetaljer AB", "manufacturing", 16, "medium"),
    ("BSK", "Bergs Skylt & Reklam AB", "graphic", 5, "low"),
    ("GVA", "Gottfridsbergs Verkstäder AB", "manufacturing", 44, "high"),
    ("RTS", "Ryds Tvätt & Service AB", "services", 12, "medium"),
    ("MAF", "Mjärdevi Förpackning AB", "manufacturing", 21, "medium"),
]

SMALL = [
    ("NSM", "Norrköpings Svets & Montage AB", "manufacturing", 14, "medium"),
    ("SKT", "Söderköpings Trafik AB", "transport", 9, "medium"),
    ("VTR", "Valdemarsviks Tryck AB", "graphic", 6, "low"),
]

ASPECTS = {
    "manufacturing": ["Electricity use in production", "Cutting fluids and oils", "Metal scrap",
                      "Solvent emissions from cleaning", "Noise to neighbours"],
    "transport": ["Diesel use and exhaust emissions", "Tyre and oil waste", "Washing water",
                  "Route planning and empty runs", "Spill risk at refuelling"],
    "construction": ["Construction waste sorting", "Machine fuel use", "Chemical products on site",
                     "Dust and noise", "Choice of materials"],
    "graphic": ["Printing inks and solvents", "Paper waste", "Developer chemicals",
                "Energy for presses and drying", "Choice of paper (eco-labelled)"],
    "services": ["Energy use in premises", "Detergents and chemicals", "Transport to customers",
                 "Waste sorting", "Water use"],
}
LAWS = ["Environmental Protection Act (1969:387) permit conditions",
        "Chemical products: product register and safety data sheets",
        "Waste ordinance: sorting and hazardous waste transport",
        "Municipal health-protection rules on noise", "Work environment: chemical risk assessment"]
OBJECTIVES = [("Electricity per produced unit", "kWh/unit", 12.0, 10.5),
              ("Share of waste sorted for recycling", "%", 45.0, 70.0),
              ("Diesel per 100 km", "l/100km", 34.0, 31.0),
              ("Solvent use", "kg/year", 800.0, 600.0),
              ("Hazardous chemical products in use", "count", 40.0, 30.0)]
MODULES = [("environmental_basics", 8.0), ("ems_and_iso14001", 8.0), ("waste_management", 6.0),
           ("industry_impact", 5.0), ("legal_requirements", 5.0)]
# Annual total per employee of each EMAS core indicator, by sector: energy MWh, materials t,
# water m³, waste t, emissions t CO2e.
PER_EMPLOYEE = {
    "manufacturing": {"energy": 15.0, "materials": 9.0, "water": 30.0, "waste": 1.6, "emissions": 3.5},
    "transport": {"energy": 28.0, "materials": 0.8, "water": 12.0, "waste": 0.6, "emissions": 7.5},
    "construction": {"energy": 9.0, "materials": 14.0, "water": 18.0, "waste": 3.2, "emissions": 2.6},
    "graphic": {"energy": 11.0, "materials": 6.0, "water": 15.0, "waste": 1.9, "emissions": 2.1},
    "services": {"energy": 5.0, "materials": 0.6, "water": 25.0, "waste": 0.4, "emissions": 1.0},
}
SYSTEMS = ["Quality (ISO 9001)", "Work environment (AFS 2001:1)"]
AUDITORS = ["Kjell Bergqvist (Altea)", "Monika Ahlström (Altea)", "Rolf Sundin (Altea)"]


STREETS = ["Roxtorpsgatan", "Bergslagsgatan", "Hackeforsvägen", "Industrigatan", "Gjuterigatan",
           "Järnvägsgatan", "Tornbyvägen", "Mjärdevivägen", "Verkstadsgatan", "Kallerstadsgatan"]
TOWNS = {"hackefors": ("Linköping", 58273), "ostgota-small": ("Norrköping", 60223)}
# Other networks (the benchmarks' generated portfolios) take a town of their own from this list.
MORE_TOWNS = [("Motala", 59130), ("Mjölby", 59530), ("Finspång", 61230), ("Vadstena", 59230),
              ("Söderköping", 61430), ("Åtvidaberg", 59730)]
CERTIFICATION_BODY = {"name": "Nordisk Certifiering AB", "accreditation_body": "Swedac",
                      "accreditation_number": "1567",
                      "address": "Box 5104, 402 22 Göteborg, Sweden"}


def luhn_digit(digits: str) -> int:
    """The check digit that makes `digits` + it pass the Luhn test (Swedish organisation numbers)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (1 if i % 2 else 2)
        total += d - 9 if d > 9 else d
    return (10 - total % 10) % 10


def registration(net_id: str, cid: str) -> dict[str, str]:
    """A company's organisation number (556..., with its check digit) and site address; from their
    own random stream, so the rest of the example does not change with them."""
    rng = random.Random(f"{net_id}/{cid}/registration")
    digits = f"556{rng.randint(0, 999999):06d}"
    town, first_postcode = TOWNS.get(net_id) or MORE_TOWNS[sum(map(ord, net_id)) % len(MORE_TOWNS)]
    street, number, postcode = rng.choice(STREETS), rng.randint(1, 60), first_postcode + rng.randint(0, 40)
    return {"organisation_number": f"{digits[:6]}-{digits[6:]}{luhn_digit(digits)}",
            "site_address": f"{street} {number}, {postcode // 100} {postcode % 100:02d} {town}"}


def person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


def email_of(name: str, company_id: str) -> str:
    plain = name.lower().translate(str.maketrans("åäöé", "aaoe")).replace(" ", ".")
    return f"{plain}@{company_id.lower()}.example.se"


def build_network(net_id: str, name: str, rows: list[tuple[str, str, str, int, str]],
                  founded: date, ems_start: date, certify_on: date, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    companies: list[dict[str, Any]] = []
    all_employees: list[tuple[str, date]] = []
    for cid, cname, sector, personnel, complexity in rows:
        coordinator = person(rng)
        employees = []
        for k in range(personnel):
            hired = ems_start - timedelta(days=rng.randint(200, 6000))
            if k == personnel - 1 and personnel > 10:
                hired = certify_on - timedelta(days=rng.randint(30, 120))  # a recent hire
            employees.append({"id": f"{cid}-E{k + 1:02d}", "name": person(rng), "hired_on": hired})
            all_employees.append((f"{cid}-E{k + 1:02d}", hired))
        review_on = ems_start + timedelta(days=rng.randint(60, 150))
        evaluated = certify_on - timedelta(days=rng.randint(40, 200))
        audits = []
        for n in range(rng.choice([2, 3])):
            day = certify_on - timedelta(days=40 + 110 * n + rng.randint(0, 30))
            findings = []
            if n > 0:
                fid = f"{cid}-IA{n + 1}-F1"
                closed = day + timedelta(days=30)
                findings.append({
                    "id": fid, "grade": rng.choice(["minor", "observation"]),
                    "clause": rng.choice(["7.5", "9.1.2", "6.1.3", "7.2", "8.1"]),
                    "description": "Records of waste transport not filed in the binder",
                    "closed_on": closed,
                    "actions": [{"id": f"{fid}-A1", "description": "File transport documents monthly",
                                 "owner": coordinator, "due": day + timedelta(days=25),
                                 "closed_on": day + timedelta(days=20),
                                 "verified_effective_on": closed}]})
            audits.append({"id": f"{cid}-IA{n + 1}", "date": day, "auditor": rng.choice(AUDITORS),
                           "findings": findings})
        objective = rng.choice(OBJECTIVES)
        start_year = ems_start.year
        measured = {start_year: objective[2],
                    start_year + 1: round(objective[2] + (objective[3] - objective[2]) * 0.4, 1)}
        mr_on = certify_on - timedelta(days=rng.randint(20, 60))
        extra = improvement(random.Random(f"{seed}/{cid}"), sector, personnel, objective, start_year,
                            certify_on.year - 1)
        companies.append({
            "id": cid, "name": cname, **registration(net_id, cid), "sector": sector, "personnel": personnel,
            "complexity": complexity, "joined_on": founded + timedelta(days=rng.randint(0, 120)),
            "coordinator": {"id": f"{cid}-C", "name": coordinator, "email": email_of(coordinator, cid),
                            "phone": f"013-{rng.randint(100000, 399999)}"},
            "group_agreement": {"signed_on": ems_start + timedelta(days=rng.randint(0, 30)),
                                "authority_for_corrective_action": True},
            "commitment": {"signed_by": f"{person(rng)}, VD",
                           "signed_on": ems_start + timedelta(days=rng.randint(0, 40))},
            "environmental_manager": {"name": coordinator,
                                      "appointed_on": ems_start + timedelta(days=rng.randint(10, 60))},
            "roles_defined_on": ems_start + timedelta(days=rng.randint(60, 120)),
            "binder": {"version": f"{cid}-1.{rng.randint(0, 4)}",
                       "updated_on": certify_on - timedelta(days=rng.randint(30, 120))},
            "review": {"completed_on": review_on, "guideline_version": "SC-guideline 1997-1"},
            "employees": employees,
            "aspects": [{"id": f"A{i + 1}", "description": text, "direct": i != 4,
                         "significance": rng.choice(["high", "medium", "low"])}
                        for i, text in enumerate(ASPECTS[sector])],
            "legal_register": [{"id": f"L{i + 1}", "obligation": law, "evaluated_on": evaluated,
                                "compliant": True} for i, law in enumerate(LAWS[:rng.randint(3, 5)])],
            "objectives": [{"id": "O1", "description": f"Improve: {objective[0].lower()}",
                            "indicator": objective[0], "unit": objective[1],
                            "baseline_year": start_year, "baseline": objective[2],
                            "target": objective[3], "target_year": start_year + 3,
                            "measurements": measured, **extra["O1"]}, *extra["objectives"]],
            "indicators": extra["indicators"],
            "integrated_with": extra["integrated_with"],
            "internal_audits": audits,
            "management_reviews": [{"id": f"{cid}-MR{certify_on.year - 1}", "date": mr_on,
                                    "inputs": list(MANAGEMENT_REVIEW_INPUTS),
                                    "decisions": ["Keep objectives; raise the recycling target"],
                                    "signed_by": f"{person(rng)}, VD",
                                    "signed_on": mr_on + timedelta(days=2)}],
        })

    # Joint courses, about twenty participants each; new hires still within the grace period
    # have only the first modules.
    sessions = []
    for topic, hours in MODULES:
        order = list(all_employees)
        rng.shuffle(order)
        for g in range(0, len(order), 20):
            group = sorted(e for e, hired in order[g:g + 20]
                           if hired < ems_start or topic == "environmental_basics")
            if not group:
                continue
            day = ems_start + timedelta(days=rng.randint(30, 500))
            sessions.append({"id": f"{topic[:4].upper()}-{len(sessions) + 1:03d}", "date": day,
                             "hours": hours, "topics": [topic], "trainer": rng.choice(AUDITORS),
                             "attendees": group})
    sessions.sort(key=lambda s: (s["date"], s["id"]))

    sample = max(2, int(len(rows) ** 0.5 + 0.999999))
    visited = rng.sample([r[0] for r in rows], sample)
    committee = [c["coordinator"]["id"] for c in companies[:min(7, len(companies))]]
    stage2_start = certify_on - timedelta(days=30)
    return {
        "id": net_id, "name": name, "operator": "Altea AB", "certification_body": CERTIFICATION_BODY,
        "scope": ("Joint environmental management system of the member companies: manufacturing, "
                  "transport, construction, graphic production and related services"),
        "language": "sv" if net_id == "hackefors" else "en",
        "founded_on": founded,
        "policy": {"adopted_on": ems_start + timedelta(days=45),
                   "communicated_on": ems_start + timedelta(days=75), "public": True,
                   "url": f"https://{net_id}.example.se/miljopolicy"},
        "ems_manual": {"version": "1.0", "issued_on": ems_start + timedelta(days=180)},
        "steering_committee": committee,
        "central_coordinator": {"coordinator": committee[0],
                                "selected_on": ems_start + timedelta(days=20)},
        "support_group": [{"name": person(rng)} for _ in range(3)],
        "collective_objectives": [
            {"id": "N1", "description": "Sort waste jointly and reduce landfill across the network"},
            {"id": "N2", "description": "Coordinate goods transport between member companies"}],
        "companies": companies,
        "training_sessions": sessions,
        "external_audits": [
            {"id": "EXT-S1", "kind": "stage1", "start": stage2_start - timedelta(days=90),
             "end": stage2_start - timedelta(days=89), "certification_body": "Nordisk Certifiering AB",
             "lead_auditor": "Gösta Wennberg", "auditors": ["Gösta Wennberg"],
             "companies_visited": [], "central_function_visited": True,
             "recommendation": "recommended"},
            {"id": "EXT-S2", "kind": "stage2", "start": stage2_start,
             "end": stage2_start + timedelta(days=sample // 2 + 1),
             "certification_body": "Nordisk Certifiering AB", "lead_auditor": "Gösta Wennberg",
             "auditors": ["Gösta Wennberg", "Siv Holmgren"], "companies_visited": visited,
             "central_function_visited": True,
             "findings": [{"id": "EXT-S2-F1", "company": visited[0], "grade": "minor",
                           "clause": "9.1.2", "description": "Evaluation of compliance not dated",
                           "plan_accepted_on": stage2_start + timedelta(days=10),
                           "actions": [{"id": "EXT-S2-F1-A1", "description": "Date and sign evaluations",
                                        "owner": companies[0]["coordinator"]["name"],
                                        "due": certify_on + timedelta(days=60)}]}],
             "recommendation": "recommended"},
        ],
    }


def improvement(rng: random.Random, sector: str, personnel: int, objective: tuple[str, str, float, float],
                start_year: int, last_year: int) -> dict[str, Any]:
    """Continual-improvement data of one company: core indicators, targets of earlier cycles, a second
    objective and integrated systems. Its own random stream, so the rest of the example is unchanged."""
    _, _, baseline, target = objective
    o1: dict[str, Any] = {"direction": "increase" if target > baseline else "decrease",
                          "aspect": "A5" if rng.random() < 0.3 else "A1"}
    roll = rng.random()
    if roll < 0.6:    # raised: the first cycle's target was half as ambitious
        o1["previous_targets"] = {start_year: round(baseline + (target - baseline) / 2, 1)}
    elif roll < 0.85:  # kept
        o1["previous_targets"] = {start_year: target}
    years = range(last_year - 2, last_year + 1)
    kinds = list(PER_EMPLOYEE[sector]) if rng.random() < 0.7 else ["energy", "waste", "emissions"]
    indicators = []
    for kind in kinds:
        value = PER_EMPLOYEE[sector][kind] * personnel * rng.uniform(0.8, 1.2)
        trend = rng.uniform(-0.08, 0.04)
        values = {}
        for year in years:
            values[year] = round(value, 1)
            value *= 1 + trend + rng.uniform(-0.01, 0.01)
        indicators.append({"kind": kind, "values": values})
    objectives = []
    energy = indicators[0]["values"]
    if rng.random() < 0.5:
        objectives.append({
            "id": "O2", "description": "Reduce energy use in premises and production",
            "indicator": "Energy use", "unit": "MWh/year", "baseline_year": years[0],
            "baseline": energy[years[0]], "target": round(energy[years[0]] * 0.85, 1),
            "target_year": last_year + 3, "measurements": {y: v for y, v in energy.items()},
            "direction": "decrease", "aspect": "A1"})
    systems = SYSTEMS[:rng.choice([0, 0, 1, 1, 2])]
    return {"O1": o1, "objectives": objectives, "indicators": indicators, "integrated_with": systems}


def plant_blockers(network: dict[str, Any]) -> dict[str, Any]:
    """The Hackefors network with distinct reasons, in every gate, why it cannot be certified."""
    by_id = {c["id"]: c for c in network["companies"]}
    del by_id["OAK"]["group_agreement"]                      # formation: no group agreement
    by_id["HTR"]["coordinator"].pop("email")                  # formation: coordinator has no email
    network["central_coordinator"] = None                     # formation: no central coordinator
    short = {e["id"] for e in by_id["LBY"]["employees"][:3]}  # training: three employees short
    for s in network["training_sessions"]:
        if "waste_management" in s["topics"]:
            s["attendees"] = [a for a in s["attendees"] if a not in short]
    by_id["SGJ"]["legal_register"][0].update(compliant=False)  # planning: unresolved non-compliance
    by_id["TVL"]["aspects"][0]["significance"] = None          # planning: aspect not assessed
    audit = by_id["MLT"]["internal_audits"][0]                 # internal audits: open major
    audit["findings"].append({"id": "MLT-IA1-F9", "grade": "major", "clause": "8.2",
                              "description": "No emergency plan for a spill of lacquer",
                              "actions": [{"id": "MLT-IA1-F9-A1", "description": "Write and drill plan",
                                           "owner": by_id["MLT"]["coordinator"]["name"],
                                           "due": audit["date"] + timedelta(days=14)}]})
    by_id["EKT"]["internal_audits"] = by_id["EKT"]["internal_audits"][:1]  # only one internal audit
    review = by_id["RSB"]["management_reviews"][0]             # management review: unsigned, gaps
    review.update(inputs=review["inputs"][:4], signed_by=None, signed_on=None)
    stage2 = network["external_audits"][1]                     # external: unverified major
    stage2["findings"].append({"id": "EXT-S2-F2", "company": stage2["companies_visited"][1],
                               "grade": "major", "clause": "9.1.2",
                               "description": "Compliance evaluation not performed",
                               "actions": [{"id": "EXT-S2-F2-A1", "description": "Evaluate compliance",
                                            "owner": "Central coordinator",
                                            "due": stage2["end"] + timedelta(days=30)}]})
    stage2["recommendation"] = "pending"
    network["id"], network["name"] = "hackefors-blocked", "Hackefors Miljögrupp (blocked variant)"
    return network


class _NoAliases(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def write(network: dict[str, Any], path: Path, header: str) -> None:
    text = yaml.dump(network, Dumper=_NoAliases, sort_keys=False, allow_unicode=True, width=100,
                     default_flow_style=None)
    path.write_text(f"# {header}\n# Generated by examples/generate.py; edit that, not this file.\n"
                    + text, encoding="utf-8")


def main(folder: Path = HERE) -> None:
    args = ("hackefors", "Hackefors Miljögrupp", HACKEFORS, date(1995, 5, 1), date(1997, 2, 1),
            date(1999, 2, 15), 1995)
    write(build_network(*args), folder / "hackefors.yaml",
          "The original Hackefors network: 26 SMEs, ready for certification on 1999-02-15.")
    write(plant_blockers(build_network(*args)), folder / "blocked.yaml",
          "The Hackefors network with planted blockers in every gate: certification must be refused.")
    write(build_network("ostgota-small", "Östgöta Småföretag Miljönätverk", SMALL,
                        date(2022, 9, 1), date(2023, 3, 1), date(2025, 3, 3), 2022),
          folder / "small.yaml", "A small network of 3 companies, ready for certification on 2025-03-03.")


if __name__ == "__main__":
    main()
